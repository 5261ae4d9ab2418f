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

use axum::http::{header, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::Operator;
use crate::store::StoreError;

/// Every console route; all but the sign-in page and the style sheet need a session.
pub fn router(console: Arc<Operator>) -> Router {
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
