//! Parity with `hermes kanban diagnostics --json`: every case in `fixtures/golden/cases`
//! was produced by hermes-agent 0.19.0 (`fixtures/golden/make.py`); our JSON must equal it
//! byte for byte, once per set of defaults: `expected.json` with kanban-doctor's defaults
//! patched into the reference, `expected.hermes-0.19.json` from the reference as shipped
//! (`--defaults hermes-0.19`). CI needs no Python: the expected files are committed.

mod common;

use common::*;

#[derive(serde::Deserialize)]
struct Case {
    now: i64,
    task: Option<String>,
    severity: Option<String>,
}

/// Each `--defaults` value and the expected file it must reproduce.
const DEFAULT_SETS: &[(&str, &str)] = &[
    ("unified", "expected.json"),
    ("hermes-0.19", "expected.hermes-0.19.json"),
];

#[test]
fn json_output_equals_the_reference_for_every_golden_case() {
    check_every_case(DEFAULT_SETS[0]);
}

#[test]
fn json_output_equals_the_stock_reference_for_every_golden_case_with_hermes_defaults() {
    check_every_case(DEFAULT_SETS[1]);
}

fn check_every_case((defaults, expected_file): (&str, &str)) {
    let dir = fixture("golden/cases");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 30,
        "expected at least 30 golden cases, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let meta: Case =
            serde_json::from_str(&std::fs::read_to_string(case.join("case.json")).unwrap())
                .unwrap();
        let (_tmp, board) = {
            // Work on a copy: diagnose must not write, and this proves it below.
            let tmp = tempfile::tempdir().unwrap();
            let b = tmp.path().join("board.db");
            std::fs::copy(case.join("board.db"), &b).unwrap();
            (tmp, b)
        };
        let hash = sha256(&board);
        let mut c = cmd();
        c.args(["diagnose", "--json", "--now", &meta.now.to_string()]);
        // The default set is named only when it is not the default, so the unified run
        // also proves what a plain `diagnose --json` prints.
        if defaults != "unified" {
            c.args(["--defaults", defaults]);
        }
        c.arg("--db").arg(&board);
        if case.join("config.yaml").exists() {
            c.arg("--config").arg(case.join("config.yaml"));
        }
        if let Some(t) = &meta.task {
            c.args(["--task", t]);
        }
        if let Some(s) = &meta.severity {
            c.args(["--severity", s]);
        }
        let out = c.output().unwrap();
        let expected = std::fs::read(case.join(expected_file))
            .unwrap_or_else(|e| panic!("{}: {expected_file}: {e}", case.display()));
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        if out.stdout != expected {
            failures.push(format!(
                "{name} ({defaults}): output differs\n--- expected\n{}\n--- got\n{}\n--- stderr\n{}",
                String::from_utf8_lossy(&expected),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let has_findings = serde_json::from_slice::<Vec<serde_json::Value>>(&expected)
            .unwrap()
            .iter()
            .any(|t| !t["diagnostics"].as_array().unwrap().is_empty());
        let want_code = if has_findings { 1 } else { 0 };
        if out.status.code() != Some(want_code) {
            failures.push(format!(
                "{name} ({defaults}): exit {:?}, expected {want_code}",
                out.status.code()
            ));
        }
        if sha256(&board) != hash {
            failures.push(format!("{name}: the board file changed"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden cases failed with --defaults {defaults}:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
