//! `--format gitlab`: a GitLab Code Quality report (`artifacts:reports:codequality`).
//!
//! A JSON array with one issue per finding: `description` (one line naming the task and
//! the finding), `check_name` (the rule kind), `fingerprint` (SHA-256 hex of board, task and
//! kind: unique in a report, the same from run to run, so GitLab can tell new findings from
//! fixed ones), `severity` (warning → `minor`, error → `major`, critical → `critical`;
//! `info` and `blocker` are not used), and `location` (the board, line 1).

use std::io::{self, Write};

use serde_json::{Value as Json, json};

use super::finding::{self, BoardLocation};
use super::json::ArrayWriter;
use super::{Sink, Spill};
use crate::diagnose::TaskReport;
use crate::rules::Severity;

/// The Code Quality severity of a finding's.
pub fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Warning => "minor",
        Severity::Error => "major",
        Severity::Critical => "critical",
    }
}

pub struct GitlabSink {
    array: ArrayWriter<Spill>,
    board: Option<BoardLocation>,
}

impl GitlabSink {
    pub fn new() -> io::Result<Self> {
        Ok(GitlabSink {
            array: ArrayWriter::new(Spill::new()?),
            board: None,
        })
    }
}

fn issue(board: &BoardLocation, report: &TaskReport, d: &crate::rules::Diagnostic) -> Json {
    json!({
        "type": "issue",
        "description": finding::headline(report, d),
        "check_name": d.kind,
        "fingerprint": finding::fingerprint(board, report, d.kind),
        "severity": severity(d.severity),
        "categories": ["Bug Risk"],
        "location": {"path": board.path, "lines": {"begin": 1}},
    })
}

impl Sink for GitlabSink {
    fn begin_board(&mut self, board: &BoardLocation) -> io::Result<()> {
        self.board = Some(board.clone());
        Ok(())
    }

    fn add(&mut self, report: &TaskReport) -> io::Result<()> {
        let board = self
            .board
            .as_ref()
            .expect("begin_board comes before the first entry");
        for d in &report.diagnostics {
            self.array.push(&issue(board, report, d))?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>, out: &mut dyn Write) -> io::Result<()> {
        self.array.finish()?.copy_to(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::py::value::Value;
    use crate::rules::Diagnostic;

    #[test]
    fn the_streamed_array_is_the_pretty_array() {
        let mut sink = Box::new(GitlabSink::new().unwrap());
        sink.begin_board(&BoardLocation::new(std::path::Path::new("b.db"), None))
            .unwrap();
        let rep = TaskReport {
            task_id: Value::Int(7),
            listing: None,
            diagnostics: vec![
                Diagnostic::new("a", Severity::Warning, "t\"1", ""),
                Diagnostic::new("b", Severity::Critical, "t2", ""),
            ],
        };
        sink.add(&rep).unwrap();
        let mut out = Vec::new();
        sink.finish(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let doc: Json = serde_json::from_str(&text).unwrap();
        assert_eq!(text, serde_json::to_string_pretty(&doc).unwrap() + "\n");
        assert_eq!(doc[0]["severity"], "minor");
        assert_eq!(doc[1]["severity"], "critical");
        assert_eq!(doc[0]["description"], "Task 7: t\"1");
        assert_ne!(doc[0]["fingerprint"], doc[1]["fingerprint"]);

        let empty = Box::new(GitlabSink::new().unwrap());
        let mut out = Vec::new();
        empty.finish(&mut out).unwrap();
        assert_eq!(out, b"[]\n");
    }
}
