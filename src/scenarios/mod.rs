//! Seeded scenarios: the unified-counter change's own verification, made reproducible.
//!
//! The change was checked by seeding tasks (3 timeouts, 4 crashes, mixed failures, a
//! recovered task, …) and looking at what the board flagged. Here each scenario is a list
//! of attempt outcomes played through the kernel model (`kernel`), written as boards
//! (`write`), and checked against what `diagnose` must say about it (`verify`): on a board
//! the fixed kernel wrote, every failure loop flagged with the right title and action; on
//! one the old kernel wrote, the blind spot the fix closed.

pub mod driver;
pub mod junit;
pub mod kernel;
pub mod text;
pub mod verify;
pub mod write;

use kernel::{Kernel, Outcome, Semantics};

/// What `diagnose` must report for a scenario's task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// No diagnostics at all.
    Clean,
    /// Exactly one diagnostic of `kind` whose title starts with `title`, naming
    /// `outcome` as the most recent failure (for `repeated_failures`), with a suggested
    /// action whose label starts with `action`.
    Flag {
        kind: &'static str,
        title: &'static str,
        outcome: Option<&'static str>,
        action: &'static str,
    },
}

/// One seeded scenario.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    pub name: &'static str,
    pub about: &'static str,
    pub outcomes: &'static [Outcome],
    /// On a board the unified kernel wrote.
    pub unified: Expect,
    /// On a board the old kernel wrote.
    pub old_kernel: Expect,
}

use Outcome::{Completed, Crashed, Reclaimed, SpawnFailed, TimedOut};

const LOGS: &str = "Check logs: hermes kanban log";

const fn failures(title: &'static str, outcome: &'static str) -> Expect {
    Expect::Flag {
        kind: "repeated_failures",
        title,
        outcome: Some(outcome),
        action: LOGS,
    }
}

/// The scenarios, in board order. Task ids follow this order (`t_00000001`, …).
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "timeout-loop",
        about: "3 timeouts",
        outcomes: &[TimedOut, TimedOut, TimedOut],
        unified: failures("Agent timeout x3", "timed_out"),
        old_kernel: Expect::Clean,
    },
    Scenario {
        name: "crash-loop",
        about: "4 crashes",
        outcomes: &[Crashed, Crashed, Crashed, Crashed],
        unified: failures("Agent crash x4", "crashed"),
        old_kernel: Expect::Flag {
            kind: "repeated_crashes",
            title: "Agent crashed 4x",
            outcome: None,
            action: LOGS,
        },
    },
    Scenario {
        name: "mixed",
        about: "2 spawn failures then 2 timeouts",
        outcomes: &[SpawnFailed, SpawnFailed, TimedOut, TimedOut],
        unified: failures("Agent timeout x4", "timed_out"),
        old_kernel: Expect::Clean,
    },
    Scenario {
        name: "recovered",
        about: "a crash and a timeout, then completed",
        outcomes: &[Crashed, TimedOut, Completed],
        unified: Expect::Clean,
        old_kernel: Expect::Clean,
    },
    Scenario {
        name: "breaker-tripped",
        about: "5 timeouts: blocked by the breaker, gave_up",
        outcomes: &[TimedOut, TimedOut, TimedOut, TimedOut, TimedOut],
        unified: failures("Agent timeout x5", "timed_out"),
        old_kernel: Expect::Clean,
    },
    Scenario {
        name: "reclaimed",
        about: "2 crashes, then an operator reclaim",
        outcomes: &[Crashed, Crashed, Reclaimed],
        unified: Expect::Clean,
        old_kernel: Expect::Clean,
    },
];

/// When every scenario starts; they run side by side from here.
pub const START: i64 = 1_796_000_000;
/// A clock just after every scenario has finished (the longest takes 16 steps of 60 s),
/// and before any ready task would count as stranded (30 min).
pub const NOW: i64 = START + 1200;
/// The breaker limit each seeded task carries as `max_retries`, like the kernel fixture:
/// hermes-agent 0.19.0's timeout and crash paths ignore the configured limit.
pub const MAX_RETRIES: i64 = 5;
/// Seconds a worker may run before it is timed out.
pub const MAX_RUNTIME: i64 = 90;
/// The profile every seeded task is assigned to.
pub const ASSIGNEE: &str = "coder";

/// The task id of the scenario at `index` in [`SCENARIOS`].
pub fn task_id(index: usize) -> String {
    format!("t_{:08x}", index + 1)
}

/// Find scenarios by name; all of them when `names` is empty.
pub fn select(names: &[String]) -> Result<Vec<(usize, &'static Scenario)>, String> {
    if names.is_empty() {
        return Ok(SCENARIOS.iter().enumerate().collect());
    }
    names
        .iter()
        .map(|n| {
            SCENARIOS
                .iter()
                .enumerate()
                .find(|(_, s)| s.name == n)
                .ok_or_else(|| {
                    let all: Vec<_> = SCENARIOS.iter().map(|s| s.name).collect();
                    format!(
                        "unknown scenario {n:?}; the scenarios are: {}",
                        all.join(", ")
                    )
                })
        })
        .collect()
}

/// Play the selected scenarios through a kernel of the given semantics.
pub fn play(selected: &[(usize, &Scenario)], semantics: Semantics) -> Kernel {
    let mut k = Kernel::new(semantics, MAX_RETRIES, START);
    for (index, s) in selected {
        k.set_clock(START);
        let t = k.create_task(
            &task_id(*index),
            s.name,
            ASSIGNEE,
            Some(MAX_RETRIES),
            Some(MAX_RUNTIME),
        );
        for o in s.outcomes {
            k.apply(t, *o);
        }
    }
    k
}

/// What `simulate` shows: each outcome with what the kernel did (or the status that kept
/// the dispatcher from running it), and a note on the semantics and limit used.
pub struct Simulation {
    pub steps: Vec<(String, Result<kernel::Applied, String>)>,
    pub note: String,
}

/// Play `outcomes` through one task of the kernel model.
pub fn simulate(
    outcomes: &[kernel::Outcome],
    semantics: kernel::Semantics,
    limit: i64,
    max_retries: Option<i64>,
) -> Simulation {
    let mut k = kernel::Kernel::new(semantics, limit, START);
    let t = k.create_task(
        "t_00000001",
        "simulated",
        ASSIGNEE,
        max_retries,
        Some(MAX_RUNTIME),
    );
    // A task the breaker blocked (or that finished) is not run again; say why per step.
    let steps = outcomes
        .iter()
        .map(|o| {
            let applied = k.apply(t, *o).ok_or_else(|| k.tasks[t].status.clone());
            (o.as_str().to_string(), applied)
        })
        .collect();
    let note = match (semantics, max_retries) {
        (kernel::Semantics::Legacy, _) => {
            format!("legacy semantics: only spawn failures count toward the limit of {limit}")
        }
        (_, Some(n)) => format!("unified semantics, max_retries {n}"),
        (_, None) => format!("unified semantics, limit {limit}"),
    };
    Simulation { steps, note }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_ends_where_its_story_says() {
        let k = play(&select(&[]).unwrap(), Semantics::Unified);
        let end: Vec<(&str, &str, i64)> = k
            .tasks
            .iter()
            .map(|t| (t.title.as_str(), t.status.as_str(), t.consecutive_failures))
            .collect();
        assert_eq!(
            end,
            [
                ("timeout-loop", "ready", 3),
                ("crash-loop", "ready", 4),
                ("mixed", "ready", 4),
                ("recovered", "done", 0),
                ("breaker-tripped", "blocked", 5),
                ("reclaimed", "ready", 0),
            ]
        );
        assert!(
            k.events.iter().all(|e| e.created_at < NOW),
            "scenarios must finish before NOW"
        );
    }

    #[test]
    fn unknown_scenarios_are_named_in_the_error() {
        assert!(
            select(&["nope".into()])
                .unwrap_err()
                .contains("timeout-loop")
        );
    }
}
