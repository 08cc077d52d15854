//! The data-safety harness: kanban-doctor beside other processes that use the same board.
//!
//! Each test runs `KD_TRIALS` trials (default 5, as in CI; `RELIABILITY.md` says how the
//! local runs used 50). Helper processes are this test binary itself, re-executed with
//! `KD_HARNESS_ROLE` set, so that every lock is a real POSIX lock held by another process:
//! in-process connections share SQLite's lock bookkeeping and would hide the defects.
//!
//! - `writer_beside_migrate`: a dispatcher-like writer commits small transactions in a loop
//!   while `migrate` runs; every committed value must still be there afterwards.
//! - `two_migrations_at_once`: exactly one applies; the other finds nothing to do or times
//!   out cleanly.
//! - `reader_beside_a_writer`: `diagnose` sees a multi-table write entirely or not at all.
//! - `sigkill_during_migrate`: a migration killed at a random moment leaves the board whole,
//!   entirely old or entirely new, and any finished backup a valid copy.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

fn trials() -> usize {
    std::env::var("KD_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
}

/// A small deterministic generator (splitmix64), so a failing trial can be replayed from
/// its seed (`KD_SEED`).
struct Rng(u64);

impl Rng {
    fn new(trial: usize) -> Rng {
        let base = std::env::var("KD_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        Rng(base ^ (trial as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Journal {
    Rollback,
    Wal,
}

/// A legacy board with `tasks` tasks, a few runs and events each, and a `harness_writes`
/// table for the writer. WAL boards are left idle (no `-wal`/`-shm`).
fn legacy_board(dir: &Path, tasks: usize, journal: Journal) -> PathBuf {
    let path = dir.join("kanban.db");
    std::fs::copy(common::fixture("boards/legacy.db"), &path).unwrap();
    let conn = Connection::open(&path).unwrap();
    let mode = match journal {
        Journal::Rollback => "DELETE",
        Journal::Wal => "WAL",
    };
    conn.query_row(&format!("PRAGMA journal_mode={mode}"), [], |_| Ok(()))
        .unwrap();
    conn.execute_batch(&format!(
        "BEGIN;
         CREATE TABLE harness_writes (seq INTEGER PRIMARY KEY, at INTEGER);
         WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {tasks})
         INSERT INTO tasks (id, title, body, assignee, status, created_at, spawn_failures,
                            last_spawn_error)
         SELECT printf('h_%08d', x), 'task ' || x, printf('%.200c', 'b'), 'coder',
                CASE x % 4 WHEN 0 THEN 'ready' WHEN 1 THEN 'running' WHEN 2 THEN 'done'
                ELSE 'blocked' END,
                1796000000 + x, x % 7, CASE WHEN x % 3 = 0 THEN NULL ELSE 'err ' || x END
         FROM n;
         WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {tasks} * 2)
         INSERT INTO task_runs (task_id, status, started_at, ended_at, outcome, error)
         SELECT printf('h_%08d', 1 + x % {tasks}), 'done', 1796000000 + x, 1796000060 + x,
                CASE x % 3 WHEN 0 THEN 'timed_out' WHEN 1 THEN 'crashed' ELSE 'completed' END,
                'boom ' || x
         FROM n;
         WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {tasks} * 3)
         INSERT INTO task_events (task_id, kind, payload, created_at)
         SELECT printf('h_%08d', 1 + x % {tasks}),
                CASE x % 3 WHEN 0 THEN 'spawned' WHEN 1 THEN 'timed_out' ELSE 'crashed' END,
                '{{\"n\": ' || x || '}}', 1796000000 + x
         FROM n;
         COMMIT;"
    ))
    .unwrap();
    drop(conn);
    path
}

/// `(seq, title)` of what a board holds for the writer's rows, read outside any harness.
fn read_conn(path: &Path) -> Connection {
    // Read-write, as the next Hermes process would open it: a hot journal left by a
    // killed writer is rolled back first.
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE).unwrap();
    conn.busy_timeout(Duration::from_secs(60)).unwrap();
    conn
}

fn integrity_ok(path: &Path) -> bool {
    let conn = read_conn(path);
    let lines: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    lines == ["ok"]
}

/// The writer's rows of `tasks` touched: rows 1..=WRITER_ROWS, updated in turn.
const WRITER_ROWS: u64 = 64;

/// What a helper process does, chosen by `KD_HARNESS_ROLE`. Not a test of its own: it
/// returns at once when run as part of the suite.
#[test]
fn harness_child() {
    let Ok(role) = std::env::var("KD_HARNESS_ROLE") else {
        return;
    };
    let db = PathBuf::from(std::env::var("KD_DB").unwrap());
    match role.as_str() {
        "writer" => writer_loop(&db),
        "one-write" => one_write(&db),
        other => panic!("unknown role {other}"),
    }
}

/// A dispatcher's pattern: one atomic change per `BEGIN IMMEDIATE`, retried while busy,
/// logged only once committed. Stops when the stop file appears.
fn writer_loop(db: &Path) {
    let log = PathBuf::from(std::env::var("KD_LOG").unwrap());
    let stop = PathBuf::from(std::env::var("KD_STOP").unwrap());
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE).unwrap();
    conn.busy_timeout(Duration::from_secs(60)).unwrap();
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap();
    let mut seq: u64 = 0;
    while !stop.exists() {
        seq += 1;
        let row = 1 + seq % WRITER_ROWS;
        let result = (|| -> rusqlite::Result<()> {
            conn.execute_batch("BEGIN IMMEDIATE")?;
            let r = (|| {
                conn.execute(
                    "INSERT INTO harness_writes (seq, at) VALUES (?1, ?2)",
                    [seq as i64, row as i64],
                )?;
                conn.execute(
                    "UPDATE tasks SET title = ?1 WHERE rowid = ?2",
                    rusqlite::params![format!("w{seq}"), row as i64],
                )?;
                conn.execute_batch("COMMIT")
            })();
            if r.is_err() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            r
        })();
        match result {
            Ok(()) => {
                writeln!(out, "{seq}").unwrap();
                out.flush().unwrap();
            }
            Err(e) => {
                // Busy past the timeout is retried, as a dispatcher's next tick would.
                writeln!(out, "error {seq}: {e}").unwrap();
                out.flush().unwrap();
                seq -= 1;
                if !matches!(
                    e.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
                ) {
                    std::process::exit(3);
                }
            }
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// One multi-table transaction that turns two far-apart tasks into failure loops at once,
/// after `KD_DELAY_US`, then close (on an idle WAL board the close checkpoints into the
/// main file).
fn one_write(db: &Path) {
    let delay: u64 = std::env::var("KD_DELAY_US").unwrap().parse().unwrap();
    std::thread::sleep(Duration::from_micros(delay));
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE).unwrap();
    conn.busy_timeout(Duration::from_secs(60)).unwrap();
    conn.execute_batch(
        "BEGIN IMMEDIATE;
         UPDATE tasks SET consecutive_failures = 4, last_failure_error = 'late'
          WHERE rowid = (SELECT min(rowid) FROM tasks);
         INSERT INTO task_events (task_id, kind, payload, created_at)
           SELECT id, 'timed_out', '{}', 1796000999 FROM tasks
           WHERE rowid = (SELECT max(rowid) FROM tasks);
         UPDATE tasks SET consecutive_failures = 4, last_failure_error = 'late'
          WHERE rowid = (SELECT max(rowid) FROM tasks);
         COMMIT;",
    )
    .unwrap();
    println!("KD-COMMITTED");
}

fn child(role: &str, db: &Path, env: &[(&str, String)]) -> Child {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args([
        "--exact",
        "harness_child",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("KD_HARNESS_ROLE", role)
    .env("KD_DB", db)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    c.spawn().unwrap()
}

fn doctor() -> Command {
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

/// Committed writer sequence numbers, from its log; panics on a non-busy error.
fn committed(log: &Path) -> Vec<u64> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines().filter_map(|l| l.parse().ok()).collect()
}

#[derive(Debug, Clone, Copy)]
struct Variant {
    journal: Journal,
    backup: bool,
    copy: bool,
}

fn variant(i: usize) -> Variant {
    Variant {
        journal: if i.is_multiple_of(2) {
            Journal::Rollback
        } else {
            Journal::Wal
        },
        backup: (i / 2).is_multiple_of(2),
        copy: (i / 4).is_multiple_of(2),
    }
}

fn migrate_args(db: &Path, v: Variant, wait: &str) -> Vec<String> {
    let mut a = vec![
        "migrate".to_string(),
        "--db".into(),
        db.display().to_string(),
        "--json".into(),
        "--wait".into(),
        wait.into(),
    ];
    if !v.backup {
        a.push("--no-backup".into());
    }
    if v.copy {
        a.extend(["--strategy".into(), "copy".into()]);
    }
    a
}

#[test]
fn writer_beside_migrate() {
    for trial in 0..trials() {
        let v = variant(trial);
        let dir = tempfile::tempdir().unwrap();
        let db = legacy_board(dir.path(), 20_000, v.journal);
        let log = dir.path().join("writer.log");
        let stop = dir.path().join("stop");
        let mut writer = child(
            "writer",
            &db,
            &[
                ("KD_LOG", log.display().to_string()),
                ("KD_STOP", stop.display().to_string()),
            ],
        );
        // Let the writer get going, so the migration starts among its commits.
        let started = Instant::now();
        while committed(&log).len() < 20 && started.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(5));
        }
        let out = doctor().args(migrate_args(&db, v, "30")).output().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        std::fs::write(&stop, "").unwrap();
        let status = writer.wait().unwrap();
        let wlog = std::fs::read_to_string(&log).unwrap();
        assert!(
            status.success(),
            "trial {trial} {v:?}: writer failed: {wlog}"
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(0),
            "trial {trial} {v:?}: migrate failed: {stderr}"
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["changed"], true, "trial {trial} {v:?}");

        assert!(integrity_ok(&db), "trial {trial} {v:?}: integrity");
        let seqs = committed(&log);
        let conn = read_conn(&db);
        let stored: std::collections::BTreeSet<u64> = conn
            .prepare("SELECT seq FROM harness_writes")
            .unwrap()
            .query_map([], |r| r.get::<_, i64>(0))
            .unwrap()
            .map(|r| r.unwrap() as u64)
            .collect();
        let lost: Vec<u64> = seqs
            .iter()
            .copied()
            .filter(|s| !stored.contains(s))
            .collect();
        assert!(
            lost.is_empty(),
            "trial {trial} {v:?}: {} of {} committed writes lost (first {:?})",
            lost.len(),
            seqs.len(),
            &lost[..lost.len().min(5)]
        );
        // The newest committed title of each row the writer touched is the one stored.
        let mut last: BTreeMap<u64, u64> = BTreeMap::new();
        for s in &seqs {
            last.insert(1 + s % WRITER_ROWS, *s);
        }
        for (row, s) in last {
            let title: String = conn
                .query_row(
                    "SELECT title FROM tasks WHERE rowid = ?1",
                    [row as i64],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(title, format!("w{s}"), "trial {trial} {v:?}: row {row}");
        }
        let counter_cols: i64 = conn
            .query_row(
                "SELECT count(*) FROM pragma_table_info('tasks') WHERE name = 'consecutive_failures'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(counter_cols, 1, "trial {trial} {v:?}: migrated");
    }
}

#[test]
fn two_migrations_at_once() {
    for trial in 0..trials() {
        let v = variant(trial);
        let dir = tempfile::tempdir().unwrap();
        let db = legacy_board(dir.path(), 20_000, v.journal);
        let spawn = || {
            doctor()
                .args(migrate_args(&db, v, "2"))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(), spawn());
        let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
        let mut applied = 0;
        for o in &outs {
            let stderr = String::from_utf8_lossy(&o.stderr);
            match o.status.code() {
                Some(0) => {
                    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
                    if r["changed"] == true {
                        applied += 1;
                    }
                }
                Some(2) => assert!(
                    stderr.contains("kanban_doctor::migrate::locked"),
                    "trial {trial} {v:?}: the loser must time out cleanly, not: {stderr}"
                ),
                c => panic!("trial {trial} {v:?}: exit {c:?}: {stderr}"),
            }
            assert!(
                !stderr.contains("disk I/O") && !stderr.contains("malformed"),
                "trial {trial} {v:?}: {stderr}"
            );
        }
        assert_eq!(applied, 1, "trial {trial} {v:?}: exactly one applies");
        assert!(integrity_ok(&db), "trial {trial} {v:?}");
    }
}

/// A current board with `tasks` ready tasks and enough events that a scan takes a while.
fn current_board(dir: &Path, tasks: usize, journal: Journal) -> PathBuf {
    let db = legacy_board(dir, tasks, journal);
    let out = doctor()
        .args(["migrate", "--no-backup", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "UPDATE tasks SET consecutive_failures = 0, last_failure_error = NULL, status = 'ready'",
    )
    .unwrap();
    drop(conn);
    db
}

/// Which of the writer's two tasks `diagnose --json` flags.
fn flagged(stdout: &[u8]) -> usize {
    let v: serde_json::Value = serde_json::from_slice(stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .filter(|t| {
            t["diagnostics"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["kind"] == "repeated_failures")
        })
        .count()
}

#[test]
fn reader_beside_a_writer() {
    // Three board states: idle WAL (no -wal/-shm), busy WAL (another connection keeps the
    // sidecars), rollback journal.
    for trial in 0..trials() {
        let mut rng = Rng::new(trial);
        let kind = trial % 3;
        let dir = tempfile::tempdir().unwrap();
        let journal = if kind == 2 {
            Journal::Rollback
        } else {
            Journal::Wal
        };
        let db = current_board(dir.path(), 20_000, journal);
        // Busy WAL: a connection that stays open keeps -wal and -shm in place.
        let keeper = (kind == 1).then(|| {
            let c = Connection::open(&db).unwrap();
            c.query_row("SELECT count(*) FROM tasks", [], |r| r.get::<_, i64>(0))
                .unwrap();
            c
        });
        let args = [
            "diagnose",
            "--json",
            "--rule",
            "repeated_failures",
            "--now",
            "1796100000",
            "--wait",
            "30",
        ];
        // Time one undisturbed scan, then start the writer at a random point inside one.
        let t0 = Instant::now();
        let base = doctor().args(args).arg("--db").arg(&db).output().unwrap();
        let scan = t0.elapsed().as_micros() as u64;
        assert_eq!(flagged(&base.stdout), 0, "trial {trial}: clean before");
        let delay = rng.below(scan.max(1000));
        let mut w = child("one-write", &db, &[("KD_DELAY_US", delay.to_string())]);
        let out = doctor().args(args).arg("--db").arg(&db).output().unwrap();
        let wout = {
            let mut s = String::new();
            std::io::BufReader::new(w.stdout.take().unwrap())
                .lines()
                .for_each(|l| s.push_str(&l.unwrap()));
            s
        };
        assert!(w.wait().unwrap().success(), "trial {trial}: writer: {wout}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "trial {trial} kind {kind}: diagnose failed: {stderr}"
        );
        let n = flagged(&out.stdout);
        assert!(
            n == 0 || n == 2,
            "trial {trial} kind {kind} delay {delay}us: a torn read flagged {n} of the 2 tasks"
        );
        drop(keeper);
        assert!(integrity_ok(&db));
    }
}

/// Every task's values as the kernel reads them, for the old/new comparison.
fn values(db: &Path) -> Vec<(String, Option<i64>, Option<String>)> {
    common::task_values(db)
}

#[test]
fn sigkill_during_migrate() {
    for trial in 0..trials() {
        let mut rng = Rng::new(trial);
        let v = variant(trial);
        let dir = tempfile::tempdir().unwrap();
        let db = legacy_board(dir.path(), 50_000, v.journal);
        let before = values(&db);
        // Time one full migration of an identical board to choose the kill moment.
        let probe_dir = tempfile::tempdir().unwrap();
        let probe = legacy_board(probe_dir.path(), 50_000, v.journal);
        let t0 = Instant::now();
        let out = doctor()
            .args(migrate_args(&probe, v, "30"))
            .output()
            .unwrap();
        assert!(out.status.success());
        let full = t0.elapsed().as_micros() as u64;

        let mut m = doctor()
            .args(migrate_args(&db, v, "30"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.below(full)));
        let _ = m.kill(); // SIGKILL on Unix
        let _ = m.wait();

        assert!(
            integrity_ok(&db),
            "trial {trial} {v:?}: integrity after kill"
        );
        assert_eq!(
            values(&db),
            before,
            "trial {trial} {v:?}: values after kill"
        );
        let conn = read_conn(&db);
        let cols: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('tasks')")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let has = |c: &str| cols.iter().any(|x| x == c);
        // Entirely old (legacy only, nothing added) or entirely new (current columns).
        let old = has("spawn_failures") && !has("consecutive_failures");
        let new = has("consecutive_failures");
        assert!(
            old || new,
            "trial {trial} {v:?}: neither old nor new: {cols:?}"
        );
        drop(conn);
        for e in std::fs::read_dir(dir.path()).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "bak") {
                assert!(integrity_ok(&p), "trial {trial}: backup {p:?}");
                assert_eq!(values(&p), before, "trial {trial}: backup {p:?} values");
            }
        }
        // The board is still a board kanban-doctor can finish migrating.
        let out = doctor().args(migrate_args(&db, v, "30")).output().unwrap();
        assert!(
            out.status.success(),
            "trial {trial} {v:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(values(&db), before);
    }
}
