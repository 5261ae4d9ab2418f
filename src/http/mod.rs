//! The HTTP surface besides the webhook (whose handler is `ingest/`, merged in by `app`):
//! health and metrics, and the admin API when `admin.token` is set. The authentication
//! helpers and the JSON error shape here serve the webhook too.

mod admin;
pub(crate) mod auth;
pub(crate) mod error;
mod health;
mod serve;
pub(crate) mod throttle;

use std::sync::Arc;

use axum::Router;
use tokio::sync::Notify;

use crate::config::Settings;
use crate::store::Store;

pub use health::Health;
pub use serve::{raise_open_file_limit, serve};
pub use throttle::Throttle;

/// Health, metrics and (with `admin.token`) the admin API.
pub fn router(
    settings: &Settings,
    store: Store,
    wake: Arc<Notify>,
    health: Health,
    throttle: Arc<Throttle>,
) -> Router {
    let router = health::router(health);
    match settings.admin.token.clone() {
        Some(token) => router.merge(admin::router(token, store, wake, throttle)),
        None => router,
    }
}
