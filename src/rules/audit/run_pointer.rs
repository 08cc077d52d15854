//! The `run_pointer` rule. [`RunPointer`] carries its documentation.

use super::{Params, Pointer, TaskFacts, TaskRule};
use crate::rules::{Action, Diagnostic, RuleDoc, Severity, declare_rule};

declare_rule! {
    /// ## What it does
    /// Fires when `tasks.current_run_id` names a run that does not exist (or belongs to
    /// another task), or a run that has already ended.
    ///
    /// ## Why is this bad?
    /// The kernel closes, heartbeats and reclaims the run this pointer names. A dangling
    /// pointer makes those writes miss: the outcome of the next attempt lands nowhere, or
    /// on a run that already has one. Hermes' own invariant recovery (`unblock_task`,
    /// `claim_task`) exists because boards get into this state.
    ///
    /// ## Severity and thresholds
    /// Always `error`.
    ///
    /// ## Suggested actions
    /// Reclaim the task (`hermes kanban reclaim <task>`), which closes its run and clears
    /// the pointer.
    pub struct RunPointer;
    kind: "run_pointer",
    summary: "current_run_id names a missing or closed run",
    severities: [Error],
    config_keys: [],
}

impl TaskRule for RunPointer {
    const DOC: RuleDoc = DOC;

    fn check(f: &TaskFacts<'_>, _: &Params) -> Option<Diagnostic> {
        let (run, state) = match f.pointer {
            Pointer::Missing(id) => (id, "does not exist"),
            Pointer::Closed(id) => (id, "has already ended"),
            Pointer::None | Pointer::Open(_) => return None,
        };
        let id = f.task.id.py_str();
        Some(
            Diagnostic::new(
                "run_pointer",
                Severity::Error,
                format!("current_run_id {run} {state}"),
                format!(
                    "The task's current_run_id is {run}, and that run of this task {state}. The \
                     kernel's next write to the current run will miss."
                ),
            )
            .actions([Action::command(
                "Reclaim",
                format!("hermes kanban reclaim {id}"),
            )])
            .data("current_run_id", run)
            .data(
                "problem",
                if matches!(f.pointer, Pointer::Missing(_)) {
                    "missing"
                } else {
                    "closed"
                },
            ),
        )
    }

    fn why_not(f: &TaskFacts<'_>, _: &Params) -> String {
        match f.pointer {
            Pointer::Open(id) => format!("current_run_id {id} is an open run of this task"),
            _ => "current_run_id is NULL".into(),
        }
    }
}
