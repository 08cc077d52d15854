//! The README's `audit` section and the audit column of its scenario table, kept true: every
//! `console` block is run and must print exactly what it shows, the rules are listed in
//! registry order, and each claim about what `audit`, `diagnose` and `migrate --recount` do
//! on the example board is checked.

mod common;

use common::*;
use kanban_doctor::rules::audit::KINDS;
use serde_json::Value as Json;

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).unwrap()
}

fn section(text: &str, heading: &str) -> String {
    let start = text.find(heading).unwrap_or_else(|| panic!("{heading}"));
    let rest = &text[start + heading.len()..];
    let end = rest.find("\n## ").map_or(rest.len(), |e| e + 1);
    rest[..end].to_string()
}

/// Every ```console block: `$ kanban-doctor ARGS` then exactly what it prints.
#[test]
fn every_console_block_prints_what_it_shows() {
    let text = readme();
    let mut blocks = 0;
    for chunk in text.split("```console\n").skip(1) {
        let block = &chunk[..chunk.find("```").unwrap()];
        let (command, shown) = block.split_once('\n').unwrap();
        let args: Vec<&str> = command
            .strip_prefix("$ kanban-doctor ")
            .expect("a console block starts with `$ kanban-doctor`")
            .split_whitespace()
            .collect();
        let out = cmd().current_dir(root()).args(&args).output().unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            shown,
            "README block `{command}`"
        );
        blocks += 1;
    }
    assert!(blocks >= 2, "the audit and explain examples are there");
}

#[test]
fn readme_lists_the_audit_rules_in_registry_order() {
    let s = section(&readme(), "## `audit`");
    let marker = "The audit rules run in this order:";
    let start = s.find(marker).expect("the sentence listing the rules") + marker.len();
    let list = &s[start..];
    let list = &list[..list.find('.').unwrap()];
    let listed: Vec<&str> = list.split('`').skip(1).step_by(2).collect();
    assert_eq!(listed, KINDS);
}

fn json_of(args: &[&str]) -> Vec<Json> {
    let out = cmd().current_dir(root()).args(args).output().unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stderr)))
}

/// (title, kinds) of every task entry.
fn kinds_by_title(report: &[Json]) -> Vec<(String, Vec<String>)> {
    report
        .iter()
        .filter(|e| !e["task_id"].is_null())
        .map(|e| {
            (
                e["title"].as_str().unwrap().to_string(),
                e["diagnostics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d["kind"].as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

/// "On the same board `diagnose` reports only that `old-kernel-loop` waits in `ready`
/// (`stranded_in_ready`) and nothing about the failures of either task."
#[test]
fn diagnose_sees_none_of_the_legacy_loop() {
    let report = json_of(&[
        "--db",
        "fixtures/audit/legacy-loop.db",
        "diagnose",
        "--json",
        "--now",
        "1796100000",
    ]);
    assert_eq!(
        kinds_by_title(&report),
        [(
            "old-kernel-loop".to_string(),
            vec!["stranded_in_ready".to_string()]
        )]
    );
}

/// "`migrate --recount --trip` renames the two legacy columns, sets both tasks' counters
/// 0 → 12, blocks `old-kernel-loop` with a `gave_up` event, and `audit` then finds nothing."
#[test]
fn recount_and_trip_on_the_example_board_leave_nothing_to_find() {
    let (_dir, board) = copy_fixture("audit/legacy-loop.db");
    let db = board.to_str().unwrap();
    let out = cmd()
        .args([
            "--db",
            db,
            "migrate",
            "--recount",
            "--trip",
            "--now",
            "1796100000",
            "--no-backup",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Json = serde_json::from_slice(&out.stdout).unwrap();
    let steps: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["rename-column", "rename-column"]);
    let changes = report["recount"]["changes"].as_array().unwrap();
    let summary: Vec<(&str, i64, i64, bool)> = changes
        .iter()
        .map(|c| {
            (
                c["title"].as_str().unwrap(),
                c["before"]["consecutive_failures"].as_i64().unwrap(),
                c["after"]["consecutive_failures"].as_i64().unwrap(),
                c["tripped"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("old-kernel-loop", 0, 12, true),
            ("old-kernel-blocked", 0, 12, false)
        ]
    );
    let after = json_of(&["--db", db, "audit", "--json", "--now", "1796100000"]);
    assert!(after.is_empty(), "{after:?}");
}

/// The scenario table's last column: what `audit` finds on the old kernel's board.
#[test]
fn the_scenario_tables_audit_column_is_what_audit_finds() {
    let dir = tempfile::tempdir().unwrap();
    cmd()
        .args(["scenarios", "build", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    let board = dir.path().join("board-old-kernel.db");
    let report = json_of(&[
        "--db",
        board.to_str().unwrap(),
        "audit",
        "--json",
        "--now",
        "1796001200",
    ]);
    let found = kinds_by_title(&report);
    let text = readme();
    let table = section(&text, "## Seeded scenarios");
    let mut rows = 0;
    for line in table.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let name = cells[1].trim_matches('`');
        let column = cells[5];
        let mut expected: Vec<String> = column
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect();
        expected.sort();
        let mut actual = found
            .iter()
            .find(|(t, _)| t == name)
            .map(|(_, k)| k.clone())
            .unwrap_or_default();
        actual.sort();
        assert_eq!(actual, expected, "{name}: {column}");
        if expected.is_empty() {
            assert_eq!(column, "clean", "{name}");
        }
        rows += 1;
    }
    assert_eq!(rows, 6, "one row per scenario");
}

/// "`kanban-doctor audit --explain KIND` prints a rule's documentation; `--list-rules` lists
/// them."
#[test]
fn audit_lists_and_explains_its_rules() {
    let out = cmd().args(["audit", "--list-rules"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let listed: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(listed, KINDS);
    for kind in KINDS {
        let out = cmd().args(["audit", "--explain", kind]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{kind}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains(kind), "{kind}");
        assert!(text.contains("Why is this bad?"), "{kind}: {text}");
        let json = cmd()
            .args(["audit", "--explain", kind, "--json"])
            .output()
            .unwrap();
        let doc: Json = serde_json::from_slice(&json.stdout).unwrap();
        assert_eq!(doc["kind"], *kind);
    }
}
