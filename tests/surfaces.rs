//! The operator's surfaces of issue 12: `rules`, `completions`, `man`, flags only where they
//! mean something, `--color` for errors too, and errors a `--json` reader can parse.

mod common;

use common::*;
use serde_json::Value as Json;

fn run(args: &[&str]) -> std::process::Output {
    cmd().current_dir(root()).args(args).output().unwrap()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// Every subcommand of the command line, nested ones as `scenarios build`.
const SUBCOMMANDS: &[&str] = &[
    "diagnose",
    "audit",
    "explain",
    "migrate",
    "scenarios",
    "simulate",
    "rules",
    "completions",
    "man",
];

// -- rules

#[test]
fn rules_lists_every_rule_of_both_commands() {
    let out = run(&["rules"]);
    assert_eq!(out.status.code(), Some(0));
    snapshot_stdout("rules_list", &out);
    let json: Vec<Json> = serde_json::from_slice(&run(&["rules", "--json"]).stdout).unwrap();
    let listed: Vec<(&str, &str)> = json
        .iter()
        .map(|r| (r["kind"].as_str().unwrap(), r["command"].as_str().unwrap()))
        .collect();
    let expected: Vec<(&str, &str)> = kanban_doctor::rules::KINDS
        .iter()
        .map(|k| (*k, "diagnose"))
        .chain(
            kanban_doctor::rules::audit::KINDS
                .iter()
                .map(|k| (*k, "audit")),
        )
        .collect();
    assert_eq!(listed, expected);
    for r in &json {
        let doc = kanban_doctor::rules::find(r["kind"].as_str().unwrap())
            .unwrap()
            .1;
        assert_eq!(r["default_severity"], doc.default_severity().as_str());
        assert_eq!(r["summary"], doc.summary);
        assert_eq!(r["config_keys"], serde_json::json!(doc.config_keys));
        assert!(r.get("body").is_none(), "the list carries no bodies");
    }
}

#[test]
fn rules_fits_the_width_columns_gives() {
    let out = cmd().env("COLUMNS", "100").arg("rules").output().unwrap();
    let text = stdout(&out);
    for line in text.lines() {
        assert!(line.chars().count() <= 100, "{line}");
    }
    snapshot_stdout("rules_list_100_columns", &out);
    // Unset or not a number: the table keeps its natural width.
    let wide = cmd().env("COLUMNS", "wide").arg("rules").output().unwrap();
    assert_eq!(stdout(&wide), stdout(&run(&["rules"])));
    assert!(stdout(&wide).lines().any(|l| l.chars().count() > 100));
}

#[test]
fn rules_kind_prints_the_documentation_explain_prints_and_the_command() {
    for (command, kinds) in [
        ("diagnose", kanban_doctor::rules::KINDS),
        ("audit", kanban_doctor::rules::audit::KINDS),
    ] {
        for kind in kinds {
            let explain = stdout(&run(&[command, "--explain", kind]));
            let rules = stdout(&run(&["rules", kind]));
            let (first, rest) = explain.split_once('\n').unwrap();
            assert_eq!(
                rules,
                format!("{first}\ncommand: {command}\n{rest}"),
                "{kind}"
            );
            let doc: Json =
                serde_json::from_slice(&run(&["rules", kind, "--json"]).stdout).unwrap();
            let explained: Json =
                serde_json::from_slice(&run(&[command, "--explain", kind, "--json"]).stdout)
                    .unwrap();
            assert_eq!(doc["command"], command);
            for field in ["kind", "summary", "severities", "config_keys", "body"] {
                assert_eq!(doc[field], explained[field], "{kind}: {field}");
            }
        }
    }
    snapshot_stdout("rules_retry_loop", &run(&["rules", "retry_loop"]));
}

#[test]
fn rules_refuses_an_unknown_kind_naming_the_kinds() {
    let out = run(&["rules", "no_such_rule"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("repeated_failures"),
        "{}",
        stderr(&out)
    );
}

// -- completions and man

fn completion(shell: &str) -> String {
    let out = run(&["completions", shell]);
    assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
    stdout(&out)
}

#[test]
fn completions_are_generated_for_every_shell_and_name_every_command() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = completion(shell);
        for sub in SUBCOMMANDS {
            assert!(script.contains(sub), "{shell}: {sub}");
        }
        // fish spells a long flag `-l db`.
        for flag in ["db", "explain", "drop-legacy", "color"] {
            assert!(script.contains(flag), "{shell}: {flag}");
        }
    }
    assert!(completion("zsh").starts_with("#compdef kanban-doctor"));
    assert!(completion("fish").contains("complete -c kanban-doctor"));
}

/// The shell itself accepts the script it is given; fish and zsh are checked where they
/// are installed (CI has bash only).
#[test]
fn each_installed_shell_parses_its_completion_script() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = Vec::new();
    for (shell, args) in [
        ("bash", &["-n"][..]),
        ("zsh", &["-n"]),
        ("fish", &["--no-execute"]),
    ] {
        let has = std::process::Command::new(shell)
            .arg("-c")
            .arg("true")
            .output()
            .is_ok_and(|o| o.status.success());
        if !has {
            assert_ne!(shell, "bash", "bash is needed for this test");
            continue;
        }
        let file = dir.path().join(format!("kanban-doctor.{shell}"));
        std::fs::write(&file, completion(shell)).unwrap();
        let out = std::process::Command::new(shell)
            .args(args)
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{shell} refuses its script: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        checked.push(shell);
    }
    assert!(checked.contains(&"bash"));
}

#[test]
fn the_man_page_documents_every_command() {
    let out = run(&["man"]);
    assert_eq!(out.status.code(), Some(0));
    let page = stdout(&out);
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq"),
        "roff: {}",
        &page[..40]
    );
    assert!(page.contains(".TH kanban-doctor 1"));
    for sub in SUBCOMMANDS {
        assert!(
            page.contains(&format!("kanban\\-doctor\\-{sub}(1)")),
            "{sub}"
        );
    }
}

#[test]
fn man_out_writes_a_page_per_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = cmd()
        .args(["man", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut expected: Vec<String> = SUBCOMMANDS
        .iter()
        .map(|s| format!("kanban-doctor-{s}.1"))
        .chain(
            ["build", "verify", "driver"]
                .iter()
                .map(|s| format!("kanban-doctor-scenarios-{s}.1")),
        )
        .chain(["kanban-doctor.1".to_string()])
        .collect();
    expected.sort();
    assert_eq!(names, expected);
    let diagnose = std::fs::read_to_string(dir.path().join("kanban-doctor-diagnose.1")).unwrap();
    assert!(diagnose.contains("\\-\\-list\\-rules"));
    assert_eq!(stdout(&out).lines().count(), expected.len());
}

// -- flags where they mean something

fn help(args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.push("--help");
    let out = run(&all);
    assert_eq!(out.status.code(), Some(0), "{args:?}");
    stdout(&out)
}

#[test]
fn board_flags_are_offered_only_by_commands_that_read_a_board() {
    for args in [&["diagnose"][..], &["audit"], &["explain"], &["migrate"]] {
        let text = help(args);
        assert!(
            text.contains("--db <PATH>") && text.contains("--board <SLUG>"),
            "{args:?}"
        );
    }
    assert!(help(&["scenarios", "verify"]).contains("--db <PATH>"));
    assert!(!help(&["scenarios", "verify"]).contains("--board <SLUG>"));
    for args in [
        &["scenarios"][..],
        &["scenarios", "build"],
        &["scenarios", "driver"],
        &["simulate"],
        &["rules"],
        &["completions"],
        &["man"],
    ] {
        let text = help(args);
        assert!(
            !text.contains("--db <PATH>") && !text.contains("--board <SLUG>"),
            "{args:?}: {text}"
        );
        assert!(text.contains("--color"), "{args:?}");
    }
}

#[test]
fn board_flags_before_the_subcommand_still_work_and_are_refused_where_meaningless() {
    let board = "fixtures/golden/cases/02-no-findings/board.db";
    let before = run(&["--db", board, "diagnose", "--now", "1767225600"]);
    let after = run(&["diagnose", "--now", "1767225600", "--db", board]);
    assert_eq!(before.status.code(), Some(0));
    assert_eq!(stdout(&before), stdout(&after));
    for args in [
        &["--db", board, "simulate", "--outcomes", "crashed"][..],
        &["--board", "ops", "scenarios", "build", "--out", "x"],
        &["--db", board, "scenarios"],
        &["--db", board, "rules"],
        &["--board", "ops", "scenarios", "verify"],
        &["--db", board, "diagnose", "--db", board],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stdout(&out).is_empty());
        assert!(
            stderr(&out).starts_with("error[kanban_doctor::usage]: "),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    insta_settings().bind(|| {
        insta::assert_snapshot!(
            "usage_board_flag_meaningless",
            stderr(&run(&["--db", board, "simulate", "--outcomes", "crashed"]))
        )
    });
}

// -- color

#[test]
fn color_choice_and_no_color_govern_errors_too() {
    let missing = ["diagnose", "--db", "/nonexistent/kanban.db"];
    let colored = |extra: &[&str], no_color: Option<&str>| {
        let mut c = cmd();
        c.args(missing).args(extra).env_remove("NO_COLOR");
        if let Some(v) = no_color {
            c.env("NO_COLOR", v);
        }
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        stderr(&out).contains('\x1b')
    };
    assert!(colored(&["--color", "always"], None));
    assert!(
        colored(&["--color=always"], Some("1")),
        "--color always wins over NO_COLOR"
    );
    assert!(!colored(&["--color", "never"], None));
    // stderr is a pipe here, so `auto` is plain; NO_COLOR and TERM=dumb are for terminals.
    assert!(!colored(&[], None));
    // clap's own errors follow --color as well.
    let usage = |choice: &str| {
        let out = cmd()
            .env_remove("NO_COLOR")
            .args(["diagnose", "--no-such-flag", "--color", choice])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        stderr(&out).contains('\x1b')
    };
    assert!(usage("always"));
    assert!(!usage("never"));
}

// -- errors for --json readers

#[test]
fn with_json_an_error_ends_stderr_as_an_object_and_stdout_stays_empty() {
    for args in [
        &["diagnose", "--json", "--db", "/nonexistent/kanban.db"][..],
        &["audit", "--json", "--db", "/nonexistent/kanban.db"],
        &["explain", "t_1", "--json", "--db", "/nonexistent/kanban.db"],
        &[
            "migrate",
            "--check",
            "--json",
            "--db",
            "/nonexistent/kanban.db",
        ],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        let text = stderr(&out);
        assert!(text.starts_with("error[kanban_doctor::board::not_found]: "));
        let last: Json = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        assert_eq!(
            last,
            serde_json::json!({"error": {
                "code": "kanban_doctor::board::not_found",
                "message": "no board at /nonexistent/kanban.db",
                "help": "pass --db PATH, or set HERMES_KANBAN_DB / HERMES_HOME; kanban-doctor never creates a board",
                "causes": [],
            }}),
            "{args:?}"
        );
    }
    // Without --json, no object.
    let plain = run(&["diagnose", "--db", "/nonexistent/kanban.db"]);
    assert!(!stderr(&plain).contains("{\"error\""));
    // A usage error clap finds is an object too, with the usage code.
    let out = run(&["diagnose", "--json", "--severity", "loud"]);
    assert_eq!(out.status.code(), Some(2));
    let last: Json = serde_json::from_str(stderr(&out).lines().last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "kanban_doctor::usage");
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'loud'"),
        "{last}"
    );
}

// -- the environment

#[test]
fn an_invalid_hermes_kanban_board_warns_instead_of_falling_back_silently() {
    let home = tempfile::tempdir().unwrap();
    for (value, says) in [
        ("Not A Slug!", "is not a valid board slug"),
        ("nosuch", "names no board"),
    ] {
        let out = cmd()
            .env("HERMES_HOME", home.path())
            .env("HERMES_KANBAN_BOARD", value)
            .arg("diagnose")
            .output()
            .unwrap();
        let text = stderr(&out);
        let first = text.lines().next().unwrap();
        assert!(first.starts_with("warning: HERMES_KANBAN_BOARD="), "{text}");
        assert!(first.contains(says), "{text}");
        // And then the fallback, `default`, which does not exist here.
        assert!(text.contains("kanban_doctor::board::not_found"), "{text}");
        assert_eq!(out.status.code(), Some(2));
    }
}

// -- README synopses, kept true against the parser

/// The long flags of the command at `path` (`["scenarios", "build"]`), from the same clap
/// definition that parses them; `--color`, global, and `--help`/`--version` aside.
fn flags_of(path: &[&str]) -> Vec<String> {
    use clap::CommandFactory;
    let mut cmd = kanban_doctor::cli::Cli::command();
    cmd.build();
    let mut c = &cmd;
    for p in path {
        c = c
            .find_subcommand(p)
            .unwrap_or_else(|| panic!("no command {path:?}"));
    }
    c.get_arguments()
        .filter_map(|a| a.get_long())
        .filter(|l| !["color", "help", "version"].contains(l))
        .map(|l| format!("--{l}"))
        .collect()
}

/// Every synopsis line of the README: a line of a ```sh block that starts with
/// `kanban-doctor COMMAND`, with its indented continuation lines, comments cut; as (the
/// command path, the flags it shows).
fn readme_synopses() -> Vec<(Vec<String>, Vec<String>)> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut out: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    for block in readme.split("```sh\n").skip(1) {
        let block = &block[..block.find("```").unwrap()];
        for line in block.lines() {
            let line = line.split(" #").next().unwrap();
            if let Some(rest) = line.strip_prefix("kanban-doctor ") {
                let words: Vec<&str> = rest.split_whitespace().collect();
                let mut path = vec![words[0].to_string()];
                if words[0] == "scenarios"
                    && let Some(sub) = words.get(1).filter(|w| !w.starts_with('-'))
                {
                    path.push(sub.to_string());
                }
                out.push((path, Vec::new()));
            } else if !line.starts_with(' ') || out.is_empty() {
                continue;
            }
            let flags = line
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .filter(|w| w.starts_with("--") && w.len() > 2)
                .map(str::to_string);
            out.last_mut().unwrap().1.extend(flags);
        }
    }
    out
}

#[test]
fn readme_synopses_show_only_real_flags_and_every_flag_of_each_command() {
    let synopses = readme_synopses();
    for (path, flags) in &synopses {
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        let real = flags_of(&p);
        for f in flags {
            assert!(
                real.contains(f) || f == "--color",
                "README shows `kanban-doctor {}` with {f}, which it does not take",
                path.join(" ")
            );
        }
    }
    for path in [
        &["diagnose"][..],
        &["audit"],
        &["explain"],
        &["migrate"],
        &["scenarios", "build"],
        &["scenarios", "verify"],
        &["simulate"],
        &["rules"],
        &["completions"],
        &["man"],
    ] {
        let shown: Vec<&String> = synopses
            .iter()
            .filter(|(p, _)| p == path)
            .flat_map(|(_, f)| f)
            .collect();
        assert!(
            synopses.iter().any(|(p, _)| p == path),
            "README has no synopsis of {path:?}"
        );
        for f in flags_of(path) {
            assert!(
                shown.contains(&&f),
                "README's synopsis of `kanban-doctor {}` leaves out {f}",
                path.join(" ")
            );
        }
    }
    // `--color` is stated once for all.
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(readme.contains("Every command also takes `--color auto|always|never`"));
}

/// The README's two error examples are what `diagnose --db kanban.db` prints where there is
/// no board, without and with `--json`.
#[test]
fn readme_error_examples_are_what_is_printed() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = &readme[readme.find("## Rules, completions, man page").unwrap()..];
    let blocks: Vec<&str> = section
        .split("```text\n")
        .skip(1)
        .take(2)
        .map(|b| &b[..b.find("```").unwrap()])
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let human = cmd()
        .current_dir(dir.path())
        .args(["diagnose", "--db", "kanban.db"])
        .output()
        .unwrap();
    assert_eq!(stderr(&human), blocks[0]);
    let json = cmd()
        .current_dir(dir.path())
        .args(["diagnose", "--db", "kanban.db", "--json"])
        .output()
        .unwrap();
    assert_eq!(stderr(&json), format!("{}{}", blocks[0], blocks[1]));
    assert!(json.stdout.is_empty());
}
