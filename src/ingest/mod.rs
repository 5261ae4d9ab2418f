//! Stage 0, the webhook endpoint: authenticate, bound, parse, store durably, answer.
//! Never calls Halo.

#[cfg(test)]
mod halo_json;
mod parse;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use parse::{parse, Accept, Item, Refusal};

use crate::config::WebhookSettings;
use crate::http::auth::WebhookAuth;
use crate::http::error::json_error as error;
use crate::http::throttle::Throttle;
use crate::store::{DeliveryOutcome, NewJob, Store};
use crate::wake::Wake;

struct IngestState {
    store: Store,
    auth: WebhookAuth,
    events: Vec<String>,
    /// Agents whose events are our own doing (the loop guard).
    ignore_agent_ids: Vec<i64>,
    max_batch: usize,
    /// How long an authenticated sender may take to deliver the body.
    body_timeout: Duration,
    throttle: Arc<Throttle>,
    /// Wakes idle workers when new work is stored.
    wake: Wake,
}

/// The webhook route, with its authentication and body limit.
pub fn router(
    settings: &WebhookSettings,
    body_timeout: Duration,
    throttle: Arc<Throttle>,
    store: Store,
    wake: Wake,
) -> Router {
    let state = Arc::new(IngestState {
        store,
        auth: WebhookAuth::from_settings(settings),
        events: settings
            .events
            .iter()
            .map(|e| e.trim().to_lowercase())
            .filter(|e| !e.is_empty())
            .collect(),
        ignore_agent_ids: settings.ignore_agent_ids.clone(),
        max_batch: settings.max_batch,
        body_timeout,
        throttle,
        wake,
    });
    Router::new()
        .route(&settings.path, post(receive))
        // Authentication runs before the body is read: an unauthenticated sender costs
        // nothing and learns nothing.
        .route_layer(middleware::from_fn_with_state(state.clone(), require_auth))
        .layer(DefaultBodyLimit::max(settings.max_body_bytes))
        .with_state(state)
}

async fn require_auth(
    State(state): State<Arc<IngestState>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(refusal) = state.throttle.refuse(&request) {
        crate::telemetry::metrics::delivery("throttled");
        return refusal;
    }
    if state.auth.verify(request.headers()) {
        next.run(request).await
    } else {
        state.throttle.failed(&request);
        crate::telemetry::metrics::delivery("unauthorized");
        tracing::warn!("webhook delivery refused: missing or wrong credentials");
        StatusCode::UNAUTHORIZED.into_response()
    }
}

async fn receive(State(state): State<Arc<IngestState>>, request: Request) -> Response {
    // Authenticated senders only get here; even they must deliver the body in time.
    let read = tokio::time::timeout(state.body_timeout, Bytes::from_request(request, &())).await;
    let body = match read {
        Ok(Ok(body)) => body,
        Err(_) => {
            crate::telemetry::metrics::delivery("timeout");
            tracing::warn!("webhook delivery refused: the body did not arrive in time");
            return error(
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive within server.request_body_timeout_secs",
            );
        }
        Ok(Err(rejection)) => {
            crate::telemetry::metrics::delivery(
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    "too_large"
                } else {
                    "unreadable"
                },
            );
            tracing::warn!(%rejection, "webhook delivery refused: body not readable or too large");
            return error(rejection.status(), rejection.body_text());
        }
    };
    let accept = Accept {
        events: &state.events,
        ignored_agents: &state.ignore_agent_ids,
        max_batch: state.max_batch,
    };
    let parsed = match parse(&body, &accept) {
        Ok(parsed) => parsed,
        Err(refusal) => return quarantine(&state, &body, refusal).await,
    };

    let mut jobs = Vec::new();
    let mut problems = Vec::new();
    let mut ignored = Vec::new();
    for item in &parsed.items {
        match item {
            Item::Work(job) => jobs.push(job.clone()),
            Item::Invalid(message) => problems.push(message.clone()),
            Item::Ignored(message) => ignored.push(message.clone()),
        }
    }
    let (outcome, note) = if !problems.is_empty() {
        (DeliveryOutcome::Quarantined, Some(summary(&problems)))
    } else if jobs.is_empty() {
        (DeliveryOutcome::Ignored, Some(summary(&ignored)))
    } else {
        (DeliveryOutcome::Accepted, None)
    };
    let enqueued = match state
        .store
        .record_delivery(&body, outcome, note.as_deref(), &jobs)
        .await
    {
        Ok(enqueued) => enqueued,
        Err(e) => return storage_unavailable(&e),
    };
    state
        .wake
        .jobs_queued(enqueued.iter().filter(|e| !e.duplicate).count());
    crate::telemetry::metrics::delivery(match outcome {
        DeliveryOutcome::Quarantined => "invalid",
        DeliveryOutcome::Ignored => "ignored",
        DeliveryOutcome::Accepted if enqueued.iter().all(|e| e.duplicate) => "duplicate",
        DeliveryOutcome::Accepted => "accepted",
    });
    log_delivery(&jobs, &enqueued, &ignored, &problems);

    let mut enqueued = enqueued.into_iter();
    let results: Vec<Value> = parsed
        .items
        .iter()
        .map(|item| match item {
            Item::Work(_) => json!(enqueued.next()),
            Item::Ignored(message) => json!({ "ignored": message }),
            Item::Invalid(message) => json!({ "error": message }),
        })
        .collect();
    // 202 as soon as any element became work: Halo must not retry (or disable the
    // webhook for) a batch whose good elements were taken; the results say which were not.
    let status = if problems.is_empty() || !jobs.is_empty() {
        StatusCode::ACCEPTED
    } else {
        StatusCode::BAD_REQUEST
    };
    let body = if parsed.batch {
        json!({ "results": results })
    } else {
        results.into_iter().next().unwrap_or_default()
    };
    (status, Json(body)).into_response()
}

/// An authenticated body we cannot use is kept (to inspect and replay) and refused: 413
/// for a batch over `webhook.max_batch`, else 400.
async fn quarantine(state: &IngestState, body: &[u8], refusal: Refusal) -> Response {
    let message = refusal.to_string();
    if let Err(e) = state
        .store
        .record_delivery(body, DeliveryOutcome::Quarantined, Some(&message), &[])
        .await
    {
        return storage_unavailable(&e);
    }
    crate::telemetry::metrics::delivery("invalid");
    tracing::warn!(error = %message, bytes = body.len(), "webhook delivery quarantined");
    let status = match refusal {
        Refusal::TooManyElements { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        Refusal::Invalid(_) => StatusCode::BAD_REQUEST,
    };
    error(status, message)
}

/// How many problems are stored and logged by name; the rest are counted.
const LISTED: usize = 5;

/// "N elements: first; second; … (and M more)": bounded whatever the batch.
fn summary(messages: &[String]) -> String {
    let listed = messages[..messages.len().min(LISTED)].join("; ");
    match messages.len() {
        1 => listed,
        n if n <= LISTED => format!("{n} elements: {listed}"),
        n => format!("{n} elements: {listed} (and {} more)", n - LISTED),
    }
}

/// 503 makes Halo retry; nothing was acknowledged, so nothing is lost.
fn storage_unavailable(e: &crate::store::StoreError) -> Response {
    crate::telemetry::metrics::delivery("unavailable");
    tracing::error!(error = %e, "webhook delivery not stored: answering 503 so Halo retries");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "storage unavailable; the delivery was not accepted, please retry",
    )
}

fn log_delivery(
    jobs: &[NewJob],
    enqueued: &[crate::store::Enqueued],
    ignored: &[String],
    problems: &[String],
) {
    for (job, entry) in jobs.iter().zip(enqueued) {
        tracing::info!(
            ticket_id = job.ticket_id,
            job_id = entry.job_id,
            duplicate = entry.duplicate,
            event = %job.event,
            "webhook delivery accepted"
        );
    }
    if !ignored.is_empty() {
        tracing::info!(count = ignored.len(), reasons = %summary(ignored), "webhook delivery ignored");
    }
    if !problems.is_empty() {
        tracing::warn!(count = problems.len(), errors = %summary(problems), "webhook delivery elements quarantined");
    }
}
