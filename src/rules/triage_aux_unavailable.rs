//! The `triage_aux_unavailable` rule. [`TriageAuxUnavailable`] carries its documentation.

use std::fmt;

use super::support::{FIRES_WHY, shown};
use super::{Action, Diagnostic, Rule, RuleDoc, Severity, TaskRow, declare_rule};
use crate::config::DiagConfig;
use crate::py::object::{Dict, Object};
use crate::py::strip;
use crate::py::value::{RuleFailure, Value};

declare_rule! {
    /// ## What it does
    /// For tasks in `triage`, inspects the configuration: with `kanban.auto_decompose` on (the
    /// default) the dispatcher needs `auxiliary.kanban_decomposer`, otherwise
    /// `hermes kanban specify` needs `auxiliary.triage_specifier`. A slot left at
    /// `provider: auto` falls back to the main model (`model`: a name, or a `provider` with a
    /// `default`, `model` or `name`). The rule fires when the needed slot was not set
    /// explicitly and no main model is configured either.
    ///
    /// ## Why is this bad?
    /// The task can never leave triage: every dispatcher tick skips it silently.
    ///
    /// ## Severity and thresholds
    /// Always `warning`. Without any configuration context (no `kanban`, `auxiliary` or `model`
    /// section) the rule stays silent rather than guess. `kanban.diagnostics.triage_aux_status`
    /// (Hermes' test hook) replaces what is read from the configuration with its own
    /// `auto_decompose`, `decomposer_explicit`, `specifier_explicit` and `main_model_visible`.
    ///
    /// ## Suggested actions
    /// Configure the slot (suggested), or its fallback, or specify the task by hand.
    pub struct TriageAuxUnavailable;
    kind: "triage_aux_unavailable",
    summary: "A task in triage that no auxiliary model can move out",
    severities: [Warning],
    config_keys: [
        "kanban.auto_decompose",
        "auxiliary.kanban_decomposer",
        "auxiliary.triage_specifier",
        "model",
        "kanban.diagnostics.triage_aux_status",
    ],
}

/// What the configuration says about triage helpers; `None` when there is no context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuxStatus {
    pub auto_decompose: bool,
    pub decomposer_explicit: bool,
    pub specifier_explicit: bool,
    pub main_model_visible: bool,
}

fn text_of(v: Option<&Object>) -> String {
    match v {
        Some(v) if v.truthy() => v.py_str(),
        _ => String::new(),
    }
}

/// A slot is explicit when its provider is set to something other than `auto`, or it
/// carries a model, base URL or API key.
fn slot_explicit(slot: Option<&Object>) -> bool {
    let Some(Object::Dict(slot)) = slot else {
        return false;
    };
    let provider = strip(&text_of(slot.get("provider"))).to_lowercase();
    if !provider.is_empty() && provider != "auto" {
        return true;
    }
    ["model", "base_url", "api_key"]
        .iter()
        .any(|k| !strip(&text_of(slot.get(k))).is_empty())
}

fn main_model_visible(cfg: &Dict) -> bool {
    match cfg.get("model") {
        Some(Object::Dict(m)) => {
            let provider = text_of(m.get("provider"));
            let name = ["default", "model", "name"]
                .iter()
                .map(|k| m.get(k))
                .find(|v| v.is_some_and(Object::truthy))
                .flatten();
            !strip(&provider).is_empty() && !strip(&text_of(name)).is_empty()
        }
        other => !strip(&text_of(other)).is_empty(),
    }
}

fn bool_of(m: &Dict, key: &str) -> bool {
    m.get(key).is_some_and(Object::truthy)
}

/// Read the triage helper status from the configuration.
pub fn aux_status(cfg: &Dict) -> Option<AuxStatus> {
    if let Some(Object::Dict(explicit)) = cfg.get("triage_aux_status") {
        return Some(AuxStatus {
            auto_decompose: bool_of(explicit, "auto_decompose"),
            decomposer_explicit: bool_of(explicit, "decomposer_explicit"),
            specifier_explicit: bool_of(explicit, "specifier_explicit"),
            main_model_visible: bool_of(explicit, "main_model_visible"),
        });
    }
    let aux = match cfg.get("auxiliary") {
        Some(Object::Dict(a)) => Some(a),
        _ => None,
    };
    let empty = Dict::default();
    let kanban = match cfg.get("kanban") {
        Some(Object::Dict(k)) => k,
        _ => &empty,
    };
    if aux.is_none() && kanban.is_empty() && cfg.get("model").is_none() {
        return None;
    }
    Some(AuxStatus {
        auto_decompose: kanban.get("auto_decompose").is_none_or(Object::truthy),
        decomposer_explicit: aux.is_some_and(|a| slot_explicit(a.get("kanban_decomposer"))),
        specifier_explicit: aux.is_some_and(|a| slot_explicit(a.get("triage_specifier"))),
        main_model_visible: main_model_visible(cfg),
    })
}

const DECOMPOSER: &str = "auxiliary.kanban_decomposer";
const SPECIFIER: &str = "auxiliary.triage_specifier";

/// The slot triage needs, and whether it was set explicitly.
fn primary_slot(s: &AuxStatus) -> (&'static str, bool) {
    if s.auto_decompose {
        (DECOMPOSER, s.decomposer_explicit)
    } else {
        (SPECIFIER, s.specifier_explicit)
    }
}

/// Why the rule stays quiet for a task, in the order `evaluate` checks.
enum Quiet<'t> {
    NotTriage(&'t Value),
    NoContext,
    SlotExplicit(&'t AuxStatus),
    MainModelVisible(&'t AuxStatus),
}

impl fmt::Display for Quiet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let on_off = |s: &AuxStatus| if s.auto_decompose { "on" } else { "off" };
        match self {
            Quiet::NotTriage(status) => write!(f, "status {} is not triage", shown(status)),
            Quiet::NoContext => f.write_str(
                "the configuration has no kanban, auxiliary or model section to judge by",
            ),
            Quiet::SlotExplicit(s) => write!(
                f,
                "auto-decompose is {} and {} is configured explicitly",
                on_off(s),
                primary_slot(s).0
            ),
            Quiet::MainModelVisible(s) => write!(
                f,
                "auto-decompose is {} and {} can fall back to the configured main model",
                on_off(s),
                primary_slot(s).0
            ),
        }
    }
}

/// The configuration when the task is stuck in triage without a usable model, or why not.
fn check<'t>(task: &'t TaskRow, status: &'t Option<AuxStatus>) -> Result<&'t AuxStatus, Quiet<'t>> {
    if !task.status_is("triage") {
        return Err(Quiet::NotTriage(&task.status));
    }
    let Some(s) = status else {
        return Err(Quiet::NoContext);
    };
    if primary_slot(s).1 {
        return Err(Quiet::SlotExplicit(s));
    }
    if s.main_model_visible {
        return Err(Quiet::MainModelVisible(s));
    }
    Ok(s)
}

impl Rule for TriageAuxUnavailable {
    const DOC: RuleDoc = DOC;
    type Params = Option<AuxStatus>;
    type State = ();

    fn params(cfg: &DiagConfig, _: i64) -> Option<AuxStatus> {
        aux_status(cfg.map())
    }

    fn evaluate(
        task: &TaskRow,
        _: &(),
        status: &Option<AuxStatus>,
        now: i64,
    ) -> Result<Option<Diagnostic>, RuleFailure> {
        let Ok(s) = check(task, status) else {
            return Ok(None);
        };
        let (primary, fallback, fallback_explicit, desc, path) = if s.auto_decompose {
            (
                DECOMPOSER,
                SPECIFIER,
                s.specifier_explicit,
                "decomposer",
                "Auto-decompose is on, so the dispatcher needs auxiliary.kanban_decomposer (with \
                 auxiliary.triage_specifier as a fallback for non-fan-out tasks).",
            )
        } else {
            (
                SPECIFIER,
                DECOMPOSER,
                s.decomposer_explicit,
                "specifier",
                "Auto-decompose is off, so triage tasks need `hermes kanban specify`, which uses \
                 auxiliary.triage_specifier.",
            )
        };
        let (task_id_json, task_id) = if task.id.truthy() {
            (task.id.to_json(), task.id.py_str())
        } else {
            (
                serde_json::Value::String("<task_id>".into()),
                "<task_id>".to_string(),
            )
        };
        let mut actions = vec![
            Action::cli_hint(
                format!("Configure {primary}"),
                format!("hermes config set {primary}.provider auto"),
            )
            .suggested(),
        ];
        if !fallback_explicit {
            actions.push(Action::cli_hint(
                format!("Or configure fallback {fallback}"),
                format!("hermes config set {fallback}.provider auto"),
            ));
        }
        if !s.auto_decompose {
            actions.push(Action::command(
                "Specify manually",
                format!("hermes kanban specify {task_id}"),
            ));
        }
        let detail = format!(
            "This task is still in triage and no working auxiliary model is visible to the \
             dispatcher. {path} The default slot uses `provider: auto` which falls back to the main \
             model, but no main model is configured either. Configure the slot directly or set a \
             main model so the auto fallback can take over."
        );
        Ok(Some(
            Diagnostic::new(
                Self::KIND,
                Severity::Warning,
                format!("Triage {desc} has no usable model"),
                detail,
            )
            .actions(actions)
            .seen_at(now)
            .data("task_id", task_id_json)
            .data("auto_decompose", s.auto_decompose)
            .data("primary_slot", primary)
            .data("main_model_visible", s.main_model_visible),
        ))
    }

    fn why_not(task: &TaskRow, _: &(), status: &Option<AuxStatus>, _: i64) -> String {
        match check(task, status) {
            Err(quiet) => quiet.to_string(),
            Ok(_) => FIRES_WHY.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::py::value::Value;

    fn status(yaml: &str) -> Option<AuxStatus> {
        aux_status(DiagConfig::from_yaml(yaml, crate::config::Defaults::Unified).map())
    }

    fn triage() -> TaskRow {
        TaskRow {
            id: Value::Text("t_1".into()),
            status: Value::Text("triage".into()),
            ..TaskRow::default()
        }
    }

    #[test]
    fn silent_without_configuration_context() {
        assert_eq!(status("{}"), None);
    }

    #[test]
    fn fires_when_no_slot_and_no_main_model() {
        let s = status("model: ''\n");
        let d = TriageAuxUnavailable::evaluate(&triage(), &(), &s, 7)
            .unwrap()
            .unwrap();
        assert_eq!(d.title, "Triage decomposer has no usable model");
        assert_eq!(d.actions.len(), 2);
    }

    #[test]
    fn a_main_model_or_explicit_slot_silences_it() {
        for yaml in [
            "model: gpt-5\n",
            "model: {provider: openai, default: gpt-5}\n",
            "auxiliary: {kanban_decomposer: {provider: openrouter}}\n",
        ] {
            assert_eq!(
                TriageAuxUnavailable::evaluate(&triage(), &(), &status(yaml), 7),
                Ok(None),
                "{yaml}"
            );
        }
    }

    #[test]
    fn manual_specify_is_offered_when_auto_decompose_is_off() {
        let s = status("kanban: {auto_decompose: false}\n");
        let d = TriageAuxUnavailable::evaluate(&triage(), &(), &s, 7)
            .unwrap()
            .unwrap();
        assert_eq!(d.title, "Triage specifier has no usable model");
        assert_eq!(
            d.actions.last().unwrap().label,
            "Specify manually: hermes kanban specify t_1"
        );
    }

    #[test]
    fn why_not_names_the_status_the_missing_context_or_the_usable_slot() {
        let why = |t: &TaskRow, yaml: &str| {
            let s = status(yaml);
            assert_eq!(TriageAuxUnavailable::evaluate(t, &(), &s, 7), Ok(None));
            TriageAuxUnavailable::why_not(t, &(), &s, 7)
        };
        let ready = TaskRow {
            status: Value::Text("ready".into()),
            ..triage()
        };
        assert_eq!(why(&ready, "model: ''\n"), "status ready is not triage");
        let blank = TaskRow {
            status: Value::Text(" ".into()),
            ..triage()
        };
        assert_eq!(why(&blank, "model: ''\n"), "status ' ' is not triage");
        assert_eq!(
            why(&triage(), "{}"),
            "the configuration has no kanban, auxiliary or model section to judge by"
        );
        assert_eq!(
            why(
                &triage(),
                "auxiliary: {kanban_decomposer: {provider: openrouter}}\n"
            ),
            "auto-decompose is on and auxiliary.kanban_decomposer is configured explicitly"
        );
        assert_eq!(
            why(&triage(), "kanban: {auto_decompose: false}\nmodel: gpt-5\n"),
            "auto-decompose is off and auxiliary.triage_specifier can fall back to the \
             configured main model"
        );
    }
}
