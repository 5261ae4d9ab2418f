//! The settings sections, one struct per TOML table. Durations are `Duration` from here on:
//! the key names (and so the units operators write) are those of `config/default.toml`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use super::de;
use super::Database;
use crate::telemetry::LogFormat;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Live,
    Shadow,
}

impl Mode {
    /// The name in the configuration and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Live => "live",
            Mode::Shadow => "shadow",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ReconcileSettings {
    /// Time between passes; zero turns the reconciler off.
    #[serde(rename = "interval_secs", deserialize_with = "de::secs")]
    pub interval: Duration,
    /// How far before the watermark each pass looks again.
    #[serde(rename = "overlap_secs", deserialize_with = "de::secs")]
    pub overlap: Duration,
    pub page_size: u32,
    pub max_pages: u32,
    pub open_only: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ReportSettings {
    /// How long after its decision a ticket is read back (earlier when it is closed).
    #[serde(rename = "settle_secs", deserialize_with = "de::secs")]
    pub settle: Duration,
    /// Time between read-back passes; zero turns the read-back off.
    #[serde(rename = "interval_secs", deserialize_with = "de::secs")]
    pub interval: Duration,
    /// Halo requests one pass may make.
    pub max_requests_per_pass: u32,
    pub page_size: u32,
    pub ready_agreement: f64,
    pub ready_min: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AdminSettings {
    /// Bearer token for `/admin/*`; the routes do not exist without it.
    #[serde(deserialize_with = "de::non_empty_secret")]
    pub token: Option<SecretString>,
    /// Where the admin API and the metrics are served; unset: the main listener.
    #[serde(deserialize_with = "de::non_empty")]
    pub listen: Option<String>,
    /// `/metrics` needs the admin token too.
    pub protect_metrics: bool,
    /// How long a sign-in to the console (`/ui`) lasts.
    #[serde(rename = "session_hours", deserialize_with = "de::hours")]
    pub session: Duration,
    /// A ticket's page in Halo, after `halo.base_url`; `{id}` is the ticket's number.
    pub ticket_link: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LlmProvider {
    /// OpenAI and OpenAI-compatible servers (Ollama, vLLM, LM Studio).
    OpenAi,
    Azure,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StructuredOutput {
    /// `response_format: json_schema` (strict), listing only the labels on offer.
    JsonSchema,
    /// `response_format: json_object`, checked by the service.
    JsonObject,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LlmSettings {
    pub enabled: bool,
    pub provider: LlmProvider,
    pub base_url: String,
    #[serde(deserialize_with = "de::non_empty_secret")]
    pub api_key: Option<SecretString>,
    pub model: String,
    pub azure_deployment: String,
    pub azure_api_version: String,
    pub structured_output: StructuredOutput,
    #[serde(rename = "timeout_secs", deserialize_with = "de::secs")]
    pub timeout: Duration,
    pub max_retries: u32,
    #[serde(rename = "max_total_secs", deserialize_with = "de::secs")]
    pub max_total: Duration,
    pub max_concurrency: usize,
    pub max_input_chars: usize,
    pub daily_token_budget: u64,
    #[serde(rename = "cache_window_secs", deserialize_with = "de::secs")]
    pub cache_window: Duration,
    pub fill_threshold: f64,
    pub overwrite_threshold: f64,
    pub impact_urgency_levels: Vec<i64>,
    pub review_in_note: bool,
    #[serde(default)]
    pub thresholds: BTreeMap<String, Threshold>,
    #[serde(default)]
    pub descriptions: BTreeMap<String, String>,
    pub redact: RedactSettings,
}

/// Per-field confidence thresholds (missing ones use `llm.fill_threshold` /
/// `llm.overwrite_threshold`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Threshold {
    pub fill: Option<f64>,
    pub overwrite: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RedactSettings {
    pub emails: bool,
    pub phones: bool,
    pub cards: bool,
    pub ips: bool,
    pub secrets: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub listen: String,
    /// For a request's headers, and for a kept-alive connection's next request.
    #[serde(rename = "header_read_timeout_secs", deserialize_with = "de::secs")]
    pub header_read_timeout: Duration,
    #[serde(rename = "request_body_timeout_secs", deserialize_with = "de::secs")]
    pub request_body_timeout: Duration,
    pub max_connections: usize,
    /// Failed authentications from one address per minute before it gets 429.
    pub auth_failures_per_minute: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WebhookSettings {
    pub path: String,
    #[serde(deserialize_with = "de::non_empty")]
    pub username: Option<String>,
    #[serde(deserialize_with = "de::non_empty_secret")]
    pub password: Option<SecretString>,
    #[serde(deserialize_with = "de::non_empty_secret")]
    pub token: Option<SecretString>,
    pub token_header: String,
    pub allow_unauthenticated: bool,
    pub max_body_bytes: usize,
    pub max_batch: usize,
    #[serde(deserialize_with = "de::list_or_comma_separated")]
    pub events: Vec<String>,
    /// Deliveries caused by these agents (our own API agent) create no work.
    #[serde(deserialize_with = "de::ids_or_comma_separated")]
    pub ignore_agent_ids: Vec<i64>,
}

/// Before `Settings::load` resolves `store.database` from the keys that name it.
fn unresolved() -> Database {
    Database::Sqlite(PathBuf::new())
}

#[derive(Debug, Clone, Deserialize)]
pub struct StoreSettings {
    pub path: PathBuf,
    /// `sqlite://FILE` or `postgres://…`; when set, `path` is not used.
    #[serde(deserialize_with = "de::non_empty_secret")]
    pub url: Option<SecretString>,
    #[serde(deserialize_with = "de::non_empty_secret")]
    pub password: Option<SecretString>,
    #[serde(deserialize_with = "de::non_empty_path")]
    pub password_file: Option<PathBuf>,
    /// Connections to Postgres per process.
    pub max_connections: u32,
    /// The database the keys above name, resolved once at load.
    #[serde(skip_deserializing, default = "unresolved")]
    pub database: Database,
    /// Done jobs, their decisions and deliveries older than this are pruned; zero keeps all.
    #[serde(rename = "retention_days", deserialize_with = "de::days")]
    pub retention: Duration,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WorkerSettings {
    pub concurrency: usize,
    pub max_attempts: u32,
    #[serde(rename = "lease_secs", deserialize_with = "de::secs")]
    pub lease: Duration,
    /// How often a running job's lease is renewed.
    #[serde(rename = "lease_renew_secs", deserialize_with = "de::secs")]
    pub lease_renew: Duration,
    #[serde(rename = "poll_interval_ms", deserialize_with = "de::millis")]
    pub poll_interval: Duration,
    #[serde(rename = "retry_base_secs", deserialize_with = "de::secs")]
    pub retry_base: Duration,
    #[serde(rename = "retry_max_secs", deserialize_with = "de::secs")]
    pub retry_max: Duration,
    #[serde(rename = "shutdown_grace_secs", deserialize_with = "de::secs")]
    pub shutdown_grace: Duration,
    pub outage_after_failures: u32,
    #[serde(rename = "outage_pause_secs", deserialize_with = "de::secs")]
    pub outage_pause: Duration,
    #[serde(rename = "outage_max_pause_secs", deserialize_with = "de::secs")]
    pub outage_max_pause: Duration,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HaloSettings {
    #[serde(deserialize_with = "de::non_empty")]
    pub base_url: Option<String>,
    #[serde(deserialize_with = "de::non_empty")]
    pub auth_url: Option<String>,
    #[serde(deserialize_with = "de::non_empty")]
    pub tenant: Option<String>,
    #[serde(deserialize_with = "de::non_empty")]
    pub client_id: Option<String>,
    #[serde(deserialize_with = "de::non_empty_secret")]
    pub client_secret: Option<SecretString>,
    pub scope: String,
    /// Accept `http://` Halo URLs (a test instance on a private network, a stand-in).
    pub allow_insecure_http: bool,
    pub requests_per_5min: u32,
    #[serde(rename = "timeout_secs", deserialize_with = "de::secs")]
    pub timeout: Duration,
    pub max_retries: u32,
    #[serde(rename = "retry_base_ms", deserialize_with = "de::millis")]
    pub retry_base: Duration,
    #[serde(rename = "max_retry_wait_secs", deserialize_with = "de::secs")]
    pub max_retry_wait: Duration,
    #[serde(rename = "lookup_ttl_secs", deserialize_with = "de::secs")]
    pub lookup_ttl: Duration,
    /// Ticket updates, actions or ticket reads in one request; 1 sends each alone.
    pub batch_max: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ActSettings {
    pub overwrite_team: bool,
    pub overwrite_agent: bool,
    #[serde(deserialize_with = "de::list_or_comma_separated")]
    pub unrouted_teams: Vec<String>,
    pub note_outcome_id: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AckSettings {
    pub enabled: bool,
    pub outcome_id: i64,
    pub subject: String,
    pub body: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RulesSettings {
    pub path: PathBuf,
    /// Folder of per-client overlay files (`*.toml`); ignored when it does not exist.
    pub overlay_dir: PathBuf,
    /// How often the rules files are checked for changes; zero turns watching off (SIGHUP
    /// still reloads).
    #[serde(rename = "watch_interval_secs", deserialize_with = "de::secs")]
    pub watch_interval: Duration,
}

/// What `halo-triage learn` reads from Halo when no export is given.
#[derive(Debug, Clone, Deserialize)]
pub struct LearnSettings {
    /// The fields to train a model for (a TOML list, or comma-separated in the environment).
    #[serde(deserialize_with = "de::list_or_comma_separated")]
    pub fields: Vec<String>,
    /// Tickets closed within this many months (30 days each).
    pub months: u32,
    /// At most this many tickets.
    pub max_tickets: u32,
}

/// The learned models (`halo-triage learn`), between the rules and the LLM.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelSettings {
    /// Folder of `*.model` files, one per field; a missing folder means no models.
    pub dir: PathBuf,
    /// Confidence a model needs to fill an empty field.
    pub fill_threshold: f64,
    /// Per field (`team`, `category_1`, `priority_id`, `tickettype_id`): its own threshold.
    #[serde(default)]
    pub thresholds: std::collections::BTreeMap<String, f64>,
    /// How often the folder is checked for new or changed models; zero: loaded at start only.
    #[serde(rename = "watch_interval_secs", deserialize_with = "de::secs")]
    pub watch_interval: Duration,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub format: LogFormat,
}
