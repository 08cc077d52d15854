//! How kanban-doctor reaches users, kept true: what `--version` says, the crate `cargo
//! package` would publish, the Python package metadata (`pyproject.toml`) beside the
//! crate's, and the composite action (`action.yml`) checked with actionlint.

mod common;

use common::*;

#[test]
fn long_version_names_the_sqlite_and_the_hermes_schema() {
    let out = cmd().arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let line = String::from_utf8(out.stdout).unwrap();
    // The SQLite the binary opens boards with: the bundled one, as the library reports it.
    let sqlite = rusqlite::version();
    assert!(sqlite.starts_with("3."), "{sqlite}");
    assert_eq!(
        line,
        format!(
            "kanban-doctor {} (SQLite {sqlite}, hermes-agent 0.19.0 schema)\n",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn short_version_is_the_crate_version_alone() {
    let out = cmd().arg("-V").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("kanban-doctor {}\n", env!("CARGO_PKG_VERSION"))
    );
}

/// `cargo package --list`: what a published crate, and maturin's sdist, would hold.
fn package_list() -> Vec<String> {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "package",
            "--list",
            "--allow-dirty",
            "--offline",
            "--locked",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every file `src/` compiles in (`include_str!`, `include_bytes!`), relative to the root.
fn compiled_in_files() -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for mac in ["include_str!(\"", "include_bytes!(\""] {
            for (i, _) in text.match_indices(mac) {
                let rest = &text[i + mac.len()..];
                let rel = &rest[..rest.find('"').unwrap()];
                let path = file.parent().unwrap().join(rel);
                let path = std::fs::canonicalize(&path)
                    .unwrap_or_else(|e| panic!("{}: {rel}: {e}", file.display()));
                let root = std::fs::canonicalize(root()).unwrap();
                out.push(path.strip_prefix(&root).unwrap().display().to_string());
            }
        }
    }
    out
}

#[test]
fn the_crate_ships_what_it_compiles_in_and_no_test_boards() {
    let listed = package_list();
    let compiled_in = compiled_in_files();
    assert!(
        compiled_in.contains(&"fixtures/reference/schema.json".to_string()),
        "{compiled_in:?}"
    );
    for file in &compiled_in {
        assert!(
            listed.contains(file),
            "{file} is compiled in but not packaged"
        );
    }
    for file in ["Cargo.toml", "Cargo.lock", "README.md", "src/main.rs"] {
        assert!(listed.iter().any(|f| f == file), "{file} is not packaged");
    }
    // No board, snapshot or integration test, and nothing large.
    for file in &listed {
        assert!(
            !file.ends_with(".db")
                && !file.starts_with("tests/")
                && !file.starts_with("snapshots/"),
            "{file} is packaged"
        );
    }
    let bytes: u64 = listed
        .iter()
        .filter_map(|f| std::fs::metadata(root().join(f)).ok())
        .map(|m| m.len())
        .sum();
    assert!(
        bytes < 2_000_000,
        "the crate's files add up to {bytes} bytes"
    );
}

#[test]
fn python_package_takes_its_version_and_metadata_from_the_crate() {
    let text = std::fs::read_to_string(root().join("pyproject.toml")).unwrap();
    let doc: toml_edit::DocumentMut = text.parse().unwrap();
    assert_eq!(
        doc["build-system"]["build-backend"].as_str(),
        Some("maturin")
    );
    assert_eq!(doc["tool"]["maturin"]["bindings"].as_str(), Some("bin"));
    let project = &doc["project"];
    assert_eq!(project["name"].as_str(), Some(env!("CARGO_PKG_NAME")));
    // The version is Cargo.toml's, never a second copy.
    assert!(project.get("version").is_none());
    let dynamic: Vec<&str> = project["dynamic"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(dynamic, ["version"]);
    assert_eq!(
        project["description"].as_str(),
        Some(env!("CARGO_PKG_DESCRIPTION"))
    );
    assert_eq!(
        project["urls"]["Repository"].as_str(),
        Some(env!("CARGO_PKG_REPOSITORY"))
    );
    // Cargo.toml states no license, and so neither does the Python package.
    assert_eq!(env!("CARGO_PKG_LICENSE"), "");
    assert!(project.get("license").is_none());
    assert!(project["requires-python"].as_str().is_some());
}

// --- action.yml ---

fn action() -> serde_json::Value {
    yaml_file(&std::fs::read_to_string(root().join("action.yml")).unwrap())
}

/// The `run:` script of the action's step named `name`.
fn action_script(name: &str) -> String {
    let action = action();
    let step = action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("a step named {name:?}"));
    step["run"].as_str().unwrap().to_string()
}

/// Runs a `run:` script as a `shell: bash` step runs it.
fn run_step(script: &str, dir: &std::path::Path, env: &[(&str, &std::ffi::OsStr)]) -> i32 {
    let file = dir.join("step.sh");
    std::fs::write(&file, script).unwrap();
    let mut c = std::process::Command::new("bash");
    c.args(["--noprofile", "--norc", "-eo", "pipefail"])
        .arg(&file)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("HERMES_HOME", dir.join("no-hermes-home"))
        .env_remove("HERMES_KANBAN_DB")
        .env_remove("HERMES_KANBAN_HOME")
        .env_remove("HERMES_KANBAN_BOARD");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    out.status.code().unwrap()
}

/// `PATH` with `dir` first.
fn path_with(dir: &std::path::Path) -> std::ffi::OsString {
    let mut dirs = vec![dir.to_path_buf()];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).unwrap()
}

#[test]
fn action_inputs_reach_its_scripts_only_through_the_environment() {
    let action = action();
    assert_eq!(action["runs"]["using"], "composite");
    let inputs: Vec<&String> = action["inputs"].as_object().unwrap().keys().collect();
    let text = std::fs::read_to_string(root().join("action.yml")).unwrap();
    for input in &inputs {
        assert!(
            text.contains(&format!("inputs.{input} "))
                || text.contains(&format!("inputs.{input}}}")),
            "input {input} is never used"
        );
    }
    for step in action["runs"]["steps"].as_array().unwrap() {
        if let Some(run) = step["run"].as_str() {
            // An expression in a script is pasted into it before bash runs: script injection.
            assert!(!run.contains("${{"), "{run}");
            assert_eq!(step["shell"], "bash", "{step}");
        }
    }
    assert!(inputs.iter().any(|i| *i == "args"));
    assert_eq!(action["inputs"]["args"]["required"], true);
}

#[test]
fn action_scripts_pass_shellcheck() {
    let Some(shellcheck) = external(
        "KD_SHELLCHECK",
        Some("shellcheck"),
        "action_scripts_pass_shellcheck",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for name in ["Install kanban-doctor", "Run kanban-doctor"] {
        let file = dir.path().join("step.sh");
        std::fs::write(
            &file,
            format!("#!/usr/bin/env bash\n{}", action_script(name)),
        )
        .unwrap();
        let out = std::process::Command::new(&shellcheck)
            .args(["--shell=bash", "--severity=style"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn action_run_step_passes_the_arguments_and_keeps_the_output_and_exit_code() {
    let script = action_script("Run kanban-doctor");
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_kanban-doctor"));
    let path = path_with(bin.parent().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let github_output = dir.path().join("github-output");
    let board = fixture("seeded/board.db");
    // Spaces, a tab and newlines (a YAML block scalar) all separate arguments.
    let args = format!(
        "--db {}  diagnose\t--now\n1796001200 --json\n",
        board.display()
    );
    let code = run_step(
        &script,
        dir.path(),
        &[
            ("PATH", &path),
            ("KD_ARGS", args.as_ref()),
            ("KD_OUTPUT", "report.json".as_ref()),
            ("GITHUB_OUTPUT", github_output.as_os_str()),
        ],
    );
    // Findings: the step fails as the command does, and says the code.
    assert_eq!(code, 1);
    assert_eq!(
        std::fs::read_to_string(&github_output).unwrap(),
        "exit-code=1\n"
    );
    let direct = cmd()
        .args([
            "--db",
            board.to_str().unwrap(),
            "diagnose",
            "--now",
            "1796001200",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("report.json")).unwrap(),
        direct.stdout
    );

    std::fs::remove_file(&github_output).unwrap();
    let code = run_step(
        &script,
        dir.path(),
        &[
            ("PATH", &path),
            ("KD_ARGS", "scenarios --list".as_ref()),
            ("KD_OUTPUT", "".as_ref()),
            ("GITHUB_OUTPUT", github_output.as_os_str()),
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(
        std::fs::read_to_string(&github_output).unwrap(),
        "exit-code=0\n"
    );
}

/// The install step with the wheel .ci/run built (`KD_WHEEL`), then the run step with what
/// it put on `PATH`: the action end to end, GitHub aside.
#[test]
fn action_installs_the_wheel_and_runs_it() {
    let Some(wheel) = external("KD_WHEEL", None, "action_installs_the_wheel_and_runs_it") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let github_path = dir.path().join("github-path");
    let github_output = dir.path().join("github-output");
    let code = run_step(
        &action_script("Install kanban-doctor"),
        dir.path(),
        &[
            ("RUNNER_TEMP", dir.path().as_os_str()),
            ("GITHUB_PATH", github_path.as_os_str()),
            ("KD_SOURCE", wheel.as_os_str()),
            ("KD_VERSION", "".as_ref()),
            // The wheel has no dependencies: nothing may come from an index.
            ("PIP_NO_INDEX", "1".as_ref()),
        ],
    );
    assert_eq!(code, 0);
    let added = std::fs::read_to_string(&github_path).unwrap();
    let bin_dir = std::path::PathBuf::from(added.trim_end());
    assert!(bin_dir.join("kanban-doctor").is_file(), "{added}");
    assert!(bin_dir.starts_with(dir.path()), "a venv under RUNNER_TEMP");

    let code = run_step(
        &action_script("Run kanban-doctor"),
        dir.path(),
        &[
            ("PATH", &path_with(&bin_dir)),
            ("KD_ARGS", "scenarios verify".as_ref()),
            ("KD_OUTPUT", "verify.txt".as_ref()),
            ("GITHUB_OUTPUT", github_output.as_os_str()),
        ],
    );
    assert_eq!(code, 0);
    let report = std::fs::read_to_string(dir.path().join("verify.txt")).unwrap();
    assert!(report.contains("16 passed, 0 failed"), "{report}");
}

/// actionlint checks a workflow that uses the action (`uses: ./`) against action.yml: the
/// inputs it gives must be declared, the required ones given. One workflow gives every
/// input and passes; one gives an input the action lacks and must fail, or the check
/// proves nothing.
#[test]
fn a_workflow_using_the_action_passes_actionlint() {
    let Some(actionlint) = external(
        "KD_ACTIONLINT",
        Some("actionlint"),
        "a_workflow_using_the_action_passes_actionlint",
    ) else {
        return;
    };
    let every_input = "\
name: all inputs
on: [push]
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v5
      - id: kd
        uses: ./
        with:
          args: scenarios verify --junit scenarios.xml
          version: 0.1.0
          source: dist/kanban_doctor-0.1.0-py3-none-manylinux2014_x86_64.whl
          python-version: \"3.11\"
          output: verify.txt
          working-directory: .
      - run: echo \"exit code ${{ steps.kd.outputs.exit-code }}\"
";
    let lint = |workflow: &str| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        std::fs::create_dir_all(dir.path().join(".github/workflows")).unwrap();
        std::fs::copy(root().join("action.yml"), dir.path().join("action.yml")).unwrap();
        std::fs::write(dir.path().join(".github/workflows/check.yml"), workflow).unwrap();
        actionlint_in(&actionlint, dir.path())
    };
    let (ok, report) = lint(every_input);
    assert!(ok, "{report}");
    let (ok, report) = lint(&every_input.replace("          output:", "          outptu:"));
    assert!(!ok);
    assert!(report.contains("outptu"), "{report}");
}
