//! The `repeated_failures` rule. [`RepeatedFailures`] carries its documentation.

use std::fmt;

use super::support::{
    FIRES_WHY, error_snippet, failure_exempt_why, failure_threshold_setting, failure_why,
    generic_recovery_actions, title_line,
};
use super::{Action, Diagnostic, Rule, RuleDoc, RunRow, Severity, TaskRow, declare_rule};
use crate::config::{DiagConfig, positive_int};
use crate::py::int::Int;
use crate::py::value::{Num, RuleFailure, Value};

declare_rule! {
    /// ## What it does
    /// Fires when `consecutive_failures` (read under either column name) reaches the failure
    /// threshold, whatever the failure mode: spawn failure, timeout or crash all count. The most
    /// recent run outcome among `spawn_failed`, `timed_out` and `crashed` names the failure in
    /// the title (`Agent timeout x3: <first line of the last error>`) and picks the action.
    /// On a board with both column pairs, the board-wide report reads the legacy
    /// `spawn_failures` where `consecutive_failures` is NULL, and `last_spawn_error` where
    /// `last_failure_error` is; `--task` reads the current pair only, as Hermes does.
    ///
    /// ## Why is this bad?
    /// Before the counter was unified, only spawn failures were counted: a worker that spawned
    /// and then timed out or crashed went back to `ready` uncounted and was re-spawned forever.
    /// A climbing counter means each retry fails the same way and will keep failing until the
    /// circuit breaker (`failure_limit`) blocks the task.
    ///
    /// ## Severity and thresholds
    /// `error` at the failure threshold, `critical` at twice that. The threshold is
    /// `kanban.diagnostics.failure_threshold` (or its old name `spawn_failure_threshold`),
    /// default 3; when neither is set it follows the breaker limit, `kanban.failure_limit` (or
    /// `kanban.diagnostics.failure_limit`), if one is. The detail quotes that limit (default
    /// 5). With `--defaults hermes-0.19` (stock hermes-agent 0.19.0) the threshold defaults
    /// to 2, and any `kanban` section brings a breaker limit of 2 that it follows. Done,
    /// archived and running tasks are exempt: a finished card's streak is history, and a
    /// running one is a fresh attempt.
    ///
    /// ## Suggested actions
    /// Spawn failures with a named profile: `hermes -p <profile> doctor` (and `auth`).
    /// Timeouts and crashes: `hermes kanban log <task>`. Always: reassign.
    pub struct RepeatedFailures;
    kind: "repeated_failures",
    summary: "The unified failure counter is climbing",
    severities: [Error, Critical],
    config_keys: [
        "kanban.diagnostics.failure_threshold",
        "kanban.diagnostics.spawn_failure_threshold",
        "kanban.diagnostics.failure_limit",
        "kanban.failure_limit",
    ],
}

/// Thresholds read once per run.
pub struct Params {
    /// The threshold and the breaker limit, exact (Python's ints), or the `OverflowError`
    /// reading them raises (an infinite setting), which drops the rule.
    thresholds: Result<(Int, Int), RuleFailure>,
}

/// The failure-flavoured outcome of a run, in the order the reference labels them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOutcome {
    SpawnFailed,
    TimedOut,
    Crashed,
}

impl FailureOutcome {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "spawn_failed" => Some(Self::SpawnFailed),
            "timed_out" => Some(Self::TimedOut),
            "crashed" => Some(Self::Crashed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SpawnFailed => "spawn_failed",
            Self::TimedOut => "timed_out",
            Self::Crashed => "crashed",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::SpawnFailed => "spawn",
            Self::TimedOut => "timeout",
            Self::Crashed => "crash",
        }
    }
}

/// Why the rule stays quiet for a task, in the order `evaluate` checks.
enum Quiet<'t> {
    Exempt(&'t Value),
    NoCounter,
    BelowThreshold(Num, Int),
}

impl fmt::Display for Quiet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Quiet::Exempt(status) => f.write_str(&failure_exempt_why(status)),
            Quiet::NoCounter => f.write_str(
                "consecutive_failures is NULL (and so is any legacy spawn_failures), so \
                 nothing is counted",
            ),
            Quiet::BelowThreshold(n, threshold) => write!(
                f,
                "consecutive_failures {} is below the failure threshold {threshold}",
                n.display()
            ),
        }
    }
}

/// The failure count when it has reached the threshold, or why the rule stays quiet; `Err`
/// where comparing the counter raises in Python.
fn check<'t>(
    task: &'t TaskRow,
    p: &'t Params,
) -> Result<Result<(Num, &'t Int, &'t Int), Quiet<'t>>, RuleFailure> {
    if task.failure_exempt() {
        return Ok(Err(Quiet::Exempt(&task.status)));
    }
    let (threshold, failure_limit) = p.thresholds.as_ref().map_err(Clone::clone)?;
    let Some(failures) = Num::from_value(task.failures())? else {
        return Ok(Err(Quiet::NoCounter));
    };
    if !failures.ge(threshold.clone()) {
        return Ok(Err(Quiet::BelowThreshold(failures, threshold.clone())));
    }
    Ok(Ok((failures, threshold, failure_limit)))
}

impl Rule for RepeatedFailures {
    const DOC: RuleDoc = DOC;
    type Params = Params;
    /// The newest failure outcome among the task's runs (runs arrive in id order).
    type State = Option<FailureOutcome>;

    fn params(cfg: &DiagConfig, _: i64) -> Params {
        const WHY: &str = "threshold setting is infinite (int() raises OverflowError)";
        let thresholds = positive_int(failure_threshold_setting(cfg), 3)
            .and_then(|t| Ok((t.clone(), positive_int(cfg.get("failure_limit"), t)?)))
            .map_err(|_| RuleFailure(WHY));
        Params { thresholds }
    }

    fn on_run(state: &mut Self::State, run: &RunRow<'_>, _: &Params) {
        if let Some(o) = run.outcome_str().and_then(FailureOutcome::parse) {
            *state = Some(o);
        }
    }

    fn evaluate(
        task: &TaskRow,
        state: &Self::State,
        p: &Params,
        now: i64,
    ) -> Result<Option<Diagnostic>, RuleFailure> {
        let Ok((failures, threshold, failure_limit)) = check(task, p)? else {
            return Ok(None);
        };
        let last_err = task.last_error();
        let outcome = *state;

        let mut actions = Vec::new();
        match outcome {
            Some(FailureOutcome::SpawnFailed)
                if task.assignee.truthy() && task.assignee.as_text() != Some("default") =>
            {
                let who = task.assignee.py_str();
                actions.push(
                    Action::command("Verify profile", format!("hermes -p {who} doctor"))
                        .suggested(),
                );
                actions.push(Action::command(
                    "Fix profile auth",
                    format!("hermes -p {who} auth"),
                ));
            }
            Some(FailureOutcome::TimedOut | FailureOutcome::Crashed) => {
                actions.extend(super::support::check_logs_action(&task.id));
            }
            _ => {}
        }
        actions.extend(generic_recovery_actions(task.status_is("running")));

        let severity = if failures.ge(threshold.mul(&Int::Small(2))) {
            Severity::Critical
        } else {
            Severity::Error
        };
        let label = outcome.map_or("failure", FailureOutcome::label);
        let n = failures.display();
        let (title, detail) = match error_snippet(last_err)? {
            // The f-string raises where Python will not print so many digits.
            Some(_) if !failure_limit.printable() => {
                return Err(RuleFailure("breaker limit too long to print"));
            }
            Some(snippet) => (
                format!("Agent {label} x{n}: {}", title_line(&snippet)),
                format!(
                    "This task has failed {n} times in a row (most recent: {label}). Full last error:\n\n\
                     {snippet}\n\nThe dispatcher circuit breaker is configured for {} consecutive \
                     non-success attempts. Fix the root cause and reclaim or unblock the task to retry.",
                    failure_limit
                ),
            ),
            None => (
                format!("Agent {label} x{n} (no error recorded)"),
                format!(
                    "This task has failed {n} times in a row (most recent: {label}) but no error text \
                     was captured. Check the suggested command or the worker log."
                ),
            ),
        };
        Ok(Some(
            Diagnostic::new(Self::KIND, severity, title, detail)
                .actions(actions)
                .seen_at(now)
                .count(failures)
                .data("consecutive_failures", failures)
                .data("most_recent_outcome", outcome.map(FailureOutcome::as_str))
                .data("last_error", last_err)
                .data("failure_threshold", threshold.clone())
                .data("failure_limit", failure_limit.clone()),
        ))
    }

    fn why_not(task: &TaskRow, _: &Self::State, p: &Params, _: i64) -> String {
        match check(task, p) {
            Ok(Err(quiet)) => quiet.to_string(),
            Ok(Ok(_)) => FIRES_WHY.into(),
            Err(e) => failure_why(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::py::value::Value;

    fn task(status: &str, failures: i64, err: Option<&str>, assignee: &str) -> TaskRow {
        TaskRow {
            id: Value::Text("t_1".into()),
            status: Value::Text(status.into()),
            assignee: Value::Text(assignee.into()),
            consecutive_failures: Value::Int(failures),
            last_failure_error: err.map_or(Value::Null, |e| Value::Text(e.into())),
            ..TaskRow::default()
        }
    }

    fn params() -> Params {
        RepeatedFailures::params(&DiagConfig::default(), 0)
    }

    #[test]
    fn timeouts_are_named_and_point_at_the_logs() {
        let d = RepeatedFailures::evaluate(
            &task("ready", 3, Some("  worker timed out\nafter 600s"), "coder"),
            &Some(FailureOutcome::TimedOut),
            &params(),
            100,
        )
        .unwrap()
        .unwrap();
        assert_eq!(d.title, "Agent timeout x3: worker timed out");
        assert_eq!(d.actions[0].label, "Check logs: hermes kanban log t_1");
        assert_eq!(d.severity, Severity::Error);
        assert_eq!(d.data["failure_limit"], 5);
    }

    #[test]
    fn one_below_the_threshold_is_silent() {
        assert_eq!(
            RepeatedFailures::evaluate(&task("ready", 2, None, "x"), &None, &params(), 0),
            Ok(None)
        );
    }

    #[test]
    fn spawn_failures_suggest_the_profile_doctor_and_go_critical_at_twice() {
        let d = RepeatedFailures::evaluate(
            &task("blocked", 6, None, "coder"),
            &Some(FailureOutcome::SpawnFailed),
            &params(),
            0,
        )
        .unwrap()
        .unwrap();
        assert_eq!(d.title, "Agent spawn x6 (no error recorded)");
        assert_eq!(d.actions[0].label, "Verify profile: hermes -p coder doctor");
        assert_eq!(d.severity, Severity::Critical);
    }

    #[test]
    fn finished_and_running_tasks_are_exempt() {
        for s in ["done", "archived", "running"] {
            assert_eq!(
                RepeatedFailures::evaluate(&task(s, 9, None, "x"), &None, &params(), 0),
                Ok(None)
            );
        }
    }

    #[test]
    fn a_null_current_counter_or_error_reads_the_fallback() {
        // What the fleet reader hands over on a board with both pairs.
        let mut t = task("todo", 0, None, "x");
        t.consecutive_failures = Value::Null;
        t.failures_fallback = Value::Int(4);
        t.error_fallback = Value::Text("legacy".into());
        let d = RepeatedFailures::evaluate(&t, &None, &params(), 0)
            .unwrap()
            .unwrap();
        assert_eq!(d.title, "Agent failure x4: legacy");
        assert_eq!(d.data["last_error"].as_str(), Some("legacy"));
        // A current 0 or '' is not NULL: the fallback is not read.
        t.consecutive_failures = Value::Int(0);
        assert_eq!(
            RepeatedFailures::evaluate(&t, &None, &params(), 0),
            Ok(None)
        );
        t.consecutive_failures = Value::Int(3);
        t.last_failure_error = Value::Text(String::new());
        let d = RepeatedFailures::evaluate(&t, &None, &params(), 0)
            .unwrap()
            .unwrap();
        assert_eq!(d.title, "Agent failure x3 (no error recorded)");
        assert_eq!(d.data["last_error"].as_str(), Some(""));
    }

    #[test]
    fn a_text_counter_fails_like_python_comparison() {
        let mut t = task("ready", 0, None, "x");
        t.consecutive_failures = Value::Text("3".into());
        assert!(RepeatedFailures::evaluate(&t, &None, &params(), 0).is_err());
    }

    #[test]
    fn why_not_compares_the_counter_with_the_failure_threshold() {
        let why = |t: &TaskRow| {
            assert_eq!(RepeatedFailures::evaluate(t, &None, &params(), 0), Ok(None));
            RepeatedFailures::why_not(t, &None, &params(), 0)
        };
        assert_eq!(
            why(&task("ready", 2, None, "x")),
            "consecutive_failures 2 is below the failure threshold 3"
        );
        let mut t = task("blocked", 0, None, "x");
        t.consecutive_failures = Value::Real(2.5);
        assert_eq!(
            why(&t),
            "consecutive_failures 2.5 is below the failure threshold 3"
        );
        t.consecutive_failures = Value::Null;
        assert_eq!(
            why(&t),
            "consecutive_failures is NULL (and so is any legacy spawn_failures), so nothing \
             is counted"
        );
    }

    #[test]
    fn why_not_names_the_exempt_status() {
        assert_eq!(
            RepeatedFailures::why_not(&task("done", 9, None, "x"), &None, &params(), 0),
            "status done is exempt (done, archived and running tasks are)"
        );
    }
}
