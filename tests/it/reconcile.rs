//! The reconciler: tickets no webhook brought are listed from Halo and triaged; tickets
//! that have a job are skipped; a failed pass moves nothing; two services on one store
//! reconcile once, and one takes over when the other's lease ends.

use crate::common::{fixture, fixture_json, received, spawn_with, TestApp};
use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A healthy Halo listing tickets 41234 and 41235, one per page.
async fn halo_listing_two_tickets() -> MockServer {
    let halo = MockServer::start().await;
    crate::common::mount_halo(&halo).await;
    let list = fixture_json("ticket-list-response.json");
    for (page, id) in [("1", 41234), ("2", 41235)] {
        let mut ticket = list["tickets"][0].clone();
        ticket["id"] = json!(id);
        Mock::given(method("GET"))
            .and(path("/api/Tickets"))
            .and(query_param("page_no", page))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"record_count": 2, "tickets": [ticket]})),
            )
            .mount(&halo)
            .await;
    }
    let mut missed = fixture_json("ticket.json");
    missed["id"] = json!(41235);
    missed["summary"] = json!("Printer on floor 2 offline");
    Mock::given(method("GET"))
        .and(path("/api/Tickets/41235"))
        .respond_with(ResponseTemplate::new(200).set_body_json(missed))
        .mount(&halo)
        .await;
    halo
}

async fn app(halo: &MockServer) -> TestApp {
    spawn_with(Some(halo), &[("RECONCILE__PAGE_SIZE", "1")]).await
}

/// The `GET /api/Tickets` list requests Halo received, as their query pairs.
async fn list_requests(halo: &MockServer) -> Vec<Vec<(String, String)>> {
    halo.received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "GET" && r.url.path() == "/api/Tickets")
        .map(|r| {
            r.url
                .query_pairs()
                .map(|(k, v)| (k.into(), v.into()))
                .collect()
        })
        .collect()
}

fn param<'a>(query: &'a [(String, String)], key: &str) -> &'a str {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {key} in {query:?}"))
}

#[tokio::test]
async fn a_ticket_whose_webhook_never_came_is_triaged_and_one_that_came_is_skipped() {
    let halo = halo_listing_two_tickets().await;
    let app = app(&halo).await;
    // 41234's webhook arrived; 41235's was lost.
    app.deliver(fixture("webhook-new-ticket-full.json")).await;
    let reconciler = app.reconciler.as_ref().unwrap();

    let installed = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S")
        .to_string();
    let report = reconciler
        .pass()
        .await
        .unwrap()
        .expect("this service reconciles");
    assert!(
        report.since >= installed,
        "the first pass never looks before the service's first pass: {} < {installed}",
        report.since
    );
    assert_eq!((report.listed, report.queued.clone()), (2, vec![41235]));
    let requests = list_requests(&halo).await;
    assert_eq!(requests.len(), 2, "two pages of one ticket");
    for (query, page) in requests.iter().zip(["1", "2"]) {
        assert_eq!(param(query, "pageinate"), "true");
        assert_eq!(param(query, "page_size"), "1");
        assert_eq!(param(query, "page_no"), page);
        assert_eq!(param(query, "datesearch"), "dateoccured");
        assert_eq!(param(query, "open_only"), "true");
        assert_eq!(param(query, "startdate"), report.since);
    }

    let reports = app.drain().await;
    assert_eq!(reports.len(), 2);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE ticket_id = 41235 AND event = 'reconciled' AND status = 'done'")
            .await,
        1
    );
    let updates = received(&halo, "POST", "/api/Tickets").await;
    let updated: Vec<&Value> = updates.iter().map(|u| &u[0]["id"]).collect();
    assert!(updated.contains(&&json!(41235)), "{updates:?}");
    let acks = received(&halo, "POST", "/api/Actions").await;
    assert_eq!(
        acks.iter().filter(|a| a[0]["ticket_id"] == 41235).count(),
        1
    );

    // The next pass starts from this one's watermark and finds nothing new.
    let again = reconciler
        .pass()
        .await
        .unwrap()
        .expect("this service reconciles");
    assert_eq!((again.listed, again.queued), (2, vec![]));
    assert!(
        again.since >= report.since,
        "{} < {}",
        again.since,
        report.since
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM jobs").await, 2);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM deliveries").await,
        2,
        "a pass that queues nothing stores nothing"
    );
}

#[tokio::test]
async fn a_failed_pass_queues_nothing_and_keeps_the_watermark() {
    let halo = MockServer::start().await;
    crate::common::mount_halo(&halo).await;
    Mock::given(method("GET"))
        .and(path("/api/Tickets"))
        .respond_with(ResponseTemplate::new(500).set_body_string("Database unavailable"))
        .mount(&halo)
        .await;
    let app = spawn_with(Some(&halo), &[("HALO__MAX_RETRIES", "0")]).await;
    let reconciler = app.reconciler.as_ref().unwrap();
    let error = reconciler.pass().await.unwrap_err().to_string();
    assert!(error.contains("Halo answered 500"), "{error}");
    assert_eq!(app.count("SELECT COUNT(*) FROM jobs").await, 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM watermarks WHERE name = 'reconcile'")
            .await,
        0
    );
}

#[tokio::test]
async fn without_credentials_there_is_no_reconciler() {
    let app = spawn_with(None, &[]).await;
    assert!(app.reconciler.is_none());
}

#[tokio::test]
async fn the_running_service_reconciles_at_start_without_any_webhook() {
    let halo = halo_listing_two_tickets().await;
    let running = crate::common::spawn_running(
        Some(&halo),
        &[
            ("RECONCILE__INTERVAL_SECS", "300"),
            ("RECONCILE__PAGE_SIZE", "1"),
            ("WORKER__CONCURRENCY", "1"),
        ],
    )
    .await;
    let app = &running.app;
    for _ in 0..250 {
        if app
            .count("SELECT COUNT(*) FROM jobs WHERE status = 'done'")
            .await
            == 2
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE status = 'done' AND event = 'reconciled'")
            .await,
        2
    );
    assert_eq!(received(&halo, "POST", "/api/Actions").await.len(), 2);
    running.stop.send(()).unwrap();
    running.stopped.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_pass_cut_short_by_max_pages_keeps_the_watermark() {
    let halo = halo_listing_two_tickets().await;
    let app = spawn_with(
        Some(&halo),
        &[("RECONCILE__PAGE_SIZE", "1"), ("RECONCILE__MAX_PAGES", "1")],
    )
    .await;
    let reconciler = app.reconciler.as_ref().unwrap();
    let first = reconciler
        .pass()
        .await
        .unwrap()
        .expect("this service reconciles");
    assert_eq!((first.queued.clone(), first.complete), (vec![41234], false));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM watermarks WHERE name = 'reconcile'")
            .await,
        0,
        "the unread page is read again next pass"
    );
}

#[tokio::test]
async fn two_services_on_one_store_reconcile_once_and_the_second_takes_over_when_the_lease_ends() {
    let halo = halo_listing_two_tickets().await;
    let settings = [
        ("RECONCILE__PAGE_SIZE", "1"),
        // Both run a pass at start; the lease lasts 1.5 intervals.
        ("RECONCILE__INTERVAL_SECS", "300"),
    ];
    let first = spawn_with(Some(&halo), &settings).await;
    let mut on_the_first_store = settings.to_vec();
    on_the_first_store.push(("STORE__URL", &first.store_url));
    let second = spawn_with(Some(&halo), &on_the_first_store).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while first
        .count("SELECT COUNT(*) FROM watermarks WHERE name = 'reconcile'")
        .await
        == 0
    {
        assert!(std::time::Instant::now() < deadline, "no pass finished");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        list_requests(&halo).await.len(),
        2,
        "one pass of two pages, not one per service"
    );
    let holders: Vec<String> =
        sqlx::query_scalar("SELECT owner FROM task_leases WHERE name = 'reconcile'")
            .fetch_all(first.store.pool())
            .await
            .unwrap();
    assert_eq!(holders.len(), 1);
    let before = list_requests(&halo).await.len();
    let (a, b) = (reconciles(&first).await, reconciles(&second).await);
    assert!(
        a != b,
        "exactly one service reconciles while the lease runs"
    );
    assert_eq!(list_requests(&halo).await.len(), before + 2);

    // The holder is gone (its lease ran out): the other takes the reconciler over.
    sqlx::query("UPDATE task_leases SET until_ms = 0 WHERE name = 'reconcile'")
        .execute(first.store.pool())
        .await
        .unwrap();
    let (waiting, holding) = if a {
        (&second, &first)
    } else {
        (&first, &second)
    };
    assert!(reconciles(waiting).await);
    assert!(!reconciles(holding).await, "and holds it now");
}

/// Runs one reconciler pass of `app`: true when it reconciled, false when another service
/// held the reconciler.
async fn reconciles(app: &TestApp) -> bool {
    let pass = app.reconciler.as_ref().unwrap().pass().await.unwrap();
    pass.is_some()
}
