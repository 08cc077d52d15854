//! Regression tests for the data-safety defects of issue 7, one (or more) per defect.
//! The concurrency defects (a lost write lock, torn reads, SIGKILL) are in `harness.rs`;
//! the hostile inputs in `hostile.rs`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{cmd, copy_fixture, insta_settings, sha256, task_values};
use predicates::prelude::*;
use rusqlite::Connection;

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A snapshot of every table's rows, as text, for "nothing else changed" assertions.
fn dump(path: &Path, table: &str) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let n = conn
        .prepare(&format!("SELECT * FROM \"{table}\""))
        .unwrap()
        .column_count();
    conn.prepare(&format!("SELECT * FROM \"{table}\" ORDER BY rowid"))
        .unwrap()
        .query_map([], |r| {
            let mut s = String::new();
            for i in 0..n {
                let v: rusqlite::types::Value = r.get(i)?;
                s.push_str(&format!("{v:?}|"));
            }
            Ok(s)
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

// 3. The migration's own writes fire no user trigger, and verification compares content.

/// A legacy board with an AFTER UPDATE trigger on tasks that rewrites task_runs.
fn board_with_trigger() -> (tempfile::TempDir, PathBuf) {
    let (dir, path) = copy_fixture("boards/legacy.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER scribble AFTER UPDATE ON tasks BEGIN
             UPDATE task_runs SET summary = 'overwritten by a trigger';
         END;",
    )
    .unwrap();
    drop(conn);
    (dir, path)
}

#[test]
fn copy_strategy_fires_no_user_trigger() {
    let (_d, path) = board_with_trigger();
    let runs = dump(&path, "task_runs");
    let values = task_values(&path);
    cmd()
        .args(["migrate", "--strategy", "copy", "--db"])
        .arg(&path)
        .assert()
        .code(0);
    assert_eq!(
        dump(&path, "task_runs"),
        runs,
        "a trigger rewrote task_runs"
    );
    assert_eq!(task_values(&path), values);
    // The trigger itself is still there, unchanged, for the dispatcher's own writes.
    let conn = Connection::open(&path).unwrap();
    let sql: String = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'scribble'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(sql.contains("overwritten by a trigger"));
}

#[test]
fn rename_fallback_fires_no_user_trigger() {
    // legacy-view-trigger.db refuses the rename of one column (a view), so that column is
    // added and copied: the fallback's UPDATE must not fire the board's triggers either.
    let (_d, path) = copy_fixture("boards/legacy-view-trigger.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER scribble AFTER UPDATE ON tasks BEGIN
             UPDATE task_runs SET summary = 'overwritten by a trigger';
         END;",
    )
    .unwrap();
    drop(conn);
    let runs = dump(&path, "task_runs");
    cmd().args(["migrate", "--db"]).arg(&path).assert().code(0);
    assert_eq!(dump(&path, "task_runs"), runs);
}

// 4. --wait beyond what SQLite's busy handler can hold is a usage error, not a panic.

#[test]
fn huge_waits_are_refused_not_panicked() {
    let (_d, path) = copy_fixture("boards/legacy.db");
    let hash = sha256(&path);
    for sub in ["diagnose", "migrate"] {
        for wait in ["2147484", "1e300", "inf", "NaN", "-1"] {
            cmd()
                .args([sub, &format!("--wait={wait}"), "--db"])
                .arg(&path)
                .assert()
                .code(2)
                .stderr(
                    predicate::str::contains("--wait")
                        .and(predicate::str::contains("panicked").not()),
                );
        }
    }
    cmd()
        .args(["diagnose", "--wait", "86400", "--db"])
        .arg(&path)
        .assert()
        .code(1);
    assert_eq!(sha256(&path), hash);
}

// 5. --backup may not name a file SQLite uses for the board.

#[test]
fn backup_onto_the_boards_own_files_is_refused() {
    let (dir, path) = copy_fixture("boards/legacy.db");
    let hash = sha256(&path);
    for ext in ["", "-journal", "-wal", "-shm"] {
        let mut target = path.clone().into_os_string();
        target.push(ext);
        // Also through another spelling of the same directory.
        let via_dot = dir
            .path()
            .join(".")
            .join(Path::new(&target).file_name().unwrap());
        for t in [PathBuf::from(&target), via_dot] {
            cmd()
                .args(["migrate", "--db"])
                .arg(&path)
                .arg("--backup")
                .arg(&t)
                .assert()
                .code(2)
                .stderr(predicate::str::contains(
                    "kanban_doctor::migrate::backup_is_board_file",
                ));
        }
    }
    assert_eq!(sha256(&path), hash);
    assert_eq!(names_in(dir.path()), ["legacy.db"]);
}

// 7. A scan that fails in the middle leaves no half document on stdout.

#[test]
fn a_failed_json_scan_prints_no_partial_document() {
    let out = cmd()
        .args(["diagnose", "--json", "--db"])
        .arg(common::fixture("hostile/zeroed-tasks-page.db"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("kanban_doctor::board::corrupt"));
}

// 8. A report that cannot be written does not claim the committed migration failed.

#[test]
fn an_unwritable_report_says_the_board_was_migrated() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let (dir, path) = copy_fixture("boards/legacy.db");
    let values = task_values(&path);
    let out = to_dev_full(&["migrate", "--json", "--db"], &path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("WAS migrated"), "{stderr}");
    let backup = names_in(dir.path())
        .into_iter()
        .find(|n| n.ends_with(".bak"))
        .expect("a backup");
    assert!(
        stderr.replace('\n', " ").contains(&backup[..20]),
        "the backup is named: {stderr}"
    );
    // The board is migrated.
    cmd()
        .args(["migrate", "--check", "--db"])
        .arg(&path)
        .assert()
        .code(0);
    assert_eq!(task_values(&path), values);
    // A plan-only command that cannot write is an ordinary error.
    let (_d2, legacy) = copy_fixture("boards/legacy.db");
    let out = to_dev_full(&["migrate", "--dry-run", "--db"], &legacy);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("kanban_doctor::output"));
}

/// The binary as a plain `std::process::Command` (for a redirected stdout), isolated like
/// `common::cmd()`.
fn std_cmd() -> Command {
    let home = std::env::temp_dir().join("kanban-doctor-test-empty-home");
    std::fs::create_dir_all(&home).unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_kanban-doctor"));
    c.env("HERMES_HOME", &home)
        .env_remove("HERMES_KANBAN_DB")
        .env_remove("HERMES_KANBAN_HOME")
        .env_remove("HERMES_KANBAN_BOARD")
        .env("NO_COLOR", "1");
    c
}

/// Run the binary with `args` and the board, its stdout on a full disk (`/dev/full`).
fn to_dev_full(args: &[&str], board: &Path) -> std::process::Output {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    std_cmd()
        .args(args)
        .arg(board)
        .stdout(Stdio::from(full))
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

// 10. Messages that fit the cause.

#[test]
fn a_view_blocking_drop_legacy_is_named_and_leaves_nothing_behind() {
    // A partial board whose view names the legacy column: DROP COLUMN is refused.
    let (dir, path) = copy_fixture("boards/partial.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("CREATE VIEW legacy_view AS SELECT id, spawn_failures FROM tasks;")
        .unwrap();
    drop(conn);
    let hash = sha256(&path);
    let out = cmd()
        .args(["migrate", "--drop-legacy", "--db"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("kanban_doctor::migrate::step_failed"),
        "{stderr}"
    );
    assert!(stderr.contains("legacy_view"), "{stderr}");
    assert!(!stderr.contains("integrity_check"), "{stderr}");
    assert_eq!(sha256(&path), hash);
    assert_eq!(names_in(dir.path()), ["partial.db"], "no stray backup");
    insta_settings().bind(|| insta::assert_snapshot!("safety_step_failed", stderr));
}

#[test]
fn a_reader_blocking_commit_is_named_and_rolls_back() {
    // A rollback-journal board commits only when no one reads it. Hold a read
    // transaction (SHARED lock) for the whole migration, from this process.
    let (dir, path) = copy_fixture("boards/legacy.db");
    let hash = sha256(&path);
    let reader = Connection::open(&path).unwrap();
    reader.execute_batch("BEGIN").unwrap();
    let _: i64 = reader
        .query_row("SELECT count(*) FROM tasks", [], |r| r.get(0))
        .unwrap();
    let out = cmd()
        .args(["migrate", "--wait", "0.5", "--db"])
        .arg(&path)
        .output()
        .unwrap();
    reader.execute_batch("COMMIT").unwrap();
    drop(reader);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("kanban_doctor::migrate::commit_blocked"),
        "{stderr}"
    );
    assert!(!stderr.contains("most likely writing"), "{stderr}");
    assert_eq!(sha256(&path), hash);
    assert_eq!(names_in(dir.path()), ["legacy.db"], "no stray backup");
}

#[test]
fn reading_an_idle_wal_board_leaves_no_side_files() {
    let (dir, path) = copy_fixture("boards/legacy-wal.db");
    let hash = sha256(&path);
    cmd().args(["diagnose", "--db"]).arg(&path).assert().code(1);
    cmd()
        .args(["diagnose", "--json", "--db"])
        .arg(&path)
        .assert()
        .code(1);
    cmd()
        .args(["migrate", "--check", "--db"])
        .arg(&path)
        .assert()
        .code(1);
    assert_eq!(names_in(dir.path()), ["legacy-wal.db"]);
    assert_eq!(sha256(&path), hash);
}

/// `setpriv` to run the binary as an unprivileged user (root ignores file modes), when this
/// test runs as root and the tool exists; `None` when neither applies.
fn as_nobody() -> Option<Command> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    let root = String::from_utf8_lossy(&uid.stdout).trim() == "0";
    let bin = env!("CARGO_BIN_EXE_kanban-doctor");
    if !root {
        return Some(Command::new(bin));
    }
    let ok = Command::new("setpriv")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        return None;
    }
    let mut c = Command::new("setpriv");
    c.args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--",
        bin,
    ]);
    Some(c)
}

/// A directory under /tmp that another user can read: (dir, board path).
fn readable_dir(fixture: &str) -> (tempfile::TempDir, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new().tempdir_in("/tmp").unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let src = common::fixture(fixture);
    let dst = dir.path().join(src.file_name().unwrap());
    std::fs::copy(&src, &dst).unwrap();
    std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(0o644)).unwrap();
    (dir, dst)
}

#[test]
fn a_wal_board_in_a_read_only_directory() {
    use std::os::unix::fs::PermissionsExt;
    let Some(_) = as_nobody() else {
        eprintln!("skipped: running as root without setpriv");
        return;
    };
    // Without a -wal, nobody can write the board: it is read (as immutable), and no
    // empty -wal/-shm is left behind.
    let (dir, path) = readable_dir("boards/legacy-wal.db");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    let out = as_nobody()
        .unwrap()
        .env("HERMES_HOME", "/nonexistent")
        .args(["diagnose", "--json", "--db"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(names_in(dir.path()), ["legacy-wal.db"]);
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();

    // With a -wal but no -shm, the index cannot be made and the -wal cannot be ignored.
    let (dir, path) = readable_dir("hostile/wal-no-shm.db");
    let wal = dir.path().join("wal-no-shm.db-wal");
    std::fs::copy(common::fixture("hostile/wal-no-shm.db-wal"), &wal).unwrap();
    std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    let out = as_nobody()
        .unwrap()
        .env("HERMES_HOME", "/nonexistent")
        .args(["diagnose", "--db"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("kanban_doctor::board::wal_index"),
        "{stderr}"
    );
    assert_eq!(names_in(dir.path()), ["wal-no-shm.db", "wal-no-shm.db-wal"]);
}

#[test]
fn migrating_a_read_only_board_says_so() {
    use std::os::unix::fs::PermissionsExt;
    let Some(_) = as_nobody() else {
        eprintln!("skipped: running as root without setpriv");
        return;
    };
    let (dir, path) = readable_dir("boards/legacy.db");
    let hash = sha256(&path);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    // The directory is writable by nobody: the backup goes to a writable place.
    let backup_dir = tempfile::Builder::new().tempdir_in("/tmp").unwrap();
    std::fs::set_permissions(backup_dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = as_nobody()
        .unwrap()
        .env("HERMES_HOME", "/nonexistent")
        .args(["migrate", "--no-backup", "--db"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("kanban_doctor::board::read_only"),
        "{stderr}"
    );
    assert!(!stderr.contains("integrity_check"), "{stderr}");
    assert_eq!(sha256(&path), hash);
    assert_eq!(names_in(dir.path()), ["legacy.db"]);
}

// 11. Untrusted text is escaped in every human message, errors included.

const OSC52: &str = "\u{1b}]52;c;aGk=\u{7}";

#[test]
fn paths_task_ids_and_env_values_are_escaped_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let evil = dir.path().join(format!("x{OSC52}\u{2028}.db"));
    let out = cmd()
        .args(["diagnose", "--db"])
        .arg(&evil)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\u{7}'),
        "{stderr:?}"
    );
    assert!(!stderr.contains('\u{2028}'), "{stderr:?}");
    assert!(stderr.contains("\\x1b]52"), "{stderr:?}");

    let (_d, board) = copy_fixture("boards/current.db");
    let out = cmd()
        .args(["diagnose", "--task", &format!("t_{OSC52}"), "--db"])
        .arg(&board)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");

    let out = cmd()
        .env("HERMES_KANBAN_DB", dir.path().join(format!("e{OSC52}.db")))
        .args(["diagnose"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
}

#[test]
fn the_backup_line_and_board_path_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join(format!("d{OSC52}"));
    std::fs::create_dir(&sub).unwrap();
    let path = sub.join("kanban.db");
    std::fs::copy(common::fixture("boards/legacy.db"), &path).unwrap();
    let out = cmd().args(["migrate", "--db"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("backup: "), "{stdout}");
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\u{7}'),
        "{stdout:?}"
    );
}

#[test]
fn line_separators_in_titles_are_escaped() {
    let (_d, path) = copy_fixture("boards/current.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE tasks SET title = 'a\u{2028}b\u{2029}c' WHERE consecutive_failures >= 3",
        [],
    )
    .unwrap();
    drop(conn);
    let out = cmd()
        .args(["diagnose", "--db"])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("a\\u{2028}b\\u{2029}c"), "{stdout}");
    // JSON stays faithful.
    let out = cmd()
        .args(["diagnose", "--json", "--db"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("a\u{2028}b\u{2029}c"));
}

// The README's restore recipe: the backup copied over the board is the board as it was.

#[test]
fn a_backup_copied_back_restores_the_board() {
    for fixture in ["boards/legacy.db", "boards/legacy-wal.db"] {
        let (dir, path) = copy_fixture(fixture);
        let values = task_values(&path);
        cmd().args(["migrate", "--db"]).arg(&path).assert().code(0);
        let backup = names_in(dir.path())
            .into_iter()
            .find(|n| n.ends_with(".bak"))
            .unwrap();
        std::fs::copy(dir.path().join(&backup), &path).unwrap();
        assert_eq!(task_values(&path), values, "{fixture}");
        // It is the old schema again, in the same journal mode, and opens cleanly.
        cmd()
            .args(["migrate", "--check", "--db"])
            .arg(&path)
            .assert()
            .code(1);
        let header = std::fs::read(&path).unwrap();
        let orig_mode = if fixture.contains("wal") { 2 } else { 1 };
        assert_eq!(header[18], orig_mode, "{fixture}: journal mode kept");
    }
}
