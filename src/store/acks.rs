//! The acknowledgement ledger: one row per ticket, so an acknowledgement is sent once.

use sqlx::{Any, Transaction};

use super::{Context, Store, StoreError};
use crate::clock::now_ms;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckStatus {
    /// About to be posted, or posted without the answer recorded (a crash in between).
    Sending,
    Sent,
}

impl AckStatus {
    fn as_str(self) -> &'static str {
        match self {
            AckStatus::Sending => "sending",
            AckStatus::Sent => "sent",
        }
    }
}

/// Records that the acknowledgement of `ticket_id` is about to be posted, unless the
/// ledger has the ticket already (a retry after a crash found no marker: still 'sending').
pub(super) async fn mark_sending(
    tx: &mut Transaction<'_, Any>,
    ticket_id: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO acknowledgements (ticket_id, status, action_id, updated_at)
         VALUES ($1, 'sending', NULL, $2)
         ON CONFLICT (ticket_id) DO NOTHING",
    )
    .bind(ticket_id)
    .bind(now_ms())
    .execute(&mut **tx)
    .await
    .context("recording the acknowledgement as sending")?;
    Ok(())
}

impl Store {
    pub async fn ack_status(&self, ticket_id: i64) -> Result<Option<AckStatus>, StoreError> {
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM acknowledgements WHERE ticket_id = $1")
                .bind(ticket_id)
                .fetch_optional(&self.reads)
                .await
                .context("reading the acknowledgement state")?;
        // The table's CHECK allows only these two.
        Ok(status.map(|s| match s.as_str() {
            "sent" => AckStatus::Sent,
            _ => AckStatus::Sending,
        }))
    }

    pub async fn set_ack_status(
        &self,
        ticket_id: i64,
        status: AckStatus,
        action_id: Option<i64>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO acknowledgements (ticket_id, status, action_id, updated_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (ticket_id) DO UPDATE
             SET status = excluded.status, action_id = excluded.action_id,
                 updated_at = excluded.updated_at",
        )
        .bind(ticket_id)
        .bind(status.as_str())
        .bind(action_id)
        .bind(now_ms())
        .execute(&*self.writer().await)
        .await
        .context("recording the acknowledgement state")?;
        Ok(())
    }
}
