//! What the LLM may choose: for each field the rules left open, the labels that exist (in
//! Halo, or in the rules file's `[labels]`), and nothing else.

use std::collections::BTreeMap;

use crate::halo::{Field, FieldValue};
use crate::triage::decision::{Decision, Source};

/// One label on offer: the text the model sees, and the value written when it is chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub label: String,
    pub value: FieldValue,
}

/// The labels of one field.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferedField {
    pub field: Field,
    pub choices: Vec<Choice>,
}

/// Every field the LLM is asked about, in a stable order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Offer {
    pub fields: Vec<OfferedField>,
}

/// The labels that exist, per field (from Halo's lookups or the rules' `[labels]`).
pub type Catalogue = BTreeMap<Field, Vec<Choice>>;

impl Offer {
    /// The fields no rule or model decided (a default is only a fallback) and none locked,
    /// that have labels to choose from.
    pub fn open_fields(decision: &Decision, catalogue: &Catalogue) -> Offer {
        let fields = catalogue
            .iter()
            .filter(|(field, choices)| {
                let set_by_rule = decision
                    .fields
                    .get(field)
                    .is_some_and(|d| matches!(d.source, Source::Rule(_) | Source::Model(_)));
                !set_by_rule && !decision.locked.contains(field) && !choices.is_empty()
            })
            .map(|(field, choices)| OfferedField {
                field: *field,
                choices: choices.clone(),
            })
            .collect();
        Offer { fields }
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The value for `label` if it is on offer for `field` (labels compare case-insensitively).
    pub fn find(&self, field: Field, label: &str) -> Option<&Choice> {
        self.fields
            .iter()
            .find(|f| f.field == field)?
            .choices
            .iter()
            .find(|c| c.label.eq_ignore_ascii_case(label.trim()))
    }
}

/// Text labels written as themselves (teams, categories).
pub fn text_choices<'a>(labels: impl IntoIterator<Item = &'a str>) -> Vec<Choice> {
    let mut choices: Vec<Choice> = Vec::new();
    for label in labels {
        let label = label.trim();
        if !label.is_empty() && !choices.iter().any(|c| c.label.eq_ignore_ascii_case(label)) {
            choices.push(Choice {
                label: label.to_string(),
                value: FieldValue::Text(label.to_string()),
            });
        }
    }
    choices
}

/// Id labels: the model sees "name" (or the id when there is no name) and the id is written.
pub fn id_choices(items: impl IntoIterator<Item = (i64, String)>) -> Vec<Choice> {
    let mut choices: Vec<Choice> = Vec::new();
    for (id, name) in items {
        let label = if name.trim().is_empty() {
            id.to_string()
        } else {
            name.trim().to_string()
        };
        if !choices.iter().any(|c| c.label.eq_ignore_ascii_case(&label)) {
            choices.push(Choice {
                label,
                value: FieldValue::Id(id),
            });
        }
    }
    choices
}
