//! The human report of `diagnose`: what needs the operator, and what to do about it.

use std::io::{self, Write};

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde_json::Value as Json;

use super::style::Style;
use crate::diagnose::{Summary, TaskReport};
use crate::error::{Error, Result};
use crate::escape;
use crate::rules::{Diagnostic, Severity, support::py_str};

fn mark(style: &Style, s: Severity) -> String {
    let (sym, code) = match s {
        Severity::Critical => ("✗ critical", "1;31"),
        Severity::Error => ("! error   ", "31"),
        Severity::Warning => ("⚠ warning ", "33"),
    };
    style.paint(code, sym)
}

/// A data value on one line: lists joined by commas, long or multi-line text cut short.
fn compact(v: &Json) -> String {
    let s = match v {
        Json::Null => "null".to_string(),
        Json::String(s) => {
            let stripped = crate::python::strip(s);
            let first = crate::python::first_line(stripped).unwrap_or("");
            let cut = crate::python::take_chars(first, 80);
            // Compare with the stripped text: whitespace stripped away is not a cut.
            if cut.len() < stripped.len() {
                format!("{cut}…")
            } else {
                cut.to_string()
            }
        }
        Json::Array(items) => items.iter().map(compact).collect::<Vec<_>>().join(","),
        Json::Number(n) => n
            .as_f64()
            .filter(|_| n.is_f64())
            .map_or(n.to_string(), crate::python::float_repr),
        other => other.to_string(),
    };
    escape::line(&s).into_owned()
}

fn write_diag(out: &mut impl Write, style: &Style, d: &Diagnostic) -> io::Result<()> {
    writeln!(
        out,
        "  {}  {}  {}",
        mark(style, d.severity),
        style.bold(d.kind),
        escape::line(&d.title)
    )?;
    if !d.data.is_empty() {
        let bits: Vec<String> = d
            .data
            .iter()
            .map(|(k, v)| format!("{k}={}", compact(v)))
            .collect();
        writeln!(
            out,
            "      {}",
            style.dim(&format!("data: {}", bits.join(" | ")))
        )?;
    }
    let suggested: Vec<_> = d.actions.iter().filter(|a| a.suggested).collect();
    let shown = if suggested.is_empty() {
        d.actions.iter().take(1).collect()
    } else {
        suggested
    };
    for a in shown {
        writeln!(out, "      → {}", escape::line(&a.label))?;
    }
    Ok(())
}

/// The human report, built as tasks stream in: each task is rendered to text on arrival
/// (no report structs are kept), while the summary and the table of counts are tallied, so
/// the summary line can still come first. The rendered tasks wait in an anonymous temporary
/// file rather than in memory, so memory stays flat however many tasks need attention.
pub struct TextReport {
    style: Style,
    body: io::BufWriter<std::fs::File>,
    tasks: usize,
    diagnostics: usize,
    counts: Vec<(&'static str, Severity, usize)>,
}

impl TextReport {
    pub fn new(style: Style) -> Result<Self> {
        Ok(TextReport {
            style,
            body: io::BufWriter::new(tempfile::tempfile().map_err(Error::temp_file)?),
            tasks: 0,
            diagnostics: 0,
            counts: Vec::new(),
        })
    }

    /// Render one task into the temporary file (so an error here is the temporary file's).
    pub fn add(&mut self, r: &TaskReport) -> io::Result<()> {
        let (style, out) = (&self.style, &mut self.body);
        writeln!(out)?;
        let title = if r.title.truthy() {
            py_str(&r.title)
        } else {
            "(untitled)".into()
        };
        let assignee = if r.assignee.truthy() {
            format!("@{}", py_str(&r.assignee))
        } else {
            "(unassigned)".into()
        };
        writeln!(
            out,
            "{}  {}  {}  {}",
            style.bold(&escape::line(&py_str(&r.task_id))),
            escape::line(&py_str(&r.status)),
            escape::line(&assignee),
            escape::line(&title)
        )?;
        if r.diagnostics.is_empty() {
            writeln!(out, "  {}", style.dim("no diagnostics"))?;
        }
        for d in &r.diagnostics {
            write_diag(out, style, d)?;
            match self
                .counts
                .iter_mut()
                .find(|(k, s, _)| *k == d.kind && *s == d.severity)
            {
                Some(row) => row.2 += 1,
                None => self.counts.push((d.kind, d.severity, 1)),
            }
        }
        self.tasks += usize::from(!r.diagnostics.is_empty());
        self.diagnostics += r.diagnostics.len();
        Ok(())
    }

    /// Write the board line, the summary, every task, and the counts by rule and severity.
    pub fn finish(
        mut self,
        out: &mut impl Write,
        board: &std::path::Path,
        config: Option<&std::path::Path>,
        summary: &Summary,
    ) -> Result<()> {
        let style = self.style;
        writeln!(
            out,
            "{} {} ({} schema, {}, {} {} scanned)",
            style.dim("board:"),
            escape::line(&board.display().to_string()),
            summary.state.label(),
            summary.journal,
            summary.tasks_scanned,
            if summary.tasks_scanned == 1 {
                "task"
            } else {
                "tasks"
            }
        )
        .map_err(Error::Output)?;
        if let Some(c) = config {
            writeln!(
                out,
                "{} {}",
                style.dim("config:"),
                escape::line(&c.display().to_string())
            )
            .map_err(Error::Output)?;
        }
        let (n, total) = (self.tasks, self.diagnostics);
        if n == 0 {
            writeln!(out, "No task needs attention.").map_err(Error::Output)?;
            // A task asked for with --task is still shown, with "no diagnostics".
            copy_body(self.body, out)?;
            return Ok(());
        }
        let noun = if n == 1 { "task needs" } else { "tasks need" };
        let diags = if total == 1 {
            "diagnostic"
        } else {
            "diagnostics"
        };
        writeln!(
            out,
            "{}",
            style.bold(&format!("{n} {noun} attention ({total} {diags})"))
        )
        .map_err(Error::Output)?;
        copy_body(self.body, out)?;
        self.counts.sort_by_key(|(k, s, _)| {
            (
                std::cmp::Reverse(*s),
                crate::rules::KINDS.iter().position(|x| x == k),
            )
        });
        let mut table = Table::new();
        table
            .load_style(UTF8_FULL_CONDENSED)
            .set_header(["rule", "severity", "tasks"]);
        for (k, s, c) in &self.counts {
            table.add_row([k.to_string(), s.as_str().to_string(), c.to_string()]);
        }
        writeln!(out).map_err(Error::Output)?;
        writeln!(out, "{table}").map_err(Error::Output)?;
        Ok(())
    }
}

/// Replay the rendered tasks from the temporary file.
fn copy_body(body: io::BufWriter<std::fs::File>, out: &mut impl Write) -> Result<()> {
    let file = body
        .into_inner()
        .map_err(|e| Error::temp_file(e.into_error()))?;
    replay(file, out)
}

/// Copy a finished temporary file to `out` from its start. Reading the file back is
/// [`Error::TempFile`], writing `out` (stdout) is [`Error::Output`], so that only a pipe the
/// reader closed can take `main`'s exit-0 path.
pub fn replay(mut file: std::fs::File, out: &mut impl Write) -> Result<()> {
    use std::io::{Read, Seek};
    file.seek(io::SeekFrom::Start(0))
        .map_err(Error::temp_file)?;
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::temp_file(e)),
        };
        out.write_all(&buf[..n]).map_err(Error::Output)?;
    }
}

#[cfg(test)]
mod tests {
    use super::compact;
    use serde_json::json;

    #[test]
    fn stripped_whitespace_is_not_a_cut() {
        assert_eq!(compact(&json!("boom\n")), "boom");
        assert_eq!(compact(&json!("boom \n")), "boom");
        assert_eq!(compact(&json!("  boom\r\n\t")), "boom");
        assert_eq!(compact(&json!(" \n ")), "");
    }

    #[test]
    fn a_second_line_or_the_81st_character_is_a_cut() {
        assert_eq!(compact(&json!("boom\nbang")), "boom…");
        assert_eq!(compact(&json!("boom\n\nbang\n")), "boom…");
        let x80 = "x".repeat(80);
        assert_eq!(compact(&json!(x80)), x80);
        assert_eq!(compact(&json!(format!("{x80}\n"))), x80);
        assert_eq!(compact(&json!(format!("{x80}y"))), format!("{x80}…"));
    }
}
