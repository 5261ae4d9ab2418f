//! One decision against the ticket as it settled: per field, whether the people working the
//! ticket agreed with our value, changed it, or never touched the field.
//!
//! A field counts as touched when the ticket was closed (a person finished it and left the
//! value as it is, which is also what `learn` trains on) or when its value moved since the
//! decision. A field still empty, or still holding what it held before (shadow mode) or
//! what we wrote (live mode) on an open ticket, is untouched: no one has judged it yet.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::halo::model::ListedTicket;
use crate::halo::{Field, FieldValue};
use crate::store::{PendingDecision, ReadBack};
use crate::triage::decision::{Decided, Decision, Source};

/// The comparisons for `pending`, whose ticket Halo listed as `listed`.
pub fn compare(pending: &PendingDecision, listed: &ListedTicket) -> Vec<ReadBack> {
    let decision: Decision = serde_json::from_str(&pending.decision).unwrap_or_default();
    let written: Value = match pending.mode == "live" && pending.applied {
        true => serde_json::from_str(&pending.ticket_update).unwrap_or(Value::Null),
        false => Value::Null,
    };
    let before: BTreeMap<String, Option<FieldValue>> =
        serde_json::from_str(&pending.before).unwrap_or_default();
    let ticket = &listed.ticket;
    let closed = ticket.hasbeenclosed;
    let decided = decision.fields.iter().map(|(f, d)| (*f, Some(d)));
    let reviewed = decision.needs_review.iter().map(|f| (*f, None));
    decided
        .chain(reviewed)
        .map(|(field, ours): (Field, Option<&Decided>)| {
            let theirs = ticket.current(field);
            let before = before.get(field.name()).cloned().flatten();
            let was_written = written.get(field.name()).is_some() && ours.is_some();
            let carried = listed.carried.contains(&field);
            let outcome = match (carried, ours) {
                (false, _) => "unread",
                (true, None) => "review",
                (true, Some(ours)) => outcome(
                    &ours.value,
                    theirs.as_ref(),
                    before.as_ref(),
                    was_written,
                    closed,
                ),
            };
            let moved_from = if was_written {
                ours.map(|d| d.value.clone())
            } else {
                before
            };
            let set_by = match (&theirs, carried) {
                (_, false) => None,
                (Some(now), true) if !same(Some(now), moved_from.as_ref()) => Some("other"),
                (Some(_), true) if was_written => Some("service"),
                _ => None,
            };
            ReadBack {
                decision_id: pending.id,
                ticket_id: pending.ticket_id,
                field: field.name(),
                mode: if was_written { "live" } else { "shadow" },
                source_kind: ours.map(|d| d.source.kind()),
                source_name: ours.map(source_name).unwrap_or_default(),
                ours: ours.map(|d| d.value.to_string()),
                theirs: theirs.filter(|_| carried).map(|v| v.to_string()),
                outcome,
                set_by,
                closed,
                decided_at: pending.created_at,
            }
        })
        .collect()
}

/// agreed, disagreed or untouched, for a field we decided as `ours`.
fn outcome(
    ours: &FieldValue,
    theirs: Option<&FieldValue>,
    before: Option<&FieldValue>,
    written: bool,
    closed: bool,
) -> &'static str {
    let Some(theirs) = theirs else {
        return "untouched";
    };
    let agrees = theirs.same_as(ours);
    let left_alone = match written {
        true => agrees,
        false => same(Some(theirs), before),
    };
    match (left_alone && !closed, agrees) {
        (true, _) => "untouched",
        (false, true) => "agreed",
        (false, false) => "disagreed",
    }
}

fn same(a: Option<&FieldValue>, b: Option<&FieldValue>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.same_as(b),
        (None, None) => true,
        _ => false,
    }
}

/// The rule's name, or the model's version; empty for the defaults and the LLM.
fn source_name(decided: &Decided) -> String {
    match &decided.source {
        Source::Rule(name) | Source::Model(name) => name.clone(),
        Source::Default | Source::Llm => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> FieldValue {
        FieldValue::Text(s.into())
    }

    #[test]
    fn shadow_fields_count_once_a_person_moved_them_or_closed_the_ticket() {
        let net = text("Network");
        let desk = text("Service Desk");
        // Still what it held before, ticket open: nobody judged it.
        assert_eq!(
            outcome(&net, Some(&desk), Some(&desk), false, false),
            "untouched"
        );
        // The same, but closed: the person kept the old value.
        assert_eq!(
            outcome(&net, Some(&desk), Some(&desk), false, true),
            "disagreed"
        );
        assert_eq!(
            outcome(&net, Some(&net), Some(&desk), false, false),
            "agreed"
        );
        assert_eq!(outcome(&net, None, Some(&desk), false, true), "untouched");
    }

    #[test]
    fn a_field_halo_did_not_list_is_unread_and_a_reviewed_one_keeps_the_persons_value() {
        use crate::halo::model::Ticket;
        use crate::triage::decision::Source;
        let mut decision = Decision::default();
        let decided = Decided {
            value: text("Network"),
            source: Source::Rule("vpn".into()),
            reason: String::new(),
            confidence: None,
        };
        decision.fields.insert(Field::Team, decided);
        decision.needs_review.push(Field::Category1);
        let pending = PendingDecision {
            id: 1,
            ticket_id: 9,
            mode: "shadow".into(),
            applied: false,
            decision: serde_json::to_string(&decision).unwrap(),
            ticket_update: "{}".into(),
            before: "{}".into(),
            created_at: 0,
            superseded: false,
        };
        let ticket = Ticket {
            team: "Network".into(),
            category_1: "Hardware".into(),
            ..Ticket::default()
        };
        let listed = ListedTicket {
            ticket,
            carried: [Field::Category1].into(),
        };
        let rows = compare(&pending, &listed);
        let team = rows.iter().find(|r| r.field == "team").unwrap();
        assert_eq!((team.outcome, team.theirs.as_deref()), ("unread", None));
        let category = rows.iter().find(|r| r.field == "category_1").unwrap();
        assert_eq!(category.outcome, "review");
        assert_eq!(
            (category.ours.as_deref(), category.theirs.as_deref()),
            (None, Some("Hardware"))
        );
        assert_eq!(category.source_kind, None);
    }

    #[test]
    fn live_fields_are_kept_changed_or_untouched() {
        let net = text("network");
        assert_eq!(
            outcome(&net, Some(&text("Network")), None, true, false),
            "untouched"
        );
        assert_eq!(
            outcome(&net, Some(&text("Network")), None, true, true),
            "agreed"
        );
        assert_eq!(
            outcome(&net, Some(&text("Desk")), None, true, false),
            "disagreed"
        );
    }
}
