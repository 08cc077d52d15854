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

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;

use crate::board::rows::{Reader, Scope};
use crate::board::schema::State;
use crate::board::{Access, Board, reference::reference};
use crate::config::DiagConfig;
use crate::error::{Error, Result};
use crate::py::value::Value;
use crate::rules::{self, Diagnostic, Params, Severity, TaskRow, TaskState};

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
#[derive(Debug, Clone, Serialize)]
pub struct TaskReport {
    #[serde(serialize_with = "ser_value")]
    pub task_id: Value,
    #[serde(serialize_with = "ser_value")]
    pub title: Value,
    #[serde(serialize_with = "ser_value")]
    pub status: Value,
    #[serde(serialize_with = "ser_value")]
    pub assignee: Value,
    pub diagnostics: Vec<Diagnostic>,
}

fn ser_value<S: serde::Serializer>(v: &Value, s: S) -> std::result::Result<S::Ok, S::Error> {
    crate::py::object::Object::from(v).serialize(s)
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

/// A hashable key for a task id cell: ids of different SQLite types never match, as in
/// Python's dict.
pub fn key(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        other => format!("\0{other:?}"),
    }
}

fn flat(lists: &[&[&'static str]]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = lists.iter().flat_map(|l| l.iter().copied()).collect();
    out.sort_unstable();
    out.dedup();
    out
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
    let report = |task: &TaskRow, st: &TaskState, failures: &mut DroppedRules| -> TaskReport {
        let (mut diags, failed) = st.evaluate(task, &params, opts.now, only);
        for (kind, why) in failed {
            failures.add(kind, why.0, &task.id);
        }
        if let Some(min) = opts.severity {
            diags.retain(|d| d.severity >= min);
        }
        TaskReport {
            task_id: task.id.clone(),
            title: task.title.clone(),
            status: task.status.clone(),
            assignee: task.assignee.clone(),
            diagnostics: diags,
        }
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
            scanned = 1;
            let rep = report(&task, &st, &mut failures);
            // With a severity filter, a task left with nothing is dropped; without one,
            // the asked-for task is reported even with an empty list.
            if opts.severity.is_none() || !rep.diagnostics.is_empty() {
                emit(rep)?;
            }
        }
        None => {
            // Sized up front: growing the map would briefly hold two copies of it.
            let tasks = reader.count_tasks()?;
            let mut states: HashMap<String, TaskState> =
                HashMap::with_capacity(usize::try_from(tasks).unwrap_or(0));
            reader.events(Scope::Board, &payload_kinds, |id, ev| {
                states.entry(key(id)).or_default().on_event(ev, &params)
            })?;
            reader.runs(Scope::Board, &error_outcomes, |id, run| {
                states.entry(key(id)).or_default().on_run(run, &params)
            })?;
            let empty = TaskState::default();
            reader.tasks(|task| {
                scanned += 1;
                // A task's state is no longer needed once it is evaluated.
                let st = states.remove(&key(&task.id));
                let rep = report(&task, st.as_ref().unwrap_or(&empty), &mut failures);
                if rep.diagnostics.is_empty() {
                    Ok(())
                } else {
                    emit(rep)
                }
            })?;
        }
    }
    Ok(Scan {
        tasks_scanned: scanned,
        failures,
    })
}
