//! The `orphaned_rows` rule. [`OrphanedRows`] carries its documentation.

use serde_json::json;

use super::{BoardFacts, BoardRule};
use crate::rules::{Action, Diagnostic, RuleDoc, Severity, declare_rule};

declare_rule! {
    /// ## What it does
    /// Counts the rows of `task_runs`, `task_events` and `task_comments` whose task does not
    /// exist, and the `task_links` whose parent or child does not exist; one finding per
    /// table.
    ///
    /// ## Why is this bad?
    /// Hermes deletes a task's rows with it, so orphans come from other tools, hand edits or a
    /// partial restore. They are history that no view shows, and links to a missing task
    /// leave its dependants waiting for a parent that will never finish.
    ///
    /// ## Severity and thresholds
    /// Always `error`. The data holds the row count and the first ten missing task ids.
    ///
    /// ## Suggested actions
    /// Find where the rows came from before deleting them (`hermes kanban show <task>` says
    /// nothing, the task is gone); a link to a missing task can be removed with
    /// `hermes kanban unlink <parent> <child>`.
    pub struct OrphanedRows;
    kind: "orphaned_rows",
    summary: "Rows that point at a task that does not exist",
    severities: [Error],
    config_keys: [],
}

impl BoardRule for OrphanedRows {
    const DOC: RuleDoc = DOC;

    fn check(b: &BoardFacts) -> Vec<Diagnostic> {
        b.orphans
            .iter()
            .filter(|o| o.rows > 0)
            .map(|o| {
                Diagnostic::new(
                    "orphaned_rows",
                    Severity::Error,
                    format!("{} orphaned {} row(s)", o.rows, o.table),
                    format!(
                        "{} row(s) of {} point at a task that does not exist (first: {}).",
                        o.rows,
                        o.table,
                        o.task_ids.join(", ")
                    ),
                )
                .actions((o.table == "task_links").then(|| {
                    Action::cli_hint(
                        "Remove each link to a missing task",
                        "hermes kanban unlink <parent> <child>",
                    )
                }))
                .count(o.rows)
                .data("table", o.table)
                .data("rows", o.rows)
                .data("task_ids", json!(o.task_ids))
            })
            .collect()
    }
}
