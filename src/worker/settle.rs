//! What became of a job: done, retried later with backoff, or parked as dead.

use std::time::Duration;

use backon::BackoffBuilder;

use super::outage::Outage;
use crate::config::WorkerSettings;
use crate::pipeline::JobError;
use crate::store::{Job, Store, StoreError};

/// What happened to a job that [`super::Worker::run_one`] claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Done,
    Retrying {
        error: String,
    },
    Dead {
        error: String,
    },
    /// The job's lease is no longer ours: another worker holds it now, or it could not be
    /// renewed (the job was stopped and is claimed again once the lease runs out).
    LeaseLost,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobReport {
    pub job_id: i64,
    pub ticket_id: i64,
    pub outcome: JobOutcome,
}

/// Records the result on the job: done, retry later, or dead. Tells `outage` whether
/// Halo answered.
pub async fn settle(
    store: &Store,
    settings: &WorkerSettings,
    outage: &Outage,
    job: &Job,
    result: Result<(), JobError>,
) -> Result<JobOutcome, StoreError> {
    match &result {
        Err(JobError::Halo(error)) if error.is_retryable() => {
            outage.halo_failed(&error.to_string())
        }
        Ok(()) | Err(JobError::Halo(_)) => outage.halo_answered(),
        Err(_) => {}
    }
    let (kept, outcome) = match result {
        Ok(()) => (store.finish_job(job).await?, JobOutcome::Done),
        Err(JobError::LeaseLost) => (false, JobOutcome::LeaseLost),
        Err(error) => {
            let message = error.to_string();
            let attempts_left = job.attempts_used() < i64::from(settings.max_attempts);
            if error.is_retryable() && attempts_left {
                let delay = retry_delay(settings, job.attempts_used(), error.retry_after());
                tracing::warn!(error = %message, retry_in_secs = delay.as_secs(), "job failed; will retry");
                let kept = store.retry_job(job, delay, &message).await?;
                (kept, JobOutcome::Retrying { error: message })
            } else {
                tracing::error!(error = %message, attempts = job.attempts, "job failed for good: parked as dead");
                let kept = store.bury_job(job, &message).await?;
                (kept, JobOutcome::Dead { error: message })
            }
        }
    };
    if !kept {
        tracing::warn!("job lease expired before it finished; another worker owns it now");
        return Ok(JobOutcome::LeaseLost);
    }
    Ok(outcome)
}

/// Exponential backoff with jitter by attempt, or Halo's Retry-After when longer.
fn retry_delay(
    settings: &WorkerSettings,
    attempts: i64,
    retry_after: Option<Duration>,
) -> Duration {
    let backoff = backon::ExponentialBuilder::default()
        .with_min_delay(settings.retry_base)
        .with_max_delay(settings.retry_max)
        .with_max_times(attempts.max(1) as usize)
        .with_jitter()
        .build()
        .last()
        .unwrap_or_default();
    // Halo's Retry-After counts, up to our own ceiling.
    backoff.max(retry_after.unwrap_or_default().min(settings.retry_max))
}
