//! The reconciler: Halo's webhooks can be lost or auto-disabled, so every
//! `reconcile.interval_secs` the tickets opened since the last pass are listed and those no
//! webhook brought are queued like a delivery. A ticket that has a job is never queued twice.
//! One process per store reconciles: its lease lasts one and a half intervals and is
//! renewed by each pass, so another process takes over within that time of its end.

use std::sync::Arc;

use serde_json::json;
use tokio::sync::watch;

use super::{PassError, TaskLease};
use crate::clock::now_ms;
use crate::config::ReconcileSettings;
use crate::halo::HaloClient;
use crate::store::{DeliveryOutcome, NewJob, Store};
use crate::wake::Wake;

/// The watermark's name in the store: the start of the last successful pass.
const WATERMARK: &str = "reconcile";
/// The start of the first pass ever: no pass looks further back, so a newly installed
/// service never acknowledges tickets opened before it ran.
const FLOOR: &str = "reconcile_floor";
/// The event name of the jobs the reconciler queues.
pub const EVENT: &str = "reconciled";

/// What one pass found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassReport {
    /// Halo's date string the pass listed tickets from.
    pub since: String,
    /// Tickets Halo listed.
    pub listed: usize,
    /// Tickets queued because no webhook had brought them.
    pub queued: Vec<i64>,
    /// False when `reconcile.max_pages` cut the listing short.
    pub complete: bool,
}

#[derive(Clone)]
pub struct Reconciler {
    store: Store,
    halo: HaloClient,
    settings: ReconcileSettings,
    /// Wakes idle workers when a pass queues work.
    wake: Wake,
    lease: Arc<TaskLease>,
}

impl Reconciler {
    pub fn new(
        store: Store,
        halo: HaloClient,
        settings: ReconcileSettings,
        wake: Wake,
    ) -> Reconciler {
        let lease = TaskLease::new(store.clone(), "reconcile", settings.interval * 3 / 2);
        Reconciler {
            store,
            halo,
            settings,
            wake,
            lease: Arc::new(lease),
        }
    }

    /// A pass at once, then one every interval, until `stop` turns true (a pass in
    /// progress is abandoned: its watermark is not moved, so the next start repeats it).
    pub async fn run(self, stop: watch::Receiver<bool>) {
        super::every(self.settings.interval, stop, || async {
            match self.pass().await {
                Ok(Some(report)) if !report.queued.is_empty() => tracing::warn!(
                    queued = ?report.queued, since = %report.since,
                    "reconciler queued tickets no webhook brought"
                ),
                Ok(Some(report)) => tracing::debug!(listed = report.listed, "reconciler: nothing missed"),
                Ok(None) => tracing::debug!("reconciler: another process reconciles this store"),
                Err(error) => tracing::warn!(%error, "reconciler pass failed; the next pass covers its period"),
            }
        })
        .await
    }

    /// Lists the tickets opened since the watermark (less the overlap, but never before
    /// the first pass), queues the ones without a job, then moves the watermark to this
    /// pass's start. `None`: another process holds the reconciler, nothing was done.
    pub async fn pass(&self) -> Result<Option<PassReport>, PassError> {
        if !self.lease.hold().await? {
            return Ok(None);
        }
        let started = now_ms();
        let overlap = self.settings.overlap.as_millis() as i64;
        let floor = match self.store.watermark(FLOOR).await? {
            Some(floor) => floor,
            None => {
                self.store.set_watermark(FLOOR, started).await?;
                started
            }
        };
        let watermark = self.store.watermark(WATERMARK).await?.unwrap_or(started);
        let from = (watermark - overlap).max(floor);
        let since = crate::halo::date_param(from);
        let settings = &self.settings;
        let (listed, complete) = self
            .halo
            .tickets_opened_since(
                &since,
                settings.page_size,
                settings.open_only,
                settings.max_pages,
            )
            .await?;
        let queued = self.store.tickets_without_jobs(&listed).await?;
        if !queued.is_empty() {
            let jobs: Vec<NewJob> = queued
                .iter()
                .map(|id| NewJob {
                    halo_delivery_id: None,
                    ticket_id: *id,
                    event: EVENT.into(),
                    // No ticket object: the worker reads the ticket from Halo.
                    payload: json!({ "event": EVENT, "object_id": id }).to_string(),
                })
                .collect();
            let body = json!({ "source": "reconciler", "since": since, "tickets": queued });
            self.store
                .record_delivery(
                    body.to_string().as_bytes(),
                    DeliveryOutcome::Accepted,
                    None,
                    &jobs,
                )
                .await?;
            self.wake.jobs_queued(jobs.len());
        }
        crate::telemetry::metrics::reconciled(queued.len());
        if complete {
            self.store.set_watermark(WATERMARK, started).await?;
        } else {
            // The watermark stays, so no ticket beyond the last page read is given up;
            // passes repeat the period until one reads every page.
            tracing::error!(
                max_pages = settings.max_pages,
                "more tickets than reconcile.max_pages pages since the watermark: raise reconcile.max_pages, or tickets past the last page are not reconciled"
            );
        }
        Ok(Some(PassReport {
            since,
            listed: listed.len(),
            queued,
            complete,
        }))
    }
}
