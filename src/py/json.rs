//! `json.dumps` as Python prints it, for every JSON the tool writes.
//!
//! Two layouts: `indent=2` (what `hermes kanban diagnostics --json` and every `--json` of
//! this tool print) and the default separators `", "` and `": "` on one line (what the
//! kernel stores as an event payload). serde_json already matches Python's string
//! escaping with `ensure_ascii=False`; floats differ (`1e16` against Python's `1e+16`, and
//! Python always writes a `.0`), so they go through [`super::float_repr`].

use std::hash::{Hash, Hasher};
use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value as Json;
use serde_json::ser::{Formatter, PrettyFormatter};

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

/// Python's `json.loads`, as far as serde_json agrees with it (it does not accept NaN).
pub fn loads(text: &str) -> Option<Json> {
    serde_json::from_str(text).ok()
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

/// Python's `float(x)` on a decoded JSON or YAML value; `None` where it raises.
pub fn py_float(v: &Json) -> Option<f64> {
    match v {
        Json::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Json::Number(n) => n.as_f64(),
        Json::String(s) => super::parse_float(s),
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

/// A JSON number (or bool) as Python sees it: an `int` of any size or a `float`.
#[derive(Clone, Copy)]
enum PyNum {
    Int(i128),
    Float(f64),
}

fn py_num(v: &Json) -> Option<PyNum> {
    match v {
        Json::Bool(b) => Some(PyNum::Int(i128::from(*b))),
        Json::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
            .map(PyNum::Int)
            .or_else(|| n.as_f64().map(PyNum::Float)),
        _ => None,
    }
}

/// The exact integer value of a float, when it has one that an `i128` holds (every JSON
/// integer serde_json keeps as an integer does).
fn float_as_int(f: f64) -> Option<i128> {
    // 2^127 is exact as an f64; below it, an integral float converts without loss.
    const LIMIT: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;
    (f.is_finite() && f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f)).then_some(f as i128)
}

/// Python's `int`/`float` equality, which is exact: `2**53 + 1 != float(2**53)`.
fn py_num_eq(a: PyNum, b: PyNum) -> bool {
    match (a, b) {
        (PyNum::Int(i), PyNum::Int(j)) => i == j,
        (PyNum::Float(x), PyNum::Float(y)) => x == y,
        (PyNum::Int(i), PyNum::Float(f)) | (PyNum::Float(f), PyNum::Int(i)) => {
            float_as_int(f) == Some(i)
        }
    }
}

/// Python `==` between decoded JSON values: numbers compare by exact value, `True == 1 ==
/// 1.0`, NaN equals nothing, lists compare in order and dicts whatever their key order.
pub fn eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Null, Json::Null) => true,
        (Json::String(x), Json::String(y)) => x == y,
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| eq(p, q))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| eq(v, w)))
        }
        _ => match (py_num(a), py_num(b)) {
            (Some(x), Some(y)) => py_num_eq(x, y),
            _ => false,
        },
    }
}

/// Feed `v` to `state` so that values `eq` calls equal hash alike: a number by its
/// exact integer value when it has one (so `1`, `1.0` and `true` agree), else by its bits;
/// a dict by its entries in key order.
pub fn hash(v: &Json, state: &mut impl Hasher) {
    match v {
        Json::Null => state.write_u8(0),
        Json::Bool(_) | Json::Number(_) => match py_num(v) {
            Some(PyNum::Int(i)) => (1u8, i).hash(state),
            Some(PyNum::Float(f)) => match float_as_int(f) {
                Some(i) => (1u8, i).hash(state),
                // NaN hashes like any float; `eq` keeps every NaN apart.
                None => (2u8, f.to_bits()).hash(state),
            },
            None => state.write_u8(2),
        },
        Json::String(s) => (3u8, s).hash(state),
        Json::Array(items) => {
            (4u8, items.len()).hash(state);
            items.iter().for_each(|item| hash(item, state));
        }
        Json::Object(map) => {
            (5u8, map.len()).hash(state);
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            for (k, item) in entries {
                k.hash(state);
                hash(item, state);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hash(v: &Json) -> u64 {
        let mut h = std::hash::DefaultHasher::new();
        super::hash(v, &mut h);
        h.finish()
    }

    /// `eq` says equal, and the hash agrees, so the de-duplicating table finds it.
    fn assert_py_equal(a: &Json, b: &Json) {
        assert!(eq(a, b) && eq(b, a), "{a} == {b}");
        assert_eq!(hash(a), hash(b), "hash({a}) == hash({b})");
    }

    fn assert_py_unequal(a: &Json, b: &Json) {
        assert!(!eq(a, b) && !eq(b, a), "{a} != {b}");
    }

    #[test]
    fn python_equality_merges_numbers_and_bools() {
        assert_py_equal(&json!(1), &json!(1.0));
        assert_py_equal(&json!(true), &json!(1));
        assert_py_equal(&json!(true), &json!(1.0));
        assert_py_equal(&json!(false), &json!(0));
        assert_py_equal(&json!(false), &json!(-0.0));
        assert_py_equal(&json!(0.0), &json!(-0.0));
        assert_py_equal(&json!(0.5), &json!(0.5));
        assert_py_equal(&json!(null), &json!(null));
        assert_py_unequal(&json!(true), &json!(2));
        assert_py_unequal(&json!(null), &json!(0));
        assert_py_unequal(&json!(null), &json!(false));
        assert_py_unequal(&json!("1"), &json!(1));
        assert_py_unequal(&json!(0.5), &json!(0.25));
    }

    #[test]
    fn python_equality_between_int_and_float_is_exact() {
        let two_53 = 9_007_199_254_740_992_i64;
        assert_py_equal(&json!(two_53), &json!(9_007_199_254_740_992.0));
        // float(2**53 + 1) rounds to 2**53, but Python compares the exact values.
        assert_py_unequal(&json!(two_53 + 1), &json!(9_007_199_254_740_992.0));
        assert_py_unequal(&json!(two_53 + 1), &json!(two_53));
        assert_py_unequal(&json!(u64::MAX), &json!(u64::MAX - 1));
        assert_py_unequal(&json!(u64::MAX), &json!(18_446_744_073_709_551_616.0));
        assert_py_equal(&json!(1_u64 << 63), &json!(9_223_372_036_854_775_808.0));
        assert_py_equal(&json!(i64::MIN), &json!(-9_223_372_036_854_775_808.0));
        assert_py_equal(&json!(1e300), &json!(1e300));
        // Parsed from text the way payloads are.
        let parsed: Json = serde_json::from_str("[18446744073709551615, 1e0, 2.5]").unwrap();
        assert_py_equal(&parsed, &json!([u64::MAX, true, 2.5]));
    }

    #[test]
    fn nan_equals_nothing_and_json_cannot_hold_it() {
        // serde_json has no NaN (nor infinities), so a payload never yields one; were it
        // to, `eq` would keep every NaN apart, as Python's `==` does.
        assert!(serde_json::Number::from_f64(f64::NAN).is_none());
        assert!(!py_num_eq(PyNum::Float(f64::NAN), PyNum::Float(f64::NAN)));
        assert!(!py_num_eq(PyNum::Float(f64::NAN), PyNum::Int(0)));
        assert!(py_num_eq(
            PyNum::Float(f64::INFINITY),
            PyNum::Float(f64::INFINITY)
        ));
        assert!(!py_num_eq(
            PyNum::Float(f64::INFINITY),
            PyNum::Int(i128::MAX)
        ));
    }

    #[test]
    fn python_equality_of_lists_is_ordered_and_of_dicts_is_not() {
        assert_py_equal(&json!([1, "a", null]), &json!([true, "a", null]));
        assert_py_unequal(&json!([1, 2]), &json!([2, 1]));
        assert_py_unequal(&json!([1]), &json!([1, 1]));
        assert_py_unequal(&json!([]), &json!({}));
        assert_py_equal(
            &json!({"a": 1, "b": [1.0, {"c": false}]}),
            &json!({"b": [true, {"c": 0}], "a": 1.0}),
        );
        assert_py_unequal(&json!({"a": 1}), &json!({"a": 1, "b": 2}));
        assert_py_unequal(&json!({"a": 1}), &json!({"b": 1}));
        assert_py_unequal(&json!({"a": "1"}), &json!({"a": 1}));
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
