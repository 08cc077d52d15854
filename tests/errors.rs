//! The tool's own failures from the command line: each is exit 2 with its own code.
//!
//! Every `kanban_doctor::` code in `src/error.rs` is driven from the outside once, and its
//! miette output snapshotted as `snapshots/error_<code>.snap`; a meta-test fails on a code
//! with neither a snapshot nor a reason in `UNREACHABLE`.

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
    // `scenarios verify` builds its boards in a temporary directory (with --db it would
    // check that board instead); diagnose spills its report, table or JSON, to one.
    let runs: [(&[&str], bool); 4] = [
        (&["scenarios", "verify"], false),
        (&["scenarios", "verify", "--json"], false),
        (&["diagnose", "--now", "1767225600"], true),
        (&["diagnose", "--now", "1767225600", "--json"], true),
    ];
    for (args, with_board) in runs {
        let mut c = cmd();
        c.env("TMPDIR", &gone).args(args);
        if with_board {
            c.arg("--db").arg(&board);
        }
        let out = c.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
        // With --json, stderr ends with the error as an object.
        if args.contains(&"--json") {
            let last = stderr.lines().last().unwrap();
            let v: serde_json::Value = serde_json::from_str(last).unwrap();
            assert_eq!(v["error"]["code"], "kanban_doctor::temp_file", "{args:?}");
        }
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

// ---------------------------------------------------------------------------
// One snapshot per error code
// ---------------------------------------------------------------------------

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

/// A fresh directory the commands run in, so the paths they print are relative: a
/// temporary path in a message could be wrapped by miette mid-name, past any filter.
struct Scene(tempfile::TempDir);

impl Scene {
    fn new() -> Scene {
        Scene(tempfile::tempdir().unwrap())
    }

    fn dir(&self) -> &Path {
        self.0.path()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir().join(name)
    }

    /// Copy the fixture `rel`, with any sidecar files it comes with, to `kanban.db`.
    fn board(&self, rel: &str) -> PathBuf {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let src = fixture(&format!("{rel}{suffix}"));
            if src.exists() {
                std::fs::copy(&src, self.path(&format!("kanban.db{suffix}"))).unwrap();
            }
        }
        self.path("kanban.db")
    }

    fn cmd(&self) -> assert_cmd::Command {
        let mut c = cmd();
        c.current_dir(self.dir());
        c
    }

    /// The binary as a plain `std::process::Command`, isolated like `cmd()`, for a
    /// redirected stdout.
    fn std_cmd(&self) -> std::process::Command {
        let home = std::env::temp_dir().join("kanban-doctor-test-empty-home");
        std::fs::create_dir_all(&home).unwrap();
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_kanban-doctor"));
        c.current_dir(self.dir())
            .env("HERMES_HOME", &home)
            .env_remove("HERMES_KANBAN_DB")
            .env_remove("HERMES_KANBAN_HOME")
            .env_remove("HERMES_KANBAN_BOARD")
            .env("NO_COLOR", "1");
        c
    }

    /// The binary run as `nobody` (root ignores file modes), with the scene readable by
    /// it; `None` when this runs as root without `setpriv`.
    fn as_nobody(&self) -> Option<std::process::Command> {
        let uid = std::process::Command::new("id").arg("-u").output().ok()?;
        let bin = env!("CARGO_BIN_EXE_kanban-doctor");
        let mut c = if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            std::process::Command::new(bin)
        } else {
            let ok = std::process::Command::new("setpriv")
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success());
            if !ok {
                return None;
            }
            let mut c = std::process::Command::new("setpriv");
            c.args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--",
                bin,
            ]);
            c
        };
        for entry in std::fs::read_dir(self.dir()).unwrap() {
            let p = entry.unwrap().path();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        std::fs::set_permissions(self.dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
        c.current_dir(self.dir())
            .env("HERMES_HOME", "/nonexistent")
            .env("NO_COLOR", "1");
        Some(c)
    }

    /// The scene's directory made read-only (given back when the scene is dropped).
    fn read_only_dir(&self) {
        std::fs::set_permissions(self.dir(), std::fs::Permissions::from_mode(0o555)).unwrap();
    }
}

impl Drop for Scene {
    fn drop(&mut self) {
        let _ = std::fs::set_permissions(self.dir(), std::fs::Permissions::from_mode(0o755));
    }
}

/// The snapshot of `code`: `error_<code without the crate, :: as _>`.
fn snapshot_name(code: &str) -> String {
    format!(
        "error_{}",
        code.trim_start_matches("kanban_doctor::")
            .replace("::", "_")
    )
}

/// Exit `exit`, nothing on stdout, `error[code]: message` on the first line of stderr;
/// snapshot stderr.
fn expect_exit(code: &str, exit: i32, out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(exit), "{code}: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "{code}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let head = format!("error[{code}]: ");
    assert!(
        stderr.lines().next().is_some_and(|l| l.starts_with(&head)),
        "{stderr}"
    );
    insta_settings().bind(|| insta::assert_snapshot!(snapshot_name(code), stderr));
}

fn expect(code: &str, out: &Output) {
    expect_exit(code, 2, out);
}

fn diagnose(scene: &Scene, extra: &[&str]) -> Output {
    scene
        .cmd()
        .args(["diagnose", "--db", "kanban.db"])
        .args(extra)
        .output()
        .unwrap()
}

fn migrate(scene: &Scene, extra: &[&str]) -> Output {
    scene
        .cmd()
        .args(["migrate", "--db", "kanban.db"])
        .args(extra)
        .output()
        .unwrap()
}

/// Edit the board's schema text directly (`PRAGMA writable_schema`), as a damaged or
/// foreign board would have it.
fn write_schema(board: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(board).unwrap();
    conn.pragma_update(None, "writable_schema", true).unwrap();
    conn.execute_batch(sql).unwrap();
}

/// Codes no run of the command line here can produce, and why. Every other code has a
/// snapshot below.
const UNREACHABLE: &[(&str, &str)] = &[];

#[test]
fn every_error_code_has_a_snapshot_or_a_reason() {
    let src = std::fs::read_to_string(root().join("src/error.rs")).unwrap();
    let codes: Vec<&str> = src
        .match_indices("code(kanban_doctor::")
        .map(|(i, _)| {
            let rest = &src[i + "code(".len()..];
            &rest[..rest.find(')').unwrap()]
        })
        .collect();
    assert!(codes.len() >= 30, "{codes:?}");
    let snapshots = root().join("snapshots");
    let missing: Vec<&&str> = codes
        .iter()
        .filter(|c| !UNREACHABLE.iter().any(|(u, _)| u == *c))
        .filter(|c| {
            !snapshots
                .join(format!("{}.snap", snapshot_name(c)))
                .exists()
        })
        .collect();
    assert!(
        missing.is_empty(),
        "codes with neither a snapshot in tests/errors.rs nor a reason in UNREACHABLE: {missing:?}"
    );
    for (code, why) in UNREACHABLE {
        assert!(codes.contains(code), "{code} is no longer a code");
        assert!(!why.is_empty());
    }
    // And no snapshot is left over from a code that is gone.
    for entry in std::fs::read_dir(&snapshots).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(stem) = name
            .strip_prefix("error_")
            .and_then(|n| n.strip_suffix(".snap"))
        {
            assert!(
                codes
                    .iter()
                    .any(|c| snapshot_name(c) == format!("error_{stem}")),
                "snapshots/{name} belongs to no code"
            );
        }
    }
}

// -- finding and checking the file

#[test]
fn board_not_found() {
    let s = Scene::new();
    expect("kanban_doctor::board::not_found", &diagnose(&s, &[]));
}

#[test]
fn board_none() {
    // `--all-boards` under a Hermes root that holds no board at all.
    let s = Scene::new();
    let root = s.path("hermes");
    std::fs::create_dir(&root).unwrap();
    let out = s
        .cmd()
        .args(["diagnose", "--all-boards"])
        .env("HERMES_KANBAN_HOME", &root)
        .output()
        .unwrap();
    expect("kanban_doctor::board::none", &out);
}

#[test]
fn board_io() {
    let s = Scene::new();
    std::os::unix::fs::symlink("loop.db", s.path("kanban.db")).unwrap();
    std::os::unix::fs::symlink("kanban.db", s.path("loop.db")).unwrap();
    expect("kanban_doctor::board::io", &diagnose(&s, &[]));
}

#[test]
fn board_not_a_file() {
    let s = Scene::new();
    std::fs::create_dir(s.path("kanban.db")).unwrap();
    expect("kanban_doctor::board::not_a_file", &diagnose(&s, &[]));
}

#[test]
fn board_empty_file() {
    let s = Scene::new();
    s.board("boards/bad/empty.db");
    expect("kanban_doctor::board::empty_file", &diagnose(&s, &[]));
}

#[test]
fn board_not_sqlite() {
    let s = Scene::new();
    s.board("boards/bad/not-sqlite.db");
    expect("kanban_doctor::board::not_sqlite", &diagnose(&s, &[]));
}

#[test]
fn board_tls_overwrite() {
    let s = Scene::new();
    s.board("boards/bad/tls-header.db");
    expect("kanban_doctor::board::tls_overwrite", &diagnose(&s, &[]));
}

#[test]
fn board_corrupt_header() {
    let s = Scene::new();
    s.board("hostile/bad-page-size.db");
    expect("kanban_doctor::board::corrupt_header", &diagnose(&s, &[]));
}

#[test]
fn board_truncated() {
    let s = Scene::new();
    s.board("boards/bad/truncated.db");
    expect("kanban_doctor::board::truncated", &diagnose(&s, &[]));
}

#[test]
fn board_bad_slug() {
    let s = Scene::new();
    let out = s
        .cmd()
        .args(["diagnose", "--board", "Bad Slug"])
        .output()
        .unwrap();
    expect("kanban_doctor::board::bad_slug", &out);
}

// -- opening and reading it

#[test]
fn board_not_a_board() {
    let s = Scene::new();
    s.board("boards/not-a-board.db");
    expect("kanban_doctor::board::not_a_board", &diagnose(&s, &[]));
}

#[test]
fn board_missing_column() {
    let s = Scene::new();
    s.board("hostile/tasks-no-status.db");
    expect("kanban_doctor::board::missing_column", &diagnose(&s, &[]));
}

#[test]
fn board_sqlite() {
    // A virtual table of a module this SQLite does not have (a board someone extended with
    // a loadable extension): SQLite's own error, passed on as it is.
    let s = Scene::new();
    let board = s.board("boards/current.db");
    write_schema(
        &board,
        "INSERT INTO sqlite_master VALUES
           ('table', 'search', 'search', 0, 'CREATE VIRTUAL TABLE search USING nosuch(body)')",
    );
    expect("kanban_doctor::board::sqlite", &diagnose(&s, &[]));
}

#[test]
fn board_corrupt() {
    let s = Scene::new();
    s.board("hostile/zeroed-tasks-page.db");
    expect("kanban_doctor::board::corrupt", &diagnose(&s, &[]));
}

#[test]
fn board_hot_journal() {
    let s = Scene::new();
    s.board("hostile/hot-journal.db");
    assert!(s.path("kanban.db-journal").exists());
    expect("kanban_doctor::board::hot_journal", &diagnose(&s, &[]));
}

#[test]
fn board_io_error() {
    // A `-journal` beside the board that is a directory: SQLite's read of it fails.
    let s = Scene::new();
    s.board("boards/legacy.db");
    std::fs::create_dir(s.path("kanban.db-journal")).unwrap();
    expect("kanban_doctor::board::io_error", &diagnose(&s, &[]));
}

#[test]
fn board_cannot_open() {
    // A path longer than SQLite's 512-byte limit, which the operating system still opens.
    let s = Scene::new();
    let mut deep = s.dir().to_path_buf();
    for c in ["a", "b", "c"] {
        deep.push(c.repeat(200));
    }
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::copy(fixture("boards/legacy.db"), deep.join("kanban.db")).unwrap();
    let out = s
        .cmd()
        .current_dir(&deep)
        .args(["diagnose", "--db", "kanban.db"])
        .output()
        .unwrap();
    // SQLite names the full path, which starts with the scene's.
    let scene = s.dir().to_str().unwrap();
    let out = Output {
        stderr: String::from_utf8_lossy(&out.stderr)
            .replace(scene, "[SCENE]")
            .into_bytes(),
        ..out
    };
    expect("kanban_doctor::board::cannot_open", &out);
}

#[test]
fn board_wal_index() {
    let s = Scene::new();
    s.board("hostile/wal-no-shm.db");
    assert!(s.path("kanban.db-wal").exists());
    let Some(mut nobody) = s.as_nobody() else {
        eprintln!("skipped: running as root without setpriv");
        return;
    };
    s.read_only_dir();
    let out = nobody
        .args(["diagnose", "--db", "kanban.db"])
        .output()
        .unwrap();
    expect("kanban_doctor::board::wal_index", &out);
}

#[test]
fn board_read_only() {
    let s = Scene::new();
    s.board("boards/legacy.db");
    let Some(mut nobody) = s.as_nobody() else {
        eprintln!("skipped: running as root without setpriv");
        return;
    };
    // Neither the file nor its directory writable, whoever runs this.
    std::fs::set_permissions(s.path("kanban.db"), std::fs::Permissions::from_mode(0o444)).unwrap();
    s.read_only_dir();
    let out = nobody
        .args(["migrate", "--no-backup", "--db", "kanban.db"])
        .output()
        .unwrap();
    expect("kanban_doctor::board::read_only", &out);
}

#[test]
fn board_busy() {
    let s = Scene::new();
    let board = s.board("boards/legacy.db");
    let writer = rusqlite::Connection::open(&board).unwrap();
    writer
        .execute_batch("BEGIN EXCLUSIVE; UPDATE tasks SET spawn_failures = 9;")
        .unwrap();
    let out = diagnose(&s, &["--wait", "0.2"]);
    writer.execute_batch("ROLLBACK").unwrap();
    expect("kanban_doctor::board::busy", &out);
}

#[test]
fn board_integrity() {
    // An index whose definition no longer matches its entries.
    let s = Scene::new();
    let board = s.board("boards/legacy.db");
    write_schema(
        &board,
        "UPDATE sqlite_master SET sql = 'CREATE INDEX idx_tasks_status ON tasks(title)'
           WHERE name = 'idx_tasks_status'",
    );
    expect(
        "kanban_doctor::board::integrity",
        &migrate(&s, &["--no-backup"]),
    );
}

// -- migrating it

#[test]
fn migrate_locked() {
    let s = Scene::new();
    let board = s.board("boards/legacy.db");
    let holder = rusqlite::Connection::open(&board).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let out = migrate(&s, &["--no-backup", "--wait", "0.2"]);
    holder.execute_batch("ROLLBACK").unwrap();
    expect("kanban_doctor::migrate::locked", &out);
}

#[test]
fn migrate_commit_blocked() {
    let s = Scene::new();
    let board = s.board("boards/legacy.db");
    let reader = rusqlite::Connection::open(&board).unwrap();
    reader.execute_batch("BEGIN").unwrap();
    let _: i64 = reader
        .query_row("SELECT count(*) FROM tasks", [], |r| r.get(0))
        .unwrap();
    let out = migrate(&s, &["--no-backup", "--wait", "0.2"]);
    reader.execute_batch("COMMIT").unwrap();
    expect("kanban_doctor::migrate::commit_blocked", &out);
}

#[test]
fn migrate_step_failed() {
    let s = Scene::new();
    let board = s.board("boards/partial.db");
    rusqlite::Connection::open(&board)
        .unwrap()
        .execute_batch("CREATE VIEW legacy_view AS SELECT id, spawn_failures FROM tasks")
        .unwrap();
    expect(
        "kanban_doctor::migrate::step_failed",
        &migrate(&s, &["--drop-legacy", "--no-backup"]),
    );
}

#[test]
fn migrate_cannot_add_columns() {
    let s = Scene::new();
    s.board("hostile/tasks-missing-columns.db");
    expect(
        "kanban_doctor::migrate::cannot_add_columns",
        &migrate(&s, &["--no-backup"]),
    );
}

#[test]
fn migrate_backup_is_board_file() {
    let s = Scene::new();
    s.board("boards/legacy.db");
    expect(
        "kanban_doctor::migrate::backup_is_board_file",
        &migrate(&s, &["--backup", "kanban.db-journal"]),
    );
}

#[test]
fn migrate_backup() {
    let s = Scene::new();
    s.board("boards/legacy.db");
    expect(
        "kanban_doctor::migrate::backup",
        &migrate(&s, &["--backup", "no-such-dir/kanban.db.bak"]),
    );
}

#[test]
fn migrate_verify_failed() {
    let s = Scene::new();
    s.board("hostile/wrong-types.db");
    expect(
        "kanban_doctor::migrate::verify_failed",
        &migrate(&s, &["--no-backup"]),
    );
}

#[test]
fn migrate_report_unwritten() {
    // The migration commits; only its report cannot be written: exit 0, and stderr says so.
    let s = Scene::new();
    s.board("boards/legacy.db");
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = s
        .std_cmd()
        .args(["migrate", "--json", "--no-backup", "--db", "kanban.db"])
        .stdout(Stdio::from(full))
        .output()
        .unwrap();
    expect_exit("kanban_doctor::migrate::report_unwritten", 0, &out);
}

// -- configuration, arguments, output

#[test]
fn config_read() {
    let s = Scene::new();
    s.board("boards/current.db");
    expect(
        "kanban_doctor::config::read",
        &diagnose(&s, &["--config", "missing.yaml"]),
    );
}

#[test]
fn config_parse() {
    let s = Scene::new();
    s.board("boards/current.db");
    std::fs::write(
        s.path("config.yaml"),
        "kanban:\n  failure_limit: 4\n  diagnostics: [unclosed\n",
    )
    .unwrap();
    expect(
        "kanban_doctor::config::parse",
        &diagnose(&s, &["--config", "config.yaml"]),
    );
}

#[test]
fn config_diagnostics() {
    let s = Scene::new();
    s.board("boards/current.db");
    // Hermes calls dict() on kanban.diagnostics: a number is not iterable.
    std::fs::write(s.path("config.yaml"), "kanban:\n  diagnostics: 5\n").unwrap();
    expect(
        "kanban_doctor::config::diagnostics",
        &diagnose(&s, &["--config", "config.yaml"]),
    );
}

#[test]
fn diagnose_unknown_task() {
    let s = Scene::new();
    s.board("boards/current.db");
    expect(
        "kanban_doctor::diagnose::unknown_task",
        &diagnose(&s, &["--task", "t_nope"]),
    );
}

#[test]
fn usage() {
    // What clap cannot check: a scenario name (`--rule` and the like are clap's own
    // errors, exit 2 with its usage text).
    let out = cmd()
        .args(["scenarios", "verify", "--scenario", "no-such-scenario"])
        .output()
        .unwrap();
    expect("kanban_doctor::usage", &out);
}

#[test]
fn output() {
    let s = Scene::new();
    s.board("boards/current.db");
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = s
        .std_cmd()
        .args(["diagnose", "--now", "1767225600", "--db", "kanban.db"])
        .stdout(Stdio::from(full))
        .output()
        .unwrap();
    expect("kanban_doctor::output", &out);
}

#[test]
fn temp_file() {
    let s = Scene::new();
    s.board("boards/current.db");
    let out = s
        .cmd()
        .env("TMPDIR", "/nonexistent-kanban-doctor-tmpdir")
        .args(["diagnose", "--now", "1767225600", "--db", "kanban.db"])
        .output()
        .unwrap();
    expect("kanban_doctor::temp_file", &out);
}

#[test]
fn write() {
    let s = Scene::new();
    std::fs::write(s.path("a-file"), "").unwrap();
    let out = s
        .cmd()
        .args(["man", "--out", "a-file/man1"])
        .output()
        .unwrap();
    expect("kanban_doctor::write", &out);
}
