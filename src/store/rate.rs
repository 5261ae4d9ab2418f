//! Rate budgets shared by every process on the store: one row per budget, taken from in
//! one statement by the database's clock, so replicas on several hosts stay within one
//! limit together.

use std::time::Duration;

use super::{Backend, Context, Store, StoreError};

impl Store {
    /// Takes one request from the budget `name`, which allows a burst of `burst` and then
    /// one every `period` (GCRA: the row keeps when the next request would be due if they
    /// went out evenly). `None` when taken, else how long until one is free.
    pub async fn take_rate(
        &self,
        name: &str,
        period: Duration,
        burst: u32,
    ) -> Result<Option<Duration>, StoreError> {
        let now = match self.backend {
            Backend::Sqlite => "CAST(unixepoch('subsec') * 1000 AS INTEGER)",
            Backend::Postgres => "CAST(EXTRACT(EPOCH FROM statement_timestamp()) * 1000 AS BIGINT)",
        };
        let period_ms = period.as_millis().max(1) as i64;
        let tolerance_ms = period_ms * (i64::from(burst.max(1)) - 1);
        let taken = sqlx::query(&format!(
            "INSERT INTO rate_budgets (name, tat_ms) VALUES ($1, {now} + $2)
             ON CONFLICT (name) DO UPDATE
             SET tat_ms = CASE WHEN rate_budgets.tat_ms > {now} THEN rate_budgets.tat_ms
                               ELSE {now} END + $2
             WHERE rate_budgets.tat_ms - {now} <= $3"
        ))
        .bind(name)
        .bind(period_ms)
        .bind(tolerance_ms)
        .execute(&self.writes)
        .await
        .context("taking from the shared rate budget")?;
        if taken.rows_affected() == 1 {
            return Ok(None);
        }
        let wait_ms: i64 = sqlx::query_scalar(&format!(
            "SELECT tat_ms - {now} - $2 FROM rate_budgets WHERE name = $1"
        ))
        .bind(name)
        .bind(tolerance_ms)
        .fetch_one(&self.reads)
        .await
        .context("reading the shared rate budget")?;
        Ok(Some(Duration::from_millis(wait_ms.max(1) as u64)))
    }
}
