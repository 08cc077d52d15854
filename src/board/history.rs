//! A task's whole history, one task at a time: the rows the audit replays.
//!
//! The diagnose rules fold each table separately; the audit cannot, because the counter
//! depends on the order of runs *and* events together. So one statement reads the task
//! row, its runs and its events as a single stream sorted by task id (`UNION ALL` …
//! `ORDER BY task id, source, row id`): every task's rows arrive together, the task row
//! first, and only that one task's history is held at a time. Rows whose task does not
//! exist arrive as a history without a task row, which is how orphans are found.
//!
//! Columns a board lacks read as NULL; the counter and error are read under either name
//! and renamed event kinds under their current names, as in `board::rows`. Payloads,
//! errors and metadata are fetched only where the audit reads them.

use super::rows::{Scope, counter_exprs, in_list, quote};
use super::schema::Snapshot;
use crate::error::Result;
use crate::py::value::Value;

/// The task row the audit reads.
#[derive(Debug, Clone, Default)]
pub struct TaskHead {
    pub id: Value,
    pub title: Value,
    pub status: Value,
    pub assignee: Value,
    pub consecutive_failures: Value,
    pub last_failure_error: Value,
    pub max_retries: Value,
    pub current_run_id: Value,
    /// The row's rowid: what a write addresses, since ids need not be unique.
    pub rowid: Option<i64>,
}

/// A `task_runs` row.
#[derive(Debug, Clone, Default)]
pub struct HistRun {
    pub id: Value,
    pub status: Value,
    pub outcome: Value,
    pub profile: Value,
    pub started_at: Value,
    pub ended_at: Value,
    /// The error, for failing, reclaimed and stale runs only.
    pub error: Value,
    /// The metadata, for crashed runs (the protocol-violation marker) and spawn failures
    /// (the `failures` the kernel recorded).
    pub metadata: Value,
}

/// A `task_events` row.
#[derive(Debug, Clone, Default)]
pub struct HistEvent {
    pub id: Value,
    pub run_id: Value,
    pub kind: Value,
    /// The payload, for the kinds in [`PAYLOAD_KINDS`] only.
    pub payload: Value,
    pub created_at: Value,
}

/// Event kinds whose payload the audit reads.
pub const PAYLOAD_KINDS: &[&str] = &[
    "created",
    "assigned",
    "reclaimed",
    "gave_up",
    "spawn_failed",
];
/// Run outcomes whose error the audit reads.
pub const ERROR_OUTCOMES: &[&str] = &[
    "spawn_failed",
    "gave_up",
    "timed_out",
    "crashed",
    "reclaimed",
    "stale",
    "rate_limited",
];

/// One task's rows: its task row (`None` for rows whose task does not exist), then its runs
/// and its events, each in id order.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub task_id: Value,
    pub task: Option<TaskHead>,
    pub runs: Vec<HistRun>,
    pub events: Vec<HistEvent>,
}

/// The statement: tasks (source 0), runs (1), events (2), each padded to nine values.
pub fn history_sql(snap: &Snapshot, scope: Scope<'_>) -> String {
    let col = |table: &str, name: &str| {
        if snap.has_column(table, name) {
            quote(name)
        } else {
            "NULL".into()
        }
    };
    let id = |table: &str| {
        if snap.has_column(table, "id") {
            "id"
        } else {
            "rowid"
        }
    };
    let filter = |key: &str| match scope {
        Scope::Board => String::new(),
        Scope::Task(_) => format!(" WHERE {key} = ?1"),
    };
    let (counter, error) = counter_exprs(snap);
    let t = |name| col("tasks", name);
    let mut parts = vec![format!(
        "SELECT {} AS k, 0 AS src, 0 AS seq, {}, {}, {}, {}, {counter}, {error}, {}, {}, rowid \
         FROM tasks{}",
        t("id"),
        t("id"),
        t("title"),
        t("status"),
        t("assignee"),
        t("max_retries"),
        t("current_run_id"),
        filter(&t("id")),
    )];
    if snap.has_table("task_runs") {
        let r = |name| col("task_runs", name);
        let outcome = r("outcome");
        parts.push(format!(
            "SELECT {task}, 1, {id}, {id}, {}, {outcome}, {}, {}, {}, \
             CASE WHEN {outcome} IN ({}) THEN {} END, \
             CASE WHEN {outcome} IN ('crashed', 'spawn_failed', 'gave_up') THEN {} END, NULL \
             FROM task_runs{}",
            r("status"),
            r("profile"),
            r("started_at"),
            r("ended_at"),
            in_list(ERROR_OUTCOMES),
            r("error"),
            r("metadata"),
            filter(&r("task_id")),
            task = r("task_id"),
            id = id("task_runs"),
        ));
    }
    if snap.has_table("task_events") {
        let e = |name| col("task_events", name);
        let kind = format!(
            "CASE {k} WHEN 'ready' THEN 'promoted' WHEN 'priority' THEN 'reprioritized' \
             WHEN 'spawn_auto_blocked' THEN 'gave_up' ELSE {k} END",
            k = e("kind")
        );
        parts.push(format!(
            "SELECT {task}, 2, {id}, {id}, {}, {kind}, CASE WHEN {kind} IN ({}) THEN {} END, \
             {}, NULL, NULL, NULL, NULL FROM task_events{}",
            e("run_id"),
            in_list(PAYLOAD_KINDS),
            e("payload"),
            e("created_at"),
            filter(&e("task_id")),
            task = e("task_id"),
            id = id("task_events"),
        ));
    }
    format!("{} ORDER BY 1, 2, 3", parts.join(" UNION ALL "))
}

fn cell(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Value> {
    r.get_ref(i).map(Value::from_ref)
}

/// Read the stream of `history_sql` into one [`History`] per task id, in task id order.
pub fn read_histories(
    stmt: &mut rusqlite::Statement<'_>,
    scope: Scope<'_>,
    mut each: impl FnMut(History) -> Result<()>,
    err: impl Fn(rusqlite::Error) -> crate::error::Error,
) -> Result<()> {
    let mut rows = match scope {
        Scope::Board => stmt.query([]),
        Scope::Task(id) => stmt.query([id]),
    }
    .map_err(&err)?;
    let mut cur: Option<History> = None;
    while let Some(r) = rows.next().map_err(&err)? {
        let key = cell(r, 0).map_err(&err)?;
        let src: i64 = r.get(1).map_err(&err)?;
        let v = |i| cell(r, i).map_err(&err);
        if cur.as_ref().is_some_and(|h| h.task_id != key) {
            each(cur.take().expect("checked"))?;
        }
        let h = cur.get_or_insert_with(|| History {
            task_id: key,
            ..History::default()
        });
        match src {
            0 => {
                h.task = Some(TaskHead {
                    id: v(3)?,
                    title: v(4)?,
                    status: v(5)?,
                    assignee: v(6)?,
                    consecutive_failures: v(7)?,
                    last_failure_error: v(8)?,
                    max_retries: v(9)?,
                    current_run_id: v(10)?,
                    rowid: r.get(11).map_err(&err)?,
                })
            }
            1 => h.runs.push(HistRun {
                id: v(3)?,
                status: v(4)?,
                outcome: v(5)?,
                profile: v(6)?,
                started_at: v(7)?,
                ended_at: v(8)?,
                error: v(9)?,
                metadata: v(10)?,
            }),
            _ => h.events.push(HistEvent {
                id: v(3)?,
                run_id: v(4)?,
                kind: v(5)?,
                payload: v(6)?,
                created_at: v(7)?,
            }),
        }
    }
    if let Some(h) = cur {
        each(h)?;
    }
    Ok(())
}
