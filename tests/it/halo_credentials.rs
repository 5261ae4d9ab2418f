//! The Halo client secret and tokens go to Halo's own origin only: no redirect is
//! followed, and an authorisation server discovered from `/api/authinfo` on another origin
//! is refused (unless `halo.auth_url` names it).

use serde_json::json;
use wiremock::{MockServer, ResponseTemplate};

use crate::common::{fixture, halo_with, spawn_with, JobRow};

/// Runs one webhook delivery through a live app against `halo`; returns the job.
async fn run_one_job(halo: &MockServer, overrides: &[(&str, &str)]) -> JobRow {
    let app = spawn_with(Some(halo), overrides).await;
    app.deliver(fixture("webhook-new-ticket-full.json")).await;
    app.drain().await;
    app.job_row(1).await
}

#[tokio::test]
async fn a_discovered_auth_server_on_another_origin_gets_no_secret() {
    let elsewhere = MockServer::start().await;
    let authinfo = ResponseTemplate::new(200)
        .set_body_json(json!({ "auth_url": format!("{}/auth", elsewhere.uri()) }));
    let halo = halo_with(&[("GET", "/api/authinfo", authinfo)]).await;
    // No halo.auth_url: the service asks /api/authinfo where to get tokens.
    let job = run_one_job(&halo, &[("HALO__AUTH_URL", "")]).await;
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
    assert_eq!(job.status, "dead");
    let error = job.last_error.unwrap();
    assert!(
        error.contains("is not on halo.base_url's origin"),
        "{error}"
    );
}

#[tokio::test]
async fn a_redirect_from_the_token_endpoint_is_not_followed() {
    let elsewhere = MockServer::start().await;
    let redirect = ResponseTemplate::new(307)
        .insert_header("location", format!("{}/steal", elsewhere.uri()).as_str());
    let halo = halo_with(&[("POST", "/auth/token", redirect)]).await;
    let job = run_one_job(&halo, &[]).await;
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
    assert_ne!(job.status, "done");
    let error = job.last_error.unwrap();
    assert!(error.contains("307"), "{error}");
}
