//! Typed settings: compiled-in defaults, then an optional file, then `HALO_TRIAGE__*` env.
//! Durations are typed once here; every section checks itself ([`validate`]), and the
//! Halo client is built from the settings in one place ([`Settings::halo_client`]).

mod de;
mod sections;
mod validate;

use std::net::SocketAddr;
use std::path::Path;

use secrecy::ExposeSecret;
use serde::Deserialize;
use url::Url;

use crate::ack_templates::{AckTemplates, TemplateError};
use crate::halo::{HaloClient, HaloClientOptions, HaloCredentials, HaloError};

pub use sections::{
    AckSettings, ActSettings, AdminSettings, HaloSettings, LlmProvider, LlmSettings, LogSettings,
    Mode, ReconcileSettings, RedactSettings, RulesSettings, ServerSettings, StoreSettings,
    StructuredOutput, WebhookSettings, WorkerSettings,
};

const DEFAULTS: &str = include_str!("../../config/default.toml");
const ENV_PREFIX: &str = "HALO_TRIAGE";

/// A configuration that could not be loaded or is not valid; names the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot load configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("config key `{key}`: {message}")]
    Invalid { key: &'static str, message: String },
    #[error(transparent)]
    HaloClient(#[from] HaloError),
}

fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        message: message.into(),
    }
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

    /// The Halo client every part of the service uses, when credentials are set.
    pub fn halo_client(&self) -> Result<Option<HaloClient>, ConfigError> {
        let Some(credentials) = self.halo_credentials()? else {
            return Ok(None);
        };
        let halo = &self.halo;
        let options = HaloClientOptions {
            scope: halo.scope.clone(),
            requests_per_5min: halo.requests_per_5min,
            timeout: halo.timeout,
            max_retries: halo.max_retries,
            max_retry_wait: halo.max_retry_wait,
            retry_base: halo.retry_base,
        };
        Ok(Some(HaloClient::new(credentials, options)?))
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

impl AckSettings {
    /// The templates of `ack.subject` and `ack.body`; errors name the key.
    pub fn templates(&self) -> Result<AckTemplates, ConfigError> {
        AckTemplates::compile(&self.subject, &self.body).map_err(|e| {
            let key = match e {
                TemplateError::Subject(_) => "ack.subject",
                TemplateError::Body(_) => "ack.body",
            };
            invalid(key, e.to_string())
        })
    }
}

fn parse_url(key: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value).map_err(|e| invalid(key, format!("'{value}': {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(key, format!("'{value}': must be an http(s) URL")));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
            (
                &[TOKEN, ("HALO_TRIAGE__ACK__SUBJECT", "{{ oops")],
                "ack.subject",
            ),
            (
                &[
                    TOKEN,
                    ("HALO_TRIAGE__LLM__ENABLED", "true"),
                    ("HALO_TRIAGE__LLM__MAX_CONCURRENCY", "0"),
                ],
                "llm.max_concurrency",
            ),
            (
                &[
                    TOKEN,
                    ("HALO_TRIAGE__LLM__ENABLED", "true"),
                    ("HALO_TRIAGE__LLM__MAX_INPUT_CHARS", "0"),
                ],
                "llm.max_input_chars",
            ),
        ];
        for (pairs, key) in cases {
            let err = load(pairs).unwrap_err().to_string();
            assert!(err.contains(key), "expected {key} in: {err}");
        }
    }

    #[test]
    fn durations_keep_the_unit_their_key_names() {
        let settings = load(&[
            TOKEN,
            ("HALO_TRIAGE__WORKER__POLL_INTERVAL_MS", "250"),
            ("HALO_TRIAGE__WORKER__LEASE_SECS", "900"),
            ("HALO_TRIAGE__STORE__RETENTION_DAYS", "2"),
        ])
        .unwrap();
        assert_eq!(settings.worker.poll_interval, Duration::from_millis(250));
        assert_eq!(settings.worker.lease, Duration::from_secs(900));
        assert_eq!(settings.store.retention, Duration::from_secs(2 * 86_400));
        assert_eq!(settings.halo.retry_base, Duration::from_millis(500));
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
