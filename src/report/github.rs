//! `--format github`: GitHub Actions workflow commands, one annotation per finding.
//!
//! `::error file=BOARD,line=1,title=kanban-doctor (KIND)::MESSAGE`: critical and error
//! findings are `::error`, warnings `::warning` (an informational finding would be
//! `::notice`). The runner reads one command per line and decodes `%25`, `%0D` and `%0A` in
//! the message, and also `%3A` and `%2C` in properties (where `:` and `,` would end the
//! value): everything that comes from the board is encoded so, and no task title can start
//! a line of its own, let alone a command. Other control, bidi and zero-width characters are
//! shown escaped, as in the human report, since annotations are read by people.
//!
//! GitHub shows at most 10 annotations of each level per step, so a summary line closes the
//! output with the counts, and says so when more were emitted.

use std::io::{self, Write};

use super::finding::{self, BoardLocation};
use super::{RunInfo, Sink, Spill};
use crate::diagnose::TaskReport;
use crate::escape;
use crate::rules::Severity;

/// How many annotations of each level GitHub shows for a step.
pub const SHOWN_PER_LEVEL: usize = 10;

/// The workflow command of a severity.
pub fn command(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// The message of a command, encoded as the runner decodes it.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value (`file=`, `title=`), encoded as the runner decodes it.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Text for an annotation: each line escaped for people as the human report escapes it,
/// the line breaks kept (as `%0A` once encoded).
fn shown(s: &str) -> String {
    s.split('\n')
        .map(|l| escape::line(l).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

pub struct GithubSink {
    command: &'static str,
    body: Spill,
    board: Option<BoardLocation>,
    boards: Vec<String>,
    /// Annotations by level: error, warning, notice.
    counts: [usize; 3],
}

impl GithubSink {
    pub fn new(run: &RunInfo) -> io::Result<Self> {
        Ok(GithubSink {
            command: run.command,
            body: Spill::new()?,
            board: None,
            boards: Vec::new(),
            counts: [0; 3],
        })
    }
}

impl Sink for GithubSink {
    fn begin_board(&mut self, board: &BoardLocation) -> io::Result<()> {
        self.boards.push(board.path.clone());
        self.board = Some(board.clone());
        Ok(())
    }

    fn add(&mut self, report: &TaskReport) -> io::Result<()> {
        let board = self
            .board
            .as_ref()
            .expect("begin_board comes before the first entry");
        for d in &report.diagnostics {
            let level = command(d.severity);
            self.counts[match level {
                "error" => 0,
                "warning" => 1,
                _ => 2,
            }] += 1;
            writeln!(
                self.body,
                "::{level} file={},line=1,title={}::{}",
                escape_property(&shown(&board.path)),
                escape_property(&format!("kanban-doctor ({})", d.kind)),
                escape_data(&shown(&finding::message(report, d))),
            )?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>, out: &mut dyn Write) -> io::Result<()> {
        self.body.copy_to(out)?;
        let [errors, warnings, notices] = self.counts;
        let plural = |n: usize, word: &str| {
            if n == 1 {
                format!("1 {word}")
            } else {
                format!("{n} {word}s")
            }
        };
        let boards = self
            .boards
            .iter()
            .map(|b| escape::line(b).into_owned())
            .collect::<Vec<_>>()
            .join(", ");
        write!(
            out,
            "kanban-doctor {}: {}, {}, {} on {boards}",
            self.command,
            plural(errors, "error"),
            plural(warnings, "warning"),
            plural(notices, "notice"),
        )?;
        if self.counts.iter().any(|&n| n > SHOWN_PER_LEVEL) {
            write!(
                out,
                "; GitHub shows at most {SHOWN_PER_LEVEL} annotations of each level per step, \
                 every one is in this log"
            )?;
        }
        writeln!(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_and_properties_are_encoded_as_the_runner_decodes_them() {
        assert_eq!(escape_data("100% a\r\nb: c, d"), "100%25 a%0D%0Ab: c, d");
        assert_eq!(
            escape_property("100% a\r\nb: c, d"),
            "100%25 a%0D%0Ab%3A c%2C d"
        );
        // `%` first, or the escapes themselves would be escaped again.
        assert_eq!(escape_data("%0A"), "%250A");
    }

    #[test]
    fn annotations_show_terminal_controls_escaped_and_keep_line_breaks() {
        assert_eq!(shown("a\x1b[2Jb\nc\u{202e}"), "a\\x1b[2Jb\nc\\u{202e}");
        assert_eq!(shown("a\r\nb"), "a\\r\nb");
    }
}
