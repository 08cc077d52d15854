//! One fixture board per rule (`fixtures/rules/<kind>.db`, made by `make_rules.py` and
//! checked against hermes-agent by `check_with_reference.py`), run one rule at a time, with a
//! snapshot per rule; a meta-test that every rule has its documentation, fixture and
//! snapshot; a snapshot of the whole registry; and the README's list of rules.

mod common;

use std::collections::BTreeSet;

use common::*;
use kanban_doctor::rules::{DOCS, KINDS, RuleDoc};

fn now() -> String {
    std::fs::read_to_string(fixture("rules/now.txt"))
        .unwrap()
        .trim()
        .to_string()
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

/// Run one rule over its fixture board: the JSON report.
fn run_on_fixture(kind: &str) -> String {
    let board = fixture(&format!("rules/{kind}.db"));
    let mut c = cmd();
    c.args([
        "diagnose",
        "--json",
        "--exit-zero",
        "--now",
        &now(),
        "--rule",
        kind,
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
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn each_rule_fires_and_stays_silent_on_its_fixture() {
    for &kind in KINDS {
        let text = run_on_fixture(kind);
        let tasks: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        let fired: Vec<&str> = tasks
            .iter()
            .map(|t| t["task_id"].as_str().unwrap())
            .collect();
        let mut severities = BTreeSet::new();
        for t in &tasks {
            for d in t["diagnostics"].as_array().unwrap() {
                assert_eq!(d["kind"], kind, "--rule runs only that rule");
                severities.insert(d["severity"].as_str().unwrap().to_string());
            }
        }
        let documented: BTreeSet<String> = doc(kind)
            .severities
            .iter()
            .map(|s| s.as_str().to_string())
            .collect();
        assert_eq!(
            severities, documented,
            "{kind}: the fixture reports exactly the severities the documentation lists"
        );
        let ids = all_task_ids(&fixture(&format!("rules/{kind}.db")));
        assert!(
            fired.len() >= 2,
            "{kind}: fires on fewer than two tasks: {fired:?}"
        );
        assert!(
            ids.len() - fired.len() >= 2,
            "{kind}: silent on fewer than two tasks"
        );
        insta_settings().bind(|| insta::assert_snapshot!(format!("rule_{kind}"), text));
    }
}

fn doc(kind: &str) -> &'static RuleDoc {
    kanban_doctor::rules::doc(kind).unwrap_or_else(|| panic!("{kind}: no documentation"))
}

/// Each rule has what a rule needs: its documentation (a summary and every section, in
/// order), a fixture board and a snapshot.
#[test]
fn every_rule_has_docs_a_fixture_and_a_snapshot() {
    assert_eq!(DOCS.len(), KINDS.len());
    for (&kind, d) in KINDS.iter().zip(DOCS) {
        assert_eq!(d.kind, kind, "DOCS is in registry order");
        assert_eq!(doc(kind), *d, "doc() finds each kind");
        assert_doc_shape(d);
        for key in d.config_keys {
            assert!(
                ["kanban.", "auxiliary.", "model"]
                    .iter()
                    .any(|p| key.starts_with(p)),
                "{kind}: {key:?} is not a path in config.yaml"
            );
        }
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

/// Every rule kind, its severities and the settings that tune it, in registry order, so
/// that a new, renamed or retuned rule shows up in review (cargo-deny snapshots its codes).
#[test]
fn registry_snapshot() {
    let mut text = String::new();
    for d in DOCS {
        let severities: Vec<&str> = d.severities.iter().map(|s| s.as_str()).collect();
        text += &format!("{}: {}\n", d.kind, severities.join(", "));
        for key in d.config_keys {
            text += &format!("    {key}\n");
        }
    }
    insta_settings().bind(|| insta::assert_snapshot!("rules_registry", text));
}

/// The README names the rules in the `diagnose` section, in registry order:
/// "The eight rules of hermes-agent 0.19.0 run in this order: `a`, `b`, …".
#[test]
fn readme_lists_the_rules_in_registry_order() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = &readme[readme.find("## `diagnose`").expect("a diagnose section")..];
    let marker = " rules of hermes-agent 0.19.0 run in this order:";
    let start = section
        .find(marker)
        .expect("the sentence listing the rules");
    let count = section[..start].rsplit(' ').next().unwrap();
    let list = &section[start + marker.len()..];
    let list = &list[..list.find('.').expect("the end of the sentence")];
    let listed: Vec<&str> = list.split('`').skip(1).step_by(2).collect();
    assert_eq!(listed, KINDS, "README.md lists the rules in registry order");
    const NUMBERS: [&str; 13] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve",
    ];
    assert_eq!(
        NUMBERS.iter().position(|n| n.eq_ignore_ascii_case(count)),
        Some(KINDS.len()),
        "README.md counts the rules: {count:?}"
    );
}
