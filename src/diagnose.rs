//! The diagnose engine: stream a board through the rules.
//!
//! Three sequential passes, each one SQL statement with no parameter list that grows with
//! the board: events (in id order) and runs (in id order) are folded into each rule's small
//! per-task state, then tasks are read in the board's row order and evaluated. Memory is the
//! per-task fold states, a few fields each; no table is ever held in memory. All passes run
//! inside one read transaction, so a board a dispatcher is writing (WAL) is seen as one
//! consistent snapshot.
//!
//! This mirrors `hermes kanban diagnostics`: the same tasks (non-archived, in row order; a
//! single `--task` in any status), the same per-task ordering of events and runs, and rule
//! failures dropped per task as the reference does.
//!
//! The reference gathers its findings in a dict keyed by task id, so on a `tasks` table
//! without a primary key, rows that share an id (Python's `==`: INTEGER 1 and REAL 1.0 are
//! one id, NULL is one too) share that id's events and runs and make one entry: placed where
//! the first row with findings put it, holding the last such row's findings, listing the
//! title, status and assignee of the id's last row (archived ones included), and none for a
//! NULL id. Such boards are found before the task pass ([`Reader::ids_may_repeat`]); only
//! they hold their entries until the pass ends, every other board streams them.

use std::collections::HashMap;

use rusqlite::types::ValueRef;
use std::time::Duration;

use serde::Serialize;

use crate::board::rows::{EventRow, FleetRow, Listing, PayloadMode, Reader, RunRow, Scope};
use crate::board::schema::State;
use crate::board::{Access, Board, reference::reference};
use crate::config::DiagConfig;
use crate::error::{Error, Result};
use crate::py::value::{DictKey, Value};
use crate::rules::{self, Diagnostic, Params, Severity, TaskRow, TaskState};

mod index;
mod pipeline;
use index::TaskIndex;

/// A cell borrowed back from its owned form.
fn value_ref(v: &Value) -> ValueRef<'_> {
    match v {
        Value::Null => ValueRef::Null,
        Value::Int(i) => ValueRef::Integer(*i),
        Value::Real(f) => ValueRef::Real(*f),
        Value::Text(t) => ValueRef::Text(t.as_bytes()),
        Value::Blob(b) => ValueRef::Blob(b),
    }
}

/// What to diagnose and how.
#[derive(Debug, Clone)]
pub struct Options {
    pub now: i64,
    pub task: Option<String>,
    pub severity: Option<Severity>,
    /// Only these rule kinds (all when `None`).
    pub only: Option<Vec<String>>,
    pub wait: Duration,
}

/// One task with its diagnostics, in the reference's JSON shape.
#[derive(Debug, Clone)]
pub struct TaskReport {
    pub task_id: Value,
    /// The row's title, status and assignee; `None` where the reference finds no row to
    /// list (a NULL id, or `--task` naming a row by another type), and prints none of the
    /// three keys.
    pub listing: Option<Listing>,
    pub diagnostics: Vec<Diagnostic>,
}

impl TaskReport {
    /// `audit`'s entry about the board itself: no id, and a title and status of null (a
    /// task with a NULL id is listed with no title or status at all).
    pub fn about_board(&self) -> bool {
        self.task_id.is_null()
            && self
                .listing
                .as_ref()
                .is_some_and(|l| l.title.is_null() && l.status.is_null())
    }
}

impl Serialize for TaskReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        self.serialize_entries(&mut m)?;
        m.end()
    }
}

impl TaskReport {
    /// The entry's keys, in the reference's order, into a map being written (which may
    /// hold other keys first, such as the board of `--all-boards`).
    pub fn serialize_entries<M: serde::ser::SerializeMap>(
        &self,
        m: &mut M,
    ) -> std::result::Result<(), M::Error> {
        m.serialize_entry("task_id", &crate::py::object::Object::from(&self.task_id))?;
        if let Some(l) = &self.listing {
            m.serialize_entry("title", &crate::py::object::Object::from(&l.title))?;
            m.serialize_entry("status", &crate::py::object::Object::from(&l.status))?;
            m.serialize_entry("assignee", &crate::py::object::Object::from(&l.assignee))?;
        }
        m.serialize_entry("diagnostics", &self.diagnostics)
    }
}

/// A rule that raised for some tasks (its result dropped there, as Hermes drops it).
#[derive(Debug, Clone)]
pub struct DroppedRule {
    pub kind: &'static str,
    /// Why, for the first task it failed on.
    pub why: &'static str,
    pub tasks: usize,
    /// The first few task ids, so the operator can look at them.
    pub examples: Vec<String>,
}

/// Rule failures by kind, in the order first seen.
#[derive(Debug, Default, Clone)]
pub struct DroppedRules(pub Vec<DroppedRule>);

impl DroppedRules {
    const EXAMPLES: usize = 3;

    fn add(&mut self, kind: &'static str, why: &'static str, task: &Value) {
        let entry = match self.0.iter_mut().position(|f| f.kind == kind) {
            Some(i) => &mut self.0[i],
            None => {
                self.0.push(DroppedRule {
                    kind,
                    why,
                    tasks: 0,
                    examples: Vec::new(),
                });
                self.0.last_mut().expect("just pushed")
            }
        };
        entry.tasks += 1;
        if entry.examples.len() < Self::EXAMPLES {
            entry.examples.push(task.py_str());
        }
    }
}

/// What a run saw, besides the findings.
#[derive(Debug, Clone)]
pub struct Summary {
    pub state: State,
    pub journal: crate::board::Journal,
    /// Set when the board's journal mode is unsafe on its filesystem.
    pub filesystem_warning: Option<String>,
    pub tasks_scanned: u64,
    pub failures: DroppedRules,
}

fn flat(lists: &[&[&'static str]]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = lists.iter().flat_map(|l| l.iter().copied()).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The rules a run with `opts` evaluates, in registry order.
pub fn rules_run(opts: &Options) -> Vec<&'static rules::RuleDoc> {
    rules::DOCS
        .iter()
        .copied()
        .filter(|d| {
            opts.only
                .as_ref()
                .is_none_or(|o| o.iter().any(|k| k == d.kind))
        })
        .collect()
}

/// Open the board read-only and diagnose it, calling `emit` for each task to report.
pub fn run(
    path: &std::path::Path,
    cfg: &DiagConfig,
    opts: &Options,
    emit: impl FnMut(TaskReport) -> Result<()>,
) -> Result<Summary> {
    let board = Board::open(path, Access::ReadOnly, opts.wait)?;
    // One read transaction for every pass: a consistent snapshot even while a dispatcher writes.
    let reader = board.reader()?;
    let state = reader.snapshot().checked_state(path, reference())?;
    let scan = scan(&reader, cfg, opts, emit)?;
    reader.finish()?;
    Ok(Summary {
        state,
        journal: board.header.journal,
        filesystem_warning: board.filesystem_warning(),
        tasks_scanned: scan.tasks_scanned,
        failures: scan.failures,
    })
}

/// What [`scan`] saw besides the reports.
pub struct Scan {
    pub tasks_scanned: u64,
    pub failures: DroppedRules,
}

/// Run the rules over a board already open for reading, inside the reader's transaction.
pub fn scan(
    reader: &Reader<'_>,
    cfg: &DiagConfig,
    opts: &Options,
    mut emit: impl FnMut(TaskReport) -> Result<()>,
) -> Result<Scan> {
    let params = Params::new(cfg, opts.now);
    let only = opts.only.as_deref();
    let mut failures = DroppedRules::default();
    let mut scanned = 0u64;
    // Every rule over one row; the rules that raised are recorded against `id`.
    let mut evaluate = |task: &TaskRow, st: &TaskState, id: &Value| -> Vec<Diagnostic> {
        scanned += 1;
        let (diags, failed) = st.evaluate(task, &params, opts.now, only);
        for (kind, why) in failed {
            failures.add(kind, why.0, id);
        }
        diags
    };
    let keep = |mut diags: Vec<Diagnostic>| {
        if let Some(min) = opts.severity {
            diags.retain(|d| d.severity >= min);
        }
        diags
    };

    let payload_kinds = flat(rules::PAYLOAD_KINDS);
    let error_outcomes = flat(rules::RUN_ERROR_OUTCOMES);
    match &opts.task {
        Some(id) => {
            let task = reader
                .task(id)?
                .ok_or_else(|| Error::UnknownTask { id: id.clone() })?;
            let scope = Scope::Task(id);
            let mut st = TaskState::default();
            reader.events(scope, &payload_kinds, |_, ev| st.on_event(ev, &params))?;
            reader.runs(scope, &error_outcomes, |_, run| st.on_run(run, &params))?;
            // The reference reports the id it was asked for, not the row's.
            let task_id = Value::Text(id.clone());
            let diagnostics = keep(evaluate(&task, &st, &task_id));
            // With a severity filter, a task left with nothing is dropped; without one,
            // the asked-for task is reported even with an empty list.
            if opts.severity.is_none() || !diagnostics.is_empty() {
                emit(TaskReport {
                    task_id,
                    listing: reader.listing(id)?,
                    diagnostics,
                })?;
            }
        }
        None => {
            // Number the tasks the report evaluates first (sized up front: growing would
            // briefly hold two copies), so the state of a task is found from the borrowed
            // cell and only tasks a rule is evaluated on hold any: events and runs of
            // archived tasks, or of none (orphans), are skipped.
            let tasks = usize::try_from(reader.count_tasks()?).unwrap_or(0);
            let mut index = TaskIndex::with_capacity(tasks);
            let mut capacity_exceeded = false;
            reader.task_ids(|id| {
                // The reference fetches events and runs with `task_id IN (ids)`, which no
                // NULL matches: a task with a NULL id gets no state.
                if !matches!(id, ValueRef::Null) && index.insert(id).is_none() {
                    capacity_exceeded = true;
                }
            })?;
            if capacity_exceeded {
                return Err(Error::Usage {
                    message: "the board has more than 4294967295 distinct task ids".into(),
                });
            }
            let mut states: Vec<TaskState> = Vec::new();
            states.resize_with(index.len(), TaskState::default);
            // SQLite reads on this thread; the rows are folded on another (see `pipeline`).
            let threaded = pipeline::parallel();
            pipeline::fold::<4>(
                threaded,
                |rows| {
                    reader.event_cells(Scope::Board, &payload_kinds, |cells| {
                        for (v, cell) in rows.next().iter_mut().zip(cells) {
                            v.set_from_ref(cell);
                        }
                    })
                },
                |[id, kind, payload, created_at]| {
                    if let Some(i) = index.get(value_ref(id)) {
                        let ev = EventRow {
                            kind,
                            created_at,
                            payload,
                            mode: PayloadMode::Fleet,
                        };
                        states[i as usize].on_event(&ev, &params);
                    }
                },
            )?;
            pipeline::fold::<3>(
                threaded,
                |rows| {
                    reader.run_cells(Scope::Board, &error_outcomes, |cells| {
                        for (v, cell) in rows.next().iter_mut().zip(cells) {
                            v.set_from_ref(cell);
                        }
                    })
                },
                |[id, outcome, error]| {
                    if let Some(i) = index.get(value_ref(id)) {
                        states[i as usize].on_run(&RunRow { outcome, error }, &params);
                    }
                },
            )?;
            let mut state_of = |id: &Value| -> Option<usize> {
                if id.is_null() {
                    return None;
                }
                index.get(value_ref(id)).map(|i| i as usize)
            };
            let empty = TaskState::default();
            if reader.ids_may_repeat()? {
                let mut merged = Merged::default();
                reader.tasks(|row| {
                    let key = row.id.dict_key();
                    let st = state_of(&row.id).map_or(&empty, |i| &states[i]);
                    merged.add(key, row.id.clone(), evaluate(&row.task, st, &row.id));
                    Ok(())
                })?;
                reader.listings(|id, listing| merged.list(&id, listing))?;
                for mut rep in merged.entries {
                    rep.diagnostics = keep(rep.diagnostics);
                    if !rep.diagnostics.is_empty() {
                        emit(rep)?;
                    }
                }
            } else {
                reader.tasks(|row| {
                    // A task's state is no longer needed once it is evaluated: what it
                    // owns (hallucination lists, crash errors) is freed as the pass goes.
                    let st = state_of(&row.id).map(|i| std::mem::take(&mut states[i]));
                    let diagnostics =
                        keep(evaluate(&row.task, st.as_ref().unwrap_or(&empty), &row.id));
                    if diagnostics.is_empty() {
                        return Ok(());
                    }
                    let FleetRow { id, listing, .. } = row;
                    emit(TaskReport {
                        listing: (!id.is_null()).then_some(listing),
                        task_id: id,
                        diagnostics,
                    })
                })?;
            }
        }
    }
    Ok(Scan {
        tasks_scanned: scanned,
        failures,
    })
}

/// The fleet report of a board whose ids may repeat, gathered as the reference's dict
/// gathers it (see the module documentation), before the severity filter.
#[derive(Debug, Default)]
struct Merged {
    entries: Vec<TaskReport>,
    at: HashMap<DictKey, usize>,
}

impl Merged {
    /// A row's findings: the first row of an id with findings places and names the entry,
    /// each later one replaces its findings.
    fn add(&mut self, key: DictKey, id: Value, diagnostics: Vec<Diagnostic>) {
        if diagnostics.is_empty() {
            return;
        }
        match self.at.get(&key) {
            Some(&i) => self.entries[i].diagnostics = diagnostics,
            None => {
                self.at.insert(key, self.entries.len());
                self.entries.push(TaskReport {
                    task_id: id,
                    listing: None,
                    diagnostics,
                });
            }
        }
    }

    /// A row of the listing query, in row order: the last row of an id is what is listed.
    fn list(&mut self, id: &Value, listing: Listing) {
        if id.is_null() {
            return;
        }
        if let Some(&i) = self.at.get(&id.dict_key()) {
            self.entries[i].listing = Some(listing);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Severity;

    fn diag(kind: &'static str, severity: Severity) -> Diagnostic {
        Diagnostic::new(kind, severity, kind, "")
    }

    fn listing(title: &str) -> Listing {
        Listing {
            title: Value::Text(title.into()),
            ..Listing::default()
        }
    }

    #[test]
    fn repeated_ids_keep_the_first_place_and_the_last_findings() {
        let mut m = Merged::default();
        let a = Value::Text("t_a".into());
        m.add(
            a.dict_key(),
            a.clone(),
            vec![diag("first", Severity::Error)],
        );
        m.add(
            Value::Int(1).dict_key(),
            Value::Int(1),
            vec![diag("int", Severity::Error)],
        );
        // A row without findings changes nothing; REAL 1.0 is the id INTEGER 1.
        m.add(a.dict_key(), a.clone(), Vec::new());
        m.add(
            Value::Real(1.0).dict_key(),
            Value::Real(1.0),
            vec![diag("real", Severity::Warning)],
        );
        m.add(
            a.dict_key(),
            a.clone(),
            vec![diag("second", Severity::Warning)],
        );
        let got: Vec<(Value, &str)> = m
            .entries
            .iter()
            .map(|e| (e.task_id.clone(), e.diagnostics[0].kind))
            .collect();
        assert_eq!(got, [(a, "second"), (Value::Int(1), "real")]);
    }

    #[test]
    fn repeated_ids_list_their_last_row_and_null_ids_nothing() {
        let mut m = Merged::default();
        m.add(DictKey::None, Value::Null, vec![diag("x", Severity::Error)]);
        m.add(
            Value::Real(2.0).dict_key(),
            Value::Real(2.0),
            vec![diag("y", Severity::Error)],
        );
        m.list(&Value::Null, listing("null row"));
        m.list(&Value::Int(2), listing("earlier"));
        m.list(&Value::Text("2".into()), listing("text 2 is another id"));
        m.list(&Value::Real(2.0), listing("last"));
        assert_eq!(m.entries[0].listing, None);
        assert_eq!(m.entries[1].listing, Some(listing("last")));
    }

    #[test]
    fn a_report_without_a_listing_prints_only_the_id_and_findings() {
        let rep = TaskReport {
            task_id: Value::Real(1.0),
            listing: None,
            diagnostics: Vec::new(),
        };
        assert_eq!(
            crate::py::json::to_string(&rep),
            "{\n  \"task_id\": 1.0,\n  \"diagnostics\": []\n}"
        );
        let rep = TaskReport {
            listing: Some(listing("t")),
            ..rep
        };
        assert_eq!(
            crate::py::json::to_string(&rep),
            "{\n  \"task_id\": 1.0,\n  \"title\": \"t\",\n  \"status\": null,\n  \
             \"assignee\": null,\n  \"diagnostics\": []\n}"
        );
    }
}
