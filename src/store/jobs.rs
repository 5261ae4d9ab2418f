//! The job queue: claim with a lease in one statement, then finish, retry or bury.

use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use sqlx::{Any, Transaction};

use super::group_commit::{self, Grouped};
use super::{fetch_by_ids, Backend, Context, Store, StoreError};
use crate::clock::now_ms;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Dead,
}

impl JobStatus {
    /// The lower-case name a status has in the store and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Dead => "dead",
        }
    }
}

impl FromStr for JobStatus {
    type Err = String;

    fn from_str(text: &str) -> Result<JobStatus, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "queued" => Ok(JobStatus::Queued),
            "running" => Ok(JobStatus::Running),
            "done" => Ok(JobStatus::Done),
            "dead" => Ok(JobStatus::Dead),
            other => Err(format!(
                "'{other}' is not a job status (queued, running, done or dead)"
            )),
        }
    }
}

impl TryFrom<String> for JobStatus {
    type Error = String;

    fn try_from(text: String) -> Result<JobStatus, String> {
        text.parse()
    }
}

/// A claimed job. `attempts` doubles as the lease's fencing token: a worker whose lease
/// expired and was re-claimed can no longer finish the job.
#[derive(Debug, Clone, FromRow)]
pub struct Job {
    pub id: i64,
    pub ticket_id: i64,
    pub event: String,
    pub payload: String,
    pub attempts: i64,
    /// `attempts` when the job was last replayed from the dead letters (0 if never).
    pub attempts_at_replay: i64,
    /// When the delivery was stored (unix ms): the ticket's arrival when Halo gives none.
    pub created_at: i64,
}

impl Job {
    /// Attempts made since the job was queued or last replayed.
    pub fn attempts_used(&self) -> i64 {
        self.attempts - self.attempts_at_replay
    }
}

/// A job as operators see it (`jobs list`, `/admin/jobs`).
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct JobSummary {
    pub id: i64,
    pub ticket_id: i64,
    pub event: String,
    #[sqlx(try_from = "String")]
    pub status: JobStatus,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// Unix ms: when a queued job is next due.
    pub next_attempt_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The queue at a glance, for metrics.
#[derive(Debug, Clone, Default)]
pub struct QueueStats {
    pub jobs_by_status: Vec<(String, i64)>,
    /// How long the oldest queued job has waited since its delivery (0 when none).
    pub oldest_queued_age_secs: f64,
}

const HOUR_MS: i64 = 3_600_000;

/// One hour of the jobs last touched in it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HourActivity {
    pub done: i64,
    /// Jobs that needed more than one attempt (done, waiting for a retry, or dead).
    pub retried: i64,
    pub dead: i64,
}

/// What asking to replay one job did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    Queued,
    NotFound,
    /// Only dead jobs are replayed; the job is in this state.
    NotDead(JobStatus),
}

impl Replay {
    /// What asking to replay job `id` did, in words (for the CLI and the admin API).
    pub fn describe(&self, id: i64) -> String {
        match self {
            Replay::Queued => format!("job {id} queued again"),
            Replay::NotFound => format!("no job {id}"),
            Replay::NotDead(status) => format!(
                "job {id} is {}: only dead jobs are replayed",
                status.as_str()
            ),
        }
    }
}

/// A lease renewal, right before a write to Halo or while a job runs: the job keeps its
/// lease only while its fencing token (`attempts`) is the one it claimed with. On SQLite
/// renewals are group-committed: the fences of a Halo batch (one per element) and the
/// workers' keep-alive renewals that come together share one commit.
pub(super) struct Renewal {
    job_id: i64,
    attempts: i64,
    lease: Duration,
    /// The ticket whose acknowledgement is about to be sent: recorded as 'sending' in the
    /// same commit, and only when the lease is still the job's.
    ack_of: Option<i64>,
}

impl Grouped for Renewal {
    /// False when another worker has taken the job over.
    type Output = bool;
    const GROUP: usize = 256;
    const QUEUED: usize = 4_096;
    const WHAT: &'static str = "lease renewals";

    async fn write(&self, tx: &mut Transaction<'_, Any>, now: i64) -> Result<bool, StoreError> {
        let renewed = sqlx::query(
            "UPDATE jobs SET lease_until = $1, updated_at = $2
             WHERE id = $3 AND status = 'running' AND attempts = $4",
        )
        .bind(now + self.lease.as_millis() as i64)
        .bind(now)
        .bind(self.job_id)
        .bind(self.attempts)
        .execute(&mut **tx)
        .await
        .context("extending a job's lease")?;
        if renewed.rows_affected() != 1 {
            return Ok(false);
        }
        if let Some(ticket_id) = self.ack_of {
            super::acks::mark_sending(tx, ticket_id).await?;
        }
        Ok(true)
    }
}

impl Store {
    /// Which of `ticket_ids` have no job yet, in their order, a query per 500 ids.
    pub async fn tickets_without_jobs(&self, ticket_ids: &[i64]) -> Result<Vec<i64>, StoreError> {
        let known: Vec<(i64,)> = fetch_by_ids(
            &self.reads,
            "SELECT ticket_id FROM jobs WHERE ticket_id IN ({ids})",
            ticket_ids,
            "looking for tickets without a job",
        )
        .await?;
        let known: std::collections::HashSet<i64> = known.into_iter().map(|(id,)| id).collect();
        Ok(ticket_ids
            .iter()
            .copied()
            .filter(|id| !known.contains(id))
            .collect())
    }

    /// Claims the oldest due job: queued and due, or running with an expired lease (its
    /// worker died). A ticket is only ever worked on by one live lease at a time.
    /// A job whose lease ran out on its last allowed attempt is buried instead: it may be
    /// what kills the worker.
    pub async fn claim_job(
        &self,
        lease: Duration,
        max_attempts: u32,
    ) -> Result<Option<Job>, StoreError> {
        let now = now_ms();
        // One commit for both statements.
        let writer = self.writer().await;
        let mut tx = writer.begin().await.context("starting a transaction")?;
        sqlx::query(
            "UPDATE jobs
             SET status = 'dead', lease_until = NULL, updated_at = $1,
                 last_error = 'the lease expired on attempt ' || attempts
                              || ': the worker stopped or hung while processing this job'
             WHERE status = 'running' AND lease_until < $1 AND attempts - attempts_at_replay >= $2",
        )
        .bind(now)
        .bind(i64::from(max_attempts))
        .execute(&mut *tx)
        .await
        .context("burying jobs whose lease kept expiring")?;
        // Replicas claiming at once on Postgres skip the rows another is claiming instead
        // of waiting for it and then finding the job taken; SQLite has one writer.
        let skip_locked = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE jobs
             SET status = 'running', attempts = attempts + 1, lease_until = $1, updated_at = $2
             WHERE id = (
                 SELECT id FROM jobs AS due
                 WHERE ((due.status = 'queued' AND due.next_attempt_at <= $2)
                        OR (due.status = 'running' AND due.lease_until < $2))
                   AND NOT EXISTS (
                       SELECT 1 FROM jobs AS busy
                       WHERE busy.ticket_id = due.ticket_id AND busy.id <> due.id
                         AND busy.status = 'running' AND busy.lease_until >= $2)
                 ORDER BY due.next_attempt_at, due.id
                 LIMIT 1 {skip_locked})
             RETURNING id, ticket_id, event, payload, attempts, attempts_at_replay, created_at"
        );
        let claimed = sqlx::query_as(&sql)
            .bind(now + lease.as_millis() as i64)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await
            .context("claiming a job")?;
        tx.commit().await.context("committing a claim")?;
        Ok(claimed)
    }

    /// Renews the lease before a write to Halo. False when another worker has taken the
    /// job over: the caller must stop without writing.
    pub async fn extend_lease(&self, job: &Job, lease: Duration) -> Result<bool, StoreError> {
        self.renew(job, lease, None).await
    }

    /// Renews the lease right before the acknowledgement goes out, and records in the same
    /// commit that it is being sent ('sending', unless the ledger has the ticket already):
    /// one commit where there were two, and nothing recorded when the lease is lost.
    pub async fn extend_lease_marking_ack(
        &self,
        job: &Job,
        lease: Duration,
        ticket_id: i64,
    ) -> Result<bool, StoreError> {
        self.renew(job, lease, Some(ticket_id)).await
    }

    async fn renew(
        &self,
        job: &Job,
        lease: Duration,
        ack_of: Option<i64>,
    ) -> Result<bool, StoreError> {
        let renewal = Renewal {
            job_id: job.id,
            attempts: job.attempts,
            lease,
            ack_of,
        };
        if let Some(renewals) = &self.renewals {
            return group_commit::submit(renewals, renewal).await;
        }
        let writer = self.writer().await;
        let mut tx = writer.begin().await.context("starting a transaction")?;
        let renewed = renewal.write(&mut tx, now_ms()).await?;
        tx.commit().await.context("committing a lease renewal")?;
        Ok(renewed)
    }

    /// Marks the job done. False when the lease was lost to another worker.
    pub async fn finish_job(&self, job: &Job) -> Result<bool, StoreError> {
        self.release(job, JobStatus::Done, now_ms(), None).await
    }

    /// Puts the job back in the queue until `after` has passed.
    pub async fn retry_job(
        &self,
        job: &Job,
        after: Duration,
        error: &str,
    ) -> Result<bool, StoreError> {
        let at = now_ms() + after.as_millis() as i64;
        self.release(job, JobStatus::Queued, at, Some(error)).await
    }

    /// Parks the job as dead: kept with its error, not tried again until replayed.
    pub async fn bury_job(&self, job: &Job, error: &str) -> Result<bool, StoreError> {
        self.release(job, JobStatus::Dead, now_ms(), Some(error))
            .await
    }

    async fn release(
        &self,
        job: &Job,
        status: JobStatus,
        next_attempt_at: i64,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE jobs
             SET status = $1, next_attempt_at = $2, lease_until = NULL,
                 last_error = COALESCE($3, last_error), updated_at = $4
             WHERE id = $5 AND status = 'running' AND attempts = $6",
        )
        .bind(status.as_str())
        .bind(next_attempt_at)
        .bind(error)
        .bind(now_ms())
        .bind(job.id)
        .bind(job.attempts)
        .execute(&*self.writer().await)
        .await
        .context("releasing a job")?;
        Ok(result.rows_affected() == 1)
    }
}

impl Store {
    /// Jobs, newest first, optionally only those in `status`.
    pub async fn list_jobs(
        &self,
        status: Option<JobStatus>,
        limit: i64,
    ) -> Result<Vec<JobSummary>, StoreError> {
        // Two statements: with a status, SQLite reads only that status from `jobs_due`.
        let columns = "SELECT id, ticket_id, event, status, attempts, last_error, \
                       next_attempt_at, created_at, updated_at FROM jobs";
        let sql = match status {
            Some(_) => format!("{columns} WHERE status = $1 ORDER BY id DESC LIMIT $2"),
            None => format!("{columns} ORDER BY id DESC LIMIT $1"),
        };
        let mut listed = sqlx::query_as(&sql);
        if let Some(status) = status {
            listed = listed.bind(status.as_str());
        }
        listed
            .bind(limit)
            .fetch_all(&self.reads)
            .await
            .context("listing jobs")
    }

    pub async fn queue_stats(&self) -> Result<QueueStats, StoreError> {
        let jobs_by_status = sqlx::query_as("SELECT status, COUNT(*) FROM jobs GROUP BY status")
            .fetch_all(&self.reads)
            .await
            .context("counting jobs")?;
        let oldest: Option<i64> =
            sqlx::query_scalar("SELECT MIN(created_at) FROM jobs WHERE status = 'queued'")
                .fetch_one(&self.reads)
                .await
                .context("finding the oldest queued job")?;
        Ok(QueueStats {
            jobs_by_status,
            oldest_queued_age_secs: oldest.map_or(0.0, |at| (now_ms() - at).max(0) as f64 / 1000.0),
        })
    }

    /// Jobs finished, retried and dead in each of the last 24 hours, the oldest hour first.
    pub async fn job_activity(&self) -> Result<Vec<HourActivity>, StoreError> {
        let since = now_ms() - 24 * HOUR_MS;
        let rows: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT (updated_at - $1) / $2 AS hour,
                    SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END),
                    SUM(CASE WHEN attempts > 1 THEN 1 ELSE 0 END),
                    SUM(CASE WHEN status = 'dead' THEN 1 ELSE 0 END)
             FROM jobs WHERE updated_at >= $1 GROUP BY hour",
        )
        .bind(since)
        .bind(HOUR_MS)
        .fetch_all(&self.reads)
        .await
        .context("counting the last day's jobs")?;
        let mut hours = vec![HourActivity::default(); 24];
        for (hour, done, retried, dead) in rows {
            if let Some(slot) = usize::try_from(hour).ok().and_then(|h| hours.get_mut(h)) {
                *slot = HourActivity {
                    done,
                    retried,
                    dead,
                };
            }
        }
        Ok(hours)
    }

    /// Queues a dead job again, due now, with a fresh budget of attempts.
    pub async fn replay_job(&self, id: i64) -> Result<Replay, StoreError> {
        let replayed = self.replay_dead(Some(id)).await?;
        if replayed == 1 {
            return Ok(Replay::Queued);
        }
        let status: Option<String> = sqlx::query_scalar("SELECT status FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.reads)
            .await
            .context("reading a job's status")?;
        Ok(match status.map(|s| s.parse::<JobStatus>()) {
            Some(Ok(status)) => Replay::NotDead(status),
            // The table's CHECK allows no other status.
            Some(Err(_)) | None => Replay::NotFound,
        })
    }

    /// Queues every dead job again; returns how many.
    pub async fn replay_all_dead(&self) -> Result<u64, StoreError> {
        self.replay_dead(None).await
    }

    async fn replay_dead(&self, id: Option<i64>) -> Result<u64, StoreError> {
        let now = now_ms();
        let result = sqlx::query(
            "UPDATE jobs
             SET status = 'queued', next_attempt_at = $1, attempts_at_replay = attempts,
                 updated_at = $1
             WHERE status = 'dead' AND ($2 IS NULL OR id = $2)",
        )
        .bind(now)
        .bind(id)
        .execute(&*self.writer().await)
        .await
        .context("replaying dead jobs")?;
        Ok(result.rows_affected())
    }
}
