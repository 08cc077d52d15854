//! `migrate` on every schema state and every kind of bad input.

mod common;

use common::*;
use predicates::prelude::*;
use serde_json::Value;

fn migrate_json(path: &std::path::Path, extra: &[&str]) -> Value {
    let out = cmd()
        .arg("migrate")
        .arg("--db")
        .arg(path)
        .arg("--json")
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "{out:?}"
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn label(state: &Value) -> String {
    let counter = state["counter"].as_str().unwrap().to_string();
    let incomplete = state["missing_columns"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c.as_str().unwrap().starts_with("tasks."));
    if incomplete {
        format!("{counter}+incomplete")
    } else {
        counter
    }
}

/// (fixture, detected state, state after a default migrate)
const BOARDS: &[(&str, &str, &str)] = &[
    ("boards/legacy.db", "legacy", "current"),
    ("boards/pre-counter.db", "pre-counter", "current"),
    ("boards/partial.db", "partial", "partial"),
    ("boards/incomplete.db", "current+incomplete", "current"),
    ("boards/legacy-view-trigger.db", "legacy", "current"),
    ("boards/legacy-wal.db", "legacy", "current"),
    ("boards/current.db", "current", "current"),
];

#[test]
fn each_schema_state_is_detected() {
    for (rel, state, _) in BOARDS {
        let (_d, path) = copy_fixture(rel);
        let r = migrate_json(&path, &["--check"]);
        assert_eq!(label(&r["state_before"]), *state, "{rel}");
    }
}

#[test]
fn migrate_preserves_every_value_and_second_run_is_a_noop() {
    for (rel, _, after) in BOARDS {
        let (_d, path) = copy_fixture(rel);
        let before = task_values(&path);
        let r = migrate_json(&path, &[]);
        let state_after = r["state_after"].clone();
        if !state_after.is_null() {
            assert_eq!(label(&state_after), *after, "{rel}");
        }
        assert_eq!(task_values(&path), before, "{rel}: values changed");
        let hash = sha256(&path);
        let again = migrate_json(&path, &[]);
        assert_eq!(
            again["steps"],
            serde_json::json!([]),
            "{rel}: second run planned work"
        );
        assert_eq!(again["changed"], false);
        assert_eq!(sha256(&path), hash, "{rel}: second run wrote");
    }
}

#[test]
fn check_and_dry_run_leave_the_file_byte_identical() {
    for (rel, state, _) in BOARDS {
        let (_d, path) = copy_fixture(rel);
        let hash = sha256(&path);
        let needs_work = !matches!(*state, "current" | "partial");
        cmd()
            .args(["migrate", "--check", "--db"])
            .arg(&path)
            .assert()
            .code(if needs_work { 1 } else { 0 });
        cmd()
            .args(["migrate", "--dry-run", "--db"])
            .arg(&path)
            .assert()
            .code(0);
        assert_eq!(sha256(&path), hash, "{rel}");
        let siblings = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(siblings, 1, "{rel}: a read-only command left files behind");
    }
}

/// The migrated `tasks` (and every other reference table) has exactly the reference columns.
#[test]
fn migrated_schema_equals_the_reference_column_list() {
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("reference/schema.json")).unwrap())
            .unwrap();
    for (rel, _, _) in BOARDS.iter().filter(|(r, _, _)| !r.contains("partial")) {
        let (_d, path) = copy_fixture(rel);
        migrate_json(&path, &[]);
        let conn = rusqlite::Connection::open(&path).unwrap();
        for table in reference["tables"].as_array().unwrap() {
            let name = table["name"].as_str().unwrap();
            let mut want: Vec<(String, String, i64, Option<String>)> = table["columns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        c["name"].as_str().unwrap().into(),
                        c["type"].as_str().unwrap().into(),
                        c["notnull"].as_i64().unwrap(),
                        c["dflt_value"].as_str().map(String::from),
                    )
                })
                .collect();
            let mut got: Vec<(String, String, i64, Option<String>)> = conn
                .prepare("SELECT name, type, \"notnull\", dflt_value FROM pragma_table_info(?1)")
                .unwrap()
                .query_map([name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            want.sort();
            got.sort();
            assert_eq!(got, want, "{rel}: table {name}");
        }
        for index in reference["indexes"].as_array().unwrap() {
            let n: i64 = conn
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type='index' AND name=?1",
                    [index["name"].as_str().unwrap()],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(n, 1, "{rel}: index {}", index["name"]);
        }
    }
}

#[test]
fn views_and_triggers_follow_the_rename() {
    let (_d, path) = copy_fixture("boards/legacy-view-trigger.db");
    migrate_json(&path, &[]);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let sql: Vec<String> = conn
        .prepare("SELECT sql FROM sqlite_master WHERE type IN ('view','trigger')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(sql.len(), 2);
    assert!(
        sql.iter()
            .all(|s| s.contains("consecutive_failures") && !s.contains("spawn_failures\""))
    );
    // The view still works on the migrated board.
    let n: i64 = conn
        .query_row("SELECT count(*) FROM failing_tasks", [], |r| r.get(0))
        .unwrap();
    assert!(n > 0);
}

#[test]
fn a_refused_rename_falls_back_to_copy_and_says_so() {
    let (_d, path) = copy_fixture("boards/legacy.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        // A view over a table that does not exist: SQLite refuses any RENAME COLUMN then.
        conn.execute_batch(
            "CREATE VIEW broken AS SELECT spawn_failures FROM tasks JOIN no_such_table",
        )
        .unwrap();
    }
    let before = task_values(&path);
    let r = migrate_json(&path, &[]);
    let statuses: Vec<&str> = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["fell-back", "fell-back"]);
    assert!(
        r["steps"][0]["refused"]
            .as_str()
            .unwrap()
            .contains("no_such_table")
    );
    assert_eq!(task_values(&path), before);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let has_legacy: i64 = conn
        .query_row(
            "SELECT count(*) FROM pragma_table_info('tasks') WHERE name='spawn_failures'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(has_legacy, 1, "copy keeps the legacy column");
}

#[test]
fn copy_strategy_keeps_legacy_columns_and_drop_legacy_removes_them() {
    let (_d, path) = copy_fixture("boards/legacy.db");
    let before = task_values(&path);
    let r = migrate_json(&path, &["--strategy", "copy"]);
    assert_eq!(r["state_after"]["counter"], "partial");
    assert_eq!(task_values(&path), before);
    let r = migrate_json(&path, &["--drop-legacy"]);
    assert_eq!(r["state_after"]["counter"], "current");
    assert_eq!(task_values(&path), before);
}

#[test]
fn partial_boards_keep_the_current_values_when_dropping_legacy() {
    let (_d, path) = copy_fixture("boards/partial.db");
    let before = task_values(&path);
    let r = migrate_json(&path, &["--drop-legacy"]);
    assert_eq!(r["state_after"]["counter"], "current");
    assert_eq!(task_values(&path), before);
}

#[test]
fn wal_boards_stay_wal() {
    let (_d, path) = copy_fixture("boards/legacy-wal.db");
    let r = migrate_json(&path, &[]);
    assert_eq!(r["journal_mode"], "wal");
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!((bytes[18], bytes[19]), (2, 2));
}

#[test]
fn backups_are_named_by_time_and_hash_and_never_overwrite() {
    let (dir, path) = copy_fixture("boards/legacy.db");
    let r = migrate_json(&path, &[]);
    let backup = r["backup"]["path"].as_str().unwrap();
    let name = std::path::Path::new(backup)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let re_ok = name.starts_with("legacy.db.")
        && name.ends_with(".bak")
        && name.len() == "legacy.db.20261130T184500Z-3f9a1c2e.bak".len();
    assert!(re_ok, "{name}");
    // The backup is the board as it was: still legacy.
    assert_eq!(
        task_values(std::path::Path::new(backup)),
        task_values(&path)
    );
    // An explicit --backup that exists is refused and nothing changes.
    let (_d2, other) = copy_fixture("boards/pre-counter.db");
    let hash = sha256(&other);
    let existing = dir.path().join("taken.bak");
    std::fs::write(&existing, b"keep me").unwrap();
    cmd()
        .args(["migrate", "--db"])
        .arg(&other)
        .arg("--backup")
        .arg(&existing)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("refusing to overwrite"));
    assert_eq!(sha256(&other), hash);
    assert_eq!(std::fs::read(&existing).unwrap(), b"keep me");
}

#[test]
fn no_backup_is_made_when_there_is_nothing_to_do() {
    let (dir, path) = copy_fixture("boards/current.db");
    migrate_json(&path, &[]);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn a_locked_board_times_out_with_exit_2_and_stays_unchanged() {
    let (_d, path) = copy_fixture("boards/legacy.db");
    let hash = sha256(&path);
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = std::time::Instant::now();
    cmd()
        .args(["migrate", "--wait", "0.3", "--db"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("kanban_doctor::migrate::locked")
                .and(predicate::str::contains("dispatcher")),
        );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);
    assert_eq!(sha256(&path), hash);
}

/// Bad inputs: exit 2, a coded one-paragraph error, no panic, the file untouched.
#[test]
fn bad_inputs_exit_2_without_panic_or_change() {
    let cases = [
        (
            "boards/bad/not-sqlite.db",
            "kanban_doctor::board::not_sqlite",
        ),
        ("boards/bad/empty.db", "kanban_doctor::board::empty_file"),
        (
            "boards/bad/tls-header.db",
            "kanban_doctor::board::tls_overwrite",
        ),
        (
            "boards/bad/tls-at-5.db",
            "kanban_doctor::board::tls_overwrite",
        ),
        ("boards/bad/truncated.db", "kanban_doctor::board::truncated"),
        ("boards/not-a-board.db", "kanban_doctor::board::not_a_board"),
        (
            "boards/empty-schema.db",
            "kanban_doctor::board::not_a_board",
        ),
    ];
    for (rel, code) in cases {
        for args in [
            &["migrate"][..],
            &["migrate", "--check"],
            &["migrate", "--dry-run"],
            &["diagnose"],
            &["diagnose", "--json"],
        ] {
            let (_d, path) = copy_fixture(rel);
            let hash = sha256(&path);
            let out = cmd().args(args).arg("--db").arg(&path).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{rel} {args:?}: {stderr}");
            assert!(stderr.contains(code), "{rel} {args:?}: {stderr}");
            assert!(!stderr.contains("panicked"), "{rel}");
            assert!(out.stdout.is_empty(), "{rel} {args:?}");
            assert_eq!(sha256(&path), hash, "{rel} {args:?}");
            assert_eq!(
                std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
                1,
                "{rel} {args:?}"
            );
        }
    }
}

#[test]
fn a_missing_path_is_an_error_and_no_file_appears() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kanban.db");
    for args in [&["migrate"][..], &["diagnose"]] {
        cmd()
            .args(args)
            .arg("--db")
            .arg(&path)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("kanban_doctor::board::not_found"));
    }
    assert!(!path.exists());
}

#[test]
fn dry_run_plan_snapshot() {
    let (_d, path) = copy_fixture("boards/legacy.db");
    let out = cmd()
        .args(["migrate", "--dry-run", "--db"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    snapshot_stdout("migrate_dry_run_legacy", &out);
}

#[test]
fn json_report_snapshot() {
    let (_d, path) = copy_fixture("boards/legacy.db");
    let out = cmd()
        .args(["migrate", "--json", "--db"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    snapshot_stdout("migrate_json_legacy", &out);
}

#[test]
fn null_legacy_counters_survive_a_copy_migration() {
    let (_d, path) = copy_fixture("boards/legacy.db");
    {
        // A hand-made board whose legacy counter allows NULL.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "ALTER TABLE tasks ADD COLUMN tmp INTEGER; UPDATE tasks SET tmp = spawn_failures;
             ALTER TABLE tasks DROP COLUMN spawn_failures; ALTER TABLE tasks RENAME COLUMN tmp TO spawn_failures;
             UPDATE tasks SET spawn_failures = NULL WHERE rowid % 7 = 0;",
        )
        .unwrap();
    }
    let r = migrate_json(&path, &[]);
    assert_eq!(
        r["steps"][0]["action"], "copy-values",
        "a differently declared column is copied"
    );
    assert_eq!(r["state_after"]["counter"], "partial");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let nulls: i64 = conn
        .query_row(
            "SELECT count(*) FROM tasks WHERE consecutive_failures IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(nulls, 0);
}

/// The steps of a report, each without its status (and the refusal a fallback records).
fn steps_without_status(report: &Value) -> Vec<Value> {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let mut s = s.clone();
            let m = s.as_object_mut().unwrap();
            m.remove("status");
            m.remove("refused");
            s
        })
        .collect()
}

fn statuses(report: &Value) -> Vec<(String, String)> {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["action"].as_str().unwrap().to_string(),
                s["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// `--dry-run` prints exactly the steps (action, target, SQL, fallback, note) that apply
/// then runs, for every fixture board that needs work, under each strategy; a rename that
/// SQLite refuses differs only in its status (`fell-back`) and the refusal it records.
#[test]
fn dry_run_steps_equal_applied_steps() {
    let mut boards: Vec<std::path::PathBuf> = std::fs::read_dir(fixture("boards"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "db"))
        .collect();
    boards.sort();
    // And a legacy board whose renames SQLite refuses (a view over a missing table).
    let broken = tempfile::tempdir().unwrap();
    let refused = broken.path().join("refused-rename.db");
    std::fs::copy(fixture("boards/legacy.db"), &refused).unwrap();
    rusqlite::Connection::open(&refused)
        .unwrap()
        .execute_batch("CREATE VIEW broken AS SELECT spawn_failures FROM tasks JOIN no_such_table")
        .unwrap();
    boards.push(refused.clone());
    let mut compared = 0;
    let mut fell_back = 0;
    for board in &boards {
        let name = board.file_name().unwrap().to_str().unwrap();
        for opts in [&[][..], &["--strategy", "copy"], &["--drop-legacy"]] {
            // With --drop-legacy a refused rename's fallback also drops the legacy column;
            // the view that refused the rename refuses the drop too, and the migration
            // stops with `step_failed`, naming the view, the board unchanged.
            if board == &refused && opts == ["--drop-legacy"] {
                let dir = tempfile::tempdir().unwrap();
                let copy = dir.path().join(name);
                std::fs::copy(board, &copy).unwrap();
                let hash = common::sha256(&copy);
                let out = cmd()
                    .args(["migrate", "--drop-legacy", "--db"])
                    .arg(&copy)
                    .output()
                    .unwrap();
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert_eq!(out.status.code(), Some(2), "{stderr}");
                assert!(
                    stderr.contains("kanban_doctor::migrate::step_failed"),
                    "{stderr}"
                );
                assert!(stderr.contains("broken"), "{stderr}");
                assert_eq!(common::sha256(&copy), hash);
                continue;
            }
            let dir = tempfile::tempdir().unwrap();
            let copy = dir.path().join(name);
            std::fs::copy(board, &copy).unwrap();
            let dry = cmd()
                .args(["migrate", "--dry-run", "--json", "--db"])
                .arg(&copy)
                .args(opts)
                .output()
                .unwrap();
            if dry.status.code() == Some(2) {
                // Only a file that is no board at all has no plan.
                let stderr = String::from_utf8_lossy(&dry.stderr);
                assert!(
                    stderr.contains("kanban_doctor::board::not_a_board"),
                    "{name} {opts:?}: {stderr}"
                );
                continue;
            }
            assert_eq!(dry.status.code(), Some(0), "{name} {opts:?}");
            let planned: Value = serde_json::from_slice(&dry.stdout).unwrap();
            if planned["steps"].as_array().unwrap().is_empty() {
                continue;
            }
            assert!(
                statuses(&planned).iter().all(|(_, s)| s == "planned"),
                "{name} {opts:?}"
            );
            let applied = migrate_json(&copy, &[&["--no-backup"][..], opts].concat());
            assert_eq!(applied["changed"], true, "{name} {opts:?}");
            assert_eq!(
                steps_without_status(&applied),
                steps_without_status(&planned),
                "{name} {opts:?}"
            );
            for (action, status) in statuses(&applied) {
                match status.as_str() {
                    "applied" => {}
                    "fell-back" if action == "rename-column" => fell_back += 1,
                    other => panic!("{name} {opts:?}: {action} {other}"),
                }
            }
            compared += 1;
        }
    }
    // legacy, legacy-wal, legacy-view-trigger, pre-counter and incomplete under each
    // option set; partial with --drop-legacy; the refused renames under two.
    assert!(compared >= 18, "only {compared} plans were compared");
    // Both renames, under the default strategy.
    assert_eq!(fell_back, 2, "the refused renames fell back");
}
