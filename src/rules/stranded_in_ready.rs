//! The `stranded_in_ready` rule. [`StrandedInReady`] carries its documentation.

use std::fmt;

use super::support::{
    FIRES_WHY, age_seconds, failure_why, invalid_setting_why, number_setting, shown,
};
use super::{Action, Diagnostic, EventRow, Rule, RuleDoc, Severity, TaskRow, declare_rule};
use crate::config::DiagConfig;
use crate::py::int::Int;
use crate::py::object::Object;
use crate::py::value::{RuleFailure, Value};
use crate::py::{fmt_1f, str_repr, strip};

declare_rule! {
    /// ## What it does
    /// For unclaimed `ready` tasks with an assignee, finds when the task last became ready (the
    /// newest `created`, `promoted`, `reclaimed` or `unblocked` event, else the task's
    /// `created_at`) and fires once that is `stranded_threshold_seconds` ago.
    ///
    /// ## Why is this bad?
    /// It catches every "waiting for a worker that never comes" case without knowing why: a
    /// misspelt assignee, a deleted profile, an external worker pool that is down, a dispatcher
    /// pointed at another board. The dispatcher skips such tasks correctly, so nothing else
    /// surfaces them. Unassigned tasks are left to the dispatcher's own signal.
    ///
    /// ## Severity and thresholds
    /// From `kanban.diagnostics.stranded_threshold_seconds` (default 1800): `warning`; from
    /// twice that `error`; from six times `critical`. The age reads `2.2h` (one decimal, ties
    /// to even) from an hour on, whole minutes below.
    ///
    /// ## Suggested actions
    /// Reassign to a different worker; check the dispatcher.
    pub struct StrandedInReady;
    kind: "stranded_in_ready",
    summary: "A ready task that no worker ever claims",
    severities: [Warning, Error, Critical],
    config_keys: [
        "kanban.diagnostics.stranded_threshold_seconds",
    ],
}

#[derive(Debug, Default)]
pub struct State {
    last_ready: Int,
    failure: bool,
}

const READY_TRANSITIONS: [&str; 4] = ["created", "promoted", "reclaimed", "unblocked"];

/// Why the rule stays quiet for a task, in the order `evaluate` checks.
enum Quiet<'t> {
    NotReady(&'t Value),
    Claimed(&'t Value),
    NoAssignee,
    BlankAssignee(&'t str),
    NoReadySince,
    BelowThreshold { age: Int, threshold: f64 },
}

impl fmt::Display for Quiet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const LEFT: &str = "unassigned tasks are left to the dispatcher";
        match self {
            Quiet::NotReady(status) => write!(f, "status {} is not ready", shown(status)),
            Quiet::Claimed(lock) => write!(f, "it is claimed (claim_lock {})", shown(lock)),
            Quiet::NoAssignee => write!(f, "it has no assignee, and {LEFT}"),
            Quiet::BlankAssignee(a) => write!(f, "assignee {} is blank, and {LEFT}", str_repr(a)),
            Quiet::NoReadySince => f.write_str(
                "no created, promoted, reclaimed or unblocked event and no created_at to date it from",
            ),
            Quiet::BelowThreshold { age, threshold } => {
                write!(f, "ready for {age} s, below the {threshold} s threshold")
            }
        }
    }
}

/// What a stranded task is reported with: its assignee, since when it has been ready, and
/// for how many seconds.
struct Stranded<'t> {
    assignee: &'t str,
    since: Int,
    age: Int,
}

/// The stranded task's details, or why the rule stays quiet; `Err` where the reference
/// raises.
fn check<'t>(
    task: &'t TaskRow,
    s: &State,
    threshold: f64,
    now: i64,
) -> Result<Result<Stranded<'t>, Quiet<'t>>, RuleFailure> {
    if !task.status_is("ready") {
        return Ok(Err(Quiet::NotReady(&task.status)));
    }
    if task.claim_lock.truthy() {
        return Ok(Err(Quiet::Claimed(&task.claim_lock)));
    }
    let assignee = match &task.assignee {
        v if !v.truthy() => return Ok(Err(Quiet::NoAssignee)),
        Value::Text(a) => a.as_str(),
        _ => return Err(RuleFailure("assignee is not text")),
    };
    if strip(assignee).is_empty() {
        return Ok(Err(Quiet::BlankAssignee(assignee)));
    }
    if s.failure {
        return Err(RuleFailure("unreadable event timestamp"));
    }
    let since = if s.last_ready == 0 {
        task.created_at.int_or_zero()?
    } else {
        s.last_ready.clone()
    };
    if since == 0 {
        return Ok(Err(Quiet::NoReadySince));
    }
    // Python compares the exact int with the float threshold (against NaN, never below).
    let age = age_seconds(now, &since);
    if age.lt_f64(threshold) {
        return Ok(Err(Quiet::BelowThreshold { age, threshold }));
    }
    Ok(Ok(Stranded {
        assignee,
        since,
        age,
    }))
}

impl Rule for StrandedInReady {
    const DOC: RuleDoc = DOC;
    type Params = Result<f64, RuleFailure>;
    type State = State;

    fn params(cfg: &DiagConfig, _: i64) -> Self::Params {
        number_setting(
            cfg.get("stranded_threshold_seconds"),
            1800.0,
            Object::py_float,
            "stranded_threshold_seconds is not a number",
        )
    }

    fn on_event(s: &mut State, ev: &EventRow<'_>, _: &Self::Params) {
        if READY_TRANSITIONS.iter().any(|k| ev.kind_is(k)) {
            match ev.ts() {
                Ok(t) if t > s.last_ready => s.last_ready = t,
                Ok(_) => {}
                Err(_) => s.failure = true,
            }
        }
    }

    fn evaluate(
        task: &TaskRow,
        s: &State,
        threshold: &Self::Params,
        now: i64,
    ) -> Result<Option<Diagnostic>, RuleFailure> {
        let threshold = threshold.clone()?;
        let Ok(Stranded {
            assignee,
            since,
            age,
        }) = check(task, s, threshold, now)?
        else {
            return Ok(None);
        };
        // `age / 3600` and `age / 60` divide two ints: one correctly rounded float, which
        // raises when too large for a float.
        let too_large = || RuleFailure("age too large for a float");
        let age_str = if age >= 3600 {
            format!("{}h", fmt_1f(age.div_to_f64(3600).ok_or_else(too_large)?))
        } else {
            let minutes = age.div_to_f64(60).ok_or_else(too_large)?;
            format!("{}m", Int::from_f64(minutes).ok_or_else(too_large)?)
        };
        let severity = if age.ge_f64(threshold * 6.0) {
            Severity::Critical
        } else if age.ge_f64(threshold * 2.0) {
            Severity::Error
        } else {
            Severity::Warning
        };
        let threshold_int =
            Int::from_f64(threshold).ok_or(RuleFailure("threshold out of range"))?;
        let detail = format!(
            "This task has been ready for {age_str} but nothing has claimed it. Common causes: \
             assignee {} is misspelled, the profile was deleted, or the external worker pool for this \
             lane is down. Confirm the assignee is correct and that a worker is actually polling for it.",
            str_repr(assignee)
        );
        Ok(Some(
            Diagnostic::new(
                Self::KIND,
                severity,
                format!("Ready for {age_str} with no worker"),
                detail,
            )
            .actions([
                Action::new("reassign", "Reassign to a different worker")
                    .payload("current_assignee", assignee),
                Action::cli_hint("Check dispatcher status", "hermes kanban diagnostics"),
            ])
            .seen_at(since.clone())
            .data("ready_since", since)
            .data("age_seconds", age)
            .data("assignee", assignee)
            .data("threshold_seconds", threshold_int),
        ))
    }

    fn why_not(task: &TaskRow, s: &State, threshold: &Self::Params, now: i64) -> String {
        let threshold = match threshold {
            Ok(t) => *t,
            Err(e) => return invalid_setting_why(e),
        };
        match check(task, s, threshold, now) {
            Ok(Err(quiet)) => quiet.to_string(),
            Ok(Ok(_)) => FIRES_WHY.into(),
            Err(e) => failure_why(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(assignee: &str, created_at: i64) -> TaskRow {
        TaskRow {
            status: Value::Text("ready".into()),
            assignee: Value::Text(assignee.into()),
            created_at: Value::Int(created_at),
            ..TaskRow::default()
        }
    }

    fn eval(t: &TaskRow, now: i64) -> Option<Diagnostic> {
        let p = StrandedInReady::params(&DiagConfig::default(), now);
        StrandedInReady::evaluate(t, &State::default(), &p, now).unwrap()
    }

    #[test]
    fn fires_from_the_threshold_on_falling_back_to_created_at() {
        assert!(eval(&task("coder", 1000), 1000 + 1799).is_none());
        let d = eval(&task("coder", 1000), 1000 + 1800).unwrap();
        assert_eq!(d.title, "Ready for 30m with no worker");
        assert_eq!(d.severity, Severity::Warning);
    }

    #[test]
    fn severity_escalates_and_hours_tie_to_even() {
        let d = eval(&task("coder", 1000), 1000 + 8100).unwrap();
        assert_eq!(d.title, "Ready for 2.2h with no worker");
        assert_eq!(d.severity, Severity::Error);
        assert_eq!(
            eval(&task("coder", 1000), 1000 + 6 * 1800)
                .unwrap()
                .severity,
            Severity::Critical
        );
    }

    #[test]
    fn unassigned_or_claimed_tasks_are_left_alone() {
        assert!(eval(&task("   ", 1000), 99_999).is_none());
        let mut t = task("coder", 1000);
        t.claim_lock = Value::Text("host:1".into());
        assert!(eval(&t, 99_999).is_none());
    }

    #[test]
    fn the_detail_quotes_the_assignee_like_python_repr() {
        let d = eval(&task("o'neil", 1000), 99_999).unwrap();
        assert!(d.detail.contains("assignee \"o'neil\" is misspelled"));
    }

    fn why(t: &TaskRow, now: i64) -> String {
        let p = StrandedInReady::params(&DiagConfig::default(), now);
        assert_eq!(
            StrandedInReady::evaluate(t, &State::default(), &p, now),
            Ok(None)
        );
        StrandedInReady::why_not(t, &State::default(), &p, now)
    }

    #[test]
    fn why_not_shows_the_age_in_seconds_against_the_threshold() {
        assert_eq!(
            why(&task("coder", 1000), 1000 + 1799),
            "ready for 1799 s, below the 1800 s threshold"
        );
        assert_eq!(
            why(&task("coder", 0), 99_999),
            "no created, promoted, reclaimed or unblocked event and no created_at to date it from"
        );
    }

    #[test]
    fn why_not_names_the_status_claim_or_missing_assignee() {
        let mut t = task("coder", 1000);
        t.claim_lock = Value::Text("host:1".into());
        assert_eq!(why(&t, 99_999), "it is claimed (claim_lock host:1)");
        t.status = Value::Text("blocked".into());
        assert_eq!(why(&t, 99_999), "status blocked is not ready");
        assert_eq!(
            why(&task("  ", 1000), 99_999),
            "assignee '  ' is blank, and unassigned tasks are left to the dispatcher"
        );
        let mut t = task("", 1000);
        t.assignee = Value::Null;
        assert_eq!(
            why(&t, 99_999),
            "it has no assignee, and unassigned tasks are left to the dispatcher"
        );
    }
}
