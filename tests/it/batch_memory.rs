//! One authenticated 1 MiB delivery, whatever its shape, costs the service a bounded amount
//! of memory (the review saw about 1 GB for a batch of half a million elements): measured
//! on the real binary, its peak resident set after every shape below, each sent four times
//! at once.

use serde_json::json;

use crate::common::{binary, Served, TOKEN};

/// Bodies just under `webhook.max_body_bytes` (1 MiB).
fn shapes() -> Vec<(&'static str, String)> {
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

#[tokio::test]
async fn a_one_mebibyte_delivery_of_any_shape_keeps_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(
        binary()
            .env("HALO_TRIAGE__WEBHOOK__TOKEN", TOKEN)
            .env("HALO_TRIAGE__SERVER__LISTEN", "127.0.0.1:0")
            .env("HALO_TRIAGE__STORE__PATH", dir.path().join("memory.db")),
    );
    for (shape, body) in shapes() {
        assert!(body.len() < 1_048_576, "{shape}: {} bytes", body.len());
        // The review's worst case: the same body four times at once.
        let statuses = tokio::join!(
            served.deliver(body.clone()),
            served.deliver(body.clone()),
            served.deliver(body.clone()),
            served.deliver(body),
        );
        for response in [statuses.0, statuses.1, statuses.2, statuses.3] {
            let status = response.status().as_u16();
            assert!(
                [202, 400, 413].contains(&status),
                "{shape}: answered {status}"
            );
        }
        let peak = served.peak_rss_kib();
        assert!(peak < 100 * 1024, "{shape}: peak RSS {} MiB", peak / 1024);
        eprintln!("{shape}: peak RSS so far {} MiB", peak / 1024);
    }
    served.kill();
}
