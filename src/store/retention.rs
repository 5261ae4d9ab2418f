//! Pruning what is older than `store.retention_days`.

use serde::Serialize;

use super::{Context, Store, StoreError};

/// Rows removed by one pruning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Pruned {
    pub jobs: u64,
    pub decisions: u64,
    pub deliveries: u64,
}

impl Store {
    /// Removes finished work last touched before `cutoff_ms`: done jobs with their
    /// decisions, deliveries no remaining job refers to, and rule hit counts older than 30 days. Queued, running and dead jobs
    /// stay whatever their age, and so do their deliveries and decisions; the
    /// acknowledgement ledger is never pruned, so a ticket is never acknowledged twice.
    pub async fn prune(&self, cutoff_ms: i64) -> Result<Pruned, StoreError> {
        let writer = self.writer().await;
        let mut tx = writer.begin().await.context("starting a transaction")?;
        let decisions = sqlx::query(
            "DELETE FROM decisions WHERE job_id IN
                (SELECT id FROM jobs WHERE status = 'done' AND updated_at < $1)",
        )
        .bind(cutoff_ms)
        .execute(&mut *tx)
        .await
        .context("pruning decisions")?
        .rows_affected();
        let jobs = sqlx::query("DELETE FROM jobs WHERE status = 'done' AND updated_at < $1")
            .bind(cutoff_ms)
            .execute(&mut *tx)
            .await
            .context("pruning jobs")?
            .rows_affected();
        let deliveries = sqlx::query(
            "DELETE FROM deliveries WHERE received_at < $1
             AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.delivery_row = deliveries.id)",
        )
        .bind(cutoff_ms)
        .execute(&mut *tx)
        .await
        .context("pruning deliveries")?
        .rows_affected();
        super::rule_hits::prune(&mut tx).await?;
        tx.commit().await.context("committing the pruning")?;
        Ok(Pruned {
            jobs,
            decisions,
            deliveries,
        })
    }
}
