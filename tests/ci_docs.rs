//! The README's "Use in CI" jobs, kept true: each YAML block parses as a GitHub Actions
//! workflow with steps, and each `kanban-doctor` step runs as written (in a scratch
//! directory; `cargo run --locked --` stands for the built binary). The driver's `python`
//! step needs a hermes-agent install, so the committed board hermes-agent 0.19.0 wrote from
//! the same driver stands in for its output.

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

/// Every `run:` line of every step, in order.
fn run_lines(workflow: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    for job in workflow["jobs"].as_object().expect("jobs").values() {
        for step in job["steps"].as_array().expect("steps") {
            assert!(
                step.get("uses").is_some() || step.get("run").is_some(),
                "a step uses an action or runs a command: {step}"
            );
            if let Some(run) = step["run"].as_str() {
                out.extend(run.lines().map(str::to_string));
            }
        }
    }
    out
}

#[test]
fn the_ci_jobs_parse_and_their_kanban_doctor_steps_run() {
    let blocks = yaml_blocks(&ci_section());
    assert_eq!(
        blocks.len(),
        2,
        "a job for a Hermes checkout and one for this repository"
    );
    let mut ran = Vec::new();
    for block in &blocks {
        let workflow: serde_json::Value = serde_norway::from_str(block).unwrap();
        assert!(workflow["on"].is_array() || workflow["on"].is_object());
        let dir = tempfile::tempdir().unwrap();
        // What `python driver.py --out board.db` writes, for the steps after it.
        std::fs::copy(
            fixture("kernels/board-hermes-agent-0.19.0.db"),
            dir.path().join("board.db"),
        )
        .unwrap();
        for line in run_lines(&workflow) {
            let words: Vec<&str> = line.split_whitespace().collect();
            let args: Vec<&str> = match words.as_slice() {
                ["kanban-doctor", rest @ ..] => rest.to_vec(),
                ["cargo", "run", ..] => match words.iter().position(|w| *w == "--") {
                    Some(i) => words[i + 1..].to_vec(),
                    None => continue,
                },
                _ => continue,
            };
            let (args, redirect) = match args.iter().position(|a| *a == ">") {
                Some(i) => (args[..i].to_vec(), Some(args[i + 1])),
                None => (args, None),
            };
            let out = cmd().current_dir(dir.path()).args(&args).output().unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "`{line}`: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            if let Some(file) = redirect {
                std::fs::write(dir.path().join(file), &out.stdout).unwrap();
            }
            ran.push(line.trim().to_string());
        }
        // Each job keeps the report its verify step wrote.
        assert!(dir.path().join("scenarios.xml").exists(), "{block}");
        let driver = dir.path().join("driver.py");
        if driver.exists() {
            let script = std::fs::read_to_string(driver).unwrap();
            assert!(script.contains("--out"), "the driver takes --out");
        }
    }
    assert_eq!(
        ran,
        [
            "kanban-doctor scenarios driver > driver.py",
            "kanban-doctor scenarios verify --db board.db --junit scenarios.xml",
            "cargo run --locked -- scenarios verify --junit scenarios.xml",
        ]
    );
}
