//! The audit's rules: what only a board's run and event history shows.
//!
//! Hermes' diagnostic rules (the parent module) read the failure counter; these rules
//! recompute it. The engine (`crate::audit`) hands each task's whole history to
//! [`replay::replay`], which plays it through the 0.19.0 kernel's counter rules, and each
//! task rule looks at the result ([`TaskFacts`]). Board rules look at what concerns the
//! board rather than one task ([`BoardFacts`]: orphaned rows, dependency cycles, the
//! schema, the file). Like the diagnose rules, each is one file with its documentation as
//! data, behind a registry whose order is evaluation order.

use serde::Serialize;

use super::{Diagnostic, RuleDoc};
use crate::board::history::TaskHead;
use crate::config::{DiagConfig, Origin, Threshold};
use crate::lifecycle::{self, LimitSource};
use crate::py::int::Int;
use crate::py::object::Object;

pub mod breaker_reopened;
pub mod counter_drift;
pub mod dependency_cycle;
pub mod orphaned_rows;
pub mod replay;
pub mod retry_loop;
pub mod run_pointer;
pub mod running_runs;
pub mod schema_outdated;
pub mod sqlite_version;
pub mod storage_integrity;
pub mod wal_on_network_fs;

pub use replay::{Replay, replay};

/// Settings the audit rules read once per run.
#[derive(Debug, Clone)]
pub struct Params {
    /// `kanban.failure_limit`, when it is set to a positive integer.
    pub configured_limit: Option<i64>,
    /// The breaker limit when neither the task nor the config sets one, from the
    /// configuration's set of defaults.
    pub default_limit: i64,
    pub now: i64,
}

/// `kanban.failure_limit` as written, usable or not.
fn failure_limit_setting(cfg: &DiagConfig) -> Option<&Object> {
    cfg.get("kanban").and_then(|k| k.get("failure_limit"))
}

impl Params {
    pub fn new(cfg: &DiagConfig, now: i64) -> Self {
        Params {
            // `int()` of the setting; a limit beyond i64 is never reached by a counter,
            // which SQLite keeps in 64 bits.
            configured_limit: failure_limit_setting(cfg)
                .and_then(|v| v.py_int_exact().ok())
                .filter(|n| *n >= 1)
                .map(|n| n.to_i64().unwrap_or(i64::MAX)),
            default_limit: cfg.defaults().breaker_limit(),
            now,
        }
    }
}

/// The breaker limit of a task without `max_retries`, and where it came from (for the
/// report header).
pub fn breaker_limit(cfg: &DiagConfig) -> Threshold {
    let p = Params::new(cfg, 0);
    let set = failure_limit_setting(cfg).is_some();
    Threshold {
        value: Some(Int::Small(p.configured_limit.unwrap_or(p.default_limit))),
        origin: if set {
            Origin::Key("kanban.failure_limit")
        } else {
            Origin::Default
        },
        fallback: set && p.configured_limit.is_none(),
    }
}

/// The breaker limit that applies to a task, and where it came from.
pub fn task_limit(task: &TaskHead, p: &Params) -> (i64, LimitSource) {
    lifecycle::limit(
        replay::int(&task.max_retries),
        p.configured_limit,
        p.default_limit,
    )
}

/// Where the task's current run pointer leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pointer {
    /// `current_run_id` is NULL.
    None,
    /// It names a run that does not exist (or not this task's).
    Missing(i64),
    /// It names a run that has ended.
    Closed(i64),
    /// It names an open run.
    Open(i64),
}

/// What a task rule sees: the task row, the replayed history and a few counts.
#[derive(Debug)]
pub struct TaskFacts<'a> {
    pub task: &'a TaskHead,
    pub replay: &'a Replay,
    /// Runs with no `ended_at`, by id.
    pub open_runs: Vec<i64>,
    pub pointer: Pointer,
}

impl TaskFacts<'_> {
    /// The stored counter, when it is an integer.
    pub fn stored(&self) -> Option<i64> {
        replay::int(&self.task.consecutive_failures)
    }

    /// The breaker limit that applies to the task, and where it came from.
    pub fn limit(&self, p: &Params) -> (i64, LimitSource) {
        task_limit(self.task, p)
    }

    pub fn status(&self) -> &str {
        self.task.status.as_text().unwrap_or("")
    }

    /// `ready`, `running` or `todo`: the dispatcher will run it (again).
    pub fn dispatchable(&self) -> bool {
        matches!(self.status(), "ready" | "running" | "todo")
    }
}

/// An orphaned row: its task does not exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Orphans {
    pub table: &'static str,
    pub rows: u64,
    /// The first few missing task ids.
    pub task_ids: Vec<String>,
}

/// A dependency cycle: the tasks of one strongly connected component of `task_links`, and
/// one real cycle of links through it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle {
    pub members: Vec<String>,
    /// Each task links (as parent) to the next, and the last to the first.
    pub path: Vec<String>,
}

/// What a board rule sees.
#[derive(Debug, Clone, Default)]
pub struct BoardFacts {
    /// The schema state's label (`current`, `legacy`, `partial`, …) and whether `migrate`
    /// has work to do.
    pub schema_label: String,
    pub schema_needs_migrate: bool,
    /// `wal` or `rollback`, from the header.
    pub journal: &'static str,
    /// The filesystem type under the board, and whether it is a network or FUSE one.
    pub filesystem: Option<String>,
    pub network_filesystem: bool,
    /// `SQLITE_VERSION_NUMBER` of the library that last wrote the board (header).
    pub writer_sqlite: u32,
    /// `quick_check` (or `integrity_check` with `--deep`) and its messages; `ok` alone
    /// means healthy.
    pub check_pragma: &'static str,
    pub check_messages: Vec<String>,
    pub orphans: Vec<Orphans>,
    /// Dependency cycles.
    pub cycles: Vec<Cycle>,
}

/// A rule over one task's replayed history.
pub trait TaskRule {
    const DOC: RuleDoc;
    const KIND: &'static str = Self::DOC.kind;
    fn check(f: &TaskFacts<'_>, p: &Params) -> Option<Diagnostic>;
    /// Why it stays quiet (for `explain`), with the values it compared.
    fn why_not(f: &TaskFacts<'_>, p: &Params) -> String;
}

/// A rule over the board as a whole.
pub trait BoardRule {
    const DOC: RuleDoc;
    const KIND: &'static str = Self::DOC.kind;
    fn check(b: &BoardFacts) -> Vec<Diagnostic>;
}

macro_rules! registry {
    (tasks: [$($task:ty),+ $(,)?], board: [$($board:ty),+ $(,)?] $(,)?) => {
        /// Every audit rule kind: task rules, then board rules, in evaluation order.
        pub const KINDS: &[&str] = &[$(<$task as TaskRule>::KIND,)+ $(<$board as BoardRule>::KIND),+];

        /// Every audit rule's documentation, in registry order.
        pub const DOCS: &[&RuleDoc] = &[$(&<$task as TaskRule>::DOC,)+ $(&<$board as BoardRule>::DOC),+];

        /// The task rules' kinds.
        pub const TASK_KINDS: &[&str] = &[$(<$task as TaskRule>::KIND),+];

        /// Run the task rules (those in `only`, when given), most severe first.
        pub fn check_task(f: &TaskFacts<'_>, p: &Params, only: Option<&[String]>) -> Vec<Diagnostic> {
            let mut out = Vec::new();
            $(
                if only.is_none_or(|o| o.iter().any(|k| k == <$task as TaskRule>::KIND)) {
                    out.extend(<$task>::check(f, p));
                }
            )+
            out.sort_by_key(|d| std::cmp::Reverse(d.severity));
            out
        }

        /// Every task rule's verdict, for `explain`.
        pub fn explain_task(f: &TaskFacts<'_>, p: &Params) -> Vec<(&'static str, super::Verdict)> {
            vec![$(
                (
                    <$task as TaskRule>::KIND,
                    match <$task>::check(f, p) {
                        Some(d) => super::Verdict::Fires { diagnostic: Box::new(d) },
                        None => super::Verdict::Quiet { why: <$task>::why_not(f, p) },
                    },
                )
            ),+]
        }

        /// Run the board rules (those in `only`, when given), most severe first.
        pub fn check_board(b: &BoardFacts, only: Option<&[String]>) -> Vec<Diagnostic> {
            let mut out = Vec::new();
            $(
                if only.is_none_or(|o| o.iter().any(|k| k == <$board as BoardRule>::KIND)) {
                    out.extend(<$board>::check(b));
                }
            )+
            out.sort_by_key(|d| std::cmp::Reverse(d.severity));
            out
        }
    };
}

/// The documentation of the audit rule of this kind.
pub fn doc(kind: &str) -> Option<&'static RuleDoc> {
    DOCS.iter().copied().find(|d| d.kind == kind)
}

registry! {
    tasks: [
        retry_loop::RetryLoop,
        breaker_reopened::BreakerReopened,
        counter_drift::CounterDrift,
        run_pointer::RunPointer,
        running_runs::RunningRuns,
    ],
    board: [
        storage_integrity::StorageIntegrity,
        orphaned_rows::OrphanedRows,
        dependency_cycle::DependencyCycle,
        schema_outdated::SchemaOutdated,
        sqlite_version::SqliteVersion,
        wal_on_network_fs::WalOnNetworkFs,
    ],
}
