//! The `repeated_crashes` rule. [`RepeatedCrashes`] carries its documentation.

use std::fmt;

use super::support::{
    FIRES_WHY, check_logs_action, counted, error_snippet, failure_exempt_why,
    failure_threshold_setting, failure_why, generic_recovery_actions, int, invalid_setting_why,
    number_setting, title_line,
};
use super::{Diagnostic, Rule, RuleDoc, RunRow, Severity, TaskRow, declare_rule};
use crate::config::DiagConfig;
use crate::py::int::Int;
use crate::py::value::{Num, RuleFailure, Value};

declare_rule! {
    /// ## What it does
    /// Counts the trailing `crashed` runs of a task, newest first: `completed` or `reclaimed`
    /// ends the streak, other outcomes (timeouts, spawn failures, blocks) are skipped over. The
    /// error shown is the newest crash's error text that is not NULL.
    ///
    /// ## Why is this bad?
    /// A task that crashes repeatedly has something broken in its task + profile combination
    /// (out of memory, a missing dependency, a tool that is down). This is the early, narrower
    /// warning; it stays silent once the unified counter reaches the failure threshold, so
    /// `repeated_failures` reports the task instead and it is never flagged twice.
    ///
    /// ## Severity and thresholds
    /// `error` at `kanban.diagnostics.crash_threshold` (default 2) trailing crashes, `critical`
    /// at twice that. Silent from the failure threshold of `repeated_failures` on (the same
    /// settings: `kanban.diagnostics.failure_threshold`, default 3 (2 with `--defaults
    /// hermes-0.19`), else the breaker limit).
    /// Done, archived and running tasks are exempt. A threshold Python's `int()` cannot read
    /// makes the rule fail, as it does in Hermes.
    ///
    /// ## Suggested actions
    /// `hermes kanban log <task>` (suggested), then reassign.
    pub struct RepeatedCrashes;
    kind: "repeated_crashes",
    summary: "The worker spawns fine but keeps crashing mid-run",
    severities: [Error, Critical],
    config_keys: [
        "kanban.diagnostics.crash_threshold",
        "kanban.diagnostics.failure_threshold",
        "kanban.diagnostics.spawn_failure_threshold",
        "kanban.diagnostics.failure_limit",
        "kanban.failure_limit",
    ],
}

/// Both thresholds, or the failure Python's `int()` raises when reading them.
pub struct Params {
    failure_threshold: Result<Int, RuleFailure>,
    crash_threshold: Result<Int, RuleFailure>,
}

/// The crash streak since the last success or reclaim.
#[derive(Debug, Default)]
pub struct Streak {
    crashes: i64,
    /// The last crash's error, boxed: absent on most tasks, whose state is one per task.
    last_error: Option<Box<Value>>,
}

impl Streak {
    fn last_error(&self) -> &Value {
        self.last_error.as_deref().unwrap_or(&Value::Null)
    }
}

/// Where `check` stops without a verdict: a threshold setting Python's `int()` cannot read,
/// or a counter it cannot compare. `evaluate` fails at either.
enum Stop {
    Setting(RuleFailure),
    Row(RuleFailure),
}

impl From<RuleFailure> for Stop {
    fn from(e: RuleFailure) -> Self {
        Stop::Row(e)
    }
}

impl From<Stop> for RuleFailure {
    fn from(stop: Stop) -> Self {
        match stop {
            Stop::Setting(e) | Stop::Row(e) => e,
        }
    }
}

/// Why the rule stays quiet for a task, in the order `evaluate` checks.
enum Quiet<'t> {
    Exempt(&'t Value),
    UnifiedRuleReports(Num, Int),
    BelowThreshold(i64, Int),
}

impl fmt::Display for Quiet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Quiet::Exempt(status) => f.write_str(&failure_exempt_why(status)),
            Quiet::UnifiedRuleReports(n, threshold) => write!(
                f,
                "consecutive_failures {} has reached the failure threshold {threshold}, so \
                 repeated_failures reports the task instead",
                n.display()
            ),
            Quiet::BelowThreshold(crashes, threshold) => write!(
                f,
                "{} since the last completed or reclaimed run, below the crash threshold \
                 {threshold}",
                counted(*crashes, "crash", "crashes")
            ),
        }
    }
}

/// The crash threshold when the streak has reached it, or why the rule stays quiet.
fn check<'t>(task: &'t TaskRow, s: &Streak, p: &Params) -> Result<Result<Int, Quiet<'t>>, Stop> {
    if task.failure_exempt() {
        return Ok(Err(Quiet::Exempt(&task.status)));
    }
    let failure_threshold = p.failure_threshold.clone().map_err(Stop::Setting)?;
    // `consecutive_failures or 0`: a falsy counter reads as 0.
    let unified = if task.consecutive_failures.truthy() {
        Num::from_value(&task.consecutive_failures)?.unwrap_or(Num::Int(0))
    } else {
        Num::Int(0)
    };
    if unified.ge(failure_threshold.clone()) {
        return Ok(Err(Quiet::UnifiedRuleReports(unified, failure_threshold)));
    }
    let threshold = p.crash_threshold.clone().map_err(Stop::Setting)?;
    if Int::Small(s.crashes) < threshold {
        return Ok(Err(Quiet::BelowThreshold(s.crashes, threshold)));
    }
    Ok(Ok(threshold))
}

impl Rule for RepeatedCrashes {
    const DOC: RuleDoc = DOC;
    const RUN_ERROR_OUTCOMES: &'static [&'static str] = &["crashed"];
    type Params = Params;
    type State = Streak;

    fn params(cfg: &DiagConfig, _: i64) -> Params {
        const WHY: &str = "threshold setting is not an integer";
        Params {
            failure_threshold: number_setting(failure_threshold_setting(cfg), 3.into(), int, WHY),
            crash_threshold: number_setting(cfg.get("crash_threshold"), 2.into(), int, WHY),
        }
    }

    fn on_run(s: &mut Streak, run: &RunRow<'_>, _: &Params) {
        match run.outcome_str() {
            Some("crashed") => {
                s.crashes += 1;
                if !run.error.is_null() {
                    match &mut s.last_error {
                        Some(e) => (**e).clone_from(run.error),
                        None => s.last_error = Some(Box::new(run.error.clone())),
                    }
                }
            }
            Some("completed" | "reclaimed") => *s = Streak::default(),
            _ => {}
        }
    }

    fn evaluate(
        task: &TaskRow,
        s: &Streak,
        p: &Params,
        now: i64,
    ) -> Result<Option<Diagnostic>, RuleFailure> {
        let Ok(threshold) = check(task, s, p)? else {
            return Ok(None);
        };
        let severity = if Int::Small(s.crashes) >= threshold.mul(&Int::Small(2)) {
            Severity::Critical
        } else {
            Severity::Error
        };
        let n = s.crashes;
        let (title, detail) = match error_snippet(s.last_error())? {
            Some(snippet) => (
                format!("Agent crashed {n}x: {}", title_line(&snippet)),
                format!(
                    "The last {n} runs ended with outcome=crashed. Full last error:\n\n{snippet}"
                ),
            ),
            None => (
                format!("Agent crashed {n}x (no error recorded)"),
                format!(
                    "The last {n} runs ended with outcome=crashed but no error text was captured. \
                     Check the worker log for more."
                ),
            ),
        };
        Ok(Some(
            Diagnostic::new(Self::KIND, severity, title, detail)
                .actions(check_logs_action(&task.id))
                .actions(generic_recovery_actions(task.status_is("running")))
                .seen_at(now)
                .count(n)
                .data("consecutive_crashes", n)
                .data("last_error", s.last_error()),
        ))
    }

    fn why_not(task: &TaskRow, s: &Streak, p: &Params, _: i64) -> String {
        match check(task, s, p) {
            Ok(Err(quiet)) => quiet.to_string(),
            Ok(Ok(_)) => FIRES_WHY.into(),
            Err(Stop::Setting(e)) => invalid_setting_why(&e),
            Err(Stop::Row(e)) => failure_why(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing;

    fn streak(outcomes: &[(&str, Option<&str>)]) -> Streak {
        let p = RepeatedCrashes::params(&DiagConfig::default(), 0);
        testing::runs::<RepeatedCrashes>(&p, outcomes)
    }

    fn eval(s: &Streak, counter: i64) -> Option<Diagnostic> {
        let task = TaskRow {
            id: Value::Text("t_9".into()),
            status: Value::Text("ready".into()),
            consecutive_failures: Value::Int(counter),
            ..TaskRow::default()
        };
        RepeatedCrashes::evaluate(
            &task,
            s,
            &RepeatedCrashes::params(&DiagConfig::default(), 0),
            0,
        )
        .unwrap()
    }

    #[test]
    fn trailing_crashes_fire_and_keep_the_newest_error() {
        let s = streak(&[
            ("crashed", Some("old")),
            ("timed_out", None),
            ("crashed", Some("OOM")),
            ("crashed", None),
        ]);
        let d = eval(&s, 0).unwrap();
        assert_eq!(d.title, "Agent crashed 3x: OOM");
    }

    #[test]
    fn a_completion_ends_the_streak() {
        let s = streak(&[
            ("crashed", None),
            ("crashed", None),
            ("completed", None),
            ("crashed", None),
        ]);
        assert_eq!(eval(&s, 0), None);
    }

    #[test]
    fn the_unified_rule_takes_over_at_the_failure_threshold() {
        let s = streak(&[("crashed", None), ("crashed", None), ("crashed", None)]);
        assert!(eval(&s, 2).is_some());
        assert_eq!(eval(&s, 3), None);
    }

    fn why(s: &Streak, status: &str, counter: i64, p: &Params) -> String {
        let task = TaskRow {
            status: Value::Text(status.into()),
            consecutive_failures: Value::Int(counter),
            ..TaskRow::default()
        };
        assert_eq!(RepeatedCrashes::evaluate(&task, s, p, 0), Ok(None));
        RepeatedCrashes::why_not(&task, s, p, 0)
    }

    #[test]
    fn why_not_counts_the_crashes_against_the_crash_threshold() {
        let p = RepeatedCrashes::params(&DiagConfig::default(), 0);
        let s = streak(&[("crashed", None), ("completed", None), ("crashed", None)]);
        assert_eq!(
            why(&s, "ready", 0, &p),
            "1 crash since the last completed or reclaimed run, below the crash threshold 2"
        );
        assert_eq!(
            why(&streak(&[]), "ready", 0, &p),
            "0 crashes since the last completed or reclaimed run, below the crash threshold 2"
        );
    }

    #[test]
    fn why_not_defers_to_repeated_failures_and_names_exemptions() {
        let p = RepeatedCrashes::params(&DiagConfig::default(), 0);
        let s = streak(&[("crashed", None), ("crashed", None), ("crashed", None)]);
        assert_eq!(
            why(&s, "blocked", 3, &p),
            "consecutive_failures 3 has reached the failure threshold 3, so repeated_failures \
             reports the task instead"
        );
        assert_eq!(
            why(&s, "running", 0, &p),
            "status running is exempt (done, archived and running tasks are)"
        );
    }

    #[test]
    fn why_not_names_an_unreadable_threshold_setting() {
        let cfg = DiagConfig::from_yaml(
            "kanban: {diagnostics: {crash_threshold: two}}",
            crate::config::Defaults::Unified,
        );
        let p = RepeatedCrashes::params(&cfg, 0);
        let task = TaskRow {
            status: Value::Text("ready".into()),
            ..TaskRow::default()
        };
        assert!(RepeatedCrashes::evaluate(&task, &Streak::default(), &p, 0).is_err());
        assert_eq!(
            RepeatedCrashes::why_not(&task, &Streak::default(), &p, 0),
            "the threshold setting is invalid: threshold setting is not an integer"
        );
        // An exempt task never reads the setting, in `evaluate` as in `why_not`.
        assert_eq!(
            why(&Streak::default(), "done", 0, &p),
            "status done is exempt (done, archived and running tasks are)"
        );
    }
}
