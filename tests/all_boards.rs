//! `--all-boards` on a temporary Hermes root with three boards: the default one with
//! findings (the seeded board), a legacy one (`legacy`), and a clean current one (`ops`),
//! plus a board directory with no file yet and an archive directory, which are no boards.

mod common;

use std::path::{Path, PathBuf};

use common::{cmd, fixture, insta_settings, sha256};

const NOW: &str = "1767225600";

struct Root {
    dir: tempfile::TempDir,
}

impl Root {
    fn new() -> Root {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        let boards = r.join("kanban").join("boards");
        for d in ["legacy", "ops", "docs-only", "_archived"] {
            std::fs::create_dir_all(boards.join(d)).unwrap();
        }
        std::fs::copy(fixture("seeded/board.db"), r.join("kanban.db")).unwrap();
        std::fs::copy(
            fixture("seeded/board-legacy.db"),
            boards.join("legacy/kanban.db"),
        )
        .unwrap();
        std::fs::copy(
            fixture("golden/cases/02-no-findings/board.db"),
            boards.join("ops/kanban.db"),
        )
        .unwrap();
        std::fs::write(boards.join("docs-only/board.json"), "{}").unwrap();
        std::fs::copy(
            fixture("seeded/board.db"),
            boards.join("_archived/kanban.db"),
        )
        .unwrap();
        Root { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn board(&self, slug: &str) -> PathBuf {
        match slug {
            "default" => self.path().join("kanban.db"),
            s => self.path().join("kanban/boards").join(s).join("kanban.db"),
        }
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        cmd()
            .env("HERMES_KANBAN_HOME", self.path())
            .current_dir(self.path())
            .args(args)
            .output()
            .unwrap()
    }
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

#[test]
fn diagnose_reports_each_board_in_order_then_a_total_and_exits_with_the_worst() {
    let root = Root::new();
    let out = root.run(&["diagnose", "--all-boards", "--now", NOW]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let boards: Vec<&str> = text.lines().filter(|l| l.starts_with("board: ")).collect();
    assert_eq!(boards.len(), 3, "{text}");
    assert!(boards[0].contains("kanban.db (current schema"), "{text}");
    assert!(
        boards[1].contains("boards/legacy/kanban.db (legacy schema"),
        "{text}"
    );
    assert!(
        boards[2].contains("boards/ops/kanban.db (current schema"),
        "{text}"
    );
    assert!(
        text.ends_with("3 boards checked: 2 need attention (8 diagnostics)\n"),
        "{text}"
    );
    // A board directory without a file is named; an archive is no board.
    assert!(stderr(&out).contains("board docs-only has no file to check yet"));
    assert!(!text.contains("_archived"));
    insta_settings().bind(|| insta::assert_snapshot!("all_boards_diagnose_table", text));
    // Each board's report equals the report of that board alone.
    let alone = cmd()
        .args(["diagnose", "--now", NOW, "--db"])
        .arg(root.board("ops"))
        .output()
        .unwrap();
    assert!(text.contains(stdout(&alone).trim_end()));
    let quiet = root.run(&["diagnose", "--all-boards", "--now", NOW, "--exit-zero"]);
    assert_eq!(quiet.status.code(), Some(0));
}

#[test]
fn machine_formats_name_the_board_of_every_finding() {
    let root = Root::new();
    let out = root.run(&["diagnose", "--all-boards", "--now", NOW, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let entries: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    let boards: Vec<&str> = entries
        .iter()
        .map(|e| e["board"].as_str().unwrap())
        .collect();
    assert_eq!(boards.len(), 8);
    assert_eq!(boards.iter().filter(|b| **b == "kanban.db").count(), 4);
    assert_eq!(
        boards
            .iter()
            .filter(|b| **b == "kanban/boards/legacy/kanban.db")
            .count(),
        4
    );
    // The board comes first; the rest is the reference's entry.
    let keys: Vec<&String> = entries[0].as_object().unwrap().keys().collect();
    assert_eq!(keys[..2], ["board", "task_id"]);

    let jsonl = root.run(&["audit", "--all-boards", "--now", NOW, "--format", "jsonl"]);
    for line in stdout(&jsonl).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(
            v["board"].as_str().unwrap().ends_with("kanban.db"),
            "{line}"
        );
    }

    let sarif = root.run(&[
        "diagnose",
        "--all-boards",
        "--now",
        NOW,
        "--format",
        "sarif",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&sarif)).unwrap();
    assert!(common::sarif_validator().is_valid(&doc));
    let uris: std::collections::BTreeSet<&str> = doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(
        uris.into_iter().collect::<Vec<_>>(),
        ["kanban.db", "kanban/boards/legacy/kanban.db"]
    );

    let prom = root.run(&[
        "diagnose",
        "--all-boards",
        "--now",
        NOW,
        "--format",
        "prometheus",
    ]);
    let text = stdout(&prom);
    for slug in ["kanban.db", "legacy/kanban.db", "ops/kanban.db"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("kanban_doctor_tasks_scanned{") && l.contains(slug)),
            "{slug}: {text}"
        );
    }
}

#[test]
fn a_board_that_cannot_be_read_is_an_error_the_others_still_reported() {
    let root = Root::new();
    std::fs::write(root.board("ops"), b"not a database, not at all").unwrap();
    let out = root.run(&["diagnose", "--all-boards", "--now", NOW]);
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    assert_eq!(text.lines().filter(|l| l.starts_with("board: ")).count(), 2);
    assert!(
        text.ends_with(
            "3 boards checked: 2 need attention (8 diagnostics), 1 board could not be checked \
             (see stderr)\n"
        ),
        "{text}"
    );
    let err = stderr(&out);
    assert!(
        err.contains("board ops:\nerror[kanban_doctor::board::"),
        "{err}"
    );
    // With JSON, the error also comes as an object, and stdout stays one document.
    let json = root.run(&["diagnose", "--all-boards", "--now", NOW, "--json"]);
    assert_eq!(json.status.code(), Some(2));
    let entries: Vec<serde_json::Value> = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(entries.len(), 8);
    assert!(stderr(&json).contains(r#"{"error":{"code":"kanban_doctor::board::"#));
}

#[test]
fn migrate_checks_then_migrates_each_board_in_its_own_transaction() {
    let root = Root::new();
    let before: Vec<String> = ["default", "legacy", "ops"]
        .iter()
        .map(|s| sha256(&root.board(s)))
        .collect();
    let check = root.run(&["migrate", "--all-boards", "--check"]);
    assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
    let text = stdout(&check);
    assert!(text.contains("== legacy\n"), "{text}");
    assert!(
        text.ends_with("3 boards checked: 1 needs migration\n"),
        "{text}"
    );
    let after: Vec<String> = ["default", "legacy", "ops"]
        .iter()
        .map(|s| sha256(&root.board(s)))
        .collect();
    assert_eq!(before, after, "--check writes nothing");

    let json = root.run(&["migrate", "--all-boards", "--json"]);
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    let entries: Vec<serde_json::Value> = serde_json::from_str(&stdout(&json)).unwrap();
    let changed: Vec<(&str, bool)> = entries
        .iter()
        .map(|e| {
            (
                e["board"].as_str().unwrap(),
                e["report"]["changed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        changed,
        [("default", false), ("legacy", true), ("ops", false)]
    );
    // Only the legacy board was written (and backed up beside itself).
    assert_eq!(sha256(&root.board("default")), before[0]);
    assert_ne!(sha256(&root.board("legacy")), before[1]);
    assert_eq!(sha256(&root.board("ops")), before[2]);
    let again = root.run(&["migrate", "--all-boards", "--check"]);
    assert_eq!(again.status.code(), Some(0));
    assert!(stdout(&again).ends_with("3 boards checked: 0 need migration\n"));
}

#[test]
fn all_boards_refuses_a_single_board_and_an_empty_root() {
    let root = Root::new();
    for args in [
        &["diagnose", "--all-boards", "--db", "kanban.db"][..],
        &["audit", "--all-boards", "--board", "ops"][..],
        &["migrate", "--all-boards", "--db", "kanban.db", "--check"][..],
    ] {
        let out = root.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).contains("--all-boards checks every board"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    let task = root.run(&["diagnose", "--all-boards", "--task", "t_1"]);
    assert_eq!(task.status.code(), Some(2));
    // One backup file cannot hold every board.
    let backup = root.run(&["migrate", "--all-boards", "--backup", "b.db"]);
    assert_eq!(backup.status.code(), Some(2));
    assert!(
        stderr(&backup).contains("cannot be used with"),
        "{}",
        stderr(&backup)
    );
    let empty = tempfile::tempdir().unwrap();
    let out = cmd()
        .env("HERMES_KANBAN_HOME", empty.path())
        .args(["audit", "--all-boards"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("kanban_doctor::board::none"));
}
