//! The human report of `migrate`: the board, its state, the steps, the backup, the check.

use std::io::{self, Write};

use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

use super::style::Style;
use crate::escape;
use crate::migrate::recount::Recount;
use crate::migrate::{Report, StepStatus};

pub fn render(out: &mut impl Write, style: &Style, r: &Report, check: bool) -> io::Result<()> {
    writeln!(
        out,
        "{} {}",
        style.dim("board:"),
        escape::line(&r.board.display().to_string())
    )?;
    writeln!(
        out,
        "{} {} ({})",
        style.dim("state:"),
        r.state_before.label(),
        r.journal_mode
    )?;
    let recount_work = r.recount.as_ref().is_some_and(|c| !c.changes.is_empty());
    if r.steps.is_empty() && r.recount.is_none() {
        if r.legacy_kept.is_empty() {
            writeln!(
                out,
                "Nothing to do: the board already has the current schema."
            )?;
        } else {
            partial(out, style, r, check)?;
        }
        return Ok(());
    }
    if r.steps.is_empty() {
        writeln!(out, "schema: already current.")?;
    } else {
        steps(out, style, r)?;
    }
    if let Some(c) = &r.recount {
        recount(out, style, c)?;
    }
    if r.steps.is_empty() && !recount_work {
        writeln!(
            out,
            "Nothing to do: every counter already matches its history."
        )?;
        return Ok(());
    }
    if r.dry_run {
        let verb = if check { "migration needed" } else { "dry run" };
        let changes = r.recount.as_ref().map_or(String::new(), |c| {
            format!(", {} task(s) to recount", c.changes.len())
        });
        writeln!(
            out,
            "{}: {} step(s){changes}; nothing was written.",
            verb,
            r.steps.len()
        )?;
        return Ok(());
    }
    match &r.backup {
        Some(b) if b.reused => writeln!(
            out,
            "backup: {} (identical backup already present)",
            escape::path(&b.path)
        )?,
        Some(b) => writeln!(out, "backup: {}", escape::path(&b.path))?,
        None => writeln!(out, "backup: none (--no-backup)")?,
    }
    if let Some(v) = r.verification.as_ref().filter(|_| !r.steps.is_empty()) {
        let rows: i64 = v.row_counts.values().sum();
        writeln!(
            out,
            "{} {} tables, {} rows and {} tasks' counters unchanged; integrity {}; state now {}",
            style.paint("32", "verified:"),
            v.row_counts.len(),
            rows,
            v.tasks_checked,
            v.integrity,
            r.state_after.as_ref().map_or("?".into(), |s| s.label()),
        )?;
    } else if !r.changed {
        writeln!(
            out,
            "Nothing to do: another process migrated the board first."
        )?;
    }
    if let Some(v) = r.recount.as_ref().and_then(|c| c.verified.as_ref()) {
        writeln!(
            out,
            "{} {} task row(s) hold exactly the recounted values, {} gave_up event(s) added, \
             every other row of {} tables unchanged",
            style.paint("32", "recount verified:"),
            v.tasks_updated,
            v.events_inserted,
            v.tables_compared
        )?;
    }
    Ok(())
}

/// The recount's changes, one line per task: before → after.
fn recount(out: &mut impl Write, style: &Style, c: &Recount) -> io::Result<()> {
    writeln!(
        out,
        "{} {} task(s) replayed under hermes-agent 0.19.0's counter rules; {} to change{}",
        style.dim("recount:"),
        c.tasks_replayed,
        c.changes.len(),
        if c.trip { " (--trip)" } else { "" }
    )?;
    for ch in &c.changes {
        let mut parts = vec![format!(
            "consecutive_failures {} → {}",
            ch.before.consecutive_failures, ch.after.consecutive_failures
        )];
        if ch.before.last_failure_error != ch.after.last_failure_error {
            parts.push(format!(
                "last_failure_error ← {}",
                crate::py::str_repr(crate::py::take_chars(
                    ch.after.last_failure_error.as_deref().unwrap_or(""),
                    60
                ))
            ));
        }
        if ch.tripped {
            parts.push(format!(
                "status {} → blocked, gave_up event",
                ch.before.status.as_deref().unwrap_or("?")
            ));
        }
        writeln!(
            out,
            "  {}  {}  {}",
            style.bold(&escape::line(&ch.task_id.py_str())),
            escape::line(&ch.title.py_str()),
            escape::line(&parts.join("; "))
        )?;
    }
    for sk in &c.skipped {
        writeln!(
            out,
            "  {}  not tripped: {}",
            style.bold(&escape::line(&sk.task_id.py_str())),
            sk.reason
        )?;
    }
    Ok(())
}

/// The schema steps, as a table, with their notes.
fn steps(out: &mut impl Write, style: &Style, r: &Report) -> io::Result<()> {
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(["#", "step", "target", "status", "SQL"]);
    for (i, s) in r.steps.iter().enumerate() {
        let status = match s.status {
            StepStatus::Planned => "planned",
            StepStatus::Applied => "applied",
            StepStatus::FellBack => "fell back to copy",
        };
        let mut sql = s.step.sql.join(";\n");
        if s.status == StepStatus::FellBack {
            sql = s.step.fallback.as_ref().map_or(sql, |f| f.join(";\n"));
        }
        table.add_row([
            (i + 1).to_string(),
            s.step.action.as_str().to_string(),
            s.step.target.clone(),
            status.to_string(),
            sql,
        ]);
    }
    style.fit_keeping(&mut table, &[0, 1, 3]);
    writeln!(out, "{table}")?;
    for (i, s) in r.steps.iter().enumerate() {
        if let Some(note) = &s.step.note {
            writeln!(out, "{} {note}", style.dim(&format!("{}:", i + 1)))?;
        }
        if let (Some(f), StepStatus::Planned) = (&s.step.fallback, s.status) {
            writeln!(
                out,
                "{}   if SQLite refuses the rename: {}",
                style.dim(" "),
                f.join("; ")
            )?;
        }
        if let Some(why) = &s.refused {
            writeln!(
                out,
                "note: SQLite refused to rename {} ({}); its values were copied instead",
                s.step.target,
                escape::line(why)
            )?;
        }
    }
    Ok(())
}

/// A board with nothing left to migrate but legacy columns beside the current ones (a
/// `partial` board): what remains, and why it needs nothing.
fn partial(out: &mut impl Write, style: &Style, r: &Report, check: bool) -> io::Result<()> {
    writeln!(
        out,
        "Nothing to do: the board has every current column, and Hermes reads those."
    )?;
    writeln!(
        out,
        "Kept beside them: {} (their values are history, and in any backup); `kanban-doctor migrate --drop-legacy` removes them.",
        r.legacy_kept.join(", ")
    )?;
    if check {
        writeln!(
            out,
            "{}",
            style.dim(
                "--check exits 0: the legacy columns are harmless, so no migration is needed."
            )
        )?;
    }
    Ok(())
}
