//! Proptest strategies for webhook bodies: arbitrary bytes, near-JSON, and JSON values
//! shaped like Halo's deliveries (the right keys with wrong types, extreme numbers, nesting,
//! batches). Test code only: the parser's unit tests use it, and so does
//! `tests/it/webhook_fuzz.rs` (through `#[path]`), so it depends only on proptest and
//! serde_json.

use proptest::prelude::*;
use proptest::sample::{select, Index};
use serde_json::{Map, Number, Value};

/// Keys Halo's deliveries and tickets carry, so generated objects hit the parser's lookups.
const HALO_KEYS: &[&str] = &[
    "id",
    "event",
    "object_id",
    "ticket",
    "agent_id",
    "team",
    "team_id",
    "summary",
    "details",
    "details_html",
    "user_email",
    "priority_id",
    "tickettype_id",
    "customfields",
];

const EVENTS: &[&str] = &[
    "New Ticket Logged",
    " new ticket logged ",
    "NEW TICKET LOGGED",
    "Ticket Updated",
    "",
    "   ",
];

/// Numbers at and past the edges: the i64/u64 limits, zero, negatives, fractions, and small
/// ids that repeat across cases (so duplicates occur).
pub fn number() -> BoxedStrategy<Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        select(vec![i64::MIN, -1, 0, 1, i64::MAX]).prop_map(Value::from),
        Just(Value::from(u64::MAX)),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        (-2i64..20).prop_map(Value::from),
    ]
    .boxed()
}

/// Strings, including the ones an id or event might be confused with.
pub fn string() -> BoxedStrategy<String> {
    prop_oneof![
        any::<String>(),
        "[0-9 +-]{0,24}",
        select(EVENTS).prop_map(str::to_string),
        select(vec![
            "41234",
            " 7 ",
            "-5",
            "0",
            "99999999999999999999",
            "1e3",
            "d-1"
        ])
        .prop_map(str::to_string),
    ]
    .boxed()
}

pub fn leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        string().prop_map(Value::String),
    ]
    .boxed()
}

pub fn key() -> BoxedStrategy<String> {
    prop_oneof![
        3 => select(HALO_KEYS).prop_map(str::to_string),
        1 => any::<String>(),
    ]
    .boxed()
}

/// Any JSON value: leaves, arrays and objects nested a few levels deep.
pub fn value() -> BoxedStrategy<Value> {
    leaf()
        .prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((key(), inner), 0..6)
                    .prop_map(|fields| Value::Object(fields.into_iter().collect())),
            ]
        })
        .boxed()
}

/// What may sit where Halo puts an id: small ids (which repeat, so duplicates occur), as
/// numbers or strings, any number, any string, anything else.
pub fn id_value() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => (1i64..40).prop_map(Value::from),
        1 => (1i64..40).prop_map(|id| Value::from(id.to_string())),
        3 => number(),
        2 => string().prop_map(Value::String),
        1 => value(),
    ]
    .boxed()
}

fn put(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        map.insert(key.to_string(), value);
    }
}

/// A `ticket` object: its fields present or not, of the right type or not.
pub fn ticket() -> BoxedStrategy<Value> {
    let text = || prop_oneof![3 => string().prop_map(Value::String), 1 => value()].boxed();
    (
        prop::option::of(id_value()),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(id_value()),
        prop::collection::vec((key(), value()), 0..3),
    )
        .prop_map(|(id, summary, details, email, team, agent, extra)| {
            let mut map: Map<String, Value> = extra.into_iter().collect();
            put(&mut map, "id", id);
            put(&mut map, "summary", summary);
            put(&mut map, "details", details);
            put(&mut map, "user_email", email);
            put(&mut map, "team", team);
            put(&mut map, "agent_id", agent);
            Value::Object(map)
        })
        .boxed()
}

/// A Halo-shaped delivery object: `id`, `event`, `object_id`, `ticket`, `agent_id`, each
/// present or not and of any type, plus stray keys.
pub fn delivery() -> BoxedStrategy<Value> {
    let event = prop_oneof![
        3 => select(EVENTS).prop_map(Value::from),
        1 => value(),
    ]
    .boxed();
    let delivery_id = prop_oneof![
        2 => (0..6u8).prop_map(|n| Value::from(format!("d-{n}"))),
        1 => id_value(),
    ]
    .boxed();
    let ticket = prop_oneof![3 => ticket(), 1 => value()].boxed();
    (
        prop::option::of(delivery_id),
        prop::option::weighted(0.8, event),
        prop::option::weighted(0.7, id_value()),
        prop::option::of(ticket),
        prop::option::of(id_value()),
        prop::collection::vec((key(), value()), 0..3),
    )
        .prop_map(|(id, event, object_id, ticket, agent, extra)| {
            let mut map: Map<String, Value> = extra.into_iter().collect();
            put(&mut map, "id", id);
            put(&mut map, "event", event);
            put(&mut map, "object_id", object_id);
            put(&mut map, "ticket", ticket);
            put(&mut map, "agent_id", agent);
            Value::Object(map)
        })
        .boxed()
}

/// A whole body as a JSON value: one delivery, a batch (deliveries mixed with stray values,
/// possibly empty), or any value at all.
pub fn body_value() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => delivery(),
        2 => prop::collection::vec(prop_oneof![4 => delivery(), 1 => value()], 0..5)
            .prop_map(Value::Array),
        1 => value(),
    ]
    .boxed()
}

/// A whole body as bytes: random bytes, a JSON body cut short or with one byte changed,
/// number literals serde_json may not fit (`1e400`, 30 digits), and deep nesting.
pub fn body_bytes() -> BoxedStrategy<Vec<u8>> {
    let number_text = "-?[0-9]{1,30}(\\.[0-9]{1,3})?([eE][+-]?[0-9]{1,3})?";
    prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..256),
        2 => (body_value(), any::<Index>(), any::<Option<u8>>()).prop_map(
            |(value, at, byte)| {
                let mut bytes = value.to_string().into_bytes();
                let at = at.index(bytes.len());
                match byte {
                    Some(byte) => bytes[at] = byte,
                    None => bytes.truncate(at),
                }
                bytes
            }
        ),
        1 => (number_text, number_text, select(EVENTS)).prop_map(|(a, b, event)| {
            format!(r#"{{"id":{a},"event":"{event}","object_id":{a},"ticket":{{"id":{b}}}}}"#)
                .into_bytes()
        }),
        1 => (1usize..4000, any::<bool>()).prop_map(|(depth, arrays)| {
            let (open, close) = if arrays { ("[", "]") } else { (r#"{"ticket":"#, "}") };
            let mut text = open.repeat(depth);
            text.push_str("null");
            text.push_str(&close.repeat(depth));
            text.into_bytes()
        }),
    ]
    .boxed()
}
