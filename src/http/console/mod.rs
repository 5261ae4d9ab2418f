//! The operator's console in the browser (`/ui`): server-rendered pages over the store
//! and the handles the service runs with, behind a sign-in with the admin token. Plain
//! HTML forms and inline SVG: it works offline, without JavaScript and from the keyboard.
//! Served with the admin API, and only when `admin.token` is set.

mod agreement;
mod dead_letters;
mod decisions;
mod layout;
mod model;
mod overview;
mod rules;
mod session;

use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use secrecy::SecretString;
use tokio::sync::Notify;

use crate::config::{Mode, ReportSettings};
use crate::halo::HaloClient;
use crate::http::throttle::Throttle;
use crate::report::LatestReport;
use crate::store::{Store, StoreError};
use crate::tasks::model_watch::ModelsHandle;
use crate::tasks::rules_watch::RulesHandle;
use crate::worker::Outage;

/// What the pages read and act on.
pub struct Console {
    pub store: Store,
    pub token: SecretString,
    /// Shared with the admin API and the webhook: failed sign-ins count with their 401s.
    pub throttle: Arc<Throttle>,
    /// Wakes idle workers when a replay queues work.
    pub wake: Arc<Notify>,
    pub session: Duration,
    pub mode: Mode,
    /// `None` without Halo credentials (no budget to show, no ticket links).
    pub halo: Option<HaloClient>,
    /// `halo.base_url` joined with `admin.ticket_link`, `{id}` still in it.
    pub ticket_link: Option<String>,
    pub rules: Arc<RulesHandle>,
    pub models: Arc<ModelsHandle>,
    pub outage: Outage,
    pub report: ReportSettings,
    pub latest_report: Arc<LatestReport>,
    pub llm_enabled: bool,
    pub llm_daily_tokens: u64,
}

/// Every console route; all but the sign-in page and the style sheet need a session.
pub fn router(console: Console) -> Router {
    let console = Arc::new(console);
    let signed_in = Router::new()
        .route("/ui", get(overview::page))
        .route("/ui/decisions", get(decisions::list))
        .route("/ui/decisions/{id}", get(decisions::one))
        .route("/ui/dead-letters", get(dead_letters::page))
        .route(
            "/ui/dead-letters/{id}/replay",
            post(dead_letters::replay_one),
        )
        .route(
            "/ui/dead-letters/replay-all",
            post(dead_letters::replay_all),
        )
        .route("/ui/agreement", get(agreement::page))
        .route("/ui/rules", get(rules::page))
        .route("/ui/model", get(model::page))
        .route("/ui/sign-out", post(session::sign_out))
        .route_layer(middleware::from_fn_with_state(
            console.clone(),
            session::require,
        ));
    Router::new()
        .route(
            "/ui/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/ui/console.css", get(style_sheet))
        .merge(signed_in)
        .with_state(console)
        .layer(middleware::map_response(layout::security_headers))
}

async fn style_sheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("console.css"),
    )
        .into_response()
}

/// A page that could not be made because the store failed.
fn store_error(error: StoreError) -> Response {
    tracing::error!(%error, "console page failed");
    layout::bare(
        StatusCode::SERVICE_UNAVAILABLE,
        "The store is not answering",
        &error.to_string(),
    )
}
