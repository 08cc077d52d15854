//! The `sqlite_version` rule. [`SqliteVersion`] carries its documentation.

use super::{BoardFacts, BoardRule};
use crate::rules::{Action, Diagnostic, RuleDoc, Severity, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reads, from the database header, the version of the SQLite library that last wrote the
    /// board, and fires when the board is in WAL mode and that version is older than 3.51.3.
    ///
    /// ## Why is this bad?
    /// SQLite 3.51.3 fixed a bug in which a WAL reset racing with a writer in another
    /// connection could corrupt the database. A dispatcher and its workers are exactly such
    /// connections, and Hermes opens its boards in WAL mode. Boards in rollback-journal mode
    /// are not affected.
    ///
    /// ## Severity and thresholds
    /// Always `warning`, below 3.51.3 (3051003), in WAL mode only.
    ///
    /// ## Suggested actions
    /// Upgrade the SQLite library that Hermes' Python uses (the `sqlite3` module's
    /// `sqlite_version`), e.g. with a newer Python build.
    pub struct SqliteVersion;
    kind: "sqlite_version",
    summary: "The board was last written by a SQLite with a known WAL corruption bug",
    severities: [Warning],
    config_keys: [],
}

/// The first release with the WAL-reset fix.
pub const FIXED: u32 = 3_051_003;

/// `3051003` as `3.51.3`.
pub fn dotted(v: u32) -> String {
    format!("{}.{}.{}", v / 1_000_000, v / 1000 % 1000, v % 1000)
}

impl BoardRule for SqliteVersion {
    const DOC: RuleDoc = DOC;

    fn check(b: &BoardFacts) -> Vec<Diagnostic> {
        if b.journal != "wal" || b.writer_sqlite == 0 || b.writer_sqlite >= FIXED {
            return Vec::new();
        }
        let v = dotted(b.writer_sqlite);
        vec![
            Diagnostic::new(
                "sqlite_version",
                Severity::Warning,
                format!("Last written by SQLite {v} (WAL-reset bug fixed in 3.51.3)"),
                format!(
                    "The header says SQLite {v} last wrote this WAL-mode board. Versions before \
                     3.51.3 can corrupt a WAL database when a WAL reset races with a writer."
                ),
            )
            .actions([Action::command(
                "Check the SQLite Hermes' Python uses",
                "python3 -c 'import sqlite3; print(sqlite3.sqlite_version)'",
            )])
            .data("writer_sqlite", v)
            .data("fixed_in", dotted(FIXED))
            .data("journal_mode", b.journal),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_read_as_dotted_triples() {
        assert_eq!(dotted(3_040_001), "3.40.1");
        assert_eq!(dotted(FIXED), "3.51.3");
    }
}
