//! The README's "Use in CI" jobs, kept true: each YAML block is a GitHub Actions workflow
//! that passes actionlint, with this repository's `action.yml` standing for
//! `OWNER/kanban-doctor` (so every input a job gives the action is one it declares), and
//! each kanban-doctor step runs as written in a scratch directory: a step that uses the
//! action runs its `args` and writes its `output`, a `run:` line runs as a command (the
//! built binary standing for the one the action installs). The driver's `python` step
//! needs a hermes-agent install, so the committed board hermes-agent 0.19.0 wrote from the
//! same driver stands in for its output.

mod common;

use common::*;

fn ci_section() -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme.find("## Use in CI").expect("a Use in CI section");
    let rest = &readme[start..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |e| e + 3);
    rest[..end].to_string()
}

fn yaml_blocks(text: &str) -> Vec<String> {
    text.split("```yaml\n")
        .skip(1)
        .map(|b| b[..b.find("```").unwrap()].to_string())
        .collect()
}

/// How the README refers to the action: `OWNER/kanban-doctor` at this version's tag.
fn action_ref() -> String {
    format!("OWNER/kanban-doctor@v{}", env!("CARGO_PKG_VERSION"))
}

fn is_the_action(uses: &str) -> bool {
    uses == "./" || uses.starts_with("OWNER/kanban-doctor@")
}

fn steps(workflow: &serde_json::Value) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for job in workflow["jobs"].as_object().expect("jobs").values() {
        for step in job["steps"].as_array().expect("steps") {
            assert!(
                step.get("uses").is_some() || step.get("run").is_some(),
                "a step uses an action or runs a command: {step}"
            );
            out.push(step.clone());
        }
    }
    out
}

/// Whether the built binary knows `diagnose --format` (issue 12's SARIF output).
fn has_format_flag() -> bool {
    let out = cmd().args(["diagnose", "--help"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).contains("--format")
}

#[test]
fn the_ci_jobs_use_the_action_at_this_version() {
    let blocks = yaml_blocks(&ci_section());
    assert_eq!(
        blocks.len(),
        3,
        "a job for a Hermes checkout, one for code scanning and one for this repository"
    );
    let mut uses = Vec::new();
    for block in &blocks {
        for step in steps(&yaml_file(block)) {
            if let Some(u) = step["uses"].as_str().filter(|u| is_the_action(u)) {
                uses.push(u.to_string());
            }
        }
    }
    assert_eq!(uses, [action_ref(), action_ref(), "./".to_string()]);
    // Nothing installs kanban-doctor but the action.
    assert!(!ci_section().contains("cargo install"));
}

#[test]
fn the_ci_jobs_pass_actionlint() {
    let Some(actionlint) = external(
        "KD_ACTIONLINT",
        Some("actionlint"),
        "the_ci_jobs_pass_actionlint",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    std::fs::create_dir_all(dir.path().join(".github/workflows")).unwrap();
    std::fs::copy(root().join("action.yml"), dir.path().join("action.yml")).unwrap();
    for (i, block) in yaml_blocks(&ci_section()).iter().enumerate() {
        let local = block.replace(&action_ref(), "./");
        assert!(!local.contains("OWNER/"), "{block}");
        std::fs::write(
            dir.path().join(format!(".github/workflows/readme-{i}.yml")),
            local,
        )
        .unwrap();
    }
    let (ok, report) = actionlint_in(&actionlint, dir.path());
    assert!(ok, "{report}");
}

#[test]
fn the_ci_jobs_kanban_doctor_steps_run() {
    let format_flag = has_format_flag();
    let mut ran = Vec::new();
    for block in yaml_blocks(&ci_section()) {
        let workflow = yaml_file(&block);
        assert!(workflow["on"].is_array() || workflow["on"].is_object());
        let dir = tempfile::tempdir().unwrap();
        // What `python driver.py --out board.db` writes, for the steps after it.
        std::fs::copy(
            fixture("kernels/board-hermes-agent-0.19.0.db"),
            dir.path().join("board.db"),
        )
        .unwrap();
        // The board the code-scanning job keeps in its repository.
        std::fs::create_dir(dir.path().join("boards")).unwrap();
        std::fs::copy(
            fixture("seeded/board.db"),
            dir.path().join("boards/kanban.db"),
        )
        .unwrap();
        for step in steps(&workflow) {
            // (the command line, its words, where its standard output goes)
            let (shown, args, output): (String, Vec<String>, Option<String>) =
                match (step["uses"].as_str(), step["run"].as_str()) {
                    (Some(uses), _) if is_the_action(uses) => {
                        let with = &step["with"];
                        let args = with["args"].as_str().expect("the action's args");
                        (
                            format!("action: {args}"),
                            args.split_whitespace().map(str::to_string).collect(),
                            with["output"].as_str().map(str::to_string),
                        )
                    }
                    (None, Some(run)) => {
                        let words: Vec<&str> = run.split_whitespace().collect();
                        if words.first() != Some(&"kanban-doctor") {
                            continue;
                        }
                        assert_eq!(run.lines().count(), 1, "{run}");
                        (
                            run.trim().to_string(),
                            words[1..].iter().map(|w| w.to_string()).collect(),
                            None,
                        )
                    }
                    _ => continue,
                };
            if args.iter().any(|a| a == "--format") && !format_flag {
                eprintln!("note: `{shown}` not run: this build has no --format (issue 12)");
                continue;
            }
            let out = cmd().current_dir(dir.path()).args(&args).output().unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "`{shown}`: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            if let Some(file) = output {
                std::fs::write(dir.path().join(file), &out.stdout).unwrap();
            }
            ran.push(shown);
        }
        // What a later step reads was written by an earlier one.
        for step in steps(&workflow) {
            let with = &step["with"];
            for file in [&with["path"], &with["sarif_file"]] {
                let Some(file) = file.as_str() else { continue };
                if file.ends_with(".sarif") && !format_flag {
                    continue;
                }
                assert!(dir.path().join(file).exists(), "{file}: {block}");
            }
        }
        let driver = dir.path().join("driver.py");
        if driver.exists() {
            let script = std::fs::read_to_string(driver).unwrap();
            assert!(script.contains("--out"), "the driver takes --out");
        }
    }
    let mut expected = vec![
        "action: scenarios driver",
        "kanban-doctor scenarios verify --db board.db --junit scenarios.xml",
    ];
    if format_flag {
        expected.push("action: --db boards/kanban.db diagnose --format sarif --exit-zero");
    }
    expected.push("action: scenarios verify --junit scenarios.xml");
    assert_eq!(ran, expected);
}

#[test]
fn the_ci_section_names_every_input_and_output_of_the_action() {
    let action = yaml_file(&std::fs::read_to_string(root().join("action.yml")).unwrap());
    let section = ci_section();
    let intro = &section[..section.find("```yaml").unwrap()];
    for list in ["inputs", "outputs"] {
        for name in action[list].as_object().unwrap().keys() {
            assert!(intro.contains(&format!("`{name}`")), "{list}: {name}");
        }
    }
}
