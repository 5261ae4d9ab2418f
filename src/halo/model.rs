//! Halo's wire types, with the field names of its OpenAPI description (`Faults` = ticket,
//! `Actions`, `SectionDetail` = team, `Policy` = priority, `TOutcome`, ...).
//!
//! Reading is lenient: unknown fields are ignored, missing ones take defaults, and ids may
//! arrive as numbers or numeric strings (webhooks can be set to send display values).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// A ticket as `GET /api/Tickets/{id}` or a full-object webhook carries it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Ticket {
    #[serde(deserialize_with = "lenient_id")]
    pub id: i64,
    pub summary: String,
    pub details: Option<String>,
    pub details_html: Option<String>,
    #[serde(deserialize_with = "lenient_opt_id")]
    pub client_id: Option<i64>,
    pub client_name: String,
    pub site_name: String,
    pub user_name: String,
    pub user_email: String,
    pub team: String,
    #[serde(deserialize_with = "lenient_opt_id")]
    pub team_id: Option<i64>,
    #[serde(deserialize_with = "lenient_opt_id")]
    pub agent_id: Option<i64>,
    pub category_1: String,
    pub category_2: String,
    pub category_3: String,
    pub category_4: String,
    #[serde(deserialize_with = "lenient_opt_id")]
    pub priority_id: Option<i64>,
    #[serde(deserialize_with = "lenient_opt_id")]
    pub tickettype_id: Option<i64>,
    #[serde(deserialize_with = "lenient_opt_id")]
    pub status_id: Option<i64>,
    #[serde(deserialize_with = "lenient_opt_id")]
    pub sla_id: Option<i64>,
}

impl Ticket {
    /// The ticket's text for matching: summary and details (plain text preferred).
    pub fn text(&self) -> String {
        let details = self
            .details
            .as_deref()
            .or(self.details_html.as_deref())
            .unwrap_or("");
        format!("{}\n{}", self.summary, details)
    }

    /// A team is on the ticket already (Halo reports "" or id 0 for none).
    pub fn has_team(&self) -> bool {
        !self.team.trim().is_empty() || self.team_id.is_some_and(|id| id > 0)
    }

    pub fn has_agent(&self) -> bool {
        self.agent_id.is_some_and(|id| id > 0)
    }
}

/// A partial ticket update for `POST /api/Tickets`: only the fields that are set are sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TicketUpdate {
    pub id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category_1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category_2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category_3: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category_4: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tickettype_id: Option<i64>,
}

impl TicketUpdate {
    /// Nothing but the id: no request is needed.
    pub fn is_empty(&self) -> bool {
        *self
            == TicketUpdate {
                id: self.id,
                ..TicketUpdate::default()
            }
    }
}

/// A new action for `POST /api/Actions` (here: the acknowledgement email).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAction {
    pub ticket_id: i64,
    pub outcome_id: i64,
    pub sendemail: bool,
    pub emailto: String,
    pub emailsubject: String,
    pub note_html: String,
    pub hiddenfromuser: bool,
    pub timetaken: f64,
}

/// An existing action, as `GET /api/Actions?ticket_id=` lists it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Action {
    #[serde(deserialize_with = "lenient_id")]
    pub id: i64,
    pub note: Option<String>,
    pub note_html: Option<String>,
    pub emailbody: Option<String>,
    pub emailbody_html: Option<String>,
    pub emailsubject: Option<String>,
}

impl Action {
    pub fn contains(&self, marker: &str) -> bool {
        [
            &self.note,
            &self.note_html,
            &self.emailbody,
            &self.emailbody_html,
        ]
        .into_iter()
        .flatten()
        .any(|text| text.contains(marker))
    }
}

/// `GET /api/Team` row (`SectionDetail`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Team {
    #[serde(deserialize_with = "lenient_id")]
    pub id: i64,
    pub name: String,
    pub inactive: bool,
}

/// `GET /api/Priority` row (`Policy`): `priorityid` is what a ticket's `priority_id` holds.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Priority {
    #[serde(deserialize_with = "lenient_id")]
    pub priorityid: i64,
    #[serde(deserialize_with = "lenient_opt_id")]
    pub slaid: Option<i64>,
    pub name: String,
    pub ishidden: bool,
}

/// `GET /api/TicketType` row (`RequestType`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TicketType {
    #[serde(deserialize_with = "lenient_id")]
    pub id: i64,
    pub name: String,
    pub inactive: bool,
}

/// `GET /api/Outcome` row (`TOutcome`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Outcome {
    #[serde(deserialize_with = "lenient_id")]
    pub id: i64,
    pub outcome: String,
    pub sendemail: bool,
    pub hidefromuser: bool,
}

/// `GET /api/Category` row (`CategoryDetail`); `type_id` is the category level.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Category {
    #[serde(deserialize_with = "lenient_id")]
    pub id: i64,
    pub value: String,
    #[serde(deserialize_with = "lenient_opt_id")]
    pub type_id: Option<i64>,
}

/// `GET /api/Status` row (`TStatus`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Status {
    #[serde(deserialize_with = "lenient_id")]
    pub id: i64,
    pub name: String,
}

/// `GET /api/Agent` row (`Uname`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Agent {
    #[serde(deserialize_with = "lenient_id")]
    pub id: i64,
    pub name: String,
    pub isdisabled: bool,
}

/// An id given as a number or a numeric string; anything else is "no id".
pub fn id_of(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn lenient_opt_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    Ok(id_of(&Value::deserialize(deserializer)?))
}

fn lenient_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    Ok(lenient_opt_id(deserializer)?.unwrap_or_default())
}

/// Lists come as a plain array or wrapped (`{"teams": [...]}`); accept both.
pub fn list_items(value: Value, key: &str) -> Option<Vec<Value>> {
    match value {
        Value::Array(items) => Some(items),
        Value::Object(mut map) => match map.remove(key) {
            Some(Value::Array(items)) => Some(items),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_reads_numbers_strings_and_missing_fields() {
        let ticket: Ticket = serde_json::from_value(serde_json::json!({
            "id": "41234", "summary": "Printer", "team_id": 0, "agent_id": "7",
            "priority_id": null, "unknown_field": [1, 2]
        }))
        .unwrap();
        assert_eq!(ticket.id, 41234);
        assert_eq!(ticket.agent_id, Some(7));
        assert_eq!(ticket.priority_id, None);
        assert!(!ticket.has_team());
        assert!(ticket.has_agent());
    }

    #[test]
    fn an_update_serialises_only_the_fields_set() {
        let update = TicketUpdate {
            id: 5,
            team: Some("Network".into()),
            priority_id: Some(2),
            ..TicketUpdate::default()
        };
        assert_eq!(
            serde_json::to_value(&update).unwrap(),
            serde_json::json!({"id": 5, "team": "Network", "priority_id": 2})
        );
        assert!(TicketUpdate {
            id: 5,
            ..TicketUpdate::default()
        }
        .is_empty());
        assert!(!update.is_empty());
    }

    #[test]
    fn lists_are_read_plain_or_wrapped() {
        let plain = list_items(serde_json::json!([{"id": 1}]), "teams").unwrap();
        let wrapped = list_items(serde_json::json!({"teams": [{"id": 1}]}), "teams").unwrap();
        assert_eq!(plain, wrapped);
        assert!(list_items(serde_json::json!({"other": []}), "teams").is_none());
    }
}
