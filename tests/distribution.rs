//! How kanban-doctor reaches users, kept true: what `--version` says, the crate `cargo
//! package` would publish, the Python package metadata (`pyproject.toml`) beside the
//! crate's, and the composite action (`action.yml`) checked with actionlint.

mod common;

use common::*;

#[test]
fn long_version_names_the_sqlite_and_the_hermes_schema() {
    let out = cmd().arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let line = String::from_utf8(out.stdout).unwrap();
    // The SQLite the binary opens boards with: the bundled one, as the library reports it.
    let sqlite = rusqlite::version();
    assert!(sqlite.starts_with("3."), "{sqlite}");
    assert_eq!(
        line,
        format!(
            "kanban-doctor {} (SQLite {sqlite}, hermes-agent 0.19.0 schema)\n",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn short_version_is_the_crate_version_alone() {
    let out = cmd().arg("-V").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("kanban-doctor {}\n", env!("CARGO_PKG_VERSION"))
    );
}
