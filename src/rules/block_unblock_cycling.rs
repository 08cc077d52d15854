//! The `block_unblock_cycling` rule. [`BlockUnblockCycling`] carries its documentation.

use super::support::number_setting;
use super::{Action, Diagnostic, EventRow, Rule, RuleDoc, Severity, TaskRow, declare_rule};
use crate::config::{DiagConfig, positive_int};
use crate::py::float_to_int;
use crate::py::json::py_float;
use crate::py::value::RuleFailure;

declare_rule! {
    /// ## What it does
    /// Walks the task's events in arrival order within a sliding window (the last
    /// `block_cycle_window_seconds`) and counts a cycle each time a `blocked` event follows at
    /// least one `unblocked` event since the previous cycle.
    ///
    /// ## Why is this bad?
    /// `stuck_in_blocked` resets on every comment or unblock, so a task that is unblocked and
    /// re-blocks every few minutes never looks stale. Repeated cycles mean the worker keeps
    /// hitting the same wall and the unblock is not addressing the cause (Hermes #29747).
    ///
    /// ## Severity and thresholds
    /// Always `warning`, at `kanban.diagnostics.block_cycle_threshold` (default 3) cycles
    /// within `kanban.diagnostics.block_cycle_window_seconds` (default 86400).
    ///
    /// ## Suggested actions
    /// Review the block reasons: `hermes kanban events <task>`.
    pub struct BlockUnblockCycling;
    kind: "block_unblock_cycling",
    summary: "Unblocking keeps not fixing it",
    severities: [Warning],
    config_keys: [
        "kanban.diagnostics.block_cycle_threshold",
        "kanban.diagnostics.block_cycle_window_seconds",
    ],
}

pub struct Params {
    threshold: i64,
    window: Result<f64, RuleFailure>,
    cutoff: f64,
}

#[derive(Debug, Default)]
pub struct State {
    cycles: i64,
    unblocked_since_cycle: bool,
    first_blocked: i64,
    last_cycle_blocked: i64,
    failure: bool,
}

impl Rule for BlockUnblockCycling {
    const DOC: RuleDoc = DOC;
    type Params = Params;
    type State = State;

    fn params(cfg: &DiagConfig, now: i64) -> Params {
        let window = number_setting(
            cfg.get("block_cycle_window_seconds"),
            86400.0,
            py_float,
            "block_cycle_window_seconds is not a number",
        );
        Params {
            threshold: positive_int(cfg.get("block_cycle_threshold"), 3),
            cutoff: window.as_ref().map_or(0.0, |w| now as f64 - w),
            window,
        }
    }

    fn on_event(s: &mut State, ev: &EventRow<'_>, p: &Params) {
        if s.failure {
            return;
        }
        let Ok(ts) = ev.ts() else {
            // The reference reads every event's timestamp and raises on this one.
            s.failure = true;
            return;
        };
        if (ts as f64) < p.cutoff {
            return;
        }
        if ev.kind_is("blocked") {
            if s.first_blocked == 0 {
                s.first_blocked = ts;
            }
            if s.unblocked_since_cycle {
                s.cycles += 1;
                s.last_cycle_blocked = ts;
                s.unblocked_since_cycle = false;
            }
        } else if ev.kind_is("unblocked") {
            s.unblocked_since_cycle = true;
        }
    }

    fn evaluate(
        task: &TaskRow,
        s: &State,
        p: &Params,
        now: i64,
    ) -> Result<Option<Diagnostic>, RuleFailure> {
        let window = p.window.clone()?;
        if s.failure {
            return Err(RuleFailure("unreadable event timestamp"));
        }
        if s.cycles < p.threshold {
            return Ok(None);
        }
        let out_of_range = RuleFailure("window out of range");
        let hours = float_to_int(window / 3600.0).ok_or(out_of_range.clone())?;
        let window_int = float_to_int(window).ok_or(out_of_range)?;
        let check_reasons = task.id.truthy().then(|| {
            Action::command(
                "Check block reasons",
                format!("hermes kanban events {}", task.id.py_str()),
            )
            .suggested()
        });
        let detail = format!(
            "This task has been blocked {} times after being unblocked, suggesting the unblock is not \
             addressing the root cause and the worker keeps hitting the same wall. Review the block \
             reasons in the event history; a different intervention (reassign, change scope, archive) \
             may be needed.",
            s.cycles
        );
        let or_now = |t: i64| if t != 0 { t } else { now };
        Ok(Some(
            Diagnostic::new(
                Self::KIND,
                Severity::Warning,
                format!("Task block→unblock cycled {}x in {hours}h", s.cycles),
                detail,
            )
            .actions(check_reasons)
            .seen(or_now(s.first_blocked), or_now(s.last_cycle_blocked))
            .count(s.cycles)
            .data("cycles", s.cycles)
            .data("window_seconds", window_int),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::py::value::Value;
    use crate::rules::testing;

    fn run(events: &[(&str, i64)], now: i64) -> Option<Diagnostic> {
        let p = BlockUnblockCycling::params(&DiagConfig::default(), now);
        let s = testing::events::<BlockUnblockCycling>(&p, events);
        let task = TaskRow {
            id: Value::Text("t_c".into()),
            ..TaskRow::default()
        };
        BlockUnblockCycling::evaluate(&task, &s, &p, now).unwrap()
    }

    #[test]
    fn three_cycles_fire_two_do_not() {
        let two = [
            ("blocked", 10),
            ("unblocked", 11),
            ("blocked", 12),
            ("unblocked", 13),
            ("blocked", 14),
        ];
        assert!(run(&two, 100).is_none());
        let three = [&two[..], &[("unblocked", 15), ("blocked", 16)]].concat();
        let d = run(&three, 100).unwrap();
        assert_eq!(d.title, "Task block→unblock cycled 3x in 24h");
        assert_eq!((d.first_seen_at, d.last_seen_at), (10, 16));
    }

    #[test]
    fn events_before_the_window_are_ignored() {
        let ev = [
            ("blocked", 0),
            ("unblocked", 1),
            ("blocked", 2),
            ("unblocked", 3),
            ("blocked", 4),
            ("unblocked", 5),
            ("blocked", 6),
        ];
        assert!(run(&ev, 86400 + 2).is_none());
        assert!(run(&ev, 86400).is_some());
    }
}
