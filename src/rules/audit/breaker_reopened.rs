//! The `breaker_reopened` rule. [`BreakerReopened`] carries its documentation.

use serde_json::json;

use super::{Params, TaskFacts, TaskRule};
use crate::rules::{Action, Diagnostic, RuleDoc, Severity, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds each `gave_up` event (the circuit breaker blocking the task) followed by a
    /// transition back to ready or running (`promoted`, `claimed`, or a run that no event
    /// records) with no completion, reclaim, unblock or reassignment in between, while the
    /// failures since the last reset (recomputed from the history) are still at or above the
    /// task's breaker limit: the breaker reopened by itself. The 0.19.0 kernel's readiness
    /// pass promotes a blocked task whose counter is below its limit and keeps the counter
    /// (a clean-exit protocol violation trips with the counter at 1); that bounded recovery
    /// is not flagged.
    ///
    /// ## Why is this bad?
    /// hermes-agent 0.15.0–0.15.2's `recompute_ready` moved breaker-blocked tasks back to
    /// `ready` and set their counter to 0, so a failing task looped forever, tripping and
    /// re-promoting (upstream #37689, #62828: 5,400 runs in 11 hours). Only the event history
    /// shows it: the counter is back at 0 each time.
    ///
    /// ## Severity and thresholds
    /// `error` when it happened once, `critical` when more than once. The data counts the
    /// reopenings and lists when each breaker tripped and what reopened it.
    ///
    /// ## Suggested actions
    /// Upgrade the kernel (0.16.0 and later keep a tripped task blocked), then
    /// `kanban-doctor migrate --recount --trip` to block the task again with a true counter.
    pub struct BreakerReopened;
    kind: "breaker_reopened",
    summary: "The circuit breaker tripped and the task ran again anyway",
    severities: [Error, Critical],
    config_keys: [],
}

impl TaskRule for BreakerReopened {
    const DOC: RuleDoc = DOC;

    fn check(f: &TaskFacts<'_>, _: &Params) -> Option<Diagnostic> {
        let reopened = &f.replay.reopened;
        let n = reopened.len();
        if n == 0 {
            return None;
        }
        let severity = if n > 1 {
            Severity::Critical
        } else {
            Severity::Error
        };
        let times = if n == 1 {
            "once".to_string()
        } else {
            format!("{n} times")
        };
        let first = reopened.first().and_then(|r| r.at).unwrap_or(0);
        let last = reopened.last().and_then(|r| r.at).unwrap_or(0);
        Some(
            Diagnostic::new(
                "breaker_reopened",
                severity,
                format!("Circuit breaker reopened {times}"),
                format!(
                    "The breaker blocked this task (gave_up) and it went back to ready or running \
                     with its failure budget spent and no completion, reclaim, unblock or \
                     reassignment in between: {times}, over {} breaker trip(s). A kernel that \
                     re-promotes tripped tasks (hermes-agent 0.15.x) loops them forever.",
                    f.replay.gave_up
                ),
            )
            .actions([Action::command(
                "Recount and block again",
                "kanban-doctor migrate --recount --trip",
            )
            .suggested()])
            .seen(first, last)
            .count(n)
            .data("reopened", n)
            .data("gave_up_events", f.replay.gave_up)
            .data("reopenings", json!(reopened)),
        )
    }

    fn why_not(f: &TaskFacts<'_>, _: &Params) -> String {
        match f.replay.gave_up {
            0 => "the breaker never tripped (no gave_up event)".into(),
            n => format!(
                "{n} gave_up event(s), none followed by a return to ready or running without a \
                 reset"
            ),
        }
    }
}
