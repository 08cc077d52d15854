//! Verification figures taken before and after a migration, inside the same transaction.
//!
//! Row counts per table and a digest of every task's (id, counter, error), read through the
//! same row reader `diagnose` uses, so "no value lost" means exactly "every command sees the
//! same values". The digest streams: no row is kept in memory.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::Connection;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::board::rows;
use crate::board::schema::{Counter, Snapshot, State};
use crate::error::{Error, Result};
use crate::value::Value;

/// What is compared across the migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Figures {
    pub row_counts: BTreeMap<String, i64>,
    pub tasks: i64,
    pub tasks_digest: String,
}

/// The verification line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub row_counts: BTreeMap<String, i64>,
    pub tasks_checked: i64,
    pub tasks_digest: String,
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

/// Row counts of every table and the digest of every task's (id, counter, error).
pub fn figures(conn: &Connection, snap: &Snapshot) -> rusqlite::Result<Figures> {
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
    Ok(Figures {
        row_counts,
        tasks,
        tasks_digest: h
            .finalize()
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect(),
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
        integrity: "ok",
        schema_current: true,
    })
}
