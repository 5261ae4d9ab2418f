//! Named points in time a background task has reached (the reconciler's watermark).

use super::{Context, Store, StoreError};

impl Store {
    /// The watermark `name` (unix ms), if it was ever set.
    pub async fn watermark(&self, name: &str) -> Result<Option<i64>, StoreError> {
        sqlx::query_scalar("SELECT at_ms FROM watermarks WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.reads)
            .await
            .context("reading a watermark")
    }

    pub async fn set_watermark(&self, name: &str, at_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO watermarks (name, at_ms) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET at_ms = excluded.at_ms",
        )
        .bind(name)
        .bind(at_ms)
        .execute(&*self.writer().await)
        .await
        .context("saving a watermark")?;
        Ok(())
    }
}
