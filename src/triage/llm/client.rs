//! The chat-completions client (async-openai, OpenAI-compatible or Azure): the one part
//! of triage that talks to a network. Bounded by `llm.max_concurrency`, `llm.timeout_secs`
//! and `llm.max_total_secs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_openai::config::{AzureConfig, OpenAIConfig};
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestSystemMessageArgs, ChatCompletionRequestUserMessageArgs,
    CreateChatCompletionRequest, CreateChatCompletionRequestArgs, CreateChatCompletionResponse,
    ResponseFormat, ResponseFormatJsonSchema,
};
use async_openai::Client;
use secrecy::ExposeSecret;
use tokio::sync::Semaphore;

use super::answer::{parse, Answer, Malformed};
use super::offer::Offer;
use super::policy::apply;
use super::prompt::{self, PROMPT_VERSION};
use super::record::{record, Reply};
use crate::config::{LlmProvider, LlmSettings, StructuredOutput};
use crate::halo::model::Ticket;
use crate::triage::decision::Decision;
use crate::triage::decision::LlmRecord;

/// Why no usable answer came back; triage goes on with the rules alone.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("the LLM did not answer in time ({attempts} attempts)")]
    Timeout { attempts: u32 },
    #[error("the LLM request failed: {0}")]
    Request(String),
    #[error("the LLM answered twice with unusable output: {0}")]
    Malformed(String),
    #[error("the LLM took longer than llm.max_total_secs ({secs} s)")]
    TooLong { secs: u64 },
}

/// What asking the LLM about one ticket came to.
pub struct Consultation {
    /// Notes for the decision record.
    pub notes: Vec<String>,
    /// Tokens spent, usable answers or not (for the daily budget).
    pub tokens: u64,
    /// The usable answer as received, to cache.
    pub answer: Option<String>,
}

enum Backend {
    OpenAi(Client<OpenAIConfig>),
    Azure(Client<AzureConfig>),
}

/// The configured chat-completions endpoint, shared by all workers.
pub struct Llm {
    backend: Backend,
    settings: LlmSettings,
    permits: Arc<Semaphore>,
}

impl Llm {
    pub fn new(settings: &LlmSettings) -> Result<Llm, LlmError> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .build()
            .map_err(|e| LlmError::Request(e.to_string()))?;
        let key = settings
            .api_key
            .as_ref()
            .map(|k| k.expose_secret().to_string())
            .unwrap_or_default();
        let backend = match settings.provider {
            LlmProvider::OpenAi => Backend::OpenAi(Client::build(
                http,
                OpenAIConfig::new()
                    .with_api_base(&settings.base_url)
                    .with_api_key(key),
            )),
            LlmProvider::Azure => Backend::Azure(Client::build(
                http,
                AzureConfig::new()
                    .with_api_base(&settings.base_url)
                    .with_api_key(key)
                    .with_deployment_id(&settings.azure_deployment)
                    .with_api_version(&settings.azure_api_version),
            )),
        };
        Ok(Llm {
            backend,
            settings: settings.clone(),
            permits: Arc::new(Semaphore::new(settings.max_concurrency)),
        })
    }

    pub fn settings(&self) -> &LlmSettings {
        &self.settings
    }

    /// Asks once (timeouts retried `llm.max_retries` times; 429 and 5xx are retried by the
    /// client), then once more if the answer is unusable. Every reply's tokens are added
    /// to `spent`, usable or not.
    pub async fn ask(
        &self,
        offer: &Offer,
        ticket: &str,
        spent: &mut u64,
    ) -> Result<(Answer, Reply), LlmError> {
        let request = self.request(offer, ticket)?;
        let mut malformed = None;
        for _ in 0..2 {
            let reply = self.send(&request).await?;
            *spent += u64::from(reply.prompt_tokens + reply.completion_tokens);
            match parse(&reply.content, offer) {
                Ok(answer) => return Ok((answer, reply)),
                Err(Malformed(why)) => {
                    tracing::warn!(%why, "the LLM's answer is unusable; asking once more");
                    malformed = Some(why);
                }
            }
        }
        Err(LlmError::Malformed(malformed.unwrap_or_default()))
    }

    /// Asks about `offer` and applies the answer to `decision`, within `llm.max_total_secs`
    /// whatever the retries. Never fails: without a usable answer the rules' decision
    /// stands, with a note saying why, and the attempt is recorded.
    pub async fn consult(
        &self,
        decision: &mut Decision,
        ticket: &Ticket,
        offer: &Offer,
        message: &str,
    ) -> Consultation {
        let mut tokens = 0;
        let limit = self.settings.max_total;
        let started = Instant::now();
        let outcome = tokio::time::timeout(limit, self.ask(offer, message, &mut tokens))
            .await
            .unwrap_or(Err(LlmError::TooLong {
                secs: limit.as_secs(),
            }));
        match outcome {
            Ok((answer, reply)) => {
                let record = record(&self.settings, &reply.content, Some(&reply));
                Consultation {
                    notes: apply(decision, ticket, &answer, record, &self.settings),
                    tokens,
                    answer: Some(reply.content),
                }
            }
            Err(error) => {
                tracing::warn!(%error, "LLM unavailable: rules only");
                decision.llm_call = Some(LlmRecord {
                    model: self.settings.model.clone(),
                    prompt_version: PROMPT_VERSION.into(),
                    latency_ms: started.elapsed().as_millis() as u64,
                    error: Some(error.to_string()),
                    ..LlmRecord::default()
                });
                Consultation {
                    notes: vec![format!("LLM unavailable, rules only: {error}")],
                    tokens,
                    answer: None,
                }
            }
        }
    }

    /// The chat-completions request for one ticket (also used to measure prompt size).
    pub fn request(
        &self,
        offer: &Offer,
        ticket: &str,
    ) -> Result<CreateChatCompletionRequest, LlmError> {
        let with_schema = self.settings.structured_output == StructuredOutput::JsonSchema;
        let build = |e: OpenAIError| LlmError::Request(e.to_string());
        let system = ChatCompletionRequestSystemMessageArgs::default()
            .content(prompt::instructions(
                offer,
                &self.settings.descriptions,
                with_schema,
            ))
            .build()
            .map_err(build)?;
        let user = ChatCompletionRequestUserMessageArgs::default()
            .content(ticket)
            .build()
            .map_err(build)?;
        let format = if with_schema {
            ResponseFormat::JsonSchema {
                json_schema: ResponseFormatJsonSchema {
                    name: "ticket_triage".into(),
                    description: None,
                    schema: prompt::answer_schema(offer),
                    strict: Some(true),
                },
            }
        } else {
            ResponseFormat::JsonObject
        };
        CreateChatCompletionRequestArgs::default()
            .model(&self.settings.model)
            .messages(vec![system.into(), user.into()])
            .response_format(format)
            .temperature(0.0)
            .build()
            .map_err(build)
    }

    async fn send(&self, request: &CreateChatCompletionRequest) -> Result<Reply, LlmError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let attempts = self.settings.max_retries + 1;
        for attempt in 1..=attempts {
            let started = Instant::now();
            let result = match &self.backend {
                Backend::OpenAi(client) => client.chat().create(request.clone()).await,
                Backend::Azure(client) => client.chat().create(request.clone()).await,
            };
            match result {
                Ok(response) => {
                    crate::telemetry::metrics::llm_latency(started.elapsed().as_secs_f64());
                    return Ok(reply(response, started.elapsed()));
                }
                Err(OpenAIError::Reqwest(e)) if e.is_timeout() => {
                    tracing::warn!(attempt, "the LLM timed out");
                    if attempt < attempts {
                        tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                    }
                }
                Err(e) => return Err(LlmError::Request(e.to_string())),
            }
        }
        Err(LlmError::Timeout { attempts })
    }
}

fn reply(response: CreateChatCompletionResponse, latency: Duration) -> Reply {
    let content = response
        .choices
        .into_iter()
        .next()
        .and_then(|c| c.message.content)
        .unwrap_or_default();
    let usage = response.usage.unwrap_or_default();
    Reply {
        content,
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        latency,
    }
}
