//! Python's semantics, in one place: every behaviour of CPython that the reference's output
//! depends on, reproduced once, so the rules read like the code they port.
//!
//! `hermes kanban diagnostics` is Python, and "identical JSON" means identical down to how
//! Python converts, compares and prints. What is reproduced, and why:
//!
//! - **Text** (this module): `str.isspace()`/`str.strip()` (Unicode whitespace plus the
//!   information separators U+001C..U+001F), `str.splitlines()` (every line boundary Python
//!   knows, for the first line of an error), code-point slicing and `len()` (titles are cut
//!   at 500 code points, not bytes), `repr()` of a string (the quote choice and escapes the
//!   reference's messages show) and `str.isprintable()`.
//! - **Numbers** (this module and [`int`]): `int()` and `float()` of text (decimal digits
//!   of every script, Python's underscore grammar, the whitespace they skip, which is not
//!   `str.strip()`'s, `inf`/`nan`), `int()` of bytes (ASCII only) and of a float
//!   (truncation, and the error on a non-finite one), ints of any size with their exact
//!   comparisons against floats and their correctly rounded division, `round()` with ties
//!   to even and `format(x, ".1f")` (ages in hours), and `repr()` of a float (shortest
//!   round-trip, always with a `.0` or an exponent sign).
//! - **Output** ([`object`]): the values a diagnostic carries, including the numbers a JSON
//!   value cannot hold, which `json.dumps` prints as all their digits or as `Infinity` and
//!   `NaN`.
//! - **Cells** ([`value`]): the dynamically typed SQLite cell as `sqlite3` hands it to
//!   Python (None, int, float, str, bytes), its truthiness, `int(x or 0)` and `str(x)`.
//! - **JSON** ([`loads`], [`object`], [`json`]): `json.loads` of an event payload as
//!   CPython's decoder reads it (`NaN` and the infinities, ints of any size, the recursion
//!   limit), into a tree of Python objects with Python's `==` (exact between int and float,
//!   `True == 1`, dicts unordered, the decoder's one NaN) and a hash that agrees with it;
//!   the bytes `json.loads` accepts and how it decodes them; the truthiness, `int()`,
//!   `float()` and `str()` of decoded config values; and `json.dumps` in both layouts the
//!   tool writes (`indent=2` for reports, default separators for event payloads), with
//!   Python's float rendering.

pub mod int;
pub mod json;
pub mod loads;
pub mod object;
pub mod value;

use std::fmt::Write as _;

/// `str.isspace()`: Unicode `White_Space` plus the four information separators
/// U+001C..U+001F, which Python counts as whitespace and Rust does not.
pub fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `str.strip()` with no argument.
pub fn strip(s: &str) -> &str {
    s.trim_matches(is_space)
}

/// The line boundaries of `str.splitlines()` (CR LF counts as one).
fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r'
            | '\u{0b}'
            | '\u{0c}'
            | '\u{1c}'
            | '\u{1d}'
            | '\u{1e}'
            | '\u{85}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// `s.splitlines()[0]`, or `None` where Python would raise `IndexError` (empty input).
pub fn first_line(s: &str) -> Option<&str> {
    if s.is_empty() {
        return None;
    }
    Some(match s.find(is_line_break) {
        Some(i) => &s[..i],
        None => s,
    })
}

/// `s[:n]`: the first `n` code points.
pub fn take_chars(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// `len(s)` in code points.
pub fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// `repr(x)` for a float: the shortest round-trip digits, exponent form outside
/// `1e-4 <= |x| < 1e16` with a sign and at least two exponent digits.
pub fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    // Rust's Debug switches to exponent form at the same thresholds as Python's repr.
    let s = format!("{x:?}");
    match s.split_once('e') {
        None => s,
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            let mantissa = mantissa.strip_suffix(".0").unwrap_or(mantissa);
            format!("{mantissa}e{sign}{digits:0>2}")
        }
    }
}

/// `round(x, 1)`: correctly rounded, ties to even on the exact binary value.
/// Rust's fixed-precision formatting rounds the same way, so round-trip through it.
pub fn round1(x: f64) -> f64 {
    format!("{x:.1}").parse().unwrap_or(x)
}

/// `format(x, ".1f")`.
pub fn fmt_1f(x: f64) -> String {
    format!("{x:.1}")
}

/// `int(x)` for a float: truncation toward zero; `None` where Python raises
/// (NaN, infinities, values beyond i64 which Python would keep but SQLite cannot hold).
pub fn float_to_int(x: f64) -> Option<i64> {
    if !x.is_finite() {
        return None;
    }
    let t = x.trunc();
    if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&t) {
        return None;
    }
    Some(t as i64)
}

/// The value of a decimal digit of any script, as `int()` and `float()` read it: ASCII
/// `0`..`9`, and every character of general category Nd (`'٤'`, `'４'`, `'𝟜'`). Nd
/// characters come in runs of ten, zero first, so the value is the distance from the start
/// of the run, modulo ten (some runs of ten follow one another directly).
///
/// The categories are the `unicode-general-category` crate's (Unicode 16.0), as for
/// [`is_printable`]; the reference's Python 3.11 has Unicode 14.0, so the digits added in
/// 15.0 and 16.0 (Kawi, Nag Mundari, Garay, …) are digits here and not there.
pub fn decimal_value(c: char) -> Option<u32> {
    use unicode_general_category::{GeneralCategory, get_general_category};
    if let Some(d) = c.to_digit(10) {
        return Some(d);
    }
    let is_nd = |c: char| get_general_category(c) == GeneralCategory::DecimalNumber;
    if c.is_ascii() || !is_nd(c) {
        return None;
    }
    let mut start = c as u32;
    while start > 0 && char::from_u32(start - 1).is_some_and(is_nd) {
        start -= 1;
    }
    Some((c as u32 - start) % 10)
}

/// The first step of Python's `int()` and `float()` on a str
/// (`_PyUnicode_TransformDecimalAndSpaceToASCII`): ASCII stays as it is, other whitespace
/// becomes a space, a decimal digit of any script its ASCII digit. `None` for any other
/// character, on which both raise.
fn to_ascii_number(s: &str) -> Option<String> {
    let mut ascii = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            ascii.push(c);
        } else if c.is_whitespace() {
            ascii.push(' ');
        } else {
            ascii.push(char::from_digit(decimal_value(c)?, 10)?);
        }
    }
    Some(ascii)
}

/// Why [`parse_int_base`] refuses a text: Python's `ValueError`, for an invalid literal
/// or, in base 10, more digits than `int()` reads ([`int::MAX_STR_DIGITS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntBaseError {
    Invalid,
    TooManyDigits(usize),
}

/// `int(s, base)` for base 2, 8, 10 or 16, as PyYAML's constructor calls it on the text of
/// an `!!int`: surrounding whitespace, one optional sign, for bases 2, 8 and 16 an optional
/// matching prefix (`0b`, `0o`, `0x`, any case), then ASCII digits with single underscores
/// between them (one may also follow the prefix). Exact at any size; base 10, which is not
/// a power of two, reads at most [`int::MAX_STR_DIGITS`] digits, as Python does.
pub fn parse_int_base(s: &str, base: u32) -> Result<int::Int, IntBaseError> {
    // In every base, as Python does.
    let ascii = to_ascii_number(s).ok_or(IntBaseError::Invalid)?;
    // int() skips Unicode White_Space, which excludes the information separators that
    // str.strip() also removes.
    let t = ascii.trim_matches(char::is_whitespace);
    let (neg, mut body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let prefix = match base {
        2 => Some('b'),
        8 => Some('o'),
        16 => Some('x'),
        _ => None,
    };
    let mut after_prefix = false;
    if let Some(p) = prefix {
        let b = body.as_bytes();
        if b.len() >= 2 && b[0] == b'0' && b[1].eq_ignore_ascii_case(&(p as u8)) {
            body = &body[2..];
            after_prefix = true;
        }
    }
    let underscores_ok =
        !body.ends_with('_') && !body.contains("__") && (after_prefix || !body.starts_with('_'));
    if body.trim_start_matches('_').is_empty() || !underscores_ok {
        return Err(IntBaseError::Invalid);
    }
    let digits: String = body.chars().filter(|&c| c != '_').collect();
    let n = int::Int::parse_radix(&digits, base).ok_or(IntBaseError::Invalid)?;
    if base == 10 && digits.len() > int::MAX_STR_DIGITS {
        return Err(IntBaseError::TooManyDigits(digits.len()));
    }
    Ok(if neg { n.neg() } else { n })
}

/// `int(s)` for a string, where the result fits in an `i64` (see [`int::Int::parse`] for
/// the grammar). `None` where Python raises `ValueError`, and for values beyond i64, which
/// the thresholds read with it cannot use.
pub fn parse_int(s: &str) -> Option<i64> {
    int::Int::parse(s)?.to_i64()
}

/// `float(s)` for a string. Python first maps non-ASCII whitespace to spaces and decimal
/// digits of any script to ASCII digits (leaving ASCII as it is), then skips surrounding
/// whitespace and reads `[sign] (digits [. [digits]] | . digits) [(e|E) [sign] digits]`
/// or `inf`, `infinity`, `nan` in any case. Underscores are allowed only between two
/// digits, anywhere in the literal. Rust's grammar is the same once those steps are done.
pub fn parse_float(s: &str) -> Option<f64> {
    let ascii = to_ascii_number(s)?;
    // ASCII whitespace is exactly the ASCII part of Unicode White_Space.
    let t = ascii.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b');
    let b = t.as_bytes();
    let digit_at = |i: Option<usize>| i.and_then(|i| b.get(i)).is_some_and(u8::is_ascii_digit);
    let misplaced = (0..b.len())
        .any(|i| b[i] == b'_' && !(digit_at(i.checked_sub(1)) && digit_at(Some(i + 1))));
    if misplaced {
        return None;
    }
    t.replace('_', "").parse::<f64>().ok()
}

/// `repr(s)` for a str: single quotes unless the text has a single quote and no double
/// quote; backslash escapes for the quote, `\\`, `\t`, `\n`, `\r`, and hex escapes for
/// every character that is not printable in Python's sense.
pub fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_printable(c) => out.push(c),
            c => {
                let n = c as u32;
                let _ = if n < 0x100 {
                    write!(out, "\\x{n:02x}")
                } else if n < 0x10000 {
                    write!(out, "\\u{n:04x}")
                } else {
                    write!(out, "\\U{n:08x}")
                };
            }
        }
    }
    out.push(quote);
    out
}

/// `str.isprintable()` for one character: everything but the "Other" and "Separator"
/// general categories, except that the ASCII space is printable.
pub fn is_printable(c: char) -> bool {
    use unicode_general_category::{GeneralCategory as G, get_general_category};
    if c == ' ' {
        return true;
    }
    !matches!(
        get_general_category(c),
        G::Control
            | G::Format
            | G::Surrogate
            | G::PrivateUse
            | G::Unassigned
            | G::LineSeparator
            | G::ParagraphSeparator
            | G::SpaceSeparator
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_with_a_base_takes_its_prefix_sign_and_underscores_as_python_does() {
        let ok = |s: &str, base: u32| parse_int_base(s, base).map(|n| n.to_string());
        assert_eq!(ok("0x1f", 16), Ok("31".into()));
        assert_eq!(ok(" -0X_1f ", 16), Ok("-31".into()));
        assert_eq!(ok("0o17", 8), Ok("15".into()));
        assert_eq!(ok("017", 8), Ok("15".into()));
        assert_eq!(ok("1_01", 2), Ok("5".into()));
        assert_eq!(ok("0012", 10), Ok("12".into()));
        for bad in ["", "-", "0x", "08", "_1", "1_", "1__0", "0b2"] {
            let base = if bad == "08" {
                8
            } else if bad == "0b2" {
                2
            } else {
                16
            };
            assert_eq!(
                parse_int_base(bad, base),
                Err(IntBaseError::Invalid),
                "{bad:?}"
            );
        }
        // A prefix belongs to its own base only.
        assert_eq!(parse_int_base("0x10", 10), Err(IntBaseError::Invalid));
        assert_eq!(ok(&"9".repeat(40), 10), Ok("9".repeat(40)));
        assert_eq!(
            parse_int_base(&"9".repeat(4301), 10),
            Err(IntBaseError::TooManyDigits(4301))
        );
        assert_eq!(ok(&"1".repeat(5000), 2).map(|s| s.len()), Ok(1506));
        assert_eq!(
            parse_int_base(&"9".repeat(40), 8),
            Err(IntBaseError::Invalid)
        );
    }

    #[test]
    fn strip_treats_information_separators_as_space() {
        assert_eq!(strip("\x1c\x1f a b \u{85}\u{a0}\u{2028}"), "a b");
        assert_eq!(strip("\u{200b}x"), "\u{200b}x");
    }

    #[test]
    fn first_line_splits_on_every_python_boundary() {
        for sep in [
            "\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\u{85}", "\u{2028}",
            "\u{2029}",
        ] {
            assert_eq!(first_line(&format!("a{sep}b")), Some("a"), "{sep:?}");
        }
        assert_eq!(first_line("a\x1fb"), Some("a\x1fb"));
        assert_eq!(first_line(""), None);
    }

    #[test]
    fn take_chars_counts_code_points() {
        assert_eq!(take_chars("héllo", 2), "hé");
        assert_eq!(take_chars("ab", 5), "ab");
        assert_eq!(char_len("🙂é"), 2);
    }

    #[test]
    fn float_repr_matches_python() {
        assert_eq!(float_repr(24.0), "24.0");
        assert_eq!(float_repr(24.25), "24.25");
        assert_eq!(float_repr(1e16), "1e+16");
        assert_eq!(float_repr(1.5e-5), "1.5e-05");
        assert_eq!(float_repr(1e15), "1000000000000000.0");
        assert_eq!(float_repr(0.0001), "0.0001");
        assert_eq!(float_repr(-2.5e300), "-2.5e+300");
    }

    #[test]
    fn round_and_format_tie_to_even_on_exact_values() {
        assert_eq!(round1(24.25), 24.2);
        assert_eq!(round1(26.75), 26.8);
        assert_eq!(fmt_1f(2.25), "2.2");
        assert_eq!(fmt_1f(1.05), "1.1");
    }

    #[test]
    fn parse_int_follows_python_int() {
        assert_eq!(parse_int(" 12 "), Some(12));
        assert_eq!(parse_int("-1_000"), Some(-1000));
        assert_eq!(parse_int("1.5"), None);
        assert_eq!(parse_int("_1"), None);
        assert_eq!(parse_int(""), None);
        assert_eq!(parse_int("abc"), None);
    }

    #[test]
    fn parse_int_reaches_i64_min() {
        // Found by the property tests: the digits were accumulated as a positive number and
        // overflowed one short of the minimum.
        assert_eq!(parse_int("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_int("9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int("9223372036854775808"), None);
        assert_eq!(parse_int("-9223372036854775809"), None);
        assert_eq!(parse_int("-0"), Some(0));
    }

    #[test]
    fn int_and_float_skip_whitespace_but_not_information_separators() {
        // Python: int('\x1c12') and float('12\x1f') raise, though str.strip() removes both.
        for s in ["\x1c12", "12\x1f", "\x1d12", "\x1e12"] {
            assert_eq!(parse_int(s), None, "{s:?}");
            assert_eq!(parse_float(s), None, "{s:?}");
        }
        for s in ["\x0b12\x0c", "\u{a0}12\u{2028}", "\u{85}12", "\t12\r\n"] {
            assert_eq!(parse_int(s), Some(12), "{s:?}");
            assert_eq!(parse_float(s), Some(12.0), "{s:?}");
        }
        assert_eq!(parse_int("\u{200b}12"), None);
    }

    #[test]
    fn parse_float_follows_python_float() {
        assert_eq!(parse_float("1_0"), Some(10.0));
        assert_eq!(parse_float("1_0e1_0"), Some(1e11));
        assert_eq!(parse_float("1_000.0_1"), Some(1000.01));
        assert_eq!(parse_float("+infinity"), Some(f64::INFINITY));
        assert_eq!(parse_float("-Inf"), Some(f64::NEG_INFINITY));
        assert!(parse_float("-nan").is_some_and(f64::is_nan));
        assert_eq!(parse_float("1e400"), Some(f64::INFINITY));
        assert_eq!(parse_float("1."), Some(1.0));
        // Python raises on each of these; underscores were removed before parsing.
        for s in [
            "_1", "1_", "1__0", "1_.5", "1._5", "1_e5", "in_f", "nan_", "--inf", "+-1",
        ] {
            assert_eq!(parse_float(s), None, "{s:?}");
        }
    }

    #[test]
    fn int_reads_decimal_digits_of_every_script() {
        // Checked against Python 3.11: int('١٧٦٧٢٢٥٦٠٠'), int('４'), int('1٢3'), int('𝟠'),
        // int('-०७'), int('+٠').
        assert_eq!(parse_int("١٧٦٧٢٢٥٦٠٠"), Some(1_767_225_600));
        assert_eq!(parse_int("４"), Some(4));
        assert_eq!(parse_int("1٢3"), Some(123));
        assert_eq!(parse_int("\u{1d7e0}"), Some(8));
        assert_eq!(parse_int("-०७"), Some(-7));
        assert_eq!(parse_int("+٠"), Some(0));
        // Digits that are not decimals: superscripts, fractions, Roman numerals, circled.
        for s in ["\u{b2}", "1\u{b2}", "\u{bd}", "\u{2167}", "\u{2460}"] {
            assert_eq!(parse_int(s), None, "{s:?}");
        }
    }

    #[test]
    fn decimal_value_counts_from_the_start_of_each_run_of_ten() {
        // The mathematical digits are five runs of ten with no gap between them.
        assert_eq!(decimal_value('\u{1d7ce}'), Some(0));
        assert_eq!(decimal_value('\u{1d7d7}'), Some(9));
        assert_eq!(decimal_value('\u{1d7d8}'), Some(0));
        assert_eq!(decimal_value('\u{1d7ff}'), Some(9));
        assert_eq!(decimal_value('\u{669}'), Some(9));
        assert_eq!(decimal_value('\u{ff10}'), Some(0));
        assert_eq!(decimal_value('a'), None);
        assert_eq!(decimal_value('\u{2070}'), None);
    }

    #[test]
    fn int_allows_an_underscore_only_between_two_digits() {
        assert_eq!(parse_int("1_0"), Some(10));
        assert_eq!(parse_int("1_767_225_600"), Some(1_767_225_600));
        assert_eq!(parse_int("١_٢"), Some(12));
        assert_eq!(parse_int(" -1_0 "), Some(-10));
        for s in [
            "1__0", "_1", "10_", "+_1", "-_1", "1_ 0", " _1", "_", "1_\u{a0}",
        ] {
            assert_eq!(parse_int(s), None, "{s:?}");
        }
    }

    #[test]
    fn int_skips_whitespace_only_around_the_sign_and_digits() {
        assert_eq!(parse_int("\u{3000}-1\u{3000}"), Some(-1));
        assert_eq!(parse_int("\u{202f}7\u{205f}"), Some(7));
        // Python: int('-\xa01') and int('1\xa02') raise.
        for s in ["-\u{a0}1", "1\u{a0}2", "1 2", "- 1", "12\0", "\u{feff}12"] {
            assert_eq!(parse_int(s), None, "{s:?}");
        }
    }

    #[test]
    fn float_reads_every_spelling_python_accepts() {
        for (s, x) in [
            ("inf", f64::INFINITY),
            ("-Infinity", f64::NEG_INFINITY),
            ("+INF", f64::INFINITY),
            ("1e5", 1e5),
            ("1E+5", 1e5),
            (" 1.5 ", 1.5),
            ("+.5", 0.5),
            ("-.5e-3", -0.0005),
            ("1.e5", 1e5),
            ("007", 7.0),
            ("1e-400", 0.0),
            ("١.٥", 1.5),
            ("1e١", 10.0),
            ("١_٢.٥", 12.5),
            ("\u{3000}４\u{3000}", 4.0),
        ] {
            assert_eq!(parse_float(s), Some(x), "{s:?}");
        }
        assert!(parse_float("nan").is_some_and(f64::is_nan));
        assert!(parse_float(" +nAn ").is_some_and(f64::is_nan));
    }

    #[test]
    fn float_refuses_what_python_refuses() {
        for s in [
            ".e5",
            "e5",
            ".",
            "1e",
            "1e+",
            "infinit",
            "infinityy",
            "in f",
            "nan(1)",
            "0x10",
            "1e5_",
            "1e_5",
            "1e+_5",
            "_1.5",
            "1.5_",
            "1\u{a0}.5",
            "\x1c1.5",
            "1.5\x1f",
            "",
            "  ",
            "1.5\0",
            "\u{b2}",
            "ｉnf",
        ] {
            assert_eq!(parse_float(s), None, "{s:?}");
        }
    }

    #[test]
    fn repr_picks_quotes_and_escapes_like_python() {
        assert_eq!(str_repr("bob"), "'bob'");
        assert_eq!(str_repr("o'neil"), "\"o'neil\"");
        assert_eq!(str_repr("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(str_repr("x\ny\\"), "'x\\ny\\\\'");
        assert_eq!(str_repr("\x1b[0m\u{202e}é"), "'\\x1b[0m\\u202eé'");
        assert_eq!(str_repr("\u{a0}"), "'\\xa0'");
    }

    /// The README's claim: what `repr()` escapes follows the Unicode tables of Python 3.14
    /// (Unicode 16.0.0), whatever Python the reference runs on. Python 3.11 (Unicode 14.0.0)
    /// prints `'\U0001fae9'` and `'\U0001f6dc'` for the first two.
    /// Digits follow the same tables: U+16D70..U+16D79 KIRAT RAI DIGITS (new in 16.0) are
    /// decimal here; Python 3.11 (Unicode 14.0.0) raises on them (README, "kept as they are").
    #[test]
    fn decimal_digits_follow_the_unicode_tables_of_python_3_14() {
        assert_eq!(parse_int("\u{16D71}\u{16D70}"), Some(10));
        assert_eq!(parse_float("\u{16D72}.\u{16D75}"), Some(2.5));
    }

    #[test]
    fn repr_follows_the_unicode_tables_of_python_3_14() {
        assert_eq!(unicode_general_category::UNICODE_VERSION, (16, 0, 0));
        // U+1FAE9 FACE WITH BAGS UNDER EYES (new in 16.0), U+1F6DC WIRELESS (new in 15.0).
        assert_eq!(str_repr("\u{1fae9}"), "'\u{1fae9}'");
        assert_eq!(str_repr("\u{1f6dc}"), "'\u{1f6dc}'");
        // Still unassigned in 16.0: escaped by every Python.
        assert_eq!(str_repr("\u{378}"), "'\\u0378'");
    }
}
