//! Halo's wire types, with the field names of its OpenAPI description (`Faults` = ticket,
//! `Actions`, `SectionDetail` = team, `Policy` = priority, `TOutcome`, ...).
//!
//! Reading is lenient: unknown fields are ignored, missing ones take defaults, and ids may
//! arrive as numbers or numeric strings (webhooks can be set to send display values).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::field::{Field, FieldValue};
use crate::text::html_to_text;

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
    #[serde(deserialize_with = "lenient_opt_id")]
    pub impact: Option<i64>,
    #[serde(deserialize_with = "lenient_opt_id")]
    pub urgency: Option<i64>,
    /// How the ticket was logged (email, portal, phone, ...): Halo's lookup id.
    #[serde(deserialize_with = "lenient_opt_id")]
    pub source: Option<i64>,
    #[serde(deserialize_with = "lenient_bool")]
    pub is_vip: bool,
    /// When the ticket was logged (ISO 8601).
    pub dateoccurred: Option<String>,
    #[serde(deserialize_with = "lenient_bool")]
    pub hasbeenclosed: bool,
    pub customfields: Vec<CustomField>,
    /// The details as plain text, worked out once (the rules, the sentiment and the LLM
    /// all read them).
    #[serde(skip)]
    pub(crate) plain: PlainDetails,
    /// Read with `GET /api/Tickets/{id}`, not taken from a webhook's payload.
    #[serde(skip)]
    pub read_from_halo: bool,
}

/// A ticket as a list (`GET /api/Tickets`) shows it: Halo trims list items, so which of
/// the decidable fields the answer carried is kept beside the ticket (a field it left out
/// is unknown, not empty).
#[derive(Debug, Clone)]
pub struct ListedTicket {
    pub ticket: Ticket,
    pub carried: std::collections::BTreeSet<Field>,
}

impl<'de> Deserialize<'de> for ListedTicket {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let carried = Field::ALL
            .into_iter()
            .filter(|f| value.get(f.name()).is_some())
            .collect();
        let ticket = Ticket::deserialize(value).map_err(serde::de::Error::custom)?;
        Ok(ListedTicket { ticket, carried })
    }
}

/// A cache of [`Ticket::plain_details`]; not part of what a ticket is (equal, not shown).
#[derive(Clone, Default)]
pub(crate) struct PlainDetails(std::sync::OnceLock<String>);

impl PartialEq for PlainDetails {
    fn eq(&self, _: &PlainDetails) -> bool {
        true
    }
}

impl std::fmt::Debug for PlainDetails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("..")
    }
}

/// HTML beyond this many bytes is not converted: a ticket's words are near its start, and
/// the conversion of a hostile body stays cheap.
pub const MAX_DETAILS_HTML: usize = 128 * 1024;

/// A custom field on a ticket (`CustomField`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomField {
    #[serde(deserialize_with = "lenient_id")]
    pub id: i64,
    pub name: String,
    pub label: String,
    pub value: Value,
    pub display: Option<String>,
}

impl CustomField {
    /// The value as text: the display value when Halo gives one, else the raw value.
    pub fn text(&self) -> String {
        match (&self.display, &self.value) {
            (Some(display), _) if !display.is_empty() => display.clone(),
            (_, Value::String(text)) => text.clone(),
            (_, Value::Null) => String::new(),
            (_, other) => other.to_string(),
        }
    }
}

impl Ticket {
    /// A custom field by its name or its label (case-insensitive).
    pub fn custom_field(&self, name: &str) -> Option<&CustomField> {
        self.customfields
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name) || c.label.eq_ignore_ascii_case(name))
    }

    /// A team is on the ticket already (Halo reports "" or id 0 for none).
    pub fn has_team(&self) -> bool {
        !self.team.trim().is_empty() || self.team_id.is_some_and(|id| id > 0)
    }

    /// The value the ticket has for `field` now; `None` when it has none (Halo's "" or 0).
    pub fn current(&self, field: Field) -> Option<FieldValue> {
        let text = |s: &str| {
            let s = s.trim();
            (!s.is_empty()).then(|| FieldValue::Text(s.to_string()))
        };
        let id = |v: Option<i64>| v.filter(|v| *v > 0).map(FieldValue::Id);
        match field {
            Field::Team => text(&self.team),
            Field::AgentId => id(self.agent_id),
            Field::Category1 => text(&self.category_1),
            Field::Category2 => text(&self.category_2),
            Field::Category3 => text(&self.category_3),
            Field::Category4 => text(&self.category_4),
            Field::PriorityId => id(self.priority_id),
            Field::TicketTypeId => id(self.tickettype_id),
            Field::StatusId => id(self.status_id),
            Field::Impact => id(self.impact),
            Field::Urgency => id(self.urgency),
        }
    }

    /// The details as plain text: the plain `details`, else `details_html` stripped (its
    /// first [`MAX_DETAILS_HTML`] bytes). Worked out on the first call.
    pub fn plain_details(&self) -> &str {
        match (&self.details, &self.details_html) {
            (Some(plain), _) if !plain.trim().is_empty() => plain,
            (_, Some(html)) => self
                .plain
                .0
                .get_or_init(|| html_to_text(cut(html, MAX_DETAILS_HTML))),
            _ => "",
        }
    }
}

/// A partial ticket update for `POST /api/Tickets`: only the fields that are set are sent,
/// under Halo's names (`team`, `category_1`, `priority_id`, ..., `customfields`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TicketUpdate {
    pub id: i64,
    #[serde(flatten)]
    pub fields: BTreeMap<Field, FieldValue>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub customfields: Vec<CustomFieldValue>,
}

/// A custom field write: `{ "id": <field id>, "value": <value> }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomFieldValue {
    pub id: i64,
    pub value: Value,
}

impl TicketUpdate {
    pub fn new(id: i64) -> TicketUpdate {
        TicketUpdate {
            id,
            ..TicketUpdate::default()
        }
    }

    /// Nothing but the id: no request is needed.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.customfields.is_empty()
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

/// A private note for the agents (`POST /api/Actions`, hidden from the user).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrivateNote {
    pub ticket_id: i64,
    pub outcome_id: i64,
    pub hiddenfromuser: bool,
    pub note_html: String,
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
    pub category_name: String,
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

fn lenient_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Bool(b) => b,
        Value::Number(n) => n.as_i64().is_some_and(|n| n != 0),
        Value::String(s) => matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes"),
        _ => false,
    })
}

pub(crate) fn lenient_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    Ok(lenient_opt_id(deserializer)?.unwrap_or_default())
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
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
    }

    #[test]
    fn an_update_serialises_only_the_fields_set() {
        let mut update = TicketUpdate::new(5);
        assert!(update.is_empty());
        update
            .fields
            .insert(Field::Team, FieldValue::Text("Network".into()));
        update.fields.insert(Field::PriorityId, FieldValue::Id(2));
        update.customfields.push(CustomFieldValue {
            id: 187,
            value: Value::from("auto"),
        });
        assert_eq!(
            serde_json::to_string(&update).unwrap(),
            r#"{"id":5,"team":"Network","priority_id":2,"customfields":[{"id":187,"value":"auto"}]}"#
        );
        assert!(!update.is_empty());
    }

    #[test]
    fn current_values_treat_empty_and_zero_as_none() {
        let ticket = Ticket {
            team: " ".into(),
            agent_id: Some(0),
            priority_id: Some(3),
            category_1: "Email".into(),
            ..Ticket::default()
        };
        assert_eq!(ticket.current(Field::Team), None);
        assert_eq!(ticket.current(Field::AgentId), None);
        assert_eq!(ticket.current(Field::PriorityId), Some(FieldValue::Id(3)));
        assert!(ticket
            .current(Field::Category1)
            .unwrap()
            .same_as(&FieldValue::Text("EMAIL".into())));
    }
}
