//! The HTTP surface besides the webhook (whose handler is `ingest/`, merged in by `app`):
//! health and metrics, and the admin API and the console (`console/`) when `admin.token`
//! is set. The authentication
//! helpers and the JSON error shape here serve the webhook too.

mod admin;
pub(crate) mod auth;
mod console;
pub(crate) mod error;
mod health;
mod operator;
mod serve;
pub(crate) mod throttle;

use std::sync::Arc;

use axum::Router;

use crate::config::Settings;
use crate::halo::HaloClient;
use crate::report::LatestReport;
use crate::store::Store;
use crate::wake::Wake;

pub use health::Health;
pub(crate) use operator::Operator;
pub use serve::{raise_open_file_limit, serve};
pub use throttle::Throttle;

/// The routes besides the webhook: health and readiness (for the main listener), and the
/// operator's routes, metrics and (with `admin.token`) the admin API (for `admin.listen`,
/// or the main listener when it is not set). With `admin.protect_metrics` the metrics need
/// the admin token too.
pub fn routers(
    settings: &Settings,
    store: Store,
    wake: Wake,
    health: Health,
    throttle: Arc<Throttle>,
    halo: Option<HaloClient>,
    latest_report: Arc<LatestReport>,
) -> (Router, Router) {
    let metrics = health::metrics_router(store.clone());
    let (open, guarded) = match settings.admin.protect_metrics {
        true => (Router::new(), metrics),
        false => (metrics, Router::new()),
    };
    let operator = match settings.admin.token.clone() {
        Some(token) => {
            let state = Arc::new(Operator {
                store,
                token,
                throttle,
                wake,
                session: settings.admin.session,
                mode: settings.effective_mode(),
                ticket_link: settings.halo.base_url.as_ref().map(|base| {
                    format!(
                        "{}{}",
                        base.trim_end_matches('/'),
                        settings.admin.ticket_link
                    )
                }),
                halo,
                rules: health.rules.clone(),
                models: health.models.clone(),
                outage: health.outage.clone(),
                report: settings.report.clone(),
                latest_report,
                llm_enabled: settings.llm.enabled,
                llm_daily_tokens: settings.llm.daily_token_budget,
            });
            open.merge(admin::router(state.clone(), guarded))
                .merge(console::router(state))
        }
        None => open,
    };
    (health::router(health), operator)
}
