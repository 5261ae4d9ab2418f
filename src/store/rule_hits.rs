//! How often each rule matched, per UTC day: counted in the transaction that saves a
//! decision, so the counts never drift from the decisions they come from.

use sqlx::{Any, Transaction};

use super::{utc_day, Context, Store, StoreError};
use crate::clock::now_ms;

const DAY_MS: i64 = 86_400_000;

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
    tx: &mut Transaction<'_, Any>,
    job_id: i64,
) -> Result<(), StoreError> {
    let earlier: Option<(String, i64)> =
        sqlx::query_as("SELECT rules, created_at FROM decisions WHERE job_id = $1")
            .bind(job_id)
            .fetch_optional(&mut **tx)
            .await
            .context("reading a replaced decision's rules")?;
    let Some((rules, created_at)) = earlier else {
        return Ok(());
    };
    // Written by save_decision from a list of names; anything else counted nothing.
    let rules: Vec<String> = serde_json::from_str(&rules).unwrap_or_default();
    for rule in rules {
        sqlx::query("UPDATE rule_hits SET hits = hits - 1 WHERE rule = $1 AND day = $2")
            .bind(rule)
            .bind(utc_day(created_at))
            .execute(&mut **tx)
            .await
            .context("taking a replaced decision off the rule hits")?;
    }
    Ok(())
}

/// Counts one match of each of `rules` on the day of `at_ms`.
pub(super) async fn count(
    tx: &mut Transaction<'_, Any>,
    rules: &[String],
    at_ms: i64,
) -> Result<(), StoreError> {
    for rule in rules {
        sqlx::query(
            "INSERT INTO rule_hits (rule, day, hits) VALUES ($1, $2, 1)
             ON CONFLICT (rule, day) DO UPDATE SET hits = rule_hits.hits + 1",
        )
        .bind(rule)
        .bind(utc_day(at_ms))
        .execute(&mut **tx)
        .await
        .context("counting rule hits")?;
    }
    Ok(())
}

/// The first day of the last `days` days, today included.
fn first_of_last(days: i64) -> String {
    utc_day(now_ms() - (days - 1) * DAY_MS)
}

impl Store {
    /// Every rule that matched in the last 30 days, most matched first.
    pub async fn rule_hits(&self) -> Result<Vec<RuleHits>, StoreError> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT rule,
                    CAST(SUM(CASE WHEN day >= $1 THEN hits ELSE 0 END) AS BIGINT),
                    CAST(SUM(hits) AS BIGINT)
             FROM rule_hits WHERE day >= $2
             GROUP BY rule HAVING SUM(hits) > 0
             ORDER BY 3 DESC, 1",
        )
        .bind(first_of_last(7))
        .bind(first_of_last(30))
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
pub(super) async fn prune(tx: &mut Transaction<'_, Any>) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM rule_hits WHERE day < $1")
        .bind(first_of_last(30))
        .execute(&mut **tx)
        .await
        .context("pruning rule hits")?;
    Ok(())
}
