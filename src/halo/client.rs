//! The Halo API client: OAuth2 client credentials, a shared rate budget, retries.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::BackoffBuilder;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::{Method, RequestBuilder, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::{Mutex, OnceCell};
use url::Url;

use super::decode::{decode, decode_list};
use super::error::{error_message, HaloError};
use super::model::{Action, Ticket, TicketUpdate};

/// Whether a request may be sent again when its first answer was a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    /// Idempotent (reads, updates with the same values): retry any retryable failure.
    Safe,
    /// Not idempotent: retry only failures that prove Halo did not process it.
    OnlyIfUnprocessed,
}

/// An endpoint as a metric label: numeric path segments become `{id}`, so one label covers
/// every ticket.
fn endpoint_label(endpoint: &str) -> String {
    endpoint
        .split('/')
        .map(|segment| {
            if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
                "{id}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A ticket in a list, of which only the id is read.
#[derive(Deserialize)]
struct TicketId {
    #[serde(deserialize_with = "super::model::lenient_id")]
    id: i64,
}

/// Renew a token this long before Halo says it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);
const RATE_WINDOW: Duration = Duration::from_secs(300);

/// Everything needed to talk to one Halo instance.
#[derive(Debug, Clone)]
pub struct HaloCredentials {
    pub base_url: Url,
    pub auth_url: Option<Url>,
    pub tenant: Option<String>,
    pub client_id: String,
    pub client_secret: SecretString,
}

/// Tuning for [`HaloClient`] (the `halo.*` settings).
#[derive(Debug, Clone)]
pub struct HaloClientOptions {
    pub scope: String,
    pub requests_per_5min: u32,
    pub timeout: Duration,
    pub max_retries: u32,
    pub max_retry_wait: Duration,
    pub retry_base: Duration,
}

/// A cheap-to-clone handle; every clone shares the token and the rate budget.
#[derive(Clone)]
pub struct HaloClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    credentials: HaloCredentials,
    options: HaloClientOptions,
    budget: DefaultDirectRateLimiter,
    token: Mutex<Option<CachedToken>>,
    token_endpoint: OnceCell<Url>,
    /// When each request of the last five minutes went out, for the budget-left gauge.
    sent: std::sync::Mutex<VecDeque<Instant>>,
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

impl HaloClient {
    pub fn new(
        credentials: HaloCredentials,
        options: HaloClientOptions,
    ) -> Result<HaloClient, HaloError> {
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .user_agent(concat!("halo-triage/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| HaloError::Transport {
                endpoint: "client setup".into(),
                source,
            })?;
        let budget = RateLimiter::direct(rate_quota(options.requests_per_5min));
        Ok(HaloClient {
            inner: Arc::new(Inner {
                http,
                credentials,
                options,
                budget,
                token: Mutex::new(None),
                token_endpoint: OnceCell::new(),
                sent: Default::default(),
            }),
        })
    }

    /// `GET /api/Tickets/{id}` with details (custom fields and the like).
    pub async fn ticket(&self, id: i64) -> Result<Ticket, HaloError> {
        let path = format!("Tickets/{id}");
        let value = self
            .request(Method::GET, &path, &[("includedetails", "true")], None)
            .await?;
        decode(&path, value)
    }

    /// Ids of the tickets opened since `since` (Halo's date string), all pages of
    /// `GET /api/Tickets` with a date search on the opening date, each page within the
    /// rate budget. Stops after `max_pages` pages; the flag says whether every page was read.
    pub async fn tickets_opened_since(
        &self,
        since: &str,
        page_size: u32,
        open_only: bool,
        max_pages: u32,
    ) -> Result<(Vec<i64>, bool), HaloError> {
        let endpoint = "GET /api/Tickets";
        let size = page_size.to_string();
        let mut ids = Vec::new();
        for page in 1..=max_pages {
            let page_no = page.to_string();
            let value = self
                .request(
                    Method::GET,
                    "Tickets",
                    &[
                        ("pageinate", "true"),
                        ("page_size", &size),
                        ("page_no", &page_no),
                        // Halo's spelling.
                        ("datesearch", "dateoccured"),
                        ("startdate", since),
                        ("open_only", if open_only { "true" } else { "false" }),
                    ],
                    None,
                )
                .await?;
            let total = value.get("record_count").and_then(Value::as_u64);
            let listed: Vec<TicketId> = decode_list(endpoint, value, "tickets")?;
            let last_page = listed.len() < page_size as usize;
            ids.extend(listed.into_iter().map(|t| t.id).filter(|id| *id > 0));
            if last_page || total.is_some_and(|total| ids.len() as u64 >= total) {
                return Ok((ids, true));
            }
        }
        Ok((ids, false))
    }

    /// Partial update: `POST /api/Tickets` with a one-element array.
    pub async fn update_ticket(&self, update: &TicketUpdate) -> Result<Value, HaloError> {
        let body = serde_json::json!([update]);
        // Repeating an update with the same values is harmless.
        self.request(Method::POST, "Tickets", &[], Some(&body))
            .await
    }

    /// The ticket's actions (`GET /api/Actions?ticket_id=`), system actions left out.
    pub async fn actions(&self, ticket_id: i64) -> Result<Vec<Action>, HaloError> {
        let id = ticket_id.to_string();
        let value = self
            .request(
                Method::GET,
                "Actions",
                &[
                    ("ticket_id", id.as_str()),
                    ("excludesys", "true"),
                    ("includehtmlnote", "true"),
                ],
                None,
            )
            .await?;
        decode_list("Actions", value, "actions")
    }

    /// One request for an operator (`halo-triage halo`): reads are retried like any read,
    /// anything else only when Halo surely did not process it.
    pub async fn operator_request(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, HaloError> {
        let repeat = if method == Method::GET {
            Repeat::Safe
        } else {
            Repeat::OnlyIfUnprocessed
        };
        self.send_request(method, path, query, body, repeat).await
    }

    /// `POST /api/Actions` with a one-element array. Not repeated after an answer that
    /// may hide a processed request (5xx, timeout): a second action would mean a second
    /// email. The caller decides, after looking at the ticket's actions.
    pub async fn post_action(&self, action: &impl serde::Serialize) -> Result<Value, HaloError> {
        let body = serde_json::json!([action]);
        self.send_request(
            Method::POST,
            "Actions",
            &[],
            Some(&body),
            Repeat::OnlyIfUnprocessed,
        )
        .await
    }

    /// Obtains a token now (cached for later requests): proves the credentials.
    pub async fn authenticate(&self) -> Result<(), HaloError> {
        self.token().await.map(drop)
    }

    /// One authenticated API request with rate budget, token renewal and retries, for
    /// requests that are safe to repeat. `path` is relative to `<base_url>/api/`.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, HaloError> {
        self.send_request(method, path, query, body, Repeat::Safe)
            .await
    }

    async fn send_request(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        repeat: Repeat,
    ) -> Result<Value, HaloError> {
        let endpoint = format!("{method} /api/{}", path.trim_start_matches('/'));
        let mut delays = self.backoff();
        let mut renewed_token = false;
        loop {
            let token = self.token().await?;
            let mut request = self
                .inner
                .http
                .request(method.clone(), self.api_url(path))
                .bearer_auth(token.expose_secret())
                .query(query);
            if let Some(body) = body {
                request = request.json(body);
            }
            let error = match self.send(request, &endpoint).await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            // A 401 was refused before any processing: renewing and repeating is safe.
            if error.status() == Some(401) && !renewed_token {
                tracing::info!(%endpoint, "Halo answered 401: renewing the token once");
                renewed_token = true;
                self.forget_token(&token).await;
                continue;
            }
            if repeat == Repeat::OnlyIfUnprocessed && !error.was_unprocessed() {
                return Err(error);
            }
            self.wait_before_retry(&mut delays, error, &endpoint)
                .await?;
        }
    }

    /// Drops the cached token if it is the one Halo refused (another worker may have
    /// renewed it meanwhile).
    async fn forget_token(&self, refused: &SecretString) {
        let mut cached = self.inner.token.lock().await;
        if cached
            .as_ref()
            .is_some_and(|t| t.value.expose_secret() == refused.expose_secret())
        {
            *cached = None;
        }
    }

    /// Spends one unit of the rate budget, sends, and reads the JSON answer.
    async fn send(&self, request: RequestBuilder, endpoint: &str) -> Result<Value, HaloError> {
        self.inner.budget.until_ready().await;
        self.count_sent();
        let sent = request.send().await;
        let status = match &sent {
            Ok(response) => response.status().as_str().to_string(),
            Err(_) => "error".to_string(),
        };
        crate::telemetry::metrics::halo_request(endpoint_label(endpoint), status);
        let response = sent.map_err(|source| HaloError::Transport {
            endpoint: endpoint.to_string(),
            source,
        })?;
        read_json(response, endpoint).await
    }

    /// Records one request in the rolling window Halo counts, and publishes what is left.
    fn count_sent(&self) {
        let now = Instant::now();
        let mut sent = self.inner.sent.lock().unwrap_or_else(|e| e.into_inner());
        sent.push_back(now);
        while sent
            .front()
            .is_some_and(|at| now.duration_since(*at) > RATE_WINDOW)
        {
            sent.pop_front();
        }
        let budget = self.inner.options.requests_per_5min as usize;
        crate::telemetry::metrics::halo_budget_left(budget.saturating_sub(sent.len()));
    }

    fn backoff(&self) -> impl Iterator<Item = Duration> {
        let options = &self.inner.options;
        backon::ExponentialBuilder::default()
            .with_min_delay(options.retry_base)
            .with_max_delay(options.max_retry_wait.max(options.retry_base))
            .with_max_times(options.max_retries as usize)
            .with_jitter()
            .build()
    }

    /// Sleeps before the next try, or gives the error back when it is final here.
    async fn wait_before_retry(
        &self,
        delays: &mut impl Iterator<Item = Duration>,
        error: HaloError,
        endpoint: &str,
    ) -> Result<(), HaloError> {
        if !error.is_retryable() {
            return Err(error);
        }
        let Some(backoff) = delays.next() else {
            return Err(error);
        };
        let wait = match error.retry_after() {
            Some(wait) if wait > self.inner.options.max_retry_wait => return Err(error),
            Some(wait) => wait,
            None => backoff,
        };
        tracing::warn!(%endpoint, %error, wait_ms = wait.as_millis() as u64, "retrying Halo request");
        tokio::time::sleep(wait).await;
        Ok(())
    }

    fn api_url(&self, path: &str) -> Url {
        let mut url = self.inner.credentials.base_url.clone();
        let base = url.path().trim_end_matches('/').trim_end_matches("/api");
        let joined = format!("{base}/api/{}", path.trim_start_matches('/'));
        url.set_path(&joined);
        url
    }

    /// The cached token, fetched (once, whoever asks first) when missing or near expiry.
    async fn token(&self) -> Result<SecretString, HaloError> {
        let mut cached = self.inner.token.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok(token.value.clone());
        }
        let endpoint = self
            .inner
            .token_endpoint
            .get_or_try_init(|| self.discover_token_endpoint())
            .await?
            .clone();
        let label = format!("POST {}", endpoint.path());
        let credentials = &self.inner.credentials;
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", credentials.client_id.as_str()),
            ("client_secret", credentials.client_secret.expose_secret()),
            ("scope", self.inner.options.scope.as_str()),
        ];
        let request = self.inner.http.post(endpoint).form(&form);
        let answer: TokenResponse = decode(&label, self.send(request, &label).await?)?;
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
    async fn discover_token_endpoint(&self) -> Result<Url, HaloError> {
        let credentials = &self.inner.credentials;
        let (auth_url, discovered_tenant) = match &credentials.auth_url {
            Some(url) => (url.clone(), None),
            None => {
                let label = "GET /api/authinfo";
                let request = self.inner.http.get(self.api_url("authinfo"));
                let info: AuthInfo = decode(label, self.send(request, label).await?)?;
                let url =
                    info.auth_url
                        .filter(|u| !u.is_empty())
                        .ok_or_else(|| HaloError::Decode {
                            endpoint: label.into(),
                            message: "no auth_url in the answer; set halo.auth_url".into(),
                        })?;
                let url = Url::parse(&url).map_err(|e| HaloError::Decode {
                    endpoint: label.into(),
                    message: format!("auth_url '{url}': {e}"),
                })?;
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
}

/// Spread the budget: a burst of a tenth, the rest evenly over the window, so no rolling
/// five minutes ever sees more than `per_5min` requests.
fn rate_quota(per_5min: u32) -> Quota {
    let per_5min = per_5min.max(1);
    let burst = (per_5min / 10).max(1);
    let steady = (per_5min - burst).max(1);
    Quota::with_period(RATE_WINDOW / steady)
        .expect("the period is never zero")
        .allow_burst(NonZeroU32::new(burst).expect("burst is at least 1"))
}

async fn read_json(response: reqwest::Response, endpoint: &str) -> Result<Value, HaloError> {
    let status = response.status();
    let retry_after = retry_after(&response);
    let text = response
        .text()
        .await
        .map_err(|source| HaloError::Transport {
            endpoint: endpoint.to_string(),
            source,
        })?;
    if !status.is_success() {
        return Err(HaloError::Status {
            endpoint: endpoint.to_string(),
            status: status.as_u16(),
            message: error_message(&text),
            retry_after,
        });
    }
    if text.trim().is_empty() || status == StatusCode::NO_CONTENT {
        return Ok(Value::Null);
    }
    let value: Value = serde_json::from_str(&text).map_err(|e| HaloError::Decode {
        endpoint: endpoint.to_string(),
        message: format!("not JSON: {e}"),
    })?;
    if let Some(warning) = value.get("_warning").and_then(Value::as_str) {
        tracing::warn!(%endpoint, warning, "Halo returned a warning");
    }
    Ok(value)
}

/// `Retry-After` in seconds (the HTTP-date form is not used by Halo's API).
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?;
    let seconds: u64 = value.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_labels_do_not_carry_ids() {
        assert_eq!(
            endpoint_label("GET /api/Tickets/41234"),
            "GET /api/Tickets/{id}"
        );
        assert_eq!(endpoint_label("POST /api/Actions"), "POST /api/Actions");
    }

    #[test]
    fn the_rate_quota_never_exceeds_the_window_budget() {
        for per_5min in [1, 10, 250, 300] {
            let quota = rate_quota(per_5min);
            let burst = quota.burst_size().get();
            let steady = RATE_WINDOW.as_secs_f64() / quota.replenish_interval().as_secs_f64();
            assert!(
                f64::from(burst) + steady <= f64::from(per_5min) + 1.0,
                "{per_5min}: burst {burst} + steady {steady}"
            );
        }
    }
}
