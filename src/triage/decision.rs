//! The outcome of triage: every field decided, with where it came from and why.

use serde::{Deserialize, Serialize};

/// Who decided a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "lowercase")]
pub enum Source {
    /// The named routing rule.
    Rule(String),
    /// The rules file's `[defaults]`, for a field no rule set.
    Default,
}

/// One decided field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decided<T> {
    pub value: T,
    pub source: Source,
    pub reason: String,
}

/// The values a rule or the defaults can set; also the shape of `[rule.set]` in the rules file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldValues {
    pub team: Option<String>,
    pub agent_id: Option<i64>,
    pub category_1: Option<String>,
    pub category_2: Option<String>,
    pub category_3: Option<String>,
    pub category_4: Option<String>,
    pub priority_id: Option<i64>,
    pub tickettype_id: Option<i64>,
}

/// Every field triage decided; a field left `None` is left as it is on the ticket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub team: Option<Decided<String>>,
    pub agent_id: Option<Decided<i64>>,
    pub category_1: Option<Decided<String>>,
    pub category_2: Option<Decided<String>>,
    pub category_3: Option<Decided<String>>,
    pub category_4: Option<Decided<String>>,
    pub priority_id: Option<Decided<i64>>,
    pub tickettype_id: Option<Decided<i64>>,
    /// Rules whose conditions matched, in evaluation order.
    pub matched_rules: Vec<String>,
}

impl Decision {
    /// Sets every field `values` carries that is still open; returns the names it set.
    pub fn fill(
        &mut self,
        values: &FieldValues,
        source: &Source,
        reason: &str,
    ) -> Vec<&'static str> {
        let mut set = Vec::new();
        let mut fill_one = |slot_name: &'static str, filled: bool| {
            if filled {
                set.push(slot_name);
            }
        };
        fill_one(
            "team",
            fill_slot(&mut self.team, &values.team, source, reason),
        );
        fill_one(
            "agent_id",
            fill_slot(&mut self.agent_id, &values.agent_id, source, reason),
        );
        fill_one(
            "category_1",
            fill_slot(&mut self.category_1, &values.category_1, source, reason),
        );
        fill_one(
            "category_2",
            fill_slot(&mut self.category_2, &values.category_2, source, reason),
        );
        fill_one(
            "category_3",
            fill_slot(&mut self.category_3, &values.category_3, source, reason),
        );
        fill_one(
            "category_4",
            fill_slot(&mut self.category_4, &values.category_4, source, reason),
        );
        fill_one(
            "priority_id",
            fill_slot(&mut self.priority_id, &values.priority_id, source, reason),
        );
        fill_one(
            "tickettype_id",
            fill_slot(
                &mut self.tickettype_id,
                &values.tickettype_id,
                source,
                reason,
            ),
        );
        set
    }
}

/// Fills an open slot; a slot already decided keeps its first value.
fn fill_slot<T: Clone>(
    slot: &mut Option<Decided<T>>,
    value: &Option<T>,
    source: &Source,
    reason: &str,
) -> bool {
    match (slot.is_none(), value) {
        (true, Some(value)) => {
            *slot = Some(Decided {
                value: value.clone(),
                source: source.clone(),
                reason: reason.to_string(),
            });
            true
        }
        _ => false,
    }
}
