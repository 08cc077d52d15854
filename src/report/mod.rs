//! Renderers. Each takes findings or reports already computed and only formats them.
//!
//! `diagnose` and `audit` output goes through a [`Sink`]: the scan hands each task's report
//! to the sink as it streams, and the sink writes its document once the scan is complete. A
//! new output format is one new file with a type implementing it, and a [`Format`] variant.
//! What the machine formats say the same way about a finding (its board's path, message,
//! fingerprint, and its values as strict JSON) is in [`finding`].

pub mod diagnose_text;
pub mod error;
pub mod explain_text;
pub mod finding;
pub mod github;
pub mod gitlab;
pub mod json;
pub mod jsonl;
pub mod migrate_text;
pub mod progress;
pub mod prometheus;
pub mod rules_text;
pub mod sarif;
pub mod style;

use std::io::{self, Write};
use std::path::Path;

use crate::config::Thresholds;
use crate::diagnose::{Summary, TaskReport};
use crate::rules::RuleDoc;
pub use finding::BoardLocation;

/// The output formats of `diagnose` and `audit`, one [`Sink`] each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The human report.
    Table,
    /// The reference's list of task reports (`--json`).
    Json,
    /// One task report per line, as `json` puts them in its array.
    Jsonl,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
    /// GitHub Actions workflow commands: one annotation per finding.
    Github,
    /// A GitLab Code Quality report.
    Gitlab,
    /// Prometheus text format, for node_exporter's textfile collector.
    Prometheus,
}

/// What a run is, known before any board is read and the same for every board of the run.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// `diagnose` or `audit`.
    pub command: &'static str,
    /// The rules that run, in the order their findings come.
    pub rules: Vec<&'static RuleDoc>,
    /// The time of the check: `--now`, or now (Unix seconds).
    pub checked_at: i64,
    /// Several boards in one document (`--all-boards`): JSON and jsonl entries then carry
    /// a `board` key (the other machine formats name the board of every finding anyway).
    pub name_boards: bool,
}

/// What a sink knows about a board once its scan is complete.
pub struct BoardInfo<'a> {
    pub board: &'a Path,
    /// The config file the thresholds came from, if any.
    pub config: Option<&'a Path>,
    /// The thresholds the rules used, and where each came from.
    pub thresholds: &'a Thresholds,
    pub summary: &'a Summary,
}

/// One output format of `diagnose` and `audit`.
///
/// A run calls, for each board, [`Sink::begin_board`], [`Sink::add`] for each entry, then
/// [`Sink::end_board`]; and [`Sink::finish`] once. Today a run has one board; a run over
/// several boards feeds them through the same calls, one board after another, and every
/// machine format already names the board of each finding.
pub trait Sink {
    /// The entries that follow, until [`Sink::end_board`], are about this board.
    fn begin_board(&mut self, board: &BoardLocation) -> io::Result<()> {
        let _ = board;
        Ok(())
    }
    /// A task with diagnostics (or the task asked for with `--task`), in board order.
    fn add(&mut self, report: &TaskReport) -> io::Result<()>;
    /// The board's scan is complete.
    fn end_board(&mut self, board: &BoardInfo<'_>) -> io::Result<()> {
        let _ = board;
        Ok(())
    }
    /// What the document leaves out, for stderr (SARIF's limits), once every board is in.
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
    /// Write the whole document to `out`. Nothing reaches `out` before this is called, so
    /// a scan that fails leaves no partial document.
    fn finish(self: Box<Self>, out: &mut dyn Write) -> io::Result<()>;
}

/// The sink of a format.
pub fn sink(format: Format, style: style::Style, run: &RunInfo) -> io::Result<Box<dyn Sink>> {
    Ok(match format {
        Format::Table => Box::new(diagnose_text::TextReport::new(style)?),
        Format::Json => Box::new(json::JsonSink::new(run.name_boards)?),
        Format::Jsonl => Box::new(jsonl::JsonlSink::new(run.name_boards)?),
        Format::Sarif => Box::new(sarif::SarifSink::new(run)?),
        Format::Github => Box::new(github::GithubSink::new(run)?),
        Format::Gitlab => Box::new(gitlab::GitlabSink::new()?),
        Format::Prometheus => Box::new(prometheus::PrometheusSink::new(run)),
    })
}

/// A temporary file that holds a document until the scan completes: memory stays flat
/// however much is reported.
pub(crate) struct Spill(io::BufWriter<std::fs::File>);

impl Spill {
    pub(crate) fn new() -> io::Result<Self> {
        Ok(Spill(io::BufWriter::new(tempfile::tempfile()?)))
    }

    /// Replay what was written into `out`.
    pub(crate) fn copy_to(self, out: &mut dyn Write) -> io::Result<()> {
        use std::io::Seek;
        let mut file = self
            .0
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        file.seek(io::SeekFrom::Start(0))?;
        io::copy(&mut file, out)?;
        Ok(())
    }
}

impl Write for Spill {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}
