//! Decisions: what was decided for a ticket, what would be or was written, and why.

use sqlx::FromRow;

use super::{Context, Store, StoreError};
use crate::clock::now_ms;
use crate::config::Mode;

/// A decision to keep; the JSON columns are produced by the worker.
#[derive(Debug, Clone)]
pub struct DecisionRecord {
    pub job_id: i64,
    pub ticket_id: i64,
    pub mode: Mode,
    pub decision_json: String,
    pub ticket_update_json: String,
    pub notes_json: String,
    /// What the ticket held in each decided or reviewed field before triage.
    pub before_json: String,
}

/// A decision as stored.
#[derive(Debug, Clone, FromRow)]
pub struct StoredDecision {
    pub id: i64,
    pub job_id: i64,
    pub ticket_id: i64,
    pub mode: String,
    pub decision: String,
    pub ticket_update: String,
    pub notes: String,
    pub applied: bool,
    pub created_at: i64,
}

impl Store {
    /// Saves the decision of a job, replacing the one of an earlier attempt.
    pub async fn save_decision(&self, record: &DecisionRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO decisions (job_id, ticket_id, mode, decision, ticket_update, notes,
                                    before, applied, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)
             ON CONFLICT (job_id) DO UPDATE
             SET mode = excluded.mode, decision = excluded.decision,
                 ticket_update = excluded.ticket_update, notes = excluded.notes,
                 before = excluded.before, applied = 0, created_at = excluded.created_at,
                 read_back_at = NULL",
        )
        .bind(record.job_id)
        .bind(record.ticket_id)
        .bind(record.mode.as_str())
        .bind(&record.decision_json)
        .bind(&record.ticket_update_json)
        .bind(&record.notes_json)
        .bind(&record.before_json)
        .bind(now_ms())
        .execute(&self.pool)
        .await
        .context("saving a decision")?;
        Ok(())
    }

    /// Records whether the ticket update reached Halo, and the final notes.
    pub async fn record_outcome(
        &self,
        job_id: i64,
        applied: bool,
        notes_json: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE decisions SET applied = ?, notes = ? WHERE job_id = ?")
            .bind(applied)
            .bind(notes_json)
            .bind(job_id)
            .execute(&self.pool)
            .await
            .context("marking a decision applied")?;
        Ok(())
    }

    /// The most recent decisions, newest first: of one ticket, or of all.
    pub async fn recent_decisions(
        &self,
        ticket_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<StoredDecision>, StoreError> {
        sqlx::query_as(
            "SELECT id, job_id, ticket_id, mode, decision, ticket_update, notes, applied, created_at
             FROM decisions WHERE ?1 IS NULL OR ticket_id = ?1 ORDER BY id DESC LIMIT ?2",
        )
        .bind(ticket_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .context("reading decisions")
    }
}
