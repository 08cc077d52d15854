//! `diagnose` from the command line: output, filters, exit codes, read-only guarantees.

mod common;

use common::*;
use predicates::prelude::*;

const SORTING: &str = "golden/cases/36-severity-sorting/board.db";
const NOW: &str = "1767225600";

fn run(args: &[&str]) -> std::process::Output {
    cmd().arg("diagnose").args(args).output().unwrap()
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn table_output_snapshot() {
    let out = run(&["--db", fixture(SORTING).to_str().unwrap(), "--now", NOW]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out).replace(&root().display().to_string(), "[ROOT]");
    insta_settings().bind(|| insta::assert_snapshot!("diagnose_table_severity_sorting", text));
}

#[test]
fn rule_kinds_snapshot() {
    let out = run(&["--list-rules"]);
    assert_eq!(out.status.code(), Some(0));
    insta_settings().bind(|| insta::assert_snapshot!("diagnose_rule_kinds", stdout(&out)));
}

#[test]
fn severity_is_a_threshold_not_an_exact_match() {
    let db = fixture(SORTING);
    let count = |sev: &str| -> Vec<String> {
        let out = run(&[
            "--db",
            db.to_str().unwrap(),
            "--now",
            NOW,
            "--json",
            "--severity",
            sev,
        ]);
        let v: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        v.iter()
            .flat_map(|t| {
                t["diagnostics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d["severity"].as_str().unwrap().to_string())
            })
            .collect()
    };
    let warning = count("warning");
    let error = count("error");
    let critical = count("critical");
    assert!(error.iter().all(|s| s == "error" || s == "critical"));
    assert!(critical.iter().all(|s| s == "critical"));
    assert!(warning.len() > error.len() && error.len() > critical.len() && !critical.is_empty());
}

#[test]
fn exit_codes_follow_findings() {
    let clean = fixture("golden/cases/02-no-findings/board.db");
    cmd()
        .args(["diagnose", "--now", NOW, "--db"])
        .arg(&clean)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("No task needs attention."));
    let db = fixture(SORTING);
    cmd()
        .args(["diagnose", "--now", NOW, "--db"])
        .arg(&db)
        .assert()
        .code(1);
    cmd()
        .args(["diagnose", "--exit-zero", "--now", NOW, "--db"])
        .arg(&db)
        .assert()
        .code(0);
}

#[test]
fn task_mode_reports_the_task_even_without_findings_and_rejects_unknown_ids() {
    let db = fixture("golden/cases/31-taskmode-healthy/board.db");
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("golden/cases/31-taskmode-healthy/case.json")).unwrap(),
    )
    .unwrap();
    let task = meta["task"].as_str().unwrap();
    let out = run(&[
        "--db",
        db.to_str().unwrap(),
        "--now",
        NOW,
        "--json",
        "--task",
        task,
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["task_id"], task);
    cmd()
        .args(["diagnose", "--task", "t_nope", "--db"])
        .arg(&db)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "kanban_doctor::diagnose::unknown_task",
        ));
}

#[test]
fn a_legacy_board_is_left_byte_identical_and_read_as_if_migrated() {
    let (_d, legacy) = copy_fixture("boards/legacy.db");
    let hash = sha256(&legacy);
    let a = run(&["--db", legacy.to_str().unwrap(), "--now", NOW, "--json"]);
    assert_eq!(sha256(&legacy), hash);
    assert_eq!(
        std::fs::read_dir(legacy.parent().unwrap()).unwrap().count(),
        1
    );
    // The same rows under the current names diagnose identically.
    let b = run(&[
        "--db",
        fixture("boards/current.db").to_str().unwrap(),
        "--now",
        NOW,
        "--json",
    ]);
    assert_eq!(a.stdout, b.stdout);
    assert!(!a.stdout.is_empty());
    // And so does the legacy board after migration.
    cmd()
        .args(["migrate", "--no-backup", "--db"])
        .arg(&legacy)
        .assert()
        .code(0);
    let c = run(&["--db", legacy.to_str().unwrap(), "--now", NOW, "--json"]);
    assert_eq!(a.stdout, c.stdout);
}

/// Extra rows for the first task, so that the event and run passes, which come before the
/// task pass, take a measurable time.
const SNAPSHOT_EVENTS: u32 = 60_000;
const SNAPSHOT_RUNS: u32 = 40_000;

/// A WAL board whose last task (in row order) is ready, with no counter, events or runs,
/// behind many events and runs of another task. Checkpointed: no `-wal` left.
fn snapshot_board(dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let path = dir.join("kanban.db");
    std::fs::copy(fixture("boards/legacy-wal.db"), &path).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let last: String = conn
        .query_row(
            "SELECT id FROM tasks WHERE rowid = (SELECT max(rowid) FROM tasks)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute_batch(&format!(
        "BEGIN;
         UPDATE tasks SET status = 'ready', spawn_failures = 0, last_spawn_error = NULL,
                          claim_lock = NULL WHERE id = '{last}';
         DELETE FROM task_events WHERE task_id = '{last}';
         DELETE FROM task_runs WHERE task_id = '{last}';
         WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {SNAPSHOT_EVENTS})
         INSERT INTO task_events (task_id, kind, payload, created_at)
         SELECT (SELECT id FROM tasks ORDER BY rowid LIMIT 1), 'commented', NULL, 1700000000 + x
         FROM n;
         WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {SNAPSHOT_RUNS})
         INSERT INTO task_runs (task_id, status, started_at, ended_at, outcome)
         SELECT (SELECT id FROM tasks ORDER BY rowid LIMIT 1), 'done', 1700000000 + x,
                1700000001 + x, 'completed'
         FROM n;
         COMMIT;"
    ))
    .unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    (path, last)
}

/// The one transaction of the snapshot test: `task` gets an old `blocked` event, a
/// timed-out run, and a blocked status with a counter of 4.
fn snapshot_write(conn: &rusqlite::Connection, task: &str) {
    conn.execute_batch(&format!(
        "BEGIN IMMEDIATE;
         INSERT INTO task_events (task_id, kind, payload, created_at)
           VALUES ('{task}', 'blocked', NULL, 1700000000);
         INSERT INTO task_runs (task_id, status, started_at, ended_at, outcome, error)
           VALUES ('{task}', 'done', 1700000000, 1700000060, 'timed_out', 'late');
         UPDATE tasks SET status = 'blocked', spawn_failures = 4, last_spawn_error = 'late'
           WHERE id = '{task}';
         COMMIT;"
    ))
    .unwrap();
}

/// What `diagnose --json` says about `task`: the kinds it flags, and the outcome
/// `repeated_failures` names.
fn flags_of(stdout: &[u8], task: &str) -> (Vec<String>, Option<String>) {
    let v: Vec<serde_json::Value> = serde_json::from_slice(stdout).unwrap();
    let Some(t) = v.iter().find(|t| t["task_id"] == task) else {
        return (Vec::new(), None);
    };
    let diags = t["diagnostics"].as_array().unwrap();
    let mut kinds: Vec<String> = diags
        .iter()
        .map(|d| d["kind"].as_str().unwrap().to_string())
        .collect();
    kinds.sort();
    let outcome = diags
        .iter()
        .find(|d| d["kind"] == "repeated_failures")
        .and_then(|d| d["data"]["most_recent_outcome"].as_str())
        .map(str::to_string);
    (kinds, outcome)
}

/// `diagnose` reads events, then runs, then tasks, in one read transaction. A writer
/// commits one transaction mid-scan, at a random moment, that gives the last task a
/// `blocked` event (read in the first pass), a timed-out run (the second) and a blocked
/// status with a counter of 4 (the third). Seen whole, the task has `stuck_in_blocked` and
/// `repeated_failures` naming `timed_out`; not seen, nothing. Any other combination is a
/// torn read: one pass saw the write and another did not.
#[test]
fn a_wal_board_with_an_open_writer_is_read_from_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let (template, task) = snapshot_board(dir.path());
    let args = [
        "diagnose",
        "--json",
        "--now",
        NOW,
        "--rule",
        "stuck_in_blocked",
        "--rule",
        "repeated_failures",
    ];
    let whole = (
        vec![
            "repeated_failures".to_string(),
            "stuck_in_blocked".to_string(),
        ],
        Some("timed_out".to_string()),
    );
    let started = std::time::Instant::now();
    let base = cmd()
        .args(args)
        .arg("--db")
        .arg(&template)
        .output()
        .unwrap();
    let scan = started.elapsed();
    assert_eq!(flags_of(&base.stdout, &task), (Vec::new(), None));
    // The control: committed before the scan, the write is seen whole.
    let path = dir.path().join("control.db");
    std::fs::copy(&template, &path).unwrap();
    snapshot_write(&rusqlite::Connection::open(&path).unwrap(), &task);
    let control = cmd().args(args).arg("--db").arg(&path).output().unwrap();
    assert_eq!(flags_of(&control.stdout, &task), whole);
    let mut seed = u64::from(std::process::id()) ^ started.elapsed().subsec_nanos() as u64;
    let (mut before, mut after) = (0, 0);
    for trial in 0..6 {
        let path = dir.path().join(format!("trial-{trial}.db"));
        std::fs::copy(&template, &path).unwrap();
        // The writer's connection is open before the scan starts, as a dispatcher's is.
        let writer = rusqlite::Connection::open(&path).unwrap();
        writer
            .busy_timeout(std::time::Duration::from_secs(10))
            .unwrap();
        writer
            .query_row("SELECT count(*) FROM tasks", [], |r| r.get::<_, i64>(0))
            .unwrap();
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = scan.mul_f64((seed >> 11) as f64 / (1u64 << 53) as f64);
        let t = task.clone();
        let write = std::thread::spawn(move || {
            std::thread::sleep(delay);
            snapshot_write(&writer, &t);
        });
        let out = cmd().args(args).arg("--db").arg(&path).output().unwrap();
        write.join().unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let seen = flags_of(&out.stdout, &task);
        if seen == whole {
            after += 1;
        } else {
            assert_eq!(
                seen,
                (Vec::new(), None),
                "trial {trial}, write after {delay:?} of a {scan:?} scan: a torn read"
            );
            before += 1;
        }
    }
    eprintln!("scan {scan:?}: the write was seen whole {after} times, not at all {before} times");
}

#[test]
fn untrusted_text_is_escaped_in_the_table_but_faithful_in_json() {
    let (_d, path) = copy_fixture("boards/current.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute(
            "UPDATE tasks SET title = ?1, status = 'ready', consecutive_failures = 3, \
             last_failure_error = ?2, claim_lock = NULL WHERE id = (SELECT id FROM tasks ORDER BY rowid LIMIT 1)",
            ["\x1b]8;;http://evil\x07click\x1b]8;;\x07 \u{202e}gnp.exe", "\x1b[2J\x1b[HOK all good\r\nreal error"],
        )
        .unwrap();
    }
    let text = stdout(&run(&["--db", path.to_str().unwrap(), "--now", NOW]));
    assert!(!text.contains('\x1b') && !text.contains('\u{202e}') && !text.contains('\r'));
    assert!(text.contains("\\x1b]8;;http://evil\\x07click"));
    assert!(text.contains("\\u{202e}gnp.exe"));
    let json = stdout(&run(&[
        "--db",
        path.to_str().unwrap(),
        "--now",
        NOW,
        "--json",
    ]));
    assert!(json.contains("\\u001b[2J\\u001b[HOK all good\\r\\nreal error"));
    assert!(json.contains('\u{202e}'));
}

/// `arg` quoted for `sh`.
fn sh_quote(arg: &std::ffi::OsStr) -> String {
    format!("'{}'", arg.to_str().unwrap().replace('\'', r"'\''"))
}

/// util-linux `script`, when it exists and can allocate a pseudo-terminal here.
fn script_works() -> bool {
    std::process::Command::new("script")
        .args(["-qec", "true", "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Run `kanban-doctor diagnose` with `args` with its stdout on a pseudo-terminal
/// (`script -qec`), with `NO_COLOR` and `TERM` as given (`None`: unset), and return what
/// the terminal showed.
fn diagnose_on_a_tty(args: &[&str], no_color: Option<&str>, term: Option<&str>) -> String {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_kanban-doctor"));
    let line = std::iter::once(bin.as_os_str())
        .chain(std::iter::once("diagnose".as_ref()))
        .chain(args.iter().map(|a| a.as_ref()))
        .map(sh_quote)
        .collect::<Vec<_>>()
        .join(" ");
    let home = std::env::temp_dir().join("kanban-doctor-test-empty-home");
    std::fs::create_dir_all(&home).unwrap();
    let mut c = std::process::Command::new("script");
    c.args(["-qec", &line, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .env("HERMES_HOME", &home)
        .env_remove("HERMES_KANBAN_DB")
        .env_remove("HERMES_KANBAN_HOME")
        .env_remove("HERMES_KANBAN_BOARD");
    match no_color {
        Some(v) => c.env("NO_COLOR", v),
        None => c.env_remove("NO_COLOR"),
    };
    match term {
        Some(v) => c.env("TERM", v),
        None => c.env_remove("TERM"),
    };
    let out = c.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // `script -e` exits with the command's code: 1, there are findings.
    assert_eq!(out.status.code(), Some(1), "{line}: {text}");
    assert!(text.contains("tasks need attention"), "{line}: {text}");
    text
}

#[test]
fn color_only_when_asked_or_on_a_terminal() {
    let db = fixture(SORTING);
    let db = db.to_str().unwrap();
    let base = ["--db", db, "--now", NOW];
    // Off a terminal: no color, even with NO_COLOR unset and a capable TERM.
    let piped = cmd()
        .env_remove("NO_COLOR")
        .env("TERM", "xterm-256color")
        .arg("diagnose")
        .args(base)
        .output()
        .unwrap();
    assert_eq!(piped.status.code(), Some(1));
    assert!(!stdout(&piped).contains('\x1b'));
    let colored = stdout(&run(&[&base[..], &["--color", "always"][..]].concat()));
    assert!(colored.contains("\x1b["));

    if !script_works() {
        eprintln!("skipped the terminal cases: util-linux `script` is missing or has no pty");
        return;
    }
    let tty = |extra: &[&str], no_color, term| {
        diagnose_on_a_tty(&[&base[..], extra].concat(), no_color, term)
    };
    let xterm = Some("xterm-256color");
    for (extra, no_color, term, color) in [
        (&[][..], None, xterm, true),
        (&["--color", "auto"][..], None, xterm, true),
        (&["--color", "auto"][..], None, None, true),
        // NO_COLOR counts only when it is set and not empty (no-color.org).
        (&["--color", "auto"][..], Some(""), xterm, true),
        (&["--color", "auto"][..], Some("1"), xterm, false),
        (&["--color", "auto"][..], None, Some("dumb"), false),
        (&["--color", "never"][..], None, xterm, false),
        (&["--color", "always"][..], Some("1"), Some("dumb"), true),
    ] {
        let text = tty(extra, no_color, term);
        assert_eq!(
            text.contains("\x1b["),
            color,
            "{extra:?} NO_COLOR={no_color:?} TERM={term:?}: {text:?}"
        );
    }
}

#[test]
fn a_config_that_does_not_parse_is_exit_2_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.yaml");
    std::fs::write(
        &cfg,
        "kanban:\n  failure_limit: 4\n  diagnostics: [unclosed\n",
    )
    .unwrap();
    cmd()
        .args(["diagnose", "--db"])
        .arg(fixture(SORTING))
        .arg("--config")
        .arg(&cfg)
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("kanban_doctor::config::parse")
                .and(predicate::str::is_match(r"config\.yaml:\d+:\d+").unwrap()),
        );
}

#[test]
fn a_config_nested_100k_levels_deep_is_refused_at_once_and_a_normal_one_still_reads() {
    let dir = tempfile::tempdir().unwrap();
    let db = fixture("boards/current.db");
    let diagnose = |cfg: &std::path::Path| {
        let mut c = cmd();
        c.args(["diagnose", "--json", "--now", NOW, "--config"])
            .arg(cfg)
            .arg("--db")
            .arg(&db);
        c
    };
    // Flow brackets (the parser took minutes on these) and compact block sequences.
    for (name, text, position) in [
        (
            "deep.yaml",
            format!("a: {}\n", "[".repeat(100_000)),
            "1:1003",
        ),
        (
            "deep-block.yaml",
            format!("a:\n{}x\n", "- ".repeat(100_000)),
            "2:2001",
        ),
    ] {
        let cfg = dir.path().join(name);
        std::fs::write(&cfg, text).unwrap();
        let out = diagnose(&cfg).assert().code(2).stdout("");
        let stderr = String::from_utf8_lossy(&out.get_output().stderr);
        assert!(stderr.contains("kanban_doctor::config::parse"), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "{name}:{position}: config does not parse: nested more than 1000 levels deep"
            )),
            "{stderr}"
        );
    }
    let cfg = dir.path().join("config.yaml");
    std::fs::write(
        &cfg,
        "kanban:\n  failure_limit: 4\n  extra: [[1, {a: [2]}]]\n",
    )
    .unwrap();
    diagnose(&cfg)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("\"failure_limit\": 4"));
}

#[test]
fn the_config_in_the_hermes_home_is_used_by_default() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("config.yaml"),
        "kanban:\n  failure_limit: 2\n",
    )
    .unwrap();
    let db = fixture("golden/cases/03-failures-thresholds/board.db");
    let with_home = cmd()
        .env("HERMES_HOME", home.path())
        .args(["diagnose", "--json", "--now", NOW, "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let without = run(&["--db", db.to_str().unwrap(), "--now", NOW, "--json"]);
    assert_ne!(with_home.stdout, without.stdout);
    assert!(String::from_utf8_lossy(&with_home.stdout).contains("\"failure_threshold\": 2"));
}

#[test]
fn the_board_is_found_like_hermes_finds_it() {
    let root = tempfile::tempdir().unwrap();
    let boards = root.path().join("kanban/boards/ops");
    std::fs::create_dir_all(&boards).unwrap();
    std::fs::copy(fixture(SORTING), boards.join("kanban.db")).unwrap();
    std::fs::write(root.path().join("kanban/current"), "ops\n").unwrap();
    // HERMES_HOME inside profiles/<name> resolves to the shared root.
    let profile = root.path().join("profiles/coder");
    std::fs::create_dir_all(&profile).unwrap();
    cmd()
        .env("HERMES_HOME", &profile)
        .args(["diagnose", "--now", NOW])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("kanban/boards/ops/kanban.db"));
    // --board wins over the current file; the default board lives at <root>/kanban.db.
    cmd()
        .env("HERMES_HOME", &profile)
        .args(["diagnose", "--board", "default"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("kanban.db"));
    cmd()
        .env("HERMES_KANBAN_DB", fixture(SORTING))
        .args(["diagnose", "--now", NOW])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("36-severity-sorting"));
}

#[test]
fn a_home_anywhere_under_the_native_home_uses_the_native_board() {
    // Hermes anchors the board at ~/.hermes for any HERMES_HOME under it, not only for
    // ~/.hermes/profiles/<name>; config.yaml still comes from HERMES_HOME itself.
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let team = home.join(".hermes/teamA");
    std::fs::create_dir_all(&team).unwrap();
    std::fs::copy(
        fixture("golden/cases/03-failures-thresholds/board.db"),
        home.join(".hermes/kanban.db"),
    )
    .unwrap();
    std::fs::write(team.join("config.yaml"), "kanban:\n  failure_limit: 2\n").unwrap();
    let out = cmd()
        .env("HOME", &home)
        .env("HERMES_HOME", &team)
        .args(["diagnose", "--now", NOW])
        .assert()
        .code(1);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout);
    let board = home.join(".hermes/kanban.db");
    assert!(
        stdout.starts_with(&format!("board: {} ", board.display())),
        "{stdout}"
    );
    assert!(stdout.contains("failure_threshold=2"), "{stdout}");
}

#[test]
fn global_flags_work_before_and_after_the_subcommand() {
    let db = fixture(SORTING);
    let a = cmd()
        .arg("--db")
        .arg(&db)
        .args(["diagnose", "--json", "--now", NOW])
        .output()
        .unwrap();
    let b = cmd()
        .args(["diagnose", "--json", "--now", NOW, "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(a.stdout, b.stdout);
    assert_eq!(a.status.code(), Some(1));
}

#[test]
fn a_board_locked_by_a_writer_is_a_bounded_wait_and_a_clear_error() {
    let (_d, path) = copy_fixture("boards/legacy.db");
    let hash = sha256(&path);
    let writer = rusqlite::Connection::open(&path).unwrap();
    // An exclusive lock in rollback-journal mode keeps every reader out.
    writer
        .execute_batch("BEGIN EXCLUSIVE; UPDATE tasks SET spawn_failures = 9;")
        .unwrap();
    let started = std::time::Instant::now();
    cmd()
        .args(["diagnose", "--wait", "0.3", "--db"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("kanban_doctor::board::busy"));
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    writer.execute_batch("ROLLBACK").unwrap();
    drop(writer);
    assert_eq!(sha256(&path), hash);
}

#[test]
fn rules_dropped_on_odd_values_are_reported_once_on_stderr() {
    let out = run(&[
        "--db",
        fixture("golden/cases/67-odd-values/board.db")
            .to_str()
            .unwrap(),
        "--now",
        NOW,
        "--json",
    ]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr
            .matches("rule block_unblock_cycling could not be evaluated")
            .count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "for 3 task(s) (t_29000001, t_29000008, t_29000009: unreadable event timestamp)"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

/// Odd values in every column the rules read: no panic, in either mode, at any clock.
#[test]
fn odd_values_never_panic() {
    let (_d, path) = copy_fixture("boards/current.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let huge = "x".repeat(1 << 20);
        conn.execute_batch(
            "UPDATE tasks SET title = CAST(X'FFFE41' AS TEXT), last_failure_error = CAST(X'C328' AS TEXT)
               WHERE rowid % 5 = 0;
             UPDATE tasks SET consecutive_failures = 'many', assignee = 42 WHERE rowid % 5 = 1;
             UPDATE tasks SET consecutive_failures = 1e300, created_at = -9223372036854775808,
               status = 'ready', claim_lock = NULL WHERE rowid % 5 = 2;
             UPDATE tasks SET created_at = 9223372036854775807, status = 'ready', claim_lock = NULL,
               assignee = X'00FF' WHERE rowid % 5 = 3;
             UPDATE task_events SET created_at = 9223372036854775807 WHERE id % 7 = 0;
             UPDATE task_events SET created_at = -9223372036854775808, kind = 'blocked' WHERE id % 7 = 1;
             UPDATE task_events SET payload = '[1,2]', kind = 'completion_blocked_hallucination' WHERE id % 7 = 2;
             UPDATE task_events SET payload = X'FF00', kind = 'suspected_hallucinated_references' WHERE id % 7 = 3;
             UPDATE task_events SET created_at = 'soon', kind = 'unblocked' WHERE id % 7 = 4;
             UPDATE task_runs SET outcome = 'crashed', error = 3.5 WHERE id % 3 = 0;
             UPDATE task_runs SET outcome = 7 WHERE id % 3 = 1;",
        )
        .unwrap();
        conn.execute("UPDATE task_runs SET error = ?1 WHERE id % 3 = 2", [&huge])
            .unwrap();
        conn.execute(
            "UPDATE tasks SET last_failure_error = ?1 WHERE rowid % 5 = 4",
            [&huge],
        )
        .unwrap();
    }
    let id: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("SELECT id FROM tasks WHERE rowid = 3", [], |r| r.get(0))
        .unwrap();
    for now in [
        "-9223372036854775808",
        "0",
        "1796000000",
        "9223372036854775807",
    ] {
        for extra in [
            &[][..],
            &["--json"],
            &["--task", id.as_str()],
            &["--task", id.as_str(), "--json"],
        ] {
            let out = cmd()
                .args(["diagnose", "--exit-zero", "--now", now, "--db"])
                .arg(&path)
                .args(extra)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "now={now} {extra:?}: {stderr}");
            assert!(
                !stderr.contains("panicked"),
                "now={now} {extra:?}: {stderr}"
            );
        }
    }
}

#[test]
fn explain_prints_a_rules_documentation() {
    let out = cmd()
        .args(["diagnose", "--explain", "repeated_failures"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    common::snapshot_stdout("diagnose_explain_repeated_failures", &out);
    let out = cmd()
        .args(["diagnose", "--explain", "stranded_in_ready", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kind"], "stranded_in_ready");
    assert!(v["body"].as_str().unwrap().contains("## What it does"));
    cmd()
        .args(["diagnose", "--explain", "no_such_rule"])
        .assert()
        .code(2);
}

/// The data line cuts a long or multi-line value to its first line and marks the cut with
/// "…"; trailing whitespace stripped away is not a cut.
#[test]
fn a_trailing_newline_is_not_a_cut_in_the_data_line() {
    let long = format!("{}\nsecond line", "x".repeat(30));
    for (error, shown) in [
        ("boom\n", "last_error=boom |"),
        ("boom \n", "last_error=boom |"),
        (
            long.as_str(),
            &format!("last_error={}… |", "x".repeat(30))[..],
        ),
    ] {
        let (_d, path) = copy_fixture("boards/current.db");
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute(
                "UPDATE tasks SET status = 'ready', consecutive_failures = 3, \
                 last_failure_error = ?1, claim_lock = NULL \
                 WHERE id = (SELECT id FROM tasks ORDER BY rowid LIMIT 1)",
                [error],
            )
            .unwrap();
        }
        let text = stdout(&run(&["--db", path.to_str().unwrap(), "--now", NOW]));
        assert!(
            text.contains(shown),
            "{error:?} should show {shown:?}:\n{text}"
        );
    }
}

/// Rows that share an id (a `tasks` table without a primary key) are merged before the
/// severity filter, as the reference's dict merges them: the later row's findings (a
/// warning) replace the earlier row's (an error and the warning), so `--severity error`
/// leaves nothing for the id. Checked against hermes-agent 0.19.0.
#[test]
fn repeated_ids_are_merged_before_the_severity_filter() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kanban.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TABLE tasks (id, title TEXT, status TEXT, assignee TEXT, created_at INTEGER,
                                 consecutive_failures INTEGER, last_failure_error TEXT);
             CREATE TABLE task_events (id INTEGER PRIMARY KEY, task_id, kind TEXT,
                                       payload TEXT, created_at INTEGER);
             INSERT INTO tasks VALUES ('t_x', 'first', 'todo', 'a', 1767139200, 3, 'boom'),
                                      ('t_x', 'second', 'blocked', 'a', 1767139200, 0, NULL);
             INSERT INTO task_events (task_id, kind, payload, created_at) VALUES
                 ('t_x', 'suspected_hallucinated_references', '{\"phantom_refs\": [\"t_g\"]}',
                  1767222000);",
        )
        .unwrap();
    let json = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["--db", db.to_str().unwrap(), "--now", NOW, "--json"];
        args.extend(extra);
        serde_json::from_slice(&run(&args).stdout).unwrap()
    };
    let all = json(&[]);
    assert_eq!(all.as_array().unwrap().len(), 1);
    assert_eq!(all[0]["title"], "second");
    let kinds: Vec<&str> = all[0]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["prose_phantom_refs"]);
    assert_eq!(json(&["--severity", "error"]), serde_json::json!([]));
}

/// A REAL `inf` failure counter: the reference's `json.dumps` prints `Infinity` for the count
/// and `consecutive_failures`, which is not JSON, so the golden generator can only probe it
/// (`probe-real-inf-counter` in fixtures/golden/make.py). The expected text below is what
/// hermes-agent 0.19.0 printed for this board and task, byte for byte.
#[test]
fn a_real_inf_counter_prints_infinity_as_the_reference_does() {
    let (_d, path) = copy_fixture("golden/cases/95-real-counters/board.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE tasks SET consecutive_failures = 1e999 WHERE id = 't_33000001'",
            [],
        )
        .unwrap();
    let out = run(&[
        "--db",
        path.to_str().unwrap(),
        "--now",
        NOW,
        "--json",
        "--task",
        "t_33000001",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let detail = "This task has failed inf times in a row (most recent: failure). Full last \
                  error:\\n\\nboom 1\\n\\nThe dispatcher circuit breaker is configured for 5 \
                  consecutive non-success attempts. Fix the root cause and reclaim or unblock \
                  the task to retry.";
    let expected = format!(
        r#"[
  {{
    "task_id": "t_33000001",
    "title": "Task t_33000001",
    "status": "todo",
    "assignee": "alice",
    "diagnostics": [
      {{
        "kind": "repeated_failures",
        "severity": "critical",
        "title": "Agent failure xinf: boom 1",
        "detail": "{detail}",
        "actions": [
          {{
            "kind": "reassign",
            "label": "Reassign to different profile",
            "payload": {{
              "reclaim_first": false
            }},
            "suggested": false
          }}
        ],
        "first_seen_at": 1767225600,
        "last_seen_at": 1767225600,
        "count": Infinity,
        "run_id": null,
        "data": {{
          "consecutive_failures": Infinity,
          "most_recent_outcome": null,
          "last_error": "boom 1",
          "failure_threshold": 3,
          "failure_limit": 5
        }}
      }}
    ]
  }}
]
"#
    );
    assert_eq!(stdout(&out), expected);
}

/// Phantom ids that are NaN and the infinities: `json.loads` returns its one NaN object for
/// every `NaN`, so `in` keeps only the first (and the lists and dicts holding it compare
/// equal); `1e400` and `1e999999` are `Infinity`. The reference's `json.dumps` prints them
/// as `NaN`, `Infinity` and `-Infinity`, which is not JSON, so the golden generator can
/// only probe this (`probe-nan-and-infinity-ids` in fixtures/golden/make.py). The expected
/// text below is what hermes-agent 0.19.0 printed for this board, byte for byte, under both
/// default sets.
#[test]
fn nan_and_infinite_phantom_ids_print_as_the_reference_does() {
    let (_d, path) =
        copy_fixture("golden/cases/103-payload-grammar-as-json-loads-reads-it/board.db");
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute("DELETE FROM task_events WHERE task_id = 't_39000001'", [])
        .unwrap();
    db.execute(
        "INSERT INTO task_events (task_id, kind, payload, created_at) VALUES \
         ('t_39000001', 'completion_blocked_hallucination', ?1, 1767218400)",
        [r#"{"phantom_cards": [NaN, NaN, [NaN], [NaN], {"k": NaN}, {"k": NaN}, 1e400, Infinity, -1e400, -Infinity, 1e999999, 123456789012345678901234567890]}"#],
    )
    .unwrap();
    drop(db);
    let expected = r#"[
  {
    "task_id": "t_39000001",
    "title": "Task t_39000001",
    "status": "review",
    "assignee": "alice",
    "diagnostics": [
      {
        "kind": "hallucinated_cards",
        "severity": "error",
        "title": "Worker claimed cards that don't exist",
        "detail": "The completing worker declared created_cards that either didn't exist or weren't created by its profile. The completion was blocked and the task stayed in its prior state. Usually means the worker hallucinated ids instead of capturing return values from kanban_create.",
        "actions": [
          {
            "kind": "comment",
            "label": "Add a comment explaining what to do",
            "payload": {},
            "suggested": false
          },
          {
            "kind": "reassign",
            "label": "Reassign to different profile",
            "payload": {
              "reclaim_first": false
            },
            "suggested": false
          }
        ],
        "first_seen_at": 1767218400,
        "last_seen_at": 1767218400,
        "count": 1,
        "run_id": null,
        "data": {
          "phantom_ids": [
            NaN,
            [
              NaN
            ],
            {
              "k": NaN
            },
            Infinity,
            -Infinity,
            123456789012345678901234567890
          ]
        }
      }
    ]
  }
]
"#;
    for defaults in ["unified", "hermes-0.19"] {
        let out = run(&[
            "--db",
            path.to_str().unwrap(),
            "--now",
            NOW,
            "--json",
            "--defaults",
            defaults,
        ]);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(stdout(&out), expected, "--defaults {defaults}");
    }
}
