//! Proof of crash safety: the real binary is killed with SIGKILL while jobs are in flight,
//! started again on the same database, and within 60 s every ticket ends updated and
//! acknowledged exactly once. The stand-in Halo keeps state as the real one does: an update shows in
//! the next read of the ticket, a posted action in the next list of actions.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{
    binary, fixture_json, halo_env, mount_halo, ticket_id_in_path, ActionsLog, Served,
};
use serde_json::{json, Value};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TICKETS: std::ops::RangeInclusive<i64> = 5001..=5012;

/// The tickets as Halo holds them, and the updates it received for each.
#[derive(Default)]
struct HaloTickets {
    tickets: BTreeMap<i64, Value>,
    updates: BTreeMap<i64, usize>,
}

/// A Halo whose ticket updates take `update_delay` to answer (so a kill finds some in
/// flight) but count at once, like a server that commits before it replies.
async fn stateful_halo(
    update_delay: Duration,
) -> (MockServer, Arc<Mutex<HaloTickets>>, ActionsLog) {
    let halo = MockServer::start().await;
    let state = Arc::new(Mutex::new(HaloTickets::default()));
    for id in TICKETS {
        let mut ticket = fixture_json("ticket.json");
        ticket["id"] = json!(id);
        state.lock().unwrap().tickets.insert(id, ticket);
    }
    let updates = state.clone();
    Mock::given(method("POST"))
        .and(path("/api/Tickets"))
        .respond_with(move |request: &Request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            let update = body[0].clone();
            let id = update["id"].as_i64().unwrap();
            let mut state = updates.lock().unwrap();
            *state.updates.entry(id).or_default() += 1;
            let ticket = state.tickets.get_mut(&id).unwrap();
            for (key, value) in update.as_object().unwrap() {
                ticket[key] = value.clone();
            }
            ResponseTemplate::new(200)
                .set_body_json(ticket.clone())
                .set_delay(update_delay)
        })
        .with_priority(1)
        .mount(&halo)
        .await;
    let reads = state.clone();
    Mock::given(method("GET"))
        .and(path_regex(r"^/api/Tickets/\d+$"))
        .respond_with(move |request: &Request| {
            let id = ticket_id_in_path(request);
            match reads.lock().unwrap().tickets.get(&id) {
                Some(ticket) => ResponseTemplate::new(200).set_body_json(ticket),
                None => ResponseTemplate::new(404),
            }
        })
        .with_priority(1)
        .mount(&halo)
        .await;
    let actions = ActionsLog::mount(&halo, ResponseTemplate::new(201), true).await;
    mount_halo(&halo).await;
    (halo, state, actions)
}

fn serve(halo: &MockServer, db: &std::path::Path) -> Served {
    let mut command = binary();
    halo_env(&mut command, halo);
    command
        .env("HALO_TRIAGE__MODE", "live")
        .env("HALO_TRIAGE__SERVER__LISTEN", "127.0.0.1:0")
        .env("HALO_TRIAGE__STORE__PATH", db)
        .env("HALO_TRIAGE__HALO__TIMEOUT_SECS", "2")
        .env("HALO_TRIAGE__RECONCILE__INTERVAL_SECS", "0")
        // The default lease: the killed process's jobs are taken over once it runs out.
        .env("HALO_TRIAGE__WORKER__CONCURRENCY", "2")
        .env("HALO_TRIAGE__WORKER__RETRY_BASE_SECS", "1")
        .env("HALO_TRIAGE__WORKER__POLL_INTERVAL_MS", "100");
    Served::start(&mut command)
}

/// Jobs done, dead and running in the store.
async fn jobs_by_status(db: &std::path::Path) -> (i64, i64, i64) {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(db)
        .read_only(true);
    let mut connection = sqlx::ConnectOptions::connect(&options).await.unwrap();
    sqlx::query_as(
        "SELECT COUNT(*) FILTER (WHERE status = 'done'), COUNT(*) FILTER (WHERE status = 'dead'),
                COUNT(*) FILTER (WHERE status = 'running')
         FROM jobs",
    )
    .fetch_one(&mut connection)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_service_killed_mid_work_triages_every_ticket_exactly_once_after_restart() {
    let (halo, state, actions) = stateful_halo(Duration::from_millis(400)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");

    let first = serve(&halo, &db);
    for id in TICKETS {
        let mut delivery = fixture_json("webhook-new-ticket-full.json");
        delivery["id"] = json!(format!("delivery-{id}"));
        delivery["object_id"] = json!(id);
        delivery["ticket"]["id"] = json!(id);
        assert_eq!(first.deliver(delivery.to_string()).await.status(), 202);
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
    let second = serve(&halo, &db);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (done, dead, _) = jobs_by_status(&db).await;
        assert_eq!(dead, 0, "no job may end dead");
        if done == TICKETS.count() as i64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {done} of the tickets triaged and acknowledged 60 s after the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    second.stop().await;

    let state = state.lock().unwrap();
    let posted = actions.posted.lock().unwrap();
    for id in TICKETS {
        assert_eq!(state.updates.get(&id), Some(&1), "ticket {id} updated once");
        assert_eq!(
            state.tickets[&id]["team"], "Service Desk",
            "ticket {id} routed"
        );
        let acks = posted.iter().filter(|a| a["ticket_id"] == id).count();
        assert_eq!(acks, 1, "ticket {id} acknowledged once");
    }
}
