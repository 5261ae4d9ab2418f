//! The console's sign-in sessions. Only a digest of each session's cookie is kept, so the
//! database (a backup, a copy) lets nobody in.

use sqlx::FromRow;

use super::{Context, Store, StoreError};
use crate::clock::now_ms;

/// A signed-in operator's session.
#[derive(Debug, Clone, FromRow)]
pub struct ConsoleSession {
    /// The token every form of this session carries (CSRF).
    pub csrf: String,
    pub expires_at: i64,
}

impl Store {
    /// Starts a session; `id_hash` is the digest of the cookie's value.
    pub async fn start_console_session(
        &self,
        id_hash: &str,
        csrf: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let writer = self.writer().await;
        let mut tx = writer.begin().await.context("starting a transaction")?;
        // Sessions that ran out go here, where one is written, not on every page.
        sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await
            .context("removing ended console sessions")?;
        sqlx::query(
            "INSERT INTO console_sessions (id_hash, csrf, created_at, expires_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id_hash)
        .bind(csrf)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await
        .context("starting a console session")?;
        tx.commit().await.context("committing a console session")?;
        Ok(())
    }

    /// The session whose cookie digest is `id_hash`, unless it has ended.
    pub async fn console_session(
        &self,
        id_hash: &str,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        sqlx::query_as(
            "SELECT csrf, expires_at FROM console_sessions WHERE id_hash = $1 AND expires_at > $2",
        )
        .bind(id_hash)
        .bind(now_ms())
        .fetch_optional(&self.reads)
        .await
        .context("reading a console session")
    }

    /// Ends a session (sign-out).
    pub async fn end_console_session(&self, id_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&*self.writer().await)
            .await
            .context("ending a console session")?;
        Ok(())
    }
}
