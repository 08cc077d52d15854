//! `scenarios driver`: a Python script that plays the seeded scenarios through a real kernel.
//!
//! The model in `kernel` is checked against the kernel it models by playing the same
//! scenarios through hermes-agent's own functions and comparing the boards
//! (`fixtures/kernels/`). That play needs the kernel importable, so it is Python:
//! `driver.py`, a readable standard-library script kept in the crate, with one placeholder
//! line this module fills with a JSON spec — the scenarios (names and outcomes, from
//! [`SCENARIOS`]) and the constants of the play. The scenario list lives here only, so a
//! new scenario reaches the driver without touching Python.

use serde::Serialize;

use super::kernel::{FIRST_PID, Outcome, RECLAIM_REASON, SPAWN_ERROR, STEP};
use super::{ASSIGNEE, MAX_RETRIES, MAX_RUNTIME, SCENARIOS, START};

/// The script, with [`PLACEHOLDER`] where the spec goes.
const TEMPLATE: &str = include_str!("driver.py");
/// The only occurrence of this text in `driver.py` is inside a raw triple-quoted string.
const PLACEHOLDER: &str = "__KANBAN_DOCTOR_SPEC__";

// Where the driver and the model differ, the driver keeps the values that wrote the
// committed boards in fixtures/kernels/, so that replaying a kernel gives the same bytes.

/// The claimer id the driver patches in (`host:pid`). The model writes
/// `kernel::CLAIMER` (`kanban-doctor:4242`); the kernel boards carry this one.
const DRIVER_CLAIMER: &str = "kernel-fixture:4242";
/// Seconds the clock jumps between two scenarios. The model runs every scenario side by
/// side from `START`; a real kernel shares one clock across tasks, so the driver plays
/// them one after another, an hour apart, to keep each scenario's timestamps its own.
const DRIVER_GAP: i64 = 3600;

/// What the driver plays, as it reads it from `SPEC`.
#[derive(Serialize)]
struct Spec {
    kanban_doctor: &'static str,
    scenarios: Vec<SpecScenario>,
    start: i64,
    step: i64,
    gap: i64,
    max_retries: i64,
    max_runtime: i64,
    assignee: &'static str,
    claimer: &'static str,
    first_pid: i64,
    spawn_error: &'static str,
    reclaim_reason: &'static str,
}

#[derive(Serialize)]
struct SpecScenario {
    name: &'static str,
    outcomes: &'static [Outcome],
}

fn spec() -> Spec {
    Spec {
        kanban_doctor: env!("CARGO_PKG_VERSION"),
        scenarios: SCENARIOS
            .iter()
            .map(|s| SpecScenario {
                name: s.name,
                outcomes: s.outcomes,
            })
            .collect(),
        start: START,
        step: STEP,
        gap: DRIVER_GAP,
        max_retries: MAX_RETRIES,
        max_runtime: MAX_RUNTIME,
        assignee: ASSIGNEE,
        claimer: DRIVER_CLAIMER,
        first_pid: FIRST_PID,
        spawn_error: SPAWN_ERROR,
        reclaim_reason: RECLAIM_REASON,
    }
}

/// The driver script, its spec filled in.
pub fn script() -> String {
    let json = serde_json::to_string_pretty(&spec()).expect("the spec serializes");
    TEMPLATE.replacen(PLACEHOLDER, &json, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_has_one_placeholder_inside_a_raw_string() {
        assert_eq!(TEMPLATE.matches(PLACEHOLDER).count(), 1);
        assert!(TEMPLATE.contains(&format!("json.loads(r\"\"\"{PLACEHOLDER}\"\"\")")));
    }

    #[test]
    fn the_spec_cannot_end_the_raw_string_early() {
        // In a raw triple-quoted string only `"""` ends the string, and JSON never has
        // three quotes in a row (an escaped quote is `\"`); a trailing backslash cannot
        // occur either, the object ends in `}`.
        let json = serde_json::to_string_pretty(&spec()).unwrap();
        assert!(!json.contains("\"\"\""));
        assert!(json.ends_with('}'));
    }
}
