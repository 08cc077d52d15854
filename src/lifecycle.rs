//! The failure counter's lifecycle in the hermes-agent 0.19.0 kernel, as pure rules.
//!
//! Two users share these rules, so they cannot disagree: the scenario kernel
//! (`scenarios::kernel`), which plays outcomes forward to write boards, and the audit's
//! replay (`rules::audit::replay`), which reads a board's history back to recompute the
//! counter the kernel should hold. Each rule below cites the function of
//! `hermes_cli/kanban_db.py` (0.19.0) that it models.
//!
//! What moves `tasks.consecutive_failures`:
//! - **+1** for every non-success outcome that goes through `_record_task_failure`: a spawn
//!   failure (the dispatcher's spawn path, which closes the run as `spawn_failed`, or as
//!   `gave_up` when that failure trips the breaker: the failure still counts), a timeout
//!   (`enforce_max_runtime`) and a crash (`detect_crashed_workers`).
//! - **Neutral**: a `rate_limited` exit (`detect_crashed_workers` requeues it "without
//!   counting a failure"), a stale reclaim (`detect_stale_running` and
//!   `release_stale_claims` close the run and never call `_record_task_failure`), a
//!   clean-exit protocol violation below its own budget (`detect_crashed_workers` counts
//!   those in a separate streak; only the one that trips, with `force_trip`, adds 1), a
//!   successful spawn (`_clear_failure_counter` is "NOT called on spawn success anymore"),
//!   and every other outcome (`blocked`, `scheduled`, …).
//! - **Reset to 0**: a completion (`complete_task` → `_clear_failure_counter`), an operator
//!   reclaim (`reclaim_task`, whose event carries `manual: true`), an unblock
//!   (`unblock_task`), and a reassignment to a different profile (`assign_task`; the same
//!   profile keeps its streak).
//!
//! The breaker trips when the counter reaches the effective limit: the task's
//! `max_retries`, else the configured `kanban.failure_limit`, else the default. Stock
//! 0.19.0's default (`DEFAULT_FAILURE_LIMIT`) is 2; kanban-doctor uses the unified-counter
//! change's 5 unless told otherwise. The caller passes the default in
//! (`config::Defaults::breaker_limit`), so these rules read no configuration.
//!
//! The legacy kernel (before the unified counter) counted only spawn failures and cleared
//! the count on every successful spawn; [`Semantics::Legacy`] models it for the scenarios.

use serde::Serialize;

/// Which kernel's rules to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Semantics {
    /// Every non-success outcome counts (the fix).
    Unified,
    /// Only spawn failures count; a successful spawn clears the counter (before the fix).
    Legacy,
}

/// A non-success outcome that the unified kernel counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    SpawnFailed,
    TimedOut,
    Crashed,
}

impl Failure {
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::SpawnFailed => "spawn_failed",
            Failure::TimedOut => "timed_out",
            Failure::Crashed => "crashed",
        }
    }

    /// The failure a run outcome records, if it is one. `gave_up` is the outcome the spawn
    /// path gives the run whose failure tripped the breaker (`_record_task_failure` with
    /// `end_run`): a spawn failure all the same.
    pub fn from_run_outcome(outcome: &str) -> Option<Failure> {
        match outcome {
            "spawn_failed" | "gave_up" => Some(Failure::SpawnFailed),
            "timed_out" => Some(Failure::TimedOut),
            "crashed" => Some(Failure::Crashed),
            _ => None,
        }
    }
}

/// What clears the counter, and the 0.19.0 function that does it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reset {
    /// `complete_task` calls `_clear_failure_counter`.
    Completed,
    /// `reclaim_task` (an operator's reclaim) calls `_clear_failure_counter`.
    OperatorReclaim,
    /// `unblock_task` sets the counter to 0: "a deliberate unblock is a fresh start".
    Unblocked,
    /// `assign_task` to a different profile: the new profile does not inherit the streak.
    Reassigned,
}

impl Reset {
    pub fn as_str(self) -> &'static str {
        match self {
            Reset::Completed => "completed",
            Reset::OperatorReclaim => "operator reclaim",
            Reset::Unblocked => "unblocked",
            Reset::Reassigned => "reassigned",
        }
    }
}

/// One step of a task's history, as far as the counter is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A counted failure.
    Failure(Failure),
    /// A clearing action.
    Reset(Reset),
    /// A worker started. Neutral for the unified kernel; the legacy one cleared here.
    Spawned,
    /// Anything else: rate limits, stale reclaims, protocol violations below their budget.
    Neutral,
}

/// Whether `failure` adds to the counter under `semantics`.
pub fn counts(semantics: Semantics, failure: Failure) -> bool {
    match semantics {
        Semantics::Unified => true,
        Semantics::Legacy => failure == Failure::SpawnFailed,
    }
}

/// The counter after `step`, from `counter`.
pub fn next(semantics: Semantics, counter: i64, step: Step) -> i64 {
    match step {
        Step::Failure(f) if counts(semantics, f) => counter.saturating_add(1),
        Step::Reset(_) => 0,
        Step::Spawned if semantics == Semantics::Legacy => 0,
        _ => counter,
    }
}

/// Where a breaker limit came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitSource {
    /// The task's own `max_retries`.
    Task,
    /// `kanban.failure_limit` in the configuration.
    Config,
    /// Neither is set: the default the caller passed.
    Default,
}

impl LimitSource {
    pub fn as_str(self) -> &'static str {
        match self {
            LimitSource::Task => "task",
            LimitSource::Config => "config",
            LimitSource::Default => "default",
        }
    }
}

/// The effective breaker limit, resolved in `_record_task_failure`'s order: the task's
/// `max_retries`, the configured limit, then `default`.
pub fn limit(
    max_retries: Option<i64>,
    configured: Option<i64>,
    default: i64,
) -> (i64, LimitSource) {
    match (max_retries, configured) {
        (Some(n), _) => (n, LimitSource::Task),
        (None, Some(n)) => (n, LimitSource::Config),
        (None, None) => (default, LimitSource::Default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn play(sem: Semantics, steps: &[Step]) -> i64 {
        steps.iter().fold(0, |c, s| next(sem, c, *s))
    }

    #[test]
    fn every_failure_counts_and_spawns_do_not_clear_under_unified_semantics() {
        use Failure::*;
        let steps = [
            Step::Failure(SpawnFailed),
            Step::Spawned,
            Step::Failure(TimedOut),
            Step::Spawned,
            Step::Failure(Crashed),
            Step::Neutral,
        ];
        assert_eq!(play(Semantics::Unified, &steps), 3);
    }

    #[test]
    fn the_legacy_kernel_counts_only_spawn_failures_and_forgets_on_spawn() {
        use Failure::*;
        let steps = [
            Step::Failure(SpawnFailed),
            Step::Failure(SpawnFailed),
            Step::Spawned,
            Step::Failure(TimedOut),
        ];
        assert_eq!(play(Semantics::Legacy, &steps), 0);
        assert_eq!(play(Semantics::Legacy, &steps[..2]), 2);
    }

    #[test]
    fn each_reset_clears_the_counter() {
        for r in [
            Reset::Completed,
            Reset::OperatorReclaim,
            Reset::Unblocked,
            Reset::Reassigned,
        ] {
            let steps = [Step::Failure(Failure::Crashed), Step::Reset(r)];
            assert_eq!(play(Semantics::Unified, &steps), 0, "{r:?}");
        }
    }

    #[test]
    fn a_gave_up_run_is_a_spawn_failure() {
        assert_eq!(
            Failure::from_run_outcome("gave_up"),
            Some(Failure::SpawnFailed)
        );
        assert_eq!(Failure::from_run_outcome("rate_limited"), None);
        assert_eq!(Failure::from_run_outcome("stale"), None);
    }

    #[test]
    fn the_task_limit_wins_over_the_configured_one_and_then_the_default() {
        assert_eq!(limit(Some(2), Some(7), 5), (2, LimitSource::Task));
        assert_eq!(limit(None, Some(7), 5), (7, LimitSource::Config));
        assert_eq!(limit(None, None, 5), (5, LimitSource::Default));
        assert_eq!(limit(None, None, 2), (2, LimitSource::Default));
    }
}
