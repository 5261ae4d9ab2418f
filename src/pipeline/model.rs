//! The model step, between the rules and the LLM: each learned model fills its field when
//! no rule set it, nothing locks it, the ticket has no value yet, its confidence reaches
//! the threshold and its label is one in use in Halo (or in the rules' `[labels]`).

use super::catalogue::catalogue;
use crate::config::ModelSettings;
use crate::halo::model::Ticket;
use crate::halo::{Field, Lookups};
use crate::triage::decision::{Decided, Source};
use crate::triage::model::ModelSet;
use crate::triage::{Decision, RuleSet};

/// The threshold for `field`: its own in `[model.thresholds]`, else `model.fill_threshold`.
fn threshold(settings: &ModelSettings, field: Field) -> f64 {
    settings
        .thresholds
        .iter()
        .find(|(name, _)| Field::learnable(name) == Some(field))
        .map_or(settings.fill_threshold, |(_, t)| *t)
}

/// Applies the models to `decision`; the notes say what each left open and why. Never
/// fails: without Halo's labels no model writes (the note says so).
pub async fn fill(
    models: &ModelSet,
    settings: &ModelSettings,
    lookups: Option<&Lookups>,
    rules: &RuleSet,
    ticket: &Ticket,
    decision: &mut Decision,
) -> Vec<String> {
    let catalogue = match catalogue(lookups, rules, ticket, &[]).await {
        Ok(catalogue) => catalogue,
        Err(error) => {
            tracing::warn!(%error, "models not used: Halo's lookups failed");
            return vec![format!(
                "models not used: the labels could not be read from Halo: {error}"
            )];
        }
    };
    let text = format!("{}\n\n{}", ticket.summary, ticket.plain_details());
    let mut notes = Vec::new();
    for (field, model) in &models.models {
        let set_by_rule = decision
            .fields
            .get(field)
            .is_some_and(|d| matches!(d.source, Source::Rule(_)));
        if set_by_rule || decision.locked.contains(field) || ticket.current(*field).is_some() {
            continue;
        }
        let prediction = model.predict(&text);
        let (label, confidence) = (&prediction.label, prediction.confidence);
        let needed = threshold(settings, *field);
        if confidence < needed {
            notes.push(format!(
                "model: {field} '{label}' at {confidence:.2}, under its threshold {needed:.2}: left open"
            ));
            continue;
        }
        let choice = catalogue
            .get(field)
            .and_then(|choices| choices.iter().find(|c| c.label.eq_ignore_ascii_case(label)));
        let Some(choice) = choice else {
            notes.push(format!(
                "model: {field} '{label}' is not a label in use in Halo: not written"
            ));
            continue;
        };
        decision.fields.insert(
            *field,
            Decided {
                value: choice.value.clone(),
                source: Source::Model(model.version()),
                reason: format!(
                    "the model chose '{label}' with confidence {confidence:.2} (weighed most: {})",
                    prediction.terms.join(", ")
                ),
                confidence: Some(confidence),
            },
        );
    }
    notes
}
