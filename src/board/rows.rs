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
//!
//! Column names are looked up the three ways the reference looks them up. SQL, and
//! `row[name]` on a `sqlite3.Row`, ignore ASCII case: the task ids, every query's `WHERE`
//! and the closing `SELECT id, title, status, assignee` (what a report lists) find a
//! column spelled `Status`. The fleet report's rules read the rows through `_task_field`,
//! which asks `name in row.keys()` first and so needs the exact spelling; the single-task
//! report builds a `Task`, which reads its required columns as `row[name]` and its
//! optional ones (the counters) only under their exact names. A fleet rule that reads a
//! current counter or error of NULL falls back to the legacy column (on a board with both);
//! a `Task` has no legacy attribute to fall back to.

use super::Board;
use super::schema::Snapshot;
use crate::error::Result;
use crate::py::int::Int;
use crate::py::value::{RuleFailure, Value};
use rusqlite::types::ValueRef;

/// The task row as the rules see it: every column the rules read, NULL where the board
/// lacks the column (or, in the fleet report, spells it otherwise; see `board::rows`). The
/// counter and error are read under either name.
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
    /// What `repeated_failures` counts when `consecutive_failures` is NULL: in the fleet
    /// report the row's `spawn_failures` (0 without that column), in the single-task
    /// report 0.
    pub failures_fallback: Value,
    /// What `repeated_failures` quotes when `last_failure_error` is NULL: in the fleet
    /// report the row's `last_spawn_error`, in the single-task report NULL.
    pub error_fallback: Value,
}

/// What a report lists beside a task id: the title, status and assignee of a row, read the
/// way the reference's closing `SELECT id, title, status, assignee` reads them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listing {
    pub title: Value,
    pub status: Value,
    pub assignee: Value,
}

/// A row of the fleet report: its id as the reference keys it (`row["id"]`), what the
/// report lists for it, and what the rules see.
#[derive(Debug, Clone, Default)]
pub struct FleetRow {
    pub id: Value,
    pub listing: Listing,
    pub task: TaskRow,
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

    /// The counter `repeated_failures` compares: `consecutive_failures` unless it is NULL.
    pub fn failures(&self) -> &Value {
        if self.consecutive_failures.is_null() {
            &self.failures_fallback
        } else {
            &self.consecutive_failures
        }
    }

    /// The error `repeated_failures` quotes: `last_failure_error` unless it is NULL.
    pub fn last_error(&self) -> &Value {
        if self.last_failure_error.is_null() {
            &self.error_fallback
        } else {
            &self.last_failure_error
        }
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

/// The column as SQL finds it (any ASCII case), or NULL.
fn col_or_null(snap: &Snapshot, table: &str, col: &str) -> String {
    if snap.has_column(table, col) {
        quote(col)
    } else {
        "NULL".into()
    }
}

/// How a reader looks a column up: as SQL and `row[name]` do (any case), or as
/// `_task_field` does in the fleet report (the exact name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lookup {
    AnyCase,
    Exact,
}

impl Lookup {
    fn of(scope: Scope<'_>) -> Lookup {
        match scope {
            Scope::Board => Lookup::Exact,
            Scope::Task(_) => Lookup::AnyCase,
        }
    }

    fn finds(self, snap: &Snapshot, table: &str, col: &str) -> bool {
        match self {
            Lookup::AnyCase => snap.has_column(table, col),
            Lookup::Exact => snap.has_exact_column(table, col),
        }
    }

    /// The column as this lookup finds it, or NULL.
    fn col(self, snap: &Snapshot, table: &str, col: &str) -> String {
        if self.finds(snap, table, col) {
            quote(col)
        } else {
            "NULL".into()
        }
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

/// The counter and error as the reference's rules read them, after its migration: the
/// current column when it is spelled exactly (the migration adds it under that name, and
/// both readers look for that name only), else the legacy one copied in
/// (`COALESCE(spawn_failures, 0)`, `last_spawn_error`), else the added column's default.
/// Then the fallbacks (see [`TaskRow::failures_fallback`]).
fn rule_counter_exprs(snap: &Snapshot, lookup: Lookup) -> [String; 4] {
    let exact = |c| snap.has_exact_column("tasks", c);
    let legacy_error = Lookup::Exact.col(snap, "tasks", "last_spawn_error");
    let counter = if exact("consecutive_failures") {
        quote("consecutive_failures")
    } else if exact("spawn_failures") {
        format!("COALESCE({}, 0)", quote("spawn_failures"))
    } else {
        "0".into()
    };
    let error = if exact("last_failure_error") {
        quote("last_failure_error")
    } else {
        legacy_error.clone()
    };
    let (failures_fallback, error_fallback) = match lookup {
        Lookup::Exact if exact("spawn_failures") => (quote("spawn_failures"), legacy_error),
        Lookup::Exact => ("0".into(), legacy_error),
        Lookup::AnyCase => ("0".into(), "NULL".into()),
    };
    [counter, error, failures_fallback, error_fallback]
}

/// `SELECT` of a [`FleetRow`]'s columns from `tasks`, with no `WHERE`: the listed id,
/// title, status and assignee as SQL reads them, then the [`TaskRow`] as `lookup` finds it.
fn task_select(snap: &Snapshot, lookup: Lookup) -> String {
    let sql = |name| col_or_null(snap, "tasks", name);
    let rule = |name| lookup.col(snap, "tasks", name);
    let [counter, error, failures_fallback, error_fallback] = rule_counter_exprs(snap, lookup);
    format!(
        "SELECT {}, {}, {}, {}, {}, {}, {}, {}, {}, {counter}, {error}, {failures_fallback}, \
         {error_fallback} FROM tasks",
        sql("id"),
        sql("title"),
        sql("status"),
        sql("assignee"),
        rule("id"),
        rule("status"),
        rule("assignee"),
        rule("claim_lock"),
        rule("created_at"),
    )
}

/// A [`FleetRow`] from a row of [`task_select`].
fn task_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FleetRow> {
    let v = |i| r.get_ref(i).map(Value::from_ref);
    let listing = Listing {
        title: v(1)?,
        status: v(2)?,
        assignee: v(3)?,
    };
    Ok(FleetRow {
        id: v(0)?,
        task: TaskRow {
            id: v(4)?,
            // No rule reads the title: it is the listed one.
            title: listing.title.clone(),
            status: v(5)?,
            assignee: v(6)?,
            claim_lock: v(7)?,
            created_at: v(8)?,
            consecutive_failures: v(9)?,
            last_failure_error: v(10)?,
            failures_fallback: v(11)?,
            error_fallback: v(12)?,
        },
        listing,
    })
}

/// `SELECT id, title, status, assignee FROM tasks`, as the reference lists its findings.
fn listing_select(snap: &Snapshot) -> String {
    let c = |name| col_or_null(snap, "tasks", name);
    format!(
        "SELECT {}, {}, {}, {} FROM tasks",
        c("id"),
        c("title"),
        c("status"),
        c("assignee")
    )
}

/// A [`Listing`] from a row of [`listing_select`].
fn listing_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Listing> {
    Ok(Listing {
        title: cell(r, 1)?,
        status: cell(r, 2)?,
        assignee: cell(r, 3)?,
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

    /// One task, in any status, as the single-task report reads it (`Task.from_row` of the
    /// first row with that id); `None` when no row has that id.
    pub fn task(&self, id: &str) -> Result<Option<TaskRow>> {
        let sql = format!("{} WHERE id = ?1", task_select(&self.snap, Lookup::AnyCase));
        match self.tx.query_row(&sql, [id], task_from_row) {
            Ok(row) => Ok(Some(row.task)),
            Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
            Err(e) => Err(self.board.sql_err()(e)),
        }
    }

    /// What the single-task report lists for `id`: the reference looks rows up with SQL's
    /// `id IN (?)` and keys them by their own id, so only a row whose id is that very text
    /// counts, and the last such row wins. `None` when there is none (the report then
    /// prints no title, status or assignee).
    pub fn listing(&self, id: &str) -> Result<Option<Listing>> {
        let sql = format!("{} WHERE id = ?1", listing_select(&self.snap));
        let mut found = None;
        self.stream_with(&sql, [id], |r| {
            if cell(r, 0)?.as_text() == Some(id) {
                found = Some(listing_from_row(r)?);
            }
            Ok(())
        })?;
        Ok(found)
    }

    /// Every row's id and listing, archived rows included, in row order: where ids repeat,
    /// the fleet report lists an id's last row.
    pub fn listings(&self, mut f: impl FnMut(Value, Listing)) -> Result<()> {
        let sql = listing_select(&self.snap);
        self.stream(&sql, Scope::Board, |r| {
            f(cell(r, 0)?, listing_from_row(r)?);
            Ok(())
        })
    }

    /// Whether two rows of `tasks` may share an id, or both lack one. Python's dict then
    /// merges them (see `diagnose`). A sole primary key on `id` leaves only NULLs to repeat
    /// (SQLite lets a non-INTEGER key be NULL); otherwise rows are grouped by id, which
    /// never separates values Python calls equal (1 and 1.0 are one group).
    pub fn ids_may_repeat(&self) -> Result<bool> {
        let cols = self.snap.tables.get("tasks").map_or(&[][..], Vec::as_slice);
        let sole_key = cols.iter().filter(|c| c.pk > 0).count() == 1
            && self.snap.column("tasks", "id").is_some_and(|c| c.pk > 0);
        let sql = if sole_key {
            "SELECT count(*) > 1 FROM tasks WHERE id IS NULL"
        } else {
            "SELECT EXISTS (SELECT 1 FROM tasks GROUP BY id HAVING count(*) > 1)"
        };
        self.tx
            .query_row(sql, [], |r| r.get(0))
            .map_err(self.board.sql_err())
    }

    /// The id of every task [`Reader::tasks`] reads, in the same order, as the fleet report
    /// keys it (`row["id"]`).
    pub fn task_ids(&self, mut f: impl FnMut(ValueRef<'_>)) -> Result<()> {
        let sql = format!(
            "SELECT {} FROM tasks WHERE status != 'archived'",
            col_or_null(&self.snap, "tasks", "id")
        );
        self.stream_with(&sql, [], |r| {
            f(r.get_ref(0)?);
            Ok(())
        })
    }

    /// Every task that is not archived, in the board's row order, as the fleet report reads
    /// it.
    pub fn tasks(&self, mut f: impl FnMut(FleetRow) -> Result<()>) -> Result<()> {
        let err = self.board.sql_err();
        let sql = format!(
            "{} WHERE status != 'archived'",
            task_select(&self.snap, Lookup::Exact)
        );
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
        mut f: impl FnMut(ValueRef<'_>, &EventRow<'_>),
    ) -> Result<()> {
        let mode = scope.payload_mode();
        // The cells are refilled row after row, reusing their buffers.
        let (mut kind, mut payload, mut ts) = (Value::Null, Value::Null, Value::Null);
        self.event_cells(scope, payload_kinds, |[id, k, p, t]| {
            kind.set_from_ref(k);
            payload.set_from_ref(p);
            ts.set_from_ref(t);
            let ev = EventRow {
                kind: &kind,
                created_at: &ts,
                payload: &payload,
                mode,
            };
            f(id, &ev);
        })
    }

    /// [`Reader::events`]' rows as the cells SQLite holds: task id, kind, payload,
    /// created_at.
    pub fn event_cells(
        &self,
        scope: Scope<'_>,
        payload_kinds: &[&str],
        mut f: impl FnMut([ValueRef<'_>; 4]),
    ) -> Result<()> {
        let Some(sql) = events_sql(&self.snap, payload_kinds, scope) else {
            return Ok(());
        };
        self.stream(&sql, scope, |r| {
            f([r.get_ref(0)?, r.get_ref(1)?, r.get_ref(2)?, r.get_ref(3)?]);
            Ok(())
        })
    }

    /// Stream `task_runs` in `scope` (id order), handing each row to `f` with its task id.
    /// The error text is read only for `error_outcomes`.
    pub fn runs(
        &self,
        scope: Scope<'_>,
        error_outcomes: &[&str],
        mut f: impl FnMut(ValueRef<'_>, &RunRow<'_>),
    ) -> Result<()> {
        let (mut outcome, mut error) = (Value::Null, Value::Null);
        self.run_cells(scope, error_outcomes, |[id, o, e]| {
            outcome.set_from_ref(o);
            error.set_from_ref(e);
            f(
                id,
                &RunRow {
                    outcome: &outcome,
                    error: &error,
                },
            );
        })
    }

    /// [`Reader::runs`]' rows as the cells SQLite holds: task id, outcome, error.
    pub fn run_cells(
        &self,
        scope: Scope<'_>,
        error_outcomes: &[&str],
        mut f: impl FnMut([ValueRef<'_>; 3]),
    ) -> Result<()> {
        let Some(sql) = runs_sql(&self.snap, error_outcomes, scope) else {
            return Ok(());
        };
        self.stream(&sql, scope, |r| {
            f([r.get_ref(0)?, r.get_ref(1)?, r.get_ref(2)?]);
            Ok(())
        })
    }

    fn stream(
        &self,
        sql: &str,
        scope: Scope<'_>,
        each: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<()>,
    ) -> Result<()> {
        match scope {
            Scope::Board => self.stream_with(sql, [], each),
            Scope::Task(id) => self.stream_with(sql, [id], each),
        }
    }

    fn stream_with(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        mut each: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<()>,
    ) -> Result<()> {
        let err = self.board.sql_err();
        let mut stmt = self.tx.prepare(sql).map_err(&err)?;
        let mut rs = stmt.query(params).map_err(&err)?;
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
    // What the rules read of an event: in the fleet report only exactly spelled columns.
    let lookup = Lookup::of(scope);
    let rule = |name| lookup.col(snap, "task_events", name);
    // The migration renames kinds with SQL, whatever the column's spelling.
    let kind = if !lookup.finds(snap, "task_events", "kind") {
        "NULL".to_string()
    } else {
        format!(
            "CASE {k} WHEN 'ready' THEN 'promoted' WHEN 'priority' THEN 'reprioritized' \
             WHEN 'spawn_auto_blocked' THEN 'gave_up' ELSE {k} END",
            k = c("kind")
        )
    };
    let payload = if payload_kinds.is_empty() {
        "NULL".to_string()
    } else {
        format!(
            "CASE WHEN {kind} IN ({}) THEN {} END",
            in_list(payload_kinds),
            rule("payload")
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
        rule("created_at")
    ))
}

/// Runs as `(task_id, outcome, error)`, the error only for `error_outcomes`, in id order.
fn runs_sql(snap: &Snapshot, error_outcomes: &[&str], scope: Scope<'_>) -> Option<String> {
    let where_task = matches!(scope, Scope::Task(_));
    if !snap.has_table("task_runs") {
        return None;
    }
    let c = |name| col_or_null(snap, "task_runs", name);
    let rule = |name| Lookup::of(scope).col(snap, "task_runs", name);
    let error = if error_outcomes.is_empty() {
        "NULL".to_string()
    } else {
        format!(
            "CASE WHEN {} IN ({}) THEN {} END",
            rule("outcome"),
            in_list(error_outcomes),
            rule("error")
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
        rule("outcome")
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

    fn read_rows(conn: &rusqlite::Connection, snap: &Snapshot, lookup: Lookup) -> Vec<FleetRow> {
        let sql = format!("{} ORDER BY rowid", task_select(snap, lookup));
        let mut stmt = conn.prepare(&sql).unwrap();
        stmt.query_map([], task_from_row)
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    fn read_tasks(conn: &rusqlite::Connection, snap: &Snapshot) -> Vec<TaskRow> {
        let rows = read_rows(conn, snap, Lookup::Exact);
        rows.into_iter().map(|r| r.task).collect()
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
    #[test]
    fn legacy_event_kinds_read_under_their_migrated_names() {
        // What Hermes' migration renames on every connect, in both reports: `ready` is a
        // promotion to the stranded rule.
        let (conn, snap) = board(
            "CREATE TABLE tasks (id TEXT, status TEXT);
             CREATE TABLE task_events (id INTEGER PRIMARY KEY, task_id TEXT, kind TEXT,
                                       payload TEXT, created_at INTEGER);
             INSERT INTO task_events (task_id, kind, created_at) VALUES
                 ('t_1', 'ready', 1), ('t_1', 'priority', 2),
                 ('t_1', 'spawn_auto_blocked', 3), ('t_1', 'promoted', 4);",
        );
        for scope in [Scope::Board, Scope::Task("t_1")] {
            let sql = events_sql(&snap, &[], scope).unwrap();
            let kinds: Vec<Value> = conn
                .prepare(&sql)
                .unwrap()
                .query_map(rusqlite::params_from_iter(scope_param(scope)), |r| {
                    r.get_ref(1).map(Value::from_ref)
                })
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert_eq!(
                kinds,
                ["promoted", "reprioritized", "gave_up", "promoted"].map(text)
            );
        }
    }

    fn scope_param(scope: Scope<'_>) -> Vec<String> {
        match scope {
            Scope::Board => Vec::new(),
            Scope::Task(id) => vec![id.to_string()],
        }
    }

    #[test]
    fn fleet_rules_need_exact_column_names_and_listings_do_not() {
        let (conn, snap) = board(
            "CREATE TABLE tasks (ID TEXT, title TEXT, Status TEXT, assignee TEXT,
                                 Claim_Lock TEXT, consecutive_failures INTEGER);
             INSERT INTO tasks VALUES ('t_1', 'one', 'running', 'coder', 'h:1', 3);",
        );
        // The fleet report: `row["id"]` and the listing find them, `_task_field` does not.
        let fleet = &read_rows(&conn, &snap, Lookup::Exact)[0];
        assert_eq!(fleet.id, text("t_1"));
        assert_eq!(fleet.listing.status, text("running"));
        assert_eq!(
            (&fleet.task.id, &fleet.task.status, &fleet.task.claim_lock),
            (&Value::Null, &Value::Null, &Value::Null)
        );
        assert_eq!(fleet.task.assignee, text("coder"));
        // The single-task report builds a `Task` with `row[name]`: any case.
        let one = &read_rows(&conn, &snap, Lookup::AnyCase)[0].task;
        assert_eq!(
            (&one.id, &one.status, &one.claim_lock),
            (&text("t_1"), &text("running"), &text("h:1"))
        );
        assert_eq!(one.consecutive_failures, Value::Int(3));
    }

    #[test]
    fn fleet_rules_read_event_and_run_columns_under_their_exact_names() {
        let (conn, snap) = board(
            "CREATE TABLE tasks (id TEXT, status TEXT);
             CREATE TABLE task_events (id INTEGER PRIMARY KEY, Task_Id TEXT, Kind TEXT,
                                       payload TEXT, created_at INTEGER);
             CREATE TABLE task_runs (id INTEGER PRIMARY KEY, task_id TEXT, Outcome TEXT);
             INSERT INTO task_events (Task_Id, Kind, created_at) VALUES ('t_1', 'ready', 5);
             INSERT INTO task_runs (task_id, Outcome) VALUES ('t_1', 'crashed');",
        );
        let row = |sql: String, scope: Scope<'_>| -> Vec<Value> {
            conn.query_row(&sql, rusqlite::params_from_iter(scope_param(scope)), |r| {
                (0..3).map(|i| r.get_ref(i).map(Value::from_ref)).collect()
            })
            .unwrap()
        };
        // `row["task_id"]` finds `Task_Id`; `_task_field(ev, "kind")` does not find `Kind`.
        let fleet = row(events_sql(&snap, &[], Scope::Board).unwrap(), Scope::Board);
        assert_eq!(fleet, [text("t_1"), Value::Null, Value::Null]);
        let one = Scope::Task("t_1");
        assert_eq!(
            row(events_sql(&snap, &[], one).unwrap(), one),
            [text("t_1"), text("promoted"), Value::Null]
        );
        assert_eq!(
            row(runs_sql(&snap, &[], Scope::Board).unwrap(), Scope::Board)[1],
            Value::Null
        );
        assert_eq!(
            row(runs_sql(&snap, &[], one).unwrap(), one)[1],
            text("crashed")
        );
    }

    #[test]
    fn a_counter_is_read_only_under_its_exact_name() {
        // `Consecutive_Failures`: the migration cannot add the column (SQLite calls it a
        // duplicate) and neither reader finds it: the counter is 0.
        let (conn, snap) = board(
            "CREATE TABLE tasks (id TEXT, status TEXT, Consecutive_Failures INTEGER);
             INSERT INTO tasks VALUES ('t_1', 'todo', 7);",
        );
        for lookup in [Lookup::Exact, Lookup::AnyCase] {
            let t = &read_rows(&conn, &snap, lookup)[0].task;
            assert_eq!(t.failures(), &Value::Int(0), "{lookup:?}");
        }
    }

    #[test]
    fn a_null_current_pair_falls_back_to_the_legacy_one_in_the_fleet_report_only() {
        let (conn, snap) = board(
            "CREATE TABLE tasks (id TEXT, status TEXT,
                                 consecutive_failures INTEGER, last_failure_error TEXT,
                                 spawn_failures INTEGER, last_spawn_error TEXT);
             INSERT INTO tasks VALUES ('t_1', 'todo', NULL, NULL, 4, 'legacy'),
                                      ('t_2', 'todo', 0, '', 4, 'legacy');",
        );
        let fleet = read_rows(&conn, &snap, Lookup::Exact);
        assert_eq!(
            (fleet[0].task.failures(), fleet[0].task.last_error()),
            (&Value::Int(4), &text("legacy"))
        );
        // 0 and '' are not NULL.
        assert_eq!(
            (fleet[1].task.failures(), fleet[1].task.last_error()),
            (&Value::Int(0), &text(""))
        );
        // A `Task` has no legacy attribute: NULL reads as 0 and no error.
        let one = &read_rows(&conn, &snap, Lookup::AnyCase)[0].task;
        assert_eq!(
            (one.failures(), one.last_error()),
            (&Value::Int(0), &Value::Null)
        );
    }

    #[test]
    fn a_legacy_counter_alone_is_read_as_the_migration_copies_it() {
        // `COALESCE(spawn_failures, 0)` into the new column; the error as it is.
        let (conn, snap) = board(
            "CREATE TABLE tasks (id TEXT, status TEXT, spawn_failures INTEGER,
                                 last_spawn_error TEXT);
             INSERT INTO tasks VALUES ('t_1', 'todo', NULL, 'boom');",
        );
        for lookup in [Lookup::Exact, Lookup::AnyCase] {
            let t = &read_rows(&conn, &snap, lookup)[0].task;
            assert_eq!(t.consecutive_failures, Value::Int(0), "{lookup:?}");
            assert_eq!(t.last_error(), &text("boom"), "{lookup:?}");
        }
    }

    /// A board file from `sql`, opened as every command opens one.
    fn board_file(sql: &str) -> (tempfile::TempDir, Board) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kanban.db");
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch(sql)
            .unwrap();
        let b = Board::open(
            &path,
            super::super::Access::ReadOnly,
            std::time::Duration::from_secs(1),
        )
        .unwrap();
        (dir, b)
    }

    #[test]
    fn ids_may_repeat_where_python_would_merge_them() {
        let repeats = |sql: &str| {
            let (_dir, b) = board_file(sql);
            b.reader().unwrap().ids_may_repeat().unwrap()
        };
        let keyed = "CREATE TABLE tasks (id TEXT PRIMARY KEY, status TEXT);";
        assert!(!repeats(&format!(
            "{keyed} INSERT INTO tasks VALUES ('a', 'x'), (NULL, 'x');"
        )));
        // A TEXT primary key still takes NULLs.
        assert!(repeats(&format!(
            "{keyed} INSERT INTO tasks VALUES (NULL, 'x'), (NULL, 'x');"
        )));
        let bare = "CREATE TABLE tasks (id, status);";
        assert!(!repeats(&format!(
            "{bare} INSERT INTO tasks VALUES ('1', 'x'), (1, 'x');"
        )));
        assert!(repeats(&format!(
            "{bare} INSERT INTO tasks VALUES (1.0, 'x'), (1, 'x');"
        )));
        assert!(repeats(&format!(
            "{bare} INSERT INTO tasks VALUES ('a', 'x'), ('a', 'archived');"
        )));
    }

    #[test]
    fn the_listing_of_a_task_is_its_last_row_with_that_text_id() {
        let (_dir, b) = board_file(
            "CREATE TABLE tasks (id, title TEXT, status TEXT, assignee TEXT);
             INSERT INTO tasks VALUES ('1', 'first', 'todo', NULL), (1, 'an integer', 'todo', NULL),
                                      ('1', 'last', 'archived', 'zed');",
        );
        let r = b.reader().unwrap();
        let l = r.listing("1").unwrap().unwrap();
        assert_eq!((l.title, l.status), (text("last"), text("archived")));
        assert_eq!(r.listing("2").unwrap(), None);
        // The task itself is the first row SQL finds.
        assert_eq!(r.task("1").unwrap().unwrap().title, text("first"));
    }
}
