//! Writing the model's rows as a board: the current schema from the reference, or the
//! same schema under the legacy counter names.
//!
//! This is the one place kanban-doctor creates a database file, and only a new one: an
//! existing file is never overwritten unless the caller says so.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, params};
use serde_json::{Map, Value as Json};

use super::kernel::Kernel;
use crate::board::reference::{RENAMED, reference};
use crate::error::{Error, Result};

/// Which column names the board uses for the counter and its error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    Current,
    Legacy,
}

fn payload_text(p: &Option<Map<String, Json>>) -> Option<String> {
    // The kernel stores an absent or empty payload as NULL, else Python's json.dumps
    // (", " and ": " separators, keys in insertion order).
    p.as_ref()
        .filter(|m| !m.is_empty())
        .map(crate::py::json::to_string_compact)
}

fn schema_sql(names: Names) -> Vec<String> {
    let r = reference();
    let mut out: Vec<String> = r
        .tables
        .iter()
        .map(|t| {
            let mut sql = t.sql.clone();
            if names == Names::Legacy && t.name == "tasks" {
                for (new, old) in RENAMED {
                    sql = sql.replace(new, old);
                }
            }
            sql
        })
        .collect();
    out.extend(r.indexes.iter().map(|i| i.sql.clone()));
    out
}

/// Write `kernel`'s rows to a new board at `path`.
pub fn write_board(path: &Path, kernel: &Kernel, names: Names, overwrite: bool) -> Result<()> {
    let sql_err = |e| Error::sqlite(path, e);
    if path.exists() {
        if !overwrite {
            return Err(Error::Usage {
                message: format!("{} exists; pass --force to replace it", path.display()),
            });
        }
        std::fs::remove_file(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
    }
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql_err)?;
    let tx = conn.transaction().map_err(sql_err)?;
    for sql in schema_sql(names) {
        tx.execute_batch(&sql).map_err(sql_err)?;
    }
    let (counter, error) = match names {
        Names::Current => (RENAMED[0].0, RENAMED[1].0),
        Names::Legacy => (RENAMED[0].1, RENAMED[1].1),
    };
    {
        let mut ins = tx
            .prepare(&format!(
                "INSERT INTO tasks (id, title, assignee, status, created_at, started_at, completed_at, \
                 workspace_kind, claim_lock, claim_expires, result, {counter}, worker_pid, {error}, \
                 max_runtime_seconds, current_run_id, max_retries) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'scratch', ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
            ))
            .map_err(sql_err)?;
        for t in &kernel.tasks {
            ins.execute(params![
                t.id,
                t.title,
                t.assignee,
                t.status,
                t.created_at,
                t.started_at,
                t.completed_at,
                t.claim_lock,
                t.claim_expires,
                t.result,
                t.consecutive_failures,
                t.worker_pid,
                t.last_failure_error,
                t.max_runtime_seconds,
                t.current_run_id,
                t.max_retries
            ])
            .map_err(sql_err)?;
        }
        let mut ins = tx
            .prepare(
                "INSERT INTO task_runs (id, task_id, profile, status, claim_lock, claim_expires, worker_pid, \
                 max_runtime_seconds, started_at, ended_at, outcome, summary, metadata, error) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )
            .map_err(sql_err)?;
        for r in &kernel.runs {
            ins.execute(params![
                r.id,
                r.task_id,
                r.profile,
                r.status,
                r.claim_lock,
                r.claim_expires,
                r.worker_pid,
                r.max_runtime_seconds,
                r.started_at,
                r.ended_at,
                r.outcome,
                r.summary,
                payload_text(&r.metadata),
                r.error
            ])
            .map_err(sql_err)?;
        }
        let mut ins = tx
            .prepare("INSERT INTO task_events (id, task_id, run_id, kind, payload, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .map_err(sql_err)?;
        for e in &kernel.events {
            ins.execute(params![
                e.id,
                e.task_id,
                e.run_id,
                e.kind,
                payload_text(&e.payload),
                e.created_at
            ])
            .map_err(sql_err)?;
        }
    }
    tx.commit().map_err(sql_err)?;
    conn.execute_batch("VACUUM").map_err(sql_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn payloads_are_written_as_python_dumps_them() {
        let m = |v: Json| match v {
            Json::Object(m) => Some(m),
            _ => None,
        };
        assert_eq!(
            payload_text(&m(json!({"a": 1, "b": [1, "é"], "c": null, "d": 0.5}))).unwrap(),
            r#"{"a": 1, "b": [1, "é"], "c": null, "d": 0.5}"#
        );
        assert_eq!(payload_text(&m(json!({}))), None);
        assert_eq!(payload_text(&None), None);
    }
}
