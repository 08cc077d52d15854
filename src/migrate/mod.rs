//! `migrate`: plan (pure), back up, apply in one transaction, verify, commit or roll back.
//!
//! The write path follows what went wrong upstream: the schema is re-read inside
//! `BEGIN IMMEDIATE` so two migrators never act on a stale snapshot (Hermes #22800); the
//! lock wait is bounded (#36644); the board's integrity is checked before anything is
//! written; and before COMMIT every table's row count and every task's (id, counter, error)
//! must equal what they were, or the transaction is rolled back and the board is unchanged.

pub mod backup;
pub mod plan;
pub mod recount;
pub mod verify;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::config::DbConfig;
use serde::Serialize;

use crate::board::header::Journal;
use crate::board::reference::{RENAMED, reference};
use crate::board::schema::{Snapshot, State};
use crate::board::{Access, Board};
use crate::error::{Error, Result};
pub use plan::{Plan, Step, Strategy};

/// What the caller asked for.
#[derive(Debug, Clone)]
pub struct Options {
    pub strategy: Strategy,
    pub drop_legacy: bool,
    /// Plan only: `--dry-run` or `--check`.
    pub plan_only: bool,
    pub backup: BackupChoice,
    pub wait: Duration,
    /// `--recount` (with `--trip`): write the counters the history says.
    pub recount: Option<recount::Options>,
}

#[derive(Debug, Clone)]
pub enum BackupChoice {
    Beside,
    At(PathBuf),
    None,
}

/// How each step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepStatus {
    Planned,
    Applied,
    /// The rename was refused by SQLite; the add-and-copy fallback ran instead.
    FellBack,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    #[serde(flatten)]
    pub step: Step,
    pub status: StepStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// The machine report (`--json`) and the source of the human one.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub board: PathBuf,
    /// The journal mode as the header says it (bytes 18-19), in the words `diagnose` and
    /// `audit` use: `PRAGMA journal_mode` reports `delete` for an idle WAL board opened
    /// read-only, which `--check` and `--dry-run` do.
    pub journal_mode: Journal,
    /// The filesystem the board is on, where the platform tells.
    pub filesystem: Option<String>,
    /// Set when the journal mode is unsafe on that filesystem (Hermes #22032).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filesystem_warning: Option<String>,
    pub state_before: State,
    pub state_after: Option<State>,
    /// Legacy counter columns that sit beside their current ones and stay, since only
    /// `--drop-legacy` removes them (`tasks.spawn_failures`, …): what a `partial` board
    /// still has once nothing else is to do.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub legacy_kept: Vec<String>,
    pub steps: Vec<StepReport>,
    pub backup: Option<backup::Backup>,
    pub verification: Option<verify::Verification>,
    /// What `--recount` changes (or would change, with `--dry-run`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recount: Option<recount::Recount>,
    /// True when the board was written.
    pub changed: bool,
    pub dry_run: bool,
}

fn planned(plan: &Plan) -> Vec<StepReport> {
    plan.steps
        .iter()
        .cloned()
        .map(|step| StepReport {
            step,
            status: StepStatus::Planned,
            refused: None,
        })
        .collect()
}

/// Migrate the board at `path`.
pub fn run(path: &Path, opts: &Options) -> Result<Report> {
    let plan_opts = plan::Options {
        strategy: opts.strategy,
        drop_legacy: opts.drop_legacy,
    };
    let access = if opts.plan_only {
        Access::ReadOnly
    } else {
        Access::ReadWrite
    };
    let board = Board::open(path, access, opts.wait)?;
    let err = board.sql_err();
    let journal_mode = board.header.journal;
    let snap = Snapshot::read(&board.conn).map_err(&err)?;
    let state_before = snap.checked_state(path, reference())?;
    let first = plan::plan(&snap, reference(), plan_opts);
    // Refused before anything is written or backed up, for --dry-run and --check too.
    if !first.impossible.is_empty() {
        return Err(Error::CannotAddColumns {
            path: path.to_path_buf(),
            columns: first.impossible.join(", "),
        });
    }
    let mut report = Report {
        board: path.to_path_buf(),
        journal_mode,
        filesystem: board.filesystem.clone(),
        filesystem_warning: board.filesystem_warning(),
        state_before,
        state_after: None,
        legacy_kept: if opts.drop_legacy {
            Vec::new()
        } else {
            RENAMED
                .iter()
                .filter(|(new, old)| snap.has_column("tasks", new) && snap.has_column("tasks", old))
                .map(|(_, old)| format!("tasks.{old}"))
                .collect()
        },
        steps: planned(&first),
        backup: None,
        verification: None,
        recount: None,
        changed: false,
        dry_run: opts.plan_only,
    };
    if let Some(r) = &opts.recount {
        // Read-only: what the recount would write, on the board as it is now.
        let reader = board.reader()?;
        report.recount = Some(recount::plan(&board.conn, reader.snapshot(), r, path)?);
        reader.finish()?;
    }
    let recount_work = report
        .recount
        .as_ref()
        .is_some_and(|r| !r.changes.is_empty());
    if opts.plan_only || (first.is_empty() && !recount_work) {
        return Ok(report);
    }

    // Take the write lock, bounded by busy_timeout, then decide again on what is there now.
    board
        .conn
        .execute_batch("BEGIN IMMEDIATE")
        .map_err(|e| match err(e) {
            // A bounded wait for the write lock ran out: name the likely holder.
            Error::Busy { path, seconds } => Error::Locked { path, seconds },
            other => other,
        })?;
    let outcome = apply_locked(&board, opts, plan_opts, &mut report);
    let discard = |report: &Report| {
        if let Some(b) = &report.backup {
            backup::discard(b);
        }
    };
    match outcome {
        Ok(true) => {
            if let Err(e) = board.conn.execute_batch("COMMIT") {
                // The transaction is still open after a failed COMMIT: end it, keep nothing.
                let _ = board.conn.execute_batch("ROLLBACK");
                discard(&report);
                return Err(match err(e) {
                    // In rollback-journal mode COMMIT waits for readers to finish.
                    Error::Busy { path, seconds } => Error::CommitBlocked { path, seconds },
                    other => other,
                });
            }
            report.changed = true;
        }
        Ok(false) => {
            board.conn.execute_batch("ROLLBACK").map_err(&err)?;
        }
        Err(e) => {
            // Any doubt: nothing is kept, not even the backup of a board left as it was.
            let _ = board.conn.execute_batch("ROLLBACK");
            discard(&report);
            return Err(e);
        }
    }
    Ok(report)
}

/// Inside the write transaction: re-plan, check, back up, apply, verify. `Ok(true)` to commit.
fn apply_locked(
    board: &Board,
    opts: &Options,
    plan_opts: plan::Options,
    report: &mut Report,
) -> Result<bool> {
    let err = board.sql_err();
    let snap = Snapshot::read(&board.conn).map_err(&err)?;
    let state = snap.checked_state(&board.path, reference())?;
    let plan = plan::plan(&snap, reference(), plan_opts);
    if !plan.impossible.is_empty() {
        return Err(Error::CannotAddColumns {
            path: board.path.clone(),
            columns: plan.impossible.join(", "),
        });
    }
    report.state_before = state;
    report.steps = planned(&plan);
    // The recount, planned again under the lock: the board may have moved since.
    if let Some(r) = &opts.recount {
        report.recount = Some(recount::plan(&board.conn, &snap, r, &board.path)?);
    }
    let recount_work = report
        .recount
        .as_ref()
        .is_some_and(|r| !r.changes.is_empty());
    if plan.is_empty() && !recount_work {
        // Another process migrated (or recounted) it between our first look and the lock.
        report.state_after = Some(report.state_before.clone());
        return Ok(false);
    }
    verify::integrity(&board.conn, &board.path)?;
    let projections = verify::projections(&snap, &plan);
    let before = verify::figures(&board.conn, &snap, &projections, false).map_err(&err)?;
    report.backup = match &opts.backup {
        BackupChoice::None => None,
        BackupChoice::Beside => Some(backup::make(&board.path, None, board.wait)?),
        BackupChoice::At(p) => Some(backup::make(&board.path, Some(p), board.wait)?),
    };

    // The migration's own writes (the copy's UPDATE) must not fire the board's triggers:
    // an AFTER UPDATE trigger once rewrote every task_runs row during a copy. Triggers are
    // switched off for this connection only; the board's schema keeps them, and RENAME
    // COLUMN still rewrites their text.
    let triggers = TriggersOff::new(&board.conn).map_err(&err)?;
    let applied = apply_steps(board, &mut report.steps);
    drop(triggers);
    applied?;

    let after_snap = Snapshot::read(&board.conn).map_err(&err)?;
    let after_state = after_snap.state(reference());
    let after = verify::figures(&board.conn, &after_snap, &projections, true).map_err(&err)?;
    verify::integrity(&board.conn, &board.path)?;
    let verification = verify::compare(&before, &after, &after_state, !opts.drop_legacy)?;
    report.state_after = Some(after_state);
    report.verification = Some(verification);

    // The recount writes after the schema is current and verified, under the same lock.
    if let Some(r) = &opts.recount {
        // Planned again on the migrated schema: what is applied is what was just read.
        let planned =
            report
                .recount
                .insert(recount::plan(&board.conn, &after_snap, r, &board.path)?);
        let triggers = TriggersOff::new(&board.conn).map_err(&err)?;
        let applied = recount::apply(&board.conn, &after_snap, planned, r.now, &board.path);
        drop(triggers);
        applied?;
        verify::integrity(&board.conn, &board.path)?;
    }
    Ok(true)
}

/// Triggers disabled on one connection for as long as this guard lives.
struct TriggersOff<'c>(&'c rusqlite::Connection);

impl<'c> TriggersOff<'c> {
    fn new(conn: &'c rusqlite::Connection) -> rusqlite::Result<Self> {
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, false)?;
        Ok(TriggersOff(conn))
    }
}

impl Drop for TriggersOff<'_> {
    fn drop(&mut self) {
        let _ = self
            .0
            .set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, true);
    }
}

/// Run each step in its own SAVEPOINT, falling back from a refused rename to add-and-copy.
fn apply_steps(board: &Board, steps: &mut [StepReport]) -> Result<()> {
    let err = board.sql_err();
    let run = |sql: &[String]| sql.iter().try_for_each(|q| board.conn.execute_batch(q));
    for sr in steps {
        board.conn.execute_batch("SAVEPOINT step").map_err(&err)?;
        let failed = |e: rusqlite::Error| step_error(board, &sr.step, e);
        match (run(&sr.step.sql), &sr.step.fallback) {
            (Ok(()), _) => sr.status = StepStatus::Applied,
            // SQLite refuses a rename that would break a view or trigger (a plain
            // SQLITE_ERROR); add-and-copy instead. Anything else (I/O, a full disk) is
            // not a refusal and ends the migration.
            (Err(e), Some(fallback)) if is_refusal(&e) => {
                // After an I/O error SQLite may have rolled the whole transaction back,
                // savepoint included: report the first error, not "no such savepoint".
                if board.conn.execute_batch("ROLLBACK TO step").is_err() {
                    return Err(failed(e));
                }
                run(fallback).map_err(failed)?;
                sr.status = StepStatus::FellBack;
                sr.refused = Some(e.to_string());
            }
            (Err(e), _) => return Err(failed(e)),
        }
        board.conn.execute_batch("RELEASE step").map_err(&err)?;
    }
    Ok(())
}

/// A refusal by SQLite of the statement itself (a view or trigger in the way, a
/// constraint), as opposed to a failure of the database or the disk under it.
fn is_refusal(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::Unknown | rusqlite::ErrorCode::ConstraintViolation)
    )
}

/// A failed step: `step_failed` when SQLite refused the statement, else the classified
/// error (an I/O failure is not a view in the way).
fn step_error(board: &Board, step: &Step, e: rusqlite::Error) -> Error {
    if is_refusal(&e) {
        Error::StepFailed {
            step: format!("{} {}", step.action.as_str(), step.target),
            message: e.to_string(),
        }
    } else {
        board.sql_err()(e)
    }
}
