//! Operational routes: liveness, readiness and metrics.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use std::sync::Arc;
use std::time::Duration;

use crate::store::Store;
use crate::tasks::model_watch::ModelsHandle;
use crate::tasks::rules_watch::RulesHandle;
use crate::telemetry::metrics;
use crate::worker::{Heartbeat, Outage};

/// What readiness is judged on.
#[derive(Clone)]
pub struct Health {
    pub store: Store,
    pub rules: Arc<RulesHandle>,
    pub models: Arc<ModelsHandle>,
    /// `None` when this instance runs no worker (`worker.concurrency = 0`).
    pub heartbeat: Option<Heartbeat>,
    /// A worker that has not looked for work for this long is considered stuck.
    pub stale_after: Duration,
    pub outage: Outage,
}

pub(super) fn router(health: Health) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(health)
}

/// `GET /metrics`, Prometheus' text format.
pub(super) fn metrics_router(store: Store) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(store): State<Store>| async move { render_metrics(&store).await }),
        )
        .with_state(store)
}

/// The metrics text, with the queue gauges read from the store first.
async fn render_metrics(store: &Store) -> String {
    match store.queue_stats().await {
        Ok(stats) => metrics::queue(&stats.jobs_by_status, stats.oldest_queued_age_secs),
        Err(error) => tracing::warn!(%error, "queue metrics not refreshed"),
    }
    metrics::render()
}

/// 503 when the database or the workers fail; 200 "degraded" while Halo is down (the
/// service still takes deliveries, so it must stay in rotation).
async fn ready(State(state): State<Health>) -> impl IntoResponse {
    let database = match state.store.ping().await {
        Ok(()) => "ok".to_string(),
        Err(e) => e.to_string(),
    };
    let worker = match &state.heartbeat {
        None => "disabled".to_string(),
        Some(heartbeat) => match heartbeat.age_ms() {
            None => "not started".to_string(),
            Some(age) if age > state.stale_after.as_millis() as i64 => {
                format!("no heartbeat for {age} ms")
            }
            Some(_) => "ok".to_string(),
        },
    };
    let ready = database == "ok" && matches!(worker.as_str(), "ok" | "disabled");
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let halo = state.outage.status();
    let summary = match (ready, halo.degraded) {
        (false, _) => "not ready",
        (true, true) => "degraded",
        (true, false) => "ready",
    };
    let body = json!({
        "status": summary,
        "database": database,
        "worker": worker,
        "halo": halo,
        "rules": state.rules.status(),
        "models": state.models.status(),
    });
    (status, Json(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn readiness(heartbeat: Option<Heartbeat>) -> (StatusCode, serde_json::Value) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("ready.db")).await.unwrap();
        let rules_file = dir.path().join("rules.toml");
        std::fs::write(&rules_file, "").unwrap();
        let rules = RulesHandle::load(&crate::config::RulesSettings {
            path: rules_file,
            overlay_dir: dir.path().join("rules.d"),
            watch_interval: Duration::ZERO,
        })
        .unwrap();
        let outage = Outage::new(1, Duration::from_secs(60), Duration::from_secs(60));
        let models = ModelsHandle::load(&crate::config::ModelSettings {
            dir: dir.path().join("models"),
            fill_threshold: 0.9,
            thresholds: Default::default(),
            watch_interval: Duration::ZERO,
        });
        let response = router(Health {
            store,
            rules,
            models,
            heartbeat,
            stale_after: Duration::from_secs(1),
            outage,
        })
        .oneshot(Request::get("/readyz").body(Body::empty()).unwrap())
        .await
        .unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn a_worker_that_never_started_is_not_ready() {
        let (status, body) = readiness(Some(Heartbeat::default())).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["worker"], "not started");
    }

    #[tokio::test]
    async fn a_stale_heartbeat_is_not_ready() {
        let heartbeat = Heartbeat::default();
        heartbeat.beat_at(crate::clock::now_ms() - 5_000);
        let (status, body) = readiness(Some(heartbeat)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            body["worker"]
                .as_str()
                .unwrap()
                .starts_with("no heartbeat for"),
            "{body}"
        );
    }
}
