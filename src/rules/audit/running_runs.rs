//! The `running_runs` rule. [`RunningRuns`] carries its documentation.

use serde_json::json;

use super::{Params, TaskFacts, TaskRule};
use crate::rules::{Action, Diagnostic, RuleDoc, Severity, declare_rule};

declare_rule! {
    /// ## What it does
    /// Fires for a `running` task with no open run (no `task_runs` row without `ended_at`),
    /// or with more than one.
    ///
    /// ## Why is this bad?
    /// A running task is one attempt: exactly one open run records it. With none, the
    /// attempt's outcome has nowhere to go and the history the audit and Hermes' rules read
    /// is missing it; with several, two workers may be running the same task, or a crashed
    /// attempt was never closed.
    ///
    /// ## Severity and thresholds
    /// Always `error`.
    ///
    /// ## Suggested actions
    /// Reclaim the task (`hermes kanban reclaim <task>`).
    pub struct RunningRuns;
    kind: "running_runs",
    summary: "A running task without exactly one open run",
    severities: [Error],
    config_keys: [],
}

impl TaskRule for RunningRuns {
    const DOC: RuleDoc = DOC;

    fn check(f: &TaskFacts<'_>, _: &Params) -> Option<Diagnostic> {
        let open = f.open_runs.len();
        if f.status() != "running" || open == 1 {
            return None;
        }
        let title = if open == 0 {
            "Running with no open run".to_string()
        } else {
            format!("Running with {open} open runs")
        };
        let id = f.task.id.py_str();
        Some(
            Diagnostic::new(
                "running_runs",
                Severity::Error,
                title,
                format!(
                    "The task is running, and {open} of its runs are open (not ended); a \
                     running task has exactly one."
                ),
            )
            .actions([Action::command(
                "Reclaim",
                format!("hermes kanban reclaim {id}"),
            )])
            .count(open.max(1))
            .data("open_runs", json!(f.open_runs)),
        )
    }

    fn why_not(f: &TaskFacts<'_>, _: &Params) -> String {
        if f.status() == "running" {
            "the running task has exactly one open run".into()
        } else {
            format!(
                "status {:?} is not running ({} open runs)",
                f.status(),
                f.open_runs.len()
            )
        }
    }
}
