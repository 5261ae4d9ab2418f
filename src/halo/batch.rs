//! Batched requests (`halo.batch_max` above 1): ticket updates go to Halo as one
//! `POST /api/Tickets` array and actions as one `POST /api/Actions` array, and tickets are
//! read with one `GET /api/Tickets?ticketids=` list, so a flood costs a request per batch
//! instead of one per ticket.
//!
//! Each kind has a queue and one task sending it, one request in flight at a time. A batch
//! goes when it is full, or once the kind's last request went out one budget period ago
//! (five minutes over `requests_per_5min`): a quiet service sends at once, a flood sends
//! full batches instead of spending the budget on batches of one. A write batch is filled
//! after the wait for the rate budget, so it fills while the budget holds it back.
//!
//! Exactly once holds per element: every element's fence is asked right before every try,
//! an element whose fence says no is answered `Fenced` and left out, and a failure that may
//! hide a processed request goes to every element (each job then looks for its marker, as
//! for a request of its own). A batch Halo refuses is split: updates (harmless to repeat)
//! are halved until the refused one is alone; actions are first looked for on their
//! ticket, since Halo may have applied part of the array, and the rest go again alone.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::FutureExt;
use reqwest::Method;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::decode::decode_list;
use super::model::id_of;
use super::request::{endpoint, Repeat, Requests};
use super::transport::Fence;
use super::HaloError;

/// Looks for an action on its ticket after Halo refused the batch that carried it: the
/// action's id when Halo applied it all the same.
pub(super) type FindApplied = Arc<
    dyn Fn() -> Pin<Box<dyn Future<Output = Result<Option<i64>, HaloError>> + Send>> + Send + Sync,
>;

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
    fn needs(self) -> &'static [&'static str] {
        match self {
            ReadFor::Triage => &["details", "customfields"],
            ReadFor::Recipient => &["user_email"],
        }
    }
}

/// One element waiting for its batch, and where its answer goes.
struct Pending<T: Element> {
    element: T,
    answer: oneshot::Sender<Result<T::Answer, HaloError>>,
}

/// An element of a batch, and what its caller is answered.
trait Element: Send + 'static {
    type Answer: Send + 'static;
}

/// A ticket update or an action, as one element of the array.
struct Write {
    body: Value,
    fence: Fence,
    /// For actions: finds this one on its ticket after a refused batch.
    find: Option<FindApplied>,
}

impl Element for Write {
    /// Halo's answer for this element (`null` when its answer to the array said nothing
    /// about each element).
    type Answer = Value;
}

/// A ticket to read.
struct Read {
    ticket_id: i64,
    purpose: ReadFor,
}

impl Element for Read {
    /// The listed ticket, or `None` when it must be read alone.
    type Answer = Option<Value>;
}

/// The writes of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WriteKind {
    Updates,
    Actions,
}

impl WriteKind {
    fn path(self) -> &'static str {
        match self {
            WriteKind::Updates => "Tickets",
            WriteKind::Actions => "Actions",
        }
    }

    fn repeat(self) -> Repeat {
        match self {
            // Repeating an update with the same values is harmless.
            WriteKind::Updates => Repeat::Safe,
            // A second action can be a second email.
            WriteKind::Actions => Repeat::OnlyIfUnprocessed,
        }
    }
}

/// The queues of one client; each task starts with the first element of its kind.
pub(super) struct Batches {
    requests: Arc<Requests>,
    max: usize,
    updates: OnceLock<mpsc::UnboundedSender<Pending<Write>>>,
    actions: OnceLock<mpsc::UnboundedSender<Pending<Write>>>,
    reads: OnceLock<mpsc::UnboundedSender<Pending<Read>>>,
}

impl Batches {
    /// Batches of at most `max` elements, sent with `requests`.
    pub(super) fn new(requests: Arc<Requests>, max: usize) -> Batches {
        Batches {
            requests,
            max,
            updates: OnceLock::new(),
            actions: OnceLock::new(),
            reads: OnceLock::new(),
        }
    }

    /// A ticket update or an action, as one element of its kind's array. `find` looks for
    /// an action on its ticket after a refused batch.
    pub(super) async fn write(
        &self,
        kind: WriteKind,
        body: Value,
        fence: Fence,
        find: Option<FindApplied>,
    ) -> Result<Value, HaloError> {
        let write = Write { body, fence, find };
        submit(self.writes(kind), write, kind.path()).await
    }

    /// The ticket as a read with others (or alone, when no other came) carried it, or
    /// `None`: read it alone.
    pub(super) async fn read(
        &self,
        ticket_id: i64,
        purpose: ReadFor,
    ) -> Result<Option<Value>, HaloError> {
        let queue = self.reads.get_or_init(|| {
            let (queue, waiting) = mpsc::unbounded_channel();
            let lane = Lane::new(waiting, self.max);
            tokio::spawn(run_reads(self.requests.clone(), lane));
            queue
        });
        submit(queue, Read { ticket_id, purpose }, "Tickets").await
    }

    fn writes(&self, kind: WriteKind) -> &mpsc::UnboundedSender<Pending<Write>> {
        let queue = match kind {
            WriteKind::Updates => &self.updates,
            WriteKind::Actions => &self.actions,
        };
        queue.get_or_init(|| {
            let (queue, waiting) = mpsc::unbounded_channel();
            let lane = Lane::new(waiting, self.max);
            tokio::spawn(run_writes(self.requests.clone(), lane, kind));
            queue
        })
    }
}

/// Queues `element` and waits for its answer.
async fn submit<T: Element>(
    queue: &mpsc::UnboundedSender<Pending<T>>,
    element: T,
    path: &str,
) -> Result<T::Answer, HaloError> {
    let abandoned = || HaloError::Abandoned {
        endpoint: format!("/api/{path}"),
    };
    let (answer, answered) = oneshot::channel();
    queue
        .send(Pending { element, answer })
        .map_err(|_| abandoned())?;
    answered.await.map_err(|_| abandoned())?
}

/// One kind's queue as its task sees it.
struct Lane<T: Element> {
    queue: mpsc::UnboundedReceiver<Pending<T>>,
    /// Taken from the queue, not yet in a batch.
    waiting: VecDeque<Pending<T>>,
    max: usize,
    /// When this kind's last request went out.
    last_sent: Option<Instant>,
}

impl<T: Element> Lane<T> {
    fn new(queue: mpsc::UnboundedReceiver<Pending<T>>, max: usize) -> Lane<T> {
        Lane {
            queue,
            waiting: VecDeque::new(),
            max,
            last_sent: None,
        }
    }

    /// Waits until a batch is due: full, or one `period` after the last request. False
    /// when the client is gone (every sender dropped) and nothing waits.
    async fn due(&mut self, period: Duration) -> bool {
        if self.waiting.is_empty() {
            match self.queue.recv().await {
                Some(pending) => self.waiting.push_back(pending),
                None => return false,
            }
        }
        let paced_until = self.last_sent.map_or_else(Instant::now, |at| at + period);
        while self.waiting.len() < self.max {
            tokio::select! {
                biased;
                next = self.queue.recv() => match next {
                    Some(pending) => self.waiting.push_back(pending),
                    None => break,
                },
                _ = tokio::time::sleep_until(paced_until) => break,
            }
        }
        true
    }

    /// Moves what waits, and what has arrived since, into `batch` up to the maximum.
    fn fill(&mut self, batch: &mut Vec<Pending<T>>) {
        while batch.len() < self.max {
            match self.waiting.pop_front() {
                Some(pending) => batch.push(pending),
                None => match self.queue.try_recv() {
                    Ok(pending) => batch.push(pending),
                    Err(_) => break,
                },
            }
        }
        self.last_sent = Some(Instant::now());
    }
}

/// Sends `kind`'s batches until the client is gone. A panic fails the batch it happened
/// in (its callers are answered `Abandoned`), not the queue.
async fn run_writes(requests: Arc<Requests>, mut lane: Lane<Write>, kind: WriteKind) {
    while lane.due(requests.transport.period()).await {
        let sent = std::panic::AssertUnwindSafe(send_writes(&requests, &mut lane, kind));
        if sent.catch_unwind().await.is_err() {
            tracing::error!(kind = ?kind, "sending a batch of Halo writes panicked");
        }
    }
}

/// One batch of writes, filled from `lane`, and the groups a refusal splits it into.
async fn send_writes(requests: &Requests, lane: &mut Lane<Write>, kind: WriteKind) {
    let mut groups = Vec::new();
    let first = post_array(requests, kind, Vec::new(), Some(lane)).await;
    split_refused(kind, first, &mut groups).await;
    while let Some(group) = groups.pop() {
        let sent = post_array(requests, kind, group, None).await;
        split_refused(kind, sent, &mut groups).await;
    }
}

/// A batch that failed, with the elements it still carried.
type Failed = (HaloError, Vec<Pending<Write>>);

/// Answers the elements of a failed batch, or splits a refused one into `groups`.
async fn split_refused(
    kind: WriteKind,
    sent: Result<(), Failed>,
    groups: &mut Vec<Vec<Pending<Write>>>,
) {
    let Err((error, mut group)) = sent else {
        return;
    };
    if !error.is_refusal() || group.len() < 2 {
        answer_all(group, error);
        return;
    }
    tracing::warn!(%error, elements = group.len(), "Halo refused a batch: splitting it");
    match kind {
        WriteKind::Updates => {
            let second = group.split_off(group.len() / 2);
            groups.push(second);
            groups.push(group);
        }
        WriteKind::Actions => {
            for pending in group {
                let find = pending.element.find.clone();
                let found = match find {
                    Some(find) => find().await,
                    None => Ok(None),
                };
                match found {
                    Ok(Some(found)) => {
                        let _ = pending.answer.send(Ok(serde_json::json!({ "id": found })));
                    }
                    Ok(None) => groups.push(vec![pending]),
                    Err(error) => {
                        let _ = pending.answer.send(Err(error));
                    }
                }
            }
        }
    }
}

/// Sends `batch` as one array, first filling it from `fill` after the wait for the budget,
/// and every element's fence asked right before every try.
async fn post_array(
    requests: &Requests,
    kind: WriteKind,
    mut batch: Vec<Pending<Write>>,
    mut fill: Option<&mut Lane<Write>>,
) -> Result<(), Failed> {
    let endpoint = endpoint(&Method::POST, kind.path());
    let mut retries = requests.retries(kind.repeat());
    loop {
        let token = requests.token().await;
        if token.is_ok() {
            requests.transport.take_budget().await;
        }
        if let Some(lane) = fill.take() {
            lane.fill(&mut batch);
        }
        let token = match token {
            Ok(token) => token,
            Err(error) => return Err((error, batch)),
        };
        batch = fenced(batch, &endpoint).await;
        if batch.is_empty() {
            return Ok(());
        }
        let body = Value::Array(batch.iter().map(|p| p.element.body.clone()).collect());
        let method = Method::POST;
        let error = match requests
            .try_once(&method, kind.path(), &[], Some(&body), &token)
            .await
        {
            Ok(answer) => {
                answer_each(batch, answer, &endpoint);
                return Ok(());
            }
            Err(error) => error,
        };
        if let Err(error) = retries
            .after_failure(requests, error, &token, &endpoint)
            .await
        {
            return Err((error, batch));
        }
    }
}

/// The elements whose fence still says yes; the others are answered `Fenced`.
async fn fenced(batch: Vec<Pending<Write>>, endpoint: &str) -> Vec<Pending<Write>> {
    let checks = batch.iter().map(|pending| (pending.element.fence)());
    let verdicts = futures_util::future::join_all(checks).await;
    let mut kept = Vec::with_capacity(batch.len());
    for (pending, ours) in batch.into_iter().zip(verdicts) {
        if ours {
            kept.push(pending);
        } else {
            let endpoint = endpoint.to_string();
            let _ = pending.answer.send(Err(HaloError::Fenced { endpoint }));
        }
    }
    kept
}

/// Gives each element its part of Halo's answer (see [`answers`]).
fn answer_each(batch: Vec<Pending<Write>>, answer: Value, endpoint: &str) {
    let parts = answers(answer, batch.len()).unwrap_or_else(|| {
        tracing::warn!(%endpoint, elements = batch.len(), "Halo's answer to an array has not one object per element: the writes were made, their ids are not recorded");
        vec![Value::Null; batch.len()]
    });
    for (pending, part) in batch.into_iter().zip(parts) {
        let _ = pending.answer.send(Ok(part));
    }
}

/// Halo answers a one-element array with the saved object, and a longer one with the saved
/// objects in order: each element's part, or `None` for any other shape.
fn answers(answer: Value, elements: usize) -> Option<Vec<Value>> {
    match answer {
        Value::Array(parts) if parts.len() == elements => Some(parts),
        Value::Object(_) if elements == 1 => Some(vec![answer]),
        _ => None,
    }
}

/// Every element gets the batch's error.
fn answer_all<T: Element>(mut batch: Vec<Pending<T>>, error: HaloError) {
    if batch.len() == 1 {
        if let Some(pending) = batch.pop() {
            let _ = pending.answer.send(Err(error));
        }
        return;
    }
    let shared = Arc::new(error);
    for pending in batch {
        let _ = pending.answer.send(Err(HaloError::Shared(shared.clone())));
    }
}

/// Reads the tickets asked for at the same time with one list read, until the client is
/// gone.
async fn run_reads(requests: Arc<Requests>, mut lane: Lane<Read>) {
    while lane.due(requests.transport.period()).await {
        let mut batch = Vec::new();
        lane.fill(&mut batch);
        let sent = std::panic::AssertUnwindSafe(read_listed(&requests, batch));
        if sent.catch_unwind().await.is_err() {
            tracing::error!("reading a batch of Halo tickets panicked");
        }
    }
}

/// One `GET /api/Tickets?ticketids=` for `batch`, or `GET /api/Tickets/{id}` for a lone
/// ticket (reads that come meanwhile wait for the next batch). A ticket the list leaves
/// out or lists without what its reader needs, and every ticket of a list Halo refuses, is
/// answered `None`: read alone.
async fn read_listed(requests: &Requests, mut batch: Vec<Pending<Read>>) {
    if batch.len() == 1 {
        if let Some(pending) = batch.pop() {
            let read = requests.ticket_alone(pending.element.ticket_id).await;
            let _ = pending.answer.send(read.map(Some));
        }
        return;
    }
    let mut ids: Vec<i64> = batch.iter().map(|p| p.element.ticket_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let listed = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let size = ids.len().to_string();
    let query = [
        ("ticketids", listed.as_str()),
        ("includedetails", "true"),
        ("pageinate", "true"),
        ("page_size", size.as_str()),
        ("page_no", "1"),
    ];
    let read = requests.request(Method::GET, "Tickets", &query, None).await;
    let tickets = read.and_then(|value| decode_list::<Value>("GET /api/Tickets", value, "tickets"));
    let tickets = match tickets {
        Ok(tickets) => tickets,
        Err(error) if error.is_refusal() => {
            tracing::warn!(%error, "Halo refused a list read by ticket ids: reading each alone");
            Vec::new()
        }
        Err(error) => return answer_all(batch, error),
    };
    let by_id: HashMap<i64, Value> = tickets
        .into_iter()
        .filter_map(|ticket| Some((ticket.get("id").and_then(id_of)?, ticket)))
        .collect();
    for pending in batch {
        let Read { ticket_id, purpose } = pending.element;
        let carried = by_id
            .get(&ticket_id)
            .filter(|ticket| purpose.needs().iter().all(|key| ticket.get(key).is_some()));
        let _ = pending.answer.send(Ok(carried.cloned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_element_gets_its_part_of_the_answer() {
        let one = serde_json::json!({"id": 7});
        assert_eq!(answers(one.clone(), 1), Some(vec![one]));
        let two = serde_json::json!([{"id": 1}, {"id": 2}]);
        assert_eq!(answers(two, 2).unwrap()[1]["id"], 2);
        assert_eq!(answers(serde_json::json!([{"id": 1}]), 2), None);
        assert_eq!(answers(serde_json::json!({"id": 1}), 2), None);
        assert_eq!(answers(Value::Null, 1), None);
    }
}
