//! Decisions: the most recent first, searched by ticket, client or team; and one decision
//! with everything that went into it: each field's value, source, confidence and reason,
//! the rules that matched and lost, the model's and the LLM's answers, what was (or would
//! be) written to Halo, and the acknowledgement.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

use super::layout::{self, when};
use super::session::Session;
use super::store_error;
use crate::http::Operator;
use crate::store::{AckStatus, DecisionFilter, StoredDecision};
use crate::triage::decision::{Decided, Source};
use crate::triage::Decision;

const PAGE: i64 = 50;

#[derive(Deserialize, Default)]
pub struct Search {
    #[serde(default)]
    ticket: String,
    #[serde(default)]
    client: String,
    #[serde(default)]
    team: String,
    before: Option<i64>,
}

/// "value (source)" for each decided field, for the list.
fn summary(decision: &Decision) -> String {
    decision
        .fields
        .iter()
        .map(|(field, decided)| format!("{}: {}", field.name(), decided.value))
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse(stored: &StoredDecision) -> Decision {
    serde_json::from_str(&stored.decision).unwrap_or_default()
}

pub async fn list(
    State(console): State<Arc<Operator>>,
    Extension(session): Extension<Session>,
    Query(search): Query<Search>,
) -> Response {
    let ticket = search.ticket.trim();
    let ticket_id = match ticket {
        "" => None,
        text => match text.trim_start_matches('#').parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => {
                let body = html! {
                    (search_form(&search))
                    p.error role="alert" { "'" (text) "' is not a ticket number." }
                };
                let mut page = layout::page(session.csrf(), "/ui/decisions", "Decisions", body);
                *page.status_mut() = StatusCode::BAD_REQUEST;
                return page;
            }
        },
    };
    let filter = DecisionFilter {
        ticket_id,
        client: Some(search.client.clone()),
        team: Some(search.team.clone()),
        before_id: search.before,
        limit: PAGE,
    };
    let decisions = match console.store.find_decisions(&filter).await {
        Ok(found) => found,
        Err(error) => return store_error(error),
    };
    let next = (decisions.len() as i64 == PAGE)
        .then(|| decisions.last().map(|d| d.id))
        .flatten();
    let body = html! {
        (search_form(&search))
        @if decisions.is_empty() {
            p { "No decision matches." }
        } @else {
            table {
                thead { tr { th { "Decided" } th { "Ticket" } th { "Client" } th { "Team" } th { "Mode" } th { "Fields decided" } } }
                tbody {
                    @for stored in &decisions {
                        tr {
                            td { a href={ "/ui/decisions/" (stored.id) } { (when(stored.created_at)) } }
                            td { "#" (stored.ticket_id) }
                            td { (stored.client.as_deref().unwrap_or("")) }
                            td { (stored.team.as_deref().unwrap_or("")) }
                            td { (stored.mode) @if stored.applied { " (written)" } }
                            td { (summary(&parse(stored))) }
                        }
                    }
                }
            }
        }
        @if let Some(before) = next {
            p {
                a href={ "/ui/decisions?ticket=" (urlencode(&search.ticket)) "&client=" (urlencode(&search.client)) "&team=" (urlencode(&search.team)) "&before=" (before) } { "Older decisions →" }
            }
        }
    };
    layout::page(session.csrf(), "/ui/decisions", "Decisions", body)
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn search_form(search: &Search) -> Markup {
    html! {
        form.search method="get" action="/ui/decisions" role="search" {
            label { "Ticket " input type="search" name="ticket" inputmode="numeric" value=(search.ticket); }
            label { "Client " input type="search" name="client" value=(search.client); }
            label { "Team " input type="search" name="team" value=(search.team); }
            button type="submit" { "Search" }
        }
        p.hint { "Client and team match from the start of the name, in any case." }
    }
}

fn source(decided: &Decided) -> String {
    match &decided.source {
        Source::Rule(name) => format!("rule {name}"),
        other => other.describe(),
    }
}

fn pretty(json: &str) -> String {
    serde_json::from_str::<Value>(json)
        .and_then(|value| serde_json::to_string_pretty(&value))
        .unwrap_or_else(|_| json.to_string())
}

pub async fn one(
    State(console): State<Arc<Operator>>,
    Extension(session): Extension<Session>,
    Path(id): Path<i64>,
) -> Response {
    let stored = match console.store.decision(id).await {
        Ok(Some(stored)) => stored,
        Ok(None) => {
            let body = html! { p { "There is no decision " (id) " (it may have been pruned)." } };
            let mut page = layout::page(session.csrf(), "/ui/decisions", "No such decision", body);
            *page.status_mut() = StatusCode::NOT_FOUND;
            return page;
        }
        Err(error) => return store_error(error),
    };
    let ack = match console.store.ack_status(stored.ticket_id).await {
        Ok(ack) => ack,
        Err(error) => return store_error(error),
    };
    let decision = parse(&stored);
    let notes: Vec<String> = serde_json::from_str(&stored.notes).unwrap_or_default();
    let link = console
        .ticket_link
        .as_ref()
        .map(|link| link.replace("{id}", &stored.ticket_id.to_string()));
    let title = format!("Ticket #{}", stored.ticket_id);
    let body = html! {
        dl.figures {
            dt { "Decided" } dd { (when(stored.created_at)) " in " (stored.mode) " mode" }
            dt { "Client" } dd { (stored.client.as_deref().unwrap_or("")) }
            dt { "Team" } dd { (stored.team.as_deref().unwrap_or("")) }
            dt { "In Halo" }
            dd {
                @match &link {
                    Some(link) => { a href=(link) rel="noreferrer" { "open ticket #" (stored.ticket_id) " in Halo" } }
                    None => { "no Halo address configured (halo.base_url)" }
                }
            }
        }
        section aria-labelledby="fields" {
            h2 #fields { "Fields" }
            @if decision.fields.is_empty() && decision.custom.is_empty() {
                p { "No field was decided." }
            } @else {
                table {
                    thead { tr { th { "Field" } th { "Value" } th { "Source" } th { "Confidence" } th { "Reason" } } }
                    tbody {
                        @for (field, decided) in &decision.fields {
                            (field_row(field.name(), decided))
                        }
                        @for (name, decided) in &decision.custom {
                            (field_row(name, decided))
                        }
                    }
                }
            }
            @if !decision.needs_review.is_empty() {
                p { "Left for a person (the LLM was not confident enough): "
                    (decision.needs_review.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ")) }
            }
            @if let Some(sentiment) = &decision.sentiment {
                p { "Sentiment: " (serde_json::to_value(sentiment.mood).ok().and_then(|m| m.as_str().map(String::from)).unwrap_or_default())
                    " (score " (format!("{:+.2}", sentiment.score)) ", " (sentiment.source) ")" }
            }
        }
        section aria-labelledby="rules" {
            h2 #rules { "Rules" }
            @if decision.trace.is_empty() {
                p { "No rule matched." }
            } @else {
                table {
                    thead { tr { th { "Rule (in order)" } th { "Why it matched" } th { "Set" } th { "Lost" } th { "Also" } } }
                    tbody {
                        @for trace in &decision.trace {
                            tr {
                                td { (trace.rule) @if trace.stopped { " (stopped here)" } }
                                td { (trace.reason) }
                                td { (trace.set.iter().map(|f| f.name()).collect::<Vec<_>>().join(", "))
                                     @for (field, earlier) in &trace.overrode { br; "took " (field.name()) " over from " (earlier) } }
                                td { @for (field, winner) in &trace.lost { (field.name()) " to " (winner) br; } }
                                td { (trace.effects.join("; ")) }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="model-llm" {
            h2 #model-llm { "Model and LLM" }
            @if notes.is_empty() { p { "No notes." } }
            ul { @for note in &notes { li { (note) } } }
            @if let Some(call) = &decision.llm_call {
                dl.figures {
                    dt { "LLM" } dd { (call.model) ", prompt " (call.prompt_version) @if call.cached { " (answer reused: no call)" } }
                    dt { "Cost" } dd { (call.prompt_tokens) " + " (call.completion_tokens) " tokens, " (call.latency_ms) " ms" }
                    @if let Some(rationale) = &call.rationale { dt { "Its reasoning" } dd { (rationale) } }
                    @if let Some(error) = &call.error { dt { "Failure" } dd.bad { (error) } }
                }
                details { summary { "The LLM's answer as received" } pre { (call.raw) } }
            }
        }
        section aria-labelledby="written" {
            h2 #written { "Written to Halo" }
            p {
                @if stored.applied { "This update was written to the ticket." }
                @else if stored.mode == "shadow" { "Shadow mode: this update would have been written; nothing was." }
                @else { "Not written (yet): see the notes above and the dead letters." }
            }
            pre { (pretty(&stored.ticket_update)) }
            p { "Acknowledgement: "
                @match ack {
                    Some(AckStatus::Sent) => { "sent" }
                    Some(AckStatus::Sending) => { "being sent (or sent without the answer recorded)" }
                    None => { "none sent" }
                }
            }
        }
    };
    layout::page(session.csrf(), "/ui/decisions", &title, body)
}

fn field_row(name: &str, decided: &Decided) -> Markup {
    html! {
        tr {
            th scope="row" { (name) }
            td { (decided.value) }
            td { (source(decided)) }
            td { @if let Some(c) = decided.confidence { (format!("{c:.2}")) } }
            td { (decided.reason) }
        }
    }
}
