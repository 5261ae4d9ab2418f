//! The read-back of decisions: which wait to be compared with what the ticket held once it
//! settled, the comparisons kept per field, and the counts the agreement report is made of.

use serde::Serialize;
use sqlx::FromRow;

use super::{fetch_by_ids, Context, Flag, Store, StoreError};

/// A decision waiting to be read back.
#[derive(Debug, Clone, FromRow)]
pub struct PendingDecision {
    pub id: i64,
    pub ticket_id: i64,
    pub mode: String,
    #[sqlx(try_from = "Flag")]
    pub applied: bool,
    pub decision: String,
    pub ticket_update: String,
    pub before: String,
    pub created_at: i64,
    /// A later decision of the same ticket exists: that one is compared, not this one.
    #[sqlx(try_from = "Flag")]
    pub superseded: bool,
}

/// What a pending decision is read as.
const PENDING_COLUMNS: &str = "id, ticket_id, mode, applied, decision, ticket_update, before,
    created_at, CASE WHEN EXISTS (SELECT 1 FROM decisions later
                                  WHERE later.ticket_id = d.ticket_id AND later.id > d.id)
                THEN 1 ELSE 0 END AS superseded";

/// One field of a decision compared with what the ticket held at read-back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadBack {
    pub decision_id: i64,
    pub ticket_id: i64,
    pub field: &'static str,
    /// `live` when our value was written to the ticket, else `shadow`.
    pub mode: &'static str,
    /// rule, default, model or llm; `None` for a field left for review.
    pub source_kind: Option<&'static str>,
    pub source_name: String,
    pub ours: Option<String>,
    pub theirs: Option<String>,
    /// agreed, disagreed, untouched, review or unread.
    pub outcome: &'static str,
    /// service, other, or `None` when Halo's answer does not say.
    pub set_by: Option<&'static str>,
    pub closed: bool,
    pub decided_at: i64,
}

/// Comparisons that share field, mode, source, outcome and values, counted.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct ReadBackCount {
    pub field: String,
    pub mode: String,
    pub source_kind: Option<String>,
    pub source_name: String,
    pub outcome: String,
    pub ours: Option<String>,
    pub theirs: Option<String>,
    pub count: i64,
}

impl Store {
    /// Pending decisions of the given tickets (whatever their age).
    pub async fn pending_decisions_of(
        &self,
        tickets: &[i64],
    ) -> Result<Vec<PendingDecision>, StoreError> {
        let select = format!(
            "SELECT {PENDING_COLUMNS} FROM decisions d
             WHERE read_back_at IS NULL AND ticket_id IN ({{ids}}) ORDER BY id"
        );
        fetch_by_ids(
            &self.reads,
            &select,
            tickets,
            "reading the decisions to read back",
        )
        .await
    }

    /// The oldest pending decisions made before `settled_before` (unix ms), at most `limit`.
    pub async fn settled_decisions(
        &self,
        settled_before: i64,
        limit: u32,
    ) -> Result<Vec<PendingDecision>, StoreError> {
        let sql = format!(
            "SELECT {PENDING_COLUMNS} FROM decisions d
             WHERE read_back_at IS NULL AND created_at <= $1 ORDER BY created_at, id LIMIT $2"
        );
        sqlx::query_as(&sql)
            .bind(settled_before)
            .bind(i64::from(limit))
            .fetch_all(&self.reads)
            .await
            .context("reading the settled decisions")
    }

    /// Keeps the comparisons and marks `decisions` read back, in one transaction: a pass
    /// stopped midway leaves each decision either read back whole or still pending.
    /// A decision read again (its job was replayed) has its comparisons replaced.
    pub async fn save_read_backs(
        &self,
        decisions: &[i64],
        read_backs: &[ReadBack],
        read_at: i64,
    ) -> Result<(), StoreError> {
        let writer = self.writer().await;
        let mut tx = writer.begin().await.context("starting a transaction")?;
        for r in read_backs {
            sqlx::query(
                "INSERT INTO readbacks (decision_id, field, ticket_id, mode, source_kind,
                     source_name, ours, theirs, outcome, set_by, closed, decided_at, read_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                 ON CONFLICT (decision_id, field) DO UPDATE
                 SET mode = excluded.mode, source_kind = excluded.source_kind,
                     source_name = excluded.source_name, ours = excluded.ours,
                     theirs = excluded.theirs, outcome = excluded.outcome,
                     set_by = excluded.set_by, closed = excluded.closed,
                     decided_at = excluded.decided_at, read_at = excluded.read_at",
            )
            .bind(r.decision_id)
            .bind(r.field)
            .bind(r.ticket_id)
            .bind(r.mode)
            .bind(r.source_kind)
            .bind(&r.source_name)
            .bind(&r.ours)
            .bind(&r.theirs)
            .bind(r.outcome)
            .bind(r.set_by)
            .bind(i64::from(r.closed))
            .bind(r.decided_at)
            .bind(read_at)
            .execute(&mut *tx)
            .await
            .context("saving a read-back")?;
        }
        for id in decisions {
            sqlx::query("UPDATE decisions SET read_back_at = $1 WHERE id = $2")
                .bind(read_at)
                .bind(id)
                .execute(&mut *tx)
                .await
                .context("marking a decision read back")?;
        }
        tx.commit().await.context("committing the read-back")?;
        Ok(())
    }

    /// The comparisons of decisions made since `since` (unix ms), counted by field, mode,
    /// source, outcome and values.
    pub async fn read_back_counts(&self, since: i64) -> Result<Vec<ReadBackCount>, StoreError> {
        sqlx::query_as(
            "SELECT field, outcome, ours, theirs, mode, source_kind, source_name,
                    COUNT(*) AS count
             FROM readbacks WHERE decided_at >= $1
             GROUP BY field, outcome, ours, theirs, mode, source_kind, source_name",
        )
        .bind(since)
        .fetch_all(&self.reads)
        .await
        .context("counting the read-backs")
    }

    /// The most recent tickets (at most `limit`) where the ticket ended with `theirs` in
    /// `field` when we decided `ours`.
    pub async fn disagreeing_tickets(
        &self,
        since: i64,
        field: &str,
        ours: &str,
        theirs: Option<&str>,
        limit: u32,
    ) -> Result<Vec<i64>, StoreError> {
        sqlx::query_scalar(
            "SELECT ticket_id FROM readbacks
             WHERE decided_at >= $1 AND field = $2 AND outcome = 'disagreed' AND ours = $3
               AND theirs IS NOT DISTINCT FROM $4
             ORDER BY decided_at DESC LIMIT $5",
        )
        .bind(since)
        .bind(field)
        .bind(ours)
        .bind(theirs)
        .bind(i64::from(limit))
        .fetch_all(&self.reads)
        .await
        .context("reading disagreeing tickets")
    }

    /// Corrections to `field` read back after `after` (unix ms): a person's value where
    /// ours differed, or where we left the field for review.
    pub async fn corrections_since(&self, field: &str, after: i64) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM readbacks WHERE field = $1 AND read_at > $2
               AND (outcome = 'disagreed' OR (outcome = 'review' AND theirs IS NOT NULL))",
        )
        .bind(field)
        .bind(after)
        .fetch_one(&self.reads)
        .await
        .context("counting corrections")
    }

    /// Tickets read back since `since` (unix ms), most recent first.
    pub async fn tickets_read_back_since(&self, since: i64) -> Result<Vec<i64>, StoreError> {
        sqlx::query_scalar(
            "SELECT ticket_id FROM readbacks WHERE read_at >= $1
             GROUP BY ticket_id ORDER BY MAX(read_at) DESC",
        )
        .bind(since)
        .fetch_all(&self.reads)
        .await
        .context("reading the tickets read back")
    }

    /// Decisions made since `since` (unix ms) that were read back.
    pub async fn decisions_read_back(&self, since: i64) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM decisions WHERE read_back_at IS NOT NULL AND created_at >= $1",
        )
        .bind(since)
        .fetch_one(&self.reads)
        .await
        .context("counting read-backs")
    }

    /// Decisions still waiting to be read back.
    pub async fn pending_read_backs(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COUNT(*) FROM decisions WHERE read_back_at IS NULL")
            .fetch_one(&self.reads)
            .await
            .context("counting pending read-backs")
    }

    /// Takes or renews the lease `name` for `owner` until `until_ms`, unless another owner
    /// holds it beyond `now_ms`. True when `owner` holds it now.
    pub async fn hold_task_lease(
        &self,
        name: &str,
        owner: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        let taken = sqlx::query(
            "INSERT INTO task_leases (name, owner, until_ms) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until_ms = excluded.until_ms
             WHERE task_leases.owner = excluded.owner OR task_leases.until_ms < $4",
        )
        .bind(name)
        .bind(owner)
        .bind(until_ms)
        .bind(now_ms)
        .execute(&*self.writer().await)
        .await
        .context("taking a task lease")?;
        Ok(taken.rows_affected() == 1)
    }
}
