//! The `counter_drift` rule. [`CounterDrift`] carries its documentation.

use serde_json::json;

use super::{Params, TaskFacts, TaskRule};
use crate::rules::{Action, Diagnostic, RuleDoc, Severity, declare_rule};

declare_rule! {
    /// ## What it does
    /// Compares the stored `consecutive_failures` (or the legacy `spawn_failures`) with the
    /// counter the hermes-agent 0.19.0 kernel would hold after this task's history, replayed
    /// run by run and event by event: +1 for each spawn failure (including the run the spawn
    /// path closes as `gave_up`), timeout and crash; nothing for rate limits, stale reclaims,
    /// successful spawns and protocol violations below their own budget; back to 0 on a
    /// completion, an operator reclaim, an unblock or a reassignment to another profile.
    ///
    /// ## Why is this bad?
    /// The breaker trips on the stored counter. A kernel from before the unified counter never
    /// counted timeouts or crashes and cleared the count on every successful spawn, and
    /// `migrate` carries that value over faithfully: the new kernel then starts the task's
    /// budget from zero, and trips late or never. A stored value above the history means a
    /// tool or a hand edited it, and the breaker will trip early.
    ///
    /// ## Severity and thresholds
    /// `error` when the stored value is below the recomputed one, `warning` when it is above.
    /// The data holds both values and the run ids that make up the streak.
    ///
    /// ## Suggested actions
    /// `kanban-doctor migrate --recount` writes the recomputed counters, with a backup and a
    /// verification, in one transaction.
    pub struct CounterDrift;
    kind: "counter_drift",
    summary: "The stored failure counter disagrees with the run history",
    severities: [Warning, Error],
    config_keys: [],
}

impl TaskRule for CounterDrift {
    const DOC: RuleDoc = DOC;

    fn check(f: &TaskFacts<'_>, _: &Params) -> Option<Diagnostic> {
        let stored = f.stored().unwrap_or(0);
        let recomputed = f.replay.counter;
        if stored == recomputed {
            return None;
        }
        let (severity, title, why) = if stored < recomputed {
            (
                Severity::Error,
                format!("Counter drift: stored {stored}, history says {recomputed}"),
                "the breaker will trip late or never",
            )
        } else {
            (
                Severity::Warning,
                format!("Counter drift: stored {stored}, history says {recomputed}"),
                "the breaker will trip early",
            )
        };
        let runs: Vec<i64> = f.replay.streak.iter().filter_map(|r| r.run_id).collect();
        let detail = format!(
            "consecutive_failures is {stored}, but replaying the task's runs and events \
             through the hermes-agent 0.19.0 kernel gives {recomputed}: {why}."
        );
        let last = f.replay.streak.last().and_then(|r| r.at).unwrap_or(0);
        Some(
            Diagnostic::new("counter_drift", severity, title, detail)
                .actions([
                    Action::command("Recount", "kanban-doctor migrate --recount").suggested(),
                ])
                .seen_at(last)
                .data("stored", stored)
                .data("recomputed", recomputed)
                .data("streak_run_ids", json!(runs)),
        )
    }

    fn why_not(f: &TaskFacts<'_>, _: &Params) -> String {
        format!(
            "the stored counter {} equals the recomputed one",
            f.stored().unwrap_or(0)
        )
    }
}
