//! The one row reader every command uses.
//!
//! It reads a task's failure counter and error text under whichever names the board has, so
//! read-only commands see an unmigrated board exactly as if it were migrated: the current
//! name when it exists (when both exist, the current one wins, as in Hermes' own task
//! reader and in what `migrate` keeps: a legacy value left behind by add-and-copy is stale
//! once the kernel has written the current column), the legacy name when only it exists,
//! and the migration's defaults (0, NULL) when neither does. Columns a board lacks read as
//! NULL, as they do for the reference.
//!
//! Event kinds renamed by Hermes' own migration (`ready`, `priority`, `spawn_auto_blocked`)
//! are read under their current names for the same reason.

use super::schema::Snapshot;
use crate::rules::TaskRow;
use crate::value::Value;

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn col_or_null(snap: &Snapshot, table: &str, col: &str) -> String {
    if snap.has_column(table, col) {
        quote(col)
    } else {
        "NULL".into()
    }
}

/// The SQL expressions for (counter, error) on this board's `tasks` table.
pub fn counter_exprs(snap: &Snapshot) -> (String, String) {
    let pick = |new: &str, old: &str, absent: &str| match (
        snap.has_column("tasks", new),
        snap.has_column("tasks", old),
    ) {
        (true, _) => quote(new),
        (false, true) => quote(old),
        (false, false) => absent.to_string(),
    };
    (
        pick("consecutive_failures", "spawn_failures", "0"),
        pick("last_failure_error", "last_spawn_error", "NULL"),
    )
}

/// `SELECT` of the columns in [`TaskRow`] order, from `tasks`, with no `WHERE`.
pub fn task_select(snap: &Snapshot) -> String {
    let (counter, error) = counter_exprs(snap);
    let c = |name| col_or_null(snap, "tasks", name);
    format!(
        "SELECT {}, {}, {}, {}, {}, {}, {counter}, {error} FROM tasks",
        c("id"),
        c("title"),
        c("status"),
        c("assignee"),
        c("claim_lock"),
        c("created_at"),
    )
}

/// A [`TaskRow`] from a row of [`task_select`].
pub fn task_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TaskRow> {
    let v = |i| r.get_ref(i).map(Value::from_ref);
    Ok(TaskRow {
        id: v(0)?,
        title: v(1)?,
        status: v(2)?,
        assignee: v(3)?,
        claim_lock: v(4)?,
        created_at: v(5)?,
        consecutive_failures: v(6)?,
        last_failure_error: v(7)?,
    })
}

fn in_list(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("'{}'", v.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Events as `(task_id, kind, payload, created_at)`, the payload only for `payload_kinds`
/// (the only ones any rule reads), in `order`. `None` when the board has no events table.
pub fn events_sql(
    snap: &Snapshot,
    payload_kinds: &[&str],
    where_task: bool,
    order_by_time: bool,
) -> Option<String> {
    if !snap.has_table("task_events") {
        return None;
    }
    let c = |name| col_or_null(snap, "task_events", name);
    let kind = format!(
        "CASE {k} WHEN 'ready' THEN 'promoted' WHEN 'priority' THEN 'reprioritized' \
         WHEN 'spawn_auto_blocked' THEN 'gave_up' ELSE {k} END",
        k = c("kind")
    );
    let payload = if payload_kinds.is_empty() {
        "NULL".to_string()
    } else {
        format!(
            "CASE WHEN {kind} IN ({}) THEN {} END",
            in_list(payload_kinds),
            c("payload")
        )
    };
    let id = if snap.has_column("task_events", "id") {
        "id"
    } else {
        "rowid"
    };
    let filter = if where_task {
        " WHERE task_id = ?1"
    } else {
        ""
    };
    let order = if order_by_time {
        format!("{}, {id}", c("created_at"))
    } else {
        id.to_string()
    };
    Some(format!(
        "SELECT {}, {kind}, {payload}, {} FROM task_events{filter} ORDER BY {order}",
        c("task_id"),
        c("created_at")
    ))
}

/// Runs as `(task_id, outcome, error)`, the error only for `error_outcomes`, in id order.
pub fn runs_sql(snap: &Snapshot, error_outcomes: &[&str], where_task: bool) -> Option<String> {
    if !snap.has_table("task_runs") {
        return None;
    }
    let c = |name| col_or_null(snap, "task_runs", name);
    let error = if error_outcomes.is_empty() {
        "NULL".to_string()
    } else {
        format!(
            "CASE WHEN {} IN ({}) THEN {} END",
            c("outcome"),
            in_list(error_outcomes),
            c("error")
        )
    };
    let id = if snap.has_column("task_runs", "id") {
        "id"
    } else {
        "rowid"
    };
    let filter = if where_task {
        " WHERE task_id = ?1"
    } else {
        ""
    };
    Some(format!(
        "SELECT {}, {}, {error} FROM task_runs{filter} ORDER BY {id}",
        c("task_id"),
        c("outcome")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::schema::Column;

    fn snap(cols: &[&str]) -> Snapshot {
        let mut s = Snapshot::default();
        s.tables.insert(
            "tasks".into(),
            cols.iter()
                .map(|n| Column {
                    name: (*n).into(),
                    decl_type: String::new(),
                    notnull: false,
                    dflt_value: None,
                    pk: 0,
                })
                .collect(),
        );
        s
    }

    #[test]
    fn counter_is_read_under_either_name() {
        assert_eq!(
            counter_exprs(&snap(&["consecutive_failures", "last_failure_error"])).0,
            "\"consecutive_failures\""
        );
        assert_eq!(
            counter_exprs(&snap(&["spawn_failures", "last_spawn_error"])).1,
            "\"last_spawn_error\""
        );
        assert_eq!(
            counter_exprs(&snap(&["spawn_failures", "consecutive_failures"])).0,
            "\"consecutive_failures\""
        );
        assert_eq!(counter_exprs(&snap(&["id"])), ("0".into(), "NULL".into()));
    }

    /// An in-memory board from `sql`, and its snapshot as every command reads it.
    fn board(sql: &str) -> (rusqlite::Connection, Snapshot) {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(sql).unwrap();
        let snap = Snapshot::read(&conn).unwrap();
        (conn, snap)
    }

    fn read_tasks(conn: &rusqlite::Connection, snap: &Snapshot) -> Vec<TaskRow> {
        let sql = format!("{} ORDER BY rowid", task_select(snap));
        let mut stmt = conn.prepare(&sql).unwrap();
        stmt.query_map([], task_from_row)
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn missing_columns_read_as_null() {
        // No assignee, claim_lock or created_at; the counter under its legacy name only.
        let (conn, snap) = board(
            "CREATE TABLE tasks (id TEXT PRIMARY KEY, title TEXT, status TEXT,
                                 spawn_failures INTEGER, last_spawn_error TEXT);
             INSERT INTO tasks VALUES ('t_1', 'first', 'ready', 4, 'boom');",
        );
        let rows = read_tasks(&conn, &snap);
        assert_eq!(rows.len(), 1);
        let t = &rows[0];
        assert_eq!(
            (&t.id, &t.title, &t.status),
            (&text("t_1"), &text("first"), &text("ready"))
        );
        assert_eq!(
            (&t.assignee, &t.claim_lock, &t.created_at),
            (&Value::Null, &Value::Null, &Value::Null)
        );
        assert_eq!(t.consecutive_failures, Value::Int(4));
        assert_eq!(t.last_failure_error, text("boom"));
    }

    #[test]
    fn present_columns_read_their_values_and_absent_counters_their_defaults() {
        let (conn, snap) = board(
            "CREATE TABLE tasks (claim_lock TEXT, status TEXT, id TEXT, assignee TEXT,
                                 created_at INTEGER, title TEXT);
             INSERT INTO tasks VALUES ('lock', 'running', 't_2', 'coder', 1796000000, NULL);",
        );
        let t = &read_tasks(&conn, &snap)[0];
        assert_eq!(t.id, text("t_2"));
        assert_eq!(t.title, Value::Null);
        assert_eq!(t.status, text("running"));
        assert_eq!(t.assignee, text("coder"));
        assert_eq!(t.claim_lock, text("lock"));
        assert_eq!(t.created_at, Value::Int(1_796_000_000));
        // Neither counter name: the migration's defaults.
        assert_eq!(t.consecutive_failures, Value::Int(0));
        assert_eq!(t.last_failure_error, Value::Null);
    }

    #[test]
    fn events_and_runs_without_optional_columns_read_as_null() {
        let (conn, snap) = board(
            "CREATE TABLE tasks (id TEXT, status TEXT);
             CREATE TABLE task_events (task_id TEXT, kind TEXT);
             CREATE TABLE task_runs (task_id TEXT, outcome TEXT);
             INSERT INTO task_events VALUES ('t_1', 'ready'), ('t_1', 'blocked');
             INSERT INTO task_runs VALUES ('t_1', 'crashed');",
        );
        let events = events_sql(&snap, &["blocked"], false, false).unwrap();
        let got: Vec<(Value, Value, Value, Value)> = conn
            .prepare(&events)
            .unwrap()
            .query_map([], |r| {
                let v = |i| r.get_ref(i).map(Value::from_ref);
                Ok((v(0)?, v(1)?, v(2)?, v(3)?))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        // Ordered by rowid; `ready` read under its current name; no payload, no time.
        assert_eq!(
            got,
            [
                (text("t_1"), text("promoted"), Value::Null, Value::Null),
                (text("t_1"), text("blocked"), Value::Null, Value::Null),
            ]
        );
        let runs = runs_sql(&snap, &["crashed"], true).unwrap();
        let run: (Value, Value, Value) = conn
            .query_row(&runs, ["t_1"], |r| {
                let v = |i| r.get_ref(i).map(Value::from_ref);
                Ok((v(0)?, v(1)?, v(2)?))
            })
            .unwrap();
        assert_eq!(run, (text("t_1"), text("crashed"), Value::Null));
    }
}
