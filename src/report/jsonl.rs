//! `--format jsonl`: one JSON object per task entry and nothing else, for streaming into
//! other tools (`jq -c`, log shippers). Each line is the object `--json` puts in its array,
//! on one line as Python's `json.dumps` writes it by default.

use std::io::{self, Write};

use super::json::OnBoard;
use super::{BoardLocation, Sink, Spill};
use crate::diagnose::TaskReport;
use crate::py::json::to_string_compact;

/// The entries, spilled as they stream and printed once the scan is complete; over several
/// boards (`--all-boards`) each names its `board` first.
pub struct JsonlSink {
    spill: Spill,
    board: Option<String>,
    name_boards: bool,
}

impl JsonlSink {
    pub fn new(name_boards: bool) -> io::Result<Self> {
        Ok(JsonlSink {
            spill: Spill::new()?,
            board: None,
            name_boards,
        })
    }
}

impl Sink for JsonlSink {
    fn begin_board(&mut self, board: &BoardLocation) -> io::Result<()> {
        self.board = self.name_boards.then(|| board.path.clone());
        Ok(())
    }

    fn add(&mut self, report: &TaskReport) -> io::Result<()> {
        let entry = OnBoard {
            board: self.board.as_deref(),
            report,
        };
        // serde_json escapes control characters in strings: an entry never spans lines.
        writeln!(self.spill, "{}", to_string_compact(&entry))
    }

    fn finish(self: Box<Self>, out: &mut dyn Write) -> io::Result<()> {
        self.spill.copy_to(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::rows::Listing;
    use crate::py::value::Value;
    use crate::rules::{Diagnostic, Severity};

    #[test]
    fn each_entry_is_one_line_equal_to_its_json_element() {
        let rep = TaskReport {
            task_id: Value::Text("t\n1".into()),
            listing: Some(Listing {
                title: Value::Text("a\u{2028}b\r".into()),
                ..Listing::default()
            }),
            diagnostics: vec![Diagnostic::new("k", Severity::Error, "x\ny", "d")],
        };
        let mut sink = Box::new(JsonlSink::new(false).unwrap());
        sink.add(&rep).unwrap();
        sink.add(&rep).unwrap();
        let mut out = Vec::new();
        sink.finish(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.split_terminator('\n').collect();
        assert_eq!(lines.len(), 2);
        let whole: serde_json::Value =
            serde_json::from_str(&crate::py::json::to_string(&rep)).unwrap();
        for line in lines {
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(line).unwrap(),
                whole
            );
        }
    }
}
