//! `json.dumps` as Python prints it, for every JSON the tool writes.
//!
//! Two layouts: `indent=2` (what `hermes kanban diagnostics --json` and every `--json` of
//! this tool print) and the default separators `", "` and `": "` on one line (what the
//! kernel stores as an event payload). serde_json already matches Python's string
//! escaping with `ensure_ascii=False`; floats differ (`1e16` against Python's `1e+16`, and
//! Python always writes a `.0`), so they go through [`super::float_repr`].

use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value as Json;
use serde_json::ser::{Formatter, PrettyFormatter};

use super::object::Object;

/// `indent=2`: serde_json's pretty layout with Python's float rendering.
pub struct PyFormatter(PrettyFormatter<'static>);

impl Default for PyFormatter {
    fn default() -> Self {
        PyFormatter(PrettyFormatter::with_indent(b"  "))
    }
}

macro_rules! delegate {
    ($($name:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {
        $(fn $name<W: ?Sized + Write>(&mut self, w: &mut W $(, $arg: $ty)*) -> io::Result<()> {
            self.0.$name(w $(, $arg)*)
        })*
    };
}

impl Formatter for PyFormatter {
    delegate!(
        begin_array(),
        end_array(),
        begin_array_value(first: bool),
        end_array_value(),
        begin_object(),
        end_object(),
        begin_object_key(first: bool),
        begin_object_value(),
        end_object_value(),
    );

    fn write_f64<W: ?Sized + Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        w.write_all(super::float_repr(value).as_bytes())
    }

    fn write_f32<W: ?Sized + Write>(&mut self, w: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(w, f64::from(value))
    }

    fn write_byte_array<W: ?Sized + Write>(&mut self, w: &mut W, value: &[u8]) -> io::Result<()> {
        w.write_all(value)
    }
}

/// Serialize a number JSON values cannot hold (an int beyond 64 bits, `Infinity`, `NaN`)
/// from its text, which the formatters here write as it is.
///
/// serde has no call for a raw number (serde_json has one only with its
/// `arbitrary_precision` feature, which would change how every payload is read), so the text
/// travels as bytes: nothing else this crate writes is bytes (Python's `json.dumps` cannot
/// write them either), and both formatters below write bytes verbatim.
pub fn serialize_number_text<S: serde::Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bytes(text.as_bytes())
}

/// Serialize `value` as `json.dumps(value, indent=2, ensure_ascii=False)`.
pub fn to_string<T: Serialize>(value: &T) -> String {
    let mut buf = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, PyFormatter::default());
    value
        .serialize(&mut ser)
        .expect("serializing to memory cannot fail");
    String::from_utf8(buf).expect("serde_json writes UTF-8")
}

/// `json.dumps(value, ensure_ascii=False)`: one line, `", "` and `": "` separators.
pub fn to_string_compact<T: Serialize>(value: &T) -> String {
    let mut buf = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, CompactPy);
    value
        .serialize(&mut ser)
        .expect("serializing to memory cannot fail");
    String::from_utf8(buf).expect("serde_json writes UTF-8")
}

/// Python's default separators, and its float rendering.
struct CompactPy;

impl Formatter for CompactPy {
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn write_f64<W: ?Sized + Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        w.write_all(super::float_repr(value).as_bytes())
    }

    fn write_f32<W: ?Sized + Write>(&mut self, w: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(w, f64::from(value))
    }

    fn write_byte_array<W: ?Sized + Write>(&mut self, w: &mut W, value: &[u8]) -> io::Result<()> {
        w.write_all(value)
    }
}

// ---------------------------------------------------------------------------------------
// Reading: `json.loads`, and what Python does with the values it returns.
// ---------------------------------------------------------------------------------------

/// Python's `json.loads` of an event payload's text ([`super::loads`]); `None` where it
/// raises.
pub fn loads(text: &str) -> Option<Object> {
    super::loads::loads(text, super::loads::PAYLOAD_MAX_DEPTH)
}

/// `json.loads` of bytes: the text is decoded first, in the encoding `json.detect_encoding`
/// picks (a UTF-32, UTF-16 or UTF-8 byte-order mark, else the pattern of NUL bytes among the
/// first four), with `surrogatepass`. `None` where decoding or parsing raises.
///
/// A lone surrogate, which `surrogatepass` lets through, becomes U+FFFD: a Rust string
/// cannot hold it, and where the reference would print it, it fails writing to stdout.
pub fn loads_bytes(b: &[u8]) -> Option<Object> {
    loads(&decode_detected(b)?)
}

/// The text of a JSON document given as bytes, as `json.loads` decodes it.
fn decode_detected(b: &[u8]) -> Option<String> {
    const UTF32_BE: &[u8] = b"\0\0\xfe\xff";
    const UTF32_LE: &[u8] = b"\xff\xfe\0\0";
    const UTF16_BE: &[u8] = b"\xfe\xff";
    const UTF16_LE: &[u8] = b"\xff\xfe";
    const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";
    // The byte-order marks first (UTF-32 LE starts like UTF-16 LE), each removed.
    for (bom, decode) in [
        (UTF32_BE, Unit::U32Be),
        (UTF32_LE, Unit::U32Le),
        (UTF16_BE, Unit::U16Be),
        (UTF16_LE, Unit::U16Le),
        (UTF8_BOM, Unit::Utf8),
    ] {
        if let Some(rest) = b.strip_prefix(bom) {
            return decode.decode(rest);
        }
    }
    // Then where the NUL bytes are: JSON text starts with an ASCII character.
    let unit = match *b {
        [0, b1, _, _, ..] => {
            if b1 == 0 {
                Unit::U32Be
            } else {
                Unit::U16Be
            }
        }
        [_, 0, b2, b3, ..] => {
            if b2 != 0 || b3 != 0 {
                Unit::U16Le
            } else {
                Unit::U32Le
            }
        }
        [0, _] => Unit::U16Be,
        [_, 0] => Unit::U16Le,
        _ => Unit::Utf8,
    };
    unit.decode(b)
}

/// The encodings `json.detect_encoding` names, each decoded with `surrogatepass`.
#[derive(Clone, Copy)]
enum Unit {
    Utf8,
    U16Be,
    U16Le,
    U32Be,
    U32Le,
}

impl Unit {
    fn decode(self, b: &[u8]) -> Option<String> {
        match self {
            Unit::Utf8 => utf8_surrogatepass(b),
            Unit::U16Be | Unit::U16Le => {
                // An odd byte left over is "truncated data".
                if !b.len().is_multiple_of(2) {
                    return None;
                }
                let units = b.chunks_exact(2).map(|c| {
                    let pair = [c[0], c[1]];
                    if matches!(self, Unit::U16Be) {
                        u16::from_be_bytes(pair)
                    } else {
                        u16::from_le_bytes(pair)
                    }
                });
                Some(
                    char::decode_utf16(units)
                        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                        .collect(),
                )
            }
            Unit::U32Be | Unit::U32Le => {
                if !b.len().is_multiple_of(4) {
                    return None;
                }
                b.chunks_exact(4)
                    .map(|c| {
                        let quad = [c[0], c[1], c[2], c[3]];
                        let n = if matches!(self, Unit::U32Be) {
                            u32::from_be_bytes(quad)
                        } else {
                            u32::from_le_bytes(quad)
                        };
                        match n {
                            0xD800..=0xDFFF => Some(char::REPLACEMENT_CHARACTER),
                            // Beyond U+10FFFF: "code point not in range".
                            _ => char::from_u32(n),
                        }
                    })
                    .collect()
            }
        }
    }
}

/// UTF-8 with `surrogatepass`: strict, except that an encoded surrogate (ED A0..BF 80..BF)
/// is accepted.
fn utf8_surrogatepass(mut b: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(b.len());
    loop {
        match std::str::from_utf8(b) {
            Ok(s) => {
                out.push_str(s);
                return Some(out);
            }
            Err(e) => {
                let (valid, rest) = b.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(valid).expect("checked above"));
                match rest {
                    [0xED, 0xA0..=0xBF, 0x80..=0xBF, ..] => {
                        out.push(char::REPLACEMENT_CHARACTER);
                        b = &rest[3..];
                    }
                    _ => return None,
                }
            }
        }
    }
}

/// Python's `int(x)` on a decoded JSON or YAML value; `None` where it raises.
pub fn py_int(v: &Json) -> Option<i64> {
    match v {
        Json::Bool(b) => Some(i64::from(*b)),
        Json::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().and_then(super::float_to_int)),
        Json::String(s) => super::parse_int(s),
        _ => None,
    }
}

/// Python truthiness of a decoded JSON or YAML value.
pub fn truthy(v: &Json) -> bool {
    match v {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64() != Some(0.0),
        Json::String(s) => !s.is_empty(),
        Json::Array(a) => !a.is_empty(),
        Json::Object(o) => !o.is_empty(),
    }
}

/// `str(x)` of a decoded JSON or YAML value, for the few places the reference stringifies one.
pub fn to_str(v: &Json) -> String {
    match v {
        Json::Null => "None".into(),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Number(n) => match n.as_i64() {
            Some(i) => i.to_string(),
            None => n.as_f64().map_or_else(|| n.to_string(), super::float_repr),
        },
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bytes_are_decoded_in_the_encoding_python_detects() {
        // Each checked against python3: json.loads('["t_é"]'.encode(enc)).
        let want = Object::from_json(&json!(["t_é"]));
        let text = "[\"t_é\"]";
        let utf16 = |be: bool| -> Vec<u8> {
            text.encode_utf16()
                .flat_map(|u| if be { u.to_be_bytes() } else { u.to_le_bytes() })
                .collect()
        };
        let utf32 = |be: bool| -> Vec<u8> {
            text.chars()
                .flat_map(|c| {
                    let n = c as u32;
                    if be { n.to_be_bytes() } else { n.to_le_bytes() }
                })
                .collect()
        };
        let with = |bom: &[u8], body: Vec<u8>| [bom, &body].concat();
        for (name, bytes) in [
            ("utf-8", text.as_bytes().to_vec()),
            ("utf-8-sig", with(b"\xef\xbb\xbf", text.as_bytes().to_vec())),
            ("utf-16 (LE BOM)", with(b"\xff\xfe", utf16(false))),
            ("utf-16 (BE BOM)", with(b"\xfe\xff", utf16(true))),
            ("utf-16-le", utf16(false)),
            ("utf-16-be", utf16(true)),
            ("utf-32 (LE BOM)", with(b"\xff\xfe\0\0", utf32(false))),
            ("utf-32 (BE BOM)", with(b"\0\0\xfe\xff", utf32(true))),
            ("utf-32-le", utf32(false)),
            ("utf-32-be", utf32(true)),
        ] {
            assert_eq!(loads_bytes(&bytes), Some(want.clone()), "{name}");
        }
        // Two bytes: b'1\x00' is UTF-16-LE for '1'.
        assert_eq!(loads_bytes(b"1\0"), Some(Object::from_json(&json!(1))));
        assert_eq!(loads_bytes(b"\x001"), Some(Object::from_json(&json!(1))));
    }

    #[test]
    fn bytes_python_cannot_decode_are_no_json() {
        // Odd-length UTF-16, UTF-32 of a broken length or beyond U+10FFFF, invalid UTF-8.
        assert_eq!(loads_bytes(b"\xff\xfe[\x00]"), None);
        assert_eq!(loads_bytes(b"[\x00\x00\x00]\x00\x00"), None);
        assert_eq!(loads_bytes(b"\xff\xfe\0\0\0\0\x11\0"), None);
        assert_eq!(loads_bytes(b"[\"\xff\"]"), None);
        // A second BOM is text, and not JSON whitespace.
        assert_eq!(loads_bytes(b"\xff\xfe\xff\xfe1\x00"), None);
    }

    #[test]
    fn lone_surrogates_pass_as_replacement_characters() {
        // '"\ud800"' encoded with surrogatepass in UTF-8, UTF-16-LE and UTF-32-LE.
        let want = Some(Object::from_json(&json!("\u{fffd}")));
        assert_eq!(loads_bytes(b"\"\xed\xa0\x80\""), want);
        assert_eq!(loads_bytes(b"\"\x00\x00\xd8\"\x00"), want);
        assert_eq!(
            loads_bytes(b"\"\x00\x00\x00\x00\xd8\x00\x00\"\x00\x00\x00"),
            want
        );
        // A surrogate pair in UTF-16 is one character.
        assert_eq!(
            loads_bytes(b"\"\x00=\xd8\x00\xde\"\x00"),
            Some(Object::from_json(&json!("\u{1f600}")))
        );
    }

    #[test]
    fn compact_dumps_use_pythons_separators_and_floats() {
        assert_eq!(
            to_string_compact(&json!({"a": 1, "b": [1, "é"], "c": null, "d": 1e16, "e": 2.0})),
            "{\"a\": 1, \"b\": [1, \"é\"], \"c\": null, \"d\": 1e+16, \"e\": 2.0}"
        );
        assert_eq!(to_string_compact(&json!([])), "[]");
        assert_eq!(to_string_compact(&json!({})), "{}");
    }
}
