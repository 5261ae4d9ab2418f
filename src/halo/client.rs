//! The Halo API client: the endpoints this service uses, each request authenticated
//! (`token.rs`), within the rate budget and retried as its kind allows (`transport.rs`).

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::batch::{AppliedCheck, Batches, WriteKind};
use super::decode::{decode, decode_list};
use super::error::HaloError;
use super::model::{Action, ListedTicket, Ticket, TicketUpdate};
use super::token::{HaloCredentials, Tokens};
use super::transport::{Fence, RetryPolicy, SharedBudget, Transport};

/// Whether a request may be sent again when its first answer was a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Repeat {
    /// Idempotent (reads, updates with the same values): retry any retryable failure.
    Safe,
    /// Not idempotent: retry only failures that prove Halo did not process it.
    OnlyIfUnprocessed,
}

/// What one ticket is read for, which says what a ticket in a list read must carry to
/// stand for `GET /api/Tickets/{id}` (Halo may trim list items).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadFor {
    /// The rules and the LLM read the text and the custom fields.
    Triage,
    /// The acknowledgement goes to the user email Halo has.
    Recipient,
}

impl ReadFor {
    /// The keys a listed ticket must carry.
    pub(super) fn needs(self) -> &'static [&'static str] {
        match self {
            ReadFor::Triage => &["details", "customfields"],
            ReadFor::Recipient => &["user_email"],
        }
    }
}

/// A ticket in a list, of which only the id is read.
#[derive(Deserialize)]
struct TicketId {
    #[serde(deserialize_with = "super::model::lenient_id")]
    id: i64,
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
    /// Elements in one batched request (`halo.batch_max`); 1 sends each alone.
    pub batch_max: usize,
}

/// A cheap-to-clone handle; every clone shares the token and the rate budget.
#[derive(Clone)]
pub struct HaloClient {
    inner: Arc<Inner>,
}

pub(super) struct Inner {
    transport: Transport,
    tokens: Tokens,
    /// The queues of batched requests, when batching is on.
    batches: Option<Batches>,
}

impl HaloClient {
    /// Requests left of the rolling five-minute budget, and the budget.
    pub fn budget(&self) -> (usize, u32) {
        self.inner.transport.budget()
    }

    /// From now on every request also waits for `shared`, the budget of every process on
    /// the store (set once, when the service starts).
    pub fn share_budget(&self, shared: Arc<dyn SharedBudget>) {
        self.inner.transport.share_budget(shared);
    }

    pub fn new(
        credentials: HaloCredentials,
        options: HaloClientOptions,
    ) -> Result<HaloClient, HaloError> {
        let retry = RetryPolicy {
            max_retries: options.max_retries,
            retry_base: options.retry_base,
            max_retry_wait: options.max_retry_wait,
        };
        let transport = Transport::new(options.timeout, options.requests_per_5min, retry)?;
        let batch_max = options.batch_max;
        Ok(HaloClient {
            // The batches' tasks hold the client weakly: they end when it is dropped.
            inner: Arc::new_cyclic(|client| Inner {
                transport,
                tokens: Tokens::new(credentials, options.scope),
                batches: (batch_max > 1).then(|| Batches::new(client.clone(), batch_max)),
            }),
        })
    }

    pub(super) fn from_inner(inner: Arc<Inner>) -> HaloClient {
        HaloClient { inner }
    }

    /// The ticket `id` with details (custom fields and the like): with batching on, in one
    /// list read with the other tickets read at the same time, else (and when the list
    /// does not carry what `purpose` needs) `GET /api/Tickets/{id}`.
    pub async fn ticket(&self, id: i64, purpose: ReadFor) -> Result<Ticket, HaloError> {
        if let Some(batches) = &self.inner.batches {
            if let Some(listed) = batches.read(id, purpose).await? {
                return decode("GET /api/Tickets", listed);
            }
        }
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
        let search = [
            // Halo's spelling.
            ("datesearch", "dateoccured"),
            ("startdate", since),
            ("open_only", if open_only { "true" } else { "false" }),
        ];
        let (listed, complete): (Vec<TicketId>, bool) = self
            .pages(
                "Tickets",
                "tickets",
                &search,
                page_size,
                max_pages,
                &mut |_, _| {},
            )
            .await?;
        let ids = listed.into_iter().map(|t| t.id).filter(|id| *id > 0);
        Ok((ids.collect(), complete))
    }

    /// The tickets closed since `since` (Halo's date string), in pages of `page_size`
    /// within the rate budget, at most `max_pages`; whether every page was read.
    /// `progress` hears (tickets read so far, Halo's total when it says).
    pub async fn tickets_closed_since(
        &self,
        since: &str,
        page_size: u32,
        max_pages: u32,
        progress: &mut (dyn FnMut(usize, Option<u64>) + Send),
    ) -> Result<(Vec<ListedTicket>, bool), HaloError> {
        let search = [
            // Halo's spelling of the closing date.
            ("datesearch", "datecleared"),
            ("startdate", since),
            ("closed_only", "true"),
        ];
        self.pages(
            "Tickets", "tickets", &search, page_size, max_pages, progress,
        )
        .await
    }

    /// The tickets `ids` (at most 100, Halo's page limit), open or closed, in one
    /// `GET /api/Tickets?ticketids=` request.
    pub async fn tickets_by_ids(&self, ids: &[i64]) -> Result<Vec<ListedTicket>, HaloError> {
        let listed: Vec<String> = ids.iter().map(i64::to_string).collect();
        let listed = listed.join(",");
        let search = [("ticketids", listed.as_str())];
        let page_size = ids.len().clamp(1, 100) as u32;
        let (tickets, _) = self
            .pages("Tickets", "tickets", &search, page_size, 1, &mut |_, _| {})
            .await?;
        Ok(tickets)
    }

    /// Every page of a list (`pageinate`), `page_size` a page, until a short page or
    /// Halo's `record_count`, at most `max_pages`: the items, and whether all were read.
    /// `progress` hears each page (items so far, Halo's total when it says).
    async fn pages<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        key: &str,
        query: &[(&str, &str)],
        page_size: u32,
        max_pages: u32,
        progress: &mut (dyn FnMut(usize, Option<u64>) + Send),
    ) -> Result<(Vec<T>, bool), HaloError> {
        let endpoint = format!("GET /api/{path}");
        let size = page_size.to_string();
        let mut items = Vec::new();
        for page in 1..=max_pages {
            let page_no = page.to_string();
            let mut paged = vec![
                ("pageinate", "true"),
                ("page_size", size.as_str()),
                ("page_no", page_no.as_str()),
            ];
            paged.extend_from_slice(query);
            let value = self.request(Method::GET, path, &paged, None).await?;
            let total = value.get("record_count").and_then(Value::as_u64);
            let listed: Vec<T> = decode_list(&endpoint, value, key)?;
            let last_page = listed.len() < page_size as usize;
            items.extend(listed);
            progress(items.len(), total);
            if last_page || total.is_some_and(|total| items.len() as u64 >= total) {
                return Ok((items, true));
            }
        }
        Ok((items, false))
    }

    /// Partial update: `POST /api/Tickets`, in a batch with other jobs' updates when
    /// batching is on (alone in a one-element array when not). `fence` is asked right
    /// before each try goes out (see [`Fence`]).
    pub async fn update_ticket(
        &self,
        update: &TicketUpdate,
        fence: Fence,
    ) -> Result<Value, HaloError> {
        let body = to_body(update)?;
        if let Some(batches) = &self.inner.batches {
            let kind = WriteKind::Updates;
            return batches.write(kind, body, update.id, fence, None).await;
        }
        // Repeating an update with the same values is harmless.
        let body = Value::Array(vec![body]);
        let post = Some(&body);
        self.send_request(
            Method::POST,
            "Tickets",
            &[],
            post,
            Repeat::Safe,
            Some(&fence),
        )
        .await
    }

    /// The ticket's actions (`GET /api/Actions?ticket_id=`), system actions left out, every
    /// page of them: the search for our marker after a crash must not miss a later page.
    pub async fn actions(&self, ticket_id: i64) -> Result<Vec<Action>, HaloError> {
        let id = ticket_id.to_string();
        let query = [
            ("ticket_id", id.as_str()),
            ("excludesys", "true"),
            ("includehtmlnote", "true"),
        ];
        let (actions, _) = self
            .pages("Actions", "actions", &query, 100, 100, &mut |_, _| {})
            .await?;
        Ok(actions)
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
        self.send_request(method, path, query, body, repeat, None)
            .await
    }

    /// `POST /api/Actions`, in a batch with other jobs' actions when batching is on (alone
    /// in a one-element array when not). Not repeated after an answer that may hide a
    /// processed request (5xx, timeout): a second action would mean a second email. The
    /// caller decides, after looking at the ticket's actions. `fence` is asked right before
    /// each try goes out (see [`Fence`]); `applied` tells this action among the ticket's
    /// actions, for a batch Halo refused that may have been applied in part.
    pub async fn post_action(
        &self,
        action: &impl serde::Serialize,
        ticket_id: i64,
        fence: Fence,
        applied: AppliedCheck,
    ) -> Result<Value, HaloError> {
        let body = to_body(action)?;
        if let Some(batches) = &self.inner.batches {
            let kind = WriteKind::Actions;
            return batches
                .write(kind, body, ticket_id, fence, Some(applied))
                .await;
        }
        let body = Value::Array(vec![body]);
        let repeat = Repeat::OnlyIfUnprocessed;
        self.send_request(
            Method::POST,
            "Actions",
            &[],
            Some(&body),
            repeat,
            Some(&fence),
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
        self.send_request(method, path, query, body, Repeat::Safe, None)
            .await
    }

    async fn send_request(
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
            self.inner.transport.take_budget().await;
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
        let transport = &self.inner.transport;
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
            delays: self.inner.transport.backoff(),
            renewed_token: false,
        }
    }

    /// Waits for the rate budget (see `Transport::take_budget`).
    pub(super) async fn take_budget(&self) {
        self.inner.transport.take_budget().await;
    }

    /// The steady time between two requests under the budget.
    pub(super) fn period(&self) -> Duration {
        self.inner.transport.period()
    }

    fn api_url(&self, path: &str) -> Url {
        let mut url = self.inner.tokens.base_url().clone();
        let base = url.path().trim_end_matches('/').trim_end_matches("/api");
        let joined = format!("{base}/api/{}", path.trim_start_matches('/'));
        url.set_path(&joined);
        url
    }

    /// The token for the next request.
    pub(super) async fn token(&self) -> Result<SecretString, HaloError> {
        let authinfo = self.api_url("authinfo");
        self.inner.tokens.get(&self.inner.transport, authinfo).await
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
        client: &HaloClient,
        error: HaloError,
        token: &SecretString,
        endpoint: &str,
    ) -> Result<(), HaloError> {
        // A 401 was refused before any processing: renewing and repeating is safe.
        if error.status() == Some(401) && !self.renewed_token {
            tracing::info!(%endpoint, "Halo answered 401: renewing the token once");
            self.renewed_token = true;
            client.inner.tokens.forget(token).await;
            return Ok(());
        }
        if self.repeat == Repeat::OnlyIfUnprocessed && !error.was_unprocessed() {
            return Err(error);
        }
        let transport = &client.inner.transport;
        transport
            .wait_before_retry(&mut self.delays, error, endpoint)
            .await
    }
}

/// `METHOD /api/path`, as errors, logs and metrics name a request.
pub(super) fn endpoint(method: &Method, path: &str) -> String {
    format!("{method} /api/{}", path.trim_start_matches('/'))
}

/// A request's JSON body.
fn to_body(element: &impl serde::Serialize) -> Result<Value, HaloError> {
    serde_json::to_value(element).map_err(|e| HaloError::Decode {
        endpoint: "request body".into(),
        message: e.to_string(),
    })
}
