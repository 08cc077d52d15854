//! `json.loads` of a `str`, as CPython 3.11's decoder reads it (its C scanner with the
//! defaults: `strict=True`, `parse_float=float`, `parse_int=int`, `parse_constant` giving
//! the three non-finite floats).
//!
//! serde_json reads RFC 8259, which Python's decoder extends: `NaN`, `Infinity` and
//! `-Infinity` are floats, integers keep every digit (up to `int()`'s 4300-digit limit,
//! beyond which `loads` raises), `1e400` is `inf`, and nesting stops only at the recursion
//! limit. What the decoder returns is an [`Object`] tree, which compares, hashes and prints
//! as the Python objects would.
//!
//! Lone surrogates: `"\ud800"` decodes in Python to a one-character `str` holding the
//! surrogate. A Rust `String` cannot hold one, so it becomes U+FFFD, as lone surrogates do
//! where bytes are decoded ([`super::json::loads_bytes`]). Two ids that differ only in
//! their lone surrogates therefore compare equal here and not in Python; and where the
//! reference would print such an id, `json.dumps(..., ensure_ascii=False)` fails writing
//! it to stdout, so no output of the reference depends on the difference.

use super::int::Int;
use super::object::{Dict, Object};

/// The deepest nesting of arrays and objects that `json.loads` decodes when the kernel's
/// `_parse_payload` calls it from `hermes kanban diagnostics`. In CPython 3.11 each array
/// or object the C scanner enters takes one level of the recursion limit (1000), as each
/// Python frame does: a script calling `json.loads` from its top level decodes 994 levels,
/// one fewer per frame above the call. Above `_parse_payload` stand eight frames (`hermes`,
/// `main`, `cmd_kanban`, `kanban_command`, `_cmd_diagnostics`, `compute_task_diagnostics`,
/// the rule, `_parse_payload` itself), so 987 levels decode; the 988th raises
/// `RecursionError`, which `_parse_payload` catches like any other error. (The golden
/// harness calls `_cmd_diagnostics` one frame higher up, where 988 decode; no golden case
/// sits on that edge.)
pub const PAYLOAD_MAX_DEPTH: usize = 987;

/// `json.loads(text)` with the interpreter allowing `max_depth` nested arrays and objects;
/// `None` where it raises (`JSONDecodeError`, `ValueError` of a too-long int, or
/// `RecursionError`).
pub fn loads(text: &str, max_depth: usize) -> Option<Object> {
    // A str starting with a BOM is refused before decoding ("Unexpected UTF-8 BOM").
    if text.starts_with('\u{feff}') {
        return None;
    }
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        i: 0,
        depth_left: max_depth,
    };
    p.skip_ws();
    let v = p.value()?;
    p.skip_ws();
    (p.i == p.s.len()).then_some(v)
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
    depth_left: usize,
}

impl Parser<'_> {
    /// JSON whitespace only: space, tab, newline, carriage return.
    fn skip_ws(&mut self) {
        while matches!(self.s.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, lit: &str) -> bool {
        let found = self.s[self.i..].starts_with(lit.as_bytes());
        if found {
            self.i += lit.len();
        }
        found
    }

    fn value(&mut self) -> Option<Object> {
        match *self.s.get(self.i)? {
            b'"' => {
                self.i += 1;
                self.string().map(Object::Str)
            }
            b'{' => self.nested(Self::dict),
            b'[' => self.nested(Self::list),
            b'n' if self.eat("null") => Some(Object::None),
            b't' if self.eat("true") => Some(Object::Bool(true)),
            b'f' if self.eat("false") => Some(Object::Bool(false)),
            b'N' if self.eat("NaN") => Some(Object::Float(f64::NAN)),
            b'I' if self.eat("Infinity") => Some(Object::Float(f64::INFINITY)),
            b'-' if self.eat("-Infinity") => Some(Object::Float(f64::NEG_INFINITY)),
            _ => self.number(),
        }
    }

    /// An array or object takes one level of the recursion limit while it is read.
    fn nested(&mut self, read: fn(&mut Self) -> Option<Object>) -> Option<Object> {
        self.depth_left = self.depth_left.checked_sub(1)?;
        self.i += 1;
        let v = read(self);
        self.depth_left += 1;
        v
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`, ASCII digits only. An int is
    /// `int()` of the text, a number with a fraction or exponent `float()` of it.
    fn number(&mut self) -> Option<Object> {
        let start = self.i;
        let digits = |p: &mut Self| {
            let from = p.i;
            while p.s.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            p.i - from
        };
        if self.s.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.s.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return None,
        }
        let mut is_float = false;
        // A fraction or exponent without digits is not part of the number (the text
        // after it is then an error in whatever contains it).
        if self.s.get(self.i) == Some(&b'.')
            && self.s.get(self.i + 1).is_some_and(u8::is_ascii_digit)
        {
            self.i += 1;
            digits(self);
            is_float = true;
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            let mark = self.i;
            self.i += 1;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if digits(self) == 0 {
                self.i = mark;
            } else {
                is_float = true;
            }
        }
        let literal = &self.text[start..self.i];
        if is_float {
            // Rust's parser rounds correctly, as float() does; 1e400 is inf.
            literal.parse().ok().map(Object::Float)
        } else {
            Int::parse(literal).map(Object::Int)
        }
    }

    /// The rest of a string after its opening quote. Control characters below U+0020 are
    /// refused (strict mode); `\uXXXX` escapes pair into one character where a high
    /// surrogate is followed by an escaped low one.
    fn string(&mut self) -> Option<String> {
        let mut out = String::new();
        loop {
            let run = self.i;
            while let Some(&b) = self.s.get(self.i) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.i += 1;
            }
            out.push_str(&self.text[run..self.i]);
            match *self.s.get(self.i)? {
                b'"' => {
                    self.i += 1;
                    return Some(out);
                }
                b'\\' => {
                    let escape = *self.s.get(self.i + 1)?;
                    self.i += 2;
                    let c = match escape {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let unit = self.hex4()?;
                            self.unicode_escape(unit)
                        }
                        _ => return None,
                    };
                    out.push(c);
                }
                _ => return None,
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.s.get(self.i..self.i + 4)?;
        if !h.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        self.i += 4;
        u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
    }

    /// The character of a `\uXXXX` escape whose four digits are read.
    fn unicode_escape(&mut self, unit: u32) -> char {
        if (0xD800..0xDC00).contains(&unit) && self.s[self.i..].starts_with(b"\\u") {
            let mark = self.i;
            self.i += 2;
            match self.hex4() {
                Some(low @ 0xDC00..0xE000) => {
                    let c = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                    return char::from_u32(c).expect("a surrogate pair is a character");
                }
                // Not a low surrogate: the next escape is read on its own.
                _ => self.i = mark,
            }
        }
        char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER)
    }

    fn list(&mut self) -> Option<Object> {
        let mut items = Vec::new();
        self.skip_ws();
        if self.s.get(self.i) == Some(&b']') {
            self.i += 1;
            return Some(Object::List(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_ws();
            match *self.s.get(self.i)? {
                b']' => {
                    self.i += 1;
                    return Some(Object::List(items));
                }
                b',' => {
                    self.i += 1;
                    self.skip_ws();
                }
                _ => return None,
            }
        }
    }

    fn dict(&mut self) -> Option<Object> {
        let mut dict = Dict::default();
        self.skip_ws();
        if self.s.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Some(Object::Dict(Box::new(dict)));
        }
        loop {
            if self.s.get(self.i) != Some(&b'"') {
                return None;
            }
            self.i += 1;
            let key = self.string()?;
            self.skip_ws();
            if self.s.get(self.i) != Some(&b':') {
                return None;
            }
            self.i += 1;
            self.skip_ws();
            let value = self.value()?;
            dict.insert(key, value);
            self.skip_ws();
            match *self.s.get(self.i)? {
                b'}' => {
                    self.i += 1;
                    return Some(Object::Dict(Box::new(dict)));
                }
                b',' => {
                    self.i += 1;
                    self.skip_ws();
                }
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::py::json::to_string_compact;

    /// `json.loads(text)` printed as `json.dumps` prints it, or `None` where it raises.
    fn py(text: &str) -> Option<String> {
        loads(text, 100).map(|v| to_string_compact(&v))
    }

    fn ok(text: &str, want: &str) {
        assert_eq!(py(text).as_deref(), Some(want), "json.loads({text:?})");
    }

    fn raises(text: &str) {
        assert_eq!(py(text), None, "json.loads({text:?}) should raise");
    }

    // Every expectation below was checked against python3.11: json.dumps(json.loads(text)).

    #[test]
    fn non_finite_constants_are_floats() {
        ok("[NaN, Infinity, -Infinity]", "[NaN, Infinity, -Infinity]");
        raises("nan");
        raises("inf");
        raises("+Infinity");
        raises("-NaN");
        raises("Infinit");
    }

    #[test]
    fn ints_keep_every_digit_up_to_int_limit() {
        ok(
            "123456789012345678901234567890",
            "123456789012345678901234567890",
        );
        ok("-9223372036854775809", "-9223372036854775809");
        ok("-0", "0");
        ok(&"9".repeat(4300), &"9".repeat(4300));
        // int() refuses more than 4300 digits, and json.loads raises with it.
        raises(&"9".repeat(4301));
    }

    #[test]
    fn floats_are_float_of_the_literal() {
        ok(
            "[1e400, -1e400, 1.5e-400, -0.0, 1E5, 1e+2, 2.50]",
            "[Infinity, -Infinity, 0.0, -0.0, 100000.0, 100.0, 2.5]",
        );
        ok("9007199254740993.0", "9007199254740992.0");
    }

    #[test]
    fn numbers_follow_the_json_grammar() {
        for bad in [
            "01", "+1", ".5", "1.", "1.e5", "1e", "1e+", "-", "--1", "0x10", "1_000", "١",
        ] {
            raises(bad);
        }
        // A fraction or exponent without digits ends the number, so the rest is an error.
        raises("[1.]");
        raises("[1e]");
        ok("[-0.5e-3]", "[-0.0005]");
    }

    #[test]
    fn whitespace_is_space_tab_newline_and_return_only() {
        ok(" \t\n\r[ 1 ,\n2 ] \r\n", "[1, 2]");
        raises("\u{a0}1");
        raises("1\u{b}");
        raises("\u{c}1");
        raises("\u{feff}1");
        raises("");
        raises("   ");
    }

    #[test]
    fn literals_are_case_sensitive() {
        ok("[null, true, false]", "[null, true, false]");
        raises("None");
        raises("True");
        raises("nul");
    }

    #[test]
    fn strict_strings_refuse_control_characters() {
        raises("\"a\u{1}b\"");
        raises("\"a\nb\"");
        raises("\"a\tb\"");
        // DEL and C1 controls are not below U+0020.
        ok("\"a\u{7f}\u{85}b\"", "\"a\u{7f}\u{85}b\"");
    }

    #[test]
    fn escapes_are_the_json_ones() {
        ok(r#""\"\\\/\b\f\n\r\t""#, r#""\"\\/\b\f\n\r\t""#);
        ok(r#""\u00e9\u00E9""#, "\"éé\"");
        for bad in [
            r#""\a""#,
            r#""\x41""#,
            r#""\u12""#,
            r#""\u12g4""#,
            r#""\"#,
            r#""\u""#,
        ] {
            raises(bad);
        }
        raises("\"abc");
    }

    #[test]
    fn surrogate_escapes_pair_up_and_lone_ones_are_kept_as_replacement() {
        ok(r#""\ud83d\ude00""#, "\"\u{1f600}\"");
        ok(r#""\ud800""#, "\"\u{fffd}\"");
        ok(r#""\udc00\ud800x""#, "\"\u{fffd}\u{fffd}x\"");
        // A high surrogate followed by an escape that is not a low one: both stand alone.
        ok(r#""\ud800\u0041""#, "\"\u{fffd}A\"");
        raises(r#""\ud800\u00zz""#);
    }

    #[test]
    fn arrays_and_objects_refuse_trailing_and_missing_separators() {
        ok("[]", "[]");
        ok("{ }", "{}");
        ok("[[], {}]", "[[], {}]");
        for bad in [
            "[1,]",
            "[,1]",
            "[1 2]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{a: 1}",
            "{1: 2}",
            "[",
            "{",
            "[1",
            "{\"a\":",
        ] {
            raises(bad);
        }
        raises("[1] x");
        raises("{} {}");
    }

    #[test]
    fn duplicate_keys_keep_the_last_value_in_the_first_place() {
        ok(r#"{"a": 1, "b": 2, "a": 3}"#, r#"{"a": 3, "b": 2}"#);
        ok(
            r#"{"b": 1, "a": {"x": 1, "x": [2]}}"#,
            r#"{"b": 1, "a": {"x": [2]}}"#,
        );
    }

    #[test]
    fn nesting_deeper_than_the_recursion_limit_raises() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(loads(&nested(5), 5).is_some());
        assert!(loads(&nested(6), 5).is_none());
        let dicts = |n: usize| format!("{}1{}", "{\"a\": ".repeat(n), "}".repeat(n));
        assert!(loads(&dicts(5), 5).is_some());
        assert!(loads(&dicts(6), 5).is_none());
        // Scalars take no level.
        assert!(loads("1", 0).is_some());
        assert!(loads("[]", 0).is_none());
        // Far beyond serde_json's 128, at the depth the payload path allows.
        let deep = nested(PAYLOAD_MAX_DEPTH);
        assert!(loads(&deep, PAYLOAD_MAX_DEPTH).is_some());
        assert!(loads(&nested(PAYLOAD_MAX_DEPTH + 1), PAYLOAD_MAX_DEPTH).is_none());
    }
}
