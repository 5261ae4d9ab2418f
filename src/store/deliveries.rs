//! Recording what Halo sent: the raw request and its jobs, atomically, in group commits.
//! Deliveries that arrive while one commit is being made are written by the next, in one
//! transaction and one fsync, each in a savepoint of its own: one that fails is rolled
//! back alone and its sender told, the others commit. No delivery is answered before the
//! commit that holds it.

use serde::Serialize;
use sqlx::{Acquire, Any, AnyPool, Transaction};
use tokio::sync::{mpsc, oneshot};

use super::{Context, Store, StoreError};
use crate::clock::now_ms;

/// What became of a delivery request as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// It carried work (new or already known).
    Accepted,
    /// It carried only events we do not handle.
    Ignored,
    /// It could not be understood; kept for inspection and replay.
    Quarantined,
}

impl DeliveryOutcome {
    fn as_str(self) -> &'static str {
        match self {
            DeliveryOutcome::Accepted => "accepted",
            DeliveryOutcome::Ignored => "ignored",
            DeliveryOutcome::Quarantined => "quarantined",
        }
    }
}

/// One unit of work carried by a delivery.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub halo_delivery_id: Option<String>,
    pub ticket_id: i64,
    /// Lower-cased event name.
    pub event: String,
    /// The delivery object, as JSON.
    pub payload: String,
}

/// The job a delivery maps to, and whether it existed already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Enqueued {
    pub job_id: i64,
    pub duplicate: bool,
}

/// Deliveries one group commit takes at most.
const GROUP: usize = 256;
/// Deliveries waiting for a commit at most; past that, senders wait (backpressure).
const QUEUED: usize = 4_096;

/// A delivery waiting for the next group commit, and where its answer goes.
pub(super) struct Pending {
    body: Vec<u8>,
    outcome: DeliveryOutcome,
    error: Option<String>,
    jobs: Vec<NewJob>,
    answer: oneshot::Sender<Result<Vec<Enqueued>, StoreError>>,
}

/// Starts the task that makes the group commits on `writes`; it ends when every handle
/// to the store is gone.
pub(super) fn start_group_commits(writes: AnyPool) -> mpsc::Sender<Pending> {
    let (sender, mut queue) = mpsc::channel::<Pending>(QUEUED);
    tokio::spawn(async move {
        let mut group = Vec::with_capacity(GROUP);
        while queue.recv_many(&mut group, GROUP).await > 0 {
            commit_group(&writes, std::mem::take(&mut group)).await;
        }
    });
    sender
}

/// Writes `group` in one transaction, then answers each delivery.
async fn commit_group(writes: &AnyPool, group: Vec<Pending>) {
    let now = now_ms();
    let mut tx = match writes.begin().await.context("starting a transaction") {
        Ok(tx) => tx,
        Err(error) => return answer_all(group, &error),
    };
    let mut results = Vec::with_capacity(group.len());
    for pending in &group {
        results.push(in_savepoint(&mut tx, pending, now).await);
    }
    if let Err(error) = tx.commit().await.context("committing deliveries") {
        return answer_all(group, &error);
    }
    crate::telemetry::metrics::delivery_group(group.len());
    for (pending, result) in group.into_iter().zip(results) {
        let _ = pending.answer.send(result);
    }
}

/// Every delivery of a group that could not be committed gets the reason.
fn answer_all(group: Vec<Pending>, error: &StoreError) {
    tracing::error!(%error, deliveries = group.len(), "a group of deliveries was not stored");
    for pending in group {
        let _ = pending
            .answer
            .send(Err(StoreError::GroupCommit(error.to_string())));
    }
}

/// One delivery in a savepoint: stored whole, or rolled back alone.
async fn in_savepoint(
    tx: &mut Transaction<'_, Any>,
    pending: &Pending,
    now: i64,
) -> Result<Vec<Enqueued>, StoreError> {
    let mut savepoint = tx.begin().await.context("starting a savepoint")?;
    let stored = insert(&mut savepoint, pending, now).await?;
    savepoint.commit().await.context("releasing a savepoint")?;
    Ok(stored)
}

/// The raw body and its jobs. A job already known by delivery id, or any job for the same
/// ticket, is not created again.
async fn insert(
    tx: &mut Transaction<'_, Any>,
    pending: &Pending,
    now: i64,
) -> Result<Vec<Enqueued>, StoreError> {
    let delivery_row: i64 = sqlx::query_scalar(
        "INSERT INTO deliveries (received_at, outcome, error, body) VALUES ($1, $2, $3, $4)
         RETURNING id",
    )
    .bind(now)
    .bind(pending.outcome.as_str())
    .bind(&pending.error)
    .bind(&pending.body)
    .fetch_one(&mut **tx)
    .await
    .context("storing the delivery")?;

    let mut enqueued = Vec::with_capacity(pending.jobs.len());
    for job in &pending.jobs {
        // One job per ticket, whatever the event: further events about a ticket we
        // have (our own updates among them) create no new work.
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO jobs (delivery_row, halo_delivery_id, ticket_id, event, payload,
                               next_attempt_at, created_at, updated_at)
             SELECT $1, $2, $3, $4, $5, $6, $6, $6
             WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE ticket_id = $3)
             ON CONFLICT DO NOTHING
             RETURNING id",
        )
        .bind(delivery_row)
        .bind(&job.halo_delivery_id)
        .bind(job.ticket_id)
        .bind(&job.event)
        .bind(&job.payload)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await
        .context("storing a job")?;
        let entry = match inserted {
            Some(job_id) => Enqueued {
                job_id,
                duplicate: false,
            },
            None => Enqueued {
                job_id: sqlx::query_scalar(
                    "SELECT id FROM jobs WHERE halo_delivery_id = $1 OR ticket_id = $2
                     ORDER BY id LIMIT 1",
                )
                .bind(&job.halo_delivery_id)
                .bind(job.ticket_id)
                .fetch_one(&mut **tx)
                .await
                .context("finding the duplicated job")?,
                duplicate: true,
            },
        };
        enqueued.push(entry);
    }
    let all_known = !enqueued.is_empty() && enqueued.iter().all(|e| e.duplicate);
    if pending.outcome == DeliveryOutcome::Accepted && all_known {
        sqlx::query("UPDATE deliveries SET outcome = 'duplicate' WHERE id = $1")
            .bind(delivery_row)
            .execute(&mut **tx)
            .await
            .context("marking the delivery duplicate")?;
    }
    Ok(enqueued)
}

impl Store {
    /// Stores the raw body and its jobs atomically, in the next group commit: either all
    /// of it is durable when this returns, or none of it is.
    pub async fn record_delivery(
        &self,
        body: &[u8],
        outcome: DeliveryOutcome,
        error: Option<&str>,
        jobs: &[NewJob],
    ) -> Result<Vec<Enqueued>, StoreError> {
        let (answer, answered) = oneshot::channel();
        let pending = Pending {
            body: body.to_vec(),
            outcome,
            error: error.map(str::to_string),
            jobs: jobs.to_vec(),
            answer,
        };
        let gone = || StoreError::GroupCommit("the store is shutting down".into());
        self.deliveries.send(pending).await.map_err(|_| gone())?;
        answered.await.map_err(|_| gone())?
    }
}
