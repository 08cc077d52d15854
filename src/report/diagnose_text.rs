//! The human report of `diagnose`: what needs the operator, and what to do about it.

use std::io::{self, Write};

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde_json::Value as Json;

use super::style::Style;
use super::{BoardInfo, Sink, Spill};
use crate::config::{Threshold, Thresholds};
use crate::diagnose::TaskReport;
use crate::escape;
use crate::py::object::Object;
use crate::py::value::Value;
use crate::rules::{Diagnostic, Severity};

/// Which defaults the run used and where each threshold came from: `unified defaults;
/// failure threshold 4 (kanban.failure_limit), breaker limit 4 (kanban.failure_limit),
/// crash threshold 2 (default)`.
pub fn thresholds_line(t: &Thresholds) -> String {
    format!(
        "{} defaults; {}, {}, {}",
        t.defaults.as_str(),
        threshold("failure threshold", &t.failure_threshold),
        threshold("breaker limit", &t.failure_limit),
        threshold("crash threshold", &t.crash_threshold),
    )
}

fn threshold(name: &str, t: &Threshold) -> String {
    let origin = t.origin.as_str();
    match (&t.value, t.fallback) {
        (Some(v), false) => format!("{name} {v} ({origin})"),
        (Some(v), true) => format!("{name} {v} ({origin} is not a positive integer)"),
        (None, _) => format!("{name} unusable ({origin} is not an integer)"),
    }
}

fn mark(style: &Style, s: Severity) -> String {
    let (sym, code) = match s {
        Severity::Critical => ("✗ critical", "1;31"),
        Severity::Error => ("! error   ", "31"),
        Severity::Warning => ("⚠ warning ", "33"),
    };
    style.paint(code, sym)
}

/// A data value on one line: numbers as Python prints them, and the rest as [`compact`]
/// shows it.
fn compact_object(v: &Object) -> String {
    match v {
        Object::Json(j) => compact(j),
        Object::Int(i) => i.to_string(),
        Object::Float(f) => crate::py::float_repr(*f),
        Object::None => compact(&Json::Null),
        Object::Bool(b) => compact(&Json::Bool(*b)),
        Object::Str(s) => compact(&Json::String(s.clone())),
        Object::List(items) => items
            .iter()
            .map(compact_object)
            .collect::<Vec<_>>()
            .join(","),
        Object::Dict(_) => escape::line(&crate::py::json::to_string_compact(v)).into_owned(),
    }
}

/// A data value on one line: lists joined by commas, long or multi-line text cut short.
fn compact(v: &Json) -> String {
    let s = match v {
        Json::Null => "null".to_string(),
        Json::String(s) => {
            let stripped = crate::py::strip(s);
            let first = crate::py::first_line(stripped).unwrap_or("");
            let cut = crate::py::take_chars(first, 80);
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
            .map_or(n.to_string(), crate::py::float_repr),
        other => other.to_string(),
    };
    escape::line(&s).into_owned()
}

/// The first line of a Python traceback, which says only that one follows.
const TRACEBACK: &str = "Traceback (most recent call last):";

/// The line of a Python traceback that says what failed: the last unindented line
/// (`ValueError: bad auth`), where the text is a traceback.
fn exception_line(text: &str) -> Option<&str> {
    let text = crate::py::strip(text);
    if !text.starts_with(TRACEBACK) {
        return None;
    }
    text.lines()
        .rev()
        .map(str::trim_end)
        .find(|l| !l.is_empty() && !l.starts_with(char::is_whitespace) && *l != TRACEBACK)
}

/// The title for a person: the reference quotes the first line of the last error, which
/// for a traceback is its useless opening line; show the exception line instead.
fn readable_title(d: &Diagnostic) -> std::borrow::Cow<'_, str> {
    let exception = d
        .title
        .strip_suffix(TRACEBACK)
        .zip(d.data.get("last_error").and_then(Object::as_str))
        .and_then(|(head, err)| Some((head, exception_line(err)?)));
    match exception {
        Some((head, line)) => format!("{head}{}", crate::py::take_chars(line, 160)).into(),
        None => d.title.as_str().into(),
    }
}

fn write_diag(out: &mut impl Write, style: &Style, d: &Diagnostic) -> io::Result<()> {
    writeln!(
        out,
        "  {}  {}  {}",
        mark(style, d.severity),
        style.bold(d.kind),
        escape::line(&readable_title(d))
    )?;
    if !d.data.is_empty() {
        let bits: Vec<String> = d
            .data
            .iter()
            .map(|(k, v)| match v.as_str().and_then(exception_line) {
                Some(line) => format!("{k}={}", compact(&Json::String(line.to_string()))),
                None => format!("{k}={}", compact_object(v)),
            })
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
///
/// Tasks are listed by their worst severity, critical first, in board order within each
/// (the board's own entry, from `audit`, before them all): one spill file per rung, joined
/// at the end. JSON keeps the reference's order.
pub struct TextReport {
    style: Style,
    /// The rendered entries: the board's, then tasks whose worst finding is critical,
    /// error, warning, then tasks without findings (`--task`); each made on first use.
    bodies: [Option<Spill>; 5],
    tasks: usize,
    /// Entries about the board itself (audit), not counted as tasks.
    board_entries: usize,
    diagnostics: usize,
    counts: Vec<(&'static str, Severity, usize)>,
    /// The board, config and thresholds lines, once the board's scan is complete.
    header: Vec<u8>,
}

impl TextReport {
    pub fn new(style: Style) -> io::Result<Self> {
        Ok(TextReport {
            style,
            bodies: Default::default(),
            tasks: 0,
            board_entries: 0,
            diagnostics: 0,
            counts: Vec::new(),
            header: Vec::new(),
        })
    }
}

impl TextReport {
    /// Every rendered entry, in rung order.
    fn copy_bodies(&mut self, out: &mut dyn Write) -> io::Result<()> {
        for body in self.bodies.iter_mut().filter_map(Option::take) {
            body.copy_to(out)?;
        }
        Ok(())
    }
}

/// The line that names a task: id, status, assignee, title (escaped; placeholders for an
/// empty title or assignee).
pub(super) fn task_line(
    style: &Style,
    id: &Value,
    status: &Value,
    assignee: &Value,
    title: &Value,
) -> String {
    let title = if title.truthy() {
        title.py_str()
    } else {
        "(untitled)".into()
    };
    let assignee = if assignee.truthy() {
        format!("@{}", assignee.py_str())
    } else {
        "(unassigned)".into()
    };
    format!(
        "{}  {}  {}  {}",
        style.bold(&escape::line(&id.py_str())),
        escape::line(&status.py_str()),
        escape::line(&assignee),
        escape::line(&title)
    )
}

fn write_task_line(out: &mut impl Write, style: &Style, r: &TaskReport) -> io::Result<()> {
    let l = r.listing.clone().unwrap_or_default();
    writeln!(
        out,
        "{}",
        task_line(style, &r.task_id, &l.status, &l.assignee, &l.title)
    )
}

impl Sink for TextReport {
    fn add(&mut self, r: &TaskReport) -> io::Result<()> {
        let rung = if r.about_board() {
            0
        } else {
            match r.diagnostics.iter().map(|d| d.severity).max() {
                Some(Severity::Critical) => 1,
                Some(Severity::Error) => 2,
                Some(Severity::Warning) => 3,
                None => 4,
            }
        };
        let out = match &mut self.bodies[rung] {
            Some(spill) => spill,
            slot => slot.insert(Spill::new()?),
        };
        let style = &self.style;
        writeln!(out)?;
        if r.about_board() {
            // A finding about the board itself (audit), not about a task.
            writeln!(out, "{}", style.bold("(board)"))?;
        } else {
            write_task_line(out, style, r)?;
        }
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
        if r.about_board() {
            self.board_entries += usize::from(!r.diagnostics.is_empty());
        } else {
            self.tasks += usize::from(!r.diagnostics.is_empty());
        }
        self.diagnostics += r.diagnostics.len();
        Ok(())
    }

    /// The board line, the config file and the thresholds.
    fn end_board(&mut self, info: &BoardInfo<'_>) -> io::Result<()> {
        let (board, config, summary) = (info.board, info.config, info.summary);
        let (style, out) = (self.style, &mut self.header);
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
        )?;
        if let Some(c) = config {
            writeln!(
                out,
                "{} {}",
                style.dim("config:"),
                escape::line(&c.display().to_string())
            )?;
        }
        writeln!(
            out,
            "{} {}",
            style.dim("thresholds:"),
            thresholds_line(info.thresholds)
        )
    }

    /// Write the board lines, the summary, every task, and the counts by rule and severity.
    fn finish(mut self: Box<Self>, out: &mut dyn Write) -> io::Result<()> {
        let style = self.style;
        out.write_all(&self.header)?;
        let (n, total) = (self.tasks, self.diagnostics);
        if n == 0 && self.board_entries == 0 {
            writeln!(out, "No task needs attention.")?;
            // A task asked for with --task is still shown, with "no diagnostics".
            self.copy_bodies(out)?;
            return Ok(());
        }
        let noun = match (self.board_entries > 0, n) {
            (true, 0) => "The board needs".to_string(),
            (true, 1) => "The board and 1 task need".to_string(),
            (true, n) => format!("The board and {n} tasks need"),
            (false, 1) => "1 task needs".to_string(),
            (false, n) => format!("{n} tasks need"),
        };
        let diags = if total == 1 {
            "diagnostic"
        } else {
            "diagnostics"
        };
        writeln!(
            out,
            "{}",
            style.bold(&format!("{noun} attention ({total} {diags})"))
        )?;
        self.copy_bodies(out)?;
        self.counts.sort_by_key(|(k, s, _)| {
            (
                std::cmp::Reverse(*s),
                crate::rules::KINDS
                    .iter()
                    .chain(crate::rules::audit::KINDS)
                    .position(|x| x == k),
            )
        });
        let mut table = Table::new();
        table
            .load_style(UTF8_FULL_CONDENSED)
            .set_header(["rule", "severity", "tasks"]);
        for (k, s, c) in &self.counts {
            table.add_row([k.to_string(), s.as_str().to_string(), c.to_string()]);
        }
        writeln!(out)?;
        writeln!(out, "{table}")?;
        Ok(())
    }
}

/// One stderr line per rule the reference would have dropped for some tasks.
pub fn dropped_rule_warnings(dropped: &crate::diagnose::DroppedRules) -> Vec<String> {
    dropped
        .0
        .iter()
        .map(|f| {
            let more = if f.tasks > f.examples.len() {
                ", …"
            } else {
                ""
            };
            format!(
                "warning: rule {} could not be evaluated for {} task(s) ({}: {}{more}); as in Hermes, its result was dropped there",
                f.kind,
                f.tasks,
                escape::line(&f.examples.join(", ")),
                f.why,
            )
        })
        .collect()
}

/// A rule's documentation for a terminal: kind and summary, severities, the config keys
/// that tune it, then the markdown body as written.
pub fn explain(out: &mut impl Write, doc: &crate::rules::RuleDoc) -> io::Result<()> {
    explain_run_by(out, doc, None)
}

/// [`explain`], with a line naming the command that runs the rule when `command` is given.
pub fn explain_run_by(
    out: &mut impl Write,
    doc: &crate::rules::RuleDoc,
    command: Option<&str>,
) -> io::Result<()> {
    writeln!(out, "{}: {}", doc.kind, doc.summary)?;
    if let Some(c) = command {
        writeln!(out, "command: {c}")?;
    }
    let severities: Vec<&str> = doc.severities.iter().map(|s| s.as_str()).collect();
    writeln!(out, "severity: {}", severities.join(", "))?;
    if doc.config_keys.is_empty() {
        writeln!(out, "config: none")?;
    } else {
        writeln!(out, "config: {}", doc.config_keys.join(", "))?;
    }
    writeln!(out)?;
    writeln!(out, "{}", doc.body.trim_end())
}
