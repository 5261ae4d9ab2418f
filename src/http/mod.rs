//! Operational routes: liveness and readiness.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::store::Store;
use crate::worker::Heartbeat;

#[derive(Clone)]
struct HealthState {
    store: Store,
    /// `None` when this instance runs no worker (`worker.concurrency = 0`).
    heartbeat: Option<Heartbeat>,
    /// A worker that has not looked for work for this long is considered stuck.
    stale_after_ms: i64,
}

pub fn router(store: Store, heartbeat: Option<Heartbeat>, stale_after_ms: i64) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(HealthState {
            store,
            heartbeat,
            stale_after_ms,
        })
}

async fn ready(State(state): State<HealthState>) -> impl IntoResponse {
    let database = match state.store.ping().await {
        Ok(()) => "ok".to_string(),
        Err(e) => e.to_string(),
    };
    let worker = match &state.heartbeat {
        None => "disabled".to_string(),
        Some(heartbeat) => match heartbeat.age_ms() {
            None => "not started".to_string(),
            Some(age) if age > state.stale_after_ms => format!("no heartbeat for {age} ms"),
            Some(_) => "ok".to_string(),
        },
    };
    let ready = database == "ok" && matches!(worker.as_str(), "ok" | "disabled");
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ready { "ready" } else { "not ready" },
        "database": database,
        "worker": worker,
    });
    (status, Json(body))
}
