//! What the machine formats (SARIF, GitHub, GitLab) say the same way about a finding: where
//! its board is, its message, its fingerprint, and its values as strict JSON.
//!
//! These formats anchor every finding at the board file, since a board has no lines: the
//! task a finding is about goes into the message (and SARIF's logical location). Their
//! JSON is read by validators and CI servers, not by Python, so numbers JSON cannot hold
//! (`NaN`, infinities, integers beyond 64 bits), which `--json` writes as Python does, are
//! written here as their text in a string.

use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};

use crate::diagnose::TaskReport;
use crate::py::object::Object;
use crate::rules::Diagnostic;

/// A board as CI systems name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardLocation {
    /// The path as given (on the command line, or resolved from the Hermes home): what the
    /// fingerprints hash and what Prometheus labels carry.
    pub given: String,
    /// The path to show: relative to the working directory, with `/`, when the board is
    /// under it; else as given.
    pub path: String,
    /// SARIF's `artifactLocation.uri`: the relative path as a URI reference when there is
    /// one, else a `file://` URI of the absolute path, percent-encoded.
    pub uri: String,
}

impl BoardLocation {
    /// Name `board` relative to `cwd` (the working directory) where it can.
    pub fn new(board: &Path, cwd: Option<&Path>) -> BoardLocation {
        let given = board.to_string_lossy().into_owned();
        let absolute = match cwd {
            Some(cwd) if board.is_relative() => normalize(&cwd.join(board)),
            _ => normalize(board),
        };
        let relative: Option<PathBuf> = match cwd {
            Some(cwd) => absolute
                .strip_prefix(normalize(cwd))
                .ok()
                .map(Path::to_path_buf),
            // No working directory to judge by: a relative path without `..` stays one.
            None => {
                (board.is_relative() && !absolute.starts_with("..")).then_some(absolute.clone())
            }
        }
        .filter(|r| !r.as_os_str().is_empty());
        match relative {
            Some(rel) => {
                let parts: Vec<&std::ffi::OsStr> = rel.iter().collect();
                BoardLocation {
                    given,
                    path: parts
                        .iter()
                        .map(|p| p.to_string_lossy())
                        .collect::<Vec<_>>()
                        .join("/"),
                    uri: parts
                        .iter()
                        .map(|p| percent_encode(p.as_encoded_bytes()))
                        .collect::<Vec<_>>()
                        .join("/"),
                }
            }
            None => {
                let parts: Vec<String> = absolute
                    .components()
                    .filter_map(|c| match c {
                        Component::Normal(p) => Some(percent_encode(p.as_encoded_bytes())),
                        _ => None,
                    })
                    .collect();
                BoardLocation {
                    path: given.clone(),
                    given,
                    uri: format!("file:///{}", parts.join("/")),
                }
            }
        }
    }
}

/// `path` without `.` components and with each `..` taken back, without touching the
/// filesystem (a `..` at the start of a relative path stays).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else if !out.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// RFC 3986: every byte but the unreserved characters as `%XX`.
fn percent_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One line naming what a finding is about and what it found:
/// `Task t_00000001 "timeout-loop": Agent timeout x3: …`, or `Board: Schema is legacy: …`.
pub fn headline(report: &TaskReport, d: &Diagnostic) -> String {
    if report.about_board() {
        return format!("Board: {}", d.title);
    }
    let title = report
        .listing
        .as_ref()
        .map(|l| &l.title)
        .filter(|t| t.truthy());
    match title {
        Some(t) => format!(
            "Task {} \"{}\": {}",
            report.task_id.py_str(),
            t.py_str(),
            d.title
        ),
        None => format!("Task {}: {}", report.task_id.py_str(), d.title),
    }
}

/// The headline, then the finding's detail after a blank line (when it has one).
pub fn message(report: &TaskReport, d: &Diagnostic) -> String {
    let head = headline(report, d);
    if d.detail.trim().is_empty() {
        head
    } else {
        format!("{head}\n\n{}", d.detail)
    }
}

/// A finding's identity across runs: SHA-256 (hex) of the board path as given, the task id
/// (as JSON, so the INTEGER 1 and the TEXT "1" differ) and the rule kind. Nothing that
/// changes from one run to the next (times, counts, titles) goes in, so a finding that
/// persists keeps its fingerprint and one that goes away and comes back gets it again.
pub fn fingerprint(board: &BoardLocation, report: &TaskReport, kind: &str) -> String {
    let id = crate::py::json::to_string_compact(&Object::from(&report.task_id));
    let mut h = Sha256::new();
    for part in [board.given.as_bytes(), id.as_bytes(), kind.as_bytes()] {
        // Length-prefixed, so no two triples hash the same bytes.
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
}

/// An object as strict JSON: numbers JSON cannot hold become their text.
pub fn strict(o: &Object) -> Json {
    match o {
        Object::Json(j) => (**j).clone(),
        Object::None => Json::Null,
        Object::Bool(b) => Json::Bool(*b),
        Object::Int(i) => i
            .to_i64()
            .map_or_else(|| Json::String(i.to_string()), Json::from),
        Object::Float(f) => serde_json::Number::from_f64(*f).map_or_else(
            || {
                Json::String(
                    if f.is_nan() {
                        "NaN"
                    } else if *f > 0.0 {
                        "Infinity"
                    } else {
                        "-Infinity"
                    }
                    .into(),
                )
            },
            Json::Number,
        ),
        Object::Str(s) => Json::String(s.clone()),
        Object::List(items) => Json::Array(items.iter().map(strict).collect()),
        Object::Dict(d) => Json::Object(d.iter().map(|(k, v)| (k.clone(), strict(v))).collect()),
    }
}

/// A cell value (a task id, title, status) as strict JSON.
pub fn strict_value(v: &crate::py::value::Value) -> Json {
    strict(&Object::from(v))
}

/// The task a finding is about, as strict JSON: id, title, status, assignee (null for the
/// board, or where the report lists none).
pub fn task_json(report: &TaskReport) -> Json {
    let l = report.listing.clone().unwrap_or_default();
    let mut m = Map::new();
    m.insert("id".into(), strict_value(&report.task_id));
    m.insert("title".into(), strict_value(&l.title));
    m.insert("status".into(), strict_value(&l.status));
    m.insert("assignee".into(), strict_value(&l.assignee));
    Json::Object(m)
}

/// A finding's values besides its rule, severity and message, as strict JSON: its counts,
/// times, run, data and actions, as `--json` names them.
pub fn diagnostic_json(d: &Diagnostic) -> Json {
    let mut m = Map::new();
    m.insert("title".into(), d.title.clone().into());
    m.insert("count".into(), strict(&d.count));
    m.insert(
        "first_seen_at".into(),
        strict(&Object::Int(d.first_seen_at.clone())),
    );
    m.insert(
        "last_seen_at".into(),
        strict(&Object::Int(d.last_seen_at.clone())),
    );
    m.insert("run_id".into(), d.run_id.map_or(Json::Null, Json::from));
    m.insert(
        "data".into(),
        Json::Object(
            d.data
                .iter()
                .map(|(k, v)| (k.to_string(), strict(v)))
                .collect(),
        ),
    );
    m.insert(
        "actions".into(),
        serde_json::to_value(&d.actions).expect("actions are plain JSON"),
    );
    Json::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(board: &str, cwd: &str) -> BoardLocation {
        BoardLocation::new(Path::new(board), Some(Path::new(cwd)))
    }

    #[test]
    fn a_board_under_the_working_directory_is_named_relative_to_it() {
        let l = loc("./fixtures/seeded/board.db", "/repo");
        assert_eq!(l.path, "fixtures/seeded/board.db");
        assert_eq!(l.uri, "fixtures/seeded/board.db");
        assert_eq!(l.given, "./fixtures/seeded/board.db");
        let l = loc("/repo/boards/my board#1.db", "/repo/");
        assert_eq!(l.path, "boards/my board#1.db");
        assert_eq!(l.uri, "boards/my%20board%231.db");
    }

    #[test]
    fn a_board_elsewhere_is_a_file_uri_and_its_path_as_given() {
        let l = loc("/home/op/.hermes/kanban.db", "/repo");
        assert_eq!(l.path, "/home/op/.hermes/kanban.db");
        assert_eq!(l.uri, "file:///home/op/.hermes/kanban.db");
        let l = loc("../other/k%.db", "/repo/sub");
        assert_eq!(l.path, "../other/k%.db");
        assert_eq!(l.uri, "file:///repo/other/k%25.db");
    }

    #[test]
    fn without_a_working_directory_a_plain_relative_path_stays_relative() {
        let l = BoardLocation::new(Path::new("a/./b.db"), None);
        assert_eq!((l.path.as_str(), l.uri.as_str()), ("a/b.db", "a/b.db"));
    }

    #[test]
    fn numbers_json_cannot_hold_become_text() {
        let big = crate::py::int::Int::parse("123456789012345678901234567890").unwrap();
        assert_eq!(
            strict(&Object::Int(big)),
            Json::String("123456789012345678901234567890".into())
        );
        assert_eq!(strict(&Object::Float(f64::NAN)), Json::String("NaN".into()));
        assert_eq!(
            strict(&Object::Float(f64::NEG_INFINITY)),
            Json::String("-Infinity".into())
        );
        assert_eq!(strict(&Object::Float(2.5)), serde_json::json!(2.5));
    }

    #[test]
    fn fingerprints_tell_id_types_apart_and_ignore_everything_else() {
        use crate::py::value::Value;
        let board = loc("b.db", "/r");
        let rep = |id: Value| TaskReport {
            task_id: id,
            listing: None,
            diagnostics: Vec::new(),
        };
        let one = fingerprint(&board, &rep(Value::Int(1)), "k");
        assert_eq!(one.len(), 64);
        assert_ne!(one, fingerprint(&board, &rep(Value::Text("1".into())), "k"));
        assert_ne!(one, fingerprint(&board, &rep(Value::Int(1)), "j"));
        assert_ne!(
            one,
            fingerprint(&loc("c.db", "/r"), &rep(Value::Int(1)), "k")
        );
        assert_eq!(one, fingerprint(&board, &rep(Value::Int(1)), "k"));
    }
}
