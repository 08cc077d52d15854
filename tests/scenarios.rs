//! The seeded scenarios: committed boards rebuild identically, the kernel model matches a
//! board written by the real hermes-agent kernel, and every output is snapshotted.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use kanban_doctor::scenarios::{self, kernel::Semantics};
use predicates::prelude::*;
use serde_json::{Value, json};

const NOW: &str = "1796001200";

/// Every row of every table, and the schema, as text: what "the same board" means.
fn dump(path: &Path) -> Vec<String> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut out: Vec<String> = conn
        .prepare("SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for t in tables {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM \"{t}\" ORDER BY rowid"))
            .unwrap();
        let n = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            let cells: Vec<String> = (0..n)
                .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                .collect();
            out.push(format!("{t}: {}", cells.join(" | ")));
        }
    }
    out
}

#[test]
fn building_again_gives_the_committed_boards() {
    let dir = tempfile::tempdir().unwrap();
    cmd()
        .args(["scenarios", "build", "--out"])
        .arg(dir.path())
        .assert()
        .code(0);
    for name in ["board.db", "board-legacy.db", "board-old-kernel.db"] {
        assert_eq!(
            dump(&dir.path().join(name)),
            dump(&fixture(&format!("seeded/{name}"))),
            "{name}"
        );
    }
}

#[test]
fn build_refuses_to_overwrite_and_limits_to_named_scenarios() {
    let dir = tempfile::tempdir().unwrap();
    cmd()
        .args(["scenarios", "build", "--scenario", "crash-loop", "--out"])
        .arg(dir.path())
        .assert()
        .code(0);
    let conn = rusqlite::Connection::open(dir.path().join("board.db")).unwrap();
    let titles: Vec<String> = conn
        .prepare("SELECT title FROM tasks")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(titles, ["crash-loop"]);
    drop(conn);
    let hash = sha256(&dir.path().join("board.db"));
    cmd()
        .args(["scenarios", "build", "--out"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--force"));
    assert_eq!(sha256(&dir.path().join("board.db")), hash);
    cmd()
        .args(["scenarios", "build", "--force", "--out"])
        .arg(dir.path())
        .assert()
        .code(0);
    cmd()
        .args(["scenarios", "build", "--scenario", "nope", "--out"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("timeout-loop"));
}

type Summary = BTreeMap<String, Value>;

/// Per task title: status, counter, error, runs (status, outcome, error), events (kind,
/// sorted payload keys) — the shape of `kernel-board.expected.json`.
fn summarize_board(path: &Path) -> Summary {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let tasks: Vec<(String, String, String, i64, Option<String>)> = conn
        .prepare("SELECT id, title, status, consecutive_failures, last_failure_error FROM tasks ORDER BY rowid")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut out = Summary::new();
    for (id, title, status, counter, error) in tasks {
        let runs: Vec<Value> = conn
            .prepare("SELECT status, outcome, error FROM task_runs WHERE task_id = ?1 ORDER BY id")
            .unwrap()
            .query_map([&id], |r| {
                Ok(json!([
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?
                ]))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let events: Vec<Value> = conn
            .prepare("SELECT kind, payload FROM task_events WHERE task_id = ?1 ORDER BY id")
            .unwrap()
            .query_map([&id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
            })
            .unwrap()
            .map(Result::unwrap)
            .map(|(kind, payload)| {
                let mut keys: Vec<String> = payload
                    .and_then(|p| serde_json::from_str::<serde_json::Map<String, Value>>(&p).ok())
                    .map(|m| m.keys().cloned().collect())
                    .unwrap_or_default();
                keys.sort();
                json!([kind, keys])
            })
            .collect();
        out.insert(
            title,
            json!({"status": status, "consecutive_failures": counter, "last_failure_error": error, "runs": runs, "events": events}),
        );
    }
    out
}

#[test]
fn the_model_matches_the_board_the_real_kernel_wrote() {
    let kernel_board = summarize_board(&fixture("seeded/kernel-board.db"));
    let expected: Summary = serde_json::from_str(
        &std::fs::read_to_string(fixture("seeded/kernel-board.expected.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        kernel_board, expected,
        "kernel-board.expected.json is out of date"
    );
    let dir = tempfile::tempdir().unwrap();
    let selected = scenarios::select(&[]).unwrap();
    let model = scenarios::play(&selected, Semantics::Unified);
    scenarios::write::write_board(
        &dir.path().join("m.db"),
        &model,
        scenarios::write::Names::Current,
        false,
    )
    .unwrap();
    let modelled = summarize_board(&dir.path().join("m.db"));
    for (title, want) in &expected {
        assert_eq!(modelled.get(title), Some(want), "scenario {title}");
    }
    assert_eq!(modelled.len(), expected.len());
}

#[test]
fn diagnose_snapshots_for_each_scenario() {
    let board = fixture("seeded/board.db");
    for (i, s) in scenarios::SCENARIOS.iter().enumerate() {
        let id = scenarios::task_id(i);
        let table = cmd()
            .args(["diagnose", "--now", NOW, "--task", &id, "--db"])
            .arg(&board)
            .output()
            .unwrap();
        let json = cmd()
            .args(["diagnose", "--json", "--now", NOW, "--task", &id, "--db"])
            .arg(&board)
            .output()
            .unwrap();
        let text = String::from_utf8(table.stdout)
            .unwrap()
            .replace(&root().display().to_string(), "[ROOT]");
        insta_settings().bind(|| {
            insta::assert_snapshot!(format!("scenario_{}_table", s.name), text);
            insta::assert_snapshot!(
                format!("scenario_{}_json", s.name),
                String::from_utf8(json.stdout).unwrap()
            );
        });
    }
}

#[test]
fn migrate_report_for_the_legacy_scenario_board() {
    let (_d, path) = copy_fixture("seeded/board-legacy.db");
    let before = cmd()
        .args(["diagnose", "--json", "--now", NOW, "--db"])
        .arg(&path)
        .output()
        .unwrap();
    let out = cmd()
        .args(["migrate", "--json", "--no-backup", "--db"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    snapshot_stdout("scenario_migrate_legacy_board", &out);
    let after = cmd()
        .args(["diagnose", "--json", "--now", NOW, "--db"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(before.stdout, after.stdout);
    let current = cmd()
        .args(["diagnose", "--json", "--now", NOW, "--db"])
        .arg(fixture("seeded/board.db"))
        .output()
        .unwrap();
    assert_eq!(current.stdout, after.stdout);
}

#[test]
fn verify_passes_and_its_report_is_stable() {
    let out = cmd().args(["scenarios", "verify"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    snapshot_stdout("scenarios_verify", &out);
    let list = cmd().args(["scenarios", "--list"]).output().unwrap();
    snapshot_stdout("scenarios_list", &list);
}

#[test]
fn simulate_snapshots_under_both_semantics() {
    let outcomes = "timed_out,timed_out,crashed,timed_out,timed_out,timed_out";
    for sem in ["unified", "legacy"] {
        let out = cmd()
            .args(["simulate", "--outcomes", outcomes, "--semantics", sem])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        snapshot_stdout(&format!("simulate_{sem}"), &out);
    }
    let spawn = cmd()
        .args([
            "simulate",
            "--outcomes",
            "spawn_failed,spawn_failed,timed_out,spawn_failed",
            "--semantics",
            "legacy",
            "--limit",
            "3",
        ])
        .output()
        .unwrap();
    snapshot_stdout("simulate_legacy_spawn_reset", &spawn);
    cmd()
        .args(["simulate", "--outcomes", "timed_out,exploded"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown outcome \"exploded\""));
}

/// The README shows what its first set-up command prints; keep it true.
#[test]
fn the_readme_shows_what_the_first_command_prints() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = &readme[readme.find("## First steps").unwrap()..];
    let start = section.find("```text\n").unwrap() + "```text\n".len();
    let shown = &section[start..start + section[start..].find("```").unwrap()];
    let out = cmd()
        .current_dir(root())
        .args(["diagnose", "--db", "fixtures/seeded/board.db", "--now", NOW])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), shown);
}

/// `--list` belongs to `scenarios` alone: with a subcommand it is refused, never a silent
/// listing in place of the build or the verification asked for.
#[test]
fn list_with_a_subcommand_is_refused_not_a_skipped_build() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for args in [
        &["scenarios", "build", "--list", "--out"][..],
        &["scenarios", "--list", "build", "--out"][..],
    ] {
        cmd()
            .args(args)
            .arg(&out)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains("--list"));
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
    for args in [
        &["scenarios", "verify", "--list"][..],
        &["scenarios", "--list", "verify"][..],
    ] {
        cmd().args(args).assert().code(2).stdout("");
    }
    // Alone, it lists, as `scenarios` with no subcommand does.
    let listed = cmd().args(["scenarios", "--list"]).output().unwrap();
    assert_eq!(listed.status.code(), Some(0));
    assert_eq!(
        listed.stdout,
        cmd().arg("scenarios").output().unwrap().stdout
    );
    assert!(String::from_utf8_lossy(&listed.stdout).contains("t_00000001"));
}
