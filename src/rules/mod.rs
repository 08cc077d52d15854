//! The diagnostic rules of `hermes kanban diagnostics`, one file each, behind a registry.
//!
//! A rule never touches SQLite. The engine (`crate::diagnose`) streams each table once and
//! hands every row to every rule's fold ([`Rule::on_event`], [`Rule::on_run`]); a rule keeps
//! only the few fields it needs per task in its [`Rule::State`]. When the task row arrives,
//! [`Rule::evaluate`] turns that state into at most one [`Diagnostic`]. This is what keeps
//! memory flat: no rule ever sees a task's whole history at once, yet each computes exactly
//! what the reference computes from the full lists.
//!
//! Registry order is evaluation order, and it breaks ties when diagnostics are sorted.
//!
//! Each rule carries its documentation as data ([`Rule::DOC`], a [`RuleDoc`]); the registry
//! lists them all in [`DOCS`] and finds one by kind with [`doc`].

use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::{Map, Value as Json};

pub use crate::board::rows::{EventRow, PayloadMode, RunRow, TaskRow};
use crate::config::DiagConfig;
use crate::py::int::Int;
use crate::py::object::Object;
use crate::py::value::RuleFailure;

pub mod audit;
pub mod block_unblock_cycling;
pub mod hallucinated_cards;
#[cfg(test)]
mod proptests;
pub mod prose_phantom_refs;
pub mod repeated_crashes;
pub mod repeated_failures;
pub mod rule_doc;
pub mod stranded_in_ready;
pub mod stuck_in_blocked;
pub mod support;
#[cfg(test)]
mod testing;
pub mod triage_aux_unavailable;

pub use rule_doc::RuleDoc;
pub(crate) use rule_doc::declare_rule;

/// Severity rungs, least urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, clap::ValueEnum, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }
}

/// A recovery step attached to a diagnostic: a button in the dashboard, a hint in the CLI.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Action {
    pub kind: &'static str,
    pub label: String,
    pub payload: Map<String, Json>,
    pub suggested: bool,
}

impl Action {
    pub fn new(kind: &'static str, label: impl Into<String>) -> Self {
        Action {
            kind,
            label: label.into(),
            payload: Map::new(),
            suggested: false,
        }
    }

    pub fn payload(mut self, key: &str, value: impl Into<Json>) -> Self {
        self.payload.insert(key.into(), value.into());
        self
    }

    pub fn suggested(mut self) -> Self {
        self.suggested = true;
        self
    }

    /// A shell command to print or copy.
    pub fn cli_hint(label: impl Into<String>, command: impl Into<String>) -> Self {
        Action::new("cli_hint", label).payload("command", command.into())
    }

    /// A shell command whose label shows it: `{what}: {command}`.
    pub fn command(what: &str, command: impl Into<String>) -> Self {
        let command = command.into();
        Action::cli_hint(format!("{what}: {command}"), command)
    }
}

/// One finding about a task. Field order is the JSON field order of the reference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    pub kind: &'static str,
    pub severity: Severity,
    pub title: String,
    pub detail: String,
    pub actions: Vec<Action>,
    /// Timestamps as the reference's `int()` reads them, exact at any size.
    pub first_seen_at: Int,
    pub last_seen_at: Int,
    /// A number: an int, or a float where a REAL counter is counted (`inf` included).
    pub count: Object,
    pub run_id: Option<i64>,
    pub data: Data,
}

/// A diagnostic's `data`: named values, in the order they were added, as the reference's
/// dict keeps them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Data(Vec<(String, Object)>);

impl Data {
    /// Set `key`, in place when it is already there (as a dict does).
    pub fn insert(&mut self, key: &str, value: Object) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => self.0.push((key.to_string(), value)),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Object> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Object)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
}

impl std::ops::Index<&str> for Data {
    type Output = Object;

    fn index(&self, key: &str) -> &Object {
        self.get(key)
            .unwrap_or_else(|| panic!("no data entry {key:?}"))
    }
}

impl Serialize for Data {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl Diagnostic {
    /// A finding counted once, seen at time 0, with no actions, run or data; the setters
    /// below fill those in.
    pub fn new(
        kind: &'static str,
        severity: Severity,
        title: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Diagnostic {
            kind,
            severity,
            title: title.into(),
            detail: detail.into(),
            actions: Vec::new(),
            first_seen_at: Int::Small(0),
            last_seen_at: Int::Small(0),
            count: 1.into(),
            run_id: None,
            data: Data::default(),
        }
    }

    /// Append recovery steps, in the order given.
    pub fn actions(mut self, actions: impl IntoIterator<Item = Action>) -> Self {
        self.actions.extend(actions);
        self
    }

    /// When the condition was first and last seen.
    pub fn seen(mut self, first: impl Into<Int>, last: impl Into<Int>) -> Self {
        self.first_seen_at = first.into();
        self.last_seen_at = last.into();
        self
    }

    /// First and last seen at the same time.
    pub fn seen_at(self, at: impl Into<Int>) -> Self {
        let at = at.into();
        self.seen(at.clone(), at)
    }

    pub fn count(mut self, count: impl Into<Object>) -> Self {
        self.count = count.into();
        self
    }

    pub fn run_id(mut self, run_id: i64) -> Self {
        self.run_id = Some(run_id);
        self
    }

    /// Add one entry to `data`; entries keep the order they are added in.
    pub fn data(mut self, key: &str, value: impl Into<Object>) -> Self {
        self.data.insert(key, value.into());
        self
    }
}

/// Reading an event's payload is Python semantics (`json.loads`, then a key lookup), which
/// the rules share; the row itself lives with the other rows in `board::rows`.
impl EventRow<'_> {
    /// The payload as the reference's `_parse_payload` returns it; `Err` where reading a
    /// key from it would raise (a truthy JSON value that is not an object).
    pub fn payload_object(&self) -> Result<crate::py::object::Dict, RuleFailure> {
        support::payload_object(self.payload, self.mode)
    }
}

/// A diagnostic rule. See the module documentation for how the engine drives it.
pub trait Rule {
    /// The rule's documentation, declared with its type by `declare_rule!`.
    const DOC: RuleDoc;
    /// The canonical kind, as matched by UIs and tests.
    const KIND: &'static str = Self::DOC.kind;
    /// Event kinds whose payload the rule reads; others are fetched without payload.
    const PAYLOAD_KINDS: &'static [&'static str] = &[];
    /// Run outcomes whose error text the rule reads; others are fetched without it.
    const RUN_ERROR_OUTCOMES: &'static [&'static str] = &[];
    /// Values read once from the configuration.
    type Params;
    /// What the rule remembers about one task between rows.
    type State: Default;

    fn params(cfg: &DiagConfig, now: i64) -> Self::Params;
    fn on_event(_state: &mut Self::State, _ev: &EventRow<'_>, _params: &Self::Params) {}
    fn on_run(_state: &mut Self::State, _run: &RunRow<'_>, _params: &Self::Params) {}
    fn evaluate(
        task: &TaskRow,
        state: &Self::State,
        params: &Self::Params,
        now: i64,
    ) -> Result<Option<Diagnostic>, RuleFailure>;

    /// Why the rule stays quiet for this task, for `explain`: the value it compared and the
    /// threshold it compared it with, or the exemption that applied. Called only when
    /// [`Rule::evaluate`] returned `Ok(None)`.
    fn why_not(_task: &TaskRow, _state: &Self::State, _params: &Self::Params, _now: i64) -> String {
        "its conditions are not met".into()
    }
}

/// What one rule says about one task, for `explain`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// The rule fires with this diagnostic.
    Fires { diagnostic: Box<Diagnostic> },
    /// The rule is quiet, and why.
    Quiet { why: String },
    /// The rule raised for this task (the reference drops its result).
    Failed { why: &'static str },
}

macro_rules! registry {
    ($($name:ident => $rule:ty),+ $(,)?) => {
        /// Every rule kind, in registry (evaluation) order.
        pub const KINDS: &[&str] = &[$(<$rule as Rule>::KIND),+];

        /// Every rule's documentation, in registry order.
        pub const DOCS: &[&RuleDoc] = &[$(&<$rule as Rule>::DOC),+];

        /// Event kinds whose payload some rule reads.
        pub const PAYLOAD_KINDS: &[&[&str]] = &[$(<$rule as Rule>::PAYLOAD_KINDS),+];

        /// Run outcomes whose error some rule reads.
        pub const RUN_ERROR_OUTCOMES: &[&[&str]] = &[$(<$rule as Rule>::RUN_ERROR_OUTCOMES),+];

        /// Each rule's configuration, read once per run.
        pub struct Params { $($name: <$rule as Rule>::Params),+ }

        impl Params {
            pub fn new(cfg: &DiagConfig, now: i64) -> Self {
                Params { $($name: <$rule>::params(cfg, now)),+ }
            }
        }

        /// Every rule's fold for one task.
        #[derive(Default)]
        pub struct TaskState { $($name: <$rule as Rule>::State),+ }

        impl TaskState {
            pub fn on_event(&mut self, ev: &EventRow<'_>, p: &Params) {
                $(<$rule>::on_event(&mut self.$name, ev, &p.$name);)+
            }

            pub fn on_run(&mut self, run: &RunRow<'_>, p: &Params) {
                $(<$rule>::on_run(&mut self.$name, run, &p.$name);)+
            }

            /// Run every rule (a subset when `only` is given), in registry order. Rules that
            /// fail are reported by kind and contribute nothing, as in the reference.
            pub fn evaluate(
                &self,
                task: &TaskRow,
                p: &Params,
                now: i64,
                only: Option<&[String]>,
            ) -> (Vec<Diagnostic>, Vec<(&'static str, RuleFailure)>) {
                let mut out = Vec::new();
                let mut failed = Vec::new();
                $(
                    let kind = <$rule as Rule>::KIND;
                    if only.is_none_or(|o| o.iter().any(|k| k == kind)) {
                        match <$rule>::evaluate(task, &self.$name, &p.$name, now) {
                            Ok(Some(d)) => out.push(d),
                            Ok(None) => {}
                            Err(e) => failed.push((kind, e)),
                        }
                    }
                )+
                // Critical first, then most recent; the sort is stable, so registry order
                // breaks the remaining ties.
                out.sort_by(|a, b| {
                    b.severity.cmp(&a.severity).then_with(|| b.last_seen_at.cmp(&a.last_seen_at))
                });
                (out, failed)
            }

            /// Every rule's verdict on the task, in registry order, for `explain`.
            pub fn explain(&self, task: &TaskRow, p: &Params, now: i64) -> Vec<(&'static str, Verdict)> {
                vec![$(
                    (
                        <$rule as Rule>::KIND,
                        match <$rule>::evaluate(task, &self.$name, &p.$name, now) {
                            Ok(Some(d)) => Verdict::Fires { diagnostic: Box::new(d) },
                            Ok(None) => Verdict::Quiet { why: <$rule>::why_not(task, &self.$name, &p.$name, now) },
                            Err(e) => Verdict::Failed { why: e.0 },
                        },
                    )
                ),+]
            }
        }
    };
}

/// The documentation of the rule of this kind.
pub fn doc(kind: &str) -> Option<&'static RuleDoc> {
    DOCS.iter().copied().find(|d| d.kind == kind)
}

/// The command that runs a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Runner {
    /// `diagnose` (and `audit --with-diagnose`).
    Diagnose,
    Audit,
}

impl Runner {
    pub fn as_str(self) -> &'static str {
        match self {
            Runner::Diagnose => "diagnose",
            Runner::Audit => "audit",
        }
    }
}

/// Every rule, diagnose's then audit's, each in registry order, with the command that runs it.
pub fn catalog() -> impl Iterator<Item = (Runner, &'static RuleDoc)> {
    let diagnose = DOCS.iter().map(|d| (Runner::Diagnose, *d));
    diagnose.chain(audit::DOCS.iter().map(|d| (Runner::Audit, *d)))
}

/// A rule's documentation and the command that runs it, by kind (diagnose or audit).
pub fn find(kind: &str) -> Option<(Runner, &'static RuleDoc)> {
    catalog().find(|(_, d)| d.kind == kind)
}

registry! {
    hallucinated_cards => hallucinated_cards::HallucinatedCards,
    triage_aux_unavailable => triage_aux_unavailable::TriageAuxUnavailable,
    prose_phantom_refs => prose_phantom_refs::ProsePhantomRefs,
    repeated_failures => repeated_failures::RepeatedFailures,
    repeated_crashes => repeated_crashes::RepeatedCrashes,
    stuck_in_blocked => stuck_in_blocked::StuckInBlocked,
    block_unblock_cycling => block_unblock_cycling::BlockUnblockCycling,
    stranded_in_ready => stranded_in_ready::StrandedInReady,
}
