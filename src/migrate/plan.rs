//! The migration plan: a pure function of a schema snapshot and the reference schema.
//!
//! Nothing here touches a database, so every decision is unit-tested on hand-made
//! snapshots, and `--dry-run` prints exactly the steps (and SQL) that apply would run.
//!
//! Per counter column (`consecutive_failures` ← `spawn_failures`, `last_failure_error` ←
//! `last_spawn_error`), after checking what exists (Hermes #20842: never rename what is not
//! there): only the legacy name → rename in place (SQLite rewrites views and triggers that
//! name it), or add-and-copy with `--strategy copy` or where the legacy column's declaration
//! differs from the current one; neither → add with the default; both → keep the current
//! values (what Hermes' kernel reads). `--drop-legacy` drops the legacy column last; the
//! backup keeps its values. Every other missing table, column and index of the reference is
//! then added; anything the reference does not know is left alone.

use serde::Serialize;

use crate::board::reference::{RENAMED, RefColumn, Reference};
use crate::board::schema::Snapshot;

/// How legacy counter columns become current ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// RENAME COLUMN in place (falls back to copy where SQLite refuses).
    Rename,
    /// Add the new column and copy values, keeping the legacy column for old dispatchers.
    Copy,
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    CreateTable,
    RenameColumn,
    AddColumn,
    CopyValues,
    DropColumn,
    CreateIndex,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::CreateTable => "create table",
            Action::RenameColumn => "rename column",
            Action::AddColumn => "add column",
            Action::CopyValues => "copy values",
            Action::DropColumn => "drop column",
            Action::CreateIndex => "create index",
        }
    }
}

/// One step of the plan: what, on what, and the exact SQL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub action: Action,
    pub target: String,
    pub sql: Vec<String>,
    /// For a rename: the add-and-copy SQL used if SQLite refuses the rename.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Vec<String>>,
    /// Why this step looks the way it does, when it is not obvious.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Options that shape the plan.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub strategy: Strategy,
    pub drop_legacy: bool,
}

/// The ordered steps; empty when the board is current.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// Columns of the reference that cannot be added: `NOT NULL` without a default, which
    /// `ALTER TABLE ADD COLUMN` always refuses. Every Hermes kernel created them with the
    /// table, so a board without them was made by another tool; nothing is planned for it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub impossible: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

fn q(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn add_column(table: &str, col: &RefColumn) -> String {
    format!("ALTER TABLE {} ADD COLUMN {}", q(table), col.definition())
}

/// SQL that adds `new` and fills it from `old`; counters never copy a NULL into NOT NULL.
fn add_and_copy(col: &RefColumn, old: &str) -> Vec<String> {
    let source = if col.notnull {
        format!(
            "COALESCE({}, {})",
            q(old),
            col.dflt_value.as_deref().unwrap_or("0")
        )
    } else {
        q(old)
    };
    vec![
        add_column("tasks", col),
        format!("UPDATE \"tasks\" SET {} = {source}", q(&col.name)),
    ]
}

fn drop_column(old: &str) -> String {
    format!("ALTER TABLE \"tasks\" DROP COLUMN {}", q(old))
}

/// Whether a legacy column's declaration already is the current column's.
fn same_declaration(snap: &Snapshot, old: &str, new: &RefColumn) -> bool {
    snap.column("tasks", old).is_some_and(|c| {
        c.decl_type.eq_ignore_ascii_case(&new.decl_type)
            && c.notnull == new.notnull
            && c.dflt_value == new.dflt_value
    })
}

/// Plan the migration of `snap` to `reference`.
pub fn plan(snap: &Snapshot, reference: &Reference, opts: Options) -> Plan {
    let mut steps = Vec::new();
    let mut drops = Vec::new();
    let mut impossible = Vec::new();

    for table in &reference.tables {
        if !snap.has_table(&table.name) {
            steps.push(Step {
                action: Action::CreateTable,
                target: table.name.clone(),
                sql: vec![table.sql.clone()],
                fallback: None,
                note: None,
            });
        }
    }

    let tasks_ref = reference.table("tasks");
    for (new, old) in RENAMED {
        let Some(col) = tasks_ref.and_then(|t| t.columns.iter().find(|c| c.name == new)) else {
            continue;
        };
        let target = format!("tasks.{new}");
        match (snap.has_column("tasks", new), snap.has_column("tasks", old)) {
            (true, false) => {}
            (false, false) => steps.push(Step {
                action: Action::AddColumn,
                target,
                sql: vec![add_column("tasks", col)],
                fallback: None,
                note: Some(format!(
                    "neither {new} nor {old} exists: added with its default"
                )),
            }),
            (false, true) => {
                let copy = add_and_copy(col, old);
                if opts.strategy == Strategy::Copy || !same_declaration(snap, old, col) {
                    let note = if opts.strategy == Strategy::Copy {
                        format!("--strategy copy: {old} is kept for dispatchers that still read it")
                    } else {
                        format!(
                            "{old} is declared differently from {new}: copied rather than renamed"
                        )
                    };
                    steps.push(Step {
                        action: Action::CopyValues,
                        target,
                        sql: copy,
                        fallback: None,
                        note: Some(note),
                    });
                    if opts.drop_legacy {
                        drops.push(old);
                    }
                } else {
                    steps.push(Step {
                        action: Action::RenameColumn,
                        target,
                        sql: vec![format!(
                            "ALTER TABLE \"tasks\" RENAME COLUMN {} TO {}",
                            q(old),
                            q(new)
                        )],
                        // With --drop-legacy, a fallen-back copy drops the legacy column too,
                        // as a renamed one would be gone.
                        fallback: Some(if opts.drop_legacy {
                            let mut c = copy;
                            c.push(drop_column(old));
                            c
                        } else {
                            copy
                        }),
                        note: Some(format!(
                            "values, views and triggers that name {old} carry over"
                        )),
                    });
                }
            }
            (true, true) => {
                // The current column is authoritative (it is what the kernel reads);
                // the legacy one is history, kept unless asked, and in the backup.
                if opts.drop_legacy {
                    drops.push(old);
                }
            }
        }
    }

    for table in &reference.tables {
        if !snap.has_table(&table.name) {
            continue;
        }
        for col in &table.columns {
            let renamed = table.name == "tasks" && RENAMED.iter().any(|(n, _)| *n == col.name);
            if !renamed && !snap.has_column(&table.name, &col.name) {
                if col.notnull && col.dflt_value.is_none() {
                    impossible.push(format!("{}.{}", table.name, col.name));
                    continue;
                }
                steps.push(Step {
                    action: Action::AddColumn,
                    target: format!("{}.{}", table.name, col.name),
                    sql: vec![add_column(&table.name, col)],
                    fallback: None,
                    note: None,
                });
            }
        }
    }

    for index in &reference.indexes {
        if !snap.indexes.contains(&index.name) {
            steps.push(Step {
                action: Action::CreateIndex,
                target: index.name.clone(),
                sql: vec![index.sql.clone()],
                fallback: None,
                note: None,
            });
        }
    }

    for old in drops {
        steps.push(Step {
            action: Action::DropColumn,
            target: format!("tasks.{old}"),
            sql: vec![drop_column(old)],
            fallback: None,
            note: Some("--drop-legacy".into()),
        });
    }
    Plan { steps, impossible }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::reference::reference;
    use crate::board::schema::Column;

    /// The reference schema as a snapshot, with `tasks` columns edited by `edit`.
    fn snapshot(edit: impl FnOnce(&mut Vec<Column>)) -> Snapshot {
        Snapshot::reference_with(edit)
    }

    fn rename(cols: &mut [Column], from: &str, to: &str) {
        cols.iter_mut().find(|c| c.name == from).unwrap().name = to.into();
    }

    fn legacy() -> Snapshot {
        snapshot(|c| {
            rename(c, "consecutive_failures", "spawn_failures");
            rename(c, "last_failure_error", "last_spawn_error");
        })
    }

    const RENAME: Options = Options {
        strategy: Strategy::Rename,
        drop_legacy: false,
    };

    #[test]
    fn plan_of_a_current_board_is_empty() {
        assert!(plan(&snapshot(|_| {}), reference(), RENAME).is_empty());
    }

    #[test]
    fn legacy_columns_are_renamed_in_place_with_a_copy_fallback() {
        let p = plan(&legacy(), reference(), RENAME);
        assert_eq!(p.steps.len(), 2);
        assert_eq!(p.steps[0].action, Action::RenameColumn);
        assert_eq!(
            p.steps[0].sql[0],
            "ALTER TABLE \"tasks\" RENAME COLUMN \"spawn_failures\" TO \"consecutive_failures\""
        );
        assert!(
            p.steps[0].fallback.as_ref().unwrap()[1].contains("COALESCE(\"spawn_failures\", 0)")
        );
    }

    #[test]
    fn copy_strategy_keeps_the_legacy_column_unless_dropping() {
        let p = plan(
            &legacy(),
            reference(),
            Options {
                strategy: Strategy::Copy,
                drop_legacy: false,
            },
        );
        assert!(p.steps.iter().all(|s| s.action == Action::CopyValues));
        let p = plan(
            &legacy(),
            reference(),
            Options {
                strategy: Strategy::Copy,
                drop_legacy: true,
            },
        );
        assert_eq!(
            p.steps
                .iter()
                .filter(|s| s.action == Action::DropColumn)
                .count(),
            2
        );
        assert_eq!(p.steps.last().unwrap().action, Action::DropColumn);
    }

    #[test]
    fn pre_counter_boards_get_the_columns_with_defaults() {
        let p = plan(
            &snapshot(|c| c.retain(|c| !c.name.contains("fail"))),
            reference(),
            RENAME,
        );
        assert_eq!(p.steps.len(), 2);
        assert!(p.steps.iter().all(|s| s.action == Action::AddColumn));
        assert!(p.steps[0].sql[0].ends_with("\"consecutive_failures\" INTEGER NOT NULL DEFAULT 0"));
    }

    #[test]
    fn partial_boards_keep_current_values_and_only_drop_on_request() {
        let partial = snapshot(|c| {
            let mut extra = c
                .iter()
                .find(|c| c.name == "consecutive_failures")
                .unwrap()
                .clone();
            extra.name = "spawn_failures".into();
            c.push(extra);
        });
        assert!(plan(&partial, reference(), RENAME).is_empty());
        let p = plan(
            &partial,
            reference(),
            Options {
                strategy: Strategy::Rename,
                drop_legacy: true,
            },
        );
        assert_eq!(p.steps.len(), 1);
        assert_eq!(p.steps[0].action, Action::DropColumn);
        assert_eq!(p.steps[0].target, "tasks.spawn_failures");
    }

    #[test]
    fn a_differently_declared_legacy_column_is_copied_not_renamed() {
        let s = snapshot(|c| {
            rename(c, "consecutive_failures", "spawn_failures");
            let col = c.iter_mut().find(|c| c.name == "spawn_failures").unwrap();
            col.notnull = false;
            col.dflt_value = None;
        });
        let p = plan(&s, reference(), RENAME);
        assert_eq!(p.steps[0].action, Action::CopyValues);
    }

    #[test]
    fn missing_base_columns_tables_and_indexes_are_added_and_unknown_ones_left_alone() {
        let mut s = snapshot(|c| {
            c.retain(|c| c.name != "claim_lock");
            c.push(Column {
                name: "from_the_future".into(),
                decl_type: "TEXT".into(),
                notnull: false,
                dflt_value: None,
                pk: 0,
            });
        });
        s.tables.remove("kanban_notify_subs");
        s.indexes.remove("idx_notify_task");
        s.indexes.insert("idx_someone_elses".into());
        let p = plan(&s, reference(), RENAME);
        let targets: Vec<_> = p
            .steps
            .iter()
            .map(|s| (s.action, s.target.as_str()))
            .collect();
        assert_eq!(
            targets,
            [
                (Action::CreateTable, "kanban_notify_subs"),
                (Action::AddColumn, "tasks.claim_lock"),
                (Action::CreateIndex, "idx_notify_task"),
            ]
        );
    }
}
