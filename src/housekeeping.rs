//! Background upkeep: pruning the store to `store.retention_days`, at start and hourly.

use std::time::Duration;

use tokio::sync::watch;

use crate::store::{now_ms, Store};

const EVERY: Duration = Duration::from_secs(3600);

/// Prunes until `stop` turns true; `retention_days = 0` keeps everything.
pub async fn run(store: Store, retention_days: u64, mut stop: watch::Receiver<bool>) {
    if retention_days == 0 {
        return;
    }
    let retention_ms = (retention_days * 86_400_000) as i64;
    loop {
        match store.prune(now_ms() - retention_ms).await {
            Ok(pruned) => tracing::info!(?pruned, retention_days, "store pruned"),
            Err(error) => tracing::warn!(%error, "pruning the store failed; trying again later"),
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
    }
}
