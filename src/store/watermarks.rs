//! Named points in time a background task has reached (the reconciler's watermark).

use super::{Context, Store, StoreError};

impl Store {
    /// The watermark `name` (unix ms), if it was ever set.
    pub async fn watermark(&self, name: &str) -> Result<Option<i64>, StoreError> {
        sqlx::query_scalar("SELECT at_ms FROM watermarks WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .context("reading a watermark")
    }

    pub async fn set_watermark(&self, name: &str, at_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO watermarks (name, at_ms) VALUES (?, ?)
             ON CONFLICT (name) DO UPDATE SET at_ms = excluded.at_ms",
        )
        .bind(name)
        .bind(at_ms)
        .execute(&self.pool)
        .await
        .context("saving a watermark")?;
        Ok(())
    }

    /// Which of `ticket_ids` have no job yet, in one query.
    pub async fn tickets_without_jobs(&self, ticket_ids: &[i64]) -> Result<Vec<i64>, StoreError> {
        let ids = serde_json::to_string(ticket_ids).unwrap_or_else(|_| "[]".into());
        sqlx::query_scalar(
            "SELECT listed.value FROM json_each(?) AS listed
             WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.ticket_id = listed.value)
             ORDER BY listed.key",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await
        .context("looking for tickets without a job")
    }
}
