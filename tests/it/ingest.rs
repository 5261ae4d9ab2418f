//! The webhook endpoint: authentication, limits, parsing, durability and deduplication.

use crate::common::{fixture, spawn, spawn_with, TOKEN};
use base64::Engine;
use serde_json::{json, Value};

#[tokio::test]
async fn a_full_object_delivery_is_stored_with_its_job_and_answered_202() {
    let app = spawn(None).await;
    let response = app.deliver(fixture("webhook-new-ticket-full.json")).await;
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"job_id": 1, "duplicate": false}));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM deliveries WHERE outcome = 'accepted'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE ticket_id = 41234 AND status = 'queued' AND event = 'new ticket logged'").await,
        1
    );
}

#[tokio::test]
async fn basic_auth_and_the_custom_token_header_are_accepted() {
    let app = spawn_with(
        None,
        &[
            ("WEBHOOK__USERNAME", "halo"),
            ("WEBHOOK__PASSWORD", "pa55:word"),
        ],
    )
    .await;
    let basic = base64::engine::general_purpose::STANDARD.encode("halo:pa55:word");
    let response = app
        .http
        .post(app.url("/hooks/halo"))
        .header("authorization", format!("Basic {basic}"))
        .body(fixture("webhook-event-only.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let response = app
        .http
        .post(app.url("/hooks/halo"))
        .header("x-halo-triage-token", TOKEN)
        .body(fixture("webhook-event-only.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
}

#[tokio::test]
async fn a_wrong_or_missing_secret_is_401_and_stores_nothing() {
    let app = spawn(None).await;
    for auth in [Some("Bearer wrong-token"), Some("Basic aGFsbzp4"), None] {
        let mut request = app
            .http
            .post(app.url("/hooks/halo"))
            .body(fixture("webhook-new-ticket-full.json"));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{auth:?}");
        assert_eq!(
            response.text().await.unwrap(),
            "",
            "a refusal gives no detail"
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM deliveries").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM jobs").await, 0);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_and_stores_nothing() {
    let app = spawn_with(None, &[("WEBHOOK__MAX_BODY_BYTES", "1024")]).await;
    let mut delivery: Value =
        serde_json::from_str(&fixture("webhook-new-ticket-full.json")).unwrap();
    delivery["ticket"]["details"] = json!("x".repeat(2000));
    let response = app.deliver(delivery.to_string()).await;
    assert_eq!(response.status(), 413);
    assert_eq!(app.count("SELECT COUNT(*) FROM deliveries").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM jobs").await, 0);
}

#[tokio::test]
async fn broken_json_is_400_naming_the_problem_and_the_body_is_quarantined() {
    let app = spawn(None).await;
    let response = app.deliver("{\"event\": \"New Ticket Logged\", ").await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    let message = body["error"].as_str().unwrap();
    assert!(
        message.contains("not valid JSON") && message.contains("line 1"),
        "{message}"
    );
    let (outcome, stored): (String, Vec<u8>) =
        sqlx::query_as("SELECT outcome, body FROM deliveries")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_eq!(outcome, "quarantined");
    assert_eq!(stored, b"{\"event\": \"New Ticket Logged\", ");
    assert_eq!(app.count("SELECT COUNT(*) FROM jobs").await, 0);
}

#[tokio::test]
async fn a_handled_event_without_a_ticket_id_is_400_and_kept() {
    let app = spawn(None).await;
    let response = app
        .deliver(r#"{"id":"d-1","event":"New Ticket Logged"}"#)
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("no ticket id"),
        "{body}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM deliveries WHERE outcome = 'quarantined'")
            .await,
        1
    );
}

#[tokio::test]
async fn an_unknown_event_is_202_ignored_and_logged_in_the_store() {
    let app = spawn(None).await;
    let response = app
        .deliver(r#"{"id":"d-2","event":"Ticket Status Changed","object_id":5}"#)
        .await;
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"ignored": "event 'ticket status changed' is not handled"})
    );
    let (outcome, error): (String, String) =
        sqlx::query_as("SELECT outcome, error FROM deliveries")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_eq!(
        (outcome.as_str(), error.as_str()),
        ("ignored", "event 'ticket status changed' is not handled")
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM jobs").await, 0);
}

#[tokio::test]
async fn events_match_case_insensitively() {
    let app = spawn(None).await;
    let response = app
        .deliver(r#"{"id":"d-3","event":"new ticket LOGGED","object_id":5}"#)
        .await;
    assert_eq!(response.status(), 202);
    assert_eq!(app.count("SELECT COUNT(*) FROM jobs").await, 1);
}

#[tokio::test]
async fn a_batch_creates_one_job_per_ticket_and_reports_each() {
    let app = spawn(None).await;
    let response = app.deliver(fixture("webhook-batched.json")).await;
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"results": [{"job_id": 1, "duplicate": false}, {"job_id": 2, "duplicate": false}]})
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM deliveries").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE ticket_id IN (41234, 41235)")
            .await,
        2
    );
}

#[tokio::test]
async fn a_batch_with_a_bad_element_keeps_the_good_ones_and_answers_202() {
    let app = spawn(None).await;
    let body = r#"[{"id":"a","event":"New Ticket Logged","object_id":7},
                   {"id":"b","event":"New Ticket Logged"}]"#;
    let response = app.deliver(body).await;
    assert_eq!(response.status(), 202, "the good element was taken");
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        answer["results"][0],
        json!({"job_id": 1, "duplicate": false})
    );
    assert!(answer["results"][1]["error"]
        .as_str()
        .unwrap()
        .contains("element 1"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE ticket_id = 7")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM deliveries WHERE outcome = 'quarantined'")
            .await,
        1
    );
}

#[tokio::test]
async fn the_same_delivery_twice_makes_one_job() {
    let app = spawn(None).await;
    let first: Value = app
        .deliver(fixture("webhook-new-ticket-full.json"))
        .await
        .json()
        .await
        .unwrap();
    let second = app.deliver(fixture("webhook-new-ticket-full.json")).await;
    assert_eq!(second.status(), 202);
    let second: Value = second.json().await.unwrap();
    assert_eq!(first, json!({"job_id": 1, "duplicate": false}));
    assert_eq!(second, json!({"job_id": 1, "duplicate": true}));
    // Another delivery id for the same ticket and event is the same work too.
    let mut redelivered: Value =
        serde_json::from_str(&fixture("webhook-new-ticket-full.json")).unwrap();
    redelivered["id"] = json!("another-delivery-id");
    let third: Value = app
        .deliver(redelivered.to_string())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(third, json!({"job_id": 1, "duplicate": true}));
    assert_eq!(app.count("SELECT COUNT(*) FROM jobs").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM deliveries WHERE outcome = 'duplicate'")
            .await,
        2
    );
}

#[tokio::test]
async fn later_events_about_a_ticket_and_our_own_changes_make_no_work() {
    let app = spawn_with(
        None,
        &[
            ("WEBHOOK__EVENTS", "New Ticket Logged, Ticket Reassigned"),
            ("WEBHOOK__IGNORE_AGENT_IDS", "99"),
        ],
    )
    .await;
    let new = app
        .deliver(r#"{"id":"n-1","event":"New Ticket Logged","object_id":5}"#)
        .await;
    assert_eq!(new.status(), 202);
    app.drain().await;
    // Our update fires "reassigned": the ticket has its job already.
    let reassigned: Value = app
        .deliver(r#"{"id":"n-2","event":"Ticket Reassigned","object_id":5}"#)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(reassigned, json!({"job_id": 1, "duplicate": true}));
    // An event our API agent caused is ignored even for a ticket we never saw.
    let ours = app
        .deliver(r#"{"id":"n-3","event":"Ticket Reassigned","object_id":6,"agent_id":99}"#)
        .await;
    assert_eq!(ours.status(), 202);
    let ours: Value = ours.json().await.unwrap();
    assert!(
        ours["ignored"].as_str().unwrap().contains("agent 99"),
        "{ours}"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM jobs").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM deliveries WHERE outcome = 'ignored'")
            .await,
        1
    );
}

#[tokio::test]
async fn the_same_delivery_concurrently_makes_one_job() {
    let app = spawn(None).await;
    let body = fixture("webhook-new-ticket-full.json");
    let responses = futures_join(&app, &body, 8).await;
    let mut new = 0;
    for (status, answer) in responses {
        assert_eq!(status, 202);
        assert_eq!(answer["job_id"], 1);
        new += usize::from(answer["duplicate"] == json!(false));
    }
    assert_eq!(new, 1, "exactly one delivery created the job");
    assert_eq!(app.count("SELECT COUNT(*) FROM jobs").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM deliveries").await, 8);
}

async fn futures_join(app: &crate::common::TestApp, body: &str, n: usize) -> Vec<(u16, Value)> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let request = app
            .http
            .post(app.url("/hooks/halo"))
            .bearer_auth(TOKEN)
            .body(body.to_string());
        tasks.spawn(async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        });
    }
    tasks.join_all().await
}

#[tokio::test]
async fn a_storage_failure_is_503_so_halo_retries() {
    let app = spawn(None).await;
    sqlx::query("ALTER TABLE jobs RENAME TO jobs_gone")
        .execute(app.store.pool())
        .await
        .unwrap();
    let response = app.deliver(fixture("webhook-new-ticket-full.json")).await;
    assert_eq!(response.status(), 503);
    // The delivery row was rolled back with the failed job insert.
    assert_eq!(app.count("SELECT COUNT(*) FROM deliveries").await, 0);
}

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn(None).await;
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["worker"], "disabled");
    assert_eq!(body["rules"]["rules"], 27);
    assert_eq!(body["rules"]["error"], Value::Null);
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = spawn(None).await;
    app.store.pool().close().await;
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "not ready");
}

#[tokio::test]
async fn a_storage_failure_while_quarantining_is_503() {
    let app = spawn(None).await;
    sqlx::query("ALTER TABLE jobs RENAME TO jobs_gone")
        .execute(app.store.pool())
        .await
        .unwrap();
    sqlx::query("ALTER TABLE deliveries RENAME TO deliveries_gone")
        .execute(app.store.pool())
        .await
        .unwrap();
    let response = app.deliver("not json").await;
    assert_eq!(response.status(), 503);
}

#[tokio::test]
async fn a_batch_with_a_bad_element_and_a_repeat_stays_quarantined() {
    let app = spawn(None).await;
    app.deliver(r#"{"id":"a","event":"New Ticket Logged","object_id":7}"#)
        .await;
    let body = r#"[{"id":"a","event":"New Ticket Logged","object_id":7},{"id":"b","event":"New Ticket Logged"}]"#;
    assert_eq!(
        app.deliver(body).await.status(),
        202,
        "the good element is a known one"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM deliveries WHERE outcome = 'quarantined'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_batch_over_the_cap_is_413_and_kept_without_work() {
    let app = spawn_with(None, &[("WEBHOOK__MAX_BATCH", "3")]).await;
    let element =
        |i: usize| json!({"id": format!("d{i}"), "event": "New Ticket Logged", "object_id": i + 1});
    let body = Value::Array((0..4).map(element).collect()).to_string();
    let response = app.deliver(body.clone()).await;
    assert_eq!(response.status(), 413);
    let answer: Value = response.json().await.unwrap();
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("webhook.max_batch"),
        "{answer}"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM jobs").await, 0);
    let kept: Vec<u8> =
        sqlx::query_scalar("SELECT body FROM deliveries WHERE outcome = 'quarantined'")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_eq!(
        kept,
        body.as_bytes(),
        "the refused batch is kept to inspect and replay"
    );
    let three = Value::Array((0..3).map(element).collect()).to_string();
    assert_eq!(app.deliver(three).await.status(), 202);
    assert_eq!(app.count("SELECT COUNT(*) FROM jobs").await, 3);
}

#[tokio::test]
async fn the_note_of_a_bad_batch_names_a_few_problems_and_counts_the_rest() {
    let app = spawn(None).await;
    let bad = Value::Array((0..40).map(|_| json!(7)).collect()).to_string();
    let response = app.deliver(bad).await;
    assert_eq!(response.status(), 400, "no element was usable");
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["results"].as_array().unwrap().len(), 40);
    let note: String = sqlx::query_scalar("SELECT error FROM deliveries")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert!(
        note.starts_with("40 elements: element 0: expected an object"),
        "{note}"
    );
    assert!(note.ends_with("(and 35 more)"), "{note}");
}
