//! The read-back: every `report.interval_secs`, decisions whose tickets have settled
//! (`report.settle_secs` old, or closed) are compared with what the tickets now hold
//! (`report/compare.rs`), and the agreement gauges are refreshed.
//!
//! Few requests: a pass lists the tickets closed since the last pass (a page serves a
//! hundred), then the settled ones by id (`ticketids=`, a hundred a request), at most
//! `report.max_requests_per_pass` in all, through the service's rate budget. One process
//! per store reads back at a time (a lease row renewed before each request); each
//! decision's comparisons and its mark are one transaction, and a decision compared twice
//! replaces its rows, so a pass stopped midway counts nothing twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::model_watch::ModelsHandle;
use super::{PassError, TaskLease};
use crate::clock::now_ms;
use crate::config::ReportSettings;
use crate::halo::model::ListedTicket;
use crate::halo::HaloClient;
use crate::report::compare::compare;
use crate::report::LatestReport;
use crate::store::{PendingDecision, Store};

/// The watermark's name: the start of the last pass that listed closed tickets.
const CLOSED_SINCE: &str = "readback_closed";
/// How long the lease lasts past its last renewal, before each request: a process that
/// died mid-pass hands the read-back over this soon. Between passes no one holds it.
const LEASE_FOR: Duration = Duration::from_secs(30);
/// Each listing of closed tickets looks this far before the last pass (clocks differ).
const OVERLAP: Duration = Duration::from_secs(3600);

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassReport {
    pub requests: u32,
    /// Decisions compared, and decisions whose ticket Halo no longer lists.
    pub read_back: usize,
    pub gone: usize,
}

#[derive(Clone)]
pub struct ReadBackTask {
    store: Store,
    halo: HaloClient,
    settings: ReportSettings,
    models: Arc<ModelsHandle>,
    /// Where the report counted after each pass goes (the console shows it).
    latest: Arc<LatestReport>,
    /// One process per store reads back at a time.
    lease: Arc<TaskLease>,
}

impl ReadBackTask {
    pub fn new(
        store: Store,
        halo: HaloClient,
        settings: ReportSettings,
        models: Arc<ModelsHandle>,
        latest: Arc<LatestReport>,
    ) -> ReadBackTask {
        let lease = Arc::new(TaskLease::new(store.clone(), "readback", LEASE_FOR));
        ReadBackTask {
            store,
            halo,
            settings,
            models,
            latest,
            lease,
        }
    }

    /// A pass at once, then one every `report.interval_secs`, until `stop` turns true.
    pub async fn run(self, stop: watch::Receiver<bool>) {
        super::every(self.settings.interval, stop, || async {
            match self.pass().await {
                Ok(report) if report.read_back + report.gone > 0 => tracing::info!(
                    read_back = report.read_back,
                    gone = report.gone,
                    requests = report.requests,
                    "decisions read back from Halo"
                ),
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, "read-back pass failed; the next pass tries again")
                }
            }
        })
        .await
    }

    /// Reads back what has settled, within the pass's request allowance; nothing while
    /// another process holds the read-back.
    pub async fn pass(&self) -> Result<PassReport, PassError> {
        let started = now_ms();
        let settings = &self.settings;
        let mut report = PassReport::default();
        if !self.lease.hold().await? {
            return Ok(report);
        }
        let settle = settings.settle.as_millis() as i64;
        // Closed tickets first: they need not wait out the settling time.
        // The first pass looks back as far as a decision can wait to settle.
        let last = self.store.watermark(CLOSED_SINCE).await?;
        let from = last.unwrap_or(started - settle) - OVERLAP.as_millis() as i64;
        // At most half the allowance: tickets closed beyond it are read once settled.
        let mut pages = 0;
        let (closed, _) = self
            .halo
            .tickets_closed_since(
                &crate::halo::date_param(from),
                settings.page_size,
                settings.max_requests_per_pass.div_ceil(2),
                &mut |_, _| pages += 1,
            )
            .await?;
        report.requests += pages;
        let closed: HashMap<i64, ListedTicket> = closed
            .into_iter()
            .map(|mut listed| {
                // Listed as closed, whether or not the list item says so.
                listed.ticket.hasbeenclosed = true;
                (listed.ticket.id, listed)
            })
            .collect();
        let ids: Vec<i64> = closed.keys().copied().collect();
        let pending = self.store.pending_decisions_of(&ids).await?;
        self.save(&pending, &closed, &mut report).await?;
        self.store.set_watermark(CLOSED_SINCE, started).await?;
        // Then the settled ones, a page of tickets per request.
        while report.requests < settings.max_requests_per_pass && self.lease.hold().await? {
            let batch = self
                .store
                .settled_decisions(started - settle, settings.page_size)
                .await?;
            if batch.is_empty() {
                break;
            }
            let mut ids: Vec<i64> = batch.iter().map(|d| d.ticket_id).collect();
            ids.sort_unstable();
            ids.dedup();
            let listed = self.halo.tickets_by_ids(&ids).await?;
            report.requests += 1;
            let listed: HashMap<i64, ListedTicket> =
                listed.into_iter().map(|l| (l.ticket.id, l)).collect();
            self.save(&batch, &listed, &mut report).await?;
        }
        let models = self.models.current();
        let all = self.latest.recount(&self.store, settings, &models).await?;
        all.0.publish();
        Ok(report)
    }

    /// Compares each decision with its listed ticket and keeps the result; a decision
    /// whose ticket is not listed (deleted, or no longer visible to the API agent) and a
    /// decision a later one replaced are marked read back with nothing compared.
    async fn save(
        &self,
        decisions: &[PendingDecision],
        listed: &HashMap<i64, ListedTicket>,
        report: &mut PassReport,
    ) -> Result<(), PassError> {
        if decisions.is_empty() {
            return Ok(());
        }
        let mut compared = Vec::new();
        for decision in decisions.iter().filter(|d| !d.superseded) {
            match listed.get(&decision.ticket_id) {
                Some(ticket) => {
                    compared.extend(compare(decision, ticket));
                    report.read_back += 1;
                }
                None => {
                    tracing::warn!(
                        ticket_id = decision.ticket_id,
                        "ticket not in Halo's answer (deleted, merged or not visible to the API agent): not compared"
                    );
                    report.gone += 1;
                }
            }
        }
        let ids: Vec<i64> = decisions.iter().map(|d| d.id).collect();
        self.store
            .save_read_backs(&ids, &compared, now_ms())
            .await?;
        Ok(())
    }
}
