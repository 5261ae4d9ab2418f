//! The whole HTTP surface on one listener: the webhook (its handler is `ingest/`), health
//! and metrics, and the admin API when `admin.token` is set. Authentication helpers and
//! the JSON error shape are shared by all of them.

mod admin;
pub(crate) mod auth;
pub(crate) mod error;
mod health;

use std::sync::Arc;

use axum::Router;
use tokio::sync::Notify;

use crate::config::Settings;
use crate::store::Store;

pub use health::Health;

/// Every route the service serves.
pub fn router(settings: &Settings, store: Store, wake: Arc<Notify>, health: Health) -> Router {
    let mut router = crate::ingest::router(&settings.webhook, store.clone(), wake.clone())
        .merge(health::router(health));
    if let Some(token) = settings.admin.token.clone() {
        router = router.merge(admin::router(token, store, wake));
    }
    router
}
