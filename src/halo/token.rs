//! The OAuth2 client-credentials token: fetched once (whoever asks first), kept until near
//! its expiry, forgotten when Halo refuses it. The token endpoint comes from
//! `halo.auth_url` or Halo's `/api/authinfo`.

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::{Mutex, OnceCell};
use url::Url;

use super::decode::decode;
use super::error::HaloError;
use super::transport::Transport;

/// Renew a token this long before Halo says it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);

/// Everything needed to talk to one Halo instance. Its `Debug` shows no secret and no URL
/// user info.
#[derive(Clone)]
pub struct HaloCredentials {
    pub base_url: Url,
    pub auth_url: Option<Url>,
    pub tenant: Option<String>,
    pub client_id: String,
    pub client_secret: SecretString,
}

impl std::fmt::Debug for HaloCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HaloCredentials")
            .field("base_url", &self.base_url.origin().ascii_serialization())
            .field(
                "auth_url",
                &self
                    .auth_url
                    .as_ref()
                    .map(|u| u.origin().ascii_serialization()),
            )
            .field("tenant", &self.tenant)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

/// The token in use and where tokens come from.
pub(super) struct Tokens {
    credentials: HaloCredentials,
    scope: String,
    cached: Mutex<Option<CachedToken>>,
    endpoint: OnceCell<Url>,
}

struct CachedToken {
    value: SecretString,
    renew_at: Instant,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: SecretString,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct AuthInfo {
    auth_url: Option<String>,
    tenant_id: Option<String>,
}

impl Tokens {
    pub fn new(credentials: HaloCredentials, scope: String) -> Tokens {
        Tokens {
            credentials,
            scope,
            cached: Mutex::new(None),
            endpoint: OnceCell::new(),
        }
    }

    pub fn base_url(&self) -> &Url {
        &self.credentials.base_url
    }

    /// The cached token, fetched (once, whoever asks first) when missing or near expiry.
    pub async fn get(
        &self,
        transport: &Transport,
        authinfo: Url,
    ) -> Result<SecretString, HaloError> {
        let mut cached = self.cached.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok(token.value.clone());
        }
        let endpoint = self
            .endpoint
            .get_or_try_init(|| self.discover_endpoint(transport, authinfo))
            .await?
            .clone();
        let label = format!("POST {}", endpoint.path());
        let credentials = &self.credentials;
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", credentials.client_id.as_str()),
            ("client_secret", credentials.client_secret.expose_secret()),
            ("scope", self.scope.as_str()),
        ];
        let request = transport.http.post(endpoint).form(&form);
        transport.take_budget().await;
        let answer: TokenResponse = decode(&label, transport.send(request, &label).await?)?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(3600));
        let token = CachedToken {
            value: answer.access_token,
            renew_at: Instant::now() + lifetime.saturating_sub(TOKEN_MARGIN.min(lifetime / 2)),
        };
        let value = token.value.clone();
        *cached = Some(token);
        tracing::debug!(
            lifetime_secs = lifetime.as_secs(),
            "obtained a Halo access token"
        );
        Ok(value)
    }

    /// `{auth_url}/token[?tenant=]`; the auth URL comes from config or `/api/authinfo`.
    async fn discover_endpoint(
        &self,
        transport: &Transport,
        authinfo: Url,
    ) -> Result<Url, HaloError> {
        let credentials = &self.credentials;
        let (auth_url, discovered_tenant) = match &credentials.auth_url {
            Some(url) => (url.clone(), None),
            None => {
                let label = "GET /api/authinfo";
                let request = transport.http.get(authinfo);
                transport.take_budget().await;
                let info: AuthInfo = decode(label, transport.send(request, label).await?)?;
                let url =
                    info.auth_url
                        .filter(|u| !u.is_empty())
                        .ok_or_else(|| HaloError::Decode {
                            endpoint: label.into(),
                            message: "no auth_url in the answer; set halo.auth_url".into(),
                        })?;
                let url = Url::parse(&url).map_err(|e| HaloError::Decode {
                    endpoint: label.into(),
                    message: format!("auth_url is not a URL: {e}"),
                })?;
                // The client secret goes to this server: only to Halo's own origin, unless
                // the operator names another one in halo.auth_url.
                if url.origin() != credentials.base_url.origin() {
                    return Err(HaloError::Decode {
                        endpoint: label.into(),
                        message: format!(
                            "auth_url {} is not on halo.base_url's origin ({}): the client \
                             secret is not sent there; set halo.auth_url if this is your \
                             authorisation server",
                            url.origin().ascii_serialization(),
                            credentials.base_url.origin().ascii_serialization()
                        ),
                    });
                }
                (url, info.tenant_id.filter(|t| !t.is_empty()))
            }
        };
        let mut endpoint = auth_url.clone();
        endpoint.set_path(&format!("{}/token", auth_url.path().trim_end_matches('/')));
        if let Some(tenant) = credentials.tenant.clone().or(discovered_tenant) {
            endpoint.query_pairs_mut().append_pair("tenant", &tenant);
        }
        Ok(endpoint)
    }

    /// Drops the cached token if it is the one Halo refused (another worker may have
    /// renewed it meanwhile).
    pub async fn forget(&self, refused: &SecretString) {
        let mut cached = self.cached.lock().await;
        if cached
            .as_ref()
            .is_some_and(|t| t.value.expose_secret() == refused.expose_secret())
        {
            *cached = None;
        }
    }
}
