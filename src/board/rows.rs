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

use super::Board;
use super::schema::Snapshot;
use crate::error::Result;
use crate::py::int::Int;
use crate::py::value::{RuleFailure, Value};

/// The task row as the rules see it: every column the rules read, NULL where the board
/// lacks the column. The counter and error are read under either name (see `board::rows`).
#[derive(Debug, Clone, Default)]
pub struct TaskRow {
    pub id: Value,
    pub title: Value,
    pub status: Value,
    pub assignee: Value,
    pub claim_lock: Value,
    pub created_at: Value,
    pub consecutive_failures: Value,
    pub last_failure_error: Value,
}

impl TaskRow {
    pub fn status_is(&self, s: &str) -> bool {
        self.status.as_text() == Some(s)
    }

    /// Done, archived and running tasks are exempt from the failure rules: nothing is left to
    /// retry, or a fresh attempt is in flight.
    pub fn failure_exempt(&self) -> bool {
        ["done", "archived", "running"]
            .iter()
            .any(|s| self.status_is(s))
    }
}

/// How a payload cell reaches the rules: the fleet query hands over the raw text, the
/// single-task path pre-parses it. The two differ on non-object JSON, as in the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadMode {
    Fleet,
    SingleTask,
}

/// One `task_events` row.
#[derive(Debug)]
pub struct EventRow<'a> {
    pub kind: &'a Value,
    pub created_at: &'a Value,
    pub payload: &'a Value,
    pub mode: PayloadMode,
}

impl EventRow<'_> {
    pub fn kind_is(&self, k: &str) -> bool {
        self.kind.as_text() == Some(k)
    }

    /// `int(created_at or 0)`, exact at any size.
    pub fn ts(&self) -> Result<Int, RuleFailure> {
        self.created_at.int_or_zero()
    }
}

/// One `task_runs` row.
#[derive(Debug)]
pub struct RunRow<'a> {
    pub outcome: &'a Value,
    pub error: &'a Value,
}

impl RunRow<'_> {
    pub fn outcome_str(&self) -> Option<&str> {
        self.outcome.as_text()
    }
}

/// An identifier, double-quoted for SQL.
pub(super) fn quote(ident: &str) -> String {
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
fn task_select(snap: &Snapshot) -> String {
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
fn task_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TaskRow> {
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

/// String literals for an SQL `IN (…)` list.
pub(super) fn in_list(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("'{}'", v.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which rows a stream reads.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// Every row, in id order (the fleet report).
    Board,
    /// One task's rows; events in time order, then id (the single-task report).
    Task(&'a str),
}

impl Scope<'_> {
    /// How the reference hands this scope's payloads to its rules.
    fn payload_mode(self) -> PayloadMode {
        match self {
            Scope::Board => PayloadMode::Fleet,
            Scope::Task(_) => PayloadMode::SingleTask,
        }
    }
}

/// A read transaction over a board: every stream reads the same snapshot, so a board a
/// dispatcher is writing is seen as one consistent state. Dropped without
/// [`Reader::finish`], the transaction rolls back (it wrote nothing either way).
pub struct Reader<'b> {
    board: &'b Board,
    snap: Snapshot,
    tx: rusqlite::Transaction<'b>,
}

impl Board {
    /// Begin a read transaction and read the schema inside it.
    pub fn reader(&self) -> Result<Reader<'_>> {
        let err = self.sql_err();
        let tx = self.conn.unchecked_transaction().map_err(&err)?;
        let snap = Snapshot::read(&tx).map_err(&err)?;
        Ok(Reader {
            board: self,
            snap,
            tx,
        })
    }
}

fn cell(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Value> {
    r.get_ref(i).map(Value::from_ref)
}

impl Reader<'_> {
    pub fn snapshot(&self) -> &Snapshot {
        &self.snap
    }

    /// How many rows `tasks` has (archived included), to size per-task state up front.
    pub fn count_tasks(&self) -> Result<i64> {
        self.tx
            .query_row("SELECT count(*) FROM tasks", [], |r| r.get(0))
            .map_err(self.board.sql_err())
    }

    /// One task, in any status; `None` when no row has that id.
    pub fn task(&self, id: &str) -> Result<Option<TaskRow>> {
        let sql = format!("{} WHERE id = ?1", task_select(&self.snap));
        match self.tx.query_row(&sql, [id], task_from_row) {
            Ok(t) => Ok(Some(t)),
            Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
            Err(e) => Err(self.board.sql_err()(e)),
        }
    }

    /// Every task that is not archived, in the board's row order.
    pub fn tasks(&self, mut f: impl FnMut(TaskRow) -> Result<()>) -> Result<()> {
        let err = self.board.sql_err();
        let sql = format!("{} WHERE status != 'archived'", task_select(&self.snap));
        let mut stmt = self.tx.prepare(&sql).map_err(&err)?;
        let mut rs = stmt.query([]).map_err(&err)?;
        while let Some(r) = rs.next().map_err(&err)? {
            f(task_from_row(r).map_err(&err)?)?;
        }
        Ok(())
    }

    /// Stream `task_events` in `scope`, handing each row to `f` with its task id. Payloads
    /// are read only for `payload_kinds` (the only ones any rule reads).
    pub fn events(
        &self,
        scope: Scope<'_>,
        payload_kinds: &[&str],
        mut f: impl FnMut(&Value, &EventRow<'_>),
    ) -> Result<()> {
        let Some(sql) = events_sql(&self.snap, payload_kinds, scope) else {
            return Ok(());
        };
        let mode = scope.payload_mode();
        self.stream(&sql, scope, |r| {
            let (task, kind, payload, ts) = (cell(r, 0)?, cell(r, 1)?, cell(r, 2)?, cell(r, 3)?);
            let ev = EventRow {
                kind: &kind,
                created_at: &ts,
                payload: &payload,
                mode,
            };
            f(&task, &ev);
            Ok(())
        })
    }

    /// Stream `task_runs` in `scope` (id order), handing each row to `f` with its task id.
    /// The error text is read only for `error_outcomes`.
    pub fn runs(
        &self,
        scope: Scope<'_>,
        error_outcomes: &[&str],
        mut f: impl FnMut(&Value, &RunRow<'_>),
    ) -> Result<()> {
        let Some(sql) = runs_sql(&self.snap, error_outcomes, scope) else {
            return Ok(());
        };
        self.stream(&sql, scope, |r| {
            let (task, outcome, error) = (cell(r, 0)?, cell(r, 1)?, cell(r, 2)?);
            f(
                &task,
                &RunRow {
                    outcome: &outcome,
                    error: &error,
                },
            );
            Ok(())
        })
    }

    fn stream(
        &self,
        sql: &str,
        scope: Scope<'_>,
        mut each: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<()>,
    ) -> Result<()> {
        let err = self.board.sql_err();
        let mut stmt = self.tx.prepare(sql).map_err(&err)?;
        let mut rs = match scope {
            Scope::Board => stmt.query([]),
            Scope::Task(id) => stmt.query([id]),
        }
        .map_err(&err)?;
        while let Some(r) = rs.next().map_err(&err)? {
            each(r).map_err(&err)?;
        }
        Ok(())
    }

    /// End the read transaction.
    /// Every task's history, one task at a time, in task id order (see `board::history`).
    pub fn histories(
        &self,
        scope: Scope<'_>,
        each: impl FnMut(super::history::History) -> Result<()>,
    ) -> Result<()> {
        let err = self.board.sql_err();
        let sql = super::history::history_sql(&self.snap, scope);
        let mut stmt = self.tx.prepare(&sql).map_err(&err)?;
        super::history::read_histories(&mut stmt, scope, each, err)
    }

    /// [`Reader::histories`] when there is a scope to read, nothing otherwise.
    pub fn histories_if(
        &self,
        scope: Option<Scope<'_>>,
        each: impl FnMut(super::history::History) -> Result<()>,
    ) -> Result<()> {
        match scope {
            Some(scope) => self.histories(scope, each),
            None => Ok(()),
        }
    }

    /// Rows of a query that takes no parameters, one callback per row; for the audit's
    /// board-wide checks (orphans, links, `quick_check`).
    pub fn each_row(
        &self,
        sql: &str,
        mut f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<()>,
    ) -> Result<()> {
        self.stream(sql, Scope::Board, &mut f)
    }

    pub fn finish(self) -> Result<()> {
        self.tx.commit().map_err(self.board.sql_err())
    }
}

/// Events as `(task_id, kind, payload, created_at)`, the payload only for `payload_kinds`,
/// in the scope's order. `None` when the board has no events table.
fn events_sql(snap: &Snapshot, payload_kinds: &[&str], scope: Scope<'_>) -> Option<String> {
    let (where_task, order_by_time) = match scope {
        Scope::Board => (false, false),
        Scope::Task(_) => (true, true),
    };
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
fn runs_sql(snap: &Snapshot, error_outcomes: &[&str], scope: Scope<'_>) -> Option<String> {
    let where_task = matches!(scope, Scope::Task(_));
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
        let events = events_sql(&snap, &["blocked"], Scope::Board).unwrap();
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
        let runs = runs_sql(&snap, &["crashed"], Scope::Task("t_1")).unwrap();
        let run: (Value, Value, Value) = conn
            .query_row(&runs, ["t_1"], |r| {
                let v = |i| r.get_ref(i).map(Value::from_ref);
                Ok((v(0)?, v(1)?, v(2)?))
            })
            .unwrap();
        assert_eq!(run, (text("t_1"), text("crashed"), Value::Null));
    }
}
