//! What a new user tripped over (issue 12), each pinned: one journal vocabulary, tables that
//! fit, traceback titles and severity order in the human report, what a partial board keeps,
//! contradicting flags refused, and an all-or-nothing `scenarios build`.

mod common;

use common::*;
use serde_json::Value as Json;

const NOW: &str = "1767225600";
const SORTING: &str = "golden/cases/36-severity-sorting/board.db";

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// The WAL board copied alone: no `-wal`, no `-shm`, as a board nobody has open.
#[test]
fn migrate_and_diagnose_name_an_idle_wal_board_alike() {
    let (dir, board) = copy_fixture("boards/legacy-wal.db");
    assert!(!dir.path().join("legacy-wal.db-wal").exists());
    let run = |args: &[&str]| {
        cmd()
            .current_dir(dir.path())
            .args(args)
            .args(["--db", "legacy-wal.db"])
            .output()
            .unwrap()
    };
    let check = run(&["migrate", "--check"]);
    assert_eq!(check.status.code(), Some(1));
    let first_lines: String = stdout(&check)
        .lines()
        .take(2)
        .collect::<Vec<_>>()
        .join("\n");
    insta_settings().bind(|| insta::assert_snapshot!("migrate_check_idle_wal", first_lines));
    assert!(first_lines.ends_with("state: legacy (WAL)"));
    for args in [
        &["migrate", "--check", "--json"][..],
        &["migrate", "--dry-run", "--json"],
    ] {
        let report: Json = serde_json::from_slice(&run(args).stdout).unwrap();
        assert_eq!(report["journal_mode"], "wal", "{args:?}");
    }
    let diagnose = stdout(&run(&["diagnose", "--now", NOW]));
    assert!(
        diagnose.lines().next().unwrap().contains(", WAL, "),
        "{diagnose}"
    );
    // The same words for a rollback-journal board.
    let rollback = cmd()
        .args(["migrate", "--check", "--json", "--db"])
        .arg(fixture("boards/legacy.db"))
        .output()
        .unwrap();
    let report: Json = serde_json::from_slice(&rollback.stdout).unwrap();
    assert_eq!(report["journal_mode"], "rollback");
    drop(board);
}

#[test]
fn tables_fit_the_width_columns_gives() {
    let width = |args: &[&str]| {
        let out = cmd()
            .current_dir(root())
            .env("COLUMNS", "80")
            .args(args)
            .output()
            .unwrap();
        let text = stdout(&out);
        let table_lines: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with(['┌', '│', '╞', '└']))
            .collect();
        assert!(!table_lines.is_empty(), "{args:?}");
        table_lines.iter().map(|l| l.chars().count()).max().unwrap()
    };
    assert!(width(&["scenarios", "verify"]) <= 80);
    assert!(width(&["migrate", "--dry-run", "--db", "fixtures/boards/legacy.db"]) <= 80);
    assert!(
        width(&[
            "explain",
            "t_00000002",
            "--now",
            "1796100000",
            "--db",
            "fixtures/audit/breaker-reopened-0.15.2.db"
        ]) <= 80
    );
    let out = cmd()
        .current_dir(root())
        .env("COLUMNS", "80")
        .args(["migrate", "--dry-run", "--db", "fixtures/boards/legacy.db"])
        .output()
        .unwrap();
    snapshot_stdout("migrate_dry_run_80_columns", &out);
    // Without COLUMNS, and not on a terminal, a table keeps one row a line.
    let wide = cmd()
        .current_dir(root())
        .args(["scenarios", "verify"])
        .output()
        .unwrap();
    assert!(stdout(&wide).lines().any(|l| l.chars().count() > 80));
}

#[test]
fn the_human_report_orders_tasks_by_worst_severity_and_json_keeps_board_order() {
    let run = |json: bool| {
        let mut c = cmd();
        c.args(["diagnose", "--now", NOW, "--db"])
            .arg(fixture(SORTING));
        if json {
            c.arg("--json");
        }
        c.output().unwrap()
    };
    let text = stdout(&run(false));
    let order: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("t_"))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    let json: Vec<Json> = serde_json::from_slice(&run(true).stdout).unwrap();
    let ids: Vec<&str> = json
        .iter()
        .map(|e| e["task_id"].as_str().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "JSON keeps the board's order");
    let worst = |id: &str| {
        let e = json.iter().find(|e| e["task_id"] == id).unwrap();
        e["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| match d["severity"].as_str().unwrap() {
                "critical" => 0,
                "error" => 1,
                _ => 2,
            })
            .min()
            .unwrap()
    };
    let ranks: Vec<i32> = order.iter().map(|id| worst(id)).collect();
    assert!(
        ranks.windows(2).all(|w| w[0] <= w[1]),
        "{order:?} {ranks:?}"
    );
    assert_eq!(order.len(), ids.len());
    assert_ne!(order, ids, "the fixture has tasks to reorder");
}

#[test]
fn a_traceback_is_shown_by_its_exception_line_and_json_keeps_the_title() {
    let (_dir, board) = copy_fixture(SORTING);
    let traceback = "Traceback (most recent call last):\n  File \"worker.py\", line 12, in run\n    connect()\nConnectionRefusedError: [Errno 111] Connection refused\n";
    let conn = rusqlite::Connection::open(&board).unwrap();
    conn.execute(
        "UPDATE tasks SET last_failure_error = ?1 WHERE id = 't_1e000003'",
        [traceback],
    )
    .unwrap();
    drop(conn);
    let run = |extra: &[&str]| {
        cmd()
            .args(["diagnose", "--now", NOW, "--task", "t_1e000003", "--db"])
            .arg(&board)
            .args(extra)
            .output()
            .unwrap()
    };
    let text = stdout(&run(&[]));
    let body: String = text.lines().skip(3).collect::<Vec<_>>().join("\n");
    insta_settings().bind(|| insta::assert_snapshot!("diagnose_traceback_title", body));
    assert!(!text.contains("Traceback"), "{text}");
    let json: Vec<Json> = serde_json::from_slice(&run(&["--json"]).stdout).unwrap();
    let titles: Vec<&str> = json[0]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["title"].as_str().unwrap())
        .collect();
    assert!(
        titles.contains(&"Agent crash x3: Traceback (most recent call last):"),
        "{titles:?}"
    );
}

#[test]
fn a_partial_board_says_what_remains_and_why_check_exits_0() {
    let out = cmd()
        .current_dir(root())
        .args(["migrate", "--check", "--db", "fixtures/boards/partial.db"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    snapshot_stdout("migrate_check_partial", &out);
    assert!(stdout(&out).contains("--drop-legacy"));
    let json = cmd()
        .current_dir(root())
        .args([
            "migrate",
            "--check",
            "--json",
            "--db",
            "fixtures/boards/partial.db",
        ])
        .output()
        .unwrap();
    let report: Json = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        report["legacy_kept"],
        serde_json::json!(["tasks.spawn_failures", "tasks.last_spawn_error"])
    );
}

#[test]
fn strategy_copy_with_drop_legacy_is_refused_before_the_board_is_touched() {
    let (_dir, board) = copy_fixture("boards/legacy.db");
    let before = sha256(&board);
    let out = cmd()
        .args(["migrate", "--strategy", "copy", "--drop-legacy", "--db"])
        .arg(&board)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    insta_settings()
        .bind(|| insta::assert_snapshot!("usage_strategy_copy_drop_legacy", stderr(&out)));
    assert_eq!(sha256(&board), before);
    assert_eq!(
        std::fs::read_dir(board.parent().unwrap()).unwrap().count(),
        1,
        "no backup either"
    );
}

#[test]
fn scenarios_build_writes_all_three_boards_or_none() {
    let dir = tempfile::tempdir().unwrap();
    let listing = || {
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    };
    std::fs::write(dir.path().join("board-legacy.db"), "mine").unwrap();
    let out = cmd()
        .current_dir(dir.path())
        .args(["scenarios", "build", "--out", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    insta_settings().bind(|| insta::assert_snapshot!("usage_scenarios_build_exists", stderr(&out)));
    assert_eq!(listing(), ["board-legacy.db"], "nothing was written");
    assert_eq!(
        std::fs::read(dir.path().join("board-legacy.db")).unwrap(),
        b"mine"
    );
    let out = cmd()
        .current_dir(dir.path())
        .args(["scenarios", "build", "--out", ".", "--force"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        listing(),
        ["board-legacy.db", "board-old-kernel.db", "board.db"],
        "the three boards and no staging directory"
    );
    assert_ne!(
        std::fs::read(dir.path().join("board-legacy.db")).unwrap(),
        b"mine"
    );
    // A directory that cannot be made: "cannot write", not "cannot read".
    let out = cmd()
        .current_dir(dir.path())
        .args(["scenarios", "build", "--out", "board.db/sub"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("error[kanban_doctor::write]: cannot write board.db/sub: "),
        "{}",
        stderr(&out)
    );
}
