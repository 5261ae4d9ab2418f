//! Recording what Halo sent: the raw request and its jobs, in one transaction.

use serde::Serialize;

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

impl Store {
    /// Stores the raw body and its jobs atomically: either all of it is durable or none.
    /// A job already known by delivery id, or any job for the same ticket, is not created again.
    pub async fn record_delivery(
        &self,
        body: &[u8],
        outcome: DeliveryOutcome,
        error: Option<&str>,
        jobs: &[NewJob],
    ) -> Result<Vec<Enqueued>, StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await.context("starting a transaction")?;
        // The first statement writes, so the transaction takes the write lock at once.
        let delivery_row: i64 = sqlx::query_scalar(
            "INSERT INTO deliveries (received_at, outcome, error, body) VALUES (?, ?, ?, ?)
             RETURNING id",
        )
        .bind(now)
        .bind(outcome.as_str())
        .bind(error)
        .bind(body)
        .fetch_one(&mut *tx)
        .await
        .context("storing the delivery")?;

        let mut enqueued = Vec::with_capacity(jobs.len());
        for job in jobs {
            // One job per ticket, whatever the event: further events about a ticket we
            // have (our own updates among them) create no new work.
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO jobs (delivery_row, halo_delivery_id, ticket_id, event, payload,
                                   next_attempt_at, created_at, updated_at)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?6, ?6
                 WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE ticket_id = ?3)
                 ON CONFLICT DO NOTHING
                 RETURNING id",
            )
            .bind(delivery_row)
            .bind(&job.halo_delivery_id)
            .bind(job.ticket_id)
            .bind(&job.event)
            .bind(&job.payload)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await
            .context("storing a job")?;
            let entry = match inserted {
                Some(job_id) => Enqueued {
                    job_id,
                    duplicate: false,
                },
                None => Enqueued {
                    job_id: sqlx::query_scalar(
                        "SELECT id FROM jobs WHERE halo_delivery_id = ? OR ticket_id = ?
                         ORDER BY id LIMIT 1",
                    )
                    .bind(&job.halo_delivery_id)
                    .bind(job.ticket_id)
                    .fetch_one(&mut *tx)
                    .await
                    .context("finding the duplicated job")?,
                    duplicate: true,
                },
            };
            enqueued.push(entry);
        }
        let all_known = !enqueued.is_empty() && enqueued.iter().all(|e| e.duplicate);
        if outcome == DeliveryOutcome::Accepted && all_known {
            sqlx::query("UPDATE deliveries SET outcome = 'duplicate' WHERE id = ?")
                .bind(delivery_row)
                .execute(&mut *tx)
                .await
                .context("marking the delivery duplicate")?;
        }
        tx.commit().await.context("committing the delivery")?;
        Ok(enqueued)
    }
}
