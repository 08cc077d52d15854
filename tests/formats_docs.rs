//! The README's "Output formats" section, kept true. Its `console` blocks run in
//! `tests/readme_audit.rs` like every other; here the rest: the SARIF excerpt is the first
//! result of the command it names, the GitHub and GitLab jobs parse and their
//! `kanban-doctor` steps write what the next step reads, the cron lines run as written (the
//! binary, the collector's directory and the board swapped for the test's), and the alert
//! rules name only metrics, labels and label values the output has.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value as Json;

const SEEDED: &str = "fixtures/seeded/board.db";

fn section() -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find("## Output formats\n")
        .expect("an Output formats section");
    let rest = &readme[start..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |e| e + 3);
    rest[..end].to_string()
}

fn blocks(text: &str, lang: &str) -> Vec<String> {
    text.split(&format!("```{lang}\n"))
        .skip(1)
        .map(|b| b[..b.find("```").unwrap()].to_string())
        .collect()
}

fn subsection(text: &str, heading: &str) -> String {
    let start = text.find(heading).unwrap_or_else(|| panic!("{heading}"));
    let rest = &text[start + heading.len()..];
    rest[..rest.find("\n### ").unwrap_or(rest.len())].to_string()
}

fn yaml(block: &str) -> Json {
    serde_norway::from_str(block).unwrap()
}

/// Run a `kanban-doctor ARGS > FILE` line in `dir`, write FILE, and return it.
fn run_redirected(dir: &Path, line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words[0], "kanban-doctor", "{line}");
    let gt = words.iter().position(|w| *w == ">").expect("a redirect");
    assert_eq!(gt + 2, words.len(), "{line}");
    let out = cmd().current_dir(dir).args(&words[1..gt]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "`{line}` exits 0 with --exit-zero: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(dir.join(words[gt + 1]), &out.stdout).unwrap();
    words[gt + 1].to_string()
}

/// A scratch directory holding the seeded board as `kanban.db`, as the jobs expect.
fn job_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(root().join(SEEDED), dir.path().join("kanban.db")).unwrap();
    dir
}

#[test]
fn the_sarif_excerpt_is_the_first_result() {
    let sarif = subsection(&section(), "### `sarif`");
    let intro = "The first result of\n`kanban-doctor ";
    let at = sarif.find(intro).expect("the excerpt names its command") + intro.len() - 14;
    let command = &sarif[at..];
    let command = &command[..command.find('`').unwrap()];
    let args: Vec<&str> = command
        .strip_prefix("kanban-doctor ")
        .unwrap()
        .split_whitespace()
        .collect();
    let out = cmd().current_dir(root()).args(&args).output().unwrap();
    let doc: Json = serde_json::from_slice(&out.stdout).unwrap();
    let shown: Json = serde_json::from_str(&blocks(&sarif, "json")[0]).unwrap();
    assert_eq!(shown, doc["runs"][0]["results"][0]);
}

#[test]
fn the_github_job_writes_the_sarif_it_uploads() {
    let sarif = subsection(&section(), "### `sarif`");
    let workflow = yaml(&blocks(&sarif, "yaml")[0]);
    assert_eq!(workflow["permissions"]["security-events"], "write");
    let steps = workflow["jobs"]["kanban-doctor"]["steps"]
        .as_array()
        .unwrap();
    let dir = job_dir();
    let mut written = None;
    for step in steps {
        let Some(run) = step["run"].as_str() else {
            continue;
        };
        if run.starts_with("kanban-doctor ") {
            written = Some(run_redirected(dir.path(), run));
        }
    }
    let written = written.expect("a kanban-doctor step");
    let upload = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))
        })
        .expect("an upload-sarif step");
    assert_eq!(upload["with"]["sarif_file"], written.as_str());
    let doc: Json =
        serde_json::from_slice(&std::fs::read(dir.path().join(&written)).unwrap()).unwrap();
    let errors: Vec<String> = sarif_validator()
        .iter_errors(&doc)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // Without --now the clock is the real one: the four failure loops, and by now more.
    assert!(doc["runs"][0]["results"].as_array().unwrap().len() >= 4);
    assert_eq!(
        doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "kanban.db"
    );
}

#[test]
fn the_github_job_passes_actionlint() {
    let Some(actionlint) = common::external(
        "KD_ACTIONLINT",
        Some("actionlint"),
        "the_github_job_passes_actionlint",
    ) else {
        return;
    };
    let sarif = subsection(&section(), "### `sarif`");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    std::fs::create_dir_all(dir.path().join(".github/workflows")).unwrap();
    std::fs::write(
        dir.path().join(".github/workflows/kanban.yml"),
        &blocks(&sarif, "yaml")[0],
    )
    .unwrap();
    let (ok, report) = common::actionlint_in(&actionlint, dir.path());
    assert!(ok, "{report}");
}

#[test]
fn the_gitlab_job_publishes_the_report_it_writes() {
    let gitlab = subsection(&section(), "### `gitlab`");
    let pipeline = yaml(&blocks(&gitlab, "yaml")[0]);
    let job = &pipeline["kanban-doctor"];
    let dir = job_dir();
    let mut written = None;
    for line in job["script"].as_array().unwrap() {
        let line = line.as_str().unwrap();
        if line.starts_with("kanban-doctor ") {
            written = Some(run_redirected(dir.path(), line));
        }
    }
    let written = written.expect("a kanban-doctor line");
    assert_eq!(job["artifacts"]["reports"]["codequality"], written.as_str());
    assert_eq!(job["artifacts"]["when"], "always");
    let issues: Vec<Json> =
        serde_json::from_slice(&std::fs::read(dir.path().join(&written)).unwrap()).unwrap();
    assert!(issues.len() >= 4);
    for i in &issues {
        for key in ["description", "check_name", "fingerprint", "severity"] {
            assert!(i[key].is_string(), "{key}: {i}");
        }
        assert_eq!(i["location"]["path"], "kanban.db");
        assert_eq!(i["location"]["lines"]["begin"], 1);
    }
}

/// (name, value) of a cron variable, or (user, command) of a cron line.
type Pairs = Vec<(String, String)>;

/// The cron file's variables and its lines' users and commands.
fn cron() -> (Pairs, Pairs) {
    let prom = subsection(&section(), "### `prometheus`");
    let block = &blocks(&prom, "sh")[0];
    let mut vars = Vec::new();
    let mut jobs = Vec::new();
    for line in block
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let fields: Vec<&str> = line.splitn(7, ' ').collect();
        if fields.len() == 1 {
            let (k, v) = line.split_once('=').expect("VAR=value");
            vars.push((k.to_string(), v.to_string()));
        } else {
            assert_eq!(
                fields.len(),
                7,
                "five time fields, a user, a command: {line}"
            );
            jobs.push((fields[5].to_string(), fields[6].to_string()));
        }
    }
    (vars, jobs)
}

#[test]
fn the_cron_lines_replace_the_metrics_file_atomically() {
    let (vars, jobs) = cron();
    assert_eq!(vars.len(), 1);
    assert_eq!(jobs.len(), 2, "diagnose and audit");
    let textfile = tempfile::tempdir().unwrap();
    let (_board_dir, board) = copy_fixture("seeded/board-old-kernel.db");
    let bin = env!("CARGO_BIN_EXE_kanban-doctor");
    for (user, command) in &jobs {
        assert_eq!(user, "hermes");
        let command = command.replace("/usr/local/bin/kanban-doctor", bin);
        let status = Command::new("sh")
            .arg("-c")
            .arg(&command)
            .env(&vars[0].0, textfile.path())
            .env("HERMES_KANBAN_DB", &board)
            .env("HERMES_HOME", textfile.path().join("no-home"))
            .env_remove("HERMES_KANBAN_HOME")
            .env_remove("HERMES_KANBAN_BOARD")
            .status()
            .unwrap();
        assert!(status.success(), "{command}");
    }
    let mut files: Vec<String> = std::fs::read_dir(textfile.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    // No temporary file is left for the collector to trip on.
    assert_eq!(files, ["kanban-doctor-audit.prom", "kanban-doctor.prom"]);
    let audit = std::fs::read_to_string(textfile.path().join("kanban-doctor-audit.prom")).unwrap();
    assert!(audit.contains(",command=\"audit\",rule=\"retry_loop\",severity=\"critical\"} 1\n"));

    // A check that fails (exit 2) leaves the last good file in place.
    let before = std::fs::read(textfile.path().join("kanban-doctor.prom")).unwrap();
    let command = jobs[0].1.replace("/usr/local/bin/kanban-doctor", bin);
    let status = Command::new("sh")
        .arg("-c")
        .arg(&command)
        .env(&vars[0].0, textfile.path())
        .env("HERMES_KANBAN_DB", textfile.path().join("missing.db"))
        .env("HERMES_HOME", textfile.path().join("no-home"))
        .env_remove("HERMES_KANBAN_HOME")
        .env_remove("HERMES_KANBAN_BOARD")
        .status()
        .unwrap();
    assert!(!status.success());
    assert_eq!(
        std::fs::read(textfile.path().join("kanban-doctor.prom")).unwrap(),
        before
    );
}

/// (metric, label name, label value) of every series of both commands' real output.
fn series() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (command, board) in [
        ("diagnose", SEEDED),
        ("audit", "fixtures/seeded/board-old-kernel.db"),
    ] {
        let o = cmd()
            .current_dir(root())
            .args(["--db", board, command, "--format", "prometheus"])
            .output()
            .unwrap();
        for line in String::from_utf8(o.stdout).unwrap().lines() {
            if line.starts_with('#') {
                continue;
            }
            let (name, rest) = line.split_once('{').unwrap();
            let labels = &rest[..rest.rfind('}').unwrap()];
            for pair in labels.split("\",") {
                let (k, v) = pair.split_once("=\"").unwrap();
                out.push((
                    name.to_string(),
                    k.to_string(),
                    v.trim_end_matches('"').to_string(),
                ));
            }
        }
    }
    out
}

#[test]
fn the_alert_rules_name_what_the_output_has() {
    let prom = subsection(&section(), "### `prometheus`");
    let rules = yaml(&blocks(&prom, "yaml")[0]);
    let series = series();
    let mut checked = 0;
    for rule in rules["groups"][0]["rules"].as_array().unwrap() {
        let expr = rule["expr"].as_str().unwrap();
        let mut rest = expr;
        while let Some(at) = rest.find("kanban_doctor_") {
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            let metric = &tail[..end];
            assert!(
                series.iter().any(|(m, _, _)| m == metric),
                "{metric} is written"
            );
            if let Some(matchers) = tail[end..].strip_prefix('{') {
                let matchers = &matchers[..matchers.find('}').unwrap()];
                for m in matchers.split(',') {
                    let (label, values) = m.split_once("=~").or_else(|| m.split_once('=')).unwrap();
                    for value in values.trim_matches('"').split('|') {
                        assert!(
                            series
                                .iter()
                                .any(|(s, l, v)| s == metric && l == label && v == value),
                            "{metric}{{{label}={value:?}}} exists"
                        );
                    }
                }
            }
            checked += 1;
            rest = &tail[end..];
        }
        // `by (…)` groups by labels the metric has.
        if let Some(by) = expr.split("by (").nth(1) {
            for label in by[..by.find(')').unwrap()].split(',') {
                assert!(series.iter().any(|(_, l, _)| l == label.trim()), "{label}");
            }
        }
    }
    assert!(checked >= 4);
}
