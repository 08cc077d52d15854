//! The `stuck_in_blocked` rule. [`StuckInBlocked`] carries its documentation.

use super::support::{age_hours, number_setting};
use super::{Action, Diagnostic, EventRow, Rule, RuleDoc, Severity, TaskRow, declare_rule};
use crate::config::DiagConfig;
use crate::py::json::py_float;
use crate::py::value::RuleFailure;
use crate::py::{float_to_int, round1};

declare_rule! {
    /// ## What it does
    /// For tasks in `blocked`, takes the newest `blocked` event and fires when it is at least
    /// `kanban.diagnostics.blocked_stale_hours` old and no `commented` or `unblocked` event came after it.
    ///
    /// ## Why is this bad?
    /// Blocked tasks wait for a human. One that sits without a comment or an unblock is work
    /// the board has silently stopped doing.
    ///
    /// ## Severity and thresholds
    /// Always `warning`, from `kanban.diagnostics.blocked_stale_hours` (default 24) on;
    /// `age_hours` is rounded to one decimal the way Python's `round()` does (ties to even on
    /// the exact value).
    ///
    /// ## Suggested actions
    /// Add a comment or unblock the task.
    pub struct StuckInBlocked;
    kind: "stuck_in_blocked",
    summary: "A blocked task nobody has answered",
    severities: [Warning],
    config_keys: [
        "kanban.diagnostics.blocked_stale_hours",
    ],
}

/// What the rule remembers of a task's events.
#[derive(Debug, Default)]
pub struct State {
    /// Newest `blocked` timestamp (0 when none).
    last_blocked: i64,
    blocked_failure: bool,
    /// Newest `commented`/`unblocked` timestamp before the first unreadable one: the
    /// reference scans these in order and raises at an unreadable timestamp unless an
    /// earlier event already answered the block.
    answered_max: Option<i64>,
    answer_failure: bool,
}

impl Rule for StuckInBlocked {
    const DOC: RuleDoc = DOC;
    type Params = Result<f64, RuleFailure>;
    type State = State;

    fn params(cfg: &DiagConfig, _: i64) -> Self::Params {
        number_setting(
            cfg.get("blocked_stale_hours"),
            24.0,
            py_float,
            "blocked_stale_hours is not a number",
        )
    }

    fn on_event(s: &mut State, ev: &EventRow<'_>, _: &Self::Params) {
        if ev.kind_is("blocked") {
            match ev.ts() {
                Ok(t) => s.last_blocked = s.last_blocked.max(t),
                Err(_) => s.blocked_failure = true,
            }
        } else if (ev.kind_is("commented") || ev.kind_is("unblocked")) && !s.answer_failure {
            match ev.ts() {
                Ok(t) => s.answered_max = Some(s.answered_max.map_or(t, |m| m.max(t))),
                Err(_) => s.answer_failure = true,
            }
        }
    }

    fn evaluate(
        task: &TaskRow,
        s: &State,
        hours: &Self::Params,
        now: i64,
    ) -> Result<Option<Diagnostic>, RuleFailure> {
        let hours = hours.clone()?;
        if !task.status_is("blocked") {
            return Ok(None);
        }
        if s.blocked_failure {
            return Err(RuleFailure("unreadable blocked event timestamp"));
        }
        if s.last_blocked == 0 {
            return Ok(None);
        }
        let age_hours = age_hours(now, s.last_blocked);
        if age_hours < hours {
            return Ok(None);
        }
        if s.answered_max.is_some_and(|t| t > s.last_blocked) {
            return Ok(None);
        }
        if s.answer_failure {
            return Err(RuleFailure("unreadable comment event timestamp"));
        }
        let whole = float_to_int(age_hours).ok_or(RuleFailure("age out of range"))?;
        let detail = format!(
            "This task transitioned to blocked {whole}h ago and has had no comments or unblock \
             attempts since. Blocked tasks are waiting for human input — check the block reason and \
             either unblock with feedback or answer with a comment."
        );
        Ok(Some(
            Diagnostic::new(
                Self::KIND,
                Severity::Warning,
                format!("Task has been blocked for {whole}h"),
                detail,
            )
            .actions([Action::new("comment", "Add a comment / unblock the task").suggested()])
            .seen_at(s.last_blocked)
            .data("blocked_at", s.last_blocked)
            .data("age_hours", round1(age_hours)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::py::value::Value;
    use crate::rules::testing;

    const H: i64 = 3600;

    fn run(events: &[(&str, i64)], now: i64) -> Option<Diagnostic> {
        let p = StuckInBlocked::params(&DiagConfig::default(), now);
        let s = testing::events::<StuckInBlocked>(&p, events);
        let task = TaskRow {
            status: Value::Text("blocked".into()),
            ..TaskRow::default()
        };
        StuckInBlocked::evaluate(&task, &s, &p, now).unwrap()
    }

    #[test]
    fn fires_at_exactly_the_threshold_but_not_a_second_before() {
        assert!(run(&[("blocked", 1000)], 1000 + 24 * H).is_some());
        assert!(run(&[("blocked", 1000)], 1000 + 24 * H - 1).is_none());
    }

    #[test]
    fn a_later_comment_answers_the_block() {
        assert!(run(&[("blocked", 1000), ("commented", 1001)], 1000 + 48 * H).is_none());
        assert!(run(&[("commented", 999), ("blocked", 1000)], 1000 + 48 * H).is_some());
    }

    #[test]
    fn age_rounds_half_to_even() {
        let d = run(&[("blocked", 1000)], 1000 + 24 * H + 900).unwrap();
        assert_eq!(d.data["age_hours"], serde_json::json!(24.2));
        assert_eq!(d.title, "Task has been blocked for 24h");
    }
}
