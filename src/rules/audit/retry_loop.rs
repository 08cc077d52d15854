//! The `retry_loop` rule. [`RetryLoop`] carries its documentation.

use serde_json::json;

use super::{Params, TaskFacts, TaskRule};
use crate::rules::support::age_hours;
use crate::rules::{Action, Diagnostic, RuleDoc, Severity, declare_rule};

declare_rule! {
    /// ## What it does
    /// Replays the task's runs and events through the hermes-agent 0.19.0 kernel's counter
    /// rules and fires when the failures since the last reset (completion, operator reclaim,
    /// unblock, reassignment to another profile) have reached the breaker limit while the
    /// task is still `ready`, `running` or `todo`: the breaker should have tripped and did not.
    ///
    /// ## Why is this bad?
    /// The dispatcher will spawn the task again, and it will fail again, for as long as nobody
    /// looks: a kernel from before the unified counter never counted timeouts or crashes, and
    /// hermes-agent 0.15.x re-promoted tripped tasks with the counter reset (upstream #37689,
    /// #62828: 5,400 runs in 11 hours). The stored counter says nothing, so Hermes' own rules
    /// stay silent.
    ///
    /// ## Severity and thresholds
    /// Always `critical`. The limit is the task's `max_retries`, else `kanban.failure_limit`,
    /// else 5 (the unified-counter change's default; stock hermes-agent 0.19.0 uses 2, as
    /// `--defaults hermes-0.19` does). The
    /// data names the limit's source, the streak's outcomes and run ids, its first and last
    /// failure, and the wall-clock hours it has lasted.
    ///
    /// ## Suggested actions
    /// `kanban-doctor migrate --recount --trip` sets the counter and blocks the task as the
    /// breaker would have; read the logs before unblocking it.
    pub struct RetryLoop;
    kind: "retry_loop",
    summary: "A failure loop the breaker should have stopped",
    severities: [Critical],
    config_keys: ["kanban.failure_limit"],
}

impl TaskRule for RetryLoop {
    const DOC: RuleDoc = DOC;

    fn check(f: &TaskFacts<'_>, p: &Params) -> Option<Diagnostic> {
        let streak = f.replay.counter;
        let (limit, source) = f.limit(p);
        if !f.dispatchable() || streak < limit {
            return None;
        }
        let runs = &f.replay.streak;
        let first = runs.first().and_then(|r| r.started_at.or(r.at));
        let last = runs.last().and_then(|r| r.at);
        let hours = first
            .zip(last)
            .and_then(|(a, b)| age_hours(b, &a.into()).ok())
            .map(crate::py::round1);
        let outcomes: Vec<&str> = runs.iter().map(|r| r.outcome).collect();
        let id = f.task.id.py_str();
        let detail = format!(
            "{streak} failures in a row since the last reset, and the breaker limit is {limit} \
             ({}), yet the task is still {}. The dispatcher will keep spawning it.",
            source.as_str(),
            f.status()
        );
        let mut d = Diagnostic::new(
            "retry_loop",
            Severity::Critical,
            format!("Retry loop: {streak} failures, breaker limit {limit}"),
            detail,
        )
        .actions([
            Action::command(
                "Recount and trip the breaker",
                "kanban-doctor migrate --recount --trip",
            )
            .suggested(),
            Action::command("Check logs", format!("hermes kanban log {id}")),
        ])
        .seen(first.unwrap_or(0), last.unwrap_or(0))
        .count(streak)
        .data("streak", streak)
        .data("limit", limit)
        .data("limit_source", source.as_str())
        .data("outcomes", json!(outcomes))
        .data(
            "run_ids",
            json!(runs.iter().filter_map(|r| r.run_id).collect::<Vec<_>>()),
        )
        .data("first_run_at", json!(first))
        .data("last_run_at", json!(last))
        .data("hours_in_loop", json!(hours));
        if let Some(run) = runs.last().and_then(|r| r.run_id) {
            d = d.run_id(run);
        }
        Some(d)
    }

    fn why_not(f: &TaskFacts<'_>, p: &Params) -> String {
        let (limit, source) = f.limit(p);
        if !f.dispatchable() {
            return format!(
                "status {:?} is not dispatchable (ready, running or todo)",
                f.status()
            );
        }
        format!(
            "the recomputed streak {} is below the breaker limit {limit} ({})",
            f.replay.counter,
            source.as_str()
        )
    }
}
