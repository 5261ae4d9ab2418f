//! The LLM's daily calls and tokens (spent and reserved), and its answer cache.

use super::{Context, Store, StoreError};
use crate::clock::now_ms;

/// Today's date in UTC, the budget's day.
fn today() -> String {
    super::utc_day(now_ms())
}

/// Today's LLM calls and the tokens they spent (UTC day).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LlmUsage {
    pub calls: u64,
    pub tokens: u64,
}

impl Store {
    pub async fn llm_usage_today(&self) -> Result<LlmUsage, StoreError> {
        let usage: Option<(i64, i64)> =
            sqlx::query_as("SELECT calls, tokens FROM llm_usage WHERE day = $1")
                .bind(today())
                .fetch_optional(&self.reads)
                .await
                .context("reading today's LLM usage")?;
        let (calls, tokens) = usage.unwrap_or_default();
        Ok(LlmUsage {
            calls: calls.max(0) as u64,
            tokens: tokens.max(0) as u64,
        })
    }

    /// Reserves `estimate` tokens for a call about to be made, while the tokens spent and
    /// reserved today are under `budget`; false (nothing reserved) when they are not. One
    /// statement, so two workers cannot both take the last of the budget.
    pub async fn reserve_llm_call(&self, estimate: u64, budget: u64) -> Result<bool, StoreError> {
        let reserved = sqlx::query(
            "INSERT INTO llm_usage (day, tokens, calls, reserved) VALUES ($1, 0, 0, $2)
             ON CONFLICT (day) DO UPDATE SET reserved = llm_usage.reserved + excluded.reserved
             WHERE llm_usage.tokens + llm_usage.reserved < $3",
        )
        .bind(today())
        .bind(estimate as i64)
        .bind(budget as i64)
        .execute(&*self.writer().await)
        .await
        .context("reserving LLM tokens")?;
        Ok(reserved.rows_affected() == 1)
    }

    /// Counts one call to the LLM and the tokens it spent (none when it failed), and
    /// gives back the `reserved` tokens held for it.
    pub async fn count_llm_call(&self, tokens: u64, reserved: u64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO llm_usage (day, tokens, calls, reserved) VALUES ($1, $2, 1, 0)
             ON CONFLICT (day) DO UPDATE
             SET tokens = llm_usage.tokens + excluded.tokens, calls = llm_usage.calls + 1,
                 reserved = CASE WHEN llm_usage.reserved > $3 THEN llm_usage.reserved - $3
                                 ELSE 0 END",
        )
        .bind(today())
        .bind(tokens as i64)
        .bind(reserved as i64)
        .execute(&*self.writer().await)
        .await
        .context("counting an LLM call")?;
        Ok(())
    }

    /// An answer stored under `key` within the last `window_ms`.
    pub async fn cached_llm_answer(
        &self,
        key: &str,
        window_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT content FROM llm_cache WHERE key = $1 AND created_at >= $2")
            .bind(key)
            .bind(now_ms() - window_ms)
            .fetch_optional(&self.reads)
            .await
            .context("reading the LLM cache")
    }

    /// Stores an answer and drops those older than `keep_ms`.
    pub async fn cache_llm_answer(
        &self,
        key: &str,
        content: &str,
        keep_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO llm_cache (key, content, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO UPDATE SET content = excluded.content,
                                             created_at = excluded.created_at",
        )
        .bind(key)
        .bind(content)
        .bind(now_ms())
        .execute(&*self.writer().await)
        .await
        .context("storing an LLM answer")?;
        sqlx::query("DELETE FROM llm_cache WHERE created_at < $1")
            .bind(now_ms() - keep_ms)
            .execute(&*self.writer().await)
            .await
            .context("pruning the LLM cache")?;
        Ok(())
    }
}
