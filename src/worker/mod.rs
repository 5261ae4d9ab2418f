//! The queue runtime: [`Worker::run_one`] claims one due job under a short lease, runs it
//! through the pipeline on a task of its own (a panic fails the job, not the worker) while
//! keeping the lease alive, and settles the result; [`Worker::run`] loops on it, keeps the heartbeat and pauses while Halo is
//! down. What a job does is `pipeline/`'s business.

mod heartbeat;
mod isolate;
mod lease;
mod outage;
mod settle;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tracing::Instrument;

use crate::config::WorkerSettings;
use crate::pipeline::{JobError, Pipeline};
use crate::store::{Job, Store, StoreError};
use crate::wake::Wake;

pub use heartbeat::Heartbeat;
pub use outage::Outage;
pub use settle::{JobOutcome, JobReport};

/// Runs jobs; cheap to clone, every clone shares the queue state.
#[derive(Clone)]
pub struct Worker {
    inner: Arc<JobContext>,
    heartbeat: Heartbeat,
    /// Jobs claimed and not yet settled, by id: put back in the queue when shutdown
    /// cuts them short.
    in_flight: Arc<Mutex<BTreeMap<i64, Job>>>,
}

/// What the queue needs to run jobs.
struct JobContext {
    store: Store,
    settings: WorkerSettings,
    /// Shared by all workers: pauses claiming while Halo is down.
    outage: Outage,
    pipeline: Pipeline,
}

impl Worker {
    pub fn new(settings: WorkerSettings, outage: Outage, pipeline: Pipeline) -> Worker {
        Worker {
            inner: Arc::new(JobContext {
                store: pipeline.store.clone(),
                settings,
                outage,
                pipeline,
            }),
            heartbeat: Heartbeat::default(),
            in_flight: Arc::default(),
        }
    }

    pub fn heartbeat(&self) -> Heartbeat {
        self.heartbeat.clone()
    }

    /// Claims and processes one due job; `None` when no job is due.
    pub async fn run_one(&self) -> Result<Option<JobReport>, StoreError> {
        let inner = &self.inner;
        let Some(job) = inner
            .store
            .claim_job(inner.settings.lease, inner.settings.max_attempts)
            .await?
        else {
            return Ok(None);
        };
        self.in_flight().insert(job.id, job.clone());
        let span = tracing::info_span!("job", job_id = job.id, ticket_id = job.ticket_id);
        let outcome = async {
            let context = inner.clone();
            let claimed = job.clone();
            let work = async move { context.pipeline.process(&claimed).await };
            let settings = &inner.settings;
            let keep_alive = lease::keep_alive(
                &inner.store,
                &job,
                settings.lease,
                settings.lease_renew,
                &self.heartbeat,
            );
            // A job whose lease cannot be kept is stopped where it is, before its next
            // write (dropping the isolated task aborts it).
            let result = tokio::select! {
                result = isolate::isolated(work.in_current_span()) => {
                    result.unwrap_or_else(|panic| Err(JobError::Panicked(panic)))
                }
                lost = keep_alive => {
                    tracing::warn!(reason = %lost, "job stopped: its lease is no longer ours");
                    Err(JobError::LeaseLost)
                }
            };
            settle::settle(&inner.store, &inner.settings, &inner.outage, &job, result).await
        }
        .instrument(span)
        .await;
        // Only our own claim: after a lost lease, another worker may hold the job now.
        let mut in_flight = self.in_flight();
        if in_flight
            .get(&job.id)
            .is_some_and(|held| held.attempts == job.attempts)
        {
            in_flight.remove(&job.id);
        }
        drop(in_flight);
        let outcome = outcome?;
        Ok(Some(JobReport {
            job_id: job.id,
            ticket_id: job.ticket_id,
            outcome,
        }))
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, BTreeMap<i64, Job>> {
        self.in_flight.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts jobs that were cut short (shutdown ran out of time) back in the queue, due
    /// now; returns how many. A job another worker has taken over meanwhile is left alone.
    pub async fn release_in_flight(&self) -> Result<usize, StoreError> {
        let jobs: Vec<Job> = std::mem::take(&mut *self.in_flight())
            .into_values()
            .collect();
        let mut released = 0;
        for job in &jobs {
            let message = "released at shutdown before it finished";
            if self
                .inner
                .store
                .retry_job(job, Duration::ZERO, message)
                .await?
            {
                tracing::warn!(job_id = job.id, ticket_id = job.ticket_id, "{message}");
                released += 1;
            }
        }
        Ok(released)
    }

    /// Runs until `stop` turns true: claim, process, and sleep when idle until woken.
    pub async fn run(self, wake: Wake, mut stop: watch::Receiver<bool>) {
        let idle = self.inner.settings.poll_interval;
        while !*stop.borrow() {
            self.heartbeat.beat();
            if let Some(pause) = self.inner.outage.wait() {
                // Short naps, so the heartbeat stays fresh through a long pause.
                tokio::select! {
                    _ = tokio::time::sleep(pause.min(idle)) => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
            // Registered before looking, so a delivery stored meanwhile still wakes us.
            let woken = wake.notified();
            match self.run_one().await {
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(error) => tracing::error!(%error, "worker cannot reach the store"),
            }
            tokio::select! {
                _ = woken => {}
                _ = tokio::time::sleep(idle) => {}
                _ = stop.changed() => {}
            }
        }
    }
}
