//! The `storage_integrity` rule. [`StorageIntegrity`] carries its documentation.

use serde_json::json;

use super::{BoardFacts, BoardRule};
use crate::rules::{Action, Diagnostic, RuleDoc, Severity, declare_rule};

declare_rule! {
    /// ## What it does
    /// Runs SQLite's `PRAGMA quick_check` on the board (with `--deep`, the full
    /// `integrity_check`, which also compares every index with its table) and fires when it
    /// reports anything but `ok`.
    ///
    /// ## Why is this bad?
    /// A damaged page can hide rows from every reader, Hermes included, or make the next
    /// write fail. Corruption spreads as the kernel keeps writing.
    ///
    /// ## Severity and thresholds
    /// Always `critical`. The data holds the first 20 messages SQLite reported.
    ///
    /// ## Suggested actions
    /// Stop the dispatcher, copy the board with its `-wal` file, and recover it
    /// (`sqlite3 kanban.db .recover`) from the copy.
    pub struct StorageIntegrity;
    kind: "storage_integrity",
    summary: "SQLite's own integrity check fails",
    severities: [Critical],
    config_keys: [],
}

impl BoardRule for StorageIntegrity {
    const DOC: RuleDoc = DOC;

    fn check(b: &BoardFacts) -> Vec<Diagnostic> {
        if b.check_messages.is_empty() || b.check_messages == ["ok"] {
            return Vec::new();
        }
        let first = b.check_messages.first().cloned().unwrap_or_default();
        vec![
            Diagnostic::new(
                "storage_integrity",
                Severity::Critical,
                format!("PRAGMA {} failed", b.check_pragma),
                format!(
                    "SQLite's {} reports {} problem(s); the first: {first}",
                    b.check_pragma,
                    b.check_messages.len()
                ),
            )
            .actions([Action::command(
                "Recover from a copy",
                "sqlite3 kanban.db .recover",
            )])
            .count(b.check_messages.len())
            .data("pragma", b.check_pragma)
            .data("messages", json!(b.check_messages)),
        ]
    }
}
