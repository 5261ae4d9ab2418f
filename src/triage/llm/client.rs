//! The chat-completions client (async-openai, OpenAI-compatible or Azure): the one part
//! of triage that talks to a network. Bounded by `llm.max_concurrency`, `llm.timeout_secs`
//! and `llm.max_total_secs`. Retries are ours, not the library's (its built-in retry layer
//! is replaced by a plain transport): a refused `json_schema` is not retried but answered
//! by switching to JSON mode, and a rejected request is not retried at all.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_openai::config::{AzureConfig, Config, OpenAIConfig};
use async_openai::middleware::ReqwestService;
use async_openai::types::chat::{
    ChatCompletionRequestSystemMessageArgs, ChatCompletionRequestUserMessageArgs,
    CreateChatCompletionRequest, CreateChatCompletionRequestArgs, CreateChatCompletionResponse,
    ResponseFormat, ResponseFormatJsonSchema,
};
use async_openai::Client;
use secrecy::ExposeSecret;
use tokio::sync::Semaphore;

use super::answer::{parse, Answer, Malformed};
use super::failure::{self, Failure};
use super::offer::{text_choices, Offer, OfferedField};
use super::policy::apply;
use super::prompt::{self, PROMPT_VERSION};
use super::record::{record, Reply};
use crate::config::{LlmProvider, LlmSettings, StructuredOutput};
use crate::halo::model::Ticket;
use crate::halo::Field;
use crate::triage::decision::Decision;
use crate::triage::decision::LlmRecord;

/// Why no usable answer came back; triage goes on with the rules alone.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("the LLM did not answer after {attempts} attempts: {why}")]
    Unavailable { attempts: u32, why: String },
    #[error("the LLM server rejected the request: {0}")]
    Rejected(String),
    #[error("the LLM client could not be set up: {0}")]
    Setup(String),
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
    http: reqwest::Client,
    settings: LlmSettings,
    permits: Arc<Semaphore>,
    /// The server refused `json_schema` once: JSON mode from then on, for this process.
    schema_refused: AtomicBool,
}

/// What `check` learns from one tiny request.
pub struct Probe {
    /// Whether the server's model list has `llm.model`; `None` when it has no list
    /// (Azure, or a server without `GET /models`), with why.
    pub model_listed: Result<bool, String>,
    /// The tiny request's outcome: the answer was usable JSON of the right shape.
    pub answer: Result<(), LlmError>,
    /// The response format in use after the request (the fallback if it was refused).
    pub structured_output: StructuredOutput,
}

/// A client whose requests go out once each: no retry layer under ours.
fn client<C: Config>(http: &reqwest::Client, config: C) -> Client<C> {
    Client::build(http.clone(), config).with_http_service(ReqwestService::new(http.clone()))
}

impl Llm {
    pub fn new(settings: &LlmSettings) -> Result<Llm, LlmError> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .build()
            .map_err(|e| LlmError::Setup(e.to_string()))?;
        let key = settings
            .api_key
            .as_ref()
            .map(|k| k.expose_secret().to_string())
            .unwrap_or_default();
        let backend = match settings.provider {
            LlmProvider::OpenAi => Backend::OpenAi(client(
                &http,
                OpenAIConfig::new()
                    .with_api_base(&settings.base_url)
                    .with_api_key(key),
            )),
            LlmProvider::Azure => Backend::Azure(client(
                &http,
                AzureConfig::new()
                    .with_api_base(&settings.base_url)
                    .with_api_key(key)
                    .with_deployment_id(&settings.azure_deployment)
                    .with_api_version(&settings.azure_api_version),
            )),
        };
        Ok(Llm {
            backend,
            http,
            settings: settings.clone(),
            permits: Arc::new(Semaphore::new(settings.max_concurrency)),
            schema_refused: AtomicBool::new(false),
        })
    }

    pub fn settings(&self) -> &LlmSettings {
        &self.settings
    }

    /// The response format requests go out with: the configured one, or JSON mode once
    /// the server has refused `json_schema`.
    pub fn structured_output(&self) -> StructuredOutput {
        match self.schema_refused.load(Ordering::Relaxed) {
            true => StructuredOutput::JsonObject,
            false => self.settings.structured_output,
        }
    }

    /// Asks once (timeouts, 429 and 5xx retried `llm.max_retries` times), then once more if
    /// the answer is unusable. Every reply's tokens are added to `spent`, usable or not.
    pub async fn ask(
        &self,
        offer: &Offer,
        ticket: &str,
        spent: &mut u64,
    ) -> Result<(Answer, Reply), LlmError> {
        let mut malformed = None;
        for _ in 0..2 {
            let reply = self.send(offer, ticket).await?;
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

    /// One tiny request, for `check`: is the server there, does it know the model, does it
    /// take `json_schema` (if not, the fallback is in use from now on).
    pub async fn probe(&self) -> Probe {
        let offer = Offer {
            fields: vec![OfferedField {
                field: Field::Team,
                choices: text_choices(["Service Desk", "Network"]),
            }],
        };
        let ticket = prompt::ticket_message("The printer is jammed", "", "", 100);
        let mut spent = 0;
        let answer = self.ask(&offer, &ticket, &mut spent).await.map(|_| ());
        Probe {
            model_listed: self.model_listed().await,
            answer,
            structured_output: self.structured_output(),
        }
    }

    /// Whether `GET {base_url}/models` lists `llm.model` (OpenAI-compatible servers).
    async fn model_listed(&self) -> Result<bool, String> {
        if self.settings.provider == LlmProvider::Azure {
            return Err("Azure lists deployments, not models".into());
        }
        let url = format!("{}/models", self.settings.base_url.trim_end_matches('/'));
        let mut request = self.http.get(url);
        if let Some(key) = &self.settings.api_key {
            request = request.bearer_auth(key.expose_secret());
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("GET /models answered {}", response.status()));
        }
        let list: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
        let ids = list["data"]
            .as_array()
            .ok_or("no model list in the answer")?;
        Ok(ids
            .iter()
            .any(|m| m["id"].as_str() == Some(self.settings.model.as_str())))
    }

    /// The chat-completions request for one ticket (also used to measure prompt size).
    pub fn request(
        &self,
        offer: &Offer,
        ticket: &str,
    ) -> Result<CreateChatCompletionRequest, LlmError> {
        let with_schema = self.structured_output() == StructuredOutput::JsonSchema;
        self.request_in(offer, ticket, with_schema)
    }

    fn request_in(
        &self,
        offer: &Offer,
        ticket: &str,
        with_schema: bool,
    ) -> Result<CreateChatCompletionRequest, LlmError> {
        let build = |e: async_openai::error::OpenAIError| LlmError::Setup(e.to_string());
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

    /// Sends the request for `offer` once, and again after a transient failure (up to
    /// `llm.max_retries` times, with backoff); a refused `json_schema` switches this
    /// process to JSON mode and asks again at once.
    async fn send(&self, offer: &Offer, ticket: &str) -> Result<Reply, LlmError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let attempts = self.settings.max_retries + 1;
        let mut attempt = 0;
        loop {
            let with_schema = self.structured_output() == StructuredOutput::JsonSchema;
            attempt += 1;
            let error = match self.create(offer, ticket, with_schema).await? {
                Ok(reply) => return Ok(reply),
                Err(error) => error,
            };
            match failure::classify(&error, with_schema) {
                Failure::SchemaRefused(why) => {
                    self.fall_back(&why);
                    // Not an attempt: the same ticket goes out again, in JSON mode.
                    attempt -= 1;
                }
                Failure::MaybeSchemaRefused(why) => {
                    // JSON mode is kept only if it is what makes the request work.
                    return match self.create(offer, ticket, false).await? {
                        Ok(reply) => {
                            self.fall_back(&why);
                            Ok(reply)
                        }
                        Err(_) => Err(LlmError::Rejected(why)),
                    };
                }
                Failure::Permanent(why) => return Err(LlmError::Rejected(why)),
                Failure::Transient(why) if attempt >= attempts => {
                    return Err(LlmError::Unavailable { attempts, why });
                }
                Failure::Transient(why) => {
                    tracing::warn!(attempt, %why, "the LLM request failed; trying again");
                    tokio::time::sleep(backoff(attempt)).await;
                }
            }
        }
    }

    /// One request, as is: the reply, or the error to classify (`Err` only when the
    /// request cannot even be built).
    async fn create(
        &self,
        offer: &Offer,
        ticket: &str,
        with_schema: bool,
    ) -> Result<Result<Reply, async_openai::error::OpenAIError>, LlmError> {
        let request = self.request_in(offer, ticket, with_schema)?;
        let started = Instant::now();
        let result = match &self.backend {
            Backend::OpenAi(client) => client.chat().create(request).await,
            Backend::Azure(client) => client.chat().create(request).await,
        };
        Ok(result.map(|response| {
            crate::telemetry::metrics::llm_latency(started.elapsed().as_secs_f64());
            reply(response, started.elapsed())
        }))
    }

    /// JSON mode from now on, for this process; said once in the log.
    fn fall_back(&self, why: &str) {
        if !self.schema_refused.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                %why,
                "the LLM server does not take json_schema: JSON mode, with the labels and \
                 the answer's shape in the prompt, from now on"
            );
        }
    }
}

/// The wait before attempt `attempt + 1`: 0.5 s, 1 s, 2 s … up to 8 s (within
/// `llm.max_total_secs` in all, which bounds every ticket's wait).
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500 * 2u64.pow(attempt.saturating_sub(1).min(4)))
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
