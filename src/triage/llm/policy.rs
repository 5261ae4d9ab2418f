//! What of the LLM's answer is written: only labels on offer, only above the confidence
//! threshold, never a locked field, and a value already on the ticket only above the
//! (much higher) overwrite threshold. Everything else is a "needs review" note.

use super::answer::Answer;
use crate::config::LlmSettings;
use crate::halo::model::Ticket;
use crate::halo::Field;
use crate::triage::decision::{Decided, Decision, LlmMode, LlmRecord, Source};

fn thresholds(settings: &LlmSettings, field: Field) -> (f64, f64) {
    let specific = settings.thresholds.get(field.name());
    (
        specific
            .and_then(|t| t.fill)
            .unwrap_or(settings.fill_threshold),
        specific
            .and_then(|t| t.overwrite)
            .unwrap_or(settings.overwrite_threshold),
    )
}

/// Applies the answer; returns the notes for the decision record.
pub fn apply(
    decision: &mut Decision,
    ticket: &Ticket,
    answer: &Answer,
    record: LlmRecord,
    settings: &LlmSettings,
) -> Vec<String> {
    let mut notes = answer.rejected.clone();
    let rationale = answer.rationale.clone().unwrap_or_default();
    for suggestion in &answer.suggestions {
        let field = suggestion.field;
        let label = &suggestion.choice.label;
        let confidence = suggestion.confidence;
        if decision.locked.contains(&field) {
            continue;
        }
        if decision.llm == LlmMode::Hint {
            notes.push(format!("LLM hint: {field} '{label}' ({confidence:.2})"));
            continue;
        }
        let (fill, overwrite) = thresholds(settings, field);
        let on_ticket = ticket.current(field);
        let (needed, verb) = match &on_ticket {
            Some(current) if current.same_as(&suggestion.choice.value) => continue,
            Some(_) => (overwrite, "replace the value on the ticket"),
            None => (fill, "fill the field"),
        };
        if confidence >= needed {
            decision.fields.insert(
                field,
                Decided {
                    value: suggestion.choice.value.clone(),
                    source: Source::Llm,
                    reason: format!(
                        "the LLM chose '{label}' with confidence {confidence:.2}: {rationale}"
                    ),
                    confidence: Some(confidence),
                },
            );
        } else {
            decision.needs_review.push(field);
            let note = format!(
                "needs review: the LLM suggested {field} '{label}' with confidence {confidence:.2}, \
                 below the {needed:.2} needed to {verb}"
            );
            if settings.review_in_note {
                decision.notes.push(note.clone());
            }
            notes.push(note);
        }
    }
    if let Some(sentiment) = &answer.sentiment {
        decision.sentiment = Some(sentiment.clone());
    }
    decision.llm_call = Some(LlmRecord {
        language: answer.language.clone(),
        rationale: answer.rationale.clone(),
        ..record
    });
    notes
}
