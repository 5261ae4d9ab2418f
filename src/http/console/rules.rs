//! Rules: how often each rule matched over the last 7 and 30 days, the rules in force that
//! never did, and whether the last reload of the rules files was taken.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use maud::html;

use super::layout::{self, when};
use super::session::Session;
use super::store_error;
use crate::http::Operator;

pub async fn page(
    State(console): State<Arc<Operator>>,
    Extension(session): Extension<Session>,
) -> Response {
    let hits = match console.store.rule_hits().await {
        Ok(hits) => hits,
        Err(error) => return store_error(error),
    };
    let rules = console.rules.current();
    let status = console.rules.status();
    let matched: BTreeSet<&str> = hits.iter().map(|h| h.rule.as_str()).collect();
    let in_force: BTreeSet<&str> = rules.names().map(|(name, _)| name).collect();
    let body = html! {
        section aria-labelledby="reload" {
            h2 #reload { "Reload" }
            p {
                (status.rules) " rules in force from "
                (rules.files().iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", "))
                ", loaded " (when(status.loaded_at_ms)) "."
            }
            @match &status.error {
                Some(error) => p.error role="alert" { "The last reload was refused; the rules above stay in force: " (error) }
                None => p { "The last reload was taken." }
            }
        }
        section aria-labelledby="hits" {
            h2 #hits { "Matches" }
            @if hits.is_empty() {
                p { "No rule matched in the last 30 days." }
            } @else {
                table {
                    thead { tr { th { "Rule" } th { "Last 7 days" } th { "Last 30 days" } } }
                    tbody {
                        @for hit in &hits {
                            tr {
                                th scope="row" {
                                    (hit.rule)
                                    @if !in_force.contains(hit.rule.as_str()) { " (no longer in the rules)" }
                                }
                                td { (hit.last_7_days) }
                                td { (hit.last_30_days) }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="never" {
            h2 #never { "Never matched in 30 days" }
            @let idle: Vec<(&str, &str)> = rules.names().filter(|(name, _)| !matched.contains(name)).collect();
            @if idle.is_empty() {
                p { "Every rule in force matched at least once." }
            } @else {
                ul { @for (name, location) in &idle { li { (name) " " span.hint { "(" (location) ")" } } } }
            }
        }
    };
    layout::page(session.csrf(), "/ui/rules", "Rules", body)
}
