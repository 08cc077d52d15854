//! The crate's modules form layers, and every `crate::…` reference points down (or
//! sideways within a layer): data flows board → rows → rules → findings → report, and a
//! lower layer never imports a higher one. This test reads the `use` paths of every source
//! file (test modules and comments aside) and fails on an upward reference, naming it.

use std::path::{Path, PathBuf};

/// Lowest first. A module may use its own layer and every layer before it.
const LAYERS: &[&[&str]] = &[
    // Python semantics and terminal-safe text: no dependencies of their own.
    &["escape", "py", "lifecycle"],
    // The tool's failures.
    &["error"],
    // Hermes' own conventions: where boards and config live.
    &["hermes"],
    // Finding, opening and reading a board: header, schema, rows.
    &["board"],
    &["config"],
    // The rules: no SQLite, only rows.
    &["rules"],
    // Orchestration of a read (diagnose) and of a write (migrate).
    &["diagnose", "migrate"],
    // The audit runs Hermes' rules beside its own (`--with-diagnose`).
    &["audit"],
    // Sinks and renderers.
    &["report"],
    // The kernel model and the seeded scenarios, which drive the commands above.
    &["scenarios"],
    // The command line.
    &["cli", "app"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a source file belongs to (`src/board/rows.rs` → `board`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_string_lossy();
    let name = first.trim_end_matches(".rs").to_string();
    (name != "main" && name != "lib").then_some(name)
}

/// The code of a file without comments and without `#[cfg(test)]` items: tests may use
/// anything.
fn production_code(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if t.starts_with("//") {
            continue;
        }
        if t.starts_with("#[cfg(test)]") {
            // Skip the item that follows: a one-line `mod x;` or a braced block.
            let mut depth = 0i32;
            let mut opened = false;
            for l in lines.by_ref() {
                depth += l.matches('{').count() as i32 - l.matches('}').count() as i32;
                opened |= l.contains('{');
                if (opened && depth <= 0) || (!opened && l.trim_end().ends_with(';')) {
                    break;
                }
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Every `crate::name` referenced in `code`.
fn crate_refs(code: &str) -> Vec<String> {
    let mut refs = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            refs.push(name);
        } else if after.starts_with('{') {
            // `use crate::{a, b::c}`: each top-level name in the group.
            let group = &after[1..after.find('}').unwrap_or(after.len())];
            for part in group.split(',') {
                let n: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !n.is_empty() {
                    refs.push(n);
                }
            }
        }
        rest = after;
    }
    refs
}

#[test]
fn every_module_is_in_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut missing: Vec<String> = files
        .iter()
        .filter_map(|f| module_of(&src, f))
        .filter(|m| layer_of(m).is_none())
        .collect();
    missing.sort();
    missing.dedup();
    assert!(missing.is_empty(), "modules in no layer: {missing:?}");
}

#[test]
fn no_module_imports_a_higher_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    // Files that are test modules (`#[cfg(test)] mod name;`) may use anything.
    let test_modules: Vec<String> = files
        .iter()
        .flat_map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            let lines: Vec<String> = text.lines().map(|l| l.trim().to_string()).collect();
            lines
                .windows(2)
                .filter(|w| {
                    w[0] == "#[cfg(test)]" && w[1].starts_with("mod ") && w[1].ends_with(';')
                })
                .map(|w| {
                    format!(
                        "{}.rs",
                        w[1].trim_start_matches("mod ").trim_end_matches(';')
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let mut upward = Vec::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if test_modules.contains(&name) {
            continue;
        }
        let Some(module) = module_of(&src, f) else {
            continue;
        };
        let Some(own) = layer_of(&module) else {
            continue;
        };
        let code = production_code(&std::fs::read_to_string(f).unwrap());
        for r in crate_refs(&code) {
            if let Some(target) = layer_of(&r)
                && target > own
            {
                upward.push(format!(
                    "{} ({module}) uses crate::{r}",
                    f.strip_prefix(&src).unwrap().display()
                ));
            }
        }
    }
    upward.dedup();
    assert!(
        upward.is_empty(),
        "references to a higher layer:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_checker_sees_groups_and_skips_tests() {
    assert_eq!(
        crate_refs("use crate::{board::rows, error::Result};\nlet x = crate::rules::KINDS;"),
        ["board", "error", "rules"]
    );
    let code = production_code(
        "use crate::a;\n// crate::b\n#[cfg(test)]\nmod tests {\n    use crate::c;\n}\nuse crate::d;\n#[cfg(test)]\nmod proptests;\nuse crate::e;\n",
    );
    assert_eq!(crate_refs(&code), ["a", "d", "e"]);
}
