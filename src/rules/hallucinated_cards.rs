//! The `hallucinated_cards` rule. [`HallucinatedCards`] carries its documentation.

use super::support::{ActiveHits, FIRES_WHY, failure_why, generic_recovery_actions};
use super::{Action, Diagnostic, EventRow, Rule, RuleDoc, Severity, TaskRow, declare_rule};
use crate::config::DiagConfig;
use crate::py::value::RuleFailure;

declare_rule! {
    /// ## What it does
    /// Fires while a task has `completion_blocked_hallucination` events with no `completed` or
    /// `edited` event after them. It collects the phantom card ids from their payloads
    /// (`phantom_cards`), without duplicates, in first-seen order.
    ///
    /// ## Why is this bad?
    /// The worker declared `created_cards` that either never existed or were made by another
    /// profile, usually because it invented ids instead of capturing what `kanban_create`
    /// returned. Hermes refused the completion and left the task where it was: nothing moves
    /// until an operator decides.
    ///
    /// ## Severity and thresholds
    /// Always `error`; `count` is the number of active blocked completions. It clears itself
    /// when a clean completion or an edit follows.
    ///
    /// ## Suggested actions
    /// Add a comment telling the worker what to do; reclaim (when running) or reassign.
    pub struct HallucinatedCards;
    kind: "hallucinated_cards",
    summary: "A completion was blocked because the worker named cards that do not exist",
    severities: [Error],
    config_keys: [],
}

const EVENT: &str = "completion_blocked_hallucination";

impl Rule for HallucinatedCards {
    const DOC: RuleDoc = DOC;
    const PAYLOAD_KINDS: &'static [&'static str] = &[EVENT];
    type Params = ();
    type State = ActiveHits;

    fn params(_: &DiagConfig, _: i64) {}

    fn on_event(state: &mut ActiveHits, ev: &EventRow<'_>, _: &()) {
        state.on_event(ev, EVENT, "phantom_cards");
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
                Severity::Error,
                "Worker claimed cards that don't exist",
                "The completing worker declared created_cards that either didn't exist or weren't \
                 created by its profile. The completion was blocked and the task stayed in its prior \
                 state. Usually means the worker hallucinated ids instead of capturing return values \
                 from kanban_create.",
            )
            .actions([Action::new("comment", "Add a comment explaining what to do")])
            .actions(generic_recovery_actions(task.status_is("running")))
            .seen(first, last)
            .count(hits.count)
            .data("phantom_ids", crate::py::object::Object::List(hits.ids.items().to_vec())),
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
    use crate::py::int::Int;
    use crate::py::value::Value;
    use crate::rules::testing;

    fn feed(state: &mut ActiveHits, kind: &str, ts: i64, payload: &str) {
        testing::event::<HallucinatedCards>(state, &(), kind, ts, Some(payload));
    }

    fn task() -> TaskRow {
        TaskRow {
            id: Value::Text("t_1".into()),
            status: Value::Text("ready".into()),
            ..TaskRow::default()
        }
    }

    #[test]
    fn fires_on_active_hits_and_dedupes_ids() {
        let mut s = ActiveHits::default();
        feed(&mut s, EVENT, 10, r#"{"phantom_cards": ["t_a", "t_b"]}"#);
        feed(&mut s, EVENT, 20, r#"{"phantom_cards": ["t_b", "t_c"]}"#);
        let d = HallucinatedCards::evaluate(&task(), &s, &(), 0)
            .unwrap()
            .unwrap();
        assert_eq!(d.count, 2);
        assert_eq!(
            (d.first_seen_at, d.last_seen_at),
            (Int::Small(10), Int::Small(20))
        );
        assert_eq!(
            d.data["phantom_ids"],
            serde_json::json!(["t_a", "t_b", "t_c"])
        );
    }

    #[test]
    fn a_clean_completion_clears_earlier_hits() {
        let mut s = ActiveHits::default();
        feed(&mut s, EVENT, 10, r#"{"phantom_cards": ["t_a"]}"#);
        feed(&mut s, "completed", 11, "{}");
        assert_eq!(HallucinatedCards::evaluate(&task(), &s, &(), 0), Ok(None));
    }

    #[test]
    fn a_list_payload_makes_the_rule_fail_like_the_reference() {
        let mut s = ActiveHits::default();
        feed(&mut s, EVENT, 10, "[1]");
        assert!(HallucinatedCards::evaluate(&task(), &s, &(), 0).is_err());
    }

    #[test]
    fn why_not_tells_no_events_from_cleared_ones() {
        let why = |s: &ActiveHits| HallucinatedCards::why_not(&task(), s, &(), 0);
        let mut s = ActiveHits::default();
        feed(&mut s, "completed", 5, "{}");
        assert_eq!(why(&s), "no completion_blocked_hallucination events");
        feed(&mut s, EVENT, 10, r#"{"phantom_cards": ["t_a"]}"#);
        feed(&mut s, "edited", 11, "{}");
        assert_eq!(HallucinatedCards::evaluate(&task(), &s, &(), 0), Ok(None));
        assert_eq!(
            why(&s),
            "a later completed or edited event cleared its 1 completion_blocked_hallucination event"
        );
        feed(&mut s, EVENT, 12, r#"{"phantom_cards": ["t_a"]}"#);
        feed(&mut s, "completed", 13, "{}");
        assert_eq!(
            why(&s),
            "a later completed or edited event cleared its 2 completion_blocked_hallucination events"
        );
    }
}
