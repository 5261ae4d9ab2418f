//! Batched Halo requests (`halo.batch_max`) against a stand-in Halo that keeps its tickets
//! and actions: many tickets share update, acknowledgement and read requests, each exactly
//! once; a batch Halo refuses for one ticket is split so that the others go through; a
//! crash while Halo holds a saved acknowledgement batch sends no second email; batched and
//! single requests stay within one rate budget.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use wiremock::matchers::{method, path, query_param_contains};
use wiremock::{Mock, ResponseTemplate};

use crate::common::backing::Backing;
use crate::common::stateful_halo::{delivery_of, ticket, StatefulHalo};
use crate::common::{
    live_binary, received, spawn_running, wait_until_all_done, RunningApp, Served, CAB_MESSAGE,
};

const SUMMARY: &str = "Outlook keeps asking for my password";

/// The stand-in's tickets `ids`, its updates answered after `update_delay` (so that the
/// jobs ready meanwhile wait for the next batch).
async fn halo_with(ids: std::ops::RangeInclusive<i64>, update_delay: Duration) -> StatefulHalo {
    let tickets = ids.map(|id| ticket(id, SUMMARY)).collect();
    StatefulHalo::start(tickets, update_delay).await
}

/// The app with enough workers for every ticket to be in flight at once.
async fn service(halo: &StatefulHalo, batch_max: &str) -> RunningApp {
    let settings = [
        ("HALO__BATCH_MAX", batch_max),
        ("HALO__REQUESTS_PER_5MIN", "100000"),
        ("WORKER__CONCURRENCY", "16"),
        ("WORKER__POLL_INTERVAL_MS", "50"),
        ("WORKER__SHUTDOWN_GRACE_SECS", "1"),
    ];
    spawn_running(Some(&halo.server), &settings).await
}

/// Delivers each of `ids` and waits until every job is settled.
async fn deliver_all(app: &RunningApp, ids: std::ops::RangeInclusive<i64>) {
    for id in ids {
        let answer = app.app.deliver(delivery_of(&ticket(id, SUMMARY))).await;
        assert_eq!(answer.status(), 202);
    }
    settle(app).await;
}

/// Waits (at most 60 s) until no job is queued or running.
async fn settle(app: &RunningApp) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let open = "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')";
    while app.app.count(open).await > 0 {
        assert!(Instant::now() < deadline, "jobs still open after 60 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The elements of every array Halo received on `POST route`, by request.
async fn arrays(halo: &StatefulHalo, route: &str) -> Vec<Vec<Value>> {
    let bodies = received(&halo.server, "POST", route).await;
    let arrays = bodies.into_iter().map(|b| b.as_array().unwrap().clone());
    arrays.collect()
}

/// How many of Halo's ticket list reads asked for tickets by id.
async fn list_reads_by_id(halo: &StatefulHalo) -> usize {
    let lists = halo.list_queries().await;
    lists.iter().filter(|q| q.contains_key("ticketids")).count()
}

async fn stop(app: RunningApp) {
    let _ = app.stop.send(());
    app.stopped.await.unwrap().unwrap();
}

#[tokio::test]
async fn tickets_ready_together_share_update_acknowledgement_and_read_requests() {
    let halo = halo_with(1..=12, Duration::from_millis(300)).await;
    let app = service(&halo, "5").await;
    deliver_all(&app, 1..=12).await;

    let updates = arrays(&halo, "/api/Tickets").await;
    assert!(updates.iter().all(|batch| batch.len() <= 5), "{updates:?}");
    assert!(
        updates.len() < 12 && updates.iter().any(|batch| batch.len() > 1),
        "updates share requests: {:?}",
        updates.iter().map(Vec::len).collect::<Vec<_>>()
    );
    // Each element is exactly the update the store recorded for its ticket, sent once.
    let mut sent: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
    for element in updates.into_iter().flatten() {
        sent.entry(element["id"].as_i64().unwrap())
            .or_default()
            .push(element);
    }
    assert_eq!(sent.len(), 12);
    for (id, elements) in &sent {
        assert_eq!(
            elements,
            &vec![app.app.decision(*id).await.ticket_update],
            "ticket {id}"
        );
    }
    let acks = arrays(&halo, "/api/Actions").await;
    assert!(acks.iter().all(|batch| batch.len() <= 5));
    assert!(acks.len() < 12, "acknowledgements share requests");
    // The recipients came from list reads (the webhook's object is not trusted for them).
    assert!(
        list_reads_by_id(&halo).await >= 1,
        "the recipients are read with list reads"
    );
    for id in 1..=12 {
        let ack = halo
            .actions
            .posted
            .lock()
            .unwrap()
            .iter()
            .find(|a| a["ticket_id"] == id)
            .cloned()
            .unwrap();
        assert_eq!(ack["emailto"], "jane.doe@globex.example", "ticket {id}");
    }
    let sent = "SELECT COUNT(*) FROM acknowledgements WHERE status = 'sent'";
    assert_eq!(app.app.count(sent).await, 12);
    halo.assert_triaged_once(1..=12, "Service Desk");
    stop(app).await;
}

#[tokio::test]
async fn event_only_deliveries_read_their_tickets_together_in_list_reads() {
    let halo = halo_with(91..=100, Duration::from_millis(300)).await;
    // A ticket read alone takes 300 ms: the reads of jobs claimed meanwhile wait for it.
    halo.state.lock().unwrap().single_read_delay = Duration::from_millis(300);
    let app = service(&halo, "25").await;
    // The first job reads alone; the others become due while it does and wait for a list.
    for id in 91..=100 {
        let mut delivery = crate::common::fixture_json("webhook-event-only.json");
        delivery["id"] = format!("event-{id}").into();
        delivery["object_id"] = id.into();
        let answer = app.app.deliver(delivery.to_string()).await;
        assert_eq!(answer.status(), 202);
    }
    settle(&app).await;

    let lists = halo.list_queries().await;
    let by_id: Vec<_> = lists
        .iter()
        .filter(|q| q.contains_key("ticketids"))
        .collect();
    assert!(
        by_id
            .iter()
            .any(|q| q["ticketids"].contains(',') && q["includedetails"] == "true"),
        "tickets read together, with details: {by_id:?}"
    );
    // The listed tickets stood for single reads, and their text decided: the password rule
    // routed every one.
    let requests = halo.server.received_requests().await.unwrap();
    let alone = requests
        .iter()
        .filter(|r| r.method.as_str() == "GET" && r.url.path().starts_with("/api/Tickets/"))
        .count();
    assert!(alone < 10, "{alone} of 10 tickets read alone");
    halo.assert_triaged_once(91..=100, "Service Desk");
    stop(app).await;
}

#[tokio::test]
async fn batch_max_of_one_sends_every_write_and_read_alone() {
    let halo = halo_with(21..=28, Duration::from_millis(300)).await;
    let app = service(&halo, "1").await;
    deliver_all(&app, 21..=28).await;

    let updates = arrays(&halo, "/api/Tickets").await;
    let acks = arrays(&halo, "/api/Actions").await;
    assert_eq!(updates.len(), 8);
    assert_eq!(acks.len(), 8);
    assert!(updates.iter().chain(&acks).all(|batch| batch.len() == 1));
    assert_eq!(list_reads_by_id(&halo).await, 0);
    halo.assert_triaged_once(21..=28, "Service Desk");
    stop(app).await;
}

/// What Halo refuses in the refusal tests: the update of ticket 36 (its type needs CAB
/// approval), or the acknowledgement of ticket 37.
#[derive(Clone, Copy, PartialEq)]
enum Refused {
    Update,
    Acknowledgement,
}

/// Halo refuses every array naming the refused ticket; with `apply_rest`, it saves the
/// array's other elements all the same.
async fn a_batch_refused_for_one_ticket(refused: Refused, apply_rest: bool) {
    let halo = halo_with(31..=42, Duration::from_millis(300)).await;
    let (bad, route, key, refusals) = match refused {
        Refused::Update => (36, "/api/Tickets", "id", &halo.update_refusals),
        Refused::Acknowledgement => (37, "/api/Actions", "ticket_id", &halo.actions.refusals),
    };
    refusals.refuse(bad, apply_rest);
    let app = service(&halo, "25").await;
    deliver_all(&app, 31..=42).await;

    // The refused element was in a batch with others, which Halo refused whole.
    let batches = arrays(&halo, route).await;
    assert!(
        batches
            .iter()
            .any(|batch| batch.len() > 1 && batch.iter().any(|e| e[key] == bad)),
        "ticket {bad} in a batch with others: {batches:?}"
    );
    let good: Vec<i64> = (31..=42).filter(|id| *id != bad).collect();
    match (refused, apply_rest) {
        // Updates Halo applied from the refused array go again in the halves: the same
        // values, harmless. Acknowledgements are looked for first, so none goes twice.
        (Refused::Update, true) => halo.assert_acknowledged_once(good, "Service Desk"),
        _ => halo.assert_triaged_once(good, "Service Desk"),
    }
    let job = format!("SELECT id FROM jobs WHERE ticket_id = {bad}");
    let job = app.app.job_row(app.app.count(&job).await).await;
    assert_eq!(job.status, "dead");
    assert!(job.last_error.as_ref().unwrap().contains(CAB_MESSAGE));
    let done = "SELECT COUNT(*) FROM jobs WHERE status = 'done'";
    assert_eq!(app.app.count(done).await, 11);
    // The customer of a refused update is acknowledged all the same; a refused
    // acknowledgement is not sent again.
    let acks = halo
        .actions
        .posted
        .lock()
        .unwrap()
        .iter()
        .filter(|a| a["ticket_id"] == bad)
        .count();
    assert_eq!(
        acks,
        usize::from(refused == Refused::Update),
        "ticket {bad}"
    );
    stop(app).await;
}

#[tokio::test]
async fn an_update_batch_halo_refuses_whole_is_split_around_the_refused_ticket() {
    a_batch_refused_for_one_ticket(Refused::Update, false).await;
}

#[tokio::test]
async fn an_update_batch_halo_applies_in_part_is_split_and_every_customer_acknowledged_once() {
    a_batch_refused_for_one_ticket(Refused::Update, true).await;
}

#[tokio::test]
async fn an_acknowledgement_batch_halo_refuses_whole_is_sent_again_without_the_refused_one() {
    a_batch_refused_for_one_ticket(Refused::Acknowledgement, false).await;
}

#[tokio::test]
async fn an_acknowledgement_batch_halo_applies_in_part_sends_no_second_email() {
    a_batch_refused_for_one_ticket(Refused::Acknowledgement, true).await;
}

#[tokio::test]
async fn a_refused_ticket_list_falls_back_to_reading_each_ticket_alone() {
    let halo = halo_with(51..=60, Duration::from_millis(300)).await;
    Mock::given(method("GET"))
        .and(path("/api/Tickets"))
        .and(query_param_contains("ticketids", ","))
        .respond_with(ResponseTemplate::new(400).set_body_string("ticketids not allowed"))
        .with_priority(1)
        .mount(&halo.server)
        .await;
    let app = service(&halo, "25").await;
    deliver_all(&app, 51..=60).await;

    assert!(list_reads_by_id(&halo).await >= 1, "a list read was tried");
    halo.assert_triaged_once(51..=60, "Service Desk");
    let requests = halo.server.received_requests().await.unwrap();
    let alone = requests
        .iter()
        .filter(|r| r.method.as_str() == "GET" && r.url.path().starts_with("/api/Tickets/"));
    assert!(
        alone.count() >= 2,
        "the refused list's tickets were read alone"
    );
    stop(app).await;
}

const CRASH_TICKETS: std::ops::RangeInclusive<i64> = 61..=72;

#[tokio::test]
async fn a_service_killed_while_halo_holds_a_saved_acknowledgement_batch_sends_no_second_email() {
    let halo = halo_with(CRASH_TICKETS, Duration::from_millis(200)).await;
    // The first acknowledgement array is saved at once, its answer held past the kill.
    halo.actions
        .refusals
        .hold_first_batch(Duration::from_secs(120));
    let dir = tempfile::tempdir().unwrap();
    let store_url = format!("sqlite://{}", dir.path().join("crash.db").display());
    let serve = || {
        let mut command = live_binary(&halo.server, &store_url);
        command
            .env("HALO_TRIAGE__HALO__BATCH_MAX", "25")
            .env("HALO_TRIAGE__HALO__TIMEOUT_SECS", "200")
            .env("HALO_TRIAGE__WORKER__CONCURRENCY", "16")
            .env("HALO_TRIAGE__WORKER__LEASE_SECS", "10")
            .env("HALO_TRIAGE__WORKER__LEASE_RENEW_SECS", "3");
        Served::start(&mut command)
    };
    let first = serve();
    for id in CRASH_TICKETS {
        let answer = first.deliver(delivery_of(&ticket(id, SUMMARY))).await;
        assert_eq!(answer.status(), 202);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while !halo.actions.refusals.batch_held() {
        assert!(Instant::now() < deadline, "no acknowledgement batch came");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let held = halo.actions.count();
    first.kill();
    assert!(held >= 2, "the held batch carried several acknowledgements");

    let second = serve();
    wait_until_all_done(&dir.path().join("crash.db"), CRASH_TICKETS.count() as i64).await;
    second.stop().await;
    halo.assert_triaged_once(CRASH_TICKETS, "Service Desk");
}

crate::on_both_backends!(batched_and_single_requests_of_two_services_share_one_budget);

/// `halo.requests_per_5min`: a burst of 24, then one every 1.39 s (300 s / 216).
const BUDGET: &str = "240";
const BURST: f64 = 24.0;
const PERIOD_SECS: f64 = 300.0 / 216.0;

async fn batched_and_single_requests_of_two_services_share_one_budget(backing: Backing) {
    let halo = halo_with(81..=120, Duration::ZERO).await;
    let common = [
        ("STORE__URL", backing.url.as_str()),
        ("HALO__REQUESTS_PER_5MIN", BUDGET),
        ("WORKER__POLL_INTERVAL_MS", "50"),
        ("WORKER__SHUTDOWN_GRACE_SECS", "1"),
    ];
    let with = |batch_max, workers| {
        let own = [
            ("HALO__BATCH_MAX", batch_max),
            ("WORKER__CONCURRENCY", workers),
        ];
        [common.as_slice(), &own].concat()
    };
    // Sixteen workers sending alone, and the batched service's one sending task: each
    // process waits for the shared budget in turn, so the batch still gets its share.
    let a = spawn_running(Some(&halo.server), &with("25", "16")).await;
    let b = spawn_running(Some(&halo.server), &with("1", "16")).await;
    let start = Instant::now();
    // The batched service's tickets first, then the others: about 120 requests wanted
    // without batching, far over the burst.
    for (replica, first) in [(&a.app, 81), (&b.app, 101)] {
        for id in first..first + 20 {
            let answer = replica.deliver(delivery_of(&ticket(id, SUMMARY))).await;
            assert_eq!(answer.status(), 202);
        }
    }
    // Within the budget throughout, for 10 s (two processes each on a budget of its own
    // would send far more by then) and until a batch has gone out (at most 60 s).
    let mut batch_seen = false;
    while !batch_seen || start.elapsed() < Duration::from_secs(10) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no batch went out"
        );
        let requests = halo.server.received_requests().await.unwrap();
        let allowed = BURST + start.elapsed().as_secs_f64() / PERIOD_SECS + 1.0;
        assert!(
            requests.len() as f64 <= allowed,
            "{} requests after {:?}: over the shared budget of {allowed:.0}",
            requests.len(),
            start.elapsed()
        );
        batch_seen = requests.iter().any(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
            r.method.as_str() == "POST" && body.as_array().is_some_and(|a| a.len() > 1)
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for app in [a, b] {
        stop(app).await;
    }
}
