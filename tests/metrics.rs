//! `GET /metrics`: deliveries by outcome, the queue, Halo requests and the rate budget,
//! and who decided each field. One test in its own binary: the recorder is process-wide.

#[path = "it/common/mod.rs"]
#[allow(dead_code)] // this binary uses a part of the shared harness
mod common;

use common::{fixture, fixture_json, live};
use serde_json::json;

/// The value of the sample `series` (name with its labels, as Prometheus prints them).
fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {series} in:\n{metrics}"))
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn metrics_count_deliveries_jobs_halo_requests_and_decisions() {
    let (_halo, app) = live(&[("WEBHOOK__MAX_BODY_BYTES", "20000")]).await;
    app.deliver(fixture("webhook-new-ticket-full.json")).await;
    app.deliver(fixture("webhook-new-ticket-full.json")).await;
    app.deliver(r#"{"event":"Ticket Updated","object_id":5}"#)
        .await;
    app.deliver("{broken").await;
    app.deliver("x".repeat(30_000)).await;
    let unauthorized = app
        .http
        .post(app.url("/hooks/halo"))
        .bearer_auth("wrong")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);
    app.drain().await;
    // A second ticket waits in the queue.
    let mut waiting = fixture_json("webhook-new-ticket-full.json");
    waiting["id"] = json!("waiting");
    waiting["object_id"] = json!(41299);
    app.deliver(waiting.to_string()).await;

    let metrics = app.metrics().await;
    for (outcome, expected) in [
        ("accepted", 2.0),
        ("duplicate", 1.0),
        ("ignored", 1.0),
        ("invalid", 1.0),
        ("too_large", 1.0),
        ("unauthorized", 1.0),
    ] {
        let series = format!("halo_triage_deliveries_total{{outcome=\"{outcome}\"}}");
        assert_eq!(sample(&metrics, &series), expected, "{series}");
    }
    assert_eq!(sample(&metrics, "halo_triage_jobs{status=\"done\"}"), 1.0);
    assert_eq!(sample(&metrics, "halo_triage_jobs{status=\"queued\"}"), 1.0);
    assert_eq!(sample(&metrics, "halo_triage_jobs{status=\"dead\"}"), 0.0);
    assert!(sample(&metrics, "halo_triage_oldest_queued_job_age_seconds") >= 0.0);
    assert_eq!(
        sample(
            &metrics,
            "halo_triage_halo_requests_total{endpoint=\"POST /api/Tickets\",status=\"200\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &metrics,
            "halo_triage_halo_requests_total{endpoint=\"POST /api/Actions\",status=\"201\"}"
        ),
        1.0
    );
    let left = sample(&metrics, "halo_triage_halo_rate_budget_remaining");
    assert!(left > 0.0 && left < 250.0, "{left}");
    assert_eq!(
        sample(
            &metrics,
            "halo_triage_decided_fields_total{field=\"team\",source=\"rule\"}"
        ),
        1.0
    );
}
