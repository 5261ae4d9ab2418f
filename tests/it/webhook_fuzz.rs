//! Bad input at scale: arbitrary bodies, bytes and Halo-shaped JSON, posted to the real
//! webhook with valid credentials. Every one is answered 2xx or 4xx (never 5xx, never a
//! dropped connection), and every 2xx, 400 or too-large-batch 413 answer has kept the
//! body, byte for byte, as exactly one row of the delivery log.
//!
//! One app (and one SQLite file) serves all the cases of a test; proptest's `TestRunner`
//! drives them from a plain thread that blocks on a tokio runtime for each case.

use crate::common::{spawn, TestApp};

/// The body strategies the parser's unit tests use too.
#[path = "../../src/ingest/halo_json.rs"]
mod halo_json;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use sqlx::Row;

/// Each case is a real request and a SQLite transaction: enough to vary every kind of body
/// (see halo_json.rs), few enough to take a second or two.
const CASES: u32 = 128;

/// A body, shown as an escaped byte string when proptest reports a failing case.
#[derive(Clone)]
struct Body(Vec<u8>);

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

/// Posts `body` and checks the answer and the delivery log.
async fn post_and_check(app: &TestApp, body: Vec<u8>) -> Result<(), TestCaseError> {
    let before = app.count("SELECT COUNT(*) FROM deliveries").await;
    // `deliver` fails the case on a connection error (refused, reset, closed early).
    let response = app.deliver(body.clone()).await;
    let status = response.status();
    let answer = response
        .bytes()
        .await
        .map_err(|e| TestCaseError::fail(format!("the answer's body was cut off: {e}")))?;
    let answer = String::from_utf8_lossy(&answer);
    prop_assert!(
        status.is_success() || status.is_client_error(),
        "answered {status}: {answer}"
    );
    let after = app.count("SELECT COUNT(*) FROM deliveries").await;
    // A batch over webhook.max_batch is refused with 413 and kept, like a 400.
    let refused_batch = status.as_u16() == 413 && answer.contains("webhook.max_batch");
    if !(status.is_success() || status.as_u16() == 400 || refused_batch) {
        // 401 and 413 keep nothing (README, "Webhook answers"); valid credentials and small
        // bodies should not get them at all.
        prop_assert_eq!(after, before, "answered {}: {}", status, answer);
        return Ok(());
    }
    prop_assert_eq!(after, before + 1, "answered {}: {}", status, answer);
    let row = sqlx::query("SELECT outcome, body FROM deliveries ORDER BY id DESC LIMIT 1")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    let (outcome, stored): (String, Vec<u8>) = (row.get(0), row.get(1));
    prop_assert!(stored == body, "the stored body differs from the one sent");
    // A partly bad batch is answered 202 (its good elements were taken) and kept as
    // quarantined, its results naming the bad elements.
    let partly_bad = answer.contains("\"error\"") && answer.contains("\"job_id\"");
    if status.as_u16() == 400 || refused_batch {
        prop_assert_eq!(
            outcome.as_str(),
            "quarantined",
            "answered {}: {}",
            status,
            answer
        );
    } else if outcome == "quarantined" {
        prop_assert!(
            partly_bad,
            "answered {status} but the delivery is {outcome}: {answer}"
        );
    } else {
        prop_assert!(
            ["accepted", "duplicate", "ignored"].contains(&outcome.as_str()),
            "answered {status} but the delivery is {outcome}: {answer}"
        );
    }
    let json: Result<serde_json::Value, _> = serde_json::from_str(&answer);
    prop_assert!(
        json.is_ok(),
        "answered {status} with a body that is not JSON: {answer}"
    );
    Ok(())
}

/// Runs `CASES` bodies from `bodies` against one app.
fn fuzz_webhook(bodies: impl Strategy<Value = Vec<u8>>) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let app = runtime.block_on(spawn(None));
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        // The runner has no source file to name a regressions file after; a failure prints
        // the minimal body instead.
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&bodies.prop_map(Body), |body| {
        runtime.block_on(post_and_check(&app, body.0))
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

#[test]
fn arbitrary_bytes_are_answered_2xx_or_4xx_and_kept() {
    fuzz_webhook(halo_json::body_bytes());
}

#[test]
fn arbitrary_json_is_answered_2xx_or_4xx_and_kept() {
    fuzz_webhook(halo_json::body_value().prop_map(|value| value.to_string().into_bytes()));
}
