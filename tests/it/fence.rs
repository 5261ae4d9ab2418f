//! Exactly once when the rate budget stalls a worker: a worker whose acknowledgement waits
//! for Halo's budget past its lease does not send it once another worker has taken the job
//! over and acknowledged the ticket. The lease is checked (and renewed) after the wait,
//! right before the request goes out.
//!
//! A running job's lease is kept alive (see `lease.rs`), so here it runs out the way it
//! does when a process freezes (a stopped container, a paused VM): renewals too rare to
//! land in time, and the lease expired in the store.

use std::time::Duration;

use halo_triage::JobOutcome;

use crate::common::{fixture, mount_halo, received, spawn_with};

/// A worker whose renewals come too rarely to matter during the test.
const FROZEN: [(&str, &str); 4] = [
    ("WORKER__LEASE_SECS", "600"),
    ("WORKER__LEASE_RENEW_SECS", "200"),
    ("HALO__TIMEOUT_SECS", "1"),
    ("HALO__MAX_RETRIES", "0"),
];

#[tokio::test]
async fn a_worker_stalled_by_the_rate_budget_past_its_lease_sends_no_second_acknowledgement() {
    let halo = wiremock::MockServer::start().await;
    mount_halo(&halo).await;

    // How many requests come before the acknowledgement, so that the stalled worker's
    // budget runs out exactly there.
    let calibration = spawn_with(Some(&halo), &[]).await;
    calibration
        .deliver(fixture("webhook-new-ticket-full.json"))
        .await;
    calibration.drain().await;
    let requests = halo.received_requests().await.unwrap();
    let before_ack = requests
        .iter()
        .position(|r| r.method.as_str() == "POST" && r.url.path() == "/api/Actions")
        .expect("the calibration run acknowledged");
    halo.reset().await;
    mount_halo(&halo).await;

    // Worker A: a burst of exactly `before_ack` requests (a tenth of the budget), then one
    // request every 300 / (budget - burst) seconds, far longer than its lease.
    let budget = (10 * before_ack).to_string();
    let mut a_settings = FROZEN.to_vec();
    a_settings.push(("HALO__REQUESTS_PER_5MIN", &budget));
    let a = spawn_with(Some(&halo), &a_settings).await;
    // Worker B: another process on the same database, with its own (ample) budget.
    let b = spawn_with(Some(&halo), &[("STORE__URL", &a.store_url)]).await;

    a.deliver(fixture("webhook-new-ticket-full.json")).await;
    let stalled = tokio::spawn({
        let worker = a.worker.clone();
        async move { worker.run_one().await.unwrap().unwrap() }
    });
    // A waits for the budget at its acknowledgement; meanwhile its lease runs out, and B
    // takes the job over.
    while received(&halo, "GET", "/api/Tickets/41234")
        .await
        .is_empty()
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    sqlx::query("UPDATE jobs SET lease_until = 0")
        .execute(a.store.pool())
        .await
        .unwrap();
    let taken_over = b.drain().await;
    assert_eq!(taken_over.len(), 1);
    assert_eq!(taken_over[0].outcome, JobOutcome::Done);
    assert_eq!(received(&halo, "POST", "/api/Actions").await.len(), 1);

    let report = tokio::time::timeout(Duration::from_secs(60), stalled)
        .await
        .expect("the stalled worker got its budget back")
        .unwrap();
    assert_eq!(report.outcome, JobOutcome::LeaseLost);
    assert_eq!(
        received(&halo, "POST", "/api/Actions").await.len(),
        1,
        "one acknowledgement: the stalled worker sent none"
    );
}
