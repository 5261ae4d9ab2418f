//! The ticket fields triage can decide: one table of names and kinds, used by the rules,
//! the decision, the ticket update and the explanations alike (a ticket's current value
//! of each is `Ticket::current`).

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A decidable ticket field. The serialized names are Halo's (`Faults`) field names, so a
/// rule's `set` table, the decision record and the update sent to Halo use the same words.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum Field {
    /// Team name.
    #[serde(rename = "team")]
    Team,
    /// Agent id.
    #[serde(rename = "agent_id")]
    AgentId,
    /// Category display values, one per level.
    #[serde(rename = "category_1")]
    Category1,
    #[serde(rename = "category_2")]
    Category2,
    #[serde(rename = "category_3")]
    Category3,
    #[serde(rename = "category_4")]
    Category4,
    /// Priority id within the ticket's SLA (`priorityid` of `GET /api/Priority`).
    #[serde(rename = "priority_id")]
    PriorityId,
    /// Ticket type id.
    #[serde(rename = "tickettype_id")]
    TicketTypeId,
    /// Status id.
    #[serde(rename = "status_id")]
    StatusId,
    /// Impact lookup value.
    #[serde(rename = "impact")]
    Impact,
    /// Urgency lookup value.
    #[serde(rename = "urgency")]
    Urgency,
}

/// Whether a field holds text (a name or display value) or a numeric id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Id,
}

impl Field {
    pub const ALL: [Field; 11] = [
        Field::Team,
        Field::AgentId,
        Field::Category1,
        Field::Category2,
        Field::Category3,
        Field::Category4,
        Field::PriorityId,
        Field::TicketTypeId,
        Field::StatusId,
        Field::Impact,
        Field::Urgency,
    ];

    /// Halo's field name.
    pub fn name(self) -> &'static str {
        match self {
            Field::Team => "team",
            Field::AgentId => "agent_id",
            Field::Category1 => "category_1",
            Field::Category2 => "category_2",
            Field::Category3 => "category_3",
            Field::Category4 => "category_4",
            Field::PriorityId => "priority_id",
            Field::TicketTypeId => "tickettype_id",
            Field::StatusId => "status_id",
            Field::Impact => "impact",
            Field::Urgency => "urgency",
        }
    }

    pub fn kind(self) -> Kind {
        match self {
            Field::Team
            | Field::Category1
            | Field::Category2
            | Field::Category3
            | Field::Category4 => Kind::Text,
            _ => Kind::Id,
        }
    }

    /// A field a learned model decides, by Halo's name (`priority_id`) or without `_id`
    /// (`priority`, `tickettype`, as `learn --field` takes it): the text fields and the two
    /// id fields whose labels have names; agents, statuses, impact and urgency are not.
    pub fn learnable(name: &str) -> Option<Field> {
        let name = name.trim().to_ascii_lowercase();
        Field::ALL.into_iter().find(|field| {
            let learnable = field.kind() == Kind::Text
                || matches!(field, Field::PriorityId | Field::TicketTypeId);
            let halo = field.name();
            learnable && (halo == name || halo.strip_suffix("_id") == Some(name.as_str()))
        })
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A field's value: a name or display value, or an id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum FieldValue {
    Id(i64),
    Text(String),
}

impl FieldValue {
    /// Same value for Halo: text compares case-insensitively, ids exactly.
    pub fn same_as(&self, other: &FieldValue) -> bool {
        match (self, other) {
            (FieldValue::Text(a), FieldValue::Text(b)) => a.trim().eq_ignore_ascii_case(b.trim()),
            (FieldValue::Id(a), FieldValue::Id(b)) => a == b,
            _ => false,
        }
    }

    pub fn as_id(&self) -> Option<i64> {
        match self {
            FieldValue::Id(id) => Some(*id),
            FieldValue::Text(_) => None,
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            FieldValue::Text(text) => Some(text),
            FieldValue::Id(_) => None,
        }
    }
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Id(id) => write!(f, "{id}"),
            FieldValue::Text(text) => f.write_str(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learnable_fields_are_named_as_halo_or_as_learn_takes_them() {
        assert_eq!(Field::learnable("category_1"), Some(Field::Category1));
        assert_eq!(Field::learnable("priority"), Some(Field::PriorityId));
        assert_eq!(Field::learnable("tickettype_id"), Some(Field::TicketTypeId));
        assert_eq!(Field::learnable("agent"), None);
        assert_eq!(Field::learnable("impact"), None);
    }

    #[test]
    fn names_are_the_serialized_names() {
        for field in Field::ALL {
            assert_eq!(serde_json::to_value(field).unwrap(), field.name());
        }
    }
}
