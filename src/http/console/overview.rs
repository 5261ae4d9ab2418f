//! The overview: is the service keeping up, and is anything it depends on in trouble.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use maud::html;

use super::layout::{self, when};
use super::session::Session;
use super::store_error;
use crate::charts;
use crate::config::Mode;
use crate::http::Operator;

pub async fn page(
    State(console): State<Arc<Operator>>,
    Extension(session): Extension<Session>,
) -> Response {
    let store = &console.store;
    let queue = match store.queue_stats().await {
        Ok(queue) => queue,
        Err(error) => return store_error(error),
    };
    let hours = match store.job_activity().await {
        Ok(hours) => hours,
        Err(error) => return store_error(error),
    };
    let llm = match store.llm_usage_today().await {
        Ok(usage) => usage,
        Err(error) => return store_error(error),
    };
    let count = |status: &str| {
        queue
            .jobs_by_status
            .iter()
            .find(|(s, _)| s == status)
            .map_or(0, |(_, n)| *n)
    };
    let slots: Vec<Vec<i64>> = hours
        .iter()
        .map(|h| vec![h.done, h.retried, h.dead])
        .collect();
    let totals = hours.iter().fold((0, 0, 0), |(d, r, x), h| {
        (d + h.done, r + h.retried, x + h.dead)
    });
    let outage = console.outage.status();
    let rules = console.rules.status();
    let version: String = console
        .rules
        .current()
        .digest()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    let models = console.models.status();
    let body = html! {
        p.mode { "Mode: " strong { (console.mode.as_str()) }
            @if console.mode == Mode::Shadow { " — decisions are recorded, nothing is written to Halo." } }
        div.overview {
        section aria-labelledby="queue" {
            h2 #queue { "Queue" }
            dl.figures {
                dt { "Queued" } dd { (count("queued")) }
                dt { "Running" } dd { (count("running")) }
                dt { "Dead letters" } dd { a href="/ui/dead-letters" { (count("dead")) } }
                dt { "Oldest queued job" } dd { (format!("{:.0} s", queue.oldest_queued_age_secs)) }
            }
        }
        section aria-labelledby="day" {
            h2 #day { "The last 24 hours" }
            p { (totals.0) " done, " (totals.1) " retried (more than one attempt), " (totals.2) " dead." }
            (charts::stacked_columns(
                &[("done", "hsl(140,45%,40%)"), ("retried", "hsl(40,85%,50%)"), ("dead", "hsl(0,65%,50%)")],
                &slots,
                "jobs per hour over the last 24 hours",
            ))
        }
        section aria-labelledby="halo" {
            h2 #halo { "Halo" }
            dl.figures {
                dt { "State" }
                dd {
                    @if outage.degraded {
                        strong.bad { "degraded" }
                        @if let Some(reason) = &outage.reason { " — " (reason) }
                        " (tries again in " (outage.resumes_in_secs) " s)"
                    } @else { "answering" }
                }
                dt { "Rate budget left" }
                dd {
                    @match console.halo.as_ref().map(|h| h.budget()) {
                        Some((left, budget)) => { (left) " of " (budget) " requests in the last 5 minutes" }
                        None => { "no Halo credentials (shadow mode without Halo)" }
                    }
                }
            }
        }
        section aria-labelledby="llm" {
            h2 #llm { "LLM today (UTC)" }
            @if console.llm_enabled {
                dl.figures {
                    dt { "Calls" } dd { (llm.calls) }
                    dt { "Tokens" }
                    dd {
                        (llm.tokens)
                        @if console.llm_daily_tokens > 0 {
                            " of " (console.llm_daily_tokens) " ("
                            (format!("{:.0}%", 100.0 * llm.tokens as f64 / console.llm_daily_tokens as f64)) ")"
                        } @else { " (no daily budget)" }
                    }
                }
            } @else {
                p { "The LLM stage is off (" code { "llm.enabled" } ")." }
            }
        }
        section aria-labelledby="rules" {
            h2 #rules { "Rules and models" }
            dl.figures {
                dt { "Rules in force" } dd { (rules.rules) " rules, version " code { (version) } ", loaded " (when(rules.loaded_at_ms)) }
                dt { "Last reload" }
                dd {
                    @match &rules.error {
                        Some(error) => { strong.bad { "refused: " } (error) }
                        None => { "ok" }
                    }
                }
                dt { "Models" }
                dd {
                    @if models.loaded.is_empty() { "none (" a href="/ui/model" { "how to train one" } ")" }
                    @for model in &models.loaded {
                        span.tag { (model.field) ", trained " (model.trained_at) } " "
                    }
                    @for error in &models.errors { br; strong.bad { "refused: " } (error) }
                }
            }
        }
        }
    };
    layout::page(session.csrf(), "/ui", "Overview", body)
}
