//! A running job's lease is kept alive while the job runs, however long it waits on Halo,
//! and a job whose lease can no longer be kept stops at once, before its next write.

use std::time::Duration;

use halo_triage::JobOutcome;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{fixture, fixture_json, mount_halo, received, spawn_with, writes};

/// A lease of three seconds renewed every second; Halo requests may take a minute.
const SHORT_LEASE: [(&str, &str); 3] = [
    ("WORKER__LEASE_SECS", "3"),
    ("WORKER__LEASE_RENEW_SECS", "1"),
    ("HALO__TIMEOUT_SECS", "60"),
];

/// A Halo that takes `delay` to answer the read of ticket 41234.
async fn slow_halo(delay: Duration) -> MockServer {
    let halo = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/Tickets/41234"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture_json("ticket.json"))
                .set_delay(delay),
        )
        .with_priority(1)
        .mount(&halo)
        .await;
    mount_halo(&halo).await;
    halo
}

async fn until_ticket_read(halo: &MockServer) {
    while received(halo, "GET", "/api/Tickets/41234").await.is_empty() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_job_slower_than_its_lease_keeps_it_and_is_not_taken_over() {
    let halo = slow_halo(Duration::from_secs(6)).await;
    let a = spawn_with(Some(&halo), &SHORT_LEASE).await;
    let mut b_settings = SHORT_LEASE.to_vec();
    b_settings.push(("STORE__URL", &a.store_url));
    let b = spawn_with(Some(&halo), &b_settings).await;

    a.deliver(fixture("webhook-event-only.json")).await;
    let running = tokio::spawn({
        let worker = a.worker.clone();
        async move { worker.run_one().await.unwrap().unwrap() }
    });
    until_ticket_read(&halo).await;
    // Past the three-second lease the job was claimed with: still A's.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(b.drain().await.is_empty(), "B finds no job to take over");

    assert_eq!(running.await.unwrap().outcome, JobOutcome::Done);
    assert_eq!(received(&halo, "POST", "/api/Actions").await.len(), 1);
    assert_eq!(a.job_row(1).await.attempts, 1, "claimed once");
}

#[tokio::test]
async fn a_job_whose_lease_is_taken_over_stops_without_waiting_for_halo() {
    let halo = slow_halo(Duration::from_secs(50)).await;
    let app = spawn_with(Some(&halo), &SHORT_LEASE).await;
    app.deliver(fixture("webhook-event-only.json")).await;
    let running = tokio::spawn({
        let worker = app.worker.clone();
        async move { worker.run_one().await.unwrap().unwrap() }
    });
    until_ticket_read(&halo).await;
    // Another worker claims the job (as if this one had frozen past its lease).
    sqlx::query("UPDATE jobs SET attempts = attempts + 1")
        .execute(app.store.pool())
        .await
        .unwrap();
    let report = tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("the job stops at its next renewal, not when Halo answers")
        .unwrap();
    assert_eq!(report.outcome, JobOutcome::LeaseLost);
    assert_eq!(writes(&halo).await, 0);
    assert_eq!(app.job_row(1).await.status, "running", "left to its owner");
}

#[tokio::test]
async fn a_job_whose_lease_cannot_be_renewed_stops_before_writing() {
    let halo = slow_halo(Duration::from_secs(50)).await;
    let app = spawn_with(Some(&halo), &SHORT_LEASE).await;
    app.deliver(fixture("webhook-event-only.json")).await;
    let running = tokio::spawn({
        let worker = app.worker.clone();
        async move { worker.run_one().await.unwrap().unwrap() }
    });
    until_ticket_read(&halo).await;
    // The store goes away: nothing can prove the job is still this worker's.
    app.store.pool().close().await;
    let report = tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("the job stops at its next renewal, not when Halo answers")
        .unwrap();
    // Claimed again by whoever reaches the store once the lease has run out.
    assert_eq!(report.outcome, JobOutcome::LeaseLost);
    assert_eq!(writes(&halo).await, 0);
}
