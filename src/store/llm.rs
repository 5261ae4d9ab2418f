//! The LLM's daily token count and its answer cache.

use super::{Context, Store, StoreError};
use crate::clock::now_ms;

/// Today's date in UTC, the budget's day.
fn today() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%d").to_string()
}

impl Store {
    pub async fn llm_tokens_today(&self) -> Result<u64, StoreError> {
        let tokens: Option<i64> = sqlx::query_scalar("SELECT tokens FROM llm_usage WHERE day = ?")
            .bind(today())
            .fetch_optional(&self.pool)
            .await
            .context("reading today's LLM tokens")?;
        Ok(tokens.unwrap_or(0).max(0) as u64)
    }

    pub async fn add_llm_tokens(&self, tokens: u64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO llm_usage (day, tokens) VALUES (?, ?)
             ON CONFLICT (day) DO UPDATE SET tokens = tokens + excluded.tokens",
        )
        .bind(today())
        .bind(tokens as i64)
        .execute(&self.pool)
        .await
        .context("counting LLM tokens")?;
        Ok(())
    }

    /// An answer stored under `key` within the last `window_ms`.
    pub async fn cached_llm_answer(
        &self,
        key: &str,
        window_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT content FROM llm_cache WHERE key = ? AND created_at >= ?")
            .bind(key)
            .bind(now_ms() - window_ms)
            .fetch_optional(&self.pool)
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
            "INSERT INTO llm_cache (key, content, created_at) VALUES (?, ?, ?)
             ON CONFLICT (key) DO UPDATE SET content = excluded.content,
                                             created_at = excluded.created_at",
        )
        .bind(key)
        .bind(content)
        .bind(now_ms())
        .execute(&self.pool)
        .await
        .context("storing an LLM answer")?;
        sqlx::query("DELETE FROM llm_cache WHERE created_at < ?")
            .bind(now_ms() - keep_ms)
            .execute(&self.pool)
            .await
            .context("pruning the LLM cache")?;
        Ok(())
    }
}
