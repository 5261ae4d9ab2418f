//! Crafted ticket HTML costs time in proportion to its size, and deciding a ticket runs
//! off the async threads: `/healthz` and new deliveries are answered while jobs chew on
//! the largest bodies the webhook accepts.

use std::time::Duration;

use serde_json::json;

use crate::common::{fixture_json, spawn_running, TestApp, TOKEN};
use crate::hostile_bodies::hostile_html;

/// A full-object delivery for `ticket_id` whose HTML details are `html`.
fn delivery(ticket_id: i64, html: &str) -> String {
    let mut delivery = fixture_json("webhook-new-ticket-full.json");
    delivery["id"] = json!(format!("hostile-{ticket_id}"));
    delivery["object_id"] = json!(ticket_id);
    delivery["ticket"]["id"] = json!(ticket_id);
    delivery["ticket"]["details"] = json!(null);
    delivery["ticket"]["details_html"] = json!(html);
    delivery.to_string()
}

/// The client side of the test, on a thread and a runtime of its own: when the app's
/// threads stall, this still notices (and the test fails instead of hanging with them).
fn probe(app: &TestApp) -> std::sync::mpsc::Receiver<Result<(), String>> {
    let (done, result) = std::sync::mpsc::channel();
    let http = app.http.clone();
    let (webhook, health) = (app.url("/hooks/halo"), app.url("/healthz"));
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let outcome = runtime.block_on(async move {
            let deliver = |body: String| {
                http.post(&webhook)
                    .bearer_auth(TOKEN)
                    .header("content-type", "application/json")
                    .body(body)
                    .timeout(PATIENCE)
                    .send()
            };
            let [(_, ampersands), (_, scripts)] = hostile_html();
            for (ticket_id, html) in [(1, &ampersands), (2, &scripts), (3, &ampersands)] {
                let answer = deliver(delivery(ticket_id, html)).await;
                answer.map_err(|e| format!("hostile delivery {ticket_id}: {e}"))?;
            }
            for _ in 0..5 {
                let answer = http.get(&health).timeout(PATIENCE).send().await;
                answer.map_err(|e| format!("/healthz stalled: {e}"))?;
            }
            let normal = deliver(delivery(4, "<p>The printer is jammed &amp; beeps</p>")).await;
            match normal {
                Ok(answer) if answer.status() == 202 => Ok(()),
                Ok(answer) => Err(format!("a normal delivery got {}", answer.status())),
                Err(e) => Err(format!("a normal delivery was held up: {e}")),
            }
        });
        let _ = done.send(outcome);
    });
    result
}

/// How long a request may take before the service counts as stalled: the quadratic
/// conversion held the async threads for many seconds; linear, it takes milliseconds.
const PATIENCE: Duration = Duration::from_secs(3);

#[test]
fn health_and_deliveries_are_answered_while_jobs_chew_on_hostile_html() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let running = runtime.block_on(spawn_running(None, &[("WORKER__CONCURRENCY", "2")]));
    let app = &running.app;
    let outcome = probe(app).recv_timeout(Duration::from_secs(30));
    if !matches!(outcome, Ok(Ok(()))) {
        // The app's threads may still be busy: do not wait for them.
        runtime.shutdown_background();
        panic!("the service stalled: {outcome:?}");
    }
    let finished = runtime.block_on(async {
        for _ in 0..300 {
            if app
                .count("SELECT COUNT(*) FROM jobs WHERE status = 'done'")
                .await
                == 4
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    });
    assert!(finished, "every job ends done");
}
