//! Several services on one store, as replicas run: they stay within one Halo rate budget
//! together (the requests as the stand-in Halo received them, sampled as they arrive).

use std::time::{Duration, Instant};

use crate::common::backing::Backing;
use crate::common::spawn_running;
use crate::common::stateful_halo::{delivery_of, ticket, StatefulHalo};
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
