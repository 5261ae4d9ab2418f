//! Turning a delivery body into work: one object or an array of them (Halo's batching).

use serde_json::Value;

use crate::halo::webhook;
use crate::store::NewJob;

/// What one delivery object amounts to.
#[derive(Debug)]
pub enum Item {
    Work(NewJob),
    /// An event we were not asked to handle (or none at all).
    Ignored(String),
    /// A handled event we cannot act on; the message says why.
    Invalid(String),
}

#[derive(Debug)]
pub struct Parsed {
    pub items: Vec<Item>,
    pub batch: bool,
}

/// Parses the body; `Err` names what makes the body as a whole unusable.
/// `events` are the handled event names, lower-cased; events caused by one of
/// `ignored_agents` (our own API agent) are ignored.
pub fn parse(body: &[u8], events: &[String], ignored_agents: &[i64]) -> Result<Parsed, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("body is not valid JSON: {e}"))?;
    let (objects, batch) = match value {
        Value::Array(items) if items.is_empty() => return Err("body is an empty array".into()),
        Value::Array(items) => (items, true),
        Value::Object(_) => (vec![value], false),
        other => {
            return Err(format!(
                "body must be a JSON object or an array of objects, not {}",
                json_kind(&other)
            ))
        }
    };
    let items = objects
        .into_iter()
        .enumerate()
        .map(|(index, object)| item(index, object, events, ignored_agents, batch))
        .collect();
    Ok(Parsed { items, batch })
}

fn item(
    index: usize,
    object: Value,
    events: &[String],
    ignored_agents: &[i64],
    batch: bool,
) -> Item {
    let place = if batch {
        format!("element {index}: ")
    } else {
        String::new()
    };
    if !object.is_object() {
        return Item::Invalid(format!(
            "{place}expected an object, found {}",
            json_kind(&object)
        ));
    }
    let Some(event) = webhook::event(&object) else {
        return Item::Ignored(format!("{place}no event name"));
    };
    if !events.contains(&event) {
        return Item::Ignored(format!("{place}event '{event}' is not handled"));
    }
    if let Some(agent) =
        webhook::actor_agent_id(&object).filter(|agent| ignored_agents.contains(agent))
    {
        return Item::Ignored(format!(
            "{place}event '{event}' was caused by agent {agent} (webhook.ignore_agent_ids): our own change"
        ));
    }
    let Some(ticket_id) = webhook::ticket_id(&object) else {
        return Item::Invalid(format!(
            "{place}event '{event}' carries no ticket id (object_id or ticket.id)"
        ));
    };
    Item::Work(NewJob {
        halo_delivery_id: webhook::delivery_id(&object),
        ticket_id,
        event,
        payload: object.to_string(),
    })
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use crate::ingest::halo_json;

    fn events() -> Vec<String> {
        vec!["new ticket logged".into()]
    }

    #[test]
    fn the_shipped_examples_parse() {
        let single = include_bytes!("../../tests/fixtures/webhook-new-ticket-full.json");
        let parsed = parse(single, &events(), &[]).unwrap();
        assert!(!parsed.batch);
        let [Item::Work(job)] = parsed.items.as_slice() else {
            panic!("{:?}", parsed.items)
        };
        assert_eq!(job.ticket_id, 41234);
        assert_eq!(job.event, "new ticket logged");
        assert_eq!(
            job.halo_delivery_id.as_deref(),
            Some("7f4b1c2e-9a7d-4f0e-8d1b-2c3e4f5a6b7c")
        );

        let batch = include_bytes!("../../tests/fixtures/webhook-batched.json");
        let parsed = parse(batch, &events(), &[]).unwrap();
        assert!(parsed.batch);
        assert_eq!(parsed.items.len(), 2);
    }

    #[test]
    fn unusable_bodies_say_why() {
        let cases: [(&[u8], &str); 4] = [
            (b"{not json", "not valid JSON"),
            (b"42", "not a number"),
            (b"[]", "empty array"),
            (b"\"text\"", "not a string"),
        ];
        for (body, expected) in cases {
            let err = parse(body, &events(), &[]).unwrap_err();
            assert!(err.contains(expected), "{expected}: {err}");
        }
    }

    #[test]
    fn items_are_work_ignored_or_invalid() {
        let body = br#"[{"event":"Ticket Updated","object_id":1},{"object_id":2},
                        {"event":"New Ticket Logged"},7]"#;
        let parsed = parse(body, &events(), &[]).unwrap();
        let messages: Vec<String> = parsed
            .items
            .iter()
            .map(|item| match item {
                Item::Ignored(m) => format!("ignored {m}"),
                Item::Invalid(m) => format!("invalid {m}"),
                Item::Work(_) => "work".into(),
            })
            .collect();
        assert_eq!(
            messages,
            [
                "ignored element 0: event 'ticket updated' is not handled",
                "ignored element 1: no event name",
                "invalid element 2: event 'new ticket logged' carries no ticket id (object_id or ticket.id)",
                "invalid element 3: expected an object, found a number",
            ]
        );
    }

    #[test]
    fn events_caused_by_our_own_agent_make_no_work() {
        let body = br#"[{"event":"New Ticket Logged","object_id":1,"agent_id":7},
                        {"event":"New Ticket Logged","object_id":2,"agent_id":"8"}]"#;
        let parsed = parse(body, &events(), &[7]).unwrap();
        let [Item::Ignored(message), Item::Work(job)] = parsed.items.as_slice() else {
            panic!("{:?}", parsed.items)
        };
        assert!(message.contains("caused by agent 7"), "{message}");
        assert_eq!(job.ticket_id, 2);
    }

    /// `parse` as the property tests call it: the handled events above, and some agent ids
    /// to ignore (small ones, which the generated deliveries often carry).
    fn parse_any(body: &[u8]) -> Result<Parsed, String> {
        parse(body, &events(), &[0, 1, 7])
    }

    /// What `parse` must say of a body that serde_json reads as `value`.
    fn check_parsed(value: &Value, parsed: Result<Parsed, String>) -> Result<(), TestCaseError> {
        let elements = match value {
            Value::Array(items) if !items.is_empty() => items.as_slice(),
            Value::Object(_) => std::slice::from_ref(value),
            _ => {
                prop_assert!(parsed.is_err(), "{value} must be refused as a whole");
                return Ok(());
            }
        };
        let parsed = parsed.map_err(|e| TestCaseError::fail(format!("{value}: {e}")))?;
        prop_assert_eq!(parsed.batch, value.is_array());
        prop_assert_eq!(parsed.items.len(), elements.len());
        for (item, element) in parsed.items.iter().zip(elements) {
            match item {
                Item::Work(job) => {
                    prop_assert!(job.ticket_id > 0, "{element}");
                    prop_assert!(events().contains(&job.event), "{element}");
                    prop_assert_eq!(&job.payload, &element.to_string());
                }
                Item::Ignored(_) | Item::Invalid(_) => {}
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

        /// Random bytes, cut or corrupted JSON, numbers out of range and deep nesting are
        /// parsed or refused with a message, never a panic.
        #[test]
        fn any_bytes_are_parsed_or_refused(body in halo_json::body_bytes()) {
            let parsed = parse_any(&body);
            match serde_json::from_slice::<Value>(&body) {
                Ok(value) => check_parsed(&value, parsed)?,
                Err(_) => prop_assert!(parsed.unwrap_err().contains("not valid JSON")),
            }
        }

        /// Any JSON value, Halo-shaped or not: refused unless an object or a non-empty array,
        /// one item per element, and work only for a handled event with a positive ticket id.
        #[test]
        fn any_json_value_is_parsed_or_refused(value in halo_json::body_value()) {
            // Compared with the value as read back: a float may not survive the round trip.
            let body = value.to_string();
            let read: Value = serde_json::from_str(&body).unwrap();
            check_parsed(&read, parse_any(body.as_bytes()))?;
        }
    }
}
