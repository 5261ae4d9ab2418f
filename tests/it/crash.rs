//! Proof of crash safety: the real binary is killed with SIGKILL while jobs are in flight,
//! started again on the same database, and within 60 s every ticket ends updated and
//! acknowledged exactly once, against a stand-in Halo that keeps state as the real one does.

use std::time::{Duration, Instant};

use crate::common::stateful_halo::{delivery_of, ticket, StatefulHalo};
use crate::common::{jobs_by_status, live_binary, wait_until_all_done, Served};
use wiremock::MockServer;

const TICKETS: std::ops::RangeInclusive<i64> = 5001..=5012;

fn serve(halo: &MockServer, db: &std::path::Path) -> Served {
    let mut command = live_binary(halo, &format!("sqlite://{}", db.display()));
    // The default lease: the killed process's jobs are taken over once it runs out.
    command.env("HALO_TRIAGE__WORKER__CONCURRENCY", "2");
    Served::start(&mut command)
}

#[tokio::test]
async fn a_service_killed_mid_work_triages_every_ticket_exactly_once_after_restart() {
    let tickets = TICKETS.map(|id| ticket(id, "Outlook keeps asking for my password"));
    let stateful = StatefulHalo::start(tickets.collect(), Duration::from_millis(400)).await;
    let (halo, state) = (&stateful.server, &stateful.state);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");

    let first = serve(halo, &db);
    for id in TICKETS {
        let delivery = delivery_of(&ticket(id, "Outlook keeps asking for my password"));
        assert_eq!(first.deliver(delivery).await.status(), 202);
    }
    // Kill once a few tickets are through and others are being updated.
    let deadline = Instant::now() + Duration::from_secs(30);
    while state.lock().unwrap().updates.len() < 4 {
        assert!(
            Instant::now() < deadline,
            "the first process made no progress"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.kill();
    let (done_before, _, running) = jobs_by_status(&db).await;
    assert!(
        done_before < TICKETS.count() as i64 && running > 0,
        "the kill must find jobs in flight ({done_before} done, {running} running)"
    );

    // Within 60 s of the restart: the killed process's jobs wait out one default lease
    // (30 s), not the ten minutes a lease without renewal had to last.
    let second = serve(halo, &db);
    wait_until_all_done(&db, TICKETS.count() as i64).await;
    second.stop().await;
    stateful.assert_triaged_once(TICKETS, "Service Desk");
}
