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

pub fn hex16(h: Sha256) -> String {
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

/// Hash one cell, its type tagged and its length prefixed, so no two cells collide.
pub fn feed(h: &mut Sha256, v: &Value) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::reference::reference;
    use crate::migrate::Strategy;
    use crate::migrate::plan::{self, Options};

    /// The counter columns a test board has.
    #[derive(Clone, Copy, PartialEq)]
    enum Names {
        Current,
        Legacy,
        /// Both, as Hermes' add-and-copy leaves a board; the legacy pair disagrees on t_2.
        Partial,
    }

    /// An in-memory board with the reference schema under `names`, three tasks and two
    /// events.
    fn board(names: Names) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        let r = reference();
        for t in &r.tables {
            let mut sql = t.sql.clone();
            if names == Names::Legacy && t.name == "tasks" {
                for (new, old) in RENAMED {
                    sql = sql.replace(new, old);
                }
            }
            conn.execute_batch(&sql).unwrap();
        }
        for i in &r.indexes {
            conn.execute_batch(&i.sql).unwrap();
        }
        let (counter, error) = match names {
            Names::Legacy => ("spawn_failures", "last_spawn_error"),
            Names::Current | Names::Partial => ("consecutive_failures", "last_failure_error"),
        };
        conn.execute_batch(&format!(
            "INSERT INTO tasks (id, title, status, created_at, {counter}, {error}) VALUES
               ('t_1', 'a', 'ready', 1, 0, NULL),
               ('t_2', 'b', 'blocked', 2, 4, 'boom'),
               ('t_3', 'c', 'done', 3, 1, 'late');
             INSERT INTO task_events (task_id, kind, payload, created_at) VALUES
               ('t_2', 'blocked', '{{}}', 5), ('t_2', 'timed_out', NULL, 6);"
        ))
        .unwrap();
        if names == Names::Partial {
            conn.execute_batch(
                "ALTER TABLE tasks ADD COLUMN spawn_failures INTEGER NOT NULL DEFAULT 0;
                 ALTER TABLE tasks ADD COLUMN last_spawn_error TEXT;
                 UPDATE tasks SET spawn_failures = consecutive_failures,
                                  last_spawn_error = last_failure_error;
                 UPDATE tasks SET spawn_failures = 1, last_spawn_error = 'stale' WHERE id = 't_2';",
            )
            .unwrap();
        }
        conn
    }

    fn opts(strategy: Strategy, drop_legacy: bool) -> Options {
        Options {
            strategy,
            drop_legacy,
        }
    }

    fn plan_for(conn: &Connection, o: Options) -> (Snapshot, Plan) {
        let snap = Snapshot::read(conn).unwrap();
        let plan = plan::plan(&snap, reference(), o);
        (snap, plan)
    }

    /// What `migrate` does, minus the transaction and the backup: figures, the plan's SQL,
    /// then `tamper` (a write the migration did not plan), figures again, compare.
    fn migrate(
        conn: &Connection,
        o: Options,
        tamper: impl FnOnce(&Connection),
    ) -> Result<Verification> {
        let (snap, plan) = plan_for(conn, o);
        let projections = projections(&snap, &plan);
        let before = figures(conn, &snap, &projections, false).unwrap();
        for step in &plan.steps {
            for sql in &step.sql {
                conn.execute_batch(sql).unwrap();
            }
        }
        tamper(conn);
        let after_snap = Snapshot::read(conn).unwrap();
        let after = figures(conn, &after_snap, &projections, true).unwrap();
        compare(
            &before,
            &after,
            &after_snap.state(reference()),
            !o.drop_legacy,
        )
    }

    fn failure(r: Result<Verification>) -> String {
        match r {
            Err(Error::VerifyFailed { detail }) => detail,
            Err(other) => panic!("expected verify_failed, got {other:?}"),
            Ok(v) => panic!("expected verify_failed, got {v:?}"),
        }
    }

    const RENAME: Strategy = Strategy::Rename;

    #[test]
    fn verify_passes_a_lossless_rename() {
        let v = migrate(&board(Names::Legacy), opts(RENAME, false), |_| {}).unwrap();
        assert_eq!(v.tasks_checked, 3);
        assert_eq!(v.row_counts["tasks"], 3);
        assert_eq!(v.row_counts["task_events"], 2);
        assert_eq!(v.tables_compared, reference().tables.len());
        assert!(v.schema_current);
    }

    #[test]
    fn verify_passes_a_lossless_copy_with_or_without_the_legacy_column() {
        for drop_legacy in [false, true] {
            let conn = board(Names::Legacy);
            migrate(&conn, opts(Strategy::Copy, drop_legacy), |_| {}).unwrap();
            let legacy_left = Snapshot::read(&conn)
                .unwrap()
                .has_column("tasks", "spawn_failures");
            assert_eq!(legacy_left, !drop_legacy);
        }
    }

    #[test]
    fn verify_fails_on_a_table_that_loses_rows() {
        let detail = failure(migrate(&board(Names::Legacy), opts(RENAME, false), |c| {
            c.execute_batch("DELETE FROM task_events WHERE kind = 'timed_out'")
                .unwrap();
        }));
        assert_eq!(detail, "table task_events had 2 rows, now 1");
    }

    #[test]
    fn verify_fails_on_a_table_that_is_gone() {
        // (On a board, reading the gone table's content fails first; compare alone.)
        let conn = board(Names::Current);
        let snap = Snapshot::read(&conn).unwrap();
        let before = figures(&conn, &snap, &[], false).unwrap();
        let mut after = before.clone();
        after.row_counts.remove("task_links");
        let detail = failure(compare(&before, &after, &snap.state(reference()), true));
        assert_eq!(detail, "table task_links is gone");
        // A table that only exists afterwards is not compared.
        let mut after = before.clone();
        after.row_counts.insert("new_table".into(), 1);
        after.content.insert("new_table".into(), "0".repeat(32));
        assert!(compare(&before, &after, &snap.state(reference()), true).is_ok());
    }

    #[test]
    fn verify_fails_on_a_task_whose_counter_changes() {
        for (column, value) in [
            ("consecutive_failures", "5"),
            ("last_failure_error", "NULL"),
        ] {
            let detail = failure(migrate(&board(Names::Legacy), opts(RENAME, false), |c| {
                c.execute_batch(&format!(
                    "UPDATE tasks SET {column} = {value} WHERE id = 't_2'"
                ))
                .unwrap();
            }));
            assert!(
                detail.starts_with("task values changed: 3 tasks"),
                "{detail}"
            );
        }
    }

    #[test]
    fn verify_fails_on_content_the_task_digest_does_not_cover() {
        // Neither a row count nor a task's (id, counter, error): only the content digest.
        for (table, sql) in [
            (
                "tasks",
                "UPDATE tasks SET title = 'changed' WHERE id = 't_1'",
            ),
            (
                "task_events",
                "UPDATE task_events SET payload = '{\"x\": 1}' WHERE kind = 'blocked'",
            ),
        ] {
            let detail = failure(migrate(&board(Names::Legacy), opts(RENAME, false), |c| {
                c.execute_batch(sql).unwrap();
            }));
            assert_eq!(
                detail,
                format!(
                    "the content of table {table} changed (a trigger, or a write the migration did not plan)"
                )
            );
        }
    }

    #[test]
    fn a_partial_board_may_keep_its_legacy_column_only_when_asked_to() {
        // Nothing to do without --drop-legacy: the board stays partial, which is accepted
        // only when the legacy column is meant to be kept.
        let conn = board(Names::Partial);
        let (snap, plan) = plan_for(&conn, opts(RENAME, false));
        assert!(plan.is_empty());
        let projections = projections(&snap, &plan);
        let f = figures(&conn, &snap, &projections, false).unwrap();
        let state = snap.state(reference());
        assert_eq!(state.counter, Counter::Partial);
        assert!(compare(&f, &f, &state, true).is_ok());
        let detail = failure(compare(&f, &f, &state, false));
        assert!(
            detail.starts_with("schema is still partial after applying the plan"),
            "{detail}"
        );
        // With --drop-legacy the stale legacy values (t_2 disagrees) go, unverified: they
        // are not what any reader sees, and the backup keeps them.
        let v = migrate(&board(Names::Partial), opts(RENAME, true), |_| {}).unwrap();
        assert_eq!(v.tasks_checked, 3);
    }

    #[test]
    fn verify_fails_when_the_schema_is_not_current_after_the_plan() {
        let detail = failure(migrate(&board(Names::Current), opts(RENAME, false), |c| {
            c.execute_batch("DROP INDEX idx_events_task").unwrap();
        }));
        assert!(detail.starts_with("schema is still current"), "{detail}");
        assert!(detail.contains("idx_events_task"), "{detail}");
    }

    fn projection<'a>(ps: &'a [Projection], table: &str) -> &'a Projection {
        ps.iter().find(|p| p.table == table).unwrap()
    }

    /// `(before, after)` pairs of a projection that differ between the two sides, and
    /// whether the column `name` is read on either side.
    fn moved(p: &Projection) -> Vec<(&str, &str)> {
        assert_eq!(p.before.len(), p.after.len());
        p.before
            .iter()
            .zip(&p.after)
            .filter(|(b, a)| b != a)
            .map(|(b, a)| (b.as_str(), a.as_str()))
            .collect()
    }

    fn reads(p: &Projection, name: &str) -> bool {
        let quoted = format!("\"{name}\"");
        p.before.iter().chain(&p.after).any(|e| e.contains(&quoted))
    }

    const FOLLOWED: [(&str, &str); 2] = [
        (
            "COALESCE(\"spawn_failures\", 0)",
            "COALESCE(\"consecutive_failures\", 0)",
        ),
        ("\"last_spawn_error\"", "\"last_failure_error\""),
    ];

    #[test]
    fn projections_follow_renamed_counters_and_leave_other_columns_alone() {
        let (snap, plan) = plan_for(&board(Names::Legacy), opts(RENAME, false));
        assert!(plan.steps.iter().any(|s| s.action == Action::RenameColumn));
        let ps = projections(&snap, &plan);
        assert_eq!(ps.len(), snap.tables.len());
        let tasks = projection(&ps, "tasks");
        assert_eq!(tasks.before.len(), snap.tables["tasks"].len());
        assert_eq!(moved(tasks), FOLLOWED);
        for p in ps.iter().filter(|p| p.table != "tasks") {
            assert!(moved(p).is_empty(), "{}", p.table);
            assert_eq!(p.before.len(), snap.tables[&p.table].len());
        }
    }

    #[test]
    fn projections_follow_copied_counters_too() {
        for drop_legacy in [false, true] {
            let (snap, plan) = plan_for(&board(Names::Legacy), opts(Strategy::Copy, drop_legacy));
            assert!(plan.steps.iter().all(|s| s.action != Action::RenameColumn));
            let ps = projections(&snap, &plan);
            // The copy's source is compared with its destination; a kept legacy column is
            // not compared a second time under its own name.
            assert_eq!(moved(projection(&ps, "tasks")), FOLLOWED);
        }
    }

    #[test]
    fn projections_skip_legacy_columns_dropped_from_a_partial_board() {
        let (snap, plan) = plan_for(&board(Names::Partial), opts(RENAME, true));
        assert!(plan.steps.iter().all(|s| s.action == Action::DropColumn));
        let tasks = projection(&projections(&snap, &plan), "tasks").clone();
        assert!(moved(&tasks).is_empty());
        assert!(!reads(&tasks, "spawn_failures") && !reads(&tasks, "last_spawn_error"));
        assert!(reads(&tasks, "consecutive_failures") && reads(&tasks, "last_failure_error"));
        assert_eq!(tasks.before.len(), snap.tables["tasks"].len() - 2);
        // Without --drop-legacy both pairs are compared as they are.
        let (snap, plan) = plan_for(&board(Names::Partial), opts(RENAME, false));
        let tasks = projection(&projections(&snap, &plan), "tasks").clone();
        assert!(moved(&tasks).is_empty());
        assert!(reads(&tasks, "spawn_failures") && reads(&tasks, "consecutive_failures"));
        assert_eq!(tasks.before.len(), snap.tables["tasks"].len());
    }
}
