//! Background loops that run beside the workers while the service serves: the reconciler
//! (tickets no webhook brought), the read-back (what people did with our decisions),
//! housekeeping (retention) and the watchers of the rules and the models. The first three
//! run in one process per store at a time ([`TaskLease`]); the watchers run in each, since
//! each holds its own rules and models.

pub(crate) mod housekeeping;
pub mod model_watch;
pub mod readback;
pub mod reconcile;
pub mod rules_watch;

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;

use crate::clock::now_ms;
use crate::halo::HaloError;
use crate::store::{Store, StoreError};

/// Why a pass of a task that reads Halo and writes the store failed.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error("asking Halo failed: {0}")]
    Halo(#[from] HaloError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs `pass` at once, then every `interval`, until `stop` turns true (a pass in progress
/// is abandoned then). A zero interval runs nothing.
pub(crate) async fn every<F, Fut>(interval: Duration, mut stop: watch::Receiver<bool>, mut pass: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    if interval.is_zero() {
        return;
    }
    loop {
        tokio::select! {
            _ = pass() => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
    }
}

/// The right to run a task that one process per store runs at a time: a row in the store
/// that names its holder and runs out unless renewed, so another process takes the task
/// over once the holder is gone (dead, or stopped).
pub(crate) struct TaskLease {
    store: Store,
    name: &'static str,
    /// This holder: the process, and a random part (two services in one process, as in
    /// the tests, are two holders).
    owner: String,
    lasts: Duration,
}

impl TaskLease {
    pub fn new(store: Store, name: &'static str, lasts: Duration) -> TaskLease {
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).expect("the operating system's random generator answers");
        let owner = format!(
            "pid {} {:016x}",
            std::process::id(),
            u64::from_le_bytes(nonce)
        );
        TaskLease {
            store,
            name,
            owner,
            lasts,
        }
    }

    /// Takes or renews the lease for its time from now; false while another holds it.
    pub async fn hold(&self) -> Result<bool, StoreError> {
        let now = now_ms();
        let until = now + self.lasts.as_millis() as i64;
        self.store
            .hold_task_lease(self.name, &self.owner, now, until)
            .await
    }
}
