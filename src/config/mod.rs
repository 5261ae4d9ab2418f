//! Typed settings: compiled-in defaults, then an optional file, then `HALO_TRIAGE__*` env.
//! Durations are typed once here; every section checks itself ([`validate`]), and the
//! Halo client is built from the settings in one place ([`Settings::halo_client`]).

mod database;
mod de;
mod sections;
mod validate;

use std::net::SocketAddr;
use std::path::Path;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::ack_templates::{AckTemplates, TemplateError};
use crate::halo::{HaloClient, HaloClientOptions, HaloCredentials, HaloError};

pub use database::Database;
pub use sections::{
    AckSettings, ActSettings, AdminSettings, HaloSettings, LearnSettings, LlmProvider, LlmSettings,
    LogSettings, Mode, ModelSettings, ReconcileSettings, RedactSettings, ReportSettings,
    RulesSettings, ServerSettings, StoreSettings, StructuredOutput, WebhookSettings,
    WorkerSettings,
};

const DEFAULTS: &str = include_str!("../../config/default.toml");
const ENV_PREFIX: &str = "HALO_TRIAGE";

/// The shortest webhook or admin token the service serves with.
pub const MIN_TOKEN_CHARS: usize = 24;

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
    pub model: ModelSettings,
    pub learn: LearnSettings,
    pub admin: AdminSettings,
    pub reconcile: ReconcileSettings,
    pub report: ReportSettings,
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
        let mut settings: Settings = builder.build()?.try_deserialize()?;
        settings.store.database = settings.store.resolve_database()?;
        settings.validate()?;
        Ok(settings)
    }

    /// Serving needs webhook authentication, or the operator's explicit opt-out, and
    /// tokens that cannot be guessed: at least [`MIN_TOKEN_CHARS`] characters, the webhook's
    /// and the admin's different. (`classify` and `check` do not serve, so they load
    /// without it; `check` reports it.)
    pub fn validate_for_serving(&self) -> Result<(), ConfigError> {
        let webhook = &self.webhook;
        let short = |token: &SecretString| token.expose_secret().chars().count() < MIN_TOKEN_CHARS;
        let too_short = format!(
            "is shorter than {MIN_TOKEN_CHARS} characters; use a long random value \
             (e.g. `openssl rand -hex 24`)"
        );
        if webhook.token.as_ref().is_some_and(short) {
            return Err(invalid("webhook.token", too_short));
        }
        if self.admin.token.as_ref().is_some_and(short) {
            return Err(invalid("admin.token", too_short));
        }
        if let (Some(hook), Some(admin)) = (&webhook.token, &self.admin.token) {
            if hook.expose_secret() == admin.expose_secret() {
                return Err(invalid(
                    "admin.token",
                    "must differ from webhook.token: whoever can send webhooks must not \
                     get the admin API too",
                ));
            }
        }
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

    /// The operator's own address (`admin.listen`), when set.
    pub fn admin_listen_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        self.admin
            .listen
            .as_deref()
            .map(|listen| {
                listen
                    .parse()
                    .map_err(|e| invalid("admin.listen", format!("'{listen}': {e}")))
            })
            .transpose()
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
        let base_url = halo.parse_url("halo.base_url", base_url)?;
        let auth_url = halo
            .auth_url
            .as_deref()
            .map(|url| halo.parse_url("halo.auth_url", url))
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
            batch_max: halo.batch_max,
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

impl HaloSettings {
    /// A Halo URL: https (http only with `halo.allow_insecure_http`), no user info. The
    /// client secret and the tokens travel to it, so nothing else will do.
    fn parse_url(&self, key: &'static str, value: &str) -> Result<Url, ConfigError> {
        let url = parse_url(key, value)?;
        if url.scheme() == "http" && !self.allow_insecure_http {
            return Err(invalid(
                key,
                "uses http://, which would send the client secret and tokens in clear; use \
                 https, or set halo.allow_insecure_http = true for a test instance",
            ));
        }
        Ok(url)
    }
}

/// An http(s) URL without user info; errors never repeat a password the value may hold.
fn parse_url(key: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value).map_err(|e| invalid(key, format!("'{}': {e}", masked(value))))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(
            key,
            format!("'{}': must be an http(s) URL", masked(value)),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            key,
            "must not carry a user or password (credentials go in their own settings)",
        ));
    }
    Ok(url)
}

/// `value` with anything between `://` and an `@` hidden.
fn masked(value: &str) -> String {
    match (value.find("://"), value.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://***{}", &value[..scheme_end], &value[at..])
        }
        _ => value.to_string(),
    }
}

#[cfg(test)]
mod tests;
