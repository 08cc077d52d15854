//! Replay one task's history through the 0.19.0 kernel's counter rules (`crate::lifecycle`).
//!
//! The history is the task's events in id order (the order the kernel appended them), with
//! the runs that no event accounts for merged in by time. Most steps come from events,
//! because the 0.19.0 kernel writes an event for everything that moves the counter and
//! points it at the run it closed (`spawn_failed`, `timed_out`, `crashed`, `gave_up`,
//! `completed`, `reclaimed`, …). A run that no closing event names (a board written by an
//! older kernel or another tool) stands for itself: its outcome is the step, at its
//! `ended_at`; its start, where no `claimed` event names it, is a transition to running.
//!
//! Alongside the counter, the replay tracks the breaker: after a `gave_up`, a `promoted`,
//! a `claimed` or a new run with no completion, reclaim, unblock or reassignment in between,
//! while the recomputed counter is at or above the task's limit, is the breaker reopening
//! (hermes-agent 0.15.x's `recompute_ready` did this, resetting the counter; upstream
//! #37689). Below the limit it is the 0.19.0 kernel's own bounded recovery.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::board::history::{HistEvent, HistRun, History};
use crate::lifecycle::{self, Failure, Reset, Semantics, Step};
use crate::py;
use crate::py::object::{Dict, Object};
use crate::py::value::Value;

/// A cell as an integer, when it holds one (INTEGER, or REAL/TEXT that `int()` reads).
pub fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Null => None,
        other => other.int_or_zero().ok().and_then(|i| i.to_i64()),
    }
}

/// One counted failure of the current streak.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreakRun {
    pub run_id: Option<i64>,
    pub outcome: &'static str,
    /// When the attempt started (its run's `started_at`), when known.
    pub started_at: Option<i64>,
    /// When it failed.
    pub at: Option<i64>,
}

/// A breaker that reopened: a `gave_up` and the transition that undid it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reopen {
    pub gave_up_at: Option<i64>,
    /// `promoted`, `claimed` or `run started`.
    pub via: String,
    pub at: Option<i64>,
    /// The recomputed counter when it reopened (at or above the limit).
    pub counter: i64,
}

/// Where a step came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Event,
    Run,
}

/// One line of a task's timeline, for `explain`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub source: Source,
    pub id: Option<i64>,
    pub at: Option<i64>,
    /// The event kind, or the run's outcome (`open` for a run still going).
    pub what: String,
    /// For runs: how long it took, in seconds.
    pub duration: Option<i64>,
    /// For runs and failure events: the first line of the error.
    pub error: Option<String>,
    /// What the step did to the counter: `+1 timed_out`, `reset (unblocked)`, `breaker
    /// reopened`, or nothing.
    pub effect: Option<String>,
    /// The counter the 0.19.0 kernel would hold after this step.
    pub counter: i64,
    /// The counter the board recorded at this step (`failures` in the payload or run
    /// metadata), when it recorded one.
    pub recorded: Option<i64>,
}

/// What the replay found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Replay {
    /// The counter the 0.19.0 kernel would hold now.
    pub counter: i64,
    /// The failures since the last reset, oldest first.
    pub streak: Vec<StreakRun>,
    /// The newest counted failure's error, cut to 500 code points as the kernel stores it.
    pub last_error: Option<String>,
    /// Every time the breaker reopened.
    pub reopened: Vec<Reopen>,
    /// The number of `gave_up` events.
    pub gave_up: usize,
    /// The timeline, when asked for.
    pub entries: Vec<Entry>,
}

/// Event kinds that close the run they name.
const CLOSING_KINDS: &[&str] = &[
    "spawn_failed",
    "timed_out",
    "crashed",
    "gave_up",
    "protocol_violation",
    "rate_limited",
    "completed",
    "reclaimed",
    "stale",
    "blocked",
    "scheduled",
];

fn text(v: &Value) -> Option<&str> {
    v.as_text()
}

fn payload(ev: &HistEvent) -> Dict {
    match ev.payload.as_text().and_then(py::json::loads) {
        Some(Object::Dict(m)) => *m,
        _ => Dict::default(),
    }
}

fn metadata(run: &HistRun) -> Dict {
    match run.metadata.as_text().and_then(py::json::loads) {
        Some(Object::Dict(m)) => *m,
        _ => Dict::default(),
    }
}

fn first_line(v: &Value) -> Option<String> {
    let t = text(v)?;
    let line = py::first_line(py::strip(t)).unwrap_or("");
    (!line.is_empty()).then(|| py::take_chars(line, 160).to_string())
}

/// A clean-exit protocol violation, recognised as `_protocol_violation_streak` does: the
/// marker in the run's metadata, else the words in its error.
fn protocol_violation(run: &HistRun) -> bool {
    metadata(run)
        .get("protocol_violation")
        .is_some_and(Object::truthy)
        || text(&run.error).is_some_and(|e| e.contains("protocol violation"))
}

struct Replayer<'h> {
    runs: &'h [HistRun],
    run_index: HashMap<i64, usize>,
    keep_entries: bool,
    /// The task's effective breaker limit.
    limit: i64,
    out: Replay,
    /// The breaker has tripped and nothing has legitimately reopened it since.
    tripped_at: Option<Option<i64>>,
    assignee: Option<String>,
}

impl<'h> Replayer<'h> {
    fn run(&self, id: Option<i64>) -> Option<&'h HistRun> {
        id.and_then(|id| self.run_index.get(&id))
            .map(|&i| &self.runs[i])
    }

    fn step(&mut self, step: Step, entry: Entry, run: Option<&HistRun>, failure_error: &Value) {
        let before = self.out.counter;
        let after = lifecycle::next(Semantics::Unified, before, step);
        let mut effect = None;
        match step {
            Step::Failure(f) => {
                effect = Some(format!("+1 {}", f.as_str()));
                self.out.streak.push(StreakRun {
                    run_id: run.and_then(|r| int(&r.id)),
                    outcome: f.as_str(),
                    started_at: run.and_then(|r| int(&r.started_at)),
                    at: entry.at,
                });
                let err = text(failure_error).or_else(|| run.and_then(|r| text(&r.error)));
                if let Some(e) = err {
                    self.out.last_error = Some(py::take_chars(e, 500).to_string());
                }
            }
            Step::Reset(r) => {
                effect = Some(format!("reset ({})", r.as_str()));
                self.out.streak.clear();
                self.out.last_error = None;
                self.tripped_at = None;
            }
            Step::Spawned | Step::Neutral => {}
        }
        self.out.counter = after;
        if self.keep_entries {
            self.out.entries.push(Entry {
                effect: entry.effect.or(effect),
                counter: after,
                ..entry
            });
        }
    }

    /// A transition back to ready or running after the breaker tripped. The 0.19.0
    /// kernel's own readiness pass (`recompute_ready`) promotes a blocked task whose
    /// counter is below its limit, and keeps the counter, so the breaker still holds the
    /// task's budget (a clean-exit protocol violation trips with the counter at 1, for
    /// one). A task that goes back with its budget spent is the breaker reopening.
    fn reopen(&mut self, via: &str, at: Option<i64>) -> Option<String> {
        let gave_up_at = self.tripped_at.take()?;
        if self.out.counter < self.limit {
            return Some("released below the limit".to_string());
        }
        self.out.reopened.push(Reopen {
            gave_up_at,
            via: via.to_string(),
            at,
            counter: self.out.counter,
        });
        Some("breaker reopened".to_string())
    }

    fn event(&mut self, ev: &HistEvent) {
        let kind = text(&ev.kind).unwrap_or("");
        let at = int(&ev.created_at);
        let run = self.run(int(&ev.run_id));
        let p = if ev.payload.is_null() {
            Dict::default()
        } else {
            payload(ev)
        };
        let mut entry = Entry {
            source: Source::Event,
            id: int(&ev.id),
            at,
            what: kind.to_string(),
            duration: None,
            error: None,
            effect: None,
            counter: 0,
            recorded: p.get("failures").and_then(Object::py_int),
        };
        let failure_of = |kind: &str| match kind {
            "spawn_failed" => Some(Failure::SpawnFailed),
            "timed_out" => Some(Failure::TimedOut),
            "crashed" => Some(Failure::Crashed),
            _ => None,
        };
        let step = match kind {
            "created" => {
                self.assignee = p.get("assignee").map(Object::py_str);
                Step::Neutral
            }
            "assigned" => {
                let new = p.get("assignee").map(Object::py_str);
                let changed = self.assignee.is_none() || self.assignee != new;
                self.assignee = new;
                if changed {
                    Step::Reset(Reset::Reassigned)
                } else {
                    Step::Neutral
                }
            }
            "completed" => Step::Reset(Reset::Completed),
            "unblocked" => Step::Reset(Reset::Unblocked),
            "reclaimed" => {
                if p.get("manual").is_some_and(Object::truthy) {
                    Step::Reset(Reset::OperatorReclaim)
                } else {
                    // A stale reclaim: neutral for the counter, but an operator-visible
                    // release that ends the breaker's hold all the same.
                    self.tripped_at = None;
                    Step::Neutral
                }
            }
            "spawned" => Step::Spawned,
            "gave_up" => {
                self.out.gave_up += 1;
                self.tripped_at = Some(at);
                let trigger = p.get("trigger_outcome").and_then(Object::as_str);
                let source = p.get("limit_source").and_then(Object::as_str);
                if source == Some("recount") {
                    // Written by `migrate --recount --trip`: it counted nothing.
                    Step::Neutral
                } else if p.get("protocol_violations").is_some() {
                    // The violation that trips is counted (`force_trip`).
                    Step::Failure(Failure::Crashed)
                } else if trigger == Some("spawn_failed")
                    || run.is_some_and(|r| text(&r.outcome) == Some("gave_up"))
                {
                    // The spawn path's trip: no separate spawn_failed event.
                    Step::Failure(Failure::SpawnFailed)
                } else {
                    // A timeout or crash trip: its own event already counted.
                    Step::Neutral
                }
            }
            "promoted" | "claimed" => {
                entry.effect = self.reopen(kind, at);
                if let Some(p) = run.and_then(|r| text(&r.profile)) {
                    self.assignee.get_or_insert_with(|| p.to_string());
                }
                Step::Neutral
            }
            k => match failure_of(k) {
                Some(Failure::Crashed) if run.is_some_and(protocol_violation) => Step::Neutral,
                Some(f) => Step::Failure(f),
                None => Step::Neutral,
            },
        };
        if matches!(step, Step::Failure(_)) || kind == "reclaimed" || kind == "stale" {
            entry.error = run.and_then(|r| first_line(&r.error));
        }
        let err = run.map_or(&Value::Null, |r| &r.error);
        self.step(step, entry, run, err);
    }

    fn run_start(&mut self, run: &HistRun) {
        let at = int(&run.started_at);
        let effect = self.reopen("run started", at);
        let entry = Entry {
            source: Source::Run,
            id: int(&run.id),
            at,
            what: "run started".into(),
            duration: None,
            error: None,
            effect,
            counter: 0,
            recorded: None,
        };
        self.step(Step::Neutral, entry, Some(run), &Value::Null);
    }

    fn run_end(&mut self, run: &HistRun) {
        let outcome = text(&run.outcome).unwrap_or("");
        let ended = int(&run.ended_at);
        let step = match outcome {
            "completed" => Step::Reset(Reset::Completed),
            "reclaimed" if text(&run.error).is_some_and(|e| e.starts_with("manual_reclaim")) => {
                Step::Reset(Reset::OperatorReclaim)
            }
            "crashed" if protocol_violation(run) => Step::Neutral,
            o => Failure::from_run_outcome(o).map_or(Step::Neutral, Step::Failure),
        };
        let entry = Entry {
            source: Source::Run,
            id: int(&run.id),
            at: ended,
            what: if outcome.is_empty() {
                "ended".into()
            } else {
                outcome.to_string()
            },
            duration: ended.zip(int(&run.started_at)).map(|(e, s)| e - s),
            error: first_line(&run.error),
            effect: None,
            counter: 0,
            recorded: metadata(run).get("failures").and_then(Object::py_int),
        };
        self.step(step, entry, Some(run), &run.error);
    }
}

/// A step a run contributes on its own, ordered by its time.
enum RunStep<'h> {
    Start(&'h HistRun),
    End(&'h HistRun),
}

/// Replay a task's history against its effective breaker `limit`. `keep_entries` keeps
/// the timeline (for `explain`).
pub fn replay(h: &History, limit: i64, keep_entries: bool) -> Replay {
    let run_index: HashMap<i64, usize> = h
        .runs
        .iter()
        .enumerate()
        .filter_map(|(i, r)| int(&r.id).map(|id| (id, i)))
        .collect();
    // Runs whose start or close an event records.
    let mut started: HashSet<i64> = HashSet::new();
    let mut closed: HashSet<i64> = HashSet::new();
    for ev in &h.events {
        let (Some(kind), Some(run)) = (text(&ev.kind), int(&ev.run_id)) else {
            continue;
        };
        if kind == "claimed" {
            started.insert(run);
        } else if CLOSING_KINDS.contains(&kind) {
            closed.insert(run);
        }
    }
    let mut own: Vec<(i64, usize, RunStep<'_>)> = Vec::new();
    for (i, r) in h.runs.iter().enumerate() {
        let id = int(&r.id);
        if id.is_none_or(|id| !started.contains(&id)) {
            own.push((
                int(&r.started_at).unwrap_or(i64::MAX),
                2 * i,
                RunStep::Start(r),
            ));
        }
        let ended = int(&r.ended_at);
        if ended.is_some() && id.is_none_or(|id| !closed.contains(&id)) {
            own.push((ended.unwrap_or(i64::MAX), 2 * i + 1, RunStep::End(r)));
        }
    }
    own.sort_by_key(|(at, order, _)| (*at, *order));

    let mut r = Replayer {
        runs: &h.runs,
        run_index,
        keep_entries,
        limit,
        out: Replay::default(),
        tripped_at: None,
        assignee: None,
    };
    let mut own = own.into_iter().peekable();
    for ev in &h.events {
        let at = int(&ev.created_at).unwrap_or(i64::MAX);
        while let Some((_, _, step)) = own.next_if(|(t, _, _)| *t <= at) {
            match step {
                RunStep::Start(run) => r.run_start(run),
                RunStep::End(run) => r.run_end(run),
            }
        }
        r.event(ev);
    }
    for (_, _, step) in own {
        match step {
            RunStep::Start(run) => r.run_start(run),
            RunStep::End(run) => r.run_end(run),
        }
    }
    r.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::history::{HistEvent, HistRun, History};

    /// A history built step by step: runs and their events, as the 0.19.0 kernel writes
    /// them, one minute apart.
    #[derive(Default)]
    struct Board {
        h: History,
        now: i64,
    }

    impl Board {
        fn tick(&mut self) -> i64 {
            self.now += 60;
            self.now
        }

        fn event(&mut self, kind: &str, run: Option<i64>, payload: Option<&str>) {
            let at = self.tick();
            let id = self.h.events.len() as i64 + 1;
            self.h.events.push(HistEvent {
                id: Value::Int(id),
                run_id: run.map_or(Value::Null, Value::Int),
                kind: Value::Text(kind.into()),
                payload: payload.map_or(Value::Null, |p| Value::Text(p.into())),
                created_at: Value::Int(at),
            });
        }

        /// A claimed run ending in `outcome`, with the kernel's closing event (`event`,
        /// or none for a run no event records).
        fn attempt(&mut self, outcome: &str, event: Option<&str>) -> i64 {
            let id = self.h.runs.len() as i64 + 1;
            let start = self.tick();
            if event.is_some() {
                self.event("claimed", Some(id), None);
            }
            let end = self.tick();
            self.h.runs.push(HistRun {
                id: Value::Int(id),
                status: Value::Text(outcome.into()),
                outcome: Value::Text(outcome.into()),
                profile: Value::Text("coder".into()),
                started_at: Value::Int(start),
                ended_at: Value::Int(end),
                error: Value::Text(format!("{outcome} error")),
                metadata: Value::Null,
            });
            if let Some(kind) = event {
                self.event(kind, Some(id), None);
            }
            id
        }

        fn replay(&self, limit: i64) -> Replay {
            replay(&self.h, limit, true)
        }
    }

    #[test]
    fn timeouts_and_crashes_count_across_successful_spawns() {
        let mut b = Board::default();
        b.event("created", None, Some(r#"{"assignee": "coder"}"#));
        b.attempt("timed_out", Some("timed_out"));
        b.event("spawned", Some(1), None);
        b.attempt("crashed", Some("crashed"));
        let r = b.replay(5);
        assert_eq!(r.counter, 2);
        assert_eq!(
            r.streak.iter().map(|s| s.outcome).collect::<Vec<_>>(),
            ["timed_out", "crashed"]
        );
        assert_eq!(r.last_error.as_deref(), Some("crashed error"));
    }

    #[test]
    fn rate_limits_stale_reclaims_and_violations_are_neutral() {
        let mut b = Board::default();
        b.attempt("crashed", Some("crashed"));
        b.attempt("rate_limited", Some("rate_limited"));
        b.attempt("stale", Some("stale"));
        b.attempt("reclaimed", Some("reclaimed"));
        let v = b.attempt("crashed", Some("protocol_violation"));
        assert_eq!(v, 5);
        assert_eq!(b.replay(5).counter, 1);
    }

    #[test]
    fn each_reset_clears_the_streak() {
        for (kind, payload) in [
            ("completed", None),
            ("unblocked", None),
            ("reclaimed", Some(r#"{"manual": true}"#)),
            ("assigned", Some(r#"{"assignee": "reviewer"}"#)),
        ] {
            let mut b = Board::default();
            b.event("created", None, Some(r#"{"assignee": "coder"}"#));
            b.attempt("timed_out", Some("timed_out"));
            b.event(kind, None, payload);
            let r = b.replay(5);
            assert_eq!((r.counter, r.streak.len()), (0, 0), "{kind}");
        }
    }

    #[test]
    fn reassigning_to_the_same_profile_keeps_the_streak() {
        let mut b = Board::default();
        b.event("created", None, Some(r#"{"assignee": "coder"}"#));
        b.attempt("crashed", Some("crashed"));
        b.event("assigned", None, Some(r#"{"assignee": "coder"}"#));
        assert_eq!(b.replay(5).counter, 1);
    }

    #[test]
    fn the_spawn_path_trip_counts_its_gave_up_run() {
        let mut b = Board::default();
        b.attempt("spawn_failed", Some("spawn_failed"));
        let run = b.attempt("gave_up", None);
        b.event(
            "gave_up",
            Some(run),
            Some(r#"{"failures": 2, "trigger_outcome": "spawn_failed"}"#),
        );
        assert_eq!(b.replay(2).counter, 2);
    }

    #[test]
    fn a_timeout_trip_is_counted_once() {
        let mut b = Board::default();
        b.attempt("timed_out", Some("timed_out"));
        b.event(
            "gave_up",
            None,
            Some(r#"{"failures": 1, "trigger_outcome": "timed_out"}"#),
        );
        let r = b.replay(1);
        assert_eq!((r.counter, r.gave_up), (1, 1));
    }

    #[test]
    fn a_protocol_violation_trip_counts_one() {
        let mut b = Board::default();
        for _ in 0..3 {
            b.attempt("crashed", Some("protocol_violation"));
        }
        b.event(
            "gave_up",
            None,
            Some(r#"{"failures": 1, "protocol_violations": 3}"#),
        );
        assert_eq!(b.replay(5).counter, 1);
    }

    #[test]
    fn a_recount_trip_counts_nothing() {
        let mut b = Board::default();
        b.attempt("spawn_failed", Some("spawn_failed"));
        b.event(
            "gave_up",
            None,
            Some(r#"{"trigger_outcome": "spawn_failed", "limit_source": "recount"}"#),
        );
        assert_eq!(b.replay(1).counter, 1);
    }

    #[test]
    fn promotion_after_a_spent_breaker_is_a_reopening() {
        let mut b = Board::default();
        b.attempt("timed_out", Some("timed_out"));
        b.attempt("timed_out", Some("timed_out"));
        b.event("gave_up", None, Some(r#"{"trigger_outcome": "timed_out"}"#));
        b.event("promoted", None, None);
        b.attempt("timed_out", Some("timed_out"));
        let r = b.replay(2);
        assert_eq!(r.reopened.len(), 1);
        assert_eq!(r.reopened[0].via, "promoted");
        assert_eq!(r.reopened[0].counter, 2);
        assert_eq!(r.counter, 3);
    }

    #[test]
    fn promotion_below_the_limit_is_the_kernels_own_recovery() {
        let mut b = Board::default();
        b.attempt("crashed", Some("protocol_violation"));
        b.event("gave_up", None, Some(r#"{"protocol_violations": 1}"#));
        b.event("promoted", None, None);
        let r = b.replay(2);
        assert!(r.reopened.is_empty());
        assert_eq!(
            r.entries.last().unwrap().effect.as_deref(),
            Some("released below the limit")
        );
    }

    #[test]
    fn an_unblock_between_trip_and_promotion_is_no_reopening() {
        let mut b = Board::default();
        b.attempt("timed_out", Some("timed_out"));
        b.event("gave_up", None, None);
        b.event("unblocked", None, None);
        b.event("promoted", None, None);
        assert!(b.replay(1).reopened.is_empty());
    }

    #[test]
    fn runs_no_event_records_stand_for_themselves_in_time_order() {
        let mut b = Board::default();
        b.attempt("timed_out", None);
        b.attempt("crashed", None);
        b.event("completed", None, None);
        b.attempt("spawn_failed", None);
        let r = b.replay(5);
        assert_eq!(r.counter, 1);
        assert_eq!(r.streak[0].run_id, Some(3));
    }

    #[test]
    fn a_new_run_after_a_spent_breaker_reopens_it_on_a_board_without_claims() {
        let mut b = Board::default();
        b.attempt("timed_out", None);
        b.event("gave_up", None, None);
        b.attempt("timed_out", None);
        let r = b.replay(1);
        assert_eq!(r.reopened.len(), 1);
        assert_eq!(r.reopened[0].via, "run started");
    }
}
