//! One fixture board per rule (`fixtures/rules/<kind>.db`, made by `make_rules.py` and
//! checked against hermes-agent by `check_with_reference.py`), run one rule at a time, with a
//! snapshot per rule; and a meta-test that every rule has its documentation, fixture and
//! snapshot.

mod common;

use common::*;

fn now() -> String {
    std::fs::read_to_string(fixture("rules/now.txt"))
        .unwrap()
        .trim()
        .to_string()
}

fn kinds() -> Vec<String> {
    let out = cmd().args(["diagnose", "--list-rules"]).output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn all_task_ids(board: &std::path::Path) -> Vec<String> {
    let conn =
        rusqlite::Connection::open_with_flags(board, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.prepare("SELECT id FROM tasks ORDER BY rowid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn each_rule_fires_and_stays_silent_on_its_fixture() {
    for kind in kinds() {
        let board = fixture(&format!("rules/{kind}.db"));
        let mut c = cmd();
        c.args([
            "diagnose",
            "--json",
            "--exit-zero",
            "--now",
            &now(),
            "--rule",
            &kind,
            "--db",
        ])
        .arg(&board);
        let config = fixture(&format!("rules/{kind}.config.yaml"));
        if config.exists() {
            c.arg("--config").arg(&config);
        }
        let out = c.output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{kind}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let tasks: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        let fired: Vec<&str> = tasks
            .iter()
            .map(|t| t["task_id"].as_str().unwrap())
            .collect();
        for t in &tasks {
            for d in t["diagnostics"].as_array().unwrap() {
                assert_eq!(d["kind"], kind.as_str(), "--rule runs only that rule");
            }
        }
        let ids = all_task_ids(&board);
        assert!(
            fired.len() >= 2,
            "{kind}: fires on fewer than two tasks: {fired:?}"
        );
        assert!(
            ids.len() - fired.len() >= 2,
            "{kind}: silent on fewer than two tasks"
        );
        let text = String::from_utf8(out.stdout).unwrap();
        insta_settings().bind(|| insta::assert_snapshot!(format!("rule_{kind}"), text));
    }
}

/// Snapshot of the rule kinds themselves lives in `diagnose_rule_kinds`; this checks that
/// each has what a rule needs: its file with the documentation headings, a fixture, a snapshot.
#[test]
fn every_rule_has_docs_a_fixture_and_a_snapshot() {
    for kind in kinds() {
        let src = std::fs::read_to_string(root().join(format!("src/rules/{kind}.rs")))
            .unwrap_or_else(|_| panic!("src/rules/{kind}.rs is missing"));
        assert!(
            src.starts_with(&format!("//! `{kind}`")),
            "{kind}: the doc comment must open with the kind"
        );
        for heading in [
            "## What it does",
            "## Why is this bad?",
            "## Severity and thresholds",
            "## Suggested actions",
        ] {
            assert!(
                src.contains(&format!("//! {heading}")),
                "{kind}: doc comment lacks {heading:?}"
            );
        }
        assert!(
            src.contains("#[cfg(test)]"),
            "{kind}: no unit tests beneath the rule"
        );
        assert!(
            fixture(&format!("rules/{kind}.db")).exists(),
            "{kind}: no fixture board"
        );
        assert!(
            root().join(format!("snapshots/rule_{kind}.snap")).exists(),
            "{kind}: no snapshot"
        );
    }
}
