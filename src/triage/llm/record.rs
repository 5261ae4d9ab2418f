//! One exchange with the LLM, and what the decision record keeps of it.

use std::time::Duration;

use super::prompt::PROMPT_VERSION;
use crate::config::LlmSettings;
use crate::triage::decision::LlmRecord;

/// One completed exchange.
pub struct Reply {
    pub content: String,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub latency: Duration,
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
