//! A model of the Hermes kernel's failure-counter lifecycle, in two versions.
//!
//! `Unified` is the kernel after the fix (hermes-agent 0.19.0): spawn failures, timeouts
//! and crashes all add one to `consecutive_failures` and record `last_failure_error`; at
//! the effective limit (the task's `max_retries`, else the configured limit) the circuit
//! breaker blocks the task with a `gave_up` event. Only a completion or an operator reclaim
//! clears the counter; a successful spawn does not. `Legacy` is the kernel before it: only
//! spawn failures count, and each successful spawn clears the counter — which is why a
//! worker that spawned and then timed out or crashed was re-spawned forever.
//!
//! Rows carry the fields the 0.19.0 kernel writes (`fixtures/seeded/KERNEL_NOTES.md`):
//! the same run statuses, outcomes, errors and metadata, the same event kinds and payload
//! keys in the same order. Each kernel call advances a deterministic clock by one step, so
//! an attempt is claim at t, spawn at t+60, outcome at t+120, as in the kernel fixture.

use serde::Serialize;
use serde_json::{Map, Value as Json, json};

pub use crate::lifecycle::Semantics;
use crate::lifecycle::{self, Failure, Step};

/// What an attempt ends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    SpawnFailed,
    TimedOut,
    Crashed,
    Completed,
    Reclaimed,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::SpawnFailed,
        Outcome::TimedOut,
        Outcome::Crashed,
        Outcome::Completed,
        Outcome::Reclaimed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::SpawnFailed => "spawn_failed",
            Outcome::TimedOut => "timed_out",
            Outcome::Crashed => "crashed",
            Outcome::Completed => "completed",
            Outcome::Reclaimed => "reclaimed",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s.trim())
    }

    /// The counted failure this outcome is, if any.
    fn failure(self) -> Option<Failure> {
        match self {
            Outcome::SpawnFailed => Some(Failure::SpawnFailed),
            Outcome::TimedOut => Some(Failure::TimedOut),
            Outcome::Crashed => Some(Failure::Crashed),
            Outcome::Completed | Outcome::Reclaimed => None,
        }
    }
}

/// A task row, with the columns the kernel touches.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    pub id: String,
    pub title: String,
    pub assignee: String,
    pub status: String,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub claim_lock: Option<String>,
    pub claim_expires: Option<i64>,
    pub result: Option<String>,
    /// `consecutive_failures`, or `spawn_failures` on a legacy board.
    pub consecutive_failures: i64,
    pub worker_pid: Option<i64>,
    /// `last_failure_error`, or `last_spawn_error` on a legacy board.
    pub last_failure_error: Option<String>,
    pub max_runtime_seconds: Option<i64>,
    pub current_run_id: Option<i64>,
    pub max_retries: Option<i64>,
}

/// A `task_runs` row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    pub id: i64,
    pub task_id: String,
    pub profile: String,
    pub status: String,
    pub claim_lock: Option<String>,
    pub claim_expires: Option<i64>,
    pub worker_pid: Option<i64>,
    pub max_runtime_seconds: Option<i64>,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub outcome: Option<String>,
    pub summary: Option<String>,
    pub metadata: Option<Map<String, Json>>,
    pub error: Option<String>,
}

/// A `task_events` row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub id: i64,
    pub task_id: String,
    pub run_id: Option<i64>,
    pub kind: String,
    pub payload: Option<Map<String, Json>>,
    pub created_at: i64,
}

/// The claimer recorded in claim locks (`host:pid`), fixed for reproducible boards.
pub const CLAIMER: &str = "kanban-doctor:4242";
/// Seconds the clock moves after every kernel call.
pub const STEP: i64 = 60;
/// The first fake worker pid; each spawn takes the next.
pub const FIRST_PID: i64 = 910_001;
/// Claim time-to-live, as the kernel's default.
const CLAIM_TTL: i64 = 900;
/// The spawn error every seeded spawn failure records.
pub const SPAWN_ERROR: &str = "[Errno 2] No such file or directory: 'hermes'";
/// The operator's reason for the seeded reclaim.
pub const RECLAIM_REASON: &str = "operator reclaim after repeated crashes";

fn obj(v: Json) -> Map<String, Json> {
    match v {
        Json::Object(m) => m,
        _ => Map::new(),
    }
}

/// The kernel: a board's rows and the clock, changed only through kernel operations.
#[derive(Debug, Clone)]
pub struct Kernel {
    pub semantics: Semantics,
    /// The configured breaker limit (`kanban.failure_limit`), used when a task has no
    /// `max_retries`.
    pub failure_limit: i64,
    now: i64,
    step: i64,
    next_pid: i64,
    pub tasks: Vec<Task>,
    pub runs: Vec<Run>,
    pub events: Vec<Event>,
}

/// What one outcome did, for `simulate`.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    pub outcome: Outcome,
    pub counter: i64,
    pub status: String,
    pub events: Vec<String>,
    /// The breaker blocked the task on this outcome.
    pub tripped: bool,
}

impl Kernel {
    pub fn new(semantics: Semantics, failure_limit: i64, start: i64) -> Self {
        Kernel {
            semantics,
            failure_limit,
            now: start,
            step: STEP,
            next_pid: FIRST_PID,
            tasks: Vec::new(),
            runs: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Restart the clock (scenarios run side by side from the same instant).
    pub fn set_clock(&mut self, now: i64) {
        self.now = now;
    }

    fn tick(&mut self) -> i64 {
        let t = self.now;
        self.now += self.step;
        t
    }

    fn event(
        &mut self,
        task: usize,
        run_id: Option<i64>,
        kind: &str,
        payload: Option<Map<String, Json>>,
        at: i64,
    ) {
        let id = self.events.len() as i64 + 1;
        let task_id = self.tasks[task].id.clone();
        self.events.push(Event {
            id,
            task_id,
            run_id,
            kind: kind.into(),
            payload,
            created_at: at,
        });
    }

    /// `create_task`: a ready task and its `created` event.
    pub fn create_task(
        &mut self,
        id: &str,
        title: &str,
        assignee: &str,
        max_retries: Option<i64>,
        max_runtime: Option<i64>,
    ) -> usize {
        let at = self.tick();
        self.tasks.push(Task {
            id: id.into(),
            title: title.into(),
            assignee: assignee.into(),
            status: "ready".into(),
            created_at: at,
            started_at: None,
            completed_at: None,
            claim_lock: None,
            claim_expires: None,
            result: None,
            consecutive_failures: 0,
            worker_pid: None,
            last_failure_error: None,
            max_runtime_seconds: max_runtime,
            current_run_id: None,
            max_retries,
        });
        let t = self.tasks.len() - 1;
        let payload = obj(json!({
            "assignee": assignee, "status": "ready", "parents": [], "tenant": null,
            "branch_name": null, "skills": null, "goal_mode": null,
        }));
        self.event(t, None, "created", Some(payload), at);
        t
    }

    /// `claim_task`: ready → running, with a new run and a `claimed` event.
    fn claim(&mut self, t: usize) {
        let at = self.tick();
        let run_id = self.runs.len() as i64 + 1;
        let expires = at + CLAIM_TTL;
        let task = &mut self.tasks[t];
        task.status = "running".into();
        task.claim_lock = Some(CLAIMER.into());
        task.claim_expires = Some(expires);
        task.started_at.get_or_insert(at);
        task.current_run_id = Some(run_id);
        let run = Run {
            id: run_id,
            task_id: task.id.clone(),
            profile: task.assignee.clone(),
            status: "running".into(),
            claim_lock: Some(CLAIMER.into()),
            claim_expires: Some(expires),
            worker_pid: None,
            max_runtime_seconds: task.max_runtime_seconds,
            started_at: at,
            ended_at: None,
            outcome: None,
            summary: None,
            metadata: None,
            error: None,
        };
        self.runs.push(run);
        let payload = obj(json!({"lock": CLAIMER, "expires": expires, "run_id": run_id}));
        self.event(t, Some(run_id), "claimed", Some(payload), at);
    }

    /// The worker started: its pid on the task and run, and a `spawned` event.
    fn spawned(&mut self, t: usize) -> i64 {
        let at = self.tick();
        let pid = self.next_pid;
        self.next_pid += 1;
        let run_id = self.tasks[t].current_run_id;
        self.tasks[t].worker_pid = Some(pid);
        if let Some(run) = run_id.and_then(|id| self.runs.iter_mut().find(|r| r.id == id)) {
            run.worker_pid = Some(pid);
        }
        self.event(t, run_id, "spawned", Some(obj(json!({"pid": pid}))), at);
        // The legacy kernel took a good spawn as proof of health; the unified one does not.
        let counter = &mut self.tasks[t].consecutive_failures;
        *counter = lifecycle::next(self.semantics, *counter, Step::Spawned);
        if *counter == 0 {
            self.tasks[t].last_failure_error = None;
        }
        pid
    }

    /// Close the task's current run (its summary, when there is one, is set by the caller).
    fn end_run(
        &mut self,
        t: usize,
        status: &str,
        outcome: &str,
        error: Option<String>,
        metadata: Option<Map<String, Json>>,
        at: i64,
    ) -> Option<i64> {
        let run_id = self.tasks[t].current_run_id.take()?;
        let run = self.runs.iter_mut().find(|r| r.id == run_id)?;
        run.status = status.into();
        run.outcome = Some(outcome.into());
        run.error = error;
        run.metadata = metadata;
        run.ended_at = Some(at);
        run.claim_lock = None;
        run.claim_expires = None;
        run.worker_pid = None;
        Some(run_id)
    }

    fn release(&mut self, t: usize, status: &str) {
        let task = &mut self.tasks[t];
        task.status = status.into();
        task.claim_lock = None;
        task.claim_expires = None;
        task.worker_pid = None;
    }

    /// The effective breaker limit and where it came from.
    fn limit(&self, t: usize) -> (i64, &'static str) {
        match self.tasks[t].max_retries {
            Some(n) => (n, "task"),
            None => (self.failure_limit, "dispatcher"),
        }
    }

    fn counts(&self, outcome: Outcome) -> bool {
        outcome
            .failure()
            .is_some_and(|f| lifecycle::counts(self.semantics, f))
    }

    /// Count a failure; trip the breaker at the limit. Returns whether it tripped.
    fn record_failure(
        &mut self,
        t: usize,
        outcome: Outcome,
        error: &str,
        extra: Map<String, Json>,
        run_id: Option<i64>,
        at: i64,
    ) -> bool {
        let n = self.tasks[t].consecutive_failures + 1;
        let (limit, source) = self.limit(t);
        let error: String = error.chars().take(500).collect();
        let task = &mut self.tasks[t];
        task.consecutive_failures = n;
        task.last_failure_error = Some(error.clone());
        if n < limit {
            return false;
        }
        task.status = "blocked".into();
        let (kind, mut payload) = match self.semantics {
            Semantics::Unified => (
                "gave_up",
                obj(json!({
                    "failures": n, "effective_limit": limit, "limit_source": source,
                    "error": error, "trigger_outcome": outcome.as_str(),
                })),
            ),
            // Before the rename to `gave_up`; readers map it (Hermes renames it on open).
            Semantics::Legacy => (
                "spawn_auto_blocked",
                obj(json!({"failures": n, "error": error})),
            ),
        };
        payload.extend(extra);
        self.event(t, run_id, kind, Some(payload), at);
        true
    }

    /// Run one attempt of task `t` ending in `outcome`, as the dispatcher and kernel would.
    /// A blocked or finished task is not run (the dispatcher skips it); `None` then.
    pub fn apply(&mut self, t: usize, outcome: Outcome) -> Option<Applied> {
        if self.tasks[t].status != "ready" {
            return None;
        }
        let first_event = self.events.len();
        self.claim(t);
        let mut tripped = false;
        match outcome {
            Outcome::SpawnFailed => {
                let at = self.tick();
                let n = self.tasks[t].consecutive_failures + 1;
                let (limit, source) = self.limit(t);
                let trips =
                    self.counts(outcome) && n >= limit && self.semantics == Semantics::Unified;
                if trips {
                    // The attempt's run itself records the give-up on the spawn path.
                    let meta = obj(json!({
                        "failures": n, "trigger_outcome": "spawn_failed",
                        "effective_limit": limit, "limit_source": source,
                    }));
                    let run = self.end_run(
                        t,
                        "gave_up",
                        "gave_up",
                        Some(SPAWN_ERROR.into()),
                        Some(meta),
                        at,
                    );
                    self.release(t, "ready");
                    tripped = self.record_failure(t, outcome, SPAWN_ERROR, Map::new(), run, at);
                } else {
                    let meta = obj(json!({"failures": n}));
                    let run = self.end_run(
                        t,
                        "spawn_failed",
                        "spawn_failed",
                        Some(SPAWN_ERROR.into()),
                        Some(meta),
                        at,
                    );
                    self.release(t, "ready");
                    let payload = obj(json!({"error": SPAWN_ERROR, "failures": n}));
                    self.event(t, run, "spawn_failed", Some(payload), at);
                    if self.counts(outcome) {
                        // Counted without a second event; the legacy breaker may trip here.
                        tripped =
                            self.record_failure(t, outcome, SPAWN_ERROR, Map::new(), None, at);
                    }
                }
            }
            Outcome::TimedOut => {
                let pid = self.spawned(t);
                let at = self.tick();
                let run_started = self.tasks[t]
                    .current_run_id
                    .and_then(|id| self.runs.iter().find(|r| r.id == id))
                    .map_or(at, |r| r.started_at);
                let elapsed = at - run_started;
                let limit = self.tasks[t].max_runtime_seconds.unwrap_or(elapsed);
                let error = format!("elapsed {elapsed}s > limit {limit}s");
                let meta = obj(
                    json!({"pid": pid, "elapsed_seconds": elapsed, "limit_seconds": limit, "sigkill": false}),
                );
                let run = self.end_run(
                    t,
                    "timed_out",
                    "timed_out",
                    Some(error.clone()),
                    Some(meta.clone()),
                    at,
                );
                self.release(t, "ready");
                self.event(t, run, "timed_out", Some(meta), at);
                if self.counts(outcome) {
                    let extra = obj(json!({"pid": pid, "sigkill": false}));
                    tripped = self.record_failure(t, outcome, &error, extra, None, at);
                }
            }
            Outcome::Crashed => {
                let pid = self.spawned(t);
                let at = self.tick();
                let error = format!("pid {pid} not alive");
                let meta = obj(json!({"pid": pid, "claimer": CLAIMER}));
                let run = self.end_run(
                    t,
                    "crashed",
                    "crashed",
                    Some(error.clone()),
                    Some(meta.clone()),
                    at,
                );
                self.release(t, "ready");
                self.event(t, run, "crashed", Some(meta), at);
                if self.counts(outcome) {
                    tripped = self.record_failure(
                        t,
                        outcome,
                        &error,
                        obj(json!({"pid": pid, "claimer": CLAIMER})),
                        None,
                        at,
                    );
                }
            }
            Outcome::Completed => {
                self.spawned(t);
                let at = self.tick();
                let result = "done".to_string();
                let run = self.end_run(t, "done", "completed", None, None, at);
                if let Some(r) = run.and_then(|id| self.runs.iter_mut().find(|r| r.id == id)) {
                    r.summary = Some(result.clone());
                }
                self.release(t, "done");
                let task = &mut self.tasks[t];
                task.completed_at = Some(at);
                task.result = Some(result.clone());
                task.consecutive_failures = 0;
                task.last_failure_error = None;
                let payload = obj(json!({"result_len": result.len(), "summary": result}));
                self.event(t, run, "completed", Some(payload), at);
            }
            Outcome::Reclaimed => {
                let pid = self.spawned(t);
                let at = self.tick();
                let termination = obj(json!({
                    "prev_pid": pid, "host_local": true, "termination_attempted": true,
                    "terminated": true, "sigkill": false,
                }));
                let error = format!("manual_reclaim: {RECLAIM_REASON}");
                let run = self.end_run(
                    t,
                    "reclaimed",
                    "reclaimed",
                    Some(error),
                    Some(termination.clone()),
                    at,
                );
                self.release(t, "ready");
                let mut payload =
                    obj(json!({"manual": true, "reason": RECLAIM_REASON, "prev_lock": CLAIMER}));
                payload.extend(termination);
                self.event(t, run, "reclaimed", Some(payload), at);
                if self.semantics == Semantics::Unified {
                    // An operator reclaim is a fresh start, not a failure.
                    self.tasks[t].consecutive_failures = 0;
                    self.tasks[t].last_failure_error = None;
                }
            }
        }
        Some(Applied {
            outcome,
            counter: self.tasks[t].consecutive_failures,
            status: self.tasks[t].status.clone(),
            events: self.events[first_event..]
                .iter()
                .map(|e| e.kind.clone())
                .collect(),
            tripped,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(sem: Semantics, outcomes: &[Outcome]) -> (Kernel, Vec<Option<Applied>>) {
        let mut k = Kernel::new(sem, 5, 1_796_000_000);
        let t = k.create_task("t_1", "x", "coder", None, Some(90));
        let applied = outcomes.iter().map(|o| k.apply(t, *o)).collect();
        (k, applied)
    }

    #[test]
    fn every_failure_mode_counts_under_unified_semantics() {
        use Outcome::*;
        let (k, _) = run(Semantics::Unified, &[SpawnFailed, TimedOut, Crashed]);
        assert_eq!(k.tasks[0].consecutive_failures, 3);
        assert_eq!(
            k.tasks[0].last_failure_error.as_deref(),
            Some("pid 910002 not alive")
        );
    }

    #[test]
    fn the_breaker_trips_at_the_limit_with_a_gave_up_event() {
        let (k, applied) = run(Semantics::Unified, &[Outcome::TimedOut; 6]);
        assert_eq!(k.tasks[0].status, "blocked");
        assert!(applied[4].as_ref().unwrap().tripped);
        assert!(applied[5].is_none(), "a blocked task is not run again");
        let gave_up = k.events.iter().find(|e| e.kind == "gave_up").unwrap();
        let keys: Vec<&str> = gave_up
            .payload
            .as_ref()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "failures",
                "effective_limit",
                "limit_source",
                "error",
                "trigger_outcome",
                "pid",
                "sigkill"
            ]
        );
        assert_eq!(gave_up.run_id, None);
    }

    #[test]
    fn a_successful_spawn_does_not_clear_the_counter_but_completion_does() {
        use Outcome::*;
        let (k, _) = run(Semantics::Unified, &[SpawnFailed, SpawnFailed, TimedOut]);
        assert_eq!(k.tasks[0].consecutive_failures, 3);
        let (k, _) = run(Semantics::Unified, &[Crashed, TimedOut, Completed]);
        assert_eq!(
            (k.tasks[0].consecutive_failures, k.tasks[0].status.as_str()),
            (0, "done")
        );
        assert_eq!(k.tasks[0].last_failure_error, None);
    }

    #[test]
    fn reclaim_clears_the_counter() {
        use Outcome::*;
        let (k, _) = run(Semantics::Unified, &[Crashed, Crashed, Reclaimed]);
        assert_eq!(
            (k.tasks[0].consecutive_failures, k.tasks[0].status.as_str()),
            (0, "ready")
        );
    }

    #[test]
    fn the_legacy_kernel_never_counts_timeouts_and_forgets_on_spawn() {
        use Outcome::*;
        let (k, applied) = run(Semantics::Legacy, &[TimedOut; 10]);
        assert_eq!(k.tasks[0].consecutive_failures, 0);
        assert!(
            applied
                .iter()
                .all(|a| a.as_ref().unwrap().status == "ready")
        );
        let (k, _) = run(Semantics::Legacy, &[SpawnFailed, SpawnFailed, TimedOut]);
        assert_eq!(k.tasks[0].consecutive_failures, 0);
    }

    #[test]
    fn spawn_failures_trip_the_breaker_on_the_run_itself() {
        let (k, _) = run(Semantics::Unified, &[Outcome::SpawnFailed; 5]);
        let last = k.runs.last().unwrap();
        assert_eq!(
            (last.status.as_str(), last.outcome.as_deref()),
            ("gave_up", Some("gave_up"))
        );
        assert!(
            !k.events
                .iter()
                .skip_while(|e| e.kind != "claimed")
                .any(|e| e.kind == "spawn_failed" && e.run_id == Some(last.id))
        );
    }
}

/// The scenario kernel and the audit's replay share `crate::lifecycle`; this checks that they
/// also agree on whole histories: whatever outcomes the unified kernel plays, replaying the
/// rows it wrote gives back the counter it stored, and never a reopened breaker.
#[cfg(test)]
mod replay_agrees {
    use proptest::prelude::*;

    use super::*;
    use crate::board::history::{HistEvent, HistRun, History, TaskHead};
    use crate::py::value::Value;
    use crate::rules::audit::replay::replay;

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    fn opt_int(v: Option<i64>) -> Value {
        v.map_or(Value::Null, Value::Int)
    }

    fn opt_text(v: Option<&str>) -> Value {
        v.map_or(Value::Null, text)
    }

    /// The rows of task `t` as the audit reads them.
    fn history(k: &Kernel, t: usize) -> History {
        let task = &k.tasks[t];
        let json = |m: &Option<Map<String, Json>>| {
            m.as_ref().map_or(Value::Null, |m| {
                text(&serde_json::to_string(&Json::Object(m.clone())).unwrap())
            })
        };
        History {
            task_id: text(&task.id),
            task: Some(TaskHead {
                id: text(&task.id),
                status: text(&task.status),
                consecutive_failures: Value::Int(task.consecutive_failures),
                max_retries: opt_int(task.max_retries),
                ..TaskHead::default()
            }),
            runs: k
                .runs
                .iter()
                .filter(|r| r.task_id == task.id)
                .map(|r| HistRun {
                    id: Value::Int(r.id),
                    status: text(&r.status),
                    outcome: opt_text(r.outcome.as_deref()),
                    profile: text(&r.profile),
                    started_at: Value::Int(r.started_at),
                    ended_at: opt_int(r.ended_at),
                    error: opt_text(r.error.as_deref()),
                    metadata: json(&r.metadata),
                })
                .collect(),
            events: k
                .events
                .iter()
                .filter(|e| e.task_id == task.id)
                .map(|e| HistEvent {
                    id: Value::Int(e.id),
                    run_id: opt_int(e.run_id),
                    kind: text(&e.kind),
                    payload: json(&e.payload),
                    created_at: Value::Int(e.created_at),
                })
                .collect(),
        }
    }

    proptest! {
        #[test]
        fn replaying_the_unified_kernels_rows_gives_its_counter(
            outcomes in prop::collection::vec(prop::sample::select(Outcome::ALL.to_vec()), 0..24),
            limit in 1i64..7,
        ) {
            let mut k = Kernel::new(Semantics::Unified, limit, 1_796_000_000);
            let t = k.create_task("t_1", "x", "coder", Some(limit), Some(90));
            for o in &outcomes {
                k.apply(t, *o);
            }
            let r = replay(&history(&k, t), limit, false);
            prop_assert_eq!(r.counter, k.tasks[t].consecutive_failures);
            prop_assert!(r.reopened.is_empty());
            // The fixed kernel never leaves a spent budget dispatchable.
            prop_assert!(r.counter < limit || k.tasks[t].status == "blocked");
        }
    }
}
