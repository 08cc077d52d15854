//! Helpers for the rules' unit tests: hand a rule rows the way the engine does.

use super::{EventRow, PayloadMode, Rule, RunRow};
use crate::py::value::Value;

fn text_or_null(text: Option<&str>) -> Value {
    text.map_or(Value::Null, |t| Value::Text(t.into()))
}

/// Fold one `task_events` row into `state`, as the fleet scan hands it over: the payload
/// cell's text, or NULL.
pub fn event<R: Rule>(
    state: &mut R::State,
    params: &R::Params,
    kind: &str,
    ts: i64,
    payload: Option<&str>,
) {
    let (kind, created_at, payload) = (
        Value::Text(kind.into()),
        Value::Int(ts),
        text_or_null(payload),
    );
    let ev = EventRow {
        kind: &kind,
        created_at: &created_at,
        payload: &payload,
        mode: PayloadMode::Fleet,
    };
    R::on_event(state, &ev, params);
}

/// A fresh state with `events` (kind, timestamp; no payloads) folded in, in order.
pub fn events<R: Rule>(params: &R::Params, events: &[(&str, i64)]) -> R::State {
    let mut state = R::State::default();
    for &(kind, ts) in events {
        event::<R>(&mut state, params, kind, ts, None);
    }
    state
}

/// A fresh state with `runs` (outcome, error) folded in, in order.
pub fn runs<R: Rule>(params: &R::Params, runs: &[(&str, Option<&str>)]) -> R::State {
    let mut state = R::State::default();
    for &(outcome, error) in runs {
        let (outcome, error) = (Value::Text(outcome.into()), text_or_null(error));
        let run = RunRow {
            outcome: &outcome,
            error: &error,
        };
        R::on_run(&mut state, &run, params);
    }
    state
}
