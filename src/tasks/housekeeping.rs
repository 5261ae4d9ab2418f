//! Background upkeep: pruning the store to `store.retention_days`, at start and hourly.

use std::time::Duration;

use tokio::sync::watch;

use super::TaskLease;
use crate::clock::now_ms;
use crate::store::Store;

const EVERY: Duration = Duration::from_secs(3600);

/// Prunes until `stop` turns true; a zero `retention` keeps everything. One process per
/// store prunes (a lease of one and a half hours, renewed by each pruning).
pub async fn run(store: Store, retention: Duration, stop: watch::Receiver<bool>) {
    if retention.is_zero() {
        return;
    }
    let retention_ms = retention.as_millis() as i64;
    let retention_days = retention.as_secs() / 86_400;
    let lease = TaskLease::new(store.clone(), "housekeeping", EVERY * 3 / 2);
    super::every(EVERY, stop, || async {
        match lease.hold().await {
            Ok(true) => {}
            Ok(false) => return tracing::debug!("another process prunes this store"),
            Err(error) => {
                return tracing::warn!(%error, "pruning the store failed; trying again later")
            }
        }
        match store.prune(now_ms() - retention_ms).await {
            Ok(pruned) => tracing::info!(?pruned, retention_days, "store pruned"),
            Err(error) => tracing::warn!(%error, "pruning the store failed; trying again later"),
        }
    })
    .await
}
