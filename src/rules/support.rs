//! Pieces several rules share, each reproducing one behaviour of the reference exactly.

use serde_json::{Map, Value as Json};

use super::{Action, PayloadMode};
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

/// Python `==` between decoded JSON values: numbers compare by value and `True == 1`.
pub fn py_eq(a: &Json, b: &Json) -> bool {
    fn num(v: &Json) -> Option<f64> {
        match v {
            Json::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            Json::Number(n) => n.as_f64(),
            _ => None,
        }
    }
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| py_eq(p, q))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| py_eq(v, w)))
        }
        (Json::Null, Json::Null) => true,
        (Json::String(x), Json::String(y)) => x == y,
        _ => match (num(a), num(b)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
    }
}

/// Append `items` to `list`, skipping any already present (`if pid not in ids`).
pub fn extend_unique(list: &mut Vec<Json>, items: Vec<Json>) {
    for item in items {
        if !list.iter().any(|x| py_eq(x, &item)) {
            list.push(item);
        }
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
        let id = py_str(task_id);
        Action::cli_hint(
            format!("Check logs: hermes kanban log {id}"),
            format!("hermes kanban log {id}"),
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

    #[test]
    fn python_equality_merges_numbers_and_bools() {
        assert!(py_eq(&json!(1), &json!(1.0)));
        assert!(py_eq(&json!(true), &json!(1)));
        assert!(!py_eq(&json!("1"), &json!(1)));
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
    pub ids: Vec<Json>,
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
                    ids: Vec::new(),
                    failure: None,
                })
            });
            hits.count += 1;
            hits.last_ts = ts;
            if hits.failure.is_none() {
                match ev.payload_object().and_then(|p| iter_ids(&p, key)) {
                    Ok(ids) => extend_unique(&mut hits.ids, ids),
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
