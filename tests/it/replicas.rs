//! Several services on one store, as replicas run: they stay within one Halo rate budget
//! together (the requests as the stand-in Halo received them, sampled as they arrive), and
//! two real processes on Postgres, one of them killed mid-work, triage every ticket once.

use std::time::{Duration, Instant};

use halo_triage::Store;

use crate::common::backing::Backing;
use crate::common::stateful_halo::{delivery_of, ticket, StatefulHalo};
use crate::common::{live_binary, spawn_running, Served};
use crate::on_both_backends;

on_both_backends!(two_services_on_one_store_share_one_halo_rate_budget);

/// `halo.requests_per_5min`: a burst of 60 requests, then one every 0.556 s (300 s / 540).
const BUDGET: &str = "600";
const BURST: f64 = 60.0;
const PERIOD_SECS: f64 = 300.0 / 540.0;

async fn two_services_on_one_store_share_one_halo_rate_budget(backing: Backing) {
    let halo = StatefulHalo::start(
        (1..=80).map(|id| ticket(id, "VPN down")).collect(),
        Duration::ZERO,
    )
    .await;
    let settings = [
        ("STORE__URL", backing.url.as_str()),
        ("HALO__REQUESTS_PER_5MIN", BUDGET),
        ("WORKER__CONCURRENCY", "4"),
        ("WORKER__POLL_INTERVAL_MS", "50"),
        ("WORKER__SHUTDOWN_GRACE_SECS", "1"),
        // Single requests, the subject here (batched ones: batching.rs).
        ("HALO__BATCH_MAX", "1"),
    ];
    let a = spawn_running(Some(&halo.server), &settings).await;
    let b = spawn_running(Some(&halo.server), &settings).await;
    // 80 tickets, each an update and an acknowledgement: about 170 requests wanted at once,
    // far more than the burst. The clock starts before the first request can go out.
    let start = Instant::now();
    for id in 1..=80 {
        let replica = if id % 2 == 0 { &a.app } else { &b.app };
        let answer = replica.deliver(delivery_of(&ticket(id, "VPN down"))).await;
        assert_eq!(answer.status(), 202);
    }
    let mut received = 0;
    while start.elapsed() < Duration::from_secs(4) {
        received = halo.server.received_requests().await.unwrap().len();
        // Each service alone may send the burst and one per period; together, the same.
        let allowed = BURST + start.elapsed().as_secs_f64() / PERIOD_SECS + 1.0;
        assert!(
            received as f64 <= allowed,
            "{received} requests after {:?}: over the shared budget of {allowed:.0}",
            start.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(received >= 60, "the burst went out: {received}");
    for app in [a, b] {
        let _ = app.stop.send(());
        app.stopped.await.unwrap().unwrap();
    }
}

const TICKETS: std::ops::RangeInclusive<i64> = 7001..=7200;

/// The real binary as one replica on `store_url`.
fn replica(halo: &StatefulHalo, store_url: &str) -> Served {
    let mut command = live_binary(&halo.server, store_url);
    command
        .env("HALO_TRIAGE__HALO__REQUESTS_PER_5MIN", "100000")
        .env("HALO_TRIAGE__WORKER__CONCURRENCY", "4")
        // A killed replica's jobs are taken over once their lease runs out.
        .env("HALO_TRIAGE__WORKER__LEASE_SECS", "10")
        .env("HALO_TRIAGE__WORKER__LEASE_RENEW_SECS", "3");
    Served::start(&mut command)
}

/// Jobs done, dead and running.
async fn jobs_by_status(store: &Store) -> (i64, i64, i64) {
    sqlx::query_as(
        "SELECT CAST(SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END) AS BIGINT),
                CAST(SUM(CASE WHEN status = 'dead' THEN 1 ELSE 0 END) AS BIGINT),
                CAST(SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END) AS BIGINT)
         FROM jobs",
    )
    .fetch_one(store.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn two_replicas_on_postgres_one_killed_mid_flight_triage_every_ticket_exactly_once() {
    let Some(backing) = Backing::postgres().await else {
        return;
    };
    let summary = "Outlook keeps asking for my password";
    let halo = StatefulHalo::start(
        TICKETS.map(|id| ticket(id, summary)).collect(),
        Duration::from_millis(100),
    )
    .await;
    let (a, b) = (replica(&halo, &backing.url), replica(&halo, &backing.url));
    let store = backing.open().await;
    let start = Instant::now();
    // Spread over both, as a load balancer would.
    for id in TICKETS {
        let to = if id % 2 == 0 { &a } else { &b };
        assert_eq!(
            to.deliver(delivery_of(&ticket(id, summary))).await.status(),
            202
        );
    }
    // Kill A once tickets are going through and others are in flight.
    while halo.state.lock().unwrap().updates.len() < 40 {
        assert!(start.elapsed() < Duration::from_secs(30), "no progress");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    a.kill();
    let (done_at_kill, _, running) = jobs_by_status(&store).await;
    assert!(
        done_at_kill < TICKETS.count() as i64 && running > 0,
        "the kill must find jobs in flight ({done_at_kill} done, {running} running)"
    );
    loop {
        let (done, dead, _) = jobs_by_status(&store).await;
        assert_eq!(dead, 0, "no job may end dead");
        if done == TICKETS.count() as i64 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "only {done} of {} tickets triaged 60 s after the first delivery",
            TICKETS.count()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.stop().await;
    halo.assert_triaged_once(TICKETS, "Service Desk");
}
