//! One request to Halo's API: authenticated (`token.rs`), within the rate budget
//! (`transport.rs`), its fence asked right before it goes out, and tried again as its kind
//! allows. The endpoints are `client.rs`'s, batched requests `batch.rs`'s.

use std::time::Duration;

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use super::error::HaloError;
use super::token::Tokens;
use super::transport::{Fence, Transport};

/// Whether a request may be sent again when its first answer was a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Repeat {
    /// Idempotent (reads, updates with the same values): retry any retryable failure.
    Safe,
    /// Not idempotent: retry only failures that prove Halo did not process it.
    OnlyIfUnprocessed,
}

/// The transport and the token every request of one client shares.
pub(super) struct Requests {
    pub transport: Transport,
    pub tokens: Tokens,
}

impl Requests {
    /// One authenticated API request with rate budget, token renewal and retries, for
    /// requests that are safe to repeat. `path` is relative to `<base_url>/api/`.
    pub(super) async fn request(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, HaloError> {
        self.send_request(method, path, query, body, Repeat::Safe, None)
            .await
    }

    /// `GET /api/Tickets/{id}` with details (custom fields and the like).
    pub(super) async fn ticket_alone(&self, id: i64) -> Result<Value, HaloError> {
        let path = format!("Tickets/{id}");
        let query = [("includedetails", "true")];
        self.request(Method::GET, &path, &query, None).await
    }

    pub(super) async fn send_request(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        repeat: Repeat,
        fence: Option<&Fence>,
    ) -> Result<Value, HaloError> {
        let endpoint = endpoint(&method, path);
        let mut retries = self.retries(repeat);
        loop {
            let token = self.token().await?;
            self.transport.take_budget().await;
            // After the wait for the budget, which can be long: the request goes out only
            // if it is still the caller's to send.
            if let Some(fence) = fence {
                if !fence().await {
                    return Err(HaloError::Fenced { endpoint });
                }
            }
            let sent = self.try_once(&method, path, query, body, &token).await;
            let error = match sent {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            retries
                .after_failure(self, error, &token, &endpoint)
                .await?;
        }
    }

    /// One try of a request whose budget was taken, with `token`.
    pub(super) async fn try_once(
        &self,
        method: &Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        token: &SecretString,
    ) -> Result<Value, HaloError> {
        let transport = &self.transport;
        let mut request = transport
            .http
            .request(method.clone(), self.api_url(path))
            .bearer_auth(token.expose_secret())
            .query(query);
        if let Some(body) = body {
            request = request.json(body);
        }
        transport.send(request, &endpoint(method, path)).await
    }

    /// The retry rules of one request (a single one or a batch).
    pub(super) fn retries(&self, repeat: Repeat) -> Retries<impl Iterator<Item = Duration>> {
        Retries {
            repeat,
            delays: self.transport.backoff(),
            renewed_token: false,
        }
    }

    pub(super) fn api_url(&self, path: &str) -> Url {
        let mut url = self.tokens.base_url().clone();
        let base = url.path().trim_end_matches('/').trim_end_matches("/api");
        let joined = format!("{base}/api/{}", path.trim_start_matches('/'));
        url.set_path(&joined);
        url
    }

    /// The token for the next request.
    pub(super) async fn token(&self) -> Result<SecretString, HaloError> {
        let authinfo = self.api_url("authinfo");
        self.tokens.get(&self.transport, authinfo).await
    }
}

/// How one request is tried again: the token renewed once after a 401, other failures as
/// the request's [`Repeat`] allows, after the backoff or Halo's `Retry-After`.
pub(super) struct Retries<D> {
    repeat: Repeat,
    delays: D,
    renewed_token: bool,
}

impl<D: Iterator<Item = Duration>> Retries<D> {
    /// After a failed try with `token`: `Ok` to try again (the wait is over), or the error
    /// that ends the request.
    pub(super) async fn after_failure(
        &mut self,
        requests: &Requests,
        error: HaloError,
        token: &SecretString,
        endpoint: &str,
    ) -> Result<(), HaloError> {
        // A 401 was refused before any processing: renewing and repeating is safe.
        if error.status() == Some(401) && !self.renewed_token {
            tracing::info!(%endpoint, "Halo answered 401: renewing the token once");
            self.renewed_token = true;
            requests.tokens.forget(token).await;
            return Ok(());
        }
        if self.repeat == Repeat::OnlyIfUnprocessed && !error.was_unprocessed() {
            return Err(error);
        }
        let transport = &requests.transport;
        transport
            .wait_before_retry(&mut self.delays, error, endpoint)
            .await
    }
}

/// `METHOD /api/path`, as errors, logs and metrics name a request.
pub(super) fn endpoint(method: &Method, path: &str) -> String {
    format!("{method} /api/{}", path.trim_start_matches('/'))
}
