//! A dynamically typed cell value, as Python's `sqlite3` hands it to the reference rules.
//!
//! SQLite does not enforce declared column types, so a board can hold TEXT in an INTEGER
//! column or a REAL counter. The rules must treat such cells the way Python would: use
//! them where Python's operators accept them and report a rule failure where Python raises.

use rusqlite::types::ValueRef;

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

    /// `int(x or 0)` as the reference computes timestamps.
    pub fn int_or_zero(&self) -> Result<i64, RuleFailure> {
        if !self.truthy() {
            return Ok(0);
        }
        match self {
            Value::Int(i) => Ok(*i),
            Value::Real(f) => {
                crate::py::float_to_int(*f).ok_or(RuleFailure("int() of a non-finite float"))
            }
            Value::Text(s) => {
                crate::py::parse_int(s).ok_or(RuleFailure("int() of non-numeric text"))
            }
            // `int(bytes)` reads ASCII only: no Unicode whitespace or digits.
            Value::Blob(b) => std::str::from_utf8(b)
                .ok()
                .filter(|s| s.is_ascii())
                .and_then(crate::py::parse_int)
                .ok_or(RuleFailure("int() of a non-numeric blob")),
            Value::Null => Ok(0),
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

    /// `self >= other` for an int `other`, exact for ints.
    pub fn ge(self, other: i64) -> bool {
        match self {
            Num::Int(i) => i >= other,
            Num::Float(f) => f >= other as f64,
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

impl Value {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_of_a_blob_reads_ascii_only() {
        // Python: int(b' 12 ') == 12, int(b'1_2') == 12, but int(b'\xc2\xa012') raises: bytes
        // are not decoded, so a UTF-8 no-break space is not whitespace there.
        assert_eq!(Value::Blob(b" 12 ".to_vec()).int_or_zero(), Ok(12));
        assert_eq!(Value::Blob(b"1_2".to_vec()).int_or_zero(), Ok(12));
        assert!(Value::Blob(b"\xc2\xa012".to_vec()).int_or_zero().is_err());
        assert!(Value::Blob(b"\x1c12".to_vec()).int_or_zero().is_err());
        assert_eq!(Value::Text("\u{a0}12".into()).int_or_zero(), Ok(12));
    }

    #[test]
    fn int_of_text_reaches_i64_min() {
        let min = Value::Text("-9223372036854775808".into());
        assert_eq!(min.int_or_zero(), Ok(i64::MIN));
    }
}
