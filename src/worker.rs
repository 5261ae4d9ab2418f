//! The job loop. [`Worker::run_one`] claims one due job, triages it, acts and records; the
//! pool runs it on `worker.concurrency` tasks.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::BackoffBuilder;
use serde_json::Value;
use tokio::sync::{watch, Notify};
use tracing::Instrument;

use crate::ack::{marker, AckTemplates};
use crate::act::{self, AckPlan, Plan};
use crate::config::{AckSettings, ActSettings, Mode, WorkerSettings};
use crate::halo::model::{Action, NewAction, PrivateNote, Ticket};
use crate::halo::{webhook, HaloClient, HaloError};
use crate::outage::Outage;
use crate::reload::RulesHandle;
use crate::store::{now_ms, AckStatus, DecisionRecord, Job, Store, StoreError};
use crate::triage::llm::{self, Llm, Offer};
use crate::triage::{Decision, Field, LlmMode, RuleSet};

/// Why a job did not complete; decides between retrying and burying it.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Halo(#[from] HaloError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the delivery carries no full ticket object and no Halo credentials are configured to read ticket {0}; set halo.* or send the full object in the webhook")]
    NoTicketSource(i64),
    #[error("the stored delivery is not valid JSON: {0}")]
    Payload(String),
    #[error("the job's lease expired and another worker took it over")]
    LeaseLost,
    #[error("processing panicked: {0}")]
    Panicked(String),
}

impl JobError {
    fn is_retryable(&self) -> bool {
        match self {
            JobError::Halo(e) => e.is_retryable(),
            JobError::Store(_) => true,
            JobError::NoTicketSource(_)
            | JobError::Payload(_)
            | JobError::LeaseLost
            | JobError::Panicked(_) => false,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            JobError::Halo(e) => e.retry_after(),
            _ => None,
        }
    }
}

/// What happened to a job that [`Worker::run_one`] claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Done,
    Retrying {
        error: String,
    },
    Dead {
        error: String,
    },
    /// Another worker holds the job now (our lease expired meanwhile).
    LeaseLost,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobReport {
    pub job_id: i64,
    pub ticket_id: i64,
    pub outcome: JobOutcome,
}

/// When a worker last showed it is alive (unix ms), for `/readyz`.
#[derive(Clone, Default)]
pub struct Heartbeat(Arc<AtomicI64>);

impl Heartbeat {
    fn beat(&self) {
        self.beat_at(now_ms());
    }

    /// Records a beat at `at_ms` (unix ms).
    pub fn beat_at(&self, at_ms: i64) {
        self.0.store(at_ms, Ordering::Relaxed);
    }

    /// Milliseconds since the last beat, `None` before the first.
    pub fn age_ms(&self) -> Option<i64> {
        let last = self.0.load(Ordering::Relaxed);
        (last > 0).then(|| now_ms() - last)
    }
}

/// Everything a job needs; cheap to clone.
#[derive(Clone)]
pub struct Worker {
    inner: Arc<WorkerParts>,
    heartbeat: Heartbeat,
    /// Jobs claimed and not yet settled, by id: put back in the queue when shutdown
    /// cuts them short.
    in_flight: Arc<Mutex<BTreeMap<i64, Job>>>,
}

/// The parts a worker is built from.
pub struct WorkerParts {
    pub store: Store,
    pub halo: Option<HaloClient>,
    pub rules: Arc<RulesHandle>,
    pub mode: Mode,
    pub settings: WorkerSettings,
    pub act: ActSettings,
    pub ack: AckSettings,
    pub templates: AckTemplates,
    /// The LLM stage, when `llm.enabled`.
    pub llm: Option<Llm>,
    /// Shared by all workers: pauses claiming while Halo is down.
    pub outage: Outage,
}

impl Worker {
    pub fn new(parts: WorkerParts) -> Worker {
        Worker {
            inner: Arc::new(parts),
            heartbeat: Heartbeat::default(),
            in_flight: Arc::default(),
        }
    }

    pub fn heartbeat(&self) -> Heartbeat {
        self.heartbeat.clone()
    }

    /// Claims and processes one due job; `None` when no job is due.
    pub async fn run_one(&self) -> Result<Option<JobReport>, StoreError> {
        let lease = Duration::from_secs(self.inner.settings.lease_secs);
        let max_attempts = self.inner.settings.max_attempts;
        let Some(job) = self.inner.store.claim_job(lease, max_attempts).await? else {
            return Ok(None);
        };
        self.in_flight().insert(job.id, job.clone());
        let span = tracing::info_span!("job", job_id = job.id, ticket_id = job.ticket_id);
        let outcome = async {
            let worker = self.clone();
            let claimed = job.clone();
            let result = isolated(async move { worker.process(&claimed).await }.in_current_span())
                .await
                .unwrap_or_else(|panic| Err(JobError::Panicked(panic)));
            self.settle(&job, result).await
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
    pub async fn run(self, wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
        let idle = Duration::from_millis(self.inner.settings.poll_interval_ms);
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

    /// Records the result on the job: done, retry later, or dead.
    async fn settle(
        &self,
        job: &Job,
        result: Result<(), JobError>,
    ) -> Result<JobOutcome, StoreError> {
        let store = &self.inner.store;
        match &result {
            Err(JobError::Halo(error)) if error.is_retryable() => {
                self.inner.outage.halo_failed(&error.to_string())
            }
            Ok(()) | Err(JobError::Halo(_)) => self.inner.outage.halo_answered(),
            Err(_) => {}
        }
        let (kept, outcome) = match result {
            Ok(()) => (store.finish_job(job).await?, JobOutcome::Done),
            Err(JobError::LeaseLost) => (false, JobOutcome::LeaseLost),
            Err(error) => {
                let message = error.to_string();
                let attempts_left =
                    job.attempts_used() < i64::from(self.inner.settings.max_attempts);
                if error.is_retryable() && attempts_left {
                    let delay = self.retry_delay(job.attempts_used(), error.retry_after());
                    tracing::warn!(error = %message, retry_in_secs = delay.as_secs(), "job failed; will retry");
                    let kept = store.retry_job(job, delay, &message).await?;
                    (kept, JobOutcome::Retrying { error: message })
                } else {
                    tracing::error!(error = %message, attempts = job.attempts, "job failed for good: parked as dead");
                    let kept = store.bury_job(job, &message).await?;
                    (kept, JobOutcome::Dead { error: message })
                }
            }
        };
        if !kept {
            tracing::warn!("job lease expired before it finished; another worker owns it now");
            return Ok(JobOutcome::LeaseLost);
        }
        Ok(outcome)
    }

    /// Exponential backoff with jitter by attempt, or Halo's Retry-After when longer.
    fn retry_delay(&self, attempts: i64, retry_after: Option<Duration>) -> Duration {
        let settings = &self.inner.settings;
        let backoff = backon::ExponentialBuilder::default()
            .with_min_delay(Duration::from_secs(settings.retry_base_secs))
            .with_max_delay(Duration::from_secs(settings.retry_max_secs))
            .with_max_times(attempts.max(1) as usize)
            .with_jitter()
            .build()
            .last()
            .unwrap_or_default();
        // Halo's Retry-After counts, up to our own ceiling.
        let ceiling = Duration::from_secs(settings.retry_max_secs);
        backoff.max(retry_after.unwrap_or_default().min(ceiling))
    }

    async fn process(&self, job: &Job) -> Result<(), JobError> {
        let live = self.inner.mode == Mode::Live;
        let ticket = self.ticket(job, live).await?;
        // This job keeps the rules it started with, whatever a reload does meanwhile.
        let rules = self.inner.rules.current();
        // A ticket without `dateoccurred` arrived when its delivery did, however late the job runs.
        let received = jiff::Timestamp::from_millisecond(job.created_at)
            .unwrap_or_else(|_| jiff::Timestamp::now());
        let mut decision = crate::triage::decide(&rules, &ticket, received);
        let mut notes = self.check_labels(&mut decision, &ticket).await?;
        notes.extend(self.consult_llm(&ticket, &mut decision, &rules).await?);
        let inner = &self.inner;
        let templates = decision
            .ack_template
            .as_ref()
            .and_then(|choice| rules.ack_template(&choice.value))
            .unwrap_or(&inner.templates);
        let plan = act::plan(&ticket, &decision, &inner.act, &inner.ack, templates);
        notes.extend(plan.notes.iter().cloned());
        if let AckPlan::Skip(reason) = &plan.ack {
            tracing::info!(%reason, "acknowledgement skipped");
        }
        if !live {
            if let AckPlan::Send(action) = &plan.ack {
                notes.push(format!(
                    "would send the acknowledgement to {} with subject '{}'",
                    action.emailto, action.emailsubject
                ));
            }
            if inner.act.note_outcome_id > 0 && !decision.notes.is_empty() {
                notes.push("would post the rules' notes as a private note".into());
            }
            notes.push("shadow mode: nothing was written to Halo".into());
        }
        for (field, decided) in &decision.fields {
            crate::metrics::decided_field(field.name(), decided.source.kind());
        }
        let mode = if live { Mode::Live } else { Mode::Shadow };
        inner
            .store
            .save_decision(&decision_record(job, &decision, &plan, &notes, mode))
            .await?;
        tracing::info!(
            matched_rules = ?decision.matched_rules,
            update = %serde_json::to_string(&plan.update).unwrap_or_default(),
            live,
            "ticket triaged"
        );
        let Some(halo) = inner.halo.as_ref().filter(|_| live) else {
            return Ok(());
        };

        let mut refusal = None;
        if !plan.update.is_empty() {
            self.keep_lease(job).await?;
            match halo.update_ticket(&plan.update).await {
                Ok(_) => {}
                // Halo refused the routing (e.g. an approval ticket type): the customer is
                // still acknowledged, and the job ends dead with Halo's message.
                Err(error) if !error.is_retryable() => {
                    notes.push(format!("ticket update refused: {error}"));
                    refusal = Some(error);
                }
                Err(error) => return Err(error.into()),
            }
        }
        let ack = match &refusal {
            None => plan.ack,
            Some(_) => act::acknowledgement(&ticket, &ticket.team, &inner.ack, templates),
        };
        if let AckPlan::Send(action) = &ack {
            self.keep_lease(job).await?;
            notes.push(self.acknowledge(halo, action).await?);
        }
        if inner.act.note_outcome_id > 0 && !decision.notes.is_empty() {
            self.keep_lease(job).await?;
            let note = act::private_note(job.ticket_id, &decision.notes, inner.act.note_outcome_id);
            notes.push(self.post_note(halo, job, &note).await?);
        }
        inner
            .store
            .record_outcome(job.id, refusal.is_none(), &json_list(&notes))
            .await?;
        refusal.map_or(Ok(()), |error| Err(error.into()))
    }

    /// Renews the lease before a write; stops the job if another worker took it over.
    async fn keep_lease(&self, job: &Job) -> Result<(), JobError> {
        let lease = Duration::from_secs(self.inner.settings.lease_secs);
        if self.inner.store.extend_lease(job, lease).await? {
            Ok(())
        } else {
            Err(JobError::LeaseLost)
        }
    }

    /// The ticket from the webhook's full object, else read from Halo. A retried job in
    /// live mode reads it again: a person may have changed it since the webhook.
    async fn ticket(&self, job: &Job, live: bool) -> Result<Ticket, JobError> {
        let payload: Value =
            serde_json::from_str(&job.payload).map_err(|e| JobError::Payload(e.to_string()))?;
        let halo = self.inner.halo.as_ref();
        let fresh_needed = live && job.attempts > 1 && halo.is_some();
        let mut ticket = match webhook::full_ticket(&payload).filter(|_| !fresh_needed) {
            Some(ticket) => ticket,
            None => {
                let halo = halo.ok_or(JobError::NoTicketSource(job.ticket_id))?;
                halo.ticket(job.ticket_id).await?
            }
        };
        ticket.id = job.ticket_id;
        Ok(ticket)
    }

    /// Asks the LLM about the fields the rules left open. Never fails the job because of
    /// the LLM: any trouble leaves the rules' decision and says why.
    async fn consult_llm(
        &self,
        ticket: &Ticket,
        decision: &mut Decision,
        rules: &RuleSet,
    ) -> Result<Vec<String>, JobError> {
        let Some(llm) = &self.inner.llm else {
            return Ok(Vec::new());
        };
        if decision.llm == LlmMode::Skip {
            return Ok(vec!["LLM not asked: a rule said llm = \"skip\"".into()]);
        }
        let levels = &llm.settings().impact_urgency_levels;
        let catalogue =
            match crate::offer::catalogue(self.inner.halo.as_ref(), rules, ticket, levels).await {
                Ok(catalogue) => catalogue,
                Err(error) => {
                    tracing::warn!(%error, "LLM not asked: Halo's lookups failed");
                    return Ok(vec![format!(
                        "LLM not asked: the labels could not be read from Halo: {error}"
                    )]);
                }
            };
        let offer = Offer::open_fields(decision, &catalogue);
        if offer.is_empty() {
            return Ok(Vec::new());
        }
        let settings = llm.settings();
        let details = crate::triage::text::plain_details(ticket);
        let message = llm::ticket_message(settings, &ticket.summary, &ticket.client_name, &details);
        let key = llm::cache_key(settings, &offer, &message);
        let store = &self.inner.store;
        let window_ms = (settings.cache_window_secs * 1000) as i64;
        if let Some(content) = store.cached_llm_answer(&key, window_ms).await? {
            if let Ok(answer) = llm::parse(&content, &offer) {
                crate::metrics::llm_call("cached");
                let record = llm::record(settings, &content, None);
                return Ok(llm::apply(decision, ticket, &answer, record, settings));
            }
        }
        let budget = settings.daily_token_budget;
        if budget > 0 && store.llm_tokens_today().await? >= budget {
            tracing::warn!(budget, "LLM daily token budget used up: rules only");
            crate::metrics::llm_call("budget_exhausted");
            return Ok(vec![format!(
                "LLM not asked: the daily budget of {budget} tokens is used up (rules only)"
            )]);
        }
        let consultation = llm.consult(decision, ticket, &offer, &message).await;
        crate::metrics::llm_call(if consultation.answer.is_some() {
            "ok"
        } else {
            "error"
        });
        if consultation.tokens > 0 {
            crate::metrics::llm_tokens(consultation.tokens);
            store.add_llm_tokens(consultation.tokens).await?;
        }
        if let Some(content) = &consultation.answer {
            store.cache_llm_answer(&key, content, window_ms).await?;
        }
        let notes = consultation.notes;
        Ok(notes)
    }

    /// With Halo reachable, labels that do not exist there are dropped before writing.
    async fn check_labels(
        &self,
        decision: &mut Decision,
        ticket: &Ticket,
    ) -> Result<Vec<String>, JobError> {
        let Some(halo) = &self.inner.halo else {
            return Ok(vec![
                "labels not checked against Halo: no credentials".into()
            ]);
        };
        let lookups = halo.lookups();
        let needs = |field| decision.fields.contains_key(&field);
        let teams = match needs(Field::Team) {
            true => lookups.teams(halo).await?,
            false => Default::default(),
        };
        let priorities = match needs(Field::PriorityId) {
            true => lookups.priorities(halo).await?,
            false => Default::default(),
        };
        let ticket_types = match needs(Field::TicketTypeId) {
            true => lookups.ticket_types(halo).await?,
            false => Default::default(),
        };
        let agents = match needs(Field::AgentId) {
            true => lookups.agents(halo).await?,
            false => Default::default(),
        };
        Ok(act::drop_unknown_labels(
            decision,
            ticket,
            &act::KnownLabels {
                teams: &teams,
                priorities: &priorities,
                ticket_types: &ticket_types,
                agents: &agents,
            },
        ))
    }

    /// Posts the rules' private note once: a retried job first looks for its marker.
    /// Halo refusing it is recorded, not fatal: the routing and acknowledgement stand.
    async fn post_note(
        &self,
        halo: &HaloClient,
        job: &Job,
        note: &PrivateNote,
    ) -> Result<String, JobError> {
        if job.attempts > 1 {
            let marker = act::note_marker(job.ticket_id);
            let actions = halo.actions(job.ticket_id).await?;
            if actions.iter().any(|a| a.contains(&marker)) {
                return Ok("private note already on the ticket: not posted again".into());
            }
        }
        match halo.post_action(note).await {
            Ok(_) => Ok("private note posted".into()),
            Err(error) if !error.is_retryable() => Ok(format!("private note not posted: {error}")),
            Err(error) => Err(error.into()),
        }
    }

    /// Posts the acknowledgement exactly once per ticket: 'sending' is recorded before the
    /// POST and 'sent' after; after a crash in between, the ticket's actions are searched
    /// for our marker before anything is sent again.
    async fn acknowledge(&self, halo: &HaloClient, action: &NewAction) -> Result<String, JobError> {
        let store = &self.inner.store;
        let ticket_id = action.ticket_id;
        match store.ack_status(ticket_id).await? {
            Some(AckStatus::Sent) => {
                return Ok("acknowledgement already sent earlier: not sent again".into())
            }
            Some(AckStatus::Sending) => {
                let marker = marker(ticket_id);
                let actions = halo.actions(ticket_id).await?;
                let ours = |a: &&Action| {
                    a.contains(&marker) || a.emailsubject.as_deref() == Some(&action.emailsubject)
                };
                if let Some(found) = actions.iter().find(ours) {
                    store
                        .set_ack_status(ticket_id, AckStatus::Sent, Some(found.id))
                        .await?;
                    return Ok(format!(
                        "acknowledgement found on the ticket as action {}: not sent again",
                        found.id
                    ));
                }
            }
            None => {
                store
                    .set_ack_status(ticket_id, AckStatus::Sending, None)
                    .await?
            }
        }
        let answer = halo.post_action(action).await?;
        let action_id = answer.get("id").and_then(crate::halo::model::id_of);
        store
            .set_ack_status(ticket_id, AckStatus::Sent, action_id)
            .await?;
        tracing::info!(action_id, "acknowledgement sent");
        Ok(format!("acknowledgement sent to {}", action.emailto))
    }
}

/// Runs `work` on a task of its own, so that a panic in it fails one job, not the worker.
/// Dropping the returned future (a worker cut short at shutdown) stops the work too.
async fn isolated<F>(work: F) -> Result<F::Output, String>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);
    impl<T> Drop for AbortOnDrop<T> {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let mut task = AbortOnDrop(tokio::spawn(work));
    (&mut task.0)
        .await
        .map_err(|error| match error.try_into_panic() {
            Ok(panic) => panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into()),
            Err(error) => error.to_string(),
        })
}

fn decision_record(
    job: &Job,
    decision: &Decision,
    plan: &Plan,
    notes: &[String],
    mode: Mode,
) -> DecisionRecord {
    DecisionRecord {
        job_id: job.id,
        ticket_id: job.ticket_id,
        mode,
        decision_json: serde_json::to_string(decision).unwrap_or_default(),
        ticket_update_json: serde_json::to_string(&plan.update).unwrap_or_default(),
        notes_json: json_list(notes),
    }
}

fn json_list(notes: &[String]) -> String {
    serde_json::to_string(notes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::isolated;

    #[tokio::test]
    async fn a_panic_in_isolated_work_comes_back_as_its_message() {
        assert_eq!(isolated(async { 7 }).await, Ok(7));
        let panicked = isolated(async {
            if true {
                panic!("ticket 42 broke the parser");
            }
        })
        .await;
        assert_eq!(panicked, Err("ticket 42 broke the parser".to_string()));
        let formatted = isolated(async {
            if true {
                panic!("ticket {} broke it", 43);
            }
        })
        .await;
        assert_eq!(formatted, Err("ticket 43 broke it".to_string()));
    }
}
