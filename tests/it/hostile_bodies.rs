//! Hostile delivery bodies, shared by the tests that prove they are harmless and by
//! `examples/load --hostile`, which measures what they cost (docs/benchmarks.md).

use serde_json::json;

/// Ticket HTML that a quadratic converter chokes on, near the 1 MiB body limit: an `&`
/// flood with no `;` near, and `<script>` pairs.
pub fn hostile_html() -> [(&'static str, String); 2] {
    [
        ("an & flood", "&".repeat(1_000_000)),
        ("<script> pairs", "<script></script>".repeat(60_000)),
    ]
}

/// Bodies just under `webhook.max_body_bytes` (1 MiB).
pub fn one_mebibyte_shapes() -> Vec<(&'static str, String)> {
    const NEAR_LIMIT: usize = 1_040_000;
    let repeated = |element: &str| {
        let count = NEAR_LIMIT / (element.len() + 1);
        format!("[{}]", vec![element; count].join(","))
    };
    let ticket = |id: i64, details: String| {
        json!({"event": "New Ticket Logged", "object_id": id,
               "ticket": {"id": id, "summary": "big", "details": details}})
    };
    let batch: Vec<_> = (0..100)
        .map(|i| ticket(100 + i, "x".repeat(NEAR_LIMIT / 100 - 200)))
        .collect();
    let mut nested = json!({"event": "New Ticket Logged", "object_id": 7});
    nested["junk"] = json!(vec![1; NEAR_LIMIT / 2]);
    vec![
        ("empty objects", repeated("{}")),
        ("numbers", repeated("1")),
        (
            "event-only deliveries",
            repeated(r#"{"event":"New Ticket Logged","object_id":1}"#),
        ),
        (
            "one big ticket",
            ticket(5, "y".repeat(NEAR_LIMIT - 200)).to_string(),
        ),
        ("a full batch of big tickets", json!(batch).to_string()),
        ("an object holding a huge array", nested.to_string()),
        (
            "deep nesting",
            format!(
                "{}{}",
                "[".repeat(NEAR_LIMIT / 2),
                "]".repeat(NEAR_LIMIT / 2)
            ),
        ),
    ]
}
