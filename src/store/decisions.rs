//! Decisions: what was decided for a ticket, what would be or was written, and why.

use sqlx::FromRow;

use super::{Backend, Context, Flag, Store, StoreError};
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
    /// The ticket's client, and the team it goes to: what the console searches by.
    pub client: String,
    pub team: Option<String>,
    /// The rules whose conditions matched, counted per day for the console.
    pub matched_rules: Vec<String>,
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
    #[sqlx(try_from = "Flag")]
    pub applied: bool,
    pub created_at: i64,
    pub client: Option<String>,
    pub team: Option<String>,
}

/// Which decisions to list, newest first; every filter given must hold.
#[derive(Debug, Clone, Default)]
pub struct DecisionFilter {
    pub ticket_id: Option<i64>,
    /// The start of the client's name, in any case.
    pub client: Option<String>,
    /// The start of the team's name, in any case.
    pub team: Option<String>,
    /// Only decisions older than this one (the next page).
    pub before_id: Option<i64>,
    pub limit: i64,
}

const DECISION_COLUMNS: &str =
    "id, job_id, ticket_id, mode, decision, ticket_update, notes, applied, created_at, client, team";

/// `text` as a LIKE pattern for names starting with it (`%`, `_` and `\\` taken literally).
fn starting_with(text: &str) -> String {
    let escaped = text
        .trim()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("{escaped}%")
}

impl Store {
    /// Saves the decision of a job, replacing the one of an earlier attempt, and keeps the
    /// rule hit counts in step (the earlier attempt's matches are taken off first).
    pub async fn save_decision(&self, record: &DecisionRecord) -> Result<(), StoreError> {
        let now = now_ms();
        let rules = serde_json::to_string(&record.matched_rules).unwrap_or_else(|_| "[]".into());
        let writer = self.writer().await;
        let mut tx = writer.begin().await.context("starting a transaction")?;
        super::rule_hits::uncount_decision(&mut tx, record.job_id).await?;
        sqlx::query(
            "INSERT INTO decisions (job_id, ticket_id, mode, decision, ticket_update, notes,
                                    before, client, team, rules, applied, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11)
             ON CONFLICT (job_id) DO UPDATE
             SET mode = excluded.mode, decision = excluded.decision,
                 ticket_update = excluded.ticket_update, notes = excluded.notes,
                 before = excluded.before, client = excluded.client, team = excluded.team,
                 rules = excluded.rules, applied = 0, created_at = excluded.created_at,
                 read_back_at = NULL",
        )
        .bind(record.job_id)
        .bind(record.ticket_id)
        .bind(record.mode.as_str())
        .bind(&record.decision_json)
        .bind(&record.ticket_update_json)
        .bind(&record.notes_json)
        .bind(&record.before_json)
        .bind(&record.client)
        .bind(&record.team)
        .bind(&rules)
        .bind(now)
        .execute(&mut *tx)
        .await
        .context("saving a decision")?;
        super::rule_hits::count(&mut tx, &record.matched_rules, now).await?;
        tx.commit().await.context("committing a decision")?;
        Ok(())
    }

    /// Records whether the ticket update reached Halo, and the final notes.
    pub async fn record_outcome(
        &self,
        job_id: i64,
        applied: bool,
        notes_json: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE decisions SET applied = $1, notes = $2 WHERE job_id = $3")
            .bind(i64::from(applied))
            .bind(notes_json)
            .bind(job_id)
            .execute(&*self.writer().await)
            .await
            .context("marking a decision applied")?;
        Ok(())
    }

    /// The decisions `filter` selects, newest first. Only the filters given become
    /// conditions, so each search reads through its own index; the ids are chosen from the
    /// index alone and only the page's rows are read (a common team matches a fifth of
    /// the store, and reading those rows to sort them took 0.1 s at 100,000 decisions).
    pub async fn find_decisions(
        &self,
        filter: &DecisionFilter,
    ) -> Result<Vec<StoredDecision>, StoreError> {
        // The conditions and their values, numbered as they are added (sqlx's QueryBuilder
        // writes `?`, which Postgres does not read).
        let mut conditions = String::new();
        let mut numbers: Vec<i64> = Vec::new();
        let mut texts: Vec<String> = Vec::new();
        if let Some(ticket_id) = filter.ticket_id {
            numbers.push(ticket_id);
            conditions.push_str(&format!(" AND ticket_id = ${}", numbers.len()));
        }
        if let Some(before) = filter.before_id {
            numbers.push(before);
            conditions.push_str(&format!(" AND id < ${}", numbers.len()));
        }
        numbers.push(filter.limit);
        let limit = numbers.len();
        // In any case, through each column's index: SQLite's LIKE ignores case by itself
        // and the columns' index is NOCASE; Postgres's index is on lower(column).
        let (lower, lower_end) = match self.backend {
            Backend::Sqlite => ("", ""),
            Backend::Postgres => ("lower(", ")"),
        };
        for (column, start) in [("client", &filter.client), ("team", &filter.team)] {
            if let Some(start) = start.as_deref().filter(|s| !s.trim().is_empty()) {
                texts.push(starting_with(start));
                let n = numbers.len() + texts.len();
                conditions.push_str(&format!(
                    " AND {lower}{column}{lower_end} LIKE {lower}${n}{lower_end} ESCAPE '\\'"
                ));
            }
        }
        let sql = format!(
            "SELECT {DECISION_COLUMNS} FROM decisions WHERE id IN (
                 SELECT id FROM decisions WHERE TRUE{conditions} ORDER BY id DESC LIMIT ${limit})
             ORDER BY id DESC"
        );
        let mut query = sqlx::query_as(&sql);
        for number in numbers {
            query = query.bind(number);
        }
        for text in texts {
            query = query.bind(text);
        }
        query
            .fetch_all(&self.reads)
            .await
            .context("reading decisions")
    }

    /// One decision by its id.
    pub async fn decision(&self, id: i64) -> Result<Option<StoredDecision>, StoreError> {
        sqlx::query_as(&format!(
            "SELECT {DECISION_COLUMNS} FROM decisions WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.reads)
        .await
        .context("reading a decision")
    }
}
