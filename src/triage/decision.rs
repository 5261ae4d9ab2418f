//! The outcome of triage: every field decided, with where it came from and why, plus the
//! trace of the rules that matched.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::sentiment::Sentiment;
use crate::halo::{Field, FieldValue};

/// Who decided a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "lowercase")]
pub enum Source {
    /// The named routing rule.
    Rule(String),
    /// The rules file's `[defaults]`, for a field no rule set.
    Default,
    /// A learned model (its field and training date), above `model.fill_threshold`.
    Model(String),
    /// The LLM, above the confidence threshold.
    Llm,
}

impl Source {
    /// The kind of source, for metrics: rule, default or llm.
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Rule(_) => "rule",
            Source::Default => "default",
            Source::Model(_) => "model",
            Source::Llm => "llm",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Source::Rule(name) => format!("rule '{name}'"),
            Source::Default => "the defaults".into(),
            Source::Model(version) => format!("the {version}"),
            Source::Llm => "the LLM".into(),
        }
    }
}

/// One decided value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decided<T = FieldValue> {
    pub value: T,
    pub source: Source,
    pub reason: String,
    /// The model's or the LLM's confidence (0 to 1); none for rules and defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
}

/// What the LLM stage may still do after the rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LlmMode {
    /// Decide the fields the rules left open (the default).
    #[default]
    Fill,
    /// Suggest, for the record only; nothing the LLM says is written.
    Hint,
    /// No LLM call for this ticket.
    Skip,
}

/// What one matched rule did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleTrace {
    pub rule: String,
    pub reason: String,
    /// Fields this rule set.
    pub set: Vec<Field>,
    /// Fields this rule took over from an earlier rule (`override = true`): (field, earlier rule).
    pub overrode: Vec<(Field, String)>,
    /// Fields an earlier rule had set already: (field, the rule that keeps it).
    pub lost: Vec<(Field, String)>,
    /// What it did besides fields: custom fields, the acknowledgement choice, the LLM mode.
    pub effects: Vec<String>,
    /// True when this rule ended evaluation (`stop = true`).
    pub stopped: bool,
}

/// Every field triage decided; a field not in `fields` is left as it is on the ticket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub fields: BTreeMap<Field, Decided>,
    /// Custom fields by name.
    pub custom: BTreeMap<String, Decided>,
    /// The acknowledgement template a rule chose (`"none"`: no acknowledgement).
    pub ack_template: Option<Decided<String>>,
    /// Private note lines from the rules, for the agents.
    pub notes: Vec<String>,
    pub llm: LlmMode,
    /// Fields no later stage may change.
    pub locked: BTreeSet<Field>,
    /// The customer's mood.
    pub sentiment: Option<Sentiment>,
    /// Fields the LLM suggested below its confidence threshold: left for a person.
    #[serde(default)]
    pub needs_review: Vec<Field>,
    /// The LLM call behind this decision, if one was made.
    #[serde(default)]
    pub llm_call: Option<LlmRecord>,
    /// Rules whose conditions matched, in evaluation order.
    pub matched_rules: Vec<String>,
    pub trace: Vec<RuleTrace>,
}

impl LlmMode {
    pub fn as_str(self) -> &'static str {
        match self {
            LlmMode::Fill => "fill",
            LlmMode::Hint => "hint",
            LlmMode::Skip => "skip",
        }
    }
}

/// What the decision record keeps of the call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LlmRecord {
    pub model: String,
    pub prompt_version: String,
    pub latency_ms: u64,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    /// The answer as received, cut to 2,000 characters.
    pub raw: String,
    /// The answer was reused from an identical ticket text (no call, no tokens).
    pub cached: bool,
    pub language: Option<String>,
    pub rationale: Option<String>,
    /// Why no usable answer came back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
