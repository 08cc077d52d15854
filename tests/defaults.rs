//! `--defaults unified|hermes-0.19` on `diagnose` and `audit`, and the README's claims
//! about it that the golden suite does not already check: a task with two spawn failures is
//! flagged under stock hermes-agent 0.19.0's defaults and not under kanban-doctor's, the
//! audit's breaker limit follows the set, the text header says which set and where each
//! threshold came from, and without a config file `triage_aux_unavailable` stays silent
//! under either set.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value as Json;

const NOW: &str = "1767225600";

/// A current-schema board with the given rows, in a temp dir that lives as long as the
/// guard. The schema is the reference's own (`init_db()`), from the empty golden board.
fn board(sql: &str) -> (tempfile::TempDir, PathBuf) {
    let (dir, path) = copy_fixture("golden/cases/01-empty-board/board.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(sql).unwrap();
    (dir, path)
}

/// One `todo` task for `alice` whose last two runs failed to spawn, counter 2.
fn two_spawn_failures() -> (tempfile::TempDir, PathBuf) {
    board(
        "INSERT INTO tasks (id, title, assignee, status, created_at, consecutive_failures,
                            last_failure_error)
           VALUES ('t_spawn2', 'Two spawn failures', 'alice', 'todo', 1767100000, 2,
                   'spawn: profile missing');
         INSERT INTO task_runs (task_id, status, started_at, ended_at, outcome, error)
           VALUES ('t_spawn2', 'failed', 1767200000, 1767200001, 'spawn_failed', 'spawn: profile missing'),
                  ('t_spawn2', 'failed', 1767200100, 1767200101, 'spawn_failed', 'spawn: profile missing');",
    )
}

fn run(command: &str, db: &Path, extra: &[&str]) -> std::process::Output {
    cmd()
        .arg(command)
        .arg("--db")
        .arg(db)
        .args(["--now", NOW])
        .args(extra)
        .output()
        .unwrap()
}

/// `(task_id, [kind])` of every entry in a JSON report.
fn kinds(out: &std::process::Output) -> Vec<(String, Vec<String>)> {
    let v: Vec<Json> = serde_json::from_slice(&out.stdout).unwrap();
    v.iter()
        .map(|t| {
            (
                t["task_id"].as_str().unwrap_or("(board)").to_string(),
                t["diagnostics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d["kind"].as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

fn header(out: &std::process::Output) -> String {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .find(|l| l.starts_with("thresholds:"))
        .expect("a thresholds line")
        .to_string()
}

#[test]
fn two_spawn_failures_are_flagged_with_hermes_defaults_and_not_by_default() {
    let (_dir, db) = two_spawn_failures();
    let default = run("diagnose", &db, &["--json"]);
    assert_eq!(default.status.code(), Some(0));
    assert_eq!(default.stdout, b"[]\n");
    let unified = run("diagnose", &db, &["--json", "--defaults", "unified"]);
    assert_eq!(unified.stdout, default.stdout);

    let stock = run("diagnose", &db, &["--json", "--defaults", "hermes-0.19"]);
    assert_eq!(stock.status.code(), Some(1));
    let v: Vec<Json> = serde_json::from_slice(&stock.stdout).unwrap();
    assert_eq!(v.len(), 1);
    let d = &v[0]["diagnostics"][0];
    assert_eq!(d["kind"], "repeated_failures");
    assert_eq!(d["title"], "Agent spawn x2: spawn: profile missing");
    assert_eq!(d["data"]["failure_threshold"], 2);
    // Stock 0.19.0 has no breaker limit without a `kanban` section: the threshold is quoted.
    assert_eq!(d["data"]["failure_limit"], 2);
}

#[test]
fn a_kanban_section_gives_stock_defaults_a_breaker_limit_of_two_beside_any_threshold() {
    let (dir, db) = two_spawn_failures();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        "kanban:\n  diagnostics:\n    failure_threshold: 2\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let limit = |defaults: &str| {
        let out = run(
            "diagnose",
            &db,
            &["--json", "--config", config, "--defaults", defaults],
        );
        let v: Vec<Json> = serde_json::from_slice(&out.stdout).unwrap();
        v[0]["diagnostics"][0]["data"]["failure_limit"].clone()
    };
    assert_eq!(limit("unified"), 5);
    assert_eq!(limit("hermes-0.19"), 2);
}

#[test]
fn the_header_names_the_defaults_and_where_each_threshold_came_from() {
    let (dir, db) = two_spawn_failures();
    assert_eq!(
        header(&run("diagnose", &db, &[])),
        "thresholds: unified defaults; failure threshold 3 (default), breaker limit 5 \
         (default), crash threshold 2 (default)"
    );
    assert_eq!(
        header(&run("diagnose", &db, &["--defaults", "hermes-0.19"])),
        "thresholds: hermes-0.19 defaults; failure threshold 2 (default), breaker limit 2 \
         (default), crash threshold 2 (default)"
    );
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        "kanban:\n  failure_limit: 4\n  diagnostics:\n    crash_threshold: 3\n",
    )
    .unwrap();
    let with = [
        "--config",
        config.to_str().unwrap(),
        "--defaults",
        "hermes-0.19",
    ];
    assert_eq!(
        header(&run("diagnose", &db, &with)),
        "thresholds: hermes-0.19 defaults; failure threshold 4 (kanban.failure_limit), \
         breaker limit 4 (kanban.failure_limit), crash threshold 3 \
         (kanban.diagnostics.crash_threshold)"
    );
    std::fs::write(
        &config,
        "kanban:\n  diagnostics:\n    failure_threshold: 0\n    spawn_failure_threshold: 4\n",
    )
    .unwrap();
    assert_eq!(
        header(&run("diagnose", &db, &with)),
        "thresholds: hermes-0.19 defaults; failure threshold 3 \
         (kanban.diagnostics.failure_threshold is not a positive integer), breaker limit 2 \
         (default), crash threshold 2 (default)"
    );
    // JSON carries no header: it is the reference's document.
    let json = run("diagnose", &db, &["--json", "--defaults", "hermes-0.19"]);
    assert!(
        !String::from_utf8(json.stdout)
            .unwrap()
            .contains("thresholds:")
    );
}

/// A `ready` task whose last two runs timed out, with a counter that says so.
fn two_timeouts() -> (tempfile::TempDir, PathBuf) {
    board(
        "INSERT INTO tasks (id, title, assignee, status, created_at, consecutive_failures,
                            last_failure_error)
           VALUES ('t_loop2', 'Two timeouts', 'alice', 'ready', 1767100000, 2, 'late');
         INSERT INTO task_runs (task_id, status, started_at, ended_at, outcome, error)
           VALUES ('t_loop2', 'timed_out', 1767200000, 1767200060, 'timed_out', 'late'),
                  ('t_loop2', 'timed_out', 1767200100, 1767200160, 'timed_out', 'late');",
    )
}

#[test]
fn the_audits_breaker_limit_follows_the_defaults() {
    let (dir, db) = two_timeouts();
    let only = ["--json", "--rule", "retry_loop"];
    assert_eq!(kinds(&run("audit", &db, &only)), vec![]);
    let stock = run(
        "audit",
        &db,
        &[
            "--json",
            "--rule",
            "retry_loop",
            "--defaults",
            "hermes-0.19",
        ],
    );
    assert_eq!(stock.status.code(), Some(1));
    let v: Vec<Json> = serde_json::from_slice(&stock.stdout).unwrap();
    let data = &v[0]["diagnostics"][0]["data"];
    assert_eq!(v[0]["diagnostics"][0]["kind"], "retry_loop");
    assert_eq!(data["limit"], 2);
    assert_eq!(data["limit_source"], "default");
    // A configured limit still wins over either default.
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, "kanban:\n  failure_limit: 3\n").unwrap();
    let out = run(
        "audit",
        &db,
        &[
            "--rule",
            "retry_loop",
            "--defaults",
            "hermes-0.19",
            "--config",
            config.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        header(&out),
        "thresholds: hermes-0.19 defaults; failure threshold 3 (kanban.failure_limit), \
         breaker limit 3 (kanban.failure_limit), crash threshold 2 (default)"
    );
    assert_eq!(
        header(&run("audit", &db, &["--defaults", "hermes-0.19"])),
        "thresholds: hermes-0.19 defaults; failure threshold 2 (default), breaker limit 2 \
         (default), crash threshold 2 (default)"
    );
}

#[test]
fn without_a_config_file_triage_stays_silent_under_either_set() {
    // A stock install flags this task: Hermes lays its own built-in config (no main model)
    // under a missing config.yaml, which kanban-doctor does not (README, `diagnose`).
    let (_dir, db) = board(
        "INSERT INTO tasks (id, title, status, created_at)
           VALUES ('t_triage', 'Rough idea', 'triage', 1767200000);",
    );
    for defaults in ["unified", "hermes-0.19"] {
        let out = run("diagnose", &db, &["--json", "--defaults", defaults]);
        assert_eq!(out.stdout, b"[]\n", "{defaults}");
    }
}

#[test]
fn an_unknown_set_of_defaults_is_refused() {
    let (_dir, db) = two_spawn_failures();
    let out = run("diagnose", &db, &["--defaults", "hermes"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("unified") && err.contains("hermes-0.19"),
        "{err}"
    );
}

#[test]
fn migrate_recount_has_no_defaults_flag_and_trips_at_five() {
    // Two timeouts in a row: stock 0.19.0's limit of 2 would trip the task, 5 does not.
    let (dir, db) = two_timeouts();
    let check = |extra: &[&str]| {
        cmd()
            .args([
                "migrate",
                "--recount",
                "--trip",
                "--check",
                "--now",
                NOW,
                "--db",
            ])
            .arg(&db)
            .args(extra)
            .output()
            .unwrap()
    };
    assert_eq!(check(&[]).status.code(), Some(0));
    assert_eq!(check(&["--defaults", "hermes-0.19"]).status.code(), Some(2));
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, "kanban:\n  failure_limit: 2\n").unwrap();
    assert_eq!(
        check(&["--config", config.to_str().unwrap()]).status.code(),
        Some(1)
    );
}
