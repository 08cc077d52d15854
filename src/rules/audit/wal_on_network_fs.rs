//! The `wal_on_network_fs` rule. [`WalOnNetworkFs`] carries its documentation.

use super::{BoardFacts, BoardRule};
use crate::rules::{Diagnostic, RuleDoc, Severity, declare_rule};

declare_rule! {
    /// ## What it does
    /// Fires when the board is in WAL mode (from its header) and lives on a network or FUSE
    /// filesystem (NFS, SMB/CIFS, sshfs, 9p, …, from the mount table).
    ///
    /// ## Why is this bad?
    /// WAL needs shared memory that every process sees coherently; network and FUSE
    /// filesystems do not provide it, and WAL boards on them have been corrupted (Hermes
    /// #22032).
    ///
    /// ## Severity and thresholds
    /// Always `error`.
    ///
    /// ## Suggested actions
    /// Move the board to a local disk.
    pub struct WalOnNetworkFs;
    kind: "wal_on_network_fs",
    summary: "A WAL board on a network or FUSE filesystem",
    severities: [Error],
    config_keys: [],
}

impl BoardRule for WalOnNetworkFs {
    const DOC: RuleDoc = DOC;

    fn check(b: &BoardFacts) -> Vec<Diagnostic> {
        let Some(fs) = b.filesystem.as_deref() else {
            return Vec::new();
        };
        if b.journal != "wal" || !b.network_filesystem {
            return Vec::new();
        }
        vec![
            Diagnostic::new(
                "wal_on_network_fs",
                Severity::Error,
                format!("WAL mode on a {fs} filesystem"),
                format!(
                    "The board is in WAL mode on a {fs} filesystem. WAL is unsafe on network \
                     and FUSE filesystems and has corrupted boards (Hermes #22032)."
                ),
            )
            .data("filesystem", fs)
            .data("journal_mode", b.journal),
        ]
    }
}
