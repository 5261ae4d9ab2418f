//! Recording what Halo sent: the raw request and its jobs, atomically, in group commits
//! (`group_commit.rs`): no delivery is answered before the commit that holds it.

use serde::Serialize;
use sqlx::{Any, Transaction};

use super::group_commit::{self, Grouped};
use super::{Context, Store, StoreError};

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

/// A delivery on its way to the next group commit.
pub(super) struct NewDelivery {
    body: Vec<u8>,
    outcome: DeliveryOutcome,
    error: Option<String>,
    jobs: Vec<NewJob>,
}

impl Grouped for NewDelivery {
    type Output = Vec<Enqueued>;
    const GROUP: usize = 256;
    const QUEUED: usize = 4_096;
    const WHAT: &'static str = "deliveries";

    async fn write(
        &self,
        tx: &mut Transaction<'_, Any>,
        now: i64,
    ) -> Result<Vec<Enqueued>, StoreError> {
        insert(tx, self, now).await
    }

    fn committed(size: usize) {
        crate::telemetry::metrics::delivery_group(size);
    }
}

/// The raw body and its jobs. A job already known by delivery id, or any job for the same
/// ticket, is not created again.
async fn insert(
    tx: &mut Transaction<'_, Any>,
    pending: &NewDelivery,
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
        let delivery = NewDelivery {
            body: body.to_vec(),
            outcome,
            error: error.map(str::to_string),
            jobs: jobs.to_vec(),
        };
        group_commit::submit(&self.deliveries, delivery).await
    }
}
