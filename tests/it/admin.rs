//! Operating the service: dead letters and their replay, over the admin API and the
//! `jobs` command, the recent decisions (behind `admin.token`), and retention.

use crate::common::{fixture, halo_with, mount_halo, received, spawn_with, JobRow, TestApp};
use reqwest::Method;
use serde_json::Value;
use wiremock::{MockServer, ResponseTemplate};

pub(crate) const ADMIN_TOKEN: &str = "admin-secret-for-the-tests-0123";

/// Halo refusing every ticket update with a 500; the app gives up after one attempt.
pub(crate) async fn app_with_a_dead_job() -> (MockServer, TestApp) {
    let refused = ResponseTemplate::new(500).set_body_string("Database unavailable");
    let halo = halo_with(&[("POST", "/api/Tickets", refused)]).await;
    let app = spawn_with(
        Some(&halo),
        &[
            ("WORKER__MAX_ATTEMPTS", "1"),
            ("HALO__MAX_RETRIES", "0"),
            ("ADMIN__TOKEN", ADMIN_TOKEN),
        ],
    )
    .await;
    app.deliver(fixture("webhook-new-ticket-full.json")).await;
    app.drain().await;
    assert_eq!(app.job_row(1).await.status, "dead");
    (halo, app)
}

async fn admin(app: &TestApp, verb: Method, route: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = app.http.request(verb, app.url(route));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_dead_job_is_listed_replayed_and_then_done_exactly_once() {
    let (halo, app) = app_with_a_dead_job().await;
    let (status, body) = admin(
        &app,
        Method::GET,
        "/admin/jobs?status=dead",
        Some(ADMIN_TOKEN),
    )
    .await;
    assert_eq!(status, 200);
    let jobs = body["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["ticket_id"], 41234);
    assert_eq!(jobs[0]["status"], "dead");
    assert!(jobs[0]["last_error"]
        .as_str()
        .unwrap()
        .contains("Database unavailable"));
    assert!(received(&halo, "POST", "/api/Actions").await.is_empty());

    // Halo is healthy again; the operator replays the dead letter.
    halo.reset().await;
    mount_halo(&halo).await;
    let (status, body) = admin(&app, Method::POST, "/admin/jobs/1/retry", Some(ADMIN_TOKEN)).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("queued")));
    let reports = app.drain().await;
    assert_eq!(
        reports.len(),
        1,
        "a replayed job has a fresh budget of attempts"
    );
    let JobRow {
        status, attempts, ..
    } = app.job_row(1).await;
    assert_eq!((status.as_str(), attempts), ("done", 2));
    assert_eq!(received(&halo, "POST", "/api/Tickets").await.len(), 1);
    assert_eq!(received(&halo, "POST", "/api/Actions").await.len(), 1);

    // Only dead jobs are replayed.
    let (status, body) = admin(&app, Method::POST, "/admin/jobs/1/retry", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 409);
    assert_eq!(body["error"], "job 1 is done: only dead jobs are replayed");
    let (status, _) = admin(
        &app,
        Method::POST,
        "/admin/jobs/77/retry",
        Some(ADMIN_TOKEN),
    )
    .await;
    assert_eq!(status, 404);
    let (status, body) = admin(
        &app,
        Method::POST,
        "/admin/jobs/retry-dead",
        Some(ADMIN_TOKEN),
    )
    .await;
    assert_eq!((status, body["replayed"].as_u64()), (200, Some(0)));
}

#[tokio::test]
async fn recent_decisions_explain_themselves() {
    let (_halo, app) = app_with_a_dead_job().await;
    let (status, body) = admin(
        &app,
        Method::GET,
        "/admin/decisions?ticket_id=41234",
        Some(ADMIN_TOKEN),
    )
    .await;
    assert_eq!(status, 200);
    let decision = &body["decisions"][0];
    assert_eq!(decision["ticket_id"], 41234);
    assert_eq!(decision["mode"], "live");
    assert_eq!(decision["applied"], false);
    let matched = decision["decision"]["matched_rules"].as_array().unwrap();
    assert!(!matched.is_empty(), "{decision}");
    assert!(decision["decision"]["fields"]["team"]["reason"]
        .as_str()
        .unwrap()
        .contains("matched"));
    let (_, other) = admin(
        &app,
        Method::GET,
        "/admin/decisions?ticket_id=5",
        Some(ADMIN_TOKEN),
    )
    .await;
    assert_eq!(other["decisions"], serde_json::json!([]));
}

#[tokio::test]
async fn the_admin_api_wants_its_token_and_checks_its_queries() {
    let (_halo, app) = app_with_a_dead_job().await;
    for token in [None, Some("wrong"), Some("")] {
        let (status, _) = admin(&app, Method::GET, "/admin/jobs", token).await;
        assert_eq!(status, 401, "{token:?}");
        let (status, _) = admin(&app, Method::POST, "/admin/jobs/retry-dead", token).await;
        assert_eq!(status, 401, "{token:?}");
    }
    assert_eq!(app.job_row(1).await.status, "dead", "nothing replayed");
    let (status, _) = admin(
        &app,
        Method::GET,
        "/admin/jobs?status=lost",
        Some(ADMIN_TOKEN),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn without_an_admin_token_there_is_no_admin_api() {
    let app = spawn_with(None, &[]).await;
    let (status, _) = admin(&app, Method::GET, "/admin/jobs", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_jobs_command_lists_and_replays_dead_letters() {
    let (halo, app) = app_with_a_dead_job().await;
    let jobs = |args: &[&str]| {
        let output = crate::common::binary()
            .env("HALO_TRIAGE__STORE__URL", &app.store_url)
            .arg("jobs")
            .args(args)
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8(output.stdout).unwrap(),
        )
    };
    let (ok, listed) = jobs(&["list", "--status", "dead"]);
    assert!(ok);
    let row = listed.lines().nth(1).unwrap();
    for expected in ["1", "41234", "dead", "Database unavailable"] {
        assert!(row.contains(expected), "{expected} missing in {listed}");
    }
    assert_eq!(jobs(&["list", "--status", "done"]).1, "no jobs\n");
    assert!(!jobs(&["list", "--status", "lost"]).0);

    assert_eq!(jobs(&["retry", "9"]), (false, "no job 9\n".to_string()));
    assert_eq!(
        jobs(&["retry", "1"]),
        (true, "job 1 queued again\n".to_string())
    );
    assert_eq!(app.job_row(1).await.status, "queued");
    halo.reset().await;
    mount_halo(&halo).await;
    app.drain().await;
    assert_eq!(app.job_row(1).await.status, "done");
    assert_eq!(
        jobs(&["retry", "--all-dead"]),
        (true, "0 dead job(s) queued again\n".to_string())
    );
}

#[tokio::test]
async fn retention_prunes_old_finished_work_and_keeps_dead_letters_and_the_ack_ledger() {
    let (halo, app) = app_with_a_dead_job().await;
    // A second ticket is triaged and done; both are then made 100 days old.
    halo.reset().await;
    mount_halo(&halo).await;
    let mut done = crate::common::fixture_json("webhook-new-ticket-full.json");
    done["id"] = serde_json::json!("second-delivery");
    done["object_id"] = serde_json::json!(41235);
    done["ticket"]["id"] = serde_json::json!(41235);
    app.deliver(done.to_string()).await;
    app.drain().await;
    assert_eq!(app.job_row(2).await.status, "done");
    // And one delivery that never made work (an ignored event).
    app.deliver(r#"{"event":"Ticket Updated","object_id":9}"#)
        .await;
    for sql in [
        "UPDATE jobs SET updated_at = 0",
        "UPDATE deliveries SET received_at = 0",
        "UPDATE decisions SET created_at = 0",
    ] {
        sqlx::query(sql).execute(app.store.pool()).await.unwrap();
    }
    let cutoff = halo_triage::now_ms() - 90 * 86_400_000;
    let pruned = app.store.prune(cutoff).await.unwrap();
    assert_eq!(
        (pruned.jobs, pruned.decisions, pruned.deliveries),
        (1, 1, 2),
        "the done job, its decision, its delivery and the ignored delivery"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE status = 'dead'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM decisions").await,
        1,
        "the dead job's"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM deliveries").await,
        1,
        "the dead job's"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM acknowledgements WHERE ticket_id = 41235")
            .await,
        1
    );
    // Recent work is untouched.
    let again = app.store.prune(cutoff).await.unwrap();
    assert_eq!((again.jobs, again.decisions, again.deliveries), (0, 0, 0));
}

#[tokio::test]
async fn admin_listen_serves_the_admin_api_and_metrics_apart_from_the_webhook() {
    let app = spawn_with(
        None,
        &[
            ("ADMIN__TOKEN", ADMIN_TOKEN),
            ("ADMIN__LISTEN", "127.0.0.1:0"),
            ("ADMIN__PROTECT_METRICS", "true"),
        ],
    )
    .await;
    let admin = app.admin_addr.expect("an admin listener");
    let get = |url: String, token: Option<&'static str>| {
        let request = app.http.get(url);
        let request = match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        async move { request.send().await.unwrap().status().as_u16() }
    };
    // Not on the listener Halo reaches.
    assert_eq!(get(app.url("/admin/jobs"), Some(ADMIN_TOKEN)).await, 404);
    assert_eq!(get(app.url("/metrics"), None).await, 404);
    assert_eq!(get(app.url("/healthz"), None).await, 200);
    // On the operator's, behind the token.
    let operator = |path: &str| format!("http://{admin}{path}");
    assert_eq!(get(operator("/admin/jobs"), Some(ADMIN_TOKEN)).await, 200);
    assert_eq!(get(operator("/metrics"), None).await, 401);
    assert_eq!(get(operator("/metrics"), Some(ADMIN_TOKEN)).await, 200);
}
