//! The admin API: dead letters and their replay, recent decisions, the agreement report. Served only when
//! `admin.token` is set, and only to requests bearing it.

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::bearer_matches;
use super::error::json_error as error;
use super::Operator;
use crate::report::parse_since;
use crate::store::{DecisionFilter, JobStatus, Replay, StoreError, StoredDecision};

/// The admin API, and `guarded` (more routes behind the same token).
pub(super) fn router(state: Arc<Operator>, guarded: Router) -> Router {
    Router::new()
        .route("/admin/jobs", get(list_jobs))
        .route("/admin/jobs/retry-dead", post(replay_all_dead))
        .route("/admin/jobs/{id}/retry", post(replay_job))
        .route("/admin/decisions", get(decisions))
        .route("/admin/report", get(agreement_report))
        .with_state(state.clone())
        .merge(guarded)
        .route_layer(middleware::from_fn_with_state(state, require_token))
}

async fn require_token(
    State(state): State<Arc<Operator>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(refusal) = state.throttle.refuse(&request) {
        return refusal;
    }
    if bearer_matches(request.headers(), &state.token) {
        next.run(request).await
    } else {
        state.throttle.failed(&request);
        tracing::warn!(path = %request.uri().path(), "admin request refused: missing or wrong token");
        error(
            StatusCode::UNAUTHORIZED,
            "a valid admin token is required (Authorization: Bearer)",
        )
    }
}

fn store_error(e: StoreError) -> Response {
    tracing::error!(error = %e, "admin request failed");
    error(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
}

/// Rows per answer: 100 unless asked, at most 1,000.
fn limit(asked: Option<i64>) -> i64 {
    asked.unwrap_or(100).clamp(1, 1_000)
}

#[derive(Deserialize)]
struct JobsQuery {
    status: Option<JobStatus>,
    limit: Option<i64>,
}

async fn list_jobs(State(state): State<Arc<Operator>>, Query(query): Query<JobsQuery>) -> Response {
    match state
        .store
        .list_jobs(query.status, limit(query.limit))
        .await
    {
        Ok(jobs) => Json(json!({ "jobs": jobs })).into_response(),
        Err(e) => store_error(e),
    }
}

async fn replay_job(State(state): State<Arc<Operator>>, Path(id): Path<i64>) -> Response {
    match state.store.replay_job(id).await {
        Ok(Replay::Queued) => {
            state.wake.jobs_queued(1);
            tracing::info!(job_id = id, "dead job replayed through the admin API");
            Json(json!({ "job_id": id, "status": "queued" })).into_response()
        }
        Ok(refused @ Replay::NotFound) => error(StatusCode::NOT_FOUND, refused.describe(id)),
        Ok(refused @ Replay::NotDead(_)) => error(StatusCode::CONFLICT, refused.describe(id)),
        Err(e) => store_error(e),
    }
}

async fn replay_all_dead(State(state): State<Arc<Operator>>) -> Response {
    match state.store.replay_all_dead().await {
        Ok(replayed) => {
            if replayed > 0 {
                state.wake.jobs_queued(replayed as usize);
            }
            tracing::info!(replayed, "dead jobs replayed through the admin API");
            Json(json!({ "replayed": replayed })).into_response()
        }
        Err(e) => store_error(e),
    }
}

#[derive(Deserialize)]
struct DecisionsQuery {
    ticket_id: Option<i64>,
    limit: Option<i64>,
}

async fn decisions(
    State(state): State<Arc<Operator>>,
    Query(query): Query<DecisionsQuery>,
) -> Response {
    match state
        .store
        .find_decisions(&DecisionFilter {
            ticket_id: query.ticket_id,
            limit: limit(query.limit),
            ..DecisionFilter::default()
        })
        .await
    {
        Ok(decisions) => {
            let decisions: Vec<Value> = decisions.iter().map(decision_json).collect();
            Json(json!({ "decisions": decisions })).into_response()
        }
        Err(e) => store_error(e),
    }
}

/// A stored decision with its JSON columns as JSON, not strings.
fn decision_json(stored: &StoredDecision) -> Value {
    let parse = |text: &str| serde_json::from_str(text).unwrap_or(Value::Null);
    json!({
        "id": stored.id,
        "job_id": stored.job_id,
        "ticket_id": stored.ticket_id,
        "mode": stored.mode,
        "applied": stored.applied,
        "created_at": stored.created_at,
        "decision": parse(&stored.decision),
        "ticket_update": parse(&stored.ticket_update),
        "notes": parse(&stored.notes),
    })
}

#[derive(Deserialize)]
struct ReportQuery {
    since: Option<String>,
}

/// The agreement report, as `halo-triage report --json` prints it.
async fn agreement_report(
    State(state): State<Arc<Operator>>,
    Query(query): Query<ReportQuery>,
) -> Response {
    let since_ms = match query.since.as_deref().map(parse_since).transpose() {
        Ok(since) => since.unwrap_or(0),
        Err(message) => return error(StatusCode::BAD_REQUEST, format!("since: {message}")),
    };
    let models = state.models.current();
    match crate::report::build(&state.store, since_ms, query.since, &state.report, &models).await {
        Ok(report) => Json(report).into_response(),
        Err(e) => store_error(e),
    }
}
