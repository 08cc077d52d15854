//! A value the reference puts into a diagnostic, on its way to `json.dumps`.
//!
//! Most are what a JSON value holds (strings, bools, None, lists of decoded payload ids,
//! small numbers). Two kinds of Python number are not: ints beyond 64 bits (`int(1e20)`,
//! the age of a task whose timestamp is far in the past) and non-finite floats (a REAL
//! `inf` failure counter). `json.dumps` prints the first with all their digits and the
//! second as `Infinity`, `-Infinity` and `NaN`; [`Object`] carries both so the report can
//! print them the same way (through [`super::json::serialize_number_text`]).
//!
//! A decoded event payload ([`super::loads`]) is a whole tree of such objects: `None`,
//! bools, ints of any size, floats including NaN and the infinities, strings, lists, and
//! dicts that keep insertion order. [`Object::py_eq`] and [`Object::py_hash`] give them
//! Python's `==` and a hash that agrees with it.

use std::hash::{BuildHasher, Hash, Hasher, RandomState};

use hashbrown::hash_table::{self, HashTable};
use serde::{Serialize, Serializer};
use serde_json::Value as Json;

use super::int::Int;
use super::value::{Num, Value};

/// A Python object as `json.dumps` prints it.
#[derive(Debug, Clone)]
pub enum Object {
    /// A value the tool built itself, which JSON holds as it is. (Boxed, as the dict is,
    /// so that an object is small: a payload can hold hundreds of thousands of ids.)
    Json(Box<Json>),
    None,
    Bool(bool),
    Int(Int),
    Float(f64),
    Str(String),
    List(Vec<Object>),
    Dict(Box<Dict>),
}

/// Rust's equality is sameness: the same tree, floats by their bits (so a NaN equals
/// itself and `-0.0` is not `0.0`), dicts in the same order. Two equal objects print the
/// same. Python's `==` is [`Object::py_eq`].
impl PartialEq for Object {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Object::Json(a), Object::Json(b)) => a == b,
            (Object::None, Object::None) => true,
            (Object::Bool(a), Object::Bool(b)) => a == b,
            (Object::Int(a), Object::Int(b)) => a == b,
            (Object::Float(a), Object::Float(b)) => a.to_bits() == b.to_bits(),
            (Object::Str(a), Object::Str(b)) => a == b,
            (Object::List(a), Object::List(b)) => a == b,
            (Object::Dict(a), Object::Dict(b)) => a == b,
            _ => false,
        }
    }
}

impl Serialize for Object {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Object::Json(j) => j.serialize(s),
            Object::None => s.serialize_unit(),
            Object::Bool(b) => s.serialize_bool(*b),
            Object::Int(i) => i.serialize(s),
            Object::Float(f) => serialize_float(*f, s),
            Object::Str(t) => s.serialize_str(t),
            Object::List(items) => s.collect_seq(items),
            Object::Dict(d) => s.collect_map(d.iter()),
        }
    }
}

/// A dict with string keys, as `json.loads` builds one: insertion order, and a key seen
/// again replaces the value in the place the key first took. An index by key keeps
/// building and looking up linear however many keys a payload has.
#[derive(Debug, Clone, Default)]
pub struct Dict {
    entries: Vec<(String, Object)>,
    index: HashTable<usize>,
    hasher: RandomState,
}

impl Dict {
    fn key_hash(&self, key: &str) -> u64 {
        self.hasher.hash_one(key)
    }

    /// `d[key] = value`.
    pub fn insert(&mut self, key: String, value: Object) {
        let hash = self.key_hash(&key);
        let Dict {
            entries,
            index,
            hasher,
        } = self;
        match index.entry(
            hash,
            |&i| entries[i].0 == key,
            |&i| hasher.hash_one(entries[i].0.as_str()),
        ) {
            hash_table::Entry::Occupied(slot) => entries[*slot.get()].1 = value,
            hash_table::Entry::Vacant(slot) => {
                slot.insert(entries.len());
                entries.push((key, value));
            }
        }
    }

    /// `d.get(key)`.
    pub fn get(&self, key: &str) -> Option<&Object> {
        self.index
            .find(self.key_hash(key), |&i| self.entries[i].0 == key)
            .map(|&i| &self.entries[i].1)
    }

    /// The entries in insertion order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&String, &Object)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// The keys in insertion order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &String> {
        self.entries.iter().map(|(k, _)| k)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Dicts are equal with the same entries in the same order (Rust's equality, for tests;
/// Python's unordered `==` is [`Object::py_eq`]).
impl PartialEq for Dict {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

impl FromIterator<(String, Object)> for Dict {
    fn from_iter<I: IntoIterator<Item = (String, Object)>>(items: I) -> Self {
        let mut d = Dict::default();
        items.into_iter().for_each(|(k, v)| d.insert(k, v));
        d
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
        Object::Json(Box::new(v.into()))
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
            other => Object::from(other.to_json()),
        }
    }
}

impl Object {
    /// The text, when the object is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Object::Json(j) => j.as_str(),
            Object::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Python's `int(x)` where it fits an `i64`; `None` where it raises or is larger.
    pub fn py_int(&self) -> Option<i64> {
        match self {
            Object::Json(j) => super::json::py_int(j),
            Object::Bool(b) => Some(i64::from(*b)),
            Object::Int(i) => i.to_i64(),
            Object::Float(f) => super::float_to_int(*f),
            Object::Str(s) => super::parse_int(s),
            Object::None | Object::List(_) | Object::Dict(_) => None,
        }
    }

    /// Python's `str(x)` of a scalar; a list or dict is shown as `json.dumps` shows it.
    pub fn py_str(&self) -> String {
        match self {
            Object::Json(j) => super::json::to_str(j),
            Object::None => "None".into(),
            Object::Bool(b) => if *b { "True" } else { "False" }.into(),
            Object::Int(i) => i.to_string(),
            Object::Float(f) => super::float_repr(*f),
            Object::Str(s) => s.clone(),
            Object::List(_) | Object::Dict(_) => super::json::to_string_compact(self),
        }
    }
}

/// Why Python's `int(x)` raises: `ValueError` or `TypeError` (which the reference's
/// tolerant readers catch), or `OverflowError` (an infinite float, which they do not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntError {
    Invalid,
    Overflow,
}

impl Object {
    /// Python's `int(x)`, exact at any size.
    pub fn py_int_exact(&self) -> Result<Int, IntError> {
        match self {
            Object::Json(j) => Object::from_json(j).py_int_exact(),
            Object::Bool(b) => Ok(Int::Small(i64::from(*b))),
            Object::Int(i) => Ok(i.clone()),
            Object::Float(f) if f.is_infinite() => Err(IntError::Overflow),
            Object::Float(f) => Int::from_f64(*f).ok_or(IntError::Invalid),
            Object::Str(s) => Int::parse(s).ok_or(IntError::Invalid),
            Object::None | Object::List(_) | Object::Dict(_) => Err(IntError::Invalid),
        }
    }

    /// Python's `float(x)`; `None` where it raises (an int too large for a float is
    /// Python's `OverflowError`).
    pub fn py_float(&self) -> Option<f64> {
        match self {
            Object::Json(j) => Object::from_json(j).py_float(),
            Object::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            Object::Int(i) => i.to_f64(),
            Object::Float(f) => Some(*f),
            Object::Str(s) => super::parse_float(s),
            Object::None | Object::List(_) | Object::Dict(_) => None,
        }
    }

    /// `d.get(key)` when the object is a dict; `None` for anything else.
    pub fn get(&self, key: &str) -> Option<&Object> {
        match self {
            Object::Dict(d) => d.get(key),
            _ => None,
        }
    }

    pub fn is_none(&self) -> bool {
        matches!(self, Object::None) || matches!(self, Object::Json(j) if j.is_null())
    }

    /// Python's type name, for messages that quote it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Object::Json(j) => Object::from_json(j).type_name(),
            Object::None => "NoneType",
            Object::Bool(_) => "bool",
            Object::Int(_) => "int",
            Object::Float(_) => "float",
            Object::Str(_) => "str",
            Object::List(_) => "list",
            Object::Dict(_) => "dict",
        }
    }
}

/// `dict(x or {})`, as Hermes builds `kanban.diagnostics`: a falsy value is `{}`, a dict is
/// copied, and anything else is read as an iterable of key/value pairs (two-item lists,
/// two-character strings, two-key dicts); later pairs replace earlier ones. `Err` with
/// Python's `TypeError`/`ValueError` where `dict()` raises. A key that is not a string is
/// spelled as `str()` spells it.
pub fn py_dict(v: &Object) -> Result<Dict, String> {
    if !v.truthy() {
        return Ok(Dict::default());
    }
    let items = match v {
        Object::Json(j) => return py_dict(&Object::from_json(j)),
        Object::Dict(d) => return Ok((**d).clone()),
        Object::List(items) => items,
        Object::Str(_) => {
            // Each character is an element of length 1.
            return Err(
                "ValueError: dictionary update sequence element #0 has length 1; 2 is required"
                    .into(),
            );
        }
        other => {
            return Err(format!(
                "TypeError: '{}' object is not iterable",
                other.type_name()
            ));
        }
    };
    let mut out = Dict::default();
    for (i, item) in items.iter().enumerate() {
        let (key, value) = match item {
            Object::List(pair) if pair.len() == 2 => (pair[0].clone(), pair[1].clone()),
            Object::Str(s) if s.chars().count() == 2 => {
                let mut c = s.chars().map(|c| Object::Str(c.to_string()));
                (
                    c.next().unwrap_or(Object::None),
                    c.next().unwrap_or(Object::None),
                )
            }
            Object::Dict(d) if d.len() == 2 => {
                let mut k = d.keys().map(|k| Object::Str(k.clone()));
                (
                    k.next().unwrap_or(Object::None),
                    k.next().unwrap_or(Object::None),
                )
            }
            Object::List(_) | Object::Str(_) | Object::Dict(_) => {
                let len = match item {
                    Object::List(a) => a.len(),
                    Object::Str(s) => s.chars().count(),
                    Object::Dict(d) => d.len(),
                    _ => 0,
                };
                return Err(format!(
                    "ValueError: dictionary update sequence element #{i} has length {len}; 2 \
                     is required"
                ));
            }
            _ => {
                return Err(format!(
                    "TypeError: cannot convert dictionary update sequence element #{i} to a \
                     sequence"
                ));
            }
        };
        let key = match key {
            Object::Str(s) => s,
            Object::List(_) => return Err("TypeError: unhashable type: 'list'".into()),
            Object::Dict(_) => return Err("TypeError: unhashable type: 'dict'".into()),
            other => other.py_str(),
        };
        out.insert(key, value);
    }
    Ok(out)
}

/// A number as Python compares it: bools are the ints 0 and 1.
enum Number<'a> {
    Int(std::borrow::Cow<'a, Int>),
    Float(f64),
}

impl Object {
    /// A value the tool built, as the tree `json.loads` would decode from its text.
    pub fn from_json(j: &Json) -> Object {
        match j {
            Json::Null => Object::None,
            Json::Bool(b) => Object::Bool(*b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Object::Int(Int::Small(i)),
                None => match n.as_u64() {
                    Some(u) => Object::Int(Int::from(i128::from(u))),
                    None => Object::Float(n.as_f64().unwrap_or(f64::NAN)),
                },
            },
            Json::String(s) => Object::Str(s.clone()),
            Json::Array(items) => Object::List(items.iter().map(Object::from_json).collect()),
            Json::Object(m) => Object::Dict(Box::new(
                m.iter()
                    .map(|(k, v)| (k.clone(), Object::from_json(v)))
                    .collect(),
            )),
        }
    }

    fn number(&self) -> Option<Number<'_>> {
        use std::borrow::Cow;
        match self {
            Object::Bool(b) => Some(Number::Int(Cow::Owned(Int::Small(i64::from(*b))))),
            Object::Int(i) => Some(Number::Int(Cow::Borrowed(i))),
            Object::Float(f) => Some(Number::Float(*f)),
            _ => None,
        }
    }

    /// Python's `x == y` between decoded objects, as `in` and container comparisons see
    /// it (identity first): numbers compare by exact value (`True == 1 == 1.0`,
    /// `2**53 + 1 != 2.0**53`), lists in order, dicts whatever their order. NaN equals
    /// NaN: every NaN `json.loads` returns is the one object `json.decoder.NaN`, so the
    /// identity check finds it (a NaN made any other way would differ).
    pub fn py_eq(&self, other: &Object) -> bool {
        match (self, other) {
            (Object::Json(a), b) => Object::from_json(a).py_eq(b),
            (a, Object::Json(b)) => a.py_eq(&Object::from_json(b)),
            (Object::None, Object::None) => true,
            (Object::Str(a), Object::Str(b)) => a == b,
            (Object::List(a), Object::List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.py_eq(y))
            }
            (Object::Dict(a), Object::Dict(b)) => {
                a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| v.py_eq(w)))
            }
            _ => match (self.number(), other.number()) {
                (Some(Number::Int(a)), Some(Number::Int(b))) => a == b,
                (Some(Number::Float(x)), Some(Number::Float(y))) => {
                    x == y || (x.is_nan() && y.is_nan())
                }
                (Some(Number::Int(i)), Some(Number::Float(f)))
                | (Some(Number::Float(f)), Some(Number::Int(i))) => {
                    i.cmp_f64(f) == Some(std::cmp::Ordering::Equal)
                }
                _ => false,
            },
        }
    }

    /// Feed `self` to `state` so that objects [`Object::py_eq`] calls equal hash alike: a
    /// number by its exact integer value when it has one (so `1`, `1.0` and `True` agree),
    /// else by its bits; a dict by its entries whatever their order.
    pub fn py_hash(&self, state: &mut impl Hasher) {
        match self {
            Object::Json(j) => Object::from_json(j).py_hash(state),
            Object::None => state.write_u8(0),
            Object::Bool(_) | Object::Int(_) | Object::Float(_) => match self.number() {
                Some(Number::Int(i)) => (1u8, &*i).hash(state),
                Some(Number::Float(f)) => match Int::from_f64(f).filter(|_| f.fract() == 0.0) {
                    Some(i) => (1u8, i).hash(state),
                    None if f.is_nan() => state.write_u8(2),
                    None => (3u8, f.to_bits()).hash(state),
                },
                None => unreachable!("numbers are numbers"),
            },
            Object::Str(s) => (4u8, s).hash(state),
            Object::List(items) => {
                (5u8, items.len()).hash(state);
                items.iter().for_each(|item| item.py_hash(state));
            }
            Object::Dict(d) => {
                // Unordered: a sum of per-entry hashes, each from a fresh hasher.
                (6u8, d.len()).hash(state);
                let mut sum = 0u64;
                for (k, v) in d.iter() {
                    let mut h = std::hash::DefaultHasher::new();
                    k.hash(&mut h);
                    v.py_hash(&mut h);
                    sum = sum.wrapping_add(h.finish());
                }
                state.write_u64(sum);
            }
        }
    }

    /// Python's `bool(x)`.
    pub fn truthy(&self) -> bool {
        match self {
            Object::Json(j) => super::json::truthy(j),
            Object::None => false,
            Object::Bool(b) => *b,
            Object::Int(i) => !i.is_zero(),
            Object::Float(f) => *f != 0.0,
            Object::Str(s) => !s.is_empty(),
            Object::List(items) => !items.is_empty(),
            Object::Dict(d) => !d.is_empty(),
        }
    }
}

/// An object equals an int when it is that int (for tests and checks).
impl PartialEq<i64> for Object {
    fn eq(&self, other: &i64) -> bool {
        match self {
            Object::Json(j) => j.as_i64() == Some(*other),
            Object::Int(i) => i == other,
            _ => false,
        }
    }
}

/// Objects compare with JSON values where they are one (for tests and checks).
impl PartialEq<Json> for Object {
    fn eq(&self, other: &Json) -> bool {
        match self {
            Object::Json(j) => **j == *other,
            Object::Int(i) => i.to_i64().is_some_and(|i| *other == i),
            Object::Float(f) => other.as_f64() == Some(*f) && other.is_f64(),
            other_object => *other_object == Object::from_json(other),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dict_takes_a_mapping_or_pairs_and_raises_where_python_does() {
        for falsy in [
            json!(null),
            json!(false),
            json!(0),
            json!(0.0),
            json!(""),
            json!([]),
        ] {
            assert_eq!(
                py_dict(&Object::from_json(&falsy)),
                Ok(Dict::default()),
                "{falsy}"
            );
        }
        let pairs = json!([["a", 1], ["a", 2], "bc", {"d": 1, "e": 2}, [1, 2], [true, 3]]);
        assert_eq!(
            Object::Dict(Box::new(py_dict(&Object::from_json(&pairs)).unwrap())),
            Object::from_json(&json!({"a": 2, "b": "c", "d": "e", "1": 2, "True": 3}))
        );
        let raises = [
            (json!(5), "TypeError: 'int' object is not iterable"),
            (json!(1.5), "TypeError: 'float' object is not iterable"),
            (json!(true), "TypeError: 'bool' object is not iterable"),
            (json!("ab"), "element #0 has length 1; 2 is required"),
            (
                json!([[1, 2], [1, 2, 3]]),
                "element #1 has length 3; 2 is required",
            ),
            (json!([["a", 1], "abc"]), "element #1 has length 3"),
            (json!([{"a": 1}]), "element #0 has length 1"),
            (
                json!([null]),
                "cannot convert dictionary update sequence element #0",
            ),
            (json!([[[1], 2]]), "unhashable type: 'list'"),
            (json!([[{}, 2]]), "unhashable type: 'dict'"),
        ];
        for (v, message) in raises {
            let e = py_dict(&Object::from_json(&v)).unwrap_err();
            assert!(e.contains(message), "{v}: {e}");
        }
    }

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

    fn decoded(text: &str) -> Object {
        crate::py::json::loads(text).unwrap_or_else(|| panic!("{text} does not decode"))
    }

    fn hash_of(o: &Object) -> u64 {
        let mut h = std::hash::DefaultHasher::new();
        o.py_hash(&mut h);
        h.finish()
    }

    /// `a == b` in Python for the decoded texts, and the hash agrees, so the de-duplicating
    /// table finds one from the other.
    fn assert_py_equal(a: &str, b: &str) {
        let (x, y) = (decoded(a), decoded(b));
        assert!(x.py_eq(&y) && y.py_eq(&x), "{a} == {b}");
        assert_eq!(hash_of(&x), hash_of(&y), "hash({a}) == hash({b})");
    }

    fn assert_py_unequal(a: &str, b: &str) {
        let (x, y) = (decoded(a), decoded(b));
        assert!(!x.py_eq(&y) && !y.py_eq(&x), "{a} != {b}");
    }

    // Each checked against python3.11 on json.loads of both texts.

    #[test]
    fn python_equality_merges_numbers_and_bools() {
        for (a, b) in [
            ("1", "1.0"),
            ("true", "1"),
            ("true", "1.0"),
            ("false", "0"),
            ("false", "-0.0"),
            ("0.0", "-0.0"),
            ("null", "null"),
            ("1e400", "Infinity"),
            ("-1e400", "-Infinity"),
        ] {
            assert_py_equal(a, b);
        }
        for (a, b) in [
            ("true", "2"),
            ("null", "0"),
            ("null", "false"),
            ("\"1\"", "1"),
            ("0.5", "0.25"),
            ("Infinity", "-Infinity"),
        ] {
            assert_py_unequal(a, b);
        }
    }

    #[test]
    fn python_equality_between_int_and_float_is_exact_at_any_size() {
        assert_py_equal("9007199254740992", "9007199254740992.0");
        // float(2**53 + 1) rounds to 2**53, but Python compares the exact values.
        assert_py_unequal("9007199254740993", "9007199254740992.0");
        assert_py_unequal("9223372036854775807", "9223372036854775808");
        assert_py_equal("9223372036854775808", "9223372036854775808.0");
        assert_py_equal("-9223372036854775808", "-9223372036854775808.0");
        assert_py_unequal("18446744073709551615", "18446744073709551616.0");
        assert_py_equal("1e30", "1000000000000000019884624838656");
        assert_py_unequal("1e30", "1000000000000000000000000000000");
        assert_py_unequal("123456789012345678901234567890", "Infinity");
    }

    #[test]
    fn decoded_nans_are_one_object_so_they_are_equal() {
        assert_py_equal("NaN", "NaN");
        assert_py_equal("[NaN, {\"a\": NaN}]", "[NaN, {\"a\": NaN}]");
        assert_py_unequal("NaN", "0");
        assert_py_unequal("NaN", "Infinity");
    }

    #[test]
    fn python_equality_of_lists_is_ordered_and_of_dicts_is_not() {
        assert_py_equal("[1, \"a\", null]", "[true, \"a\", null]");
        assert_py_unequal("[1, 2]", "[2, 1]");
        assert_py_unequal("[1]", "[1, 1]");
        assert_py_unequal("[]", "{}");
        assert_py_equal(
            r#"{"a": 1, "b": [1.0, {"c": false}]}"#,
            r#"{"b": [true, {"c": 0}], "a": 1.0}"#,
        );
        assert_py_equal(r#"{"a": 1, "a": 2}"#, r#"{"a": 2}"#);
        assert_py_unequal(r#"{"a": 1}"#, r#"{"a": 1, "b": 2}"#);
        assert_py_unequal(r#"{"a": 1}"#, r#"{"b": 1}"#);
        assert_py_unequal(r#"{"a": "1"}"#, r#"{"a": 1}"#);
    }

    #[test]
    fn decoded_trees_print_as_json_dumps_prints_them() {
        assert_eq!(
            to_string_compact(&decoded(
                r#"{"b": [NaN, -Infinity, 1e400, 123456789012345678901234567890, 1E2, -0.0, "é"], "a": {"n": null, "t": true}, "b2": 7}"#
            )),
            r#"{"b": [NaN, -Infinity, Infinity, 123456789012345678901234567890, 100.0, -0.0, "é"], "a": {"n": null, "t": true}, "b2": 7}"#
        );
        assert_eq!(
            to_string(&decoded("[[NaN], {}]")),
            "[\n  [\n    NaN\n  ],\n  {}\n]"
        );
    }

    #[test]
    fn objects_stay_small_for_payloads_of_many_ids() {
        // An int, a str or a list inline; the larger dict and built JSON behind a box.
        assert!(std::mem::size_of::<Object>() <= 40);
    }

    #[test]
    fn rust_equality_is_sameness_so_a_nan_diagnostic_equals_itself() {
        // `explain` checks its diagnostic is among `evaluate`'s with `==`.
        let ids = decoded("[NaN, -0.0, {\"a\": Infinity}]");
        assert_eq!(ids, ids.clone());
        assert_ne!(decoded("0.0"), decoded("-0.0"));
        assert_ne!(decoded("1"), decoded("1.0"));
        assert_ne!(
            decoded("{\"a\": 1, \"b\": 2}"),
            decoded("{\"b\": 2, \"a\": 1}")
        );
    }
}
