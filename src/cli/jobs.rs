//! `halo-triage jobs ...`: the queue and its dead letters, over the store. They work beside
//! a running service, which picks replayed jobs up at its next poll.

use std::fmt::Write;

use crate::config::Settings;
use crate::store::{JobStatus, JobSummary, Replay, Store, StoreError};

/// Which dead jobs to replay.
pub enum ReplayTarget {
    One(i64),
    AllDead,
}

/// The jobs as a table, newest first.
pub async fn list_jobs(
    settings: &Settings,
    status: Option<JobStatus>,
    limit: i64,
) -> Result<String, StoreError> {
    let store = Store::connect(&settings.store).await?;
    Ok(jobs_table(&store.list_jobs(status, limit).await?))
}

fn jobs_table(jobs: &[JobSummary]) -> String {
    if jobs.is_empty() {
        return "no jobs\n".into();
    }
    let mut table = format!(
        "{:>8}  {:>10}  {:<8}  {:>8}  last error\n",
        "job", "ticket", "status", "attempts"
    );
    for job in jobs {
        let _ = writeln!(
            table,
            "{:>8}  {:>10}  {:<8}  {:>8}  {}",
            job.id,
            job.ticket_id,
            job.status.as_str(),
            job.attempts,
            job.last_error.as_deref().unwrap_or("-")
        );
    }
    table
}

/// Replays dead jobs; the message says what happened and whether it succeeded.
pub async fn replay(
    settings: &Settings,
    target: ReplayTarget,
) -> Result<(bool, String), StoreError> {
    let store = Store::connect(&settings.store).await?;
    Ok(match target {
        ReplayTarget::AllDead => {
            let replayed = store.replay_all_dead().await?;
            (true, format!("{replayed} dead job(s) queued again"))
        }
        ReplayTarget::One(id) => {
            let replay = store.replay_job(id).await?;
            (replay == Replay::Queued, replay.describe(id))
        }
    })
}
