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

/// The routes besides the webhook: health and readiness (for the main listener), and the
/// operator's routes, metrics and (with `admin.token`) the admin API (for `admin.listen`,
/// or the main listener when it is not set). With `admin.protect_metrics` the metrics need
/// the admin token too.
pub fn routers(
    settings: &Settings,
    store: Store,
    wake: Arc<Notify>,
    health: Health,
    throttle: Arc<Throttle>,
) -> (Router, Router) {
    let metrics = health::metrics_router(store.clone());
    let (open, guarded) = match settings.admin.protect_metrics {
        true => (Router::new(), metrics),
        false => (metrics, Router::new()),
    };
    let operator = match settings.admin.token.clone() {
        Some(token) => {
            let state = admin::AdminState {
                store,
                token,
                wake,
                throttle,
                report: settings.report.clone(),
                models: health.models.clone(),
            };
            open.merge(admin::router(state, guarded))
        }
        None => open,
    };
    (health::router(health), operator)
}
