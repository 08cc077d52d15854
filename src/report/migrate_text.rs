//! The human report of `migrate`: the board, its state, the steps, the backup, the check.

use std::io::{self, Write};

use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

use super::style::Style;
use crate::escape;
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
        "{} {} ({} journal)",
        style.dim("state:"),
        r.state_before.label(),
        r.journal_mode
    )?;
    if r.steps.is_empty() {
        writeln!(
            out,
            "Nothing to do: the board already has the current schema."
        )?;
        return Ok(());
    }
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
    if r.dry_run {
        let verb = if check { "migration needed" } else { "dry run" };
        writeln!(
            out,
            "{}: {} step(s); nothing was written.",
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
    if let Some(v) = &r.verification {
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
    Ok(())
}
