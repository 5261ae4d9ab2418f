//! Rate budgets shared by every process on the store (GCRA: a budget is the time at which
//! the next request would be due if requests went out evenly; one may go while that is at
//! most a burst's worth of periods ahead of now).
//!
//! On Postgres a budget is a row, read and written under its row lock by the database's
//! clock, so replicas on several hosts share one limit. On SQLite every process is on one
//! host: a budget is a line in a file beside the database, `<db>-rates`, read and written
//! under an exclusive file lock. A row there would cost a commit on the one write
//! connection per Halo request, a tenth of the throughput at 500 deliveries/s
//! (docs/benchmarks.md); the file costs no fsync, and the budget needs none.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Context, Store, StoreError};
use crate::clock::now_ms;

/// The budget after one more request at `now_ms`: `Ok` with the new due time when it may
/// go, `Err` with the milliseconds until it may.
fn take_one(due_ms: Option<i64>, now_ms: i64, period_ms: i64, burst: u32) -> Result<i64, i64> {
    let due = due_ms.unwrap_or(now_ms).max(now_ms);
    let tolerance = period_ms * (i64::from(burst.max(1)) - 1);
    match due - now_ms <= tolerance {
        true => Ok(due + period_ms),
        false => Err(due - now_ms - tolerance),
    }
}

impl Store {
    /// Takes one request from the budget `name`, which allows a burst of `burst` and then
    /// one every `period`. `None` when taken, else how long until one is free.
    pub async fn take_rate(
        &self,
        name: &str,
        period: Duration,
        burst: u32,
    ) -> Result<Option<Duration>, StoreError> {
        let period_ms = period.as_millis().max(1) as i64;
        let taken = match &self.rates_file {
            Some(file) => {
                let (file, name) = (file.clone(), name.to_string());
                tokio::task::spawn_blocking(move || take_from_file(&file, &name, period_ms, burst))
                    .await
                    .map_err(|e| StoreError::Rates(e.to_string()))?
                    .map_err(|e| StoreError::Rates(e.to_string()))?
            }
            None => self.take_from_row(name, period_ms, burst).await?,
        };
        Ok(taken
            .err()
            .map(|wait_ms| Duration::from_millis(wait_ms.max(1) as u64)))
    }

    async fn take_from_row(
        &self,
        name: &str,
        period_ms: i64,
        burst: u32,
    ) -> Result<Result<i64, i64>, StoreError> {
        let mut tx = self
            .writes
            .begin()
            .await
            .context("starting a transaction")?;
        sqlx::query(
            "INSERT INTO rate_budgets (name, tat_ms) VALUES ($1, 0) ON CONFLICT DO NOTHING",
        )
        .bind(name)
        .execute(&mut *tx)
        .await
        .context("creating a rate budget")?;
        let (due, now): (i64, i64) = sqlx::query_as(
            "SELECT tat_ms, CAST(EXTRACT(EPOCH FROM statement_timestamp()) * 1000 AS BIGINT)
             FROM rate_budgets WHERE name = $1 FOR UPDATE",
        )
        .bind(name)
        .fetch_one(&mut *tx)
        .await
        .context("reading a rate budget")?;
        let taken = take_one(Some(due), now, period_ms, burst);
        if let Ok(due) = taken {
            sqlx::query("UPDATE rate_budgets SET tat_ms = $1 WHERE name = $2")
                .bind(due)
                .bind(name)
                .execute(&mut *tx)
                .await
                .context("taking from a rate budget")?;
        }
        tx.commit().await.context("committing a rate budget")?;
        Ok(taken)
    }
}

/// Halo's client waits for this before every request (the service's, `learn`'s): the
/// budget `halo` of every process on the store.
impl crate::halo::SharedBudget for Store {
    fn take(
        &self,
        period: Duration,
        burst: u32,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Option<Duration>, String>> + Send + '_>,
    > {
        Box::pin(async move {
            self.take_rate("halo", period, burst)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// Where a SQLite store at `db` keeps its rate budgets.
pub(super) fn rates_file(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-rates");
    PathBuf::from(name)
}

/// Takes one request from the budget `name` in `file` (lines `NAME DUE_MS`), under an
/// exclusive lock held until the file is written back.
fn take_from_file(
    file: &Path,
    name: &str,
    period_ms: i64,
    burst: u32,
) -> std::io::Result<Result<i64, i64>> {
    let mut budgets = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(file)?;
    budgets.lock()?;
    let mut text = String::new();
    budgets.read_to_string(&mut text)?;
    let mut lines: Vec<(String, i64)> = text
        .lines()
        .filter_map(|line| {
            let (budget, due) = line.split_once(' ')?;
            Some((budget.to_string(), due.trim().parse().ok()?))
        })
        .collect();
    let due = lines.iter().find(|(budget, _)| budget == name).map(|l| l.1);
    let taken = take_one(due, now_ms(), period_ms, burst);
    if let Ok(due) = taken {
        lines.retain(|(budget, _)| budget != name);
        lines.push((name.to_string(), due));
        let text: String = lines.iter().map(|(b, d)| format!("{b} {d}\n")).collect();
        budgets.rewind()?;
        budgets.set_len(0)?;
        budgets.write_all(text.as_bytes())?;
    }
    Ok(taken)
}

#[cfg(test)]
mod tests {
    use super::take_one;

    #[test]
    fn a_burst_then_one_per_period() {
        let mut due = None;
        for _ in 0..3 {
            due = Some(take_one(due, 1_000, 100, 3).unwrap());
        }
        assert_eq!(
            take_one(due, 1_000, 100, 3),
            Err(100),
            "the fourth waits a period"
        );
        assert_eq!(take_one(due, 1_100, 100, 3), Ok(1_400));
        assert_eq!(
            take_one(Some(0), 5_000, 100, 3),
            Ok(5_100),
            "an old due time is now"
        );
    }
}
