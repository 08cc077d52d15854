//! Helpers shared by the CLI tests: fixture copies, the binary, hashes, and insta settings.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use sha2::{Digest, Sha256};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(rel: &str) -> PathBuf {
    root().join("fixtures").join(rel)
}

/// Copy a fixture into a fresh temp dir; the dir lives as long as the returned guard.
pub fn copy_fixture(rel: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let src = fixture(rel);
    let dst = dir.path().join(src.file_name().unwrap());
    std::fs::copy(&src, &dst).unwrap();
    (dir, dst)
}

/// The binary, isolated from the developer's own Hermes home and board.
pub fn cmd() -> Command {
    let mut c = Command::cargo_bin("kanban-doctor").unwrap();
    let home = std::env::temp_dir().join("kanban-doctor-test-empty-home");
    std::fs::create_dir_all(&home).unwrap();
    c.env("HERMES_HOME", &home)
        .env_remove("HERMES_KANBAN_DB")
        .env_remove("HERMES_KANBAN_HOME")
        .env_remove("HERMES_KANBAN_BOARD")
        // Tables keep their natural width unless a test sets COLUMNS.
        .env_remove("COLUMNS")
        .env("NO_COLOR", "1");
    c
}

pub fn sha256(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every task's (id, counter, error) as Hermes' kernel reads it: the current name when it
/// exists, else the legacy one.
pub fn task_values(path: &Path) -> Vec<(String, Option<i64>, Option<String>)> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let cols: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('tasks')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let has = |c: &str| cols.iter().any(|x| x == c);
    let pick = |new: &str, old: &str, none: &str| match (has(new), has(old)) {
        (true, _) => new.to_string(),
        (false, true) => old.to_string(),
        _ => none.to_string(),
    };
    let sql = format!(
        "SELECT id, {}, {} FROM tasks ORDER BY id",
        pick("consecutive_failures", "spawn_failures", "0"),
        pick("last_failure_error", "last_spawn_error", "NULL")
    );
    conn.prepare(&sql)
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// insta settings: snapshots in the top-level `snapshots/`, temp paths and clocks hidden.
pub fn insta_settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(root().join("snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s.add_filter(r"/tmp/\.tmp[A-Za-z0-9]+/", "[TMP]/");
    s.add_filter(r"\d{8}T\d{6}Z-[0-9a-f]{8}", "[STAMP]-[HASH]");
    s.add_filter(r#""sha256": "[0-9a-f]{64}""#, r#""sha256": "[SHA256]""#);
    s.add_filter(r#""filesystem": "[^"]*""#, r#""filesystem": "[FS]""#);
    s
}

/// Snapshot a command's stdout under `name`, with the shared settings.
pub fn snapshot_stdout(name: &str, out: &std::process::Output) {
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    insta_settings().bind(|| insta::assert_snapshot!(name, text));
}

/// What every rule's documentation has, diagnose or audit: a one-line summary without a full
/// stop, a body of the fixed sections in order, none empty, and severities least urgent
/// first.
pub fn assert_doc_shape(d: &kanban_doctor::rules::RuleDoc) {
    let kind = d.kind;
    let summary = d.summary;
    assert!(
        !summary.trim().is_empty() && !summary.contains('\n') && !summary.ends_with('.'),
        "{kind}: the summary is one line without a full stop: {summary:?}"
    );
    assert!(
        d.body.starts_with("## "),
        "{kind}: the body opens with a section"
    );
    let headings: Vec<&str> = d.sections().map(|(h, _)| h).collect();
    assert_eq!(
        headings,
        kanban_doctor::rules::RuleDoc::SECTIONS,
        "{kind}: the documentation's sections"
    );
    for (heading, text) in d.sections() {
        assert!(!text.is_empty(), "{kind}: section {heading:?} is empty");
    }
    assert!(!d.severities.is_empty(), "{kind}: no severity");
    assert!(
        d.severities.windows(2).all(|w| w[0] < w[1]),
        "{kind}: severities are listed least urgent first"
    );
}

/// A validator for the SARIF 2.1.0 schema OASIS publishes (committed under
/// `fixtures/sarif/`), formats included.
pub fn sarif_validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("sarif/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

/// Whether this runs under CI (`CI` set and non-empty, as CI runners set it).
pub fn under_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// An external tool a test runs: the path in the variable `env` when it is set (.ci/run sets
/// `KD_ACTIONLINT`, `KD_SHELLCHECK`, `KD_WHEEL`), else `name` found on `PATH` (`None` for a
/// file only named by the variable). When it is not there the test says so on stderr and
/// gets `None`; under CI, which installs every such tool, that is a failure instead.
pub fn external(env: &str, name: Option<&str>, test: &str) -> Option<PathBuf> {
    let found = match std::env::var_os(env) {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)).filter(|p| p.is_file()),
        _ => name.and_then(|name| {
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        }),
    };
    if found.is_none() {
        let what = name.map_or(String::new(), |n| format!(" and no {n} on PATH"));
        assert!(
            !under_ci(),
            "{test}: CI must run this, but {env} names no file{what}"
        );
        eprintln!("note: {test} skipped: {env} names no file{what}");
    }
    found
}

/// A GitHub Actions workflow or action file, as data.
pub fn yaml_file(text: &str) -> serde_json::Value {
    serde_norway::from_str(text).unwrap()
}

/// Runs actionlint over the workflows of a project directory (one holding `.git`), with
/// shellcheck on the `run:` scripts when `KD_SHELLCHECK` or `PATH` has it: (passed, report).
pub fn actionlint_in(actionlint: &Path, project: &Path) -> (bool, String) {
    let shellcheck = match std::env::var_os("KD_SHELLCHECK") {
        Some(p) if Path::new(&p).is_file() => p.to_string_lossy().into_owned(),
        _ => "shellcheck".to_string(),
    };
    let out = std::process::Command::new(actionlint)
        .args([
            "-no-color",
            "-pyflakes=",
            &format!("-shellcheck={shellcheck}"),
        ])
        .current_dir(project)
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), report)
}
