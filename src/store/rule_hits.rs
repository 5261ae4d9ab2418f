//! How often each rule matched, per UTC day: counted in the transaction that saves a
//! decision, so the counts never drift from the decisions they come from.

use sqlx::{Sqlite, Transaction};

use super::{Context, Store, StoreError};

/// A rule's matches over the last 7 and 30 days (today included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleHits {
    pub rule: String,
    pub last_7_days: i64,
    pub last_30_days: i64,
}

/// Takes the matches of `job_id`'s earlier decision off the counts (a retried job's
/// decision replaces the earlier one).
pub(super) async fn uncount_decision(
    tx: &mut Transaction<'_, Sqlite>,
    job_id: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE rule_hits SET hits = hits - 1
         WHERE (rule, day) IN (
             SELECT matched.value, date(decisions.created_at / 1000, 'unixepoch')
             FROM decisions, json_each(decisions.rules) AS matched
             WHERE decisions.job_id = ?)",
    )
    .bind(job_id)
    .execute(&mut **tx)
    .await
    .context("taking a replaced decision off the rule hits")?;
    Ok(())
}

/// Counts one match of each of `rules` on the day of `at_ms`.
pub(super) async fn count(
    tx: &mut Transaction<'_, Sqlite>,
    rules: &[String],
    at_ms: i64,
) -> Result<(), StoreError> {
    for rule in rules {
        sqlx::query(
            "INSERT INTO rule_hits (rule, day, hits) VALUES (?, date(? / 1000, 'unixepoch'), 1)
             ON CONFLICT (rule, day) DO UPDATE SET hits = hits + 1",
        )
        .bind(rule)
        .bind(at_ms)
        .execute(&mut **tx)
        .await
        .context("counting rule hits")?;
    }
    Ok(())
}

impl Store {
    /// Every rule that matched in the last 30 days, most matched first.
    pub async fn rule_hits(&self) -> Result<Vec<RuleHits>, StoreError> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT rule,
                    SUM(CASE WHEN day >= date('now', '-6 days') THEN hits ELSE 0 END),
                    SUM(hits)
             FROM rule_hits WHERE day >= date('now', '-29 days')
             GROUP BY rule HAVING SUM(hits) > 0
             ORDER BY 3 DESC, 1",
        )
        .fetch_all(&self.reads)
        .await
        .context("reading rule hits")?;
        Ok(rows
            .into_iter()
            .map(|(rule, last_7_days, last_30_days)| RuleHits {
                rule,
                last_7_days,
                last_30_days,
            })
            .collect())
    }
}

/// Drops the counts of days before the last 30 (with the retention pruning).
pub(super) async fn prune(tx: &mut Transaction<'_, Sqlite>) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM rule_hits WHERE day < date('now', '-29 days')")
        .execute(&mut **tx)
        .await
        .context("pruning rule hits")?;
    Ok(())
}
