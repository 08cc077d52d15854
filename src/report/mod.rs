//! Renderers. Each takes findings or reports already computed and only formats them.
//!
//! `diagnose` output goes through a [`Sink`]: the scan hands each task's report to the sink
//! as it streams, and the sink writes its document once the scan is complete. A new output
//! format is one new type implementing it.

pub mod diagnose_text;
pub mod error;
pub mod explain_text;
pub mod json;
pub mod migrate_text;
pub mod rules_text;
pub mod style;

use std::io::{self, Write};
use std::path::Path;

use crate::config::Thresholds;
use crate::diagnose::{Summary, TaskReport};

/// What a sink knows besides the reports, once the scan is done.
pub struct RunInfo<'a> {
    pub board: &'a Path,
    /// The config file the thresholds came from, if any.
    pub config: Option<&'a Path>,
    /// The thresholds the rules used, and where each came from.
    pub thresholds: &'a Thresholds,
    pub summary: &'a Summary,
}

/// One output format of `diagnose`.
pub trait Sink {
    /// A task with diagnostics (or the task asked for with `--task`), in board order.
    fn add(&mut self, report: &TaskReport) -> io::Result<()>;
    /// Write the whole document to `out`. Nothing reaches `out` before this is called, so
    /// a scan that fails leaves no partial document.
    fn finish(self: Box<Self>, out: &mut dyn Write, info: &RunInfo<'_>) -> io::Result<()>;
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
