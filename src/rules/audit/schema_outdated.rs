//! The `schema_outdated` rule. [`SchemaOutdated`] carries its documentation.

use super::{BoardFacts, BoardRule};
use crate::rules::{Action, Diagnostic, RuleDoc, Severity, declare_rule};

declare_rule! {
    /// ## What it does
    /// Fires when the board's schema is not the current hermes-agent schema: legacy counter
    /// columns (`spawn_failures`, `last_spawn_error`), a half-done migration (partial), or
    /// missing columns the current kernel reads (incomplete).
    ///
    /// ## Why is this bad?
    /// Hermes migrates a board when it opens it, in place and without a backup. Until then,
    /// tools that read the current columns see the defaults instead of the board's values.
    ///
    /// ## Severity and thresholds
    /// Always `warning`.
    ///
    /// ## Suggested actions
    /// `kanban-doctor migrate --dry-run` to see the plan, then `kanban-doctor migrate`.
    pub struct SchemaOutdated;
    kind: "schema_outdated",
    summary: "The board needs a migration",
    severities: [Warning],
    config_keys: [],
}

impl BoardRule for SchemaOutdated {
    const DOC: RuleDoc = DOC;

    fn check(b: &BoardFacts) -> Vec<Diagnostic> {
        if !b.schema_needs_migrate {
            return Vec::new();
        }
        vec![
            Diagnostic::new(
                "schema_outdated",
                Severity::Warning,
                format!("Schema is {}: run migrate", b.schema_label),
                format!(
                    "The board's schema is {}, not the current hermes-agent schema.",
                    b.schema_label
                ),
            )
            .actions([
                Action::command("See the plan", "kanban-doctor migrate --dry-run").suggested(),
            ])
            .data("schema", b.schema_label.clone()),
        ]
    }
}
