//! Reading one webhook delivery object. Halo's payload shapes are partly inferred (see
//! docs/reference), so every field is optional and read leniently.
//!
//! Only the few top-level fields triage uses are read, each borrowed from the body as raw
//! JSON: a delivery padded with megabytes of other fields builds nothing for them.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::model::{id_of, Ticket};

/// The top-level fields of one delivery object, unparsed.
#[derive(Deserialize)]
pub struct Delivery<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    event: Option<&'a RawValue>,
    #[serde(borrow, default)]
    object_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    agent_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    ticket: Option<&'a RawValue>,
}

/// The nested ticket's id, the one field read from it before the ticket is needed.
#[derive(Deserialize)]
struct TicketId<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
}

/// A string, number, boolean or null as a value; an array or object (never a valid id or
/// name) as `None`, without building it.
fn scalar(raw: Option<&RawValue>) -> Option<Value> {
    let raw = raw?.get();
    if raw.starts_with(['[', '{']) {
        return None;
    }
    serde_json::from_str(raw).ok()
}

impl<'a> Delivery<'a> {
    /// Reads a delivery object; the error names what is wrong (not an object, a field
    /// given twice).
    pub fn parse(object: &'a str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(object)
    }

    /// Halo's unique id of the delivery (`id`, a GUID; numbers accepted too).
    pub fn delivery_id(&self) -> Option<String> {
        match scalar(self.id)? {
            Value::String(id) if !id.trim().is_empty() => Some(id.trim().to_string()),
            Value::Number(id) => Some(id.to_string()),
            _ => None,
        }
    }

    /// The event name, trimmed and lower-cased for comparison.
    pub fn event(&self) -> Option<String> {
        let event = scalar(self.event)?;
        let event = event.as_str()?.trim();
        (!event.is_empty()).then(|| event.to_lowercase())
    }

    /// The ticket the delivery is about: `object_id`, else the nested `ticket.id`.
    pub fn ticket_id(&self) -> Option<i64> {
        scalar(self.object_id)
            .as_ref()
            .and_then(id_of)
            .or_else(|| {
                let ticket: TicketId = serde_json::from_str(self.ticket?.get()).ok()?;
                id_of(&scalar(ticket.id)?)
            })
            .filter(|id| *id > 0)
    }

    /// The agent the delivery names at its top level (`agent_id`): taken to be who caused
    /// the event. Inferred from one captured payload; operators confirm it in Halo's
    /// delivery log.
    pub fn actor_agent_id(&self) -> Option<i64> {
        id_of(&scalar(self.agent_id)?).filter(|id| *id > 0)
    }

    /// Whether the delivery carries a `ticket` object at all (full or not).
    pub fn has_ticket(&self) -> bool {
        self.ticket.is_some()
    }

    /// The ticket carried by a "full object" payload. A small-object or event-only payload
    /// returns `None`: the ticket must then be read from Halo. Full means every field
    /// triage and the acknowledgement rely on is present, so "missing" is never mistaken
    /// for "empty" (an absent team must not look unassigned).
    pub fn full_ticket(&self) -> Option<Ticket> {
        let ticket: Value = serde_json::from_str(self.ticket?.get()).ok()?;
        let has = |key: &str| ticket.get(key).is_some_and(|v| !v.is_null());
        let complete = has("summary")
            && (has("details") || has("details_html"))
            && has("user_email")
            && (has("team") || has("team_id"))
            && has("agent_id");
        if !complete {
            return None;
        }
        let mut ticket: Ticket = serde_json::from_value(ticket).ok()?;
        if ticket.id <= 0 {
            ticket.id = self.ticket_id()?;
        }
        Some(ticket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_come_from_object_id_or_the_nested_ticket() {
        let ticket_id = |value: Value| Delivery::parse(&value.to_string()).unwrap().ticket_id();
        assert_eq!(ticket_id(json!({"object_id": 5})), Some(5));
        assert_eq!(ticket_id(json!({"object_id": "6"})), Some(6));
        assert_eq!(ticket_id(json!({"ticket": {"id": 7}})), Some(7));
        assert_eq!(ticket_id(json!({"object_id": 0})), None);
        assert_eq!(ticket_id(json!({"object_id": [5]})), None);
        let text = json!({"id": 12, "event": " New Ticket Logged "}).to_string();
        let delivery = Delivery::parse(&text).unwrap();
        assert_eq!(delivery.delivery_id(), Some("12".into()));
        assert_eq!(delivery.event(), Some("new ticket logged".into()));
    }

    #[test]
    fn only_a_ticket_with_every_field_used_is_full() {
        let full =
            json!({"summary": "x", "details": "y", "user_email": "", "team": "", "agent_id": 0});
        let full_ticket = |ticket: &Value| {
            let text = json!({"object_id": 5, "ticket": ticket}).to_string();
            Delivery::parse(&text).unwrap().full_ticket()
        };
        assert_eq!(full_ticket(&full).unwrap().id, 5);
        for missing in ["summary", "details", "user_email", "team", "agent_id"] {
            let mut partial = full.clone();
            partial.as_object_mut().unwrap().remove(missing);
            assert!(full_ticket(&partial).is_none(), "{missing}");
        }
    }
}
