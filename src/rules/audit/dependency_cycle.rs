//! The `dependency_cycle` rule. [`DependencyCycle`] carries its documentation.

use serde_json::json;

use super::{BoardFacts, BoardRule};
use crate::rules::{Action, Diagnostic, RuleDoc, Severity, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds cycles in `task_links` (parent → child): tasks that each wait, directly or
    /// through others, for themselves. One finding per group of tasks caught in cycles (a
    /// strongly connected component), naming them all and one cycle of links through them.
    ///
    /// ## Why is this bad?
    /// A task is promoted to `ready` only when all its parents are done, so no task in a cycle
    /// can ever run. Hermes refuses to create a cycle (`link_tasks`), so one comes from
    /// another tool or a hand edit, and nothing on the board will ever report it.
    ///
    /// ## Severity and thresholds
    /// Always `error`.
    ///
    /// ## Suggested actions
    /// Remove one link of the cycle with `hermes kanban unlink <parent> <child>`.
    pub struct DependencyCycle;
    kind: "dependency_cycle",
    summary: "Tasks that wait for themselves",
    severities: [Error],
    config_keys: [],
}

impl BoardRule for DependencyCycle {
    const DOC: RuleDoc = DOC;

    fn check(b: &BoardFacts) -> Vec<Diagnostic> {
        b.cycles
            .iter()
            .map(|c| {
                let mut shown = c.path.clone();
                if let Some(first) = c.path.first() {
                    shown.push(first.clone());
                }
                let (last, first) = (
                    c.path.last().cloned().unwrap_or_default(),
                    c.path.first().cloned().unwrap_or_default(),
                );
                Diagnostic::new(
                    "dependency_cycle",
                    Severity::Error,
                    format!("Dependency cycle of {} task(s)", c.members.len()),
                    format!(
                        "These tasks depend on each other in a circle, so none can become \
                         ready: {}.",
                        shown.join(" → ")
                    ),
                )
                .actions([Action::command(
                    "Break the cycle",
                    format!("hermes kanban unlink {last} {first}"),
                )])
                .count(c.members.len())
                .data("task_ids", json!(c.members))
                .data("cycle", json!(shown))
            })
            .collect()
    }
}
