//! Turning a delivery body into work: one object or an array of them (Halo's batching).

use std::fmt;

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::halo::webhook::Delivery;
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

/// Why a body as a whole is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not usable: the message names the problem.
    Invalid(String),
    /// An array of more than `webhook.max_batch` elements.
    TooManyElements { max: usize },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Invalid(message) => f.write_str(message),
            Refusal::TooManyElements { max } => write!(
                f,
                "the batch has more than {max} elements (webhook.max_batch); nothing of it was taken"
            ),
        }
    }
}

/// What the caller allows: the handled event names (lower-cased), the agents whose events
/// are our own doing (the loop guard), and the most elements a batch may have.
pub struct Accept<'a> {
    pub events: &'a [String],
    pub ignored_agents: &'a [i64],
    pub max_batch: usize,
}

/// Parses the body; `Err` says what makes the body as a whole unusable. The elements of a
/// batch are counted before any of them is read, so a huge batch costs no memory; each
/// element is kept as the raw text it arrived as, and only its envelope fields are read.
pub fn parse(body: &[u8], accept: &Accept) -> Result<Parsed, Refusal> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    check_batch_size(body, first, accept.max_batch)?;
    let (events, ignored_agents) = (accept.events, accept.ignored_agents);
    let invalid = |e: serde_json::Error| Refusal::Invalid(format!("body is not valid JSON: {e}"));
    serde_json::from_slice::<Checked>(body).map_err(invalid)?;
    let (objects, batch) = match kind(first) {
        "an array" => {
            let items: Vec<&RawValue> = serde_json::from_slice(body).map_err(invalid)?;
            if items.is_empty() {
                return Err(Refusal::Invalid("body is an empty array".into()));
            }
            (items, true)
        }
        "an object" => (vec![serde_json::from_slice(body).map_err(invalid)?], false),
        other => {
            return Err(Refusal::Invalid(format!(
                "body must be a JSON object or an array of objects, not {other}"
            )))
        }
    };
    let items = objects
        .into_iter()
        .enumerate()
        .map(|(index, object)| item(index, object, events, ignored_agents, batch))
        .collect();
    Ok(Parsed { items, batch })
}

/// Reads a whole JSON value and keeps nothing of it, as strictly as a full parse: nesting
/// deeper than serde_json's limit (128) and numbers out of range are errors. (`IgnoredAny`
/// is not enough: serde_json skips it without counting depth or reading numbers.)
struct Checked;

impl<'de> serde::Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = Checked;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_entry::<Checked, Checked>()?.is_some() {}
        Ok(Checked)
    }
}

/// Refuses an array of more than `max` elements, reading no element (invalid JSON is left
/// for the full parse to name).
fn check_batch_size(body: &[u8], first: Option<u8>, max: usize) -> Result<(), Refusal> {
    struct Count(usize);
    impl<'de> Visitor<'de> for Count {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON array")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut count = 0;
            while seq.next_element::<IgnoredAny>()?.is_some() {
                count += 1;
                if count > self.0 {
                    return Err(serde::de::Error::custom(TOO_MANY));
                }
            }
            Ok(())
        }
    }
    const TOO_MANY: &str = "too many elements";
    if kind(first) != "an array" {
        return Ok(());
    }
    match serde_json::Deserializer::from_slice(body).deserialize_seq(Count(max)) {
        Err(error) if error.to_string().starts_with(TOO_MANY) => {
            Err(Refusal::TooManyElements { max })
        }
        _ => Ok(()),
    }
}

fn item(
    index: usize,
    object: &RawValue,
    events: &[String],
    ignored_agents: &[i64],
    batch: bool,
) -> Item {
    let place = if batch {
        format!("element {index}: ")
    } else {
        String::new()
    };
    let found = kind(object.get().as_bytes().first().copied());
    if found != "an object" {
        return Item::Invalid(format!("{place}expected an object, found {found}"));
    }
    let delivery = match Delivery::parse(object.get()) {
        Ok(delivery) => delivery,
        Err(e) => return Item::Invalid(format!("{place}{e}")),
    };
    let Some(event) = delivery.event() else {
        return Item::Ignored(format!("{place}no event name"));
    };
    if !events.contains(&event) {
        return Item::Ignored(format!("{place}event '{event}' is not handled"));
    }
    if let Some(agent) = delivery
        .actor_agent_id()
        .filter(|agent| ignored_agents.contains(agent))
    {
        return Item::Ignored(format!(
            "{place}event '{event}' was caused by agent {agent} (webhook.ignore_agent_ids): our own change"
        ));
    }
    let Some(ticket_id) = delivery.ticket_id() else {
        return Item::Invalid(format!(
            "{place}event '{event}' carries no ticket id (object_id or ticket.id)"
        ));
    };
    Item::Work(NewJob {
        halo_delivery_id: delivery.delivery_id(),
        ticket_id,
        event,
        payload: object.get().to_string(),
    })
}

/// The kind of a JSON value, told by its first character (the value is valid JSON).
fn kind(first: Option<u8>) -> &'static str {
    match first {
        Some(b'n') => "null",
        Some(b't' | b'f') => "a boolean",
        Some(b'"') => "a string",
        Some(b'[') => "an array",
        Some(b'{') => "an object",
        _ => "a number",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    use crate::ingest::halo_json;

    fn events() -> Vec<String> {
        vec!["new ticket logged".into()]
    }

    /// What the tests accept: the one handled event, a generous batch size.
    fn accept(ignored_agents: &[i64]) -> Accept<'_> {
        Accept {
            events: events_static(),
            ignored_agents,
            max_batch: 10_000,
        }
    }

    fn events_static() -> &'static [String] {
        static EVENTS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
        EVENTS.get_or_init(events)
    }

    #[test]
    fn a_batch_over_the_cap_is_refused_before_its_elements_are_read() {
        let small = Accept {
            max_batch: 2,
            ..accept(&[])
        };
        assert!(parse(b"[{}, {}]", &small).is_ok());
        assert_eq!(
            parse(b" [{}, {}, 7]", &small).unwrap_err(),
            Refusal::TooManyElements { max: 2 }
        );
        // Counted before the rest is even read: a broken tail makes no difference.
        assert_eq!(
            parse(b"[1, 2, 3, {not json", &small).unwrap_err(),
            Refusal::TooManyElements { max: 2 }
        );
        assert!(parse(b"{\"a\": [1, 2, 3]}", &small).is_ok());
    }

    #[test]
    fn the_shipped_examples_parse() {
        let single = include_bytes!("../../tests/fixtures/webhook-new-ticket-full.json");
        let parsed = parse(single, &accept(&[])).unwrap();
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
        let parsed = parse(batch, &accept(&[])).unwrap();
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
            let err = parse(body, &accept(&[])).unwrap_err().to_string();
            assert!(err.contains(expected), "{expected}: {err}");
        }
    }

    #[test]
    fn items_are_work_ignored_or_invalid() {
        let body = br#"[{"event":"Ticket Updated","object_id":1},{"object_id":2},
                        {"event":"New Ticket Logged"},7]"#;
        let parsed = parse(body, &accept(&[])).unwrap();
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
        let parsed = parse(body, &accept(&[7])).unwrap();
        let [Item::Ignored(message), Item::Work(job)] = parsed.items.as_slice() else {
            panic!("{:?}", parsed.items)
        };
        assert!(message.contains("caused by agent 7"), "{message}");
        assert_eq!(job.ticket_id, 2);
    }

    /// `parse` as the property tests call it: the handled events above, and some agent ids
    /// to ignore (small ones, which the generated deliveries often carry).
    fn parse_any(body: &[u8]) -> Result<Parsed, Refusal> {
        parse(body, &accept(&[0, 1, 7]))
    }

    /// What `parse` must say of a body that serde_json reads as `value`.
    fn check_parsed(value: &Value, parsed: Result<Parsed, Refusal>) -> Result<(), TestCaseError> {
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
                    let payload: Value = serde_json::from_str(&job.payload).unwrap();
                    prop_assert_eq!(&payload, element);
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
                Err(_) => prop_assert!(parsed.unwrap_err().to_string().contains("not valid JSON")),
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
