//! Pieces several rules share, each reproducing one behaviour of the reference exactly.

use std::hash::{BuildHasher, Hasher, RandomState};

use hashbrown::hash_table::{Entry, HashTable};

use super::{Action, PayloadMode};
use crate::config::DiagConfig;
use crate::py;
use crate::py::int::Int;
use crate::py::object::{Dict, Object};
use crate::py::value::{RuleFailure, Value};

/// The payload of an event as a dictionary, following `_parse_payload` for both ways the
/// reference hands events to the rules.
pub fn payload_object(cell: &Value, mode: PayloadMode) -> Result<Dict, RuleFailure> {
    let not_a_dict = RuleFailure("event payload is JSON but not an object");
    // A decoded payload that is a string is decoded once more, then must be an object.
    let from_text = |text: &str| -> Result<Dict, RuleFailure> {
        match py::json::loads(text) {
            None => Ok(Dict::default()),
            Some(Object::Dict(m)) => Ok(*m),
            Some(v) if !v.truthy() => Ok(Dict::default()),
            Some(_) => Err(not_a_dict.clone()),
        }
    };
    match mode {
        PayloadMode::Fleet => match cell {
            Value::Text(t) => from_text(t),
            _ => Ok(Dict::default()),
        },
        PayloadMode::SingleTask => {
            if !cell.truthy() {
                return Ok(Dict::default());
            }
            let parsed = match cell {
                Value::Text(t) => py::json::loads(t),
                // `json.loads(bytes)` detects UTF-16 and UTF-32 as well as UTF-8.
                Value::Blob(b) => py::json::loads_bytes(b),
                _ => None,
            };
            match parsed {
                Some(Object::Dict(m)) => Ok(*m),
                Some(Object::Str(s)) => from_text(&s),
                _ => Ok(Dict::default()),
            }
        }
    }
}

/// Iterate `payload.get(key, []) or []` the way a Python `for` loop would: a list yields
/// its items, a string its characters, a dict its keys; other truthy values raise.
pub fn iter_ids(payload: &Dict, key: &str) -> Result<Vec<Object>, RuleFailure> {
    match payload.get(key) {
        None => Ok(Vec::new()),
        Some(v) if !v.truthy() => Ok(Vec::new()),
        Some(Object::List(items)) => Ok(items.clone()),
        Some(Object::Str(s)) => Ok(s.chars().map(|c| Object::Str(c.to_string())).collect()),
        Some(Object::Dict(m)) => Ok(m.keys().map(|k| Object::Str(k.clone())).collect()),
        Some(_) => Err(RuleFailure("phantom id list is not iterable")),
    }
}

/// A list built the way `if x not in xs: xs.append(x)` builds it, in linear time.
///
/// Python's `in` is `x is e or x == e`, which for decoded objects is
/// [`Object::py_eq`] (see there for NaN). Alongside the items, a table of their positions
/// keyed by [`Object::py_hash`] finds the candidates, and `py_eq` confirms them: one hash
/// and a few comparisons per item instead of a scan of the list (a payload of 200k ids
/// took minutes), and no second copy of the ids.
#[derive(Debug, Default)]
pub struct UniqueList {
    items: Vec<Object>,
    positions: HashTable<usize>,
    hasher: RandomState,
}

impl UniqueList {
    /// Append `items`, skipping any already present.
    pub fn extend(&mut self, items: Vec<Object>) {
        let hash_of = |v: &Object| {
            let mut h = self.hasher.build_hasher();
            v.py_hash(&mut h);
            h.finish()
        };
        for item in items {
            let list = &self.items;
            let entry = self.positions.entry(
                hash_of(&item),
                |&i| list[i].py_eq(&item),
                |&i| hash_of(&list[i]),
            );
            if let Entry::Vacant(slot) = entry {
                slot.insert(self.items.len());
                self.items.push(item);
            }
        }
    }

    /// The items in the order they were first seen.
    pub fn items(&self) -> &[Object] {
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
    let text = py::strip(text);
    if text.is_empty() {
        return Ok(None);
    }
    let mut snippet = py::take_chars(text, 500).to_string();
    if py::char_len(text) > 500 {
        snippet.push('…');
    }
    Ok(Some(snippet))
}

/// The first line of an excerpt, cut at 160 code points, for a title.
pub fn title_line(snippet: &str) -> &str {
    py::take_chars(py::first_line(snippet).unwrap_or(""), 160)
}

/// A number setting read as the reference reads it, `int(cfg.get(key, default))` or
/// `float(…)`: the default when the key is absent, else `parse` ([`int`] or
/// [`Object::py_float`]) of the value, or `why` where Python's conversion raises. The rule
/// then fails, as in Hermes, for every task it gets as far as reading the setting for.
pub fn number_setting<T>(
    value: Option<&Object>,
    default: T,
    parse: fn(&Object) -> Option<T>,
    why: &'static str,
) -> Result<T, RuleFailure> {
    value.map_or(Ok(default), |v| parse(v).ok_or(RuleFailure(why)))
}

/// Python's `int(x)` of a setting, exact; `None` where it raises (any exception).
pub fn int(v: &Object) -> Option<Int> {
    v.py_int_exact().ok()
}

/// The failure threshold as set, under its name or its old one (`spawn_failure_threshold`):
/// `cfg.get("failure_threshold", cfg.get("spawn_failure_threshold", …))`.
pub fn failure_threshold_setting(cfg: &DiagConfig) -> Option<&Object> {
    cfg.get("failure_threshold")
        .or(cfg.get("spawn_failure_threshold"))
}

/// Seconds from `since` to `now`, exactly: Python's integers do not overflow.
pub fn age_seconds(now: i64, since: &Int) -> Int {
    Int::Small(now).sub(since)
}

/// Hours from `since` to `now`, as the reference's `(now - since) / 3600.0` computes them:
/// the exact difference rounded to a float, then divided. `Err` where the difference is too
/// large for a float (Python's `OverflowError`).
pub fn age_hours(now: i64, since: &Int) -> Result<f64, RuleFailure> {
    let seconds = age_seconds(now, since)
        .to_f64()
        .ok_or(RuleFailure("age too large for a float"))?;
    Ok(seconds / 3600.0)
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
            format!("hermes kanban log {}", task_id.py_str()),
        )
        .suggested()
    })
}

/// `n` with the noun that agrees with it: `1 crash`, `2 crashes`.
pub fn counted(n: i64, one: &str, many: &str) -> String {
    let noun = if n == 1 { one } else { many };
    format!("{n} {noun}")
}

/// A status, assignee or other board text as a `why_not` sentence shows it: `str()` of it,
/// as reports show statuses, or its `repr()` where that would leave a blank in the sentence.
pub fn shown(v: &Value) -> String {
    match v {
        Value::Text(t) if py::strip(t).is_empty() => py::str_repr(t),
        v => v.py_str(),
    }
}

/// `why_not` for a task exempt from the failure rules (see [`TaskRow::failure_exempt`]).
///
/// [`TaskRow::failure_exempt`]: super::TaskRow::failure_exempt
pub fn failure_exempt_why(status: &Value) -> String {
    format!(
        "status {} is exempt (done, archived and running tasks are)",
        shown(status)
    )
}

/// `why_not` where a threshold setting Python cannot read stops the rule. `explain` asks only
/// about tasks a rule stays quiet for, so it never shows this, but the answer stays true.
pub fn invalid_setting_why(e: &RuleFailure) -> String {
    format!("the threshold setting is invalid: {}", e.0)
}

/// `why_not` where reading the task's rows stops the rule (never shown, as above).
pub fn failure_why(e: &RuleFailure) -> String {
    format!("it cannot be evaluated: {}", e.0)
}

/// `why_not` where the rule's checks all pass, so it fires (never shown, as above).
pub const FIRES_WHY: &str = "its conditions are met, so it fires";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fleet_payload_raises_on_truthy_non_objects_only() {
        let t = |s: &str| Value::Text(s.into());
        assert!(payload_object(&t("[1]"), PayloadMode::Fleet).is_err());
        assert!(payload_object(&t("\"x\""), PayloadMode::Fleet).is_err());
        assert_eq!(
            payload_object(&t("[]"), PayloadMode::Fleet),
            Ok(Dict::default())
        );
        assert_eq!(
            payload_object(&t("null"), PayloadMode::Fleet),
            Ok(Dict::default())
        );
        assert_eq!(
            payload_object(&t("{bad"), PayloadMode::Fleet),
            Ok(Dict::default())
        );
        assert_eq!(
            payload_object(&Value::Int(5), PayloadMode::Fleet),
            Ok(Dict::default())
        );
    }

    #[test]
    fn single_task_payload_tolerates_lists() {
        let t = |s: &str| Value::Text(s.into());
        assert_eq!(
            payload_object(&t("[1]"), PayloadMode::SingleTask),
            Ok(Dict::default())
        );
        assert!(payload_object(&t("\"[1]\""), PayloadMode::SingleTask).is_err());
    }

    #[test]
    fn blob_payloads_are_objects_in_task_mode_only() {
        // What `list_events` does with a UTF-16 blob: `json.loads(bytes)` decodes it.
        let utf16: Vec<u8> = "\u{feff}{\"phantom_cards\": [\"t_1\"]}"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let blob = Value::Blob(utf16);
        let single = payload_object(&blob, PayloadMode::SingleTask).unwrap();
        assert_eq!(
            single.get("phantom_cards"),
            Some(&Object::List(vec![Object::Str("t_1".into())]))
        );
        // The fleet query hands the rule bytes, which `_parse_payload` ignores.
        assert_eq!(
            payload_object(&blob, PayloadMode::Fleet),
            Ok(Dict::default())
        );
        // Undecodable bytes are no payload.
        let odd = Value::Blob(b"{\x00}\x00}".to_vec());
        assert_eq!(
            payload_object(&odd, PayloadMode::SingleTask),
            Ok(Dict::default())
        );
    }

    /// The items of a JSON list, decoded as `json.loads` decodes them.
    fn decoded(text: &str) -> Vec<Object> {
        match py::json::loads(text) {
            Some(Object::List(items)) => items,
            other => panic!("{text} is not a list: {other:?}"),
        }
    }

    /// `if x not in xs: xs.append(x)` over the decoded items, as `json.dumps` prints it.
    fn unique(text: &str) -> String {
        let mut list = UniqueList::default();
        list.extend(decoded(text));
        py::json::to_string_compact(&list.items())
    }

    #[test]
    fn unique_list_keeps_the_first_of_each_python_equal_group() {
        let mut list = UniqueList::default();
        list.extend(decoded(
            r#"["t_a", 1, 1.0, true, "1", 9007199254740993, 9007199254740992.0, {"x": 1, "y": 2}]"#,
        ));
        list.extend(decoded(
            r#"[{"y": 2.0, "x": true}, "t_a", 9007199254740992, null, null]"#,
        ));
        assert_eq!(
            py::json::to_string_compact(&list.items()),
            r#"["t_a", 1, "1", 9007199254740993, 9007199254740992.0, {"x": 1, "y": 2}, null]"#
        );
    }

    #[test]
    fn unique_list_compares_ints_beyond_64_bits_exactly() {
        // Each checked against python3 on json.loads of the same text.
        assert_eq!(
            unique("[9007199254740993, 9007199254740992.0]"),
            "[9007199254740993, 9007199254740992.0]"
        );
        assert_eq!(
            unique("[9223372036854775807, 9223372036854775808]"),
            "[9223372036854775807, 9223372036854775808]"
        );
        assert_eq!(
            unique("[9223372036854775808, 9223372036854775808.0, 1e400, Infinity]"),
            "[9223372036854775808, Infinity]"
        );
        assert_eq!(
            unique("[123456789012345678901234567890, 123456789012345678901234567891]"),
            "[123456789012345678901234567890, 123456789012345678901234567891]"
        );
        assert_eq!(
            unique("[123456789012345678901234567890, 1.2345678901234568e+29]"),
            "[123456789012345678901234567890, 1.2345678901234568e+29]"
        );
    }

    #[test]
    fn unique_list_keeps_one_nan_because_json_loads_returns_one_nan_object() {
        // `json.decoder.NaN` is a single object, and `in` checks identity first.
        assert_eq!(
            unique("[NaN, NaN, [NaN], [NaN], {\"k\": NaN}, {\"k\": NaN}, -Infinity]"),
            "[NaN, [NaN], {\"k\": NaN}, -Infinity]"
        );
    }

    #[test]
    fn unique_list_handles_hundreds_of_thousands_of_ids() {
        // A quadratic scan took minutes here; the table makes it one pass.
        let ids: Vec<Object> = (0..200_000)
            .map(|i| Object::Str(format!("t_{i:08x}")))
            .collect();
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
pub struct ActiveHits {
    /// Boxed and absent until the task's first event of the kind, as most tasks never have
    /// one: every task's state holds this, so it costs one pointer.
    log: Option<Box<HitsLog>>,
}

#[derive(Debug, Default)]
struct HitsLog {
    active: Option<Hits>,
    /// How many events of the kind the task has had, active or cleared, for `why_none`.
    seen: i64,
}

#[derive(Debug)]
pub struct Hits {
    pub count: i64,
    pub first_ts: Result<Int, RuleFailure>,
    pub last_ts: Result<Int, RuleFailure>,
    pub ids: UniqueList,
    pub failure: Option<RuleFailure>,
}

impl ActiveHits {
    pub fn on_event(&mut self, ev: &super::EventRow<'_>, kind: &str, key: &str) {
        if ev.kind_is("completed") || ev.kind_is("edited") {
            if let Some(log) = &mut self.log {
                log.active = None;
            }
        } else if ev.kind_is(kind) {
            let log = self.log.get_or_insert_with(Box::default);
            log.seen = log.seen.saturating_add(1);
            let ts = ev.ts();
            let hits = log.active.get_or_insert_with(|| Hits {
                count: 0,
                first_ts: ts.clone(),
                last_ts: Ok(Int::Small(0)),
                ids: UniqueList::default(),
                failure: None,
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
    pub fn get(&self) -> Result<Option<(&Hits, Int, Int)>, RuleFailure> {
        let Some(h) = self.log.as_ref().and_then(|l| l.active.as_ref()) else {
            return Ok(None);
        };
        let first = h.first_ts.clone()?;
        let last = h.last_ts.clone()?;
        if let Some(f) = &h.failure {
            return Err(f.clone());
        }
        Ok(Some((h, first, last)))
    }

    /// Why there are no active hits of `kind`, for `why_not`: there were none, or a later
    /// `completed` or `edited` event cleared them.
    pub fn why_none(&self, kind: &str) -> String {
        match self.log.as_ref().map_or(0, |l| l.seen) {
            0 => format!("no {kind} events"),
            n => format!(
                "a later completed or edited event cleared its {}",
                counted(n, &format!("{kind} event"), &format!("{kind} events"))
            ),
        }
    }
}
