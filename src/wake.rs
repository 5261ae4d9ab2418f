//! Waking idle workers when jobs are queued: one worker per new job, not every worker (with
//! many workers, waking all of them sent each to claim, every claim a write on SQLite's one
//! write connection, for one of them to win).

use std::sync::Arc;

use tokio::sync::futures::Notified;
use tokio::sync::Notify;

/// Shared by whatever queues jobs and the workers; cheap to clone.
#[derive(Clone, Default)]
pub struct Wake(Arc<Notify>);

/// More wake-ups than this are not sent at once: a worker that finishes a job claims the
/// next without being woken.
const MOST_AT_ONCE: usize = 1024;

impl Wake {
    /// `jobs` new jobs are due: wakes as many idle workers. A wake-up finding no idle
    /// worker is kept for the next worker that goes idle.
    pub fn jobs_queued(&self, jobs: usize) {
        for _ in 0..jobs.min(MOST_AT_ONCE) {
            self.0.notify_one();
        }
    }

    /// Resolves at the next wake-up meant for this worker.
    pub fn notified(&self) -> Notified<'_> {
        self.0.notified()
    }
}
