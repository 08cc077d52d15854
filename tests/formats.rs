//! `--format` for `diagnose` and `audit`: a snapshot of each format on the seeded boards,
//! SARIF against the OASIS 2.1.0 schema, fingerprints that hold across runs, GitHub's
//! escaping on hostile text, and Prometheus output that parses.
//!
//! Commands run in the repository root with relative board paths, as a CI job would, so
//! the paths in the output are the same on every machine.

mod common;

use std::path::Path;
use std::process::Output;

use common::*;
use serde_json::Value as Json;

const NOW: &str = "1767225600";
/// Hermes' rules fire on this one (four `repeated_failures`).
const DIAGNOSE_BOARD: &str = "fixtures/seeded/board.db";
/// The audit's fire on the old-kernel board: a board finding, drift, and a retry loop.
const AUDIT_BOARD: &str = "fixtures/seeded/board-old-kernel.db";

fn run_in(dir: &Path, args: &[&str]) -> Output {
    cmd().current_dir(dir).args(args).output().unwrap()
}

/// `kanban-doctor --db BOARD COMMAND --now NOW --format FORMAT EXTRA…` in the repository root.
fn scan(command: &str, board: &str, format: &str, extra: &[&str]) -> Output {
    let mut args = vec!["--db", board, command, "--now", NOW, "--format", format];
    args.extend(extra);
    run_in(&root(), &args)
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn snapshot(name: &str, text: &str) {
    let mut s = insta_settings();
    s.add_filter(
        &format!(r#""{}""#, regex_escape(env!("CARGO_PKG_VERSION"))),
        r#""[VERSION]""#,
    );
    s.bind(|| insta::assert_snapshot!(name, text));
}

fn regex_escape(s: &str) -> String {
    s.replace('.', r"\.")
}

/// The audit's rules that fire on the old-kernel board, so its SARIF snapshot carries three
/// rules' documentation rather than all of them.
const AUDIT_RULES: &[&str] = &[
    "--rule",
    "retry_loop",
    "--rule",
    "counter_drift",
    "--rule",
    "schema_outdated",
];

#[test]
fn each_format_on_the_seeded_boards_snapshot() {
    for format in ["jsonl", "sarif", "github", "gitlab", "prometheus"] {
        // SARIF carries every rule's documentation: one rule keeps the snapshot readable.
        let (d_extra, a_extra): (&[&str], &[&str]) = if format == "sarif" {
            (&["--rule", "repeated_failures"], AUDIT_RULES)
        } else {
            (&[], &[])
        };
        let d = scan("diagnose", DIAGNOSE_BOARD, format, d_extra);
        assert_eq!(
            d.status.code(),
            Some(1),
            "diagnose {format}: {}",
            stderr(&d)
        );
        assert_eq!(stderr(&d), "", "diagnose {format}");
        snapshot(&format!("format_diagnose_{format}"), &stdout(&d));
        let a = scan("audit", AUDIT_BOARD, format, a_extra);
        assert_eq!(a.status.code(), Some(1), "audit {format}: {}", stderr(&a));
        assert_eq!(stderr(&a), "", "audit {format}");
        snapshot(&format!("format_audit_{format}"), &stdout(&a));
    }
}

fn assert_valid_sarif(validator: &jsonschema::Validator, doc: &Json, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}");
}

/// Every result as GitHub needs it: a location at the board, a rule that exists where
/// `ruleIndex` points, a level, a message and a fingerprint; a logical location naming the
/// task, except for findings about the board.
fn assert_results_anchored(doc: &Json, board: &str) {
    let run = &doc["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    for r in run["results"].as_array().unwrap() {
        let loc = &r["locations"][0];
        assert_eq!(loc["physicalLocation"]["artifactLocation"]["uri"], board);
        assert_eq!(loc["physicalLocation"]["region"]["startLine"], 1);
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i]["id"], r["ruleId"]);
        assert!(!r["message"]["text"].as_str().unwrap().is_empty());
        let fp = r["partialFingerprints"]["kanbanDoctorFinding/v1"]
            .as_str()
            .unwrap();
        assert_eq!(fp.len(), 64);
        let task = &r["properties"]["task"];
        if task.is_null() {
            assert!(loc.get("logicalLocations").is_none(), "{r}");
        } else {
            // The id as Python prints it: a text id as it is.
            let name = loc["logicalLocations"][0]["name"].as_str().unwrap();
            assert_eq!(loc["logicalLocations"][0]["fullyQualifiedName"], name);
            if let Some(id) = task["id"].as_str() {
                assert_eq!(name, id);
            }
        }
    }
}

#[test]
fn sarif_is_valid_against_the_2_1_0_schema() {
    let validator = sarif_validator();
    let cases: &[(&str, &str, &[&str])] = &[
        ("diagnose", DIAGNOSE_BOARD, &[]),
        ("audit", AUDIT_BOARD, &[]),
        ("audit", AUDIT_BOARD, &["--with-diagnose"]),
        ("audit", DIAGNOSE_BOARD, &[]),
        (
            "diagnose",
            "fixtures/golden/cases/36-severity-sorting/board.db",
            &[],
        ),
        // Numbers JSON cannot hold, odd types, repeated and NULL ids, invalid UTF-8.
        ("diagnose", "fixtures/hostile/extreme-values.db", &[]),
        (
            "audit",
            "fixtures/hostile/extreme-values.db",
            &["--with-diagnose"],
        ),
        ("diagnose", "fixtures/hostile/wrong-types.db", &[]),
        ("diagnose", "fixtures/hostile/null-duplicate-ids.db", &[]),
        (
            "audit",
            "fixtures/hostile/invalid-utf8.db",
            &["--with-diagnose"],
        ),
    ];
    for (command, board, extra) in cases {
        let out = scan(command, board, "sarif", extra);
        assert!(out.status.code() == Some(0) || out.status.code() == Some(1));
        let doc: Json = serde_json::from_slice(&out.stdout).unwrap();
        let what = format!("{command} {board} {extra:?}");
        assert_valid_sarif(&validator, &doc, &what);
        assert_results_anchored(&doc, board);
        // The rules listed are the rules that ran, and every one is documented.
        for rule in doc["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
        {
            assert!(!rule["fullDescription"]["text"].as_str().unwrap().is_empty());
            assert!(
                rule["help"]["markdown"]
                    .as_str()
                    .unwrap()
                    .starts_with("## What it does")
            );
        }
    }
    // The schema is not a formality: a result without a message fails it.
    let out = scan("diagnose", DIAGNOSE_BOARD, "sarif", &[]);
    let mut doc: Json = serde_json::from_slice(&out.stdout).unwrap();
    doc["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("message");
    assert!(!validator.is_valid(&doc));
}

#[test]
fn sarif_lists_the_rules_that_ran() {
    let ids = |args: &[&str]| -> Vec<String> {
        let doc: Json =
            serde_json::from_slice(&scan("audit", AUDIT_BOARD, "sarif", args).stdout).unwrap();
        doc["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&[]), kanban_doctor::rules::audit::KINDS);
    let with = ids(&["--with-diagnose"]);
    assert_eq!(
        &with[..kanban_doctor::rules::KINDS.len()],
        kanban_doctor::rules::KINDS
    );
    assert_eq!(
        ids(AUDIT_RULES),
        ["retry_loop", "counter_drift", "schema_outdated"]
    );
    // `--task` skips the board-wide checks, so their rules did not run.
    let task = ids(&["--task", "t_00000001"]);
    assert_eq!(task, kanban_doctor::rules::audit::TASK_KINDS);
}

fn sarif_fingerprints(command: &str, board: &str, now: &str) -> Vec<String> {
    let out = run_in(
        &root(),
        &["--db", board, command, "--now", now, "--format", "sarif"],
    );
    let doc: Json = serde_json::from_slice(&out.stdout).unwrap();
    doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["partialFingerprints"]["kanbanDoctorFinding/v1"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn gitlab_fingerprints(command: &str, board: &str, now: &str) -> Vec<String> {
    let out = run_in(
        &root(),
        &["--db", board, command, "--now", now, "--format", "gitlab"],
    );
    let doc: Vec<Json> = serde_json::from_slice(&out.stdout).unwrap();
    doc.iter()
        .map(|i| i["fingerprint"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn fingerprints_are_the_same_from_run_to_run_and_unique() {
    for (command, board) in [("diagnose", DIAGNOSE_BOARD), ("audit", AUDIT_BOARD)] {
        for fingerprints in [sarif_fingerprints, gitlab_fingerprints] {
            let first = fingerprints(command, board, NOW);
            // A day later the times and ages in the findings differ; their identity does not.
            let later = fingerprints(command, board, "1767312000");
            assert!(!first.is_empty());
            assert_eq!(first, later, "{command}");
            let mut unique = first.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(
                unique.len(),
                first.len(),
                "{command}: fingerprints are unique"
            );
        }
        // SARIF and GitLab name a finding alike.
        assert_eq!(
            sarif_fingerprints(command, board, NOW),
            gitlab_fingerprints(command, board, NOW)
        );
    }
}

/// The seeded board with task `t_00000001`'s title set to `title`, in a temp dir, under
/// the file name `name`.
fn board_titled(title: &str, name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let board = dir.path().join(name);
    std::fs::copy(root().join(DIAGNOSE_BOARD), &board).unwrap();
    let conn = rusqlite::Connection::open(&board).unwrap();
    conn.execute(
        "UPDATE tasks SET title = ?1 WHERE id = 't_00000001'",
        [title],
    )
    .unwrap();
    drop(conn);
    (dir, board)
}

#[test]
fn github_commands_escape_hostile_text() {
    let title = "100% done\n::error file=x::forged, not: ours\r\x1b[2J";
    let (dir, _) = board_titled(title, "b:o,a%rd.db");
    let out = run_in(
        dir.path(),
        &[
            "--db",
            "b:o,a%rd.db",
            "diagnose",
            "--now",
            NOW,
            "--format",
            "github",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    // One command per finding, then the summary: no title can start a line of its own.
    assert_eq!(lines.len(), 5, "{text}");
    for line in &lines[..4] {
        assert!(
            line.starts_with(
                "::error file=b%3Ao%2Ca%25rd.db,line=1,title=kanban-doctor (repeated_failures)::"
            ),
            "{line}"
        );
    }
    let hostile = lines
        .iter()
        .find(|l| l.contains("Task t_00000001"))
        .unwrap();
    // Data: `%`, CR and LF encoded; `:` and `,` kept (only properties encode them); the
    // terminal escape shown, not obeyed.
    assert!(
        hostile.contains(
            "::Task t_00000001 \"100%25 done%0A::error file=x::forged, not: ours\\r\\x1b[2J\": Agent timeout x3"
        ),
        "{hostile}"
    );
    assert_eq!(
        lines[4],
        "kanban-doctor diagnose: 4 errors, 0 warnings, 0 notices on b:o,a%rd.db"
    );
}

#[test]
fn github_summary_says_when_annotations_will_be_hidden() {
    // Twelve tasks stranded in ready: twelve warnings.
    let out = scan(
        "diagnose",
        "fixtures/golden/cases/19-stranded-assignee-repr/board.db",
        "github",
        &[],
    );
    let text = stdout(&out);
    let warnings = text.lines().filter(|l| l.starts_with("::warning ")).count();
    let summary = text.lines().last().unwrap();
    assert_eq!(warnings, 12);
    assert!(
        summary.ends_with(
            "0 errors, 12 warnings, 0 notices on \
             fixtures/golden/cases/19-stranded-assignee-repr/board.db; GitHub shows at most 10 \
             annotations of each level per step, every one is in this log"
        ),
        "{summary}"
    );
    let few = stdout(&scan("diagnose", DIAGNOSE_BOARD, "github", &[]));
    assert!(!few.contains("at most 10"));
}

/// A sample: metric name, labels (name, unescaped value), value.
type Sample = (String, Vec<(String, String)>, f64);

/// Split a sample line per the exposition format: `name{l="v",…} value`, label values
/// unescaped. `None` where the line does not follow the grammar.
fn parse_sample(line: &str) -> Option<Sample> {
    let is_name = |s: &str, colon: bool| {
        let mut cs = s.chars();
        cs.next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || (colon && c == ':'))
            && cs.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':'))
    };
    let brace = line.find('{')?;
    let name = &line[..brace];
    if !is_name(name, true) {
        return None;
    }
    let mut rest = line[brace + 1..].chars().peekable();
    let mut labels = Vec::new();
    loop {
        let mut lname = String::new();
        while let Some(&c) = rest.peek() {
            if c == '=' {
                break;
            }
            lname.push(c);
            rest.next();
        }
        if !is_name(&lname, false) || rest.next()? != '=' || rest.next()? != '"' {
            return None;
        }
        let mut value = String::new();
        loop {
            match rest.next()? {
                '\\' => match rest.next()? {
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    'n' => value.push('\n'),
                    _ => return None,
                },
                '"' => break,
                '\n' => return None,
                c => value.push(c),
            }
        }
        labels.push((lname, value));
        match rest.next()? {
            ',' => continue,
            '}' => break,
            _ => return None,
        }
    }
    let tail: String = rest.collect();
    let value = tail.strip_prefix(' ')?;
    let value: f64 = value.parse().ok()?;
    Some((name.to_string(), labels, value))
}

/// Every line a HELP, a TYPE or a sample; each family's TYPE before its samples, which
/// are contiguous; returns the samples.
fn parse_exposition(text: &str) -> Vec<Sample> {
    assert!(text.ends_with('\n'));
    let mut samples = Vec::new();
    let mut typed: Vec<String> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            assert!(rest.split_once(' ').is_some(), "{line}");
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert_eq!(kind, "gauge", "{line}");
            assert!(
                !typed.contains(&name.to_string()),
                "one TYPE per family: {line}"
            );
            typed.push(name.to_string());
        } else {
            let (name, labels, value) =
                parse_sample(line).unwrap_or_else(|| panic!("not a sample: {line:?}"));
            assert_eq!(
                typed.last(),
                Some(&name),
                "samples follow their TYPE: {line}"
            );
            samples.push((name, labels, value));
        }
    }
    samples
}

fn label<'a>(labels: &'a [(String, String)], key: &str) -> &'a str {
    &labels.iter().find(|(k, _)| k == key).unwrap().1
}

#[test]
fn prometheus_output_parses_and_counts_every_rule_that_ran() {
    for (command, board, kinds) in [
        ("diagnose", DIAGNOSE_BOARD, kanban_doctor::rules::KINDS),
        ("audit", AUDIT_BOARD, kanban_doctor::rules::audit::KINDS),
    ] {
        let out = scan(command, board, "prometheus", &[]);
        assert_eq!(out.status.code(), Some(1));
        let samples = parse_exposition(&stdout(&out));
        let findings: Vec<_> = samples
            .iter()
            .filter(|(n, _, _)| n == "kanban_doctor_findings")
            .collect();
        for kind in kinds {
            let doc = kanban_doctor::rules::doc(kind)
                .or_else(|| kanban_doctor::rules::audit::doc(kind))
                .unwrap();
            for sev in doc.severities {
                assert!(
                    findings.iter().any(|(_, l, _)| label(l, "rule") == *kind
                        && label(l, "severity") == sev.as_str()),
                    "{command}: a series for {kind} {}",
                    sev.as_str()
                );
            }
        }
        // The counts are the JSON's.
        let json: Vec<Json> =
            serde_json::from_slice(&scan(command, board, "json", &[]).stdout).unwrap();
        let total: usize = json
            .iter()
            .map(|e| e["diagnostics"].as_array().unwrap().len())
            .sum();
        let counted: f64 = findings.iter().map(|(_, _, v)| v).sum();
        assert_eq!(counted as usize, total);
        for (name, labels, _) in &samples {
            assert_eq!(label(labels, "board"), board, "{name}");
            assert_eq!(label(labels, "command"), command, "{name}");
        }
        let one = |name: &str| {
            samples
                .iter()
                .filter(|(n, _, _)| n == name)
                .map(|(_, l, v)| (l.clone(), *v))
                .collect::<Vec<_>>()
        };
        assert_eq!(one("kanban_doctor_tasks_scanned")[0].1, 6.0);
        assert_eq!(
            one("kanban_doctor_last_check_timestamp_seconds")[0].1,
            NOW.parse::<f64>().unwrap()
        );
        let states = one("kanban_doctor_schema_state");
        let current: Vec<&str> = states
            .iter()
            .filter(|(_, v)| *v == 1.0)
            .map(|(l, _)| label(l, "state"))
            .collect();
        let expected = if board == AUDIT_BOARD {
            "legacy"
        } else {
            "current"
        };
        assert_eq!(current, [expected]);
    }
}

#[test]
fn prometheus_label_values_are_escaped() {
    let name = "we\"ird\\board\nname.db";
    let (dir, _) = board_titled("plain", name);
    let out = run_in(
        dir.path(),
        &[
            "--db",
            name,
            "diagnose",
            "--now",
            NOW,
            "--format",
            "prometheus",
        ],
    );
    let text = stdout(&out);
    assert!(
        text.contains(r#"board="we\"ird\\board\nname.db""#),
        "{text}"
    );
    for (_, labels, _) in parse_exposition(&text) {
        assert_eq!(label(&labels, "board"), name);
    }
}

#[test]
fn jsonl_lines_are_the_json_array_elements() {
    for (command, board) in [("diagnose", DIAGNOSE_BOARD), ("audit", AUDIT_BOARD)] {
        let json: Vec<Json> =
            serde_json::from_slice(&scan(command, board, "json", &[]).stdout).unwrap();
        let out = scan(command, board, "jsonl", &[]);
        let lines: Vec<Json> = stdout(&out)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines, json, "{command}");
    }
}

#[test]
fn json_flag_is_format_json_and_refuses_another_format() {
    let json = scan("diagnose", DIAGNOSE_BOARD, "json", &[]);
    let flag = run_in(
        &root(),
        &["--db", DIAGNOSE_BOARD, "diagnose", "--now", NOW, "--json"],
    );
    let both = scan("diagnose", DIAGNOSE_BOARD, "json", &["--json"]);
    assert_eq!(json.stdout, flag.stdout);
    assert_eq!(json.stdout, both.stdout);
    let clash = scan("audit", AUDIT_BOARD, "sarif", &["--json"]);
    assert_eq!(clash.status.code(), Some(2));
    assert!(clash.stdout.is_empty());
    let err = stderr(&clash);
    assert!(err.contains("kanban_doctor::usage"), "{err}");
    assert!(
        err.contains("--json is --format json: it cannot be combined with --format sarif"),
        "{err}"
    );
    // `--explain` prints documentation as data with either spelling.
    let doc = run_in(
        &root(),
        &[
            "diagnose",
            "--explain",
            "repeated_failures",
            "--format",
            "json",
        ],
    );
    let doc: Json = serde_json::from_slice(&doc.stdout).unwrap();
    assert_eq!(doc["kind"], "repeated_failures");
}

#[test]
fn exit_codes_are_the_same_in_every_format() {
    let clean = "fixtures/golden/cases/02-no-findings/board.db";
    for format in [
        "table",
        "json",
        "jsonl",
        "sarif",
        "github",
        "gitlab",
        "prometheus",
    ] {
        assert_eq!(
            scan("diagnose", DIAGNOSE_BOARD, format, &[]).status.code(),
            Some(1),
            "{format}"
        );
        assert_eq!(
            scan("diagnose", DIAGNOSE_BOARD, format, &["--exit-zero"])
                .status
                .code(),
            Some(0),
            "{format}"
        );
        let out = scan("diagnose", clean, format, &[]);
        assert_eq!(out.status.code(), Some(0), "{format}");
        // A clean board still makes a whole document (an empty array, a summary, zeros).
        assert!(!out.stdout.is_empty() || format == "jsonl", "{format}");
        let missing = scan("diagnose", "fixtures/no-such-board.db", format, &[]);
        assert_eq!(missing.status.code(), Some(2), "{format}");
        assert!(
            missing.stdout.is_empty(),
            "{format}: nothing on stdout on error"
        );
    }
}

#[test]
fn a_board_outside_the_working_directory_is_a_file_uri() {
    let (dir, board) = board_titled("plain", "board.db");
    let elsewhere = tempfile::tempdir().unwrap();
    let out = run_in(
        elsewhere.path(),
        &[
            "--db",
            board.to_str().unwrap(),
            "diagnose",
            "--now",
            NOW,
            "--format",
            "sarif",
        ],
    );
    let doc: Json = serde_json::from_slice(&out.stdout).unwrap();
    let uri = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        ["uri"]
        .as_str()
        .unwrap();
    assert!(uri.starts_with("file:///"), "{uri}");
    assert!(uri.ends_with("/board.db"), "{uri}");
    assert_valid_sarif(&sarif_validator(), &doc, "absolute board");
    // Under the working directory, the same board is named relative to it.
    let out = run_in(
        dir.path(),
        &[
            "--db",
            board.to_str().unwrap(),
            "diagnose",
            "--now",
            NOW,
            "--format",
            "gitlab",
        ],
    );
    let doc: Vec<Json> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc[0]["location"]["path"], "board.db");
}
