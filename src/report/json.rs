//! `--json` output: the reference's list of task reports, streamed element by element,
//! each formatted by the one `json.dumps` of the crate ([`crate::py::json`]).

use std::io::{self, Write};

use serde::Serialize;

use super::{BoardLocation, Sink, Spill};
use crate::diagnose::TaskReport;
pub use crate::py::json::to_string;

/// Writes a JSON array one element at a time, byte-identical to dumping the whole list.
pub struct ArrayWriter<W: Write> {
    out: W,
    count: usize,
}

impl<W: Write> ArrayWriter<W> {
    pub fn new(out: W) -> Self {
        ArrayWriter { out, count: 0 }
    }

    pub fn push<T: Serialize>(&mut self, item: &T) -> io::Result<()> {
        let body = to_string(item).replace('\n', "\n  ");
        let sep = if self.count == 0 { "[\n  " } else { ",\n  " };
        self.count += 1;
        write!(self.out, "{sep}{body}")
    }

    /// Close the array and end the line, as `print(json.dumps(...))` does.
    pub fn finish(mut self) -> io::Result<W> {
        let end = if self.count == 0 { "[]\n" } else { "\n]\n" };
        self.out.write_all(end.as_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// `--json` (`--format json`): the reference's list of task reports, streamed into a spill file and
/// printed whole once the scan is complete. Over several boards (`--all-boards`) each entry
/// starts with the `board` it is about.
pub struct JsonSink {
    array: ArrayWriter<Spill>,
    board: Option<String>,
    name_boards: bool,
}

impl JsonSink {
    pub fn new(name_boards: bool) -> io::Result<Self> {
        Ok(JsonSink {
            array: ArrayWriter::new(Spill::new()?),
            board: None,
            name_boards,
        })
    }
}

/// A task entry with the board it is about first: `{"board": …, "task_id": …, …}`.
pub struct OnBoard<'a> {
    pub board: Option<&'a str>,
    pub report: &'a TaskReport,
}

impl Serialize for OnBoard<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        if let Some(b) = self.board {
            m.serialize_entry("board", b)?;
        }
        self.report.serialize_entries(&mut m)?;
        m.end()
    }
}

impl Sink for JsonSink {
    fn begin_board(&mut self, board: &BoardLocation) -> io::Result<()> {
        self.board = self.name_boards.then(|| board.path.clone());
        Ok(())
    }

    fn add(&mut self, report: &TaskReport) -> io::Result<()> {
        self.array.push(&OnBoard {
            board: self.board.as_deref(),
            report,
        })
    }

    fn finish(self: Box<Self>, out: &mut dyn Write) -> io::Result<()> {
        self.array.finish()?.copy_to(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_render_like_python() {
        assert_eq!(
            to_string(&json!({"a": 24.0, "b": 1e16, "c": [1, 2.5]})),
            "{\n  \"a\": 24.0,\n  \"b\": 1e+16,\n  \"c\": [\n    1,\n    2.5\n  ]\n}"
        );
    }

    #[test]
    fn streamed_arrays_equal_whole_dumps() {
        let items = vec![json!({"x": [], "y": {}}), json!({"z": "a\nb\u{1b}é"})];
        let mut w = ArrayWriter::new(Vec::new());
        for i in &items {
            w.push(i).unwrap();
        }
        let streamed = String::from_utf8(w.finish().unwrap()).unwrap();
        assert_eq!(streamed, format!("{}\n", to_string(&items)));
        assert_eq!(
            String::from_utf8(ArrayWriter::new(Vec::new()).finish().unwrap()).unwrap(),
            "[]\n"
        );
    }
}
