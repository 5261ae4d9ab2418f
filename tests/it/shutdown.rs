//! Graceful shutdown: deliveries stop, jobs in flight finish within the grace period, and
//! a job still running after it goes back to the queue instead of being lost.

use std::time::Duration;

use crate::common::{fixture, mount_halo, received, spawn_running, JobRow, RunningApp};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A healthy Halo whose ticket update takes `delay`, and the app running one worker.
async fn slow_halo_app(delay: Duration, grace_secs: &str) -> (MockServer, RunningApp) {
    let halo = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/Tickets"))
        .respond_with(ResponseTemplate::new(200).set_delay(delay))
        .with_priority(1)
        .mount(&halo)
        .await;
    mount_halo(&halo).await;
    let running = spawn_running(
        Some(&halo),
        &[
            ("WORKER__CONCURRENCY", "1"),
            ("WORKER__SHUTDOWN_GRACE_SECS", grace_secs),
            ("HALO__TIMEOUT_SECS", "10"),
            ("HALO__MAX_RETRIES", "0"),
        ],
    )
    .await;
    (halo, running)
}

/// Delivers the example ticket and waits until a worker is updating it in Halo.
async fn deliver_and_wait_for_the_update(halo: &MockServer, running: &RunningApp) {
    let response = running
        .app
        .deliver(fixture("webhook-new-ticket-full.json"))
        .await;
    assert_eq!(response.status(), 202);
    for _ in 0..250 {
        if !received(halo, "POST", "/api/Tickets").await.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the worker never started updating the ticket");
}

#[tokio::test]
async fn a_job_in_flight_finishes_within_the_grace_period_and_nothing_more_is_taken() {
    let (halo, running) = slow_halo_app(Duration::from_millis(700), "10").await;
    deliver_and_wait_for_the_update(&halo, &running).await;
    let RunningApp { app, stop, stopped } = running;
    stop.send(()).unwrap();
    stopped
        .await
        .unwrap()
        .expect("a graceful stop is a clean exit");

    let JobRow {
        status, attempts, ..
    } = app.job_row(1).await;
    assert_eq!((status.as_str(), attempts), ("done", 1));
    assert_eq!(received(&halo, "POST", "/api/Actions").await.len(), 1);
    assert_eq!(app.acks_sent(555).await, 1);
    // The listener is closed: Halo's next delivery is refused at the door, not lost inside.
    let refused = app
        .http
        .post(app.url("/hooks/halo"))
        .body("{}")
        .send()
        .await;
    assert!(refused.is_err(), "{refused:?}");
}

#[tokio::test]
async fn a_job_still_running_after_the_grace_period_goes_back_to_the_queue() {
    let (halo, running) = slow_halo_app(Duration::from_secs(8), "1").await;
    deliver_and_wait_for_the_update(&halo, &running).await;
    let RunningApp { app, stop, stopped } = running;
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(6), stopped)
        .await
        .expect("shutdown ends soon after the grace period")
        .unwrap()
        .expect("a graceful stop is a clean exit");

    let JobRow {
        status,
        attempts,
        last_error,
        ..
    } = app.job_row(1).await;
    assert_eq!((status.as_str(), attempts), ("queued", 1));
    assert!(last_error
        .unwrap()
        .contains("released at shutdown before it finished"));
    // Cut short before the acknowledgement: the next start sends it, once.
    assert!(received(&halo, "POST", "/api/Actions").await.is_empty());
    assert_eq!(app.count("SELECT COUNT(*) FROM acknowledgements").await, 0);
}

#[tokio::test]
async fn a_client_that_never_finishes_its_request_cannot_hold_up_the_exit() {
    use tokio::io::AsyncWriteExt;
    let running = spawn_running(
        None,
        &[
            ("WORKER__CONCURRENCY", "1"),
            ("WORKER__SHUTDOWN_GRACE_SECS", "1"),
        ],
    )
    .await;
    let mut slow = tokio::net::TcpStream::connect(running.app.addr)
        .await
        .unwrap();
    slow.write_all(
        format!(
            "POST /hooks/halo HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer {}\r\n\
             content-type: application/json\r\ncontent-length: 1000\r\n\r\n{{\"event\":",
            crate::common::TOKEN
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    running.stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), running.stopped)
        .await
        .expect("the grace period bounds the wait for open requests")
        .unwrap()
        .expect("a graceful stop is a clean exit");
    drop(slow);
}
