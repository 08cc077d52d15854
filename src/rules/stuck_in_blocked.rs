//! The `stuck_in_blocked` rule. [`StuckInBlocked`] carries its documentation.

use std::fmt;

use super::support::{
    FIRES_WHY, age_hours, failure_why, invalid_setting_why, number_setting, shown,
};
use super::{Action, Diagnostic, EventRow, Rule, RuleDoc, Severity, TaskRow, declare_rule};
use crate::config::DiagConfig;
use crate::py::int::Int;
use crate::py::object::Object;
use crate::py::round1;
use crate::py::value::{RuleFailure, Value};

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
    last_blocked: Int,
    blocked_failure: bool,
    /// Newest `commented`/`unblocked` timestamp before the first unreadable one: the
    /// reference scans these in order and raises at an unreadable timestamp unless an
    /// earlier event already answered the block.
    answered_max: Option<Int>,
    answer_failure: bool,
}

/// Why the rule stays quiet for a task, in the order `evaluate` checks.
enum Quiet<'t> {
    NotBlocked(&'t Value),
    NoBlockedEvent,
    BelowThreshold { age_hours: f64, hours: f64 },
    Answered { at: &'t Int, blocked_at: &'t Int },
}

impl fmt::Display for Quiet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Quiet::NotBlocked(status) => write!(f, "status {} is not blocked", shown(status)),
            Quiet::NoBlockedEvent => f.write_str("no blocked event with a positive timestamp"),
            // Rounded down, so that an age just short of the threshold never reads as it.
            Quiet::BelowThreshold { age_hours, hours } => write!(
                f,
                "blocked for {:.1} h, below the {hours} h threshold",
                (age_hours * 10.0).floor() / 10.0
            ),
            Quiet::Answered { at, blocked_at } => write!(
                f,
                "a commented or unblocked event at {at} answered the block at {blocked_at}"
            ),
        }
    }
}

/// The block's age in hours when it is stale and unanswered, or why the rule stays quiet;
/// `Err` where the reference raises reading a timestamp.
fn check<'t>(
    task: &'t TaskRow,
    s: &'t State,
    hours: f64,
    now: i64,
) -> Result<Result<f64, Quiet<'t>>, RuleFailure> {
    if !task.status_is("blocked") {
        return Ok(Err(Quiet::NotBlocked(&task.status)));
    }
    if s.blocked_failure {
        return Err(RuleFailure("unreadable blocked event timestamp"));
    }
    if s.last_blocked == 0 {
        return Ok(Err(Quiet::NoBlockedEvent));
    }
    let age_hours = age_hours(now, &s.last_blocked)?;
    if age_hours < hours {
        return Ok(Err(Quiet::BelowThreshold { age_hours, hours }));
    }
    if let Some(at) = s.answered_max.as_ref().filter(|t| **t > s.last_blocked) {
        return Ok(Err(Quiet::Answered {
            at,
            blocked_at: &s.last_blocked,
        }));
    }
    if s.answer_failure {
        return Err(RuleFailure("unreadable comment event timestamp"));
    }
    Ok(Ok(age_hours))
}

impl Rule for StuckInBlocked {
    const DOC: RuleDoc = DOC;
    type Params = Result<f64, RuleFailure>;
    type State = State;

    fn params(cfg: &DiagConfig, _: i64) -> Self::Params {
        number_setting(
            cfg.get("blocked_stale_hours"),
            24.0,
            Object::py_float,
            "blocked_stale_hours is not a number",
        )
    }

    fn on_event(s: &mut State, ev: &EventRow<'_>, _: &Self::Params) {
        if ev.kind_is("blocked") {
            match ev.ts() {
                Ok(t) if t > s.last_blocked => s.last_blocked = t,
                Ok(_) => {}
                Err(_) => s.blocked_failure = true,
            }
        } else if (ev.kind_is("commented") || ev.kind_is("unblocked")) && !s.answer_failure {
            match ev.ts() {
                Ok(t) if s.answered_max.as_ref().is_none_or(|m| t > *m) => {
                    s.answered_max = Some(t);
                }
                Ok(_) => {}
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
        let Ok(age_hours) = check(task, s, hours, now)? else {
            return Ok(None);
        };
        let whole = Int::from_f64(age_hours).ok_or(RuleFailure("age out of range"))?;
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
            .seen_at(s.last_blocked.clone())
            .data("blocked_at", s.last_blocked.clone())
            .data("age_hours", round1(age_hours)),
        ))
    }

    fn why_not(task: &TaskRow, s: &State, hours: &Self::Params, now: i64) -> String {
        let hours = match hours {
            Ok(h) => *h,
            Err(e) => return invalid_setting_why(e),
        };
        match check(task, s, hours, now) {
            Ok(Err(quiet)) => quiet.to_string(),
            Ok(Ok(_)) => FIRES_WHY.into(),
            Err(e) => failure_why(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

    fn why(status: &str, events: &[(&str, i64)], now: i64) -> String {
        let p = StuckInBlocked::params(&DiagConfig::default(), now);
        let s = testing::events::<StuckInBlocked>(&p, events);
        let task = TaskRow {
            status: Value::Text(status.into()),
            ..TaskRow::default()
        };
        assert_eq!(StuckInBlocked::evaluate(&task, &s, &p, now), Ok(None));
        StuckInBlocked::why_not(&task, &s, &p, now)
    }

    #[test]
    fn why_not_shows_the_age_against_the_threshold_rounded_down() {
        assert_eq!(
            why("blocked", &[("blocked", 1000)], 1000 + 5400),
            "blocked for 1.5 h, below the 24 h threshold"
        );
        // 23.99 h must not read as 24.0 h.
        assert_eq!(
            why("blocked", &[("blocked", 1000)], 1000 + 24 * H - 36),
            "blocked for 23.9 h, below the 24 h threshold"
        );
    }

    #[test]
    fn why_not_names_the_status_the_missing_block_or_the_answer() {
        assert_eq!(
            why("ready", &[("blocked", 1000)], 1000 + 48 * H),
            "status ready is not blocked"
        );
        assert_eq!(
            why("blocked", &[], 1000 + 48 * H),
            "no blocked event with a positive timestamp"
        );
        assert_eq!(
            why(
                "blocked",
                &[("blocked", 1000), ("unblocked", 1001), ("commented", 1002)],
                1000 + 48 * H
            ),
            "a commented or unblocked event at 1002 answered the block at 1000"
        );
    }

    #[test]
    fn why_not_names_an_unreadable_threshold_setting() {
        let cfg = DiagConfig::from_yaml(
            "kanban: {diagnostics: {blocked_stale_hours: soon}}",
            crate::config::Defaults::Unified,
        );
        let p = StuckInBlocked::params(&cfg, 0);
        assert_eq!(
            StuckInBlocked::why_not(&TaskRow::default(), &State::default(), &p, 0),
            "the threshold setting is invalid: blocked_stale_hours is not a number"
        );
    }
}
