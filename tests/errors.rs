//! The tool's own failures from the command line: each is exit 2 with its own code.

mod common;

use common::*;

/// A temporary directory that cannot be used is its own error: exit 2 with
/// `kanban_doctor::temp_file`, never "cannot write output" (whose broken-pipe case `main`
/// turns into exit 0) and never an error about the board.
#[test]
fn an_unusable_temp_dir_is_a_temp_file_error() {
    let tmp = tempfile::tempdir().unwrap();
    let gone = tmp.path().join("no-such-dir");
    let board = fixture("golden/cases/36-severity-sorting/board.db");
    let runs: [&[&str]; 4] = [
        &["scenarios", "verify"],
        &["scenarios", "verify", "--json"],
        // diagnose spills its report, table or JSON, to a temporary file.
        &["diagnose", "--now", "1767225600"],
        &["diagnose", "--now", "1767225600", "--json"],
    ];
    for args in runs {
        let out = cmd()
            .env("TMPDIR", &gone)
            .args(args)
            .arg("--db")
            .arg(&board)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(
            stderr.contains("kanban_doctor::temp_file"),
            "{args:?}: {stderr}"
        );
        assert!(
            !stderr.contains("cannot write output"),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("no-such-dir"), "{args:?}: {stderr}");
    }
}
