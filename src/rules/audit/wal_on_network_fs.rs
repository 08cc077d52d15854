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

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(journal: &'static str, fs: Option<&str>, network: bool) -> BoardFacts {
        BoardFacts {
            journal,
            filesystem: fs.map(str::to_string),
            network_filesystem: network,
            ..BoardFacts::default()
        }
    }

    #[test]
    fn fires_for_wal_on_a_network_filesystem_only() {
        let d = WalOnNetworkFs::check(&facts("wal", Some("nfs4"), true));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].title, "WAL mode on a nfs4 filesystem");
        assert!(WalOnNetworkFs::check(&facts("rollback", Some("nfs4"), true)).is_empty());
        assert!(WalOnNetworkFs::check(&facts("wal", Some("ext4"), false)).is_empty());
        assert!(WalOnNetworkFs::check(&facts("wal", None, false)).is_empty());
    }

    /// The mount table decides what counts as network or FUSE (`board::fs`), as for
    /// `diagnose`'s warning.
    #[test]
    fn sshfs_and_cifs_are_network_filesystems() {
        for fs in ["fuse.sshfs", "cifs", "nfs"] {
            assert!(crate::board::fs::is_network(fs), "{fs}");
        }
        assert!(!crate::board::fs::is_network("ext4"));
    }
}
