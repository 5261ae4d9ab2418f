//! The LLM step, for the worker and for `classify` alike: ask about the fields the rules
//! left open, with the labels on offer. The worker passes the store, for the answer cache
//! and the daily token budget; `classify` passes none and makes a one-off call.

use super::catalogue::catalogue;
use crate::halo::model::Ticket;
use crate::halo::Lookups;
use crate::store::{Store, StoreError};
use crate::telemetry::metrics;
use crate::triage::llm::{self, Llm, Offer};
use crate::triage::{Decision, LlmMode, RuleSet};

/// Asks the LLM about the open fields and applies its answer. Never fails because of the
/// LLM or Halo's lookups: any trouble leaves the rules' decision and says why in a note.
/// Only the store (`cache`) can fail it.
pub async fn consult(
    llm: &Llm,
    lookups: Option<&Lookups>,
    rules: &RuleSet,
    ticket: &Ticket,
    decision: &mut Decision,
    cache: Option<&Store>,
) -> Result<Vec<String>, StoreError> {
    if decision.llm == LlmMode::Skip {
        return Ok(vec!["LLM not asked: a rule said llm = \"skip\"".into()]);
    }
    let settings = llm.settings();
    let levels = &settings.impact_urgency_levels;
    let catalogue = match catalogue(lookups, rules, ticket, levels).await {
        Ok(catalogue) => catalogue,
        Err(error) => {
            tracing::warn!(%error, "LLM not asked: Halo's lookups failed");
            return Ok(vec![format!(
                "LLM not asked: the labels could not be read from Halo: {error}"
            )]);
        }
    };
    let offer = Offer::open_fields(decision, &catalogue);
    if offer.is_empty() {
        return Ok(Vec::new());
    }
    let details = ticket.plain_details();
    let message = llm::ticket_message(settings, &ticket.summary, &ticket.client_name, details);
    let Some(store) = cache else {
        return Ok(llm.consult(decision, ticket, &offer, &message).await.notes);
    };
    let key = llm::cache_key(
        settings,
        &offer,
        &[&ticket.summary, &ticket.client_name, details],
    );
    let window_ms = settings.cache_window.as_millis() as i64;
    if let Some(content) = store.cached_llm_answer(&key, window_ms).await? {
        if let Ok(answer) = llm::parse(&content, &offer) {
            metrics::llm_call("cached");
            let record = llm::record(settings, &content, None);
            return Ok(llm::apply(decision, ticket, &answer, record, settings));
        }
    }
    let budget = settings.daily_token_budget;
    let reserved = if budget > 0 { estimate(&message) } else { 0 };
    if budget > 0 && !store.reserve_llm_call(reserved, budget).await? {
        tracing::warn!(budget, "LLM daily token budget used up: rules only");
        metrics::llm_call("budget_exhausted");
        return Ok(vec![format!(
            "LLM not asked: the daily budget of {budget} tokens is used up (rules only)"
        )]);
    }
    let consultation = llm.consult(decision, ticket, &offer, &message).await;
    metrics::llm_call(if consultation.answer.is_some() {
        "ok"
    } else {
        "error"
    });
    metrics::llm_tokens(consultation.tokens);
    store.count_llm_call(consultation.tokens, reserved).await?;
    if let Some(content) = &consultation.answer {
        store.cache_llm_answer(&key, content, window_ms).await?;
    }
    Ok(consultation.notes)
}

/// What a call is held to cost until its answer says: the ticket's text at about four
/// characters a token, plus the instructions, the labels on offer and the answer.
fn estimate(message: &str) -> u64 {
    message.len() as u64 / 4 + 1_000
}
