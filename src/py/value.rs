//! A dynamically typed cell value, as Python's `sqlite3` hands it to the reference rules.
//!
//! SQLite does not enforce declared column types, so a board can hold TEXT in an INTEGER
//! column or a REAL counter. The rules must treat such cells the way Python would: use
//! them where Python's operators accept them and report a rule failure where Python raises.

use rusqlite::types::ValueRef;

use super::int::Int;

/// One SQLite cell. Text that is not valid UTF-8 is decoded lossily (Python would refuse
/// to read the row at all; we prefer to diagnose it).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// Where Python would raise inside a rule; the rule's result is dropped for that task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFailure(pub &'static str);

impl Value {
    pub fn from_ref(v: ValueRef<'_>) -> Self {
        match v {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Int(i),
            ValueRef::Real(f) => Value::Real(f),
            ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        }
    }

    /// `*self = Value::from_ref(v)`, reusing the text or blob buffer `self` already holds:
    /// a stream of rows read into the same cells allocates only when a cell outgrows it.
    pub fn set_from_ref(&mut self, v: ValueRef<'_>) {
        match (self, v) {
            (Value::Text(s), ValueRef::Text(t)) => {
                s.clear();
                match std::str::from_utf8(t) {
                    Ok(t) => s.push_str(t),
                    Err(_) => s.push_str(&String::from_utf8_lossy(t)),
                }
            }
            (Value::Blob(b), ValueRef::Blob(v)) => {
                b.clear();
                b.extend_from_slice(v);
            }
            (this, v) => *this = Value::from_ref(v),
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Python truthiness.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Int(i) => *i != 0,
            Value::Real(f) => *f != 0.0,
            Value::Text(s) => !s.is_empty(),
            Value::Blob(b) => !b.is_empty(),
        }
    }

    /// The text when the cell is TEXT (the only type equal to a Python `str`).
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// `int(x or 0)` as the reference computes timestamps: exact at any size (a REAL
    /// `1e20` is the int `100000000000000000000`, text of forty digits keeps them all).
    pub fn int_or_zero(&self) -> Result<Int, RuleFailure> {
        if !self.truthy() {
            return Ok(Int::Small(0));
        }
        match self {
            Value::Int(i) => Ok(Int::Small(*i)),
            Value::Real(f) => Int::from_f64(*f).ok_or(RuleFailure("int() of a non-finite float")),
            Value::Text(s) => Int::parse(s).ok_or(RuleFailure("int() of non-numeric text")),
            Value::Blob(b) => Int::parse_bytes(b).ok_or(RuleFailure("int() of a non-numeric blob")),
            Value::Null => Ok(Int::Small(0)),
        }
    }

    /// The cell as JSON, the way `json.dumps` renders what `sqlite3` returned.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Int(i) => (*i).into(),
            Value::Real(f) => {
                serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into)
            }
            Value::Text(s) => s.clone().into(),
            // Python's json.dumps cannot serialise bytes; show them as text rather than fail.
            Value::Blob(b) => String::from_utf8_lossy(b).into_owned().into(),
        }
    }
}

/// A number as Python would hold it after reading an INTEGER or REAL cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    /// Numbers compare; anything else raises `TypeError` against an int in Python.
    pub fn from_value(v: &Value) -> Result<Option<Num>, RuleFailure> {
        match v {
            Value::Null => Ok(None),
            Value::Int(i) => Ok(Some(Num::Int(*i))),
            Value::Real(f) => Ok(Some(Num::Float(*f))),
            _ => Err(RuleFailure("comparison of text with a number")),
        }
    }

    /// `self >= other` for an int `other`, exact as Python compares an int with a float
    /// (`2.0**53 >= 2**53 + 1` is false).
    pub fn ge(self, other: impl Into<Int>) -> bool {
        let other = other.into();
        match self {
            Num::Int(i) => Int::Small(i) >= other,
            Num::Float(f) => matches!(
                other.cmp_f64(f),
                Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
            ),
        }
    }

    /// Python's `str()` / f-string rendering.
    pub fn display(self) -> String {
        match self {
            Num::Int(i) => i.to_string(),
            Num::Float(f) => crate::py::float_repr(f),
        }
    }

    pub fn to_json(self) -> serde_json::Value {
        match self {
            Num::Int(i) => i.into(),
            Num::Float(f) => {
                serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, Into::into)
            }
        }
    }
}

/// A cell as the key of a Python `dict`: two cells are one key exactly when Python's `==`
/// calls them equal. INTEGER 1 and REAL 1.0 are one key (`1 == 1.0`, and their hashes
/// agree); TEXT '1' and BLOB x'31' are keys of their own; NULL is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DictKey {
    None,
    /// Integers, and the floats equal to one (`-0.0` is `0`).
    Int(i64),
    /// Any other float, by its bits (SQLite stores no NaN, so bits are equality here).
    Float(u64),
    Text(String),
    Bytes(Vec<u8>),
}

impl Value {
    /// This cell as a `dict` key (see [`DictKey`]).
    pub fn dict_key(&self) -> DictKey {
        match self {
            Value::Null => DictKey::None,
            Value::Int(i) => DictKey::Int(*i),
            Value::Real(f) => match super::float_to_int(*f) {
                Some(i) if i as f64 == *f => DictKey::Int(i),
                _ => DictKey::Float(f.to_bits()),
            },
            Value::Text(s) => DictKey::Text(s.clone()),
            Value::Blob(b) => DictKey::Bytes(b.clone()),
        }
    }

    /// This cell's [`DictKey`] as bytes, appended to `out`: two cells are one key exactly
    /// when their encodings are equal. For interning keys without a `DictKey` each.
    pub fn encode_dict_key(v: ValueRef<'_>, out: &mut Vec<u8>) {
        match v {
            ValueRef::Null => out.push(0),
            ValueRef::Integer(i) => encode_int_key(i, out),
            ValueRef::Real(f) => match super::float_to_int(f) {
                Some(i) if i as f64 == f => encode_int_key(i, out),
                _ => {
                    out.push(2);
                    out.extend_from_slice(&f.to_bits().to_le_bytes());
                }
            },
            ValueRef::Text(t) => {
                out.push(3);
                match std::str::from_utf8(t) {
                    Ok(_) => out.extend_from_slice(t),
                    // Decoded as `Value::from_ref` decodes it.
                    Err(_) => out.extend_from_slice(String::from_utf8_lossy(t).as_bytes()),
                }
            }
            ValueRef::Blob(b) => {
                out.push(4);
                out.extend_from_slice(b);
            }
        }
    }

    /// `str(x)` / f-string rendering of a cell.
    pub fn py_str(&self) -> String {
        match self {
            Value::Null => "None".into(),
            Value::Int(i) => i.to_string(),
            Value::Real(f) => super::float_repr(*f),
            Value::Text(s) => s.clone(),
            Value::Blob(b) => format!("b{}", super::str_repr(&String::from_utf8_lossy(b))),
        }
    }
}

fn encode_int_key(i: i64, out: &mut Vec<u8>) {
    out.push(1);
    out.extend_from_slice(&i.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(v: ValueRef<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        Value::encode_dict_key(v, &mut out);
        out
    }

    #[test]
    fn encoded_keys_are_equal_exactly_when_dict_keys_are() {
        let cells: Vec<ValueRef<'static>> = vec![
            ValueRef::Null,
            ValueRef::Integer(1),
            ValueRef::Integer(0),
            ValueRef::Integer(-1),
            ValueRef::Real(1.0),
            ValueRef::Real(-0.0),
            ValueRef::Real(0.5),
            ValueRef::Real(1e19),
            ValueRef::Real(9.223_372_036_854_776e18),
            ValueRef::Text(b"1"),
            ValueRef::Text(b"t_a"),
            ValueRef::Text(b"\xff"),
            ValueRef::Text("\u{fffd}".as_bytes()),
            ValueRef::Blob(b"1"),
            ValueRef::Blob(b""),
            ValueRef::Text(b""),
        ];
        for a in &cells {
            for b in &cells {
                let same_key = Value::from_ref(*a).dict_key() == Value::from_ref(*b).dict_key();
                assert_eq!(same_key, encoded(*a) == encoded(*b), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn set_from_ref_equals_from_ref_whatever_the_cell_held() {
        let cells = [
            ValueRef::Null,
            ValueRef::Integer(7),
            ValueRef::Real(2.5),
            ValueRef::Text(b"long text that fills a buffer"),
            ValueRef::Text(b"a\xffb"),
            ValueRef::Text(b"short"),
            ValueRef::Blob(b"\x00\x01"),
            ValueRef::Blob(b""),
        ];
        for held in &cells {
            for next in &cells {
                let mut v = Value::from_ref(*held);
                v.set_from_ref(*next);
                assert_eq!(v, Value::from_ref(*next));
            }
        }
    }

    #[test]
    fn int_of_a_blob_reads_ascii_only() {
        // Python: int(b' 12 ') == 12, int(b'1_2') == 12, but int(b'\xc2\xa012') raises: bytes
        // are not decoded, so a UTF-8 no-break space is not whitespace there.
        assert_eq!(
            Value::Blob(b" 12 ".to_vec()).int_or_zero(),
            Ok(Int::Small(12))
        );
        assert_eq!(
            Value::Blob(b"1_2".to_vec()).int_or_zero(),
            Ok(Int::Small(12))
        );
        assert!(Value::Blob(b"\xc2\xa012".to_vec()).int_or_zero().is_err());
        assert!(Value::Blob(b"\x1c12".to_vec()).int_or_zero().is_err());
        // Nor are bytes decoded for other scripts' digits, and a NUL ends nothing.
        assert!(Value::Blob("١٢".as_bytes().to_vec()).int_or_zero().is_err());
        assert!(Value::Blob(b"12\x00".to_vec()).int_or_zero().is_err());
        assert_eq!(
            Value::Blob(b"\x0b12\x0c".to_vec()).int_or_zero(),
            Ok(Int::Small(12))
        );
        assert_eq!(
            Value::Text("\u{a0}12".into()).int_or_zero(),
            Ok(Int::Small(12))
        );
    }

    #[test]
    fn int_of_text_reaches_i64_min() {
        let min = Value::Text("-9223372036854775808".into());
        assert_eq!(min.int_or_zero(), Ok(Int::Small(i64::MIN)));
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn from_ref_keeps_each_storage_class() {
        assert_eq!(Value::from_ref(ValueRef::Null), Value::Null);
        assert_eq!(Value::from_ref(ValueRef::Integer(-7)), Value::Int(-7));
        assert_eq!(
            Value::from_ref(ValueRef::Integer(i64::MIN)),
            Value::Int(i64::MIN)
        );
        assert_eq!(Value::from_ref(ValueRef::Real(2.5)), Value::Real(2.5));
        assert_eq!(Value::from_ref(ValueRef::Text(b"t_1")), text("t_1"));
        assert_eq!(Value::from_ref(ValueRef::Text(b"")), text(""));
        assert_eq!(
            Value::from_ref(ValueRef::Blob(b"\x00\xff")),
            Value::Blob(vec![0, 0xff])
        );
        // A blob stays a blob even when it would decode as text.
        assert_eq!(
            Value::from_ref(ValueRef::Blob(b"abc")),
            Value::Blob(b"abc".to_vec())
        );
    }

    #[test]
    fn from_ref_decodes_invalid_utf8_text_lossily() {
        assert_eq!(
            Value::from_ref(ValueRef::Text(b"ok\xff\xfe")),
            text("ok\u{fffd}\u{fffd}")
        );
    }

    #[test]
    fn from_ref_reads_what_sqlite_stores() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let row: Vec<Value> = conn
            .query_row(
                "SELECT NULL, 42, 0.5, 'x', X'0102', CAST('12' AS INTEGER), CAST(3 AS REAL)",
                [],
                |r| (0..7).map(|i| r.get_ref(i).map(Value::from_ref)).collect(),
            )
            .unwrap();
        assert_eq!(
            row,
            [
                Value::Null,
                Value::Int(42),
                Value::Real(0.5),
                text("x"),
                Value::Blob(vec![1, 2]),
                Value::Int(12),
                Value::Real(3.0),
            ]
        );
    }

    #[test]
    fn truthiness_is_pythons() {
        // bool(None), bool(0), bool(0.0), bool(-0.0), bool(''), bool(b'') are False.
        for falsy in [
            Value::Null,
            Value::Int(0),
            Value::Real(0.0),
            Value::Real(-0.0),
            text(""),
            Value::Blob(Vec::new()),
        ] {
            assert!(!falsy.truthy(), "{falsy:?}");
        }
        // bool(float('nan')), bool(' '), bool('0'), bool(b'\0') are True.
        for truthy in [
            Value::Int(-1),
            Value::Int(i64::MIN),
            Value::Real(f64::NAN),
            Value::Real(1e-300),
            Value::Real(f64::NEG_INFINITY),
            text(" "),
            text("0"),
            text("False"),
            Value::Blob(vec![0]),
        ] {
            assert!(truthy.truthy(), "{truthy:?}");
        }
    }

    #[test]
    fn only_text_is_text_and_only_null_is_null() {
        assert_eq!(text("ready").as_text(), Some("ready"));
        assert_eq!(text("").as_text(), Some(""));
        assert_eq!(Value::Blob(b"ready".to_vec()).as_text(), None);
        assert_eq!(Value::Int(1).as_text(), None);
        assert_eq!(Value::Null.as_text(), None);
        assert!(Value::Null.is_null());
        assert!(!Value::Int(0).is_null() && !text("").is_null());
        assert_eq!(Value::default(), Value::Null);
    }

    #[test]
    fn int_or_zero_of_falsy_values_is_zero() {
        // `int(x or 0)`: anything falsy is 0 before int() sees it, even an empty string
        // (int('') raises) and -0.0.
        for v in [
            Value::Null,
            Value::Int(0),
            Value::Real(-0.0),
            text(""),
            Value::Blob(Vec::new()),
        ] {
            assert_eq!(v.int_or_zero(), Ok(Int::Small(0)), "{v:?}");
        }
    }

    #[test]
    fn int_or_zero_of_numbers_truncates_toward_zero() {
        assert_eq!(Value::Int(-5).int_or_zero(), Ok(Int::Small(-5)));
        // int(3.9) == 3, int(-3.9) == -3
        assert_eq!(Value::Real(3.9).int_or_zero(), Ok(Int::Small(3)));
        assert_eq!(Value::Real(-3.9).int_or_zero(), Ok(Int::Small(-3)));
        // int(float('nan')) raises ValueError, int(float('inf')) OverflowError.
        assert!(Value::Real(f64::NAN).int_or_zero().is_err());
        assert!(Value::Real(f64::INFINITY).int_or_zero().is_err());
        // int(1e300) is exact, all 301 digits of it.
        let big = Value::Real(1e300).int_or_zero().unwrap();
        assert_eq!(big, Int::from_f64(1e300).unwrap());
        assert!(
            big.to_string()
                .starts_with("10000000000000000525047602552044202487")
        );
    }

    #[test]
    fn int_or_zero_of_text_parses_like_int() {
        // Checked against python3: int(' 12 '), int('1_000'), int('+5'), int('-0'),
        // int('\t7\n'), int('0').
        for (s, n) in [
            (" 12 ", 12),
            ("1_000", 1000),
            ("+5", 5),
            ("-0", 0),
            ("\t7\n", 7),
            ("0", 0),
        ] {
            assert_eq!(text(s).int_or_zero(), Ok(Int::Small(n)), "{s:?}");
        }
        // int() raises ValueError on each of these.
        for s in ["0x10", "1.5", "1__0", "_1", "1_", "many", " "] {
            assert!(text(s).int_or_zero().is_err(), "{s:?}");
        }
        // Python keeps 2**63 and beyond exactly.
        assert_eq!(
            text("9223372036854775808")
                .int_or_zero()
                .unwrap()
                .to_string(),
            "9223372036854775808"
        );
    }

    #[test]
    fn to_json_is_what_json_dumps_prints() {
        assert_eq!(Value::Null.to_json(), serde_json::Value::Null);
        assert_eq!(Value::Int(-3).to_json(), serde_json::json!(-3));
        assert_eq!(Value::Real(0.5).to_json(), serde_json::json!(0.5));
        assert_eq!(text("a\nb").to_json(), serde_json::json!("a\nb"));
        // Python would print NaN (not JSON) or raise on bytes; both become something a
        // JSON reader accepts.
        assert_eq!(Value::Real(f64::NAN).to_json(), serde_json::Value::Null);
        assert_eq!(
            Value::Blob(b"ab\xff".to_vec()).to_json(),
            serde_json::json!("ab\u{fffd}")
        );
    }

    #[test]
    fn dict_keys_are_equal_where_python_equality_is() {
        // {1: 'a'}[1.0], {0: 'a'}[-0.0] and {None: 'a'}[None] all find 'a'.
        assert_eq!(Value::Real(1.0).dict_key(), Value::Int(1).dict_key());
        assert_eq!(Value::Real(-0.0).dict_key(), Value::Int(0).dict_key());
        assert_eq!(Value::Null.dict_key(), DictKey::None);
        assert_eq!(
            Value::Real(-9.007_199_254_740_992e15).dict_key(),
            Value::Int(-9_007_199_254_740_992).dict_key()
        );
        // 1 != '1' != b'1', 1.5 is its own key, and 2**53 + 1 != float(2**53 + 1).
        let one = Value::Int(1).dict_key();
        assert_ne!(one, text("1").dict_key());
        assert_ne!(text("1").dict_key(), Value::Blob(b"1".to_vec()).dict_key());
        assert_ne!(Value::Real(1.5).dict_key(), one);
        assert_eq!(Value::Real(1.5).dict_key(), Value::Real(1.5).dict_key());
        assert_ne!(
            Value::Int(9_007_199_254_740_993).dict_key(),
            Value::Real(2f64.powi(53)).dict_key()
        );
        assert_eq!(
            Value::Int(9_007_199_254_740_992).dict_key(),
            Value::Real(2f64.powi(53)).dict_key()
        );
        // Floats beyond i64 equal no SQLite integer.
        assert_eq!(
            Value::Real(9.223_372_036_854_776e18).dict_key(),
            DictKey::Float(9.223_372_036_854_776e18_f64.to_bits())
        );
    }

    #[test]
    fn num_accepts_numbers_and_null_and_refuses_the_rest() {
        assert_eq!(Num::from_value(&Value::Null), Ok(None));
        assert_eq!(Num::from_value(&Value::Int(3)), Ok(Some(Num::Int(3))));
        assert_eq!(
            Num::from_value(&Value::Real(2.5)),
            Ok(Some(Num::Float(2.5)))
        );
        // '3' >= 3 raises TypeError in Python 3, and so does b'3' >= 3.
        assert!(Num::from_value(&text("3")).is_err());
        assert!(Num::from_value(&Value::Blob(b"3".to_vec())).is_err());
    }

    #[test]
    fn num_compares_and_prints_like_python() {
        assert!(Num::Int(3).ge(3) && !Num::Int(2).ge(3));
        // 3.0 >= 3 is True, 2.9999999 >= 3 is False.
        assert!(Num::Float(3.0).ge(3) && !Num::Float(2.999_999_9).ge(3));
        assert!(!Num::Float(f64::NAN).ge(0));
        // Exact: 2.0**53 >= 2**53 + 1 is False, though float(2**53 + 1) == 2.0**53.
        assert!(!Num::Float(9_007_199_254_740_992.0).ge(9_007_199_254_740_993_i64));
        assert!(Num::Float(9_007_199_254_740_992.0).ge(9_007_199_254_740_992_i64));
        assert!(
            Num::Float(f64::INFINITY).ge(i64::MAX) && !Num::Float(f64::NEG_INFINITY).ge(i64::MIN)
        );
        // A threshold doubled beyond i64 stays exact.
        assert!(!Num::Int(i64::MAX).ge(i128::from(i64::MAX / 2 + 1) * 2));
        assert!(Num::Int(i64::MAX).ge(i64::MAX) && Num::Int(i64::MIN).ge(i64::MIN));
        // str(3.0), str(1e16), str(1e-05), str(-0.0)
        for (f, s) in [
            (3.0, "3.0"),
            (1e16, "1e+16"),
            (1e-5, "1e-05"),
            (-0.0, "-0.0"),
        ] {
            assert_eq!(Num::Float(f).display(), s);
        }
        assert_eq!(Num::Int(-12).display(), "-12");
        assert_eq!(Num::Int(4).to_json(), serde_json::json!(4));
        assert_eq!(Num::Float(4.0).to_json(), serde_json::json!(4.0));
        assert_eq!(Num::Float(f64::INFINITY).to_json(), serde_json::Value::Null);
    }
}
