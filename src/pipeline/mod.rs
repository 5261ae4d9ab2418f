//! One job, in the README's order: get the ticket, decide, check the labels against Halo,
//! let the LLM fill what the rules left open, plan the writes, record the decision, and
//! (live mode only) write to Halo exactly once. The queue around it is `worker/`.

mod catalogue;
pub(crate) mod labels;
pub(crate) mod llm;
pub(crate) mod model;
pub(crate) mod plan;
#[cfg(test)]
mod test_decisions;
mod ticket;
mod write;

use std::sync::Arc;
use std::time::Duration;

use crate::ack_templates::AckTemplates;
use crate::config::{AckSettings, ActSettings, Mode, ModelSettings};
use crate::halo::model::Ticket;
use crate::halo::{Field, HaloClient, HaloError, Lookups};
use crate::store::{DecisionRecord, Job, Store, StoreError};
use crate::tasks::model_watch::ModelsHandle;
use crate::tasks::rules_watch::RulesHandle;
use crate::telemetry::metrics;
use crate::triage::llm::Llm;
use crate::triage::{Decision, RuleSet};
use plan::{AckPlan, Plan};
use write::Writer;

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
    #[error("the job's lease is no longer ours: another worker took it over, or it could not be renewed")]
    LeaseLost,
    #[error("processing panicked: {0}")]
    Panicked(String),
}

impl JobError {
    pub fn is_retryable(&self) -> bool {
        match self {
            JobError::Halo(e) => e.is_retryable(),
            JobError::Store(_) => true,
            JobError::NoTicketSource(_)
            | JobError::Payload(_)
            | JobError::LeaseLost
            | JobError::Panicked(_) => false,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            JobError::Halo(e) => e.retry_after(),
            _ => None,
        }
    }
}

/// A configured Halo: the client and its cached lookups.
#[derive(Clone)]
pub struct Halo {
    pub client: HaloClient,
    pub lookups: Lookups,
}

/// Everything a job's triage needs; shared by all workers.
pub struct Pipeline {
    pub store: Store,
    pub halo: Option<Halo>,
    pub rules: Arc<RulesHandle>,
    pub mode: Mode,
    /// How long a lease renewed right before a write lasts (`worker.lease_secs`).
    pub lease: Duration,
    pub act: ActSettings,
    pub ack: AckSettings,
    /// `ack.subject` and `ack.body`, compiled.
    pub templates: AckTemplates,
    /// The LLM stage, when `llm.enabled`.
    pub llm: Option<Llm>,
    /// The learned models in force, and their thresholds.
    pub models: Arc<ModelsHandle>,
    pub model_settings: ModelSettings,
}

impl Pipeline {
    pub async fn process(&self, job: &Job) -> Result<(), JobError> {
        let live = self.mode == Mode::Live;
        let halo = self.halo.as_ref();
        let lookups = halo.map(|h| &h.lookups);
        let ticket = ticket::fetch(job, halo.map(|h| &h.client), live).await?;
        // This job keeps the rules it started with, whatever a reload does meanwhile.
        let rules = self.rules.current();
        // A ticket without `dateoccurred` arrived when its delivery did, however late the job runs.
        let received = jiff::Timestamp::from_millisecond(job.created_at)
            .unwrap_or_else(|_| jiff::Timestamp::now());
        let (ticket, mut decision) = decide_off_the_runtime(rules.clone(), ticket, received).await;
        let mut notes = labels::drop_unknown(lookups, &mut decision, &ticket).await?;
        let models = self.models.current();
        if !models.is_empty() {
            let settings = &self.model_settings;
            notes.extend(
                model::fill(&models, settings, lookups, &rules, &ticket, &mut decision).await,
            );
        }
        if let Some(llm) = &self.llm {
            let store = Some(&self.store);
            notes.extend(llm::consult(llm, lookups, &rules, &ticket, &mut decision, store).await?);
        }
        let templates = plan::templates_for(&decision, &rules, &self.templates);
        let plan = plan::plan(&ticket, &decision, &self.act, &self.ack, templates);
        notes.extend(plan.notes.iter().cloned());
        if !live {
            notes.extend(self.shadow_notes(&decision, &plan));
        }
        self.record(job, &ticket, &decision, &plan, &notes).await?;
        let Some(halo) = halo.filter(|_| live) else {
            return Ok(());
        };
        let writer = Writer {
            store: &self.store,
            halo: &halo.client,
            lease: self.lease,
            act: &self.act,
            ack: &self.ack,
        };
        let refusal = writer
            .write(job, &ticket, &decision, plan, templates, &mut notes)
            .await?;
        self.store
            .record_outcome(job.id, refusal.is_none(), &json_list(&notes))
            .await?;
        refusal.map_or(Ok(()), |error| Err(error.into()))
    }

    /// What live mode would have written, said in words.
    fn shadow_notes(&self, decision: &Decision, plan: &Plan) -> Vec<String> {
        let mut notes = Vec::new();
        if let AckPlan::Send(action) = &plan.ack {
            notes.push(format!(
                "would send the acknowledgement to {} with subject '{}'",
                action.emailto, action.emailsubject
            ));
        }
        if self.act.note_outcome_id > 0 && !decision.notes.is_empty() {
            notes.push("would post the rules' notes as a private note".into());
        }
        notes.push("shadow mode: nothing was written to Halo".into());
        notes
    }

    /// Step 4: the decision, what it would write and why, kept before any write.
    async fn record(
        &self,
        job: &Job,
        ticket: &Ticket,
        decision: &Decision,
        plan: &Plan,
        notes: &[String],
    ) -> Result<(), StoreError> {
        if let AckPlan::Skip(reason) = &plan.ack {
            tracing::info!(%reason, "acknowledgement skipped");
        }
        for (field, decided) in &decision.fields {
            metrics::decided_field(field.name(), decided.source.kind());
        }
        let record = DecisionRecord {
            job_id: job.id,
            ticket_id: job.ticket_id,
            mode: self.mode,
            decision_json: serde_json::to_string(decision).unwrap_or_default(),
            ticket_update_json: serde_json::to_string(&plan.update).unwrap_or_default(),
            notes_json: json_list(notes),
            before_json: before(ticket, decision).to_string(),
            client: ticket.client_name.clone(),
            team: decision
                .fields
                .get(&Field::Team)
                .map(|decided| decided.value.clone())
                .or_else(|| ticket.current(Field::Team))
                .map(|team| team.to_string()),
            matched_rules: decision.matched_rules.clone(),
        };
        self.store.save_decision(&record).await?;
        tracing::info!(
            matched_rules = ?decision.matched_rules,
            update = %record.ticket_update_json,
            live = self.mode == Mode::Live,
            "ticket triaged"
        );
        Ok(())
    }
}

/// Step 2 on a blocking thread: the rules and the sentiment scan the whole ticket, and a
/// large one must not hold up the async threads that answer webhooks and `/healthz`.
async fn decide_off_the_runtime(
    rules: Arc<RuleSet>,
    ticket: Ticket,
    received: jiff::Timestamp,
) -> (Ticket, Decision) {
    let decided = tokio::task::spawn_blocking(move || {
        let decision = crate::triage::decide(&rules, &ticket, received);
        (ticket, decision)
    })
    .await;
    // A panic while deciding fails the job like any other (see `worker::isolate`).
    decided.unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()))
}

/// What the ticket held before triage in each field the decision set or left for review,
/// for the read-back to tell a field a person changed from one left alone.
fn before(ticket: &Ticket, decision: &Decision) -> serde_json::Value {
    let fields = decision.fields.keys().chain(&decision.needs_review);
    let held = fields.map(|f| (f.name().to_string(), serde_json::json!(ticket.current(*f))));
    serde_json::Value::Object(held.collect())
}

fn json_list(notes: &[String]) -> String {
    serde_json::to_string(notes).unwrap_or_default()
}
