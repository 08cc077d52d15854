//! The `prose_phantom_refs` rule. [`ProsePhantomRefs`] carries its documentation.

use super::support::{ActiveHits, FIRES_WHY, failure_why, generic_recovery_actions};
use super::{Diagnostic, EventRow, Rule, RuleDoc, Severity, TaskRow, declare_rule};
use crate::config::DiagConfig;
use crate::py::value::RuleFailure;

declare_rule! {
    /// ## What it does
    /// Fires while a task has `suspected_hallucinated_references` events with no `completed` or
    /// `edited` event after them, collecting the ids from their `phantom_refs` payloads.
    ///
    /// ## Why is this bad?
    /// The completion itself went through, but anything downstream that parses the summary
    /// will follow ids (`t_…`) that point at nothing. It is advisory, not blocking.
    ///
    /// ## Severity and thresholds
    /// Always `warning`; `count` is the number of active suspicious completions.
    ///
    /// ## Suggested actions
    /// Reclaim (when running) or reassign.
    pub struct ProsePhantomRefs;
    kind: "prose_phantom_refs",
    summary: "A completion summary mentions task ids that do not exist",
    severities: [Warning],
    config_keys: [],
}

const EVENT: &str = "suspected_hallucinated_references";

impl Rule for ProsePhantomRefs {
    const DOC: RuleDoc = DOC;
    const PAYLOAD_KINDS: &'static [&'static str] = &[EVENT];
    type Params = ();
    type State = ActiveHits;

    fn params(_: &DiagConfig, _: i64) {}

    fn on_event(state: &mut ActiveHits, ev: &EventRow<'_>, _: &()) {
        state.on_event(ev, EVENT, "phantom_refs");
    }

    fn evaluate(
        task: &TaskRow,
        state: &ActiveHits,
        _: &(),
        _: i64,
    ) -> Result<Option<Diagnostic>, RuleFailure> {
        let Some((hits, first, last)) = state.get()? else {
            return Ok(None);
        };
        Ok(Some(
            Diagnostic::new(
                Self::KIND,
                Severity::Warning,
                "Completion summary references unknown task ids",
                "The completion summary mentions task ids that don't resolve in this board's database. \
                 The completion itself succeeded, but downstream consumers parsing the summary may be \
                 pointed at cards that never existed.",
            )
            .actions(generic_recovery_actions(task.status_is("running")))
            .seen(first, last)
            .count(hits.count)
            .data("phantom_refs", crate::py::object::Object::List(hits.ids.items().to_vec())),
        ))
    }

    fn why_not(_: &TaskRow, state: &ActiveHits, _: &(), _: i64) -> String {
        match state.get() {
            Ok(None) => state.why_none(EVENT),
            Ok(Some(_)) => FIRES_WHY.into(),
            Err(e) => failure_why(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::py::value::Value;
    use crate::rules::testing;

    #[test]
    fn fires_with_refs_and_offers_reclaim_when_running() {
        let mut s = ActiveHits::default();
        let refs = r#"{"phantom_refs": ["t_deadbeef"]}"#;
        testing::event::<ProsePhantomRefs>(&mut s, &(), EVENT, 5, Some(refs));
        let task = TaskRow {
            status: Value::Text("running".into()),
            ..TaskRow::default()
        };
        let d = ProsePhantomRefs::evaluate(&task, &s, &(), 0)
            .unwrap()
            .unwrap();
        assert_eq!(d.actions[0].kind, "reclaim");
        assert_eq!(d.data["phantom_refs"], serde_json::json!(["t_deadbeef"]));
    }

    #[test]
    fn why_not_counts_the_suspected_events_a_completion_cleared() {
        let task = TaskRow::default();
        let mut s = ActiveHits::default();
        assert_eq!(
            ProsePhantomRefs::why_not(&task, &s, &(), 0),
            "no suspected_hallucinated_references events"
        );
        let refs = r#"{"phantom_refs": ["t_deadbeef"]}"#;
        testing::event::<ProsePhantomRefs>(&mut s, &(), EVENT, 5, Some(refs));
        testing::event::<ProsePhantomRefs>(&mut s, &(), EVENT, 6, Some(refs));
        testing::event::<ProsePhantomRefs>(&mut s, &(), "completed", 7, None);
        assert_eq!(ProsePhantomRefs::evaluate(&task, &s, &(), 0), Ok(None));
        assert_eq!(
            ProsePhantomRefs::why_not(&task, &s, &(), 0),
            "a later completed or edited event cleared its 2 suspected_hallucinated_references events"
        );
    }
}
