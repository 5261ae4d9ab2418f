//! When Halo is down, workers pause instead of burning every job's attempts; `/readyz`
//! says degraded and why; the first job that gets through resumes the work.

use std::time::Duration;

use crate::common::{fixture_json, halo_with, mount_halo, spawn_running, TestApp};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Halo's answer to `GET /api/Tickets/{id}` for the test tickets (a retried job reads the
/// ticket again).
async fn mount_tickets(halo: &MockServer) {
    for id in [101, 102, 103] {
        let mut ticket = fixture_json("ticket.json");
        ticket["id"] = json!(id);
        Mock::given(method("GET"))
            .and(path(format!("/api/Tickets/{id}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(ticket))
            .mount(halo)
            .await;
    }
}

async fn deliver_ticket(app: &TestApp, id: i64) {
    let mut delivery = fixture_json("webhook-new-ticket-full.json");
    delivery["id"] = json!(format!("delivery-{id}"));
    delivery["object_id"] = json!(id);
    delivery["ticket"]["id"] = json!(id);
    assert_eq!(app.deliver(delivery.to_string()).await.status(), 202);
}

async fn readiness(app: &TestApp) -> (u16, Value) {
    let response = app.http.get(app.url("/readyz")).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Polls `sql` (a count) until it equals `expected`, for at most 10 seconds.
async fn wait_for(app: &TestApp, sql: &str, expected: i64) {
    for _ in 0..500 {
        if app.count(sql).await == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{sql} never reached {expected}");
}

#[tokio::test]
async fn workers_pause_while_halo_is_down_and_resume_when_it_answers() {
    let down = ResponseTemplate::new(503).set_body_string("Service Unavailable");
    let halo = halo_with(&[("POST", "/api/Tickets", down)]).await;
    mount_tickets(&halo).await;
    let running = spawn_running(
        Some(&halo),
        &[
            ("WORKER__CONCURRENCY", "1"),
            ("WORKER__OUTAGE_AFTER_FAILURES", "2"),
            ("WORKER__OUTAGE_PAUSE_SECS", "2"),
            ("WORKER__RETRY_BASE_SECS", "1"),
            ("WORKER__POLL_INTERVAL_MS", "50"),
            ("HALO__MAX_RETRIES", "0"),
        ],
    )
    .await;
    let app = &running.app;
    for id in [101, 102, 103] {
        deliver_ticket(app, id).await;
    }
    wait_for(
        app,
        "SELECT COUNT(*) FROM jobs WHERE attempts = 1 AND status = 'queued'",
        2,
    )
    .await;
    let (status, body) = readiness(app).await;
    assert_eq!(status, 200, "deliveries are still taken: stay in rotation");
    assert_eq!(body["status"], "degraded", "{body}");
    assert_eq!(body["halo"]["degraded"], true);
    assert!(body["halo"]["reason"]
        .as_str()
        .unwrap()
        .contains("Halo answered 503"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE ticket_id = 103 AND attempts = 0")
            .await,
        1,
        "the third job keeps its attempts while Halo is down"
    );

    // Halo comes back: the next probe gets through and every job finishes.
    halo.reset().await;
    mount_halo(&halo).await;
    mount_tickets(&halo).await;
    wait_for(app, "SELECT COUNT(*) FROM jobs WHERE status = 'done'", 3).await;
    let (status, body) = readiness(app).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ready")));
    assert_eq!(body["halo"]["degraded"], false);
}
