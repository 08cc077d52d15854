//! What schema a board has, read from SQLite itself, and how it compares to the current one.
//!
//! Every command that reads a board reports its state, because the same file can be in any
//! of them: `current`, `legacy` (only the old counter names), `pre-counter` (neither),
//! `partial` (both, as Hermes' add-and-copy migration leaves it), `incomplete` (other
//! columns of the current `tasks` table missing; combines with the others) or
//! `not-a-board`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use rusqlite::Connection;
use serde::Serialize;

use super::reference::{RENAMED, Reference};

/// One column as `PRAGMA table_info` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    pub name: String,
    pub decl_type: String,
    pub notnull: bool,
    pub dflt_value: Option<String>,
    pub pk: i64,
}

/// The schema of a board at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Tables (not views), with their columns in order.
    pub tables: BTreeMap<String, Vec<Column>>,
    pub indexes: BTreeSet<String>,
    pub views: BTreeSet<String>,
    pub triggers: BTreeSet<String>,
}

impl Snapshot {
    /// The board's state, or the error that stops every command from reading it: no
    /// kanban schema at all (Hermes #83445: replaced under a live process), `tasks` that is
    /// not a table, or a `tasks` table without the columns every query filters on.
    pub fn checked_state(
        &self,
        path: &std::path::Path,
        reference: &Reference,
    ) -> crate::error::Result<State> {
        use crate::error::Error;
        let state = self.state(reference);
        if state.counter == Counter::NotABoard {
            return Err(Error::NotABoard {
                path: path.to_path_buf(),
                reason: if self.views.contains("tasks") {
                    "`tasks` is a view, not a table".into()
                } else if self.tables.is_empty() {
                    "the schema is empty".into()
                } else {
                    "it has no `tasks` table".into()
                },
            });
        }
        for column in ["id", "status"] {
            if !self.has_column("tasks", column) {
                return Err(Error::MissingColumn {
                    path: path.to_path_buf(),
                    column,
                });
            }
        }
        Ok(state)
    }

    /// Read the schema through `conn` (inside whatever transaction the caller holds).
    pub fn read(conn: &Connection) -> rusqlite::Result<Snapshot> {
        let mut snap = Snapshot::default();
        let mut stmt = conn.prepare(
            "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
        )?;
        let mut tables = Vec::new();
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let (ty, name): (String, String) = (r.get(0)?, r.get(1)?);
            // SQL finds a table, index, view or trigger whatever the ASCII case of its
            // name (`Tasks` answers to `tasks`, and a board cannot have both): keep each
            // under its lower-case name, which is also how SQL written here names it.
            let name = name.to_ascii_lowercase();
            match ty.as_str() {
                "table" => tables.push(name),
                "index" => {
                    snap.indexes.insert(name);
                }
                "view" => {
                    snap.views.insert(name);
                }
                "trigger" => {
                    snap.triggers.insert(name);
                }
                _ => {}
            }
        }
        for t in tables {
            let mut cols = Vec::new();
            let mut info = conn.prepare(
                "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1)",
            )?;
            let mut rows = info.query([&t])?;
            while let Some(r) = rows.next()? {
                cols.push(Column {
                    name: r.get(0)?,
                    decl_type: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    notnull: r.get::<_, i64>(2)? != 0,
                    dflt_value: r.get(3)?,
                    pk: r.get(4)?,
                });
            }
            snap.tables.insert(t, cols);
        }
        Ok(snap)
    }

    pub fn has_table(&self, t: &str) -> bool {
        self.tables.contains_key(&t.to_ascii_lowercase())
    }

    /// Whether SQL finds the column: SQLite matches column names ignoring ASCII case, so a
    /// column spelled `Status` answers to `status` (and a board cannot have both).
    pub fn has_column(&self, table: &str, col: &str) -> bool {
        self.column(table, col).is_some()
    }

    /// The column SQL finds under `col` (any ASCII case).
    pub fn column(&self, table: &str, col: &str) -> Option<&Column> {
        self.tables
            .get(table)?
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(col))
    }

    /// Whether the column is spelled exactly `col`: what Python's `col in row.keys()` finds.
    /// Only the reference's `_task_field` and `Task.from_row`'s optional columns look
    /// columns up this way; SQL and `row[col]` ignore case.
    pub fn has_exact_column(&self, table: &str, col: &str) -> bool {
        self.tables
            .get(table)
            .is_some_and(|cs| cs.iter().any(|c| c.name == col))
    }

    /// The board's state against the reference schema.
    pub fn state(&self, reference: &Reference) -> State {
        if !self.has_table("tasks") {
            return State {
                counter: Counter::NotABoard,
                missing_columns: Vec::new(),
                missing_tables: Vec::new(),
                missing_indexes: Vec::new(),
            };
        }
        let pairs: Vec<(bool, bool)> = RENAMED
            .iter()
            .map(|(new, old)| (self.has_column("tasks", new), self.has_column("tasks", old)))
            .collect();
        let counter = if pairs.iter().all(|&p| p == (true, false)) {
            Counter::Current
        } else if pairs.iter().all(|&p| p == (false, true)) {
            Counter::Legacy
        } else if pairs.iter().all(|&p| p == (false, false)) {
            Counter::PreCounter
        } else {
            Counter::Partial
        };
        let renamed: Vec<&str> = RENAMED.iter().map(|(n, _)| *n).collect();
        let mut missing_columns = Vec::new();
        let mut missing_tables = Vec::new();
        for table in &reference.tables {
            if !self.has_table(&table.name) {
                missing_tables.push(table.name.clone());
                continue;
            }
            for col in &table.columns {
                let is_counter = table.name == "tasks" && renamed.contains(&col.name.as_str());
                if !is_counter && !self.has_column(&table.name, &col.name) {
                    missing_columns.push(format!("{}.{}", table.name, col.name));
                }
            }
        }
        let missing_indexes = reference
            .indexes
            .iter()
            .filter(|i| !self.indexes.contains(&i.name))
            .map(|i| i.name.clone())
            .collect();
        State {
            counter,
            missing_columns,
            missing_tables,
            missing_indexes,
        }
    }
}

/// Which names the failure counter and its error text go by.
// `PreCounter` is the state's user-facing name ("pre-counter"), not a stutter.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Counter {
    Current,
    Legacy,
    PreCounter,
    Partial,
    NotABoard,
}

impl Counter {
    /// Every state, in declaration order.
    pub const ALL: [Counter; 5] = [
        Counter::Current,
        Counter::Legacy,
        Counter::PreCounter,
        Counter::Partial,
        Counter::NotABoard,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Counter::Current => "current",
            Counter::Legacy => "legacy",
            Counter::PreCounter => "pre-counter",
            Counter::Partial => "partial",
            Counter::NotABoard => "not-a-board",
        }
    }
}

/// A board's schema state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct State {
    pub counter: Counter,
    /// `table.column` of the current schema that the board lacks (counter columns aside).
    pub missing_columns: Vec<String>,
    pub missing_tables: Vec<String>,
    pub missing_indexes: Vec<String>,
}

impl State {
    /// `incomplete`: the tasks table lacks columns of the current schema other than the counters.
    pub fn incomplete(&self) -> bool {
        self.missing_columns.iter().any(|c| c.starts_with("tasks."))
    }

    pub fn label(&self) -> String {
        let mut s = self.counter.as_str().to_string();
        if self.incomplete() {
            s.push_str("+incomplete");
        }
        s
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// For tests across the crate: the reference schema as a snapshot, with `tasks` columns
/// edited by `edit`.
#[cfg(test)]
impl Snapshot {
    pub(crate) fn reference_with(edit: impl FnOnce(&mut Vec<Column>)) -> Snapshot {
        let r = super::reference::reference();
        let mut s = Snapshot::default();
        for t in &r.tables {
            let cols = t
                .columns
                .iter()
                .map(|c| Column {
                    name: c.name.clone(),
                    decl_type: c.decl_type.clone(),
                    notnull: c.notnull,
                    dflt_value: c.dflt_value.clone(),
                    pk: 0,
                })
                .collect();
            s.tables.insert(t.name.clone(), cols);
        }
        s.indexes = r.indexes.iter().map(|i| i.name.clone()).collect();
        edit(s.tables.get_mut("tasks").unwrap());
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nothing for `migrate` to do: the current counter and nothing missing.
    fn nothing_to_do(st: &State) -> bool {
        st.counter == Counter::Current
            && st.missing_columns.is_empty()
            && st.missing_tables.is_empty()
            && st.missing_indexes.is_empty()
    }
    use crate::board::reference::reference;
    use crate::error::Error;

    /// The reference schema as a snapshot, with `tasks` columns edited by `edit`.
    fn snapshot(edit: impl FnOnce(&mut Vec<Column>)) -> Snapshot {
        Snapshot::reference_with(edit)
    }

    fn rename(cols: &mut [Column], from: &str, to: &str) {
        cols.iter_mut().find(|c| c.name == from).unwrap().name = to.into();
    }

    fn remove(cols: &mut Vec<Column>, name: &str) {
        let n = cols.len();
        cols.retain(|c| c.name != name);
        assert_eq!(cols.len(), n - 1, "{name}");
    }

    fn add(cols: &mut Vec<Column>, name: &str) {
        cols.push(Column {
            name: name.into(),
            decl_type: "TEXT".into(),
            notnull: false,
            dflt_value: None,
            pk: 0,
        });
    }

    fn state(s: &Snapshot) -> State {
        s.state(reference())
    }

    #[test]
    fn the_reference_schema_is_current() {
        let st = state(&snapshot(|_| {}));
        assert_eq!(st.counter, Counter::Current);
        assert!(nothing_to_do(&st) && !st.incomplete());
        assert_eq!(st.label(), "current");
        // A column the reference does not know changes nothing.
        assert!(nothing_to_do(&state(&snapshot(|c| add(
            c,
            "from_the_future"
        )))));
    }

    #[test]
    fn only_legacy_names_is_legacy() {
        let st = state(&snapshot(|c| {
            rename(c, "consecutive_failures", "spawn_failures");
            rename(c, "last_failure_error", "last_spawn_error");
        }));
        assert_eq!(st.counter, Counter::Legacy);
        assert_eq!(st.label(), "legacy");
        // The counters are named by the state, not listed as missing columns.
        assert!(st.missing_columns.is_empty());
        assert!(!nothing_to_do(&st));
    }

    #[test]
    fn neither_name_is_pre_counter() {
        let st = state(&snapshot(|c| {
            remove(c, "consecutive_failures");
            remove(c, "last_failure_error");
        }));
        assert_eq!(st.counter, Counter::PreCounter);
        assert_eq!(st.label(), "pre-counter");
        assert!(st.missing_columns.is_empty() && !nothing_to_do(&st));
    }

    #[test]
    fn both_names_is_partial() {
        let st = state(&snapshot(|c| {
            add(c, "spawn_failures");
            add(c, "last_spawn_error");
        }));
        assert_eq!(st.counter, Counter::Partial);
        assert_eq!(st.label(), "partial");
        assert!(!nothing_to_do(&st));
        // One pair renamed and the other not is in between as well.
        let st = state(&snapshot(|c| {
            rename(c, "last_failure_error", "last_spawn_error")
        }));
        assert_eq!(st.counter, Counter::Partial);
    }

    #[test]
    fn missing_tasks_columns_are_incomplete_and_combine_with_the_counter_state() {
        let st = state(&snapshot(|c| {
            remove(c, "claim_lock");
            remove(c, "block_recurrences");
        }));
        assert_eq!(st.counter, Counter::Current);
        assert_eq!(
            st.missing_columns,
            ["tasks.claim_lock", "tasks.block_recurrences"]
        );
        assert!(st.incomplete() && !nothing_to_do(&st));
        assert_eq!(st.label(), "current+incomplete");
        let st = state(&snapshot(|c| {
            rename(c, "consecutive_failures", "spawn_failures");
            rename(c, "last_failure_error", "last_spawn_error");
            remove(c, "claim_lock");
        }));
        assert_eq!(st.label(), "legacy+incomplete");
    }

    #[test]
    fn other_tables_missing_pieces_are_not_current_but_not_incomplete() {
        let mut s = snapshot(|_| {});
        s.tables.remove("kanban_notify_subs");
        s.indexes.remove("idx_runs_status");
        s.tables
            .get_mut("task_runs")
            .unwrap()
            .retain(|c| c.name != "error");
        let st = state(&s);
        assert_eq!(st.counter, Counter::Current);
        assert_eq!(st.missing_tables, ["kanban_notify_subs"]);
        assert_eq!(st.missing_columns, ["task_runs.error"]);
        assert_eq!(st.missing_indexes, ["idx_runs_status"]);
        assert!(!st.incomplete() && !nothing_to_do(&st));
        assert_eq!(st.label(), "current");
    }

    #[test]
    fn no_tasks_table_is_not_a_board() {
        let mut s = snapshot(|_| {});
        s.tables.remove("tasks");
        assert_eq!(state(&s).counter, Counter::NotABoard);
        assert_eq!(state(&s).label(), "not-a-board");
        assert_eq!(state(&Snapshot::default()).counter, Counter::NotABoard);
    }

    fn checked(s: &Snapshot) -> crate::error::Result<State> {
        s.checked_state(std::path::Path::new("kanban.db"), reference())
    }

    fn not_a_board_reason(s: &Snapshot) -> String {
        match checked(s) {
            Err(Error::NotABoard { reason, .. }) => reason,
            other => panic!("expected not_a_board, got {other:?}"),
        }
    }

    #[test]
    fn checked_state_refuses_what_no_command_can_read() {
        let mut view = snapshot(|_| {});
        view.tables.remove("tasks");
        view.views.insert("tasks".into());
        assert_eq!(not_a_board_reason(&view), "`tasks` is a view, not a table");
        assert_eq!(
            not_a_board_reason(&Snapshot::default()),
            "the schema is empty"
        );
        let mut other = Snapshot::default();
        other.tables.insert("bookmarks".into(), Vec::new());
        assert_eq!(not_a_board_reason(&other), "it has no `tasks` table");
        for column in ["status", "id"] {
            match checked(&snapshot(|c| remove(c, column))) {
                Err(Error::MissingColumn { column: c, .. }) => assert_eq!(c, column),
                other => panic!("expected missing_column {column}, got {other:?}"),
            }
        }
    }

    #[test]
    fn columns_answer_to_any_ascii_case_but_exact_lookups_need_the_spelling() {
        let s = snapshot(|c| rename(c, "status", "Status"));
        assert!(s.has_column("tasks", "status") && s.has_column("tasks", "STATUS"));
        assert_eq!(s.column("tasks", "status").unwrap().name, "Status");
        assert!(!s.has_exact_column("tasks", "status"));
        assert!(s.has_exact_column("tasks", "Status"));
        // SQLite folds ASCII only: `ſtatus` (long s) is another name.
        assert!(!s.has_column("tasks", "\u{17f}tatus"));
        // Found, the board is readable, and it is current.
        assert_eq!(checked(&s).unwrap().label(), "current");
    }

    #[test]
    fn checked_state_passes_every_readable_state_through() {
        let legacy = snapshot(|c| {
            rename(c, "consecutive_failures", "spawn_failures");
            rename(c, "last_failure_error", "last_spawn_error");
            remove(c, "claim_lock");
        });
        assert_eq!(checked(&legacy).unwrap(), state(&legacy));
        assert_eq!(checked(&legacy).unwrap().label(), "legacy+incomplete");
    }
}
