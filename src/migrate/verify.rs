//! Verification figures taken before and after a migration, inside the same transaction.
//!
//! Row counts per table, a digest of every task's (id, counter, error) read through the
//! same row reader `diagnose` uses (so "no value lost" means "every command sees the same
//! values"), and a digest of the full content of every table that existed before: every
//! column of every row, with the counter columns followed across their rename. A trigger or
//! any other write that touched a row the migration did not mean to touch changes a digest
//! and rolls the migration back. Digests stream: no row is kept in memory.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::Connection;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::board::reference::RENAMED;
use crate::board::rows;
use crate::board::schema::{Counter, Snapshot, State};
use crate::error::{Error, Result};
use crate::migrate::plan::{Action, Plan};
use crate::py::value::Value;

/// What is compared across the migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Figures {
    pub row_counts: BTreeMap<String, i64>,
    pub tasks: i64,
    pub tasks_digest: String,
    /// Per table that existed before the migration: a digest of every row's content.
    pub content: BTreeMap<String, String>,
}

/// What to read of one table to digest its content: the same values before and after,
/// under the names each side has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projection {
    pub table: String,
    pub before: Vec<String>,
    pub after: Vec<String>,
}

fn q(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// The projections of every table of `snap` (the schema before), given the plan that will
/// run: a legacy counter column that the plan renames or copies is read under its new
/// name afterwards (a NULL counter compared as the default the copy writes); a legacy
/// column the plan drops without moving its values (`--drop-legacy` on a partial board,
/// kept in the backup) is not compared; every other column is compared as it is.
pub fn projections(snap: &Snapshot, plan: &Plan) -> Vec<Projection> {
    let step_on = |action: Action, target: &str| {
        plan.steps
            .iter()
            .any(|s| s.action == action && s.target == target)
    };
    snap.tables
        .iter()
        .map(|(table, cols)| {
            let mut p = Projection {
                table: table.clone(),
                before: Vec::new(),
                after: Vec::new(),
            };
            for c in cols {
                let moved = (table == "tasks")
                    .then(|| RENAMED.iter().find(|(_, old)| *old == c.name))
                    .flatten()
                    .filter(|(new, _)| {
                        let target = format!("tasks.{new}");
                        step_on(Action::RenameColumn, &target)
                            || step_on(Action::CopyValues, &target)
                    });
                let dropped = step_on(Action::DropColumn, &format!("{table}.{}", c.name));
                match moved {
                    Some((new, old)) => {
                        // Counters are NOT NULL in the current schema; errors are nullable.
                        let wrap = |col: &str| {
                            if *new == "consecutive_failures" {
                                format!("COALESCE({}, 0)", q(col))
                            } else {
                                q(col)
                            }
                        };
                        p.before.push(wrap(old));
                        p.after.push(wrap(new));
                    }
                    None if dropped => {}
                    None => {
                        p.before.push(q(&c.name));
                        p.after.push(q(&c.name));
                    }
                }
            }
            p
        })
        .collect()
}

/// Whether `table` is a WITHOUT ROWID table (its scan order is its primary key's).
fn without_rowid(conn: &Connection, table: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT coalesce(max(wr), 0) FROM pragma_table_list WHERE schema = 'main' AND name = ?1",
        [table],
        |r| r.get::<_, i64>(0),
    )
    .map(|wr| wr != 0)
}

/// A digest of every row of `table`, reading `exprs`, in row order.
fn digest_table(conn: &Connection, table: &str, exprs: &[String]) -> rusqlite::Result<String> {
    let cols = if exprs.is_empty() {
        "NULL".to_string()
    } else {
        exprs.join(", ")
    };
    let order = if without_rowid(conn, table)? {
        ""
    } else {
        " ORDER BY _rowid_"
    };
    let mut stmt = conn.prepare(&format!("SELECT {cols} FROM {}{order}", q(table)))?;
    let n = stmt.column_count();
    let mut rs = stmt.query([])?;
    let mut h = Sha256::new();
    while let Some(r) = rs.next()? {
        for i in 0..n {
            feed(&mut h, &Value::from_ref(r.get_ref(i)?));
        }
    }
    Ok(hex16(h))
}

fn hex16(h: Sha256) -> String {
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The verification line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub row_counts: BTreeMap<String, i64>,
    pub tasks_checked: i64,
    pub tasks_digest: String,
    /// Tables whose every row was compared, column by column, before and after.
    pub tables_compared: usize,
    pub integrity: &'static str,
    pub schema_current: bool,
}

/// `PRAGMA integrity_check`; refuse to go on unless it says ok.
pub fn integrity(conn: &Connection, path: &Path) -> Result<()> {
    let mut stmt = conn
        .prepare("PRAGMA integrity_check")
        .map_err(|e| Error::sqlite(path, e))?;
    let lines: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| Error::sqlite(path, e))?;
    if lines.len() == 1 && lines[0] == "ok" {
        Ok(())
    } else {
        Err(Error::Integrity {
            path: path.to_path_buf(),
            detail: lines.into_iter().take(5).collect::<Vec<_>>().join("; "),
        })
    }
}

fn feed(h: &mut Sha256, v: &Value) {
    match v {
        Value::Null => h.update([0u8]),
        Value::Int(i) => {
            h.update([1u8]);
            h.update(i.to_le_bytes());
        }
        Value::Real(f) => {
            h.update([2u8]);
            h.update(f.to_le_bytes());
        }
        Value::Text(s) => {
            h.update([3u8]);
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        }
        Value::Blob(b) => {
            h.update([4u8]);
            h.update((b.len() as u64).to_le_bytes());
            h.update(b);
        }
    }
}

/// Row counts of every table, the digest of every task's (id, counter, error), and the
/// content digest of each projected table (`after` selects which side's names to read).
pub fn figures(
    conn: &Connection,
    snap: &Snapshot,
    projections: &[Projection],
    after: bool,
) -> rusqlite::Result<Figures> {
    let mut row_counts = BTreeMap::new();
    for t in snap.tables.keys() {
        let n: i64 = conn.query_row(
            &format!("SELECT count(*) FROM \"{}\"", t.replace('"', "\"\"")),
            [],
            |r| r.get(0),
        )?;
        row_counts.insert(t.clone(), n);
    }
    let (counter, error) = rows::counter_exprs(snap);
    // A NULL counter (possible only on hand-made legacy boards) becomes 0 when copied into
    // the NOT NULL column; every reader treats the two alike, so they compare equal.
    let mut stmt = conn.prepare(&format!(
        "SELECT id, COALESCE({counter}, 0), {error} FROM tasks ORDER BY rowid"
    ))?;
    let mut rs = stmt.query([])?;
    let mut h = Sha256::new();
    let mut tasks = 0;
    while let Some(r) = rs.next()? {
        for i in 0..3 {
            feed(&mut h, &Value::from_ref(r.get_ref(i)?));
        }
        tasks += 1;
    }
    let mut content = BTreeMap::new();
    for p in projections {
        let exprs = if after { &p.after } else { &p.before };
        content.insert(p.table.clone(), digest_table(conn, &p.table, exprs)?);
    }
    Ok(Figures {
        row_counts,
        tasks,
        tasks_digest: hex16(h),
        content,
    })
}

/// Before must equal after, for every table that existed before and every task, and the
/// schema must now be current (legacy columns may stay unless `--drop-legacy`).
pub fn compare(
    before: &Figures,
    after: &Figures,
    state: &State,
    keeps_legacy: bool,
) -> Result<Verification> {
    let fail = |detail: String| Err(Error::VerifyFailed { detail });
    for (table, n) in &before.row_counts {
        match after.row_counts.get(table) {
            Some(m) if m == n => {}
            Some(m) => return fail(format!("table {table} had {n} rows, now {m}")),
            None => return fail(format!("table {table} is gone")),
        }
    }
    if before.tasks != after.tasks || before.tasks_digest != after.tasks_digest {
        return fail(format!(
            "task values changed: {} tasks digest {} before, {} tasks digest {} after",
            before.tasks, before.tasks_digest, after.tasks, after.tasks_digest
        ));
    }
    for (table, digest) in &before.content {
        if after.content.get(table) != Some(digest) {
            return fail(format!(
                "the content of table {table} changed (a trigger, or a write the migration did not plan)"
            ));
        }
    }
    let counter_ok =
        state.counter == Counter::Current || (keeps_legacy && state.counter == Counter::Partial);
    let current = counter_ok
        && state.missing_columns.is_empty()
        && state.missing_tables.is_empty()
        && state.missing_indexes.is_empty();
    if !current {
        return fail(format!(
            "schema is still {} after applying the plan: {state:?}",
            state.label()
        ));
    }
    Ok(Verification {
        row_counts: after.row_counts.clone(),
        tasks_checked: after.tasks,
        tasks_digest: after.tasks_digest.clone(),
        tables_compared: after.content.len(),
        integrity: "ok",
        schema_current: true,
    })
}
