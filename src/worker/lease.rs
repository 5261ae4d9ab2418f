//! The lease of a running job, kept alive while the job runs: renewed every
//! `worker.lease_renew_secs`, so a short `worker.lease_secs` suffices however long the
//! job waits on Halo or the LLM, and the jobs of a killed process are taken over within
//! one lease of the restart.

use std::time::Duration;

use super::heartbeat::Heartbeat;
use crate::store::{Job, Store};

/// Renews `job`'s lease every `every` until a renewal fails, and returns why it failed:
/// another worker holds the job now, or the store could not be reached (so nothing can
/// prove the job is still ours). Each renewal is also a beat of the worker's heartbeat.
pub async fn keep_alive(
    store: &Store,
    job: &Job,
    lease: Duration,
    every: Duration,
    heartbeat: &Heartbeat,
) -> String {
    loop {
        tokio::time::sleep(every).await;
        match store.extend_lease(job, lease).await {
            Ok(true) => heartbeat.beat(),
            Ok(false) => return "another worker took the job over".into(),
            Err(error) => return format!("the lease could not be renewed: {error}"),
        }
    }
}
