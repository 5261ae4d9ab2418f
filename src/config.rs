//! Typed settings: compiled-in defaults, then an optional file, then `HALO_TRIAGE__*` env.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};
use url::Url;

const DEFAULTS: &str = include_str!("../config/default.toml");
const ENV_PREFIX: &str = "HALO_TRIAGE";

/// A configuration that could not be loaded or is not valid; names the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot load configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("config key `{key}`: {message}")]
    Invalid { key: &'static str, message: String },
}

fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        message: message.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Live,
    Shadow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub mode: Mode,
    pub server: ServerSettings,
    pub webhook: WebhookSettings,
    pub store: StoreSettings,
    pub worker: WorkerSettings,
    pub halo: HaloSettings,
    pub act: ActSettings,
    pub ack: AckSettings,
    pub rules: RulesSettings,
    pub log: LogSettings,
    pub llm: LlmSettings,
    pub admin: AdminSettings,
    pub reconcile: ReconcileSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ReconcileSettings {
    /// Seconds between passes; 0 turns the reconciler off.
    pub interval_secs: u64,
    /// How far before the watermark each pass looks again.
    pub overlap_secs: u64,
    pub page_size: u32,
    pub max_pages: u32,
    pub open_only: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AdminSettings {
    /// Bearer token for `/admin/*`; the routes do not exist without it.
    #[serde(deserialize_with = "non_empty_secret")]
    pub token: Option<SecretString>,
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
    #[serde(deserialize_with = "non_empty_secret")]
    pub api_key: Option<SecretString>,
    pub model: String,
    pub azure_deployment: String,
    pub azure_api_version: String,
    pub structured_output: StructuredOutput,
    pub timeout_secs: u64,
    pub max_retries: u32,
    pub max_total_secs: u64,
    pub max_concurrency: usize,
    pub max_input_chars: usize,
    pub daily_token_budget: u64,
    pub cache_window_secs: u64,
    pub fill_threshold: f64,
    pub overwrite_threshold: f64,
    pub impact_urgency_levels: Vec<i64>,
    pub review_in_note: bool,
    #[serde(default)]
    pub thresholds: std::collections::BTreeMap<String, Threshold>,
    #[serde(default)]
    pub descriptions: std::collections::BTreeMap<String, String>,
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
}

#[derive(Debug, Clone, Deserialize)]
pub struct WebhookSettings {
    pub path: String,
    #[serde(deserialize_with = "non_empty")]
    pub username: Option<String>,
    #[serde(deserialize_with = "non_empty_secret")]
    pub password: Option<SecretString>,
    #[serde(deserialize_with = "non_empty_secret")]
    pub token: Option<SecretString>,
    pub token_header: String,
    pub allow_unauthenticated: bool,
    pub max_body_bytes: usize,
    #[serde(deserialize_with = "list_or_comma_separated")]
    pub events: Vec<String>,
    /// Deliveries caused by these agents (our own API agent) create no work.
    #[serde(deserialize_with = "ids_or_comma_separated")]
    pub ignore_agent_ids: Vec<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StoreSettings {
    pub path: PathBuf,
    /// Done jobs, their decisions and deliveries older than this are pruned; 0 keeps all.
    pub retention_days: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WorkerSettings {
    pub concurrency: usize,
    pub max_attempts: u32,
    pub lease_secs: u64,
    pub poll_interval_ms: u64,
    pub retry_base_secs: u64,
    pub retry_max_secs: u64,
    pub shutdown_grace_secs: u64,
    pub outage_after_failures: u32,
    pub outage_pause_secs: u64,
    pub outage_max_pause_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HaloSettings {
    #[serde(deserialize_with = "non_empty")]
    pub base_url: Option<String>,
    #[serde(deserialize_with = "non_empty")]
    pub auth_url: Option<String>,
    #[serde(deserialize_with = "non_empty")]
    pub tenant: Option<String>,
    #[serde(deserialize_with = "non_empty")]
    pub client_id: Option<String>,
    #[serde(deserialize_with = "non_empty_secret")]
    pub client_secret: Option<SecretString>,
    pub scope: String,
    pub requests_per_5min: u32,
    pub timeout_secs: u64,
    pub max_retries: u32,
    pub retry_base_ms: u64,
    pub max_retry_wait_secs: u64,
    pub lookup_ttl_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ActSettings {
    pub overwrite_team: bool,
    pub overwrite_agent: bool,
    #[serde(deserialize_with = "list_or_comma_separated")]
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
    /// How often the rules files are checked for changes; 0 turns watching off (SIGHUP
    /// still reloads).
    pub watch_interval_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub format: LogFormat,
}

/// Everything needed to talk to one Halo instance; present only when credentials are set.
#[derive(Debug, Clone)]
pub struct HaloCredentials {
    pub base_url: Url,
    pub auth_url: Option<Url>,
    pub tenant: Option<String>,
    pub client_id: String,
    pub client_secret: SecretString,
}

impl Settings {
    /// Loads defaults, then `file` (when given), then the environment, and validates.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        Self::load_with_env(file, std::env::vars())
    }

    /// As [`Settings::load`], with the environment given explicitly (tests use this).
    pub fn load_with_env(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        if let Some(path) = file {
            builder = builder.add_source(config::File::from(path).required(true));
        }
        let env: config::Map<String, String> = env
            .into_iter()
            .filter(|(key, _)| key.starts_with(ENV_PREFIX))
            .collect();
        builder = builder.add_source(
            config::Environment::with_prefix(ENV_PREFIX)
                .prefix_separator("__")
                .separator("__")
                .source(Some(env)),
        );
        let settings: Settings = builder.build()?.try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks what types alone cannot: addresses, URLs, consistent auth, usable templates.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        let webhook = &self.webhook;
        if !webhook.path.starts_with('/') {
            return Err(invalid("webhook.path", "must start with '/'"));
        }
        if webhook.username.is_some() != webhook.password.is_some() {
            return Err(invalid(
                "webhook.password",
                "webhook.username and webhook.password must be set together",
            ));
        }
        if axum::http::HeaderName::try_from(webhook.token_header.as_str()).is_err() {
            return Err(invalid(
                "webhook.token_header",
                "is not a valid header name",
            ));
        }
        if webhook.max_body_bytes == 0 {
            return Err(invalid("webhook.max_body_bytes", "must be greater than 0"));
        }
        if webhook.events.iter().all(|event| event.trim().is_empty()) {
            return Err(invalid("webhook.events", "must name at least one event"));
        }
        let reconcile = &self.reconcile;
        if !(1..=100).contains(&reconcile.page_size) {
            return Err(invalid(
                "reconcile.page_size",
                "must be between 1 and 100 (Halo's maximum)",
            ));
        }
        if reconcile.max_pages == 0 {
            return Err(invalid("reconcile.max_pages", "must be at least 1"));
        }
        if reconcile.overlap_secs > 30 * 86_400 {
            return Err(invalid(
                "reconcile.overlap_secs",
                "must be at most 2592000 (30 days)",
            ));
        }
        if self.store.retention_days > 36_500 {
            return Err(invalid(
                "store.retention_days",
                "must be at most 36500 (0 keeps everything)",
            ));
        }
        let worker = &self.worker;
        if worker.outage_after_failures == 0 {
            return Err(invalid(
                "worker.outage_after_failures",
                "must be at least 1",
            ));
        }
        if !(1..=86_400).contains(&worker.outage_pause_secs) {
            return Err(invalid(
                "worker.outage_pause_secs",
                "must be between 1 and 86400",
            ));
        }
        if !(worker.outage_pause_secs..=86_400).contains(&worker.outage_max_pause_secs) {
            return Err(invalid(
                "worker.outage_max_pause_secs",
                "must be between worker.outage_pause_secs and 86400",
            ));
        }
        if worker.shutdown_grace_secs > 3_600 {
            return Err(invalid(
                "worker.shutdown_grace_secs",
                "must be at most 3600",
            ));
        }
        if self.worker.max_attempts == 0 {
            return Err(invalid("worker.max_attempts", "must be at least 1"));
        }
        let halo = &self.halo;
        // A write to Halo, with its retries, must end well inside the lease renewed just
        // before it, or another worker could take the job over and write a second time.
        let longest_request = u64::from(halo.max_retries + 1) * halo.timeout_secs
            + u64::from(halo.max_retries) * halo.max_retry_wait_secs;
        if self.worker.lease_secs < 2 * longest_request {
            return Err(invalid(
                "worker.lease_secs",
                format!(
                    "must be at least {} (twice the longest Halo request: (halo.max_retries + 1) \
                     × halo.timeout_secs + halo.max_retries × halo.max_retry_wait_secs)",
                    2 * longest_request
                ),
            ));
        }
        if self.worker.poll_interval_ms == 0 {
            return Err(invalid("worker.poll_interval_ms", "must be at least 1"));
        }
        if self.halo.requests_per_5min == 0 {
            return Err(invalid("halo.requests_per_5min", "must be at least 1"));
        }
        if self.halo.timeout_secs == 0 {
            return Err(invalid("halo.timeout_secs", "must be at least 1"));
        }
        self.halo_credentials()?;
        if self.ack.enabled && self.effective_mode() == Mode::Live && self.ack.outcome_id <= 0 {
            return Err(invalid(
                "ack.outcome_id",
                "must be the id of a Halo outcome (e.g. \"Email User\") while ack.enabled = true \
                 in live mode; run `halo-triage check` to list your outcomes",
            ));
        }
        crate::ack::AckTemplates::from_settings(&self.ack)?;
        self.validate_llm()?;
        Ok(())
    }

    fn validate_llm(&self) -> Result<(), ConfigError> {
        let llm = &self.llm;
        if !llm.enabled {
            return Ok(());
        }
        parse_url("llm.base_url", &llm.base_url)?;
        if llm.model.trim().is_empty() && llm.provider == LlmProvider::OpenAi {
            return Err(invalid("llm.model", "names the model to use"));
        }
        if llm.provider == LlmProvider::Azure && llm.azure_deployment.trim().is_empty() {
            return Err(invalid(
                "llm.azure_deployment",
                "is needed with provider = \"azure\"",
            ));
        }
        if llm.timeout_secs == 0 || llm.max_concurrency == 0 || llm.max_input_chars == 0 {
            return Err(invalid(
                "llm.timeout_secs",
                "llm.timeout_secs, llm.max_concurrency and llm.max_input_chars must be above 0",
            ));
        }
        if !(0.0..=1.0).contains(&llm.fill_threshold) {
            return Err(invalid(
                "llm.fill_threshold",
                "is a confidence between 0 and 1",
            ));
        }
        for field in llm.thresholds.keys() {
            if !crate::triage::Field::ALL.iter().any(|f| f.name() == field) {
                return Err(invalid(
                    "llm.thresholds",
                    format!("'{field}' is not a field"),
                ));
            }
        }
        Ok(())
    }

    /// Serving needs webhook authentication, or the operator's explicit opt-out.
    /// (`classify` and `check` do not serve, so they load without it.)
    pub fn validate_webhook_auth(&self) -> Result<(), ConfigError> {
        let webhook = &self.webhook;
        if webhook.username.is_none() && webhook.token.is_none() && !webhook.allow_unauthenticated {
            return Err(invalid(
                "webhook.allow_unauthenticated",
                "no webhook authentication is configured: set webhook.username and \
                 webhook.password (Basic auth) or webhook.token, or set \
                 webhook.allow_unauthenticated = true to accept unauthenticated deliveries",
            ));
        }
        Ok(())
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.server
            .listen
            .parse()
            .map_err(|e| invalid("server.listen", format!("'{}': {e}", self.server.listen)))
    }

    /// Halo connection details when base URL, client id and secret are all set.
    pub fn halo_credentials(&self) -> Result<Option<HaloCredentials>, ConfigError> {
        let halo = &self.halo;
        let (Some(base_url), Some(client_id), Some(client_secret)) =
            (&halo.base_url, &halo.client_id, &halo.client_secret)
        else {
            if halo.client_id.is_some() != halo.client_secret.is_some() {
                return Err(invalid(
                    "halo.client_secret",
                    "halo.client_id and halo.client_secret must be set together",
                ));
            }
            return Ok(None);
        };
        let base_url = parse_url("halo.base_url", base_url)?;
        let auth_url = halo
            .auth_url
            .as_deref()
            .map(|url| parse_url("halo.auth_url", url))
            .transpose()?;
        if client_secret.expose_secret().trim().is_empty() {
            return Err(invalid("halo.client_secret", "is blank"));
        }
        Ok(Some(HaloCredentials {
            base_url,
            auth_url,
            tenant: halo.tenant.clone(),
            client_id: client_id.clone(),
            client_secret: client_secret.clone(),
        }))
    }

    /// Live only when asked for and possible: without credentials nothing can be written.
    pub fn effective_mode(&self) -> Mode {
        let has_credentials = matches!(self.halo_credentials(), Ok(Some(_)));
        if self.mode == Mode::Live && has_credentials {
            Mode::Live
        } else {
            Mode::Shadow
        }
    }
}

fn parse_url(key: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value).map_err(|e| invalid(key, format!("'{value}': {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(key, format!("'{value}': must be an http(s) URL")));
    }
    Ok(url)
}

/// A list in TOML, or one comma-separated string from the environment. (Values from the
/// environment are deliberately not type-guessed: a password "000123" must stay text.)
fn list_or_comma_separated<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrText {
        List(Vec<String>),
        Text(String),
    }
    Ok(match ListOrText::deserialize(deserializer)? {
        ListOrText::List(items) => items,
        ListOrText::Text(text) => text.split(',').map(|s| s.trim().to_string()).collect(),
    })
}

/// A list of ids, or (from the environment) "7, 12".
fn ids_or_comma_separated<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum IdsOrText {
        Ids(Vec<i64>),
        Text(String),
    }
    match IdsOrText::deserialize(deserializer)? {
        IdsOrText::Ids(ids) => Ok(ids),
        IdsOrText::Text(text) => text
            .split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(|id| {
                id.parse()
                    .map_err(|_| serde::de::Error::custom(format!("'{id}' is not a numeric id")))
            })
            .collect(),
    }
}

fn non_empty<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let value = Option::<String>::deserialize(deserializer)?;
    Ok(value.filter(|v| !v.trim().is_empty()))
}

fn non_empty_secret<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<SecretString>, D::Error> {
    Ok(non_empty(deserializer)?.map(SecretString::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn load(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::load_with_env(None, env(pairs))
    }

    const TOKEN: (&str, &str) = ("HALO_TRIAGE__WEBHOOK__TOKEN", "s3cret-token-value");

    #[test]
    fn defaults_refuse_to_serve_without_webhook_auth() {
        let settings = load(&[]).unwrap();
        let err = settings.validate_webhook_auth().unwrap_err().to_string();
        assert!(err.contains("webhook.allow_unauthenticated"), "{err}");
        let open = load(&[("HALO_TRIAGE__WEBHOOK__ALLOW_UNAUTHENTICATED", "true")]).unwrap();
        assert!(open.validate_webhook_auth().is_ok());
        assert!(load(&[TOKEN]).unwrap().validate_webhook_auth().is_ok());
    }

    #[test]
    fn env_overrides_nested_keys_and_lists() {
        let settings = load(&[
            TOKEN,
            ("HALO_TRIAGE__WEBHOOK__MAX_BODY_BYTES", "2048"),
            (
                "HALO_TRIAGE__WEBHOOK__EVENTS",
                "New Ticket Logged,Ticket Updated",
            ),
            ("HALO_TRIAGE__SERVER__LISTEN", "0.0.0.0:9000"),
        ])
        .unwrap();
        assert_eq!(settings.webhook.max_body_bytes, 2048);
        assert_eq!(
            settings.webhook.events,
            vec!["New Ticket Logged", "Ticket Updated"]
        );
        assert_eq!(settings.listen_addr().unwrap().port(), 9000);
    }

    #[test]
    fn without_credentials_live_mode_falls_back_to_shadow() {
        let settings = load(&[TOKEN, ("HALO_TRIAGE__MODE", "live")]).unwrap();
        assert_eq!(settings.mode, Mode::Live);
        assert_eq!(settings.effective_mode(), Mode::Shadow);
    }

    #[test]
    fn live_mode_with_ack_requires_an_outcome() {
        let err = load(&[
            TOKEN,
            ("HALO_TRIAGE__MODE", "live"),
            ("HALO_TRIAGE__HALO__BASE_URL", "https://acme.halopsa.com"),
            ("HALO_TRIAGE__HALO__CLIENT_ID", "id"),
            ("HALO_TRIAGE__HALO__CLIENT_SECRET", "secret"),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("ack.outcome_id"), "{err}");
    }

    #[test]
    fn errors_name_the_key() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[TOKEN, ("HALO_TRIAGE__SERVER__LISTEN", "nowhere")],
                "server.listen",
            ),
            (
                &[TOKEN, ("HALO_TRIAGE__WEBHOOK__PATH", "hooks")],
                "webhook.path",
            ),
            (
                &[TOKEN, ("HALO_TRIAGE__WEBHOOK__USERNAME", "halo")],
                "webhook.password",
            ),
            (
                &[TOKEN, ("HALO_TRIAGE__HALO__CLIENT_ID", "id")],
                "halo.client_secret",
            ),
            (
                &[
                    TOKEN,
                    ("HALO_TRIAGE__HALO__BASE_URL", "acme"),
                    ("HALO_TRIAGE__HALO__CLIENT_ID", "id"),
                    ("HALO_TRIAGE__HALO__CLIENT_SECRET", "x"),
                ],
                "halo.base_url",
            ),
            (
                &[TOKEN, ("HALO_TRIAGE__ACK__BODY", "no marker")],
                "ack.body",
            ),
            (
                &[
                    TOKEN,
                    ("HALO_TRIAGE__STORE__RETENTION_DAYS", "999999999999"),
                ],
                "store.retention_days",
            ),
            (
                &[
                    TOKEN,
                    ("HALO_TRIAGE__RECONCILE__OVERLAP_SECS", "99999999999"),
                ],
                "reconcile.overlap_secs",
            ),
            (
                &[TOKEN, ("HALO_TRIAGE__RECONCILE__PAGE_SIZE", "500")],
                "reconcile.page_size",
            ),
            (
                &[TOKEN, ("HALO_TRIAGE__WORKER__OUTAGE_PAUSE_SECS", "0")],
                "worker.outage_pause_secs",
            ),
            (
                &[TOKEN, ("HALO_TRIAGE__WORKER__OUTAGE_MAX_PAUSE_SECS", "5")],
                "worker.outage_max_pause_secs",
            ),
            (
                &[TOKEN, ("HALO_TRIAGE__WEBHOOK__IGNORE_AGENT_IDS", "7, api")],
                "ignore_agent_ids",
            ),
            (
                &[TOKEN, ("HALO_TRIAGE__WORKER__MAX_ATTEMPTS", "0")],
                "worker.max_attempts",
            ),
            (
                &[TOKEN, ("HALO_TRIAGE__WORKER__LEASE_SECS", "100")],
                "worker.lease_secs",
            ),
        ];
        for (pairs, key) in cases {
            let err = load(pairs).unwrap_err().to_string();
            assert!(err.contains(key), "expected {key} in: {err}");
        }
    }

    #[test]
    fn numeric_and_boolean_looking_secrets_stay_text() {
        let settings = load(&[
            ("HALO_TRIAGE__WEBHOOK__USERNAME", "1234"),
            ("HALO_TRIAGE__WEBHOOK__PASSWORD", "000123"),
            ("HALO_TRIAGE__WEBHOOK__TOKEN", "true"),
        ])
        .unwrap();
        assert_eq!(settings.webhook.username.as_deref(), Some("1234"));
        let password = settings.webhook.password.unwrap();
        assert_eq!(password.expose_secret(), "000123");
        assert_eq!(settings.webhook.token.unwrap().expose_secret(), "true");
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let settings = load(&[
            ("HALO_TRIAGE__WEBHOOK__USERNAME", "halo"),
            ("HALO_TRIAGE__WEBHOOK__PASSWORD", "hunter2-webhook"),
            TOKEN,
            ("HALO_TRIAGE__HALO__BASE_URL", "https://acme.halopsa.com"),
            ("HALO_TRIAGE__HALO__CLIENT_ID", "id"),
            ("HALO_TRIAGE__HALO__CLIENT_SECRET", "client-secret-value"),
        ])
        .unwrap();
        let debug = format!("{settings:?} {:?}", settings.halo_credentials().unwrap());
        for secret in [
            "hunter2-webhook",
            "s3cret-token-value",
            "client-secret-value",
        ] {
            assert!(!debug.contains(secret), "secret {secret} leaked: {debug}");
        }
    }
}
