//! How the Halo client and the job queue behave when Halo misbehaves: tokens, rate limits,
//! server errors, refusals and timeouts.

use std::time::{Duration, Instant};

use crate::common::{fixture, halo_with, mount_halo, received, spawn_with, DecisionRow, JobRow};
use halo_triage::now_ms;
use halo_triage::JobOutcome;
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A Halo whose ticket update first answers `first`, then succeeds.
async fn halo_failing_once(first: ResponseTemplate) -> MockServer {
    let halo = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/Tickets"))
        .respond_with(first)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&halo)
        .await;
    mount_halo(&halo).await;
    halo
}

/// A Halo whose ticket update always answers `answer`.
async fn halo_failing_always(answer: ResponseTemplate) -> MockServer {
    halo_with(&[("POST", "/api/Tickets", answer)]).await
}

#[tokio::test]
async fn a_cloud_tenant_is_sent_on_the_token_request() {
    let halo = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/token"))
        .and(query_param("tenant", "acme"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(crate::common::fixture_json("token-response.json")),
        )
        .expect(1)
        .mount(&halo)
        .await;
    mount_halo(&halo).await;
    let app = spawn_with(Some(&halo), &[("HALO__TENANT", "acme")]).await;
    app.deliver(fixture("webhook-new-ticket-full.json")).await;
    assert_eq!(app.drain().await[0].outcome, JobOutcome::Done);
    let token = &halo.received_requests().await.unwrap()[0];
    assert_eq!(token.url.query(), Some("tenant=acme"));
    let auth = received_header(&halo, "/api/Tickets").await;
    assert_eq!(auth, "Bearer eyJhbGciOi...redacted");
}

async fn received_header(halo: &MockServer, route: &str) -> String {
    let requests = halo.received_requests().await.unwrap();
    let request = requests.iter().find(|r| r.url.path() == route).unwrap();
    request
        .headers
        .get("authorization")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn the_auth_server_and_tenant_are_discovered_from_authinfo() {
    let halo = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/authinfo"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "auth_url": format!("{}/auth", halo.uri()), "tenant_id": "discovered"
        })))
        .expect(1)
        .mount(&halo)
        .await;
    mount_halo(&halo).await;
    let app = spawn_with(Some(&halo), &[("HALO__AUTH_URL", "")]).await;
    app.deliver(fixture("webhook-new-ticket-full.json")).await;
    assert_eq!(app.drain().await[0].outcome, JobOutcome::Done);
    let requests = halo.received_requests().await.unwrap();
    let token = requests
        .iter()
        .find(|r| r.url.path() == "/auth/token")
        .unwrap();
    assert_eq!(token.url.query(), Some("tenant=discovered"));
}

#[tokio::test]
async fn a_401_renews_the_token_once_and_succeeds() {
    let halo = halo_failing_once(ResponseTemplate::new(401)).await;
    let app = spawn_with(Some(&halo), &[]).await;
    app.deliver(fixture("webhook-new-ticket-full.json")).await;
    assert_eq!(app.drain().await[0].outcome, JobOutcome::Done);
    assert_eq!(received(&halo, "POST", "/auth/token").await.len(), 2);
    assert_eq!(received(&halo, "POST", "/api/Tickets").await.len(), 2);
    assert_eq!(received(&halo, "POST", "/api/Actions").await.len(), 1);
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_then_succeeds() {
    let halo = halo_failing_once(
        ResponseTemplate::new(429)
            .insert_header("retry-after", "1")
            .set_body_string("Rate Limit Reached - 300 Requests per rolling 5 minute window"),
    )
    .await;
    let app = spawn_with(Some(&halo), &[]).await;
    app.deliver(fixture("webhook-new-ticket-full.json")).await;
    let started = Instant::now();
    assert_eq!(app.drain().await[0].outcome, JobOutcome::Done);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured"
    );
    assert_eq!(received(&halo, "POST", "/api/Tickets").await.len(), 2);
}

#[tokio::test]
async fn a_retry_after_longer_than_the_client_waits_reschedules_the_job() {
    let halo =
        halo_failing_always(ResponseTemplate::new(429).insert_header("retry-after", "600")).await;
    let app = spawn_with(Some(&halo), &[]).await;
    app.deliver(fixture("webhook-new-ticket-full.json")).await;
    let JobOutcome::Retrying { error } = &app.drain().await[0].outcome else {
        panic!("expected a retry")
    };
    assert!(error.contains("429"), "{error}");
    let JobRow {
        status,
        attempts,
        next_attempt_at,
        ..
    } = app.job_row(1).await;
    assert_eq!((status.as_str(), attempts), ("queued", 1));
    assert!(
        next_attempt_at >= now_ms() + 590_000,
        "the job waits for Retry-After"
    );
    assert_eq!(received(&halo, "POST", "/api/Tickets").await.len(), 1);
}

#[tokio::test]
async fn a_500_is_retried_then_succeeds() {
    let halo =
        halo_failing_once(ResponseTemplate::new(500).set_body_string("Internal error")).await;
    let app = spawn_with(Some(&halo), &[]).await;
    app.deliver(fixture("webhook-new-ticket-full.json")).await;
    assert_eq!(app.drain().await[0].outcome, JobOutcome::Done);
    assert_eq!(received(&halo, "POST", "/api/Tickets").await.len(), 2);
    assert_eq!(received(&halo, "POST", "/api/Actions").await.len(), 1);
}

#[tokio::test]
async fn persistent_500s_retry_the_job_later_then_park_it_as_dead() {
    let halo = halo_failing_always(
        ResponseTemplate::new(500).set_body_json(json!({"Message": "Database unavailable"})),
    )
    .await;
    let app = spawn_with(
        Some(&halo),
        &[("HALO__MAX_RETRIES", "1"), ("WORKER__MAX_ATTEMPTS", "2")],
    )
    .await;
    app.deliver(fixture("webhook-new-ticket-full.json")).await;
    let JobOutcome::Retrying { error } = &app.drain().await[0].outcome else {
        panic!("expected a retry")
    };
    assert!(
        error.contains("POST /api/Tickets: Halo answered 500: Database unavailable"),
        "{error}"
    );
    let JobRow {
        status,
        next_attempt_at,
        ..
    } = app.job_row(1).await;
    assert_eq!(status, "queued");
    assert!(
        next_attempt_at > now_ms(),
        "backoff before the next attempt"
    );
    assert!(app.drain().await.is_empty(), "not due yet");

    app.make_retries_due().await;
    assert!(matches!(
        app.drain().await[0].outcome,
        JobOutcome::Dead { .. }
    ));
    let JobRow {
        status,
        attempts,
        last_error,
        ..
    } = app.job_row(1).await;
    assert_eq!((status.as_str(), attempts), ("dead", 2));
    assert!(last_error.unwrap().contains("Database unavailable"));
    assert_eq!(
        received(&halo, "POST", "/api/Tickets").await.len(),
        4,
        "two tries per attempt"
    );
    assert!(received(&halo, "POST", "/api/Actions").await.is_empty());
}

#[tokio::test]
async fn refusals_400_403_404_park_the_job_as_dead_with_halos_message() {
    let cases = [
        (
            400,
            json!({"resultCode": 1, "errorMessage": "CODE:APP03/2 Please select the CAB members to approve"}),
            "CODE:APP03/2",
        ),
        (
            403,
            json!({"Message": "You do not have permission"}),
            "You do not have permission",
        ),
        (
            404,
            json!({"error": "Ticket not found"}),
            "Ticket not found",
        ),
    ];
    for (status, body, message) in cases {
        let halo = halo_failing_always(ResponseTemplate::new(status).set_body_json(body)).await;
        let app = spawn_with(Some(&halo), &[]).await;
        app.deliver(fixture("webhook-new-ticket-full.json")).await;
        let JobOutcome::Dead { error } = &app.drain().await[0].outcome else {
            panic!("{status}: expected a dead job")
        };
        assert!(
            error.contains(&format!("Halo answered {status}: {message}")),
            "{error}"
        );
        assert_eq!(
            received(&halo, "POST", "/api/Tickets").await.len(),
            1,
            "{status} is not retried"
        );
        assert_eq!(app.job_row(1).await.status, "dead");
        // The customer is still acknowledged, naming the team the ticket really has.
        let acks = received(&halo, "POST", "/api/Actions").await;
        assert_eq!(acks.len(), 1);
        assert!(!acks[0][0]["note_html"]
            .as_str()
            .unwrap()
            .contains("passed to our"));
        let DecisionRow { notes, applied, .. } = app.decision(41234).await;
        assert!(!applied);
        assert!(
            notes
                .iter()
                .any(|n| n.starts_with("ticket update refused: POST /api/Tickets")),
            "{notes:?}"
        );
    }
}

#[tokio::test]
async fn a_missing_ticket_is_dead_with_the_endpoint_named() {
    let missing = ResponseTemplate::new(404).set_body_string("Not found");
    let halo = halo_with(&[("GET", "/api/Tickets/41234", missing)]).await;
    let app = spawn_with(Some(&halo), &[]).await;
    app.deliver(fixture("webhook-event-only.json")).await;
    let JobOutcome::Dead { error } = &app.drain().await[0].outcome else {
        panic!("expected a dead job")
    };
    assert_eq!(
        error,
        "GET /api/Tickets/41234: Halo answered 404: Not found"
    );
}

#[tokio::test]
async fn a_timeout_is_retried_later() {
    let halo =
        halo_failing_always(ResponseTemplate::new(200).set_delay(Duration::from_secs(3))).await;
    let app = spawn_with(
        Some(&halo),
        &[("HALO__TIMEOUT_SECS", "1"), ("HALO__MAX_RETRIES", "0")],
    )
    .await;
    app.deliver(fixture("webhook-new-ticket-full.json")).await;
    let JobOutcome::Retrying { error } = &app.drain().await[0].outcome else {
        panic!("expected a retry")
    };
    assert!(
        error.contains("POST /api/Tickets: request failed"),
        "{error}"
    );
    assert_eq!(app.job_row(1).await.status, "queued");
    assert!(received(&halo, "POST", "/api/Actions").await.is_empty());
}

#[tokio::test]
async fn refused_credentials_fail_the_job_with_the_token_endpoint_named() {
    let halo = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})))
        .mount(&halo)
        .await;
    let app = spawn_with(Some(&halo), &[]).await;
    app.deliver(fixture("webhook-new-ticket-full.json")).await;
    let JobOutcome::Dead { error } = &app.drain().await[0].outcome else {
        panic!("expected a dead job")
    };
    assert_eq!(error, "POST /auth/token: Halo answered 401: invalid_client");
    assert_eq!(crate::common::writes(&halo).await, 0);
}

#[tokio::test]
async fn authinfo_without_an_auth_url_says_to_set_it() {
    let halo = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/authinfo"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"tenant_id": "x"})))
        .mount(&halo)
        .await;
    let app = spawn_with(Some(&halo), &[("HALO__AUTH_URL", "")]).await;
    app.deliver(fixture("webhook-new-ticket-full.json")).await;
    let JobOutcome::Dead { error } = &app.drain().await[0].outcome else {
        panic!("expected a dead job")
    };
    assert_eq!(
        error,
        "GET /api/authinfo: unexpected answer: no auth_url in the answer; set halo.auth_url"
    );
}
