//! The human rendering of `explain TASK`: the task's timeline with the counter after each
//! step, then every rule's verdict.

use std::io::{self, Write};

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use super::diagnose_text::task_line;
use super::style::Style;
use crate::audit::Explanation;
use crate::escape;
use crate::migrate::backup::utc_parts;
use crate::rules::Verdict;

/// `2026-12-01 04:44:32` for a Unix time; `-` when unknown.
fn time(at: Option<i64>) -> String {
    at.map_or("-".into(), |t| {
        let (y, m, d, hh, mm, ss) = utc_parts(t);
        format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}")
    })
}

pub fn render(out: &mut impl Write, style: &Style, ex: &Explanation) -> io::Result<()> {
    writeln!(
        out,
        "{}",
        task_line(style, &ex.task_id, &ex.status, &ex.assignee, &ex.title)
    )?;
    writeln!(
        out,
        "counter: stored {}, recomputed {} (hermes-agent 0.19.0 rules); breaker limit {} ({})",
        escape::line(&ex.stored.py_str()),
        ex.recomputed,
        ex.limit,
        ex.limit_source
    )?;
    writeln!(out)?;
    if ex.timeline.is_empty() {
        writeln!(out, "{}", style.dim("no runs or events"))?;
    } else {
        let mut table = Table::new();
        table.load_style(UTF8_FULL_CONDENSED).set_header([
            "time (UTC)",
            "row",
            "step",
            "counter",
            "recorded",
            "effect",
        ]);
        for e in &ex.timeline {
            let row = match (e.source, e.id) {
                (crate::rules::audit::replay::Source::Event, Some(id)) => format!("event {id}"),
                (crate::rules::audit::replay::Source::Run, Some(id)) => format!("run {id}"),
                _ => "-".into(),
            };
            let mut step = e.what.clone();
            if let Some(d) = e.duration {
                step.push_str(&format!(" ({d} s)"));
            }
            if let Some(err) = &e.error {
                step.push_str(": ");
                step.push_str(err);
            }
            table.add_row([
                time(e.at),
                row,
                escape::line(&step).into_owned(),
                e.counter.to_string(),
                e.recorded.map_or(String::new(), |r| r.to_string()),
                e.effect.clone().unwrap_or_default(),
            ]);
        }
        style.fit_keeping(&mut table, &[0, 1, 3, 4]);
        writeln!(out, "{table}")?;
    }
    writeln!(out)?;
    writeln!(out, "{}", style.bold("rules"))?;
    for r in &ex.rules {
        let (mark, text) = match &r.verdict {
            Verdict::Fires { diagnostic } => (
                style.paint("31", "fires"),
                format!("{} ({})", diagnostic.title, diagnostic.severity.as_str()),
            ),
            Verdict::Quiet { why } => (style.dim("quiet"), why.clone()),
            Verdict::Failed { why } => (
                style.paint("33", "fails"),
                format!("the rule raises here, as in Hermes: {why}"),
            ),
        };
        writeln!(
            out,
            "  {mark}  {:<24} {:<9} {}",
            r.kind,
            r.source,
            escape::line(&text)
        )?;
    }
    Ok(())
}
