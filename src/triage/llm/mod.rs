//! The LLM stage: one constrained call per ticket for the fields the rules left open.
//! Never blocks or fails triage: every failure ends in a rules-only decision with a note.
//! The pieces are pure (offer, prompt, answer, policy, redact, record) except `client`.

mod answer;
mod client;
mod failure;
mod offer;
mod policy;
mod prompt;
pub(crate) mod record;
pub(crate) mod redact;

pub use answer::parse;
pub use client::{Llm, LlmError};
pub use offer::{id_choices, text_choices, Catalogue, Offer, OfferedField};
pub use policy::apply;
pub use record::record;

use crate::config::LlmSettings;

/// The cache key of a request: what decides the answer (model, prompt version, the labels
/// on offer) and the ticket's text *before* redaction, so two tickets that differ only in
/// what redaction hides never share an answer. Only this hash is stored, never the text.
pub fn cache_key(settings: &LlmSettings, offer: &Offer, unredacted: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(settings.model.as_bytes());
    hasher.update(settings.azure_deployment.as_bytes());
    hasher.update(
        format!(
            "{:?}{:?}",
            settings.structured_output, settings.descriptions
        )
        .as_bytes(),
    );
    hasher.update(prompt::PROMPT_VERSION.as_bytes());
    hasher.update(prompt::answer_schema(offer).to_string().as_bytes());
    for part in unredacted {
        hasher.update(part.len().to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Text beyond the cut that is still redacted, so a secret straddling the cut is seen
/// whole (the rest is never sent, and not worth redacting).
const REDACTION_MARGIN_CHARS: usize = 1024;

/// The ticket message sent to the model: redacted, delimited, cut to size.
pub fn ticket_message(
    settings: &LlmSettings,
    summary: &str,
    client: &str,
    details: &str,
) -> String {
    let redact = |text: &str| {
        let head = match text
            .char_indices()
            .nth(settings.max_input_chars + REDACTION_MARGIN_CHARS)
        {
            Some((cut, _)) => &text[..cut],
            None => text,
        };
        redact::redact(head, &settings.redact)
    };
    prompt::ticket_message(
        &redact(summary),
        &redact(client),
        &redact(details),
        settings.max_input_chars,
    )
}
