//! The Halo API client: the endpoints this service uses, each request authenticated
//! (`token.rs`), within the rate budget and retried as its kind allows (`transport.rs`).

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use super::batch::{Batches, FindApplied, ReadFor, WriteKind};
use super::decode::{decode, decode_list};
use super::error::HaloError;
use super::model::{Action, ListedTicket, Ticket, TicketUpdate};
use super::request::{Repeat, Requests};
use super::token::{HaloCredentials, Tokens};
use super::transport::{Fence, RetryPolicy, SharedBudget, Transport};

/// A ticket in a list, of which only the id is read.
#[derive(Deserialize)]
struct TicketId {
    #[serde(deserialize_with = "super::model::lenient_id")]
    id: i64,
}

/// Tells an action of ours among the ticket's actions (its marker, or its subject).
pub type AppliedCheck = Arc<dyn Fn(&Action) -> bool + Send + Sync>;

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

struct Inner {
    requests: Arc<Requests>,
    /// The queues of batched requests, when batching is on.
    batches: Option<Batches>,
}

impl HaloClient {
    /// Requests left of the rolling five-minute budget, and the budget.
    pub fn budget(&self) -> (usize, u32) {
        self.inner.requests.transport.budget()
    }

    /// From now on every request also waits for `shared`, the budget of every process on
    /// the store (set once, when the service starts).
    pub fn share_budget(&self, shared: Arc<dyn SharedBudget>) {
        self.inner.requests.transport.share_budget(shared);
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
        let requests = Arc::new(Requests {
            transport,
            tokens: Tokens::new(credentials, options.scope),
        });
        let batch_max = options.batch_max;
        let batches = (batch_max > 1).then(|| Batches::new(requests.clone(), batch_max));
        Ok(HaloClient {
            inner: Arc::new(Inner { requests, batches }),
        })
    }

    /// The ticket `id` with details (custom fields and the like): with batching on, in one
    /// list read with the other tickets read at the same time, else (and when the list
    /// does not carry what `purpose` needs) `GET /api/Tickets/{id}`.
    pub async fn ticket(&self, id: i64, purpose: ReadFor) -> Result<Ticket, HaloError> {
        if let Some(batches) = &self.inner.batches {
            if let Some(read) = batches.read(id, purpose).await? {
                return decode("GET /api/Tickets", read);
            }
        }
        let read = self.inner.requests.ticket_alone(id).await?;
        decode(&format!("GET /api/Tickets/{id}"), read)
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
            let value = self
                .inner
                .requests
                .request(Method::GET, path, &paged, None)
                .await?;
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
            return batches.write(kind, body, fence, None).await;
        }
        // Repeating an update with the same values is harmless.
        let body = Value::Array(vec![body]);
        let post = Some(&body);
        self.inner
            .requests
            .send_request(
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
        self.inner
            .requests
            .send_request(method, path, query, body, repeat, None)
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
            let find = self.finder(ticket_id, applied);
            let kind = WriteKind::Actions;
            return batches.write(kind, body, fence, Some(find)).await;
        }
        let body = Value::Array(vec![body]);
        let repeat = Repeat::OnlyIfUnprocessed;
        self.inner
            .requests
            .send_request(
                Method::POST,
                "Actions",
                &[],
                Some(&body),
                repeat,
                Some(&fence),
            )
            .await
    }

    /// Looks for the action `applied` tells on ticket `ticket_id`: after Halo refused a
    /// batch, which it may have applied in part.
    fn finder(&self, ticket_id: i64, applied: AppliedCheck) -> FindApplied {
        let client = self.clone();
        Arc::new(move || {
            let (client, applied) = (client.clone(), applied.clone());
            Box::pin(async move {
                let actions = client.actions(ticket_id).await?;
                Ok(actions.iter().find(|a| applied(a)).map(|a| a.id))
            })
        })
    }

    /// Obtains a token now (cached for later requests): proves the credentials.
    pub async fn authenticate(&self) -> Result<(), HaloError> {
        self.inner.requests.token().await.map(drop)
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
        self.inner.requests.request(method, path, query, body).await
    }
}

/// A request's JSON body.
fn to_body(element: &impl serde::Serialize) -> Result<Value, HaloError> {
    serde_json::to_value(element).map_err(|e| HaloError::Decode {
        endpoint: "request body".into(),
        message: e.to_string(),
    })
}
