//! A value the reference puts into a diagnostic, on its way to `json.dumps`.
//!
//! Most are what a JSON value holds (strings, bools, None, lists of decoded payload ids,
//! small numbers). Two kinds of Python number are not: ints beyond 64 bits (`int(1e20)`,
//! the age of a task whose timestamp is far in the past) and non-finite floats (a REAL
//! `inf` failure counter). `json.dumps` prints the first with all their digits and the
//! second as `Infinity`, `-Infinity` and `NaN`; [`Object`] carries both so the report can
//! print them the same way (through [`super::json::serialize_number_text`]).

use serde::{Serialize, Serializer};
use serde_json::Value as Json;

use super::int::Int;
use super::value::{Num, Value};

/// A Python object as `json.dumps` prints it.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    Json(Json),
    Int(Int),
    Float(f64),
}

impl Serialize for Object {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Object::Json(j) => j.serialize(s),
            Object::Int(i) => i.serialize(s),
            Object::Float(f) => serialize_float(*f, s),
        }
    }
}

/// A float as `json.dumps` prints it: `repr()` when finite, else `Infinity`, `-Infinity`
/// or `NaN`, which are not JSON but what the reference prints.
pub fn serialize_float<S: Serializer>(f: f64, s: S) -> Result<S::Ok, S::Error> {
    if f.is_finite() {
        s.serialize_f64(f)
    } else if f.is_nan() {
        super::json::serialize_number_text("NaN", s)
    } else if f > 0.0 {
        super::json::serialize_number_text("Infinity", s)
    } else {
        super::json::serialize_number_text("-Infinity", s)
    }
}

impl Serialize for Int {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.to_i64() {
            Some(i) => s.serialize_i64(i),
            None => super::json::serialize_number_text(&self.to_string(), s),
        }
    }
}

impl<T: Into<Json>> From<T> for Object {
    fn from(v: T) -> Self {
        Object::Json(v.into())
    }
}

impl From<Int> for Object {
    fn from(i: Int) -> Self {
        Object::Int(i)
    }
}

impl From<Num> for Object {
    fn from(n: Num) -> Self {
        match n {
            Num::Int(i) => Object::Int(Int::Small(i)),
            Num::Float(f) => Object::Float(f),
        }
    }
}

/// A cell as `json.dumps` prints what `sqlite3` returned for it.
impl From<&Value> for Object {
    fn from(v: &Value) -> Self {
        match v {
            Value::Real(f) => Object::Float(*f),
            other => Object::Json(other.to_json()),
        }
    }
}

impl Object {
    /// The text, when the object is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Object::Json(j) => j.as_str(),
            _ => None,
        }
    }
}

/// An object equals an int when it is that int (for tests and checks).
impl PartialEq<i64> for Object {
    fn eq(&self, other: &i64) -> bool {
        match self {
            Object::Json(j) => j.as_i64() == Some(*other),
            Object::Int(i) => i == other,
            Object::Float(_) => false,
        }
    }
}

/// Objects compare with JSON values where they are one (for tests and checks).
impl PartialEq<Json> for Object {
    fn eq(&self, other: &Json) -> bool {
        match self {
            Object::Json(j) => j == other,
            Object::Int(i) => i.to_i64().is_some_and(|i| *other == i),
            Object::Float(f) => other.as_f64() == Some(*f) && other.is_f64(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::py::json::{to_string, to_string_compact};
    use serde_json::json;

    #[test]
    fn numbers_json_cannot_hold_print_as_python_prints_them() {
        let big = Int::from_f64(1e20).unwrap();
        let objects = vec![
            Object::Int(big.clone()),
            Object::Int(Int::Small(-3)),
            Object::Float(f64::INFINITY),
            Object::Float(f64::NEG_INFINITY),
            Object::Float(f64::NAN),
            Object::Float(2.5),
            Object::Float(1e16),
            Object::from("x"),
            Object::from(Value::Real(f64::INFINITY).to_json()),
            Object::from(&Value::Real(f64::INFINITY)),
        ];
        assert_eq!(
            to_string_compact(&objects),
            "[100000000000000000000, -3, Infinity, -Infinity, NaN, 2.5, 1e+16, \"x\", null, \
             Infinity]"
        );
        assert_eq!(
            to_string(&vec![Object::Int(big)]),
            "[\n  100000000000000000000\n]"
        );
    }

    #[test]
    fn cells_become_the_objects_sqlite3_returns() {
        assert_eq!(Object::from(&Value::Real(0.5)), Object::Float(0.5));
        assert_eq!(Object::from(&Value::Int(4)), json!(4));
        assert_eq!(Object::from(&Value::Text("a".into())), json!("a"));
        assert_eq!(Object::from(&Value::Null), Json::Null);
        assert_eq!(
            Object::from(Num::Float(f64::INFINITY)),
            Object::Float(f64::INFINITY)
        );
        assert_eq!(Object::from(Num::Int(7)), json!(7));
    }
}
