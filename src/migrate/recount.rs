//! `migrate --recount` (and `--trip`): write the counter the history says.
//!
//! Inside the migration's write transaction, after its schema steps: every task's history
//! is replayed through the 0.19.0 kernel's counter rules (`rules::audit::replay`), and a
//! task whose stored `consecutive_failures` differs gets the recomputed value, plus the
//! newest counted failure's error when its `last_failure_error` is empty. With `--trip`, a
//! `ready` or `todo` task whose recount reaches its breaker limit is blocked as the breaker
//! would have blocked it: status `blocked` and a `gave_up` event with the kernel's payload
//! keys and `limit_source: "recount"`. A `running` task is left to its worker (reclaim it
//! first) and listed as skipped.
//!
//! The plan is computed before anything is written, so `--dry-run` shows exactly what a run
//! would write. Verification before COMMIT: every planned row holds exactly its planned
//! values; every other task row, every pre-existing event and every other table is
//! unchanged, column by column; and the only new rows are the planned events.

use std::collections::HashMap;

use rusqlite::Connection;
use serde::Serialize;
use serde_json::{Map, Value as Json, json};
use sha2::{Digest, Sha256};

use super::verify::{feed, hex16 as hex};

use crate::board::history::{History, history_sql, read_histories};
use crate::board::rows::Scope;
use crate::board::schema::Snapshot;
use crate::error::{Error, Result};
use crate::py::value::Value;
use crate::rules::audit::{self, replay::int};

/// A task's counter, error and status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Values {
    pub consecutive_failures: i64,
    pub last_failure_error: Option<String>,
    pub status: Option<String>,
}

/// One task the recount changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    #[serde(serialize_with = "ser_value")]
    pub task_id: Value,
    #[serde(serialize_with = "ser_value")]
    pub title: Value,
    pub before: Values,
    pub after: Values,
    /// The breaker is tripped (`--trip`): the task is blocked and gets a `gave_up` event.
    pub tripped: bool,
    /// The `gave_up` event's payload, when tripped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gave_up: Option<Map<String, Json>>,
    #[serde(skip)]
    rowid: i64,
}

/// A task `--trip` would block but leaves alone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skipped {
    #[serde(serialize_with = "ser_value")]
    pub task_id: Value,
    pub reason: &'static str,
}

/// What the recount does (or, with `--dry-run`, would do).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Recount {
    pub trip: bool,
    pub tasks_replayed: u64,
    pub changes: Vec<Change>,
    pub skipped: Vec<Skipped>,
    /// The verification, once applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<RecountVerification>,
}

/// What was checked before COMMIT.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecountVerification {
    pub tasks_updated: usize,
    pub events_inserted: usize,
    pub tasks_digest: String,
    pub events_digest: String,
    pub tables_compared: usize,
}

fn ser_value<S: serde::Serializer>(v: &Value, s: S) -> std::result::Result<S::Ok, S::Error> {
    v.to_json().serialize(s)
}

/// What the recount needs to know besides the board.
#[derive(Debug, Clone)]
pub struct Options {
    pub trip: bool,
    /// `kanban.failure_limit`, when set.
    pub configured_limit: Option<i64>,
    /// The breaker limit when neither the task nor the config sets one.
    pub default_limit: i64,
    /// The time `--trip`'s events carry.
    pub now: i64,
}

fn empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Text(t) => crate::py::strip(t).is_empty(),
        _ => false,
    }
}

/// Replay every task and collect the changes; reads only.
pub fn plan(
    conn: &Connection,
    snap: &Snapshot,
    opts: &Options,
    path: &std::path::Path,
) -> Result<Recount> {
    let err = |e| Error::sqlite(path, e);
    let params = audit::Params {
        configured_limit: opts.configured_limit,
        default_limit: opts.default_limit,
        now: opts.now,
    };
    let mut out = Recount {
        trip: opts.trip,
        ..Recount::default()
    };
    let sql = history_sql(snap, Scope::Board);
    let mut stmt = conn.prepare(&sql).map_err(err)?;
    read_histories(
        &mut stmt,
        Scope::Board,
        |h: History| {
            let Some(task) = &h.task else {
                return Ok(());
            };
            let Some(rowid) = task.rowid else {
                return Ok(());
            };
            out.tasks_replayed += 1;
            let (limit, _) = audit::task_limit(task, &params);
            let replay = audit::replay(&h, limit, false);
            let before = Values {
                consecutive_failures: int(&task.consecutive_failures).unwrap_or(0),
                last_failure_error: task.last_failure_error.as_text().map(str::to_string),
                status: task.status.as_text().map(str::to_string),
            };
            let mut after = before.clone();
            after.consecutive_failures = replay.counter;
            if empty(&task.last_failure_error)
                && replay.counter > 0
                && let Some(e) = &replay.last_error
            {
                after.last_failure_error = Some(e.clone());
            }
            let status = before.status.as_deref().unwrap_or("");
            let reached = replay.counter >= limit;
            let mut tripped = false;
            let mut gave_up = None;
            if opts.trip && reached {
                match status {
                    "ready" | "todo" => {
                        tripped = true;
                        after.status = Some("blocked".into());
                        let trigger = replay.streak.last().map_or("timed_out", |r| r.outcome);
                        let mut p = Map::new();
                        p.insert("failures".into(), json!(replay.counter));
                        p.insert("effective_limit".into(), json!(limit));
                        p.insert("limit_source".into(), json!("recount"));
                        p.insert(
                            "error".into(),
                            json!(after.last_failure_error.clone().unwrap_or_default()),
                        );
                        p.insert("trigger_outcome".into(), json!(trigger));
                        gave_up = Some(p);
                    }
                    "running" => out.skipped.push(Skipped {
                        task_id: task.id.clone(),
                        reason: "running: a worker holds it; reclaim it, then recount again",
                    }),
                    _ => {}
                }
            }
            if after != before {
                out.changes.push(Change {
                    task_id: task.id.clone(),
                    title: task.title.clone(),
                    before,
                    after,
                    tripped,
                    gave_up,
                    rowid,
                });
            }
            Ok(())
        },
        err,
    )?;
    Ok(out)
}

fn columns(snap: &Snapshot, table: &str) -> Vec<String> {
    snap.tables
        .get(table)
        .map(|cols| cols.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default()
}

fn select_all(cols: &[String], table: &str, filter: &str) -> String {
    let list: Vec<String> = cols
        .iter()
        .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
        .collect();
    format!(
        "SELECT rowid, {} FROM \"{table}\"{filter} ORDER BY rowid",
        list.join(", ")
    )
}

/// A digest of `table` (rows up to `max_rowid`, when given), with `edit` applied to each
/// row first: the expected content when `edit` writes the planned values, the actual one
/// when it writes nothing.
fn digest(
    conn: &Connection,
    snap: &Snapshot,
    table: &str,
    max_rowid: Option<i64>,
    mut edit: impl FnMut(i64, &[String], &mut [Value]),
) -> rusqlite::Result<String> {
    let cols = columns(snap, table);
    let filter = max_rowid.map_or(String::new(), |m| format!(" WHERE rowid <= {m}"));
    let mut stmt = conn.prepare(&select_all(&cols, table, &filter))?;
    let mut rows = stmt.query([])?;
    let mut h = Sha256::new();
    let mut vals = vec![Value::Null; cols.len()];
    while let Some(r) = rows.next()? {
        let rowid: i64 = r.get(0)?;
        for (i, v) in vals.iter_mut().enumerate() {
            *v = Value::from_ref(r.get_ref(i + 1)?);
        }
        edit(rowid, &cols, &mut vals);
        h.update(rowid.to_le_bytes());
        for v in &vals {
            feed(&mut h, v);
        }
    }
    Ok(hex(h))
}

/// Write the planned changes and verify them, inside the caller's write transaction (with
/// the board's triggers off). On any mismatch the caller rolls everything back.
pub fn apply(
    conn: &Connection,
    snap: &Snapshot,
    recount: &mut Recount,
    now: i64,
    path: &std::path::Path,
) -> Result<()> {
    let err = |e| Error::sqlite(path, e);
    if recount.changes.is_empty() {
        return Ok(());
    }
    let planned: HashMap<i64, &Change> = recount.changes.iter().map(|c| (c.rowid, c)).collect();
    let write_planned = |rowid: i64, cols: &[String], vals: &mut [Value]| {
        let Some(c) = planned.get(&rowid) else {
            return;
        };
        for (name, v) in cols.iter().zip(vals.iter_mut()) {
            match name.as_str() {
                "consecutive_failures" => *v = Value::Int(c.after.consecutive_failures),
                "last_failure_error" => {
                    *v = c
                        .after
                        .last_failure_error
                        .clone()
                        .map_or(Value::Null, Value::Text)
                }
                "status" if c.tripped => *v = Value::Text("blocked".into()),
                _ => {}
            }
        }
    };
    // Expected content, computed before writing.
    let tasks_expected = digest(conn, snap, "tasks", None, write_planned).map_err(err)?;
    let has_events = snap.has_table("task_events");
    let max_event: Option<i64> = if has_events {
        conn.query_row("SELECT max(rowid) FROM task_events", [], |r| r.get(0))
            .map_err(err)?
    } else {
        None
    };
    let max_event = max_event.unwrap_or(0);
    let events_before = if has_events {
        digest(conn, snap, "task_events", Some(max_event), |_, _, _| {}).map_err(err)?
    } else {
        String::new()
    };
    let others: Vec<&String> = snap
        .tables
        .keys()
        .filter(|t| *t != "tasks" && *t != "task_events")
        .collect();
    let mut others_before = Vec::new();
    for t in &others {
        others_before.push(digest(conn, snap, t, None, |_, _, _| {}).map_err(err)?);
    }
    let changes_before = conn.total_changes();

    let mut events = 0usize;
    for c in &recount.changes {
        let n = conn
            .execute(
                "UPDATE tasks SET consecutive_failures = ?1, last_failure_error = ?2, \
                 status = CASE WHEN ?3 THEN 'blocked' ELSE status END WHERE rowid = ?4",
                rusqlite::params![
                    c.after.consecutive_failures,
                    c.after.last_failure_error,
                    c.tripped,
                    c.rowid
                ],
            )
            .map_err(err)?;
        if n != 1 {
            return Err(Error::VerifyFailed {
                detail: format!("task row {} was not updated exactly once", c.rowid),
            });
        }
        if let Some(p) = &c.gave_up {
            if !has_events {
                return Err(Error::VerifyFailed {
                    detail: "the board has no task_events table for the gave_up events".into(),
                });
            }
            conn.execute(
                "INSERT INTO task_events (task_id, run_id, kind, payload, created_at) \
                 VALUES (?1, NULL, 'gave_up', ?2, ?3)",
                rusqlite::params![
                    value_to_sql(&c.task_id),
                    crate::py::json::to_string_compact(&Json::Object(p.clone())),
                    now
                ],
            )
            .map_err(err)?;
            events += 1;
        }
    }

    // Verify: exactly the planned rows, with exactly the planned values.
    let fail = |detail: String| Err(Error::VerifyFailed { detail });
    let writes = conn.total_changes() - changes_before;
    if writes != (recount.changes.len() + events) as u64 {
        return fail(format!(
            "{writes} rows changed, {} planned (a trigger, or a write the recount did not plan)",
            recount.changes.len() + events
        ));
    }
    let tasks_after = digest(conn, snap, "tasks", None, |_, _, _| {}).map_err(err)?;
    if tasks_after != tasks_expected {
        return fail("the tasks table differs from the planned recount".into());
    }
    let events_after = if has_events {
        digest(conn, snap, "task_events", Some(max_event), |_, _, _| {}).map_err(err)?
    } else {
        String::new()
    };
    if events_after != events_before {
        return fail("existing task_events rows changed during the recount".into());
    }
    if has_events {
        let new: i64 = conn
            .query_row(
                &format!(
                    "SELECT count(*) FROM task_events WHERE rowid > {max_event} AND kind = 'gave_up'"
                ),
                [],
                |r| r.get(0),
            )
            .map_err(err)?;
        let total: i64 = conn
            .query_row(
                &format!("SELECT count(*) FROM task_events WHERE rowid > {max_event}"),
                [],
                |r| r.get(0),
            )
            .map_err(err)?;
        if new != total || total as usize != events {
            return fail(format!(
                "{total} new task_events rows, {events} planned gave_up events"
            ));
        }
    }
    for (t, before) in others.iter().zip(&others_before) {
        if &digest(conn, snap, t, None, |_, _, _| {}).map_err(err)? != before {
            return fail(format!("table {t} changed during the recount"));
        }
    }
    recount.verified = Some(RecountVerification {
        tasks_updated: recount.changes.len(),
        events_inserted: events,
        tasks_digest: tasks_after,
        events_digest: events_after,
        tables_compared: others.len() + 2,
    });
    Ok(())
}

/// A cell as a value to bind.
fn value_to_sql(v: &Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match v {
        Value::Null => V::Null,
        Value::Int(i) => V::Integer(*i),
        Value::Real(f) => V::Real(*f),
        Value::Text(s) => V::Text(s.clone()),
        Value::Blob(b) => V::Blob(b.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::reference::reference;

    /// An in-memory board with the reference schema and one task that timed out `n` times
    /// with a stored counter of 0, as a legacy kernel leaves it.
    fn board(n: i64) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        for t in &reference().tables {
            conn.execute_batch(&t.sql).unwrap();
        }
        conn.execute(
            "INSERT INTO tasks (id, title, status, assignee, created_at, consecutive_failures) \
             VALUES ('t_1', 'loop', 'ready', 'coder', 0, 0)",
            [],
        )
        .unwrap();
        for i in 1..=n {
            conn.execute(
                "INSERT INTO task_runs (id, task_id, profile, status, started_at, ended_at, \
                 outcome, error) VALUES (?1, 't_1', 'coder', 'timed_out', ?2, ?3, 'timed_out', \
                 'elapsed 120s > limit 90s')",
                rusqlite::params![i, i * 100, i * 100 + 50],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO task_events (task_id, run_id, kind, payload, created_at) \
                 VALUES ('t_1', ?1, 'timed_out', NULL, ?2)",
                rusqlite::params![i, i * 100 + 50],
            )
            .unwrap();
        }
        conn
    }

    fn opts(trip: bool) -> Options {
        Options {
            trip,
            configured_limit: None,
            default_limit: 5,
            now: 9_999,
        }
    }

    fn planned(conn: &Connection, trip: bool) -> Recount {
        let snap = Snapshot::read(conn).unwrap();
        plan(conn, &snap, &opts(trip), std::path::Path::new("mem.db")).unwrap()
    }

    #[test]
    fn the_plan_sets_the_counter_and_the_error_and_trips_at_the_limit() {
        let conn = board(6);
        let r = planned(&conn, true);
        assert_eq!(r.changes.len(), 1);
        let c = &r.changes[0];
        assert_eq!(c.after.consecutive_failures, 6);
        assert_eq!(
            c.after.last_failure_error.as_deref(),
            Some("elapsed 120s > limit 90s")
        );
        assert!(c.tripped);
        let keys: Vec<&str> = c
            .gave_up
            .as_ref()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "failures",
                "effective_limit",
                "limit_source",
                "error",
                "trigger_outcome"
            ]
        );
        assert!(
            !planned(&board(4), true).changes[0].tripped,
            "below the limit of 5"
        );
    }

    #[test]
    fn apply_writes_exactly_the_plan_and_a_second_recount_is_a_no_op() {
        let conn = board(6);
        let snap = Snapshot::read(&conn).unwrap();
        let mut r = planned(&conn, true);
        apply(&conn, &snap, &mut r, 9_999, std::path::Path::new("mem.db")).unwrap();
        let v = r.verified.unwrap();
        assert_eq!((v.tasks_updated, v.events_inserted), (1, 1));
        let (status, counter): (String, i64) = conn
            .query_row(
                "SELECT status, consecutive_failures FROM tasks WHERE id = 't_1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((status.as_str(), counter), ("blocked", 6));
        assert!(planned(&conn, true).changes.is_empty());
    }

    /// "A `running` task is left to its worker and listed as skipped": its counter is still
    /// recounted, but `--trip` does not block it under a live worker.
    #[test]
    fn trip_leaves_a_running_task_to_its_worker() {
        let conn = board(6);
        conn.execute("UPDATE tasks SET status = 'running'", [])
            .unwrap();
        let r = planned(&conn, true);
        assert_eq!(r.changes.len(), 1);
        assert!(!r.changes[0].tripped);
        assert_eq!(r.changes[0].after.consecutive_failures, 6);
        assert_eq!(r.skipped.len(), 1);
        assert!(r.skipped[0].reason.starts_with("running"));
    }

    /// A write the recount did not plan (here a trigger, which `migrate` switches off, but
    /// any other writer would do) fails the verification, so `migrate` rolls back.
    #[test]
    fn an_unplanned_write_fails_the_verification() {
        let conn = board(6);
        conn.execute_batch(
            "CREATE TRIGGER sneaky AFTER UPDATE ON tasks BEGIN \
             UPDATE task_runs SET summary = 'touched'; END;",
        )
        .unwrap();
        let snap = Snapshot::read(&conn).unwrap();
        let mut r = planned(&conn, false);
        let e = apply(&conn, &snap, &mut r, 9_999, std::path::Path::new("mem.db")).unwrap_err();
        assert!(matches!(e, Error::VerifyFailed { .. }), "{e:?}");
    }
}
