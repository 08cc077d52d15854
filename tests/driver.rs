//! `scenarios driver`: the printed Python script carries the scenarios as its spec, compiles,
//! and fails cleanly (exit 2, one `driver:` line) where no hermes-agent can be imported.
//!
//! The parts that run Python are skipped, with a note, when `python3` is not on PATH. None of
//! them needs hermes-agent: playing against real kernels is `fixtures/kernels/`' job.

mod common;

use std::path::Path;
use std::process::Command as Process;

use common::*;
use kanban_doctor::scenarios::{self, SCENARIOS};
use serde_json::Value;

const SPEC_START: &str = "SPEC = json.loads(r\"\"\"";
const SPEC_END: &str = "\"\"\")";

fn printed_script() -> String {
    let out = cmd().args(["scenarios", "driver"]).output().unwrap();
    assert!(out.status.success(), "exit {:?}", out.status);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The JSON between `SPEC = json.loads(r"""` and `""")`.
fn spec_of(script: &str) -> Value {
    let start = script.find(SPEC_START).expect("a SPEC line") + SPEC_START.len();
    let len = script[start..]
        .find(SPEC_END)
        .expect("the SPEC string ends");
    serde_json::from_str(&script[start..start + len]).expect("the spec is valid JSON")
}

#[test]
fn the_spec_lists_every_scenario_with_its_outcomes_in_order() {
    let script = printed_script();
    assert_eq!(script, scenarios::driver::script());
    let spec = spec_of(&script);
    let got: Vec<(String, Vec<String>)> = spec["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let outcomes = s["outcomes"].as_array().unwrap();
            (
                s["name"].as_str().unwrap().to_string(),
                outcomes
                    .iter()
                    .map(|o| o.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect();
    let want: Vec<(String, Vec<String>)> = SCENARIOS
        .iter()
        .map(|s| {
            (
                s.name.to_string(),
                s.outcomes.iter().map(|o| o.as_str().to_string()).collect(),
            )
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(spec["kanban_doctor"], env!("CARGO_PKG_VERSION"));
    assert_eq!(spec["start"], scenarios::START);
    assert_eq!(spec["max_retries"], scenarios::MAX_RETRIES);
    assert_eq!(spec["max_runtime"], scenarios::MAX_RUNTIME);
}

#[test]
fn no_placeholder_remains() {
    let script = printed_script();
    assert!(!script.contains("__KANBAN_DOCTOR_SPEC__"));
    assert_eq!(script.matches(SPEC_START).count(), 1);
}

/// `python3` when it is on PATH; otherwise a note on stderr and `None`.
fn python3(test: &str) -> Option<&'static str> {
    let found = Process::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("note: {test} skipped: python3 is not on PATH");
    }
    found.then_some("python3")
}

fn write_script(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("driver.py");
    std::fs::write(&path, printed_script()).unwrap();
    path
}

#[test]
fn python_compiles_the_script() {
    let Some(py) = python3("python_compiles_the_script") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let script = write_script(dir.path());
    let out = Process::new(py)
        .args(["-m", "py_compile"])
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "py_compile: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Run the driver in `dir` with a Python that cannot import any hermes-agent: isolated
/// mode (`-I`: no PYTHONPATH, no user site) and no site-packages at all (`-S`), so a
/// hermes-agent installed on this machine stays out of reach too.
fn run_without_hermes(py: &str, dir: &Path, args: &[&str]) -> std::process::Output {
    let script = write_script(dir);
    Process::new(py)
        .args(["-I", "-S"])
        .arg(&script)
        .args(args)
        .current_dir(dir)
        .env("PYTHONPATH", "")
        .output()
        .unwrap()
}

#[test]
fn without_hermes_the_driver_exits_2_naming_hermes_cli() {
    let Some(py) = python3("without_hermes_the_driver_exits_2_naming_hermes_cli") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = run_without_hermes(py, dir.path(), &["--out", "board.db"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("driver: "), "{stderr}");
    assert!(stderr.contains("hermes_cli"), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(!dir.path().join("board.db").exists(), "nothing written");
}

#[test]
fn the_driver_refuses_to_replace_a_board_without_force() {
    let Some(py) = python3("the_driver_refuses_to_replace_a_board_without_force") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("board.db"), "keep me").unwrap();
    let out = run_without_hermes(py, dir.path(), &["--out", "board.db"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(
        stderr.trim(),
        "driver: board.db exists; pass --force to replace it"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("board.db")).unwrap(),
        "keep me"
    );
}
