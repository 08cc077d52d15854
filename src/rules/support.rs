//! Pieces several rules share, each reproducing one behaviour of the reference exactly.

use std::hash::{BuildHasher, Hash, Hasher, RandomState};

use hashbrown::hash_table::{Entry, HashTable};
use serde_json::{Map, Value as Json};

use super::{Action, PayloadMode};
use crate::config::DiagConfig;
use crate::python;
use crate::value::{RuleFailure, Value};

/// Python's `json.loads`, as far as serde_json agrees with it (it does not accept NaN).
fn json_loads(text: &str) -> Option<Json> {
    serde_json::from_str(text).ok()
}

fn json_truthy(v: &Json) -> bool {
    crate::config::py_truthy(v)
}

/// The payload of an event as a dictionary, following `_parse_payload` for both ways the
/// reference hands events to the rules.
pub fn payload_object(cell: &Value, mode: PayloadMode) -> Result<Map<String, Json>, RuleFailure> {
    let not_a_dict = RuleFailure("event payload is JSON but not an object");
    // A decoded payload that is a string is decoded once more, then must be an object.
    let from_text = |text: &str| -> Result<Map<String, Json>, RuleFailure> {
        match json_loads(text) {
            None => Ok(Map::new()),
            Some(Json::Object(m)) => Ok(m),
            Some(v) if !json_truthy(&v) => Ok(Map::new()),
            Some(_) => Err(not_a_dict.clone()),
        }
    };
    match mode {
        PayloadMode::Fleet => match cell {
            Value::Text(t) => from_text(t),
            _ => Ok(Map::new()),
        },
        PayloadMode::SingleTask => {
            if !cell.truthy() {
                return Ok(Map::new());
            }
            let parsed = match cell {
                Value::Text(t) => json_loads(t),
                Value::Blob(b) => std::str::from_utf8(b).ok().and_then(json_loads),
                _ => None,
            };
            match parsed {
                Some(Json::Object(m)) => Ok(m),
                Some(Json::String(s)) => from_text(&s),
                _ => Ok(Map::new()),
            }
        }
    }
}

/// Iterate `payload.get(key, []) or []` the way a Python `for` loop would: a list yields
/// its items, a string its characters, an object its keys; other truthy values raise.
pub fn iter_ids(payload: &Map<String, Json>, key: &str) -> Result<Vec<Json>, RuleFailure> {
    match payload.get(key) {
        None => Ok(Vec::new()),
        Some(v) if !json_truthy(v) => Ok(Vec::new()),
        Some(Json::Array(items)) => Ok(items.clone()),
        Some(Json::String(s)) => Ok(s.chars().map(|c| Json::String(c.to_string())).collect()),
        Some(Json::Object(m)) => Ok(m.keys().map(|k| Json::String(k.clone())).collect()),
        Some(_) => Err(RuleFailure("phantom id list is not iterable")),
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
pub fn py_eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Null, Json::Null) => true,
        (Json::String(x), Json::String(y)) => x == y,
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| py_eq(p, q))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| py_eq(v, w)))
        }
        _ => match (py_num(a), py_num(b)) {
            (Some(x), Some(y)) => py_num_eq(x, y),
            _ => false,
        },
    }
}

/// Feed `v` to `state` so that values `py_eq` calls equal hash alike: a number by its
/// exact integer value when it has one (so `1`, `1.0` and `true` agree), else by its bits;
/// a dict by its entries in key order.
fn py_hash(v: &Json, state: &mut impl Hasher) {
    match v {
        Json::Null => state.write_u8(0),
        Json::Bool(_) | Json::Number(_) => match py_num(v) {
            Some(PyNum::Int(i)) => (1u8, i).hash(state),
            Some(PyNum::Float(f)) => match float_as_int(f) {
                Some(i) => (1u8, i).hash(state),
                // NaN hashes like any float; `py_eq` keeps every NaN apart.
                None => (2u8, f.to_bits()).hash(state),
            },
            None => state.write_u8(2),
        },
        Json::String(s) => (3u8, s).hash(state),
        Json::Array(items) => {
            (4u8, items.len()).hash(state);
            items.iter().for_each(|item| py_hash(item, state));
        }
        Json::Object(map) => {
            (5u8, map.len()).hash(state);
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            for (k, item) in entries {
                k.hash(state);
                py_hash(item, state);
            }
        }
    }
}

/// A list built the way `if x not in xs: xs.append(x)` builds it, in linear time.
///
/// Python's `in` is `x is e or x == e`; decoded JSON values are never the same object, so
/// it is `py_eq`. Alongside the items, a table of their positions keyed by `py_hash` finds
/// the candidates, and `py_eq` confirms them: one hash and a few comparisons per item
/// instead of a scan of the list (a payload of 200k ids took minutes), and no second copy
/// of the ids.
#[derive(Debug, Default)]
pub struct UniqueList {
    items: Vec<Json>,
    positions: HashTable<usize>,
    hasher: RandomState,
}

impl UniqueList {
    /// Append `items`, skipping any already present.
    pub fn extend(&mut self, items: Vec<Json>) {
        let hash_of = |v: &Json| {
            let mut h = self.hasher.build_hasher();
            py_hash(v, &mut h);
            h.finish()
        };
        for item in items {
            let list = &self.items;
            let entry = self.positions.entry(
                hash_of(&item),
                |&i| py_eq(&list[i], &item),
                |&i| hash_of(&list[i]),
            );
            if let Entry::Vacant(slot) = entry {
                slot.insert(self.items.len());
                self.items.push(item);
            }
        }
    }

    /// The items in the order they were first seen.
    pub fn items(&self) -> &[Json] {
        &self.items
    }
}

/// The error excerpt shown in titles and details: stripped, cut at 500 code points with an
/// ellipsis. `Ok(None)` when there is no error text; `Err` where Python's `.strip()` or
/// string concatenation would raise on a non-text value.
pub fn error_snippet(last_err: &Value) -> Result<Option<String>, RuleFailure> {
    if !last_err.truthy() {
        return Ok(None);
    }
    let Value::Text(text) = last_err else {
        return Err(RuleFailure("error value is not text"));
    };
    let text = python::strip(text);
    if text.is_empty() {
        return Ok(None);
    }
    let mut snippet = python::take_chars(text, 500).to_string();
    if python::char_len(text) > 500 {
        snippet.push('…');
    }
    Ok(Some(snippet))
}

/// The first line of an excerpt, cut at 160 code points, for a title.
pub fn title_line(snippet: &str) -> &str {
    python::take_chars(python::first_line(snippet).unwrap_or(""), 160)
}

/// `str(x)` / f-string rendering of a cell.
pub fn py_str(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Int(i) => i.to_string(),
        Value::Real(f) => python::float_repr(*f),
        Value::Text(s) => s.clone(),
        Value::Blob(b) => format!("b{}", python::str_repr(&String::from_utf8_lossy(b))),
    }
}

/// A number setting read as the reference reads it, `int(cfg.get(key, default))` or
/// `float(…)`: the default when the key is absent, else `parse` (`config::py_int` or
/// `config::py_float`) of the value, or `why` where Python's conversion raises. The rule
/// then fails, as in Hermes, for every task it gets as far as reading the setting for.
pub fn number_setting<T>(
    value: Option<&Json>,
    default: T,
    parse: fn(&Json) -> Option<T>,
    why: &'static str,
) -> Result<T, RuleFailure> {
    value.map_or(Ok(default), |v| parse(v).ok_or(RuleFailure(why)))
}

/// The failure threshold as set, under its name or its old one (`spawn_failure_threshold`):
/// `cfg.get("failure_threshold", cfg.get("spawn_failure_threshold", …))`.
pub fn failure_threshold_setting(cfg: &DiagConfig) -> Option<&Json> {
    cfg.get("failure_threshold")
        .or(cfg.get("spawn_failure_threshold"))
}

/// Seconds from `since` to `now`, exactly: Python's integers do not overflow, and an i128
/// holds any difference of two i64s.
pub fn age_seconds(now: i64, since: i64) -> i128 {
    i128::from(now) - i128::from(since)
}

/// Hours from `since` to `now`, as the reference's `(now - since) / 3600.0` computes them:
/// the exact difference rounded to a float, then divided.
pub fn age_hours(now: i64, since: i64) -> f64 {
    age_seconds(now, since) as f64 / 3600.0
}

/// The two recovery primitives every diagnostic can offer.
pub fn generic_recovery_actions(running: bool) -> Vec<Action> {
    let mut out = Vec::new();
    if running {
        out.push(Action::new("reclaim", "Reclaim task"));
    }
    out.push(
        Action::new("reassign", "Reassign to different profile").payload("reclaim_first", running),
    );
    out
}

/// "Check logs" for a task, when it has an id.
pub fn check_logs_action(task_id: &Value) -> Option<Action> {
    task_id.truthy().then(|| {
        Action::command(
            "Check logs",
            format!("hermes kanban log {}", py_str(task_id)),
        )
        .suggested()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fleet_payload_raises_on_truthy_non_objects_only() {
        let t = |s: &str| Value::Text(s.into());
        assert!(payload_object(&t("[1]"), PayloadMode::Fleet).is_err());
        assert!(payload_object(&t("\"x\""), PayloadMode::Fleet).is_err());
        assert_eq!(payload_object(&t("[]"), PayloadMode::Fleet), Ok(Map::new()));
        assert_eq!(
            payload_object(&t("null"), PayloadMode::Fleet),
            Ok(Map::new())
        );
        assert_eq!(
            payload_object(&t("{bad"), PayloadMode::Fleet),
            Ok(Map::new())
        );
        assert_eq!(
            payload_object(&Value::Int(5), PayloadMode::Fleet),
            Ok(Map::new())
        );
    }

    #[test]
    fn single_task_payload_tolerates_lists() {
        let t = |s: &str| Value::Text(s.into());
        assert_eq!(
            payload_object(&t("[1]"), PayloadMode::SingleTask),
            Ok(Map::new())
        );
        assert!(payload_object(&t("\"[1]\""), PayloadMode::SingleTask).is_err());
    }

    fn hash(v: &Json) -> u64 {
        let mut h = std::hash::DefaultHasher::new();
        py_hash(v, &mut h);
        h.finish()
    }

    /// `py_eq` says equal, and the hash agrees, so the de-duplicating table finds it.
    fn assert_py_equal(a: &Json, b: &Json) {
        assert!(py_eq(a, b) && py_eq(b, a), "{a} == {b}");
        assert_eq!(hash(a), hash(b), "hash({a}) == hash({b})");
    }

    fn assert_py_unequal(a: &Json, b: &Json) {
        assert!(!py_eq(a, b) && !py_eq(b, a), "{a} != {b}");
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
        // to, `py_eq` would keep every NaN apart, as Python's `==` does.
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
    fn unique_list_keeps_the_first_of_each_python_equal_group() {
        let mut list = UniqueList::default();
        list.extend(vec![
            json!("t_a"),
            json!(1),
            json!(1.0),
            json!(true),
            json!("1"),
            json!(9_007_199_254_740_993_i64),
            json!(9_007_199_254_740_992.0),
            json!({"x": 1, "y": 2}),
        ]);
        list.extend(vec![
            json!({"y": 2.0, "x": true}),
            json!("t_a"),
            json!(9_007_199_254_740_992_i64),
            json!(null),
            json!(null),
        ]);
        assert_eq!(
            list.items(),
            [
                json!("t_a"),
                json!(1),
                json!("1"),
                json!(9_007_199_254_740_993_i64),
                json!(9_007_199_254_740_992.0),
                json!({"x": 1, "y": 2}),
                json!(null),
            ]
        );
    }

    #[test]
    fn unique_list_handles_hundreds_of_thousands_of_ids() {
        // A quadratic scan took minutes here; the table makes it one pass.
        let ids: Vec<Json> = (0..200_000).map(|i| json!(format!("t_{i:08x}"))).collect();
        let mut list = UniqueList::default();
        list.extend(ids.clone());
        list.extend(ids.iter().rev().cloned().collect());
        assert_eq!(list.items(), ids.as_slice());
    }

    #[test]
    fn snippet_cuts_at_500_code_points_with_ellipsis() {
        let long = "é".repeat(501);
        let s = error_snippet(&Value::Text(long)).unwrap().unwrap();
        assert_eq!(s.chars().count(), 501);
        assert!(s.ends_with('…'));
        let exact = "é".repeat(500);
        assert_eq!(
            error_snippet(&Value::Text(exact.clone())).unwrap(),
            Some(exact)
        );
        assert_eq!(error_snippet(&Value::Text(" \x1c ".into())).unwrap(), None);
        assert!(error_snippet(&Value::Int(3)).is_err());
        assert_eq!(error_snippet(&Value::Int(0)).unwrap(), None);
    }
}

/// The hallucination events still "active" for a task: those of one kind with no
/// `completed` or `edited` event after them. Shared by the two hallucination rules, which
/// differ only in the event kind and the payload key they collect.
#[derive(Debug, Default)]
pub struct ActiveHits(Option<Box<Hits>>);

#[derive(Debug)]
pub struct Hits {
    pub count: i64,
    pub first_ts: Result<i64, RuleFailure>,
    pub last_ts: Result<i64, RuleFailure>,
    pub ids: UniqueList,
    pub failure: Option<RuleFailure>,
}

impl ActiveHits {
    pub fn on_event(&mut self, ev: &super::EventRow<'_>, kind: &str, key: &str) {
        if ev.kind_is("completed") || ev.kind_is("edited") {
            self.0 = None;
        } else if ev.kind_is(kind) {
            let ts = ev.ts();
            let hits = self.0.get_or_insert_with(|| {
                Box::new(Hits {
                    count: 0,
                    first_ts: ts.clone(),
                    last_ts: Ok(0),
                    ids: UniqueList::default(),
                    failure: None,
                })
            });
            hits.count += 1;
            hits.last_ts = ts;
            if hits.failure.is_none() {
                match ev.payload_object().and_then(|p| iter_ids(&p, key)) {
                    Ok(ids) => hits.ids.extend(ids),
                    Err(e) => hits.failure = Some(e),
                }
            }
        }
    }

    /// The active hits, or `Err` where the reference raises while reading them.
    pub fn get(&self) -> Result<Option<(&Hits, i64, i64)>, RuleFailure> {
        let Some(h) = self.0.as_deref() else {
            return Ok(None);
        };
        let first = h.first_ts.clone()?;
        let last = h.last_ts.clone()?;
        if let Some(f) = &h.failure {
            return Err(f.clone());
        }
        Ok(Some((h, first, last)))
    }
}
