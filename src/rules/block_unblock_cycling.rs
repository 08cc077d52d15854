//! The `block_unblock_cycling` rule. [`BlockUnblockCycling`] carries its documentation.

use std::fmt;

use super::support::{FIRES_WHY, counted, failure_why, invalid_setting_why, number_setting};
use super::{Action, Diagnostic, EventRow, Rule, RuleDoc, Severity, TaskRow, declare_rule};
use crate::config::{DiagConfig, positive_int};
use crate::py::int::Int;
use crate::py::object::Object;
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
    /// Exact, or the `OverflowError` an infinite setting raises.
    threshold: Result<Int, RuleFailure>,
    window: Result<f64, RuleFailure>,
    cutoff: f64,
}

#[derive(Debug, Default)]
pub struct State {
    cycles: i64,
    unblocked_since_cycle: bool,
    first_blocked: Int,
    last_cycle_blocked: Int,
    failure: bool,
}

/// Why the rule stays quiet for a task: too few cycles in the window.
struct BelowThreshold {
    cycles: i64,
    threshold: Int,
    window: f64,
}

impl fmt::Display for BelowThreshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} within the last {} s, below the cycle threshold {}",
            counted(self.cycles, "block→unblock cycle", "block→unblock cycles"),
            self.window,
            self.threshold
        )
    }
}

/// Whether the task cycled often enough within `window` seconds; `Err` where the reference
/// raises reading a timestamp.
fn check(
    s: &State,
    threshold: Int,
    window: f64,
) -> Result<Result<(), BelowThreshold>, RuleFailure> {
    if s.failure {
        return Err(RuleFailure("unreadable event timestamp"));
    }
    if Int::Small(s.cycles) < threshold {
        return Ok(Err(BelowThreshold {
            cycles: s.cycles,
            threshold,
            window,
        }));
    }
    Ok(Ok(()))
}

impl Rule for BlockUnblockCycling {
    const DOC: RuleDoc = DOC;
    type Params = Params;
    type State = State;

    fn params(cfg: &DiagConfig, now: i64) -> Params {
        let window = number_setting(
            cfg.get("block_cycle_window_seconds"),
            86400.0,
            Object::py_float,
            "block_cycle_window_seconds is not a number",
        );
        Params {
            threshold: positive_int(cfg.get("block_cycle_threshold"), 3)
                .map_err(|_| RuleFailure("block_cycle_threshold is infinite")),
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
        // `ts < now - window`: an int against a float, compared exactly.
        if ts.lt_f64(p.cutoff) {
            return;
        }
        if ev.kind_is("blocked") {
            if s.first_blocked == 0 {
                s.first_blocked = ts.clone();
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
        let threshold = p.threshold.clone()?;
        let window = p.window.clone()?;
        if check(s, threshold, window)?.is_err() {
            return Ok(None);
        }
        let out_of_range = RuleFailure("window out of range");
        let hours = Int::from_f64(window / 3600.0).ok_or(out_of_range.clone())?;
        let window_int = Int::from_f64(window).ok_or(out_of_range)?;
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
        let or_now = |t: &Int| if *t != 0 { t.clone() } else { Int::Small(now) };
        Ok(Some(
            Diagnostic::new(
                Self::KIND,
                Severity::Warning,
                format!("Task block→unblock cycled {}x in {hours}h", s.cycles),
                detail,
            )
            .actions(check_reasons)
            .seen(or_now(&s.first_blocked), or_now(&s.last_cycle_blocked))
            .count(s.cycles)
            .data("cycles", s.cycles)
            .data("window_seconds", window_int),
        ))
    }

    fn why_not(_: &TaskRow, s: &State, p: &Params, _: i64) -> String {
        let (threshold, window) = match (&p.threshold, &p.window) {
            (Ok(t), Ok(w)) => (t.clone(), *w),
            (Err(e), _) | (_, Err(e)) => return invalid_setting_why(e),
        };
        match check(s, threshold, window) {
            Ok(Err(quiet)) => quiet.to_string(),
            Ok(Ok(())) => FIRES_WHY.into(),
            Err(e) => failure_why(&e),
        }
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
        assert_eq!(
            (d.first_seen_at, d.last_seen_at),
            (Int::Small(10), Int::Small(16))
        );
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

    /// What `evaluate` returns, and what `why_not` says.
    fn why(
        cfg: &DiagConfig,
        events: &[(&str, i64)],
        now: i64,
    ) -> (Result<Option<Diagnostic>, RuleFailure>, String) {
        let p = BlockUnblockCycling::params(cfg, now);
        let s = testing::events::<BlockUnblockCycling>(&p, events);
        let task = TaskRow::default();
        (
            BlockUnblockCycling::evaluate(&task, &s, &p, now),
            BlockUnblockCycling::why_not(&task, &s, &p, now),
        )
    }

    #[test]
    fn why_not_counts_the_cycles_in_the_window_against_the_threshold() {
        let cfg = DiagConfig::default();
        let ev = [
            ("blocked", 10),
            ("unblocked", 11),
            ("blocked", 12),
            ("unblocked", 13),
            ("blocked", 14),
        ];
        assert_eq!(
            why(&cfg, &ev, 100),
            (
                Ok(None),
                "2 block→unblock cycles within the last 86400 s, below the cycle threshold 3"
                    .into()
            )
        );
        // The cycle at 12 falls outside the window.
        assert_eq!(
            why(&cfg, &ev, 86400 + 13),
            (
                Ok(None),
                "1 block→unblock cycle within the last 86400 s, below the cycle threshold 3".into()
            )
        );
    }

    #[test]
    fn why_not_names_an_unreadable_window_setting() {
        let cfg = DiagConfig::from_yaml(
            "kanban: {diagnostics: {block_cycle_window_seconds: day}}",
            crate::config::Defaults::Unified,
        );
        let (evaluated, why_not) = why(&cfg, &[], 100);
        assert!(evaluated.is_err());
        assert_eq!(
            why_not,
            "the threshold setting is invalid: block_cycle_window_seconds is not a number"
        );
    }
}
