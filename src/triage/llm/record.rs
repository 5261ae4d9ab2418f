//! What the decision record keeps of an LLM call.

use serde::{Deserialize, Serialize};

use super::client::Reply;
use super::prompt::PROMPT_VERSION;
use crate::config::LlmSettings;

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

/// What the decision keeps of a call; `reply` is `None` for an answer from the cache.
pub fn record(settings: &LlmSettings, content: &str, reply: Option<&Reply>) -> LlmRecord {
    LlmRecord {
        model: settings.model.clone(),
        prompt_version: PROMPT_VERSION.into(),
        latency_ms: reply.map_or(0, |r| r.latency.as_millis() as u64),
        prompt_tokens: reply.map_or(0, |r| r.prompt_tokens),
        completion_tokens: reply.map_or(0, |r| r.completion_tokens),
        raw: content.chars().take(2000).collect(),
        cached: reply.is_none(),
        language: None,
        rationale: None,
        error: None,
    }
}
