//! Background loops that run beside the workers while the service serves: the reconciler
//! (tickets no webhook brought), the read-back (what people did with our decisions),
//! housekeeping (retention) and the watchers of the rules and the models.

pub(crate) mod housekeeping;
pub mod model_watch;
pub mod readback;
pub mod reconcile;
pub mod rules_watch;

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;

use crate::halo::HaloError;
use crate::store::StoreError;

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
