//! Reading one webhook delivery object. Halo's payload shapes are partly inferred (see
//! docs/reference), so every field is optional and read leniently.

use serde_json::Value;

use super::model::{id_of, Ticket};

/// Halo's unique id of the delivery (`id`, a GUID; numbers accepted too).
pub fn delivery_id(delivery: &Value) -> Option<String> {
    match delivery.get("id")? {
        Value::String(id) if !id.trim().is_empty() => Some(id.trim().to_string()),
        Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

/// The event name, trimmed and lower-cased for comparison.
pub fn event(delivery: &Value) -> Option<String> {
    let event = delivery.get("event")?.as_str()?.trim();
    (!event.is_empty()).then(|| event.to_lowercase())
}

/// The ticket the delivery is about: `object_id`, else the nested `ticket.id`.
pub fn ticket_id(delivery: &Value) -> Option<i64> {
    delivery
        .get("object_id")
        .and_then(id_of)
        .or_else(|| delivery.get("ticket")?.get("id").and_then(id_of))
        .filter(|id| *id > 0)
}

/// The agent the delivery names at its top level (`agent_id`): taken to be who caused the
/// event. Inferred from one captured payload; operators confirm it in Halo's delivery log.
pub fn actor_agent_id(delivery: &Value) -> Option<i64> {
    delivery
        .get("agent_id")
        .and_then(id_of)
        .filter(|id| *id > 0)
}

/// The ticket carried by a "full object" payload. A small-object or event-only payload
/// returns `None`: the ticket must then be read from Halo. Full means every field triage
/// and the acknowledgement rely on is present, so "missing" is never mistaken for "empty"
/// (an absent team must not look unassigned).
pub fn full_ticket(delivery: &Value) -> Option<Ticket> {
    let ticket = delivery.get("ticket")?;
    let has = |key: &str| ticket.get(key).is_some_and(|v| !v.is_null());
    let complete = has("summary")
        && (has("details") || has("details_html"))
        && has("user_email")
        && (has("team") || has("team_id"))
        && has("agent_id");
    if !complete {
        return None;
    }
    let mut ticket: Ticket = serde_json::from_value(ticket.clone()).ok()?;
    if ticket.id <= 0 {
        ticket.id = ticket_id(delivery)?;
    }
    Some(ticket)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_come_from_object_id_or_the_nested_ticket() {
        assert_eq!(ticket_id(&json!({"object_id": 5})), Some(5));
        assert_eq!(ticket_id(&json!({"object_id": "6"})), Some(6));
        assert_eq!(ticket_id(&json!({"ticket": {"id": 7}})), Some(7));
        assert_eq!(ticket_id(&json!({"object_id": 0})), None);
        assert_eq!(delivery_id(&json!({"id": 12})), Some("12".into()));
        assert_eq!(
            event(&json!({"event": " New Ticket Logged "})),
            Some("new ticket logged".into())
        );
    }

    #[test]
    fn only_a_ticket_with_every_field_used_is_full() {
        let full =
            json!({"summary": "x", "details": "y", "user_email": "", "team": "", "agent_id": 0});
        let ticket = full_ticket(&json!({"object_id": 5, "ticket": full})).unwrap();
        assert_eq!(ticket.id, 5);
        for missing in ["summary", "details", "user_email", "team", "agent_id"] {
            let mut partial = full.clone();
            partial.as_object_mut().unwrap().remove(missing);
            assert!(
                full_ticket(&json!({"object_id": 5, "ticket": partial})).is_none(),
                "{missing}"
            );
        }
    }
}
