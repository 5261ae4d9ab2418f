//! `halo-triage classify` and `rules explain`: decide one ticket and explain why, with the
//! pipeline's own steps. Never writes to Halo; with `llm.enabled` it may read Halo's
//! lookups for the labels on offer.

use std::fmt::{self, Display};

use jiff::Timestamp;

use crate::config::{ConfigError, Settings};
use crate::halo::model::Ticket;
use crate::halo::webhook::Delivery;
use crate::halo::Lookups;
use crate::pipeline::model;
use crate::pipeline::plan::{self, AckPlan, Plan};
use crate::store::StoreError;
use crate::tasks::model_watch::ModelsHandle;
use crate::triage::llm::{Llm, LlmError};
use crate::triage::rules::{Evaluation, RuleOutcome};
use crate::triage::{add_sentiment, Decision, RuleSet, RulesError};

#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    #[error("the input is not a ticket: {0}")]
    Input(String),
    #[error(transparent)]
    Rules(#[from] RulesError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A decision with what it would write, and how every rule fared.
pub struct Classification {
    ticket: Ticket,
    decision: Decision,
    plan: Plan,
    evaluations: Vec<Evaluation>,
    /// Also list the rules that did not match (`rules explain`).
    pub show_all_rules: bool,
}

/// Reads `input`: a ticket as Halo's API returns it, or a webhook delivery carrying one.
fn read_ticket(input: &str) -> Result<Ticket, ClassifyError> {
    let delivery =
        Delivery::parse(input).map_err(|e| ClassifyError::Input(format!("not JSON: {e}")))?;
    if delivery.has_ticket() {
        delivery.full_ticket().ok_or_else(|| {
            ClassifyError::Input("the delivery does not carry the full ticket object".into())
        })
    } else {
        serde_json::from_str(input).map_err(|e| ClassifyError::Input(e.to_string()))
    }
}

/// Decides `input` with the configured rules, the models in `model.dir` and the LLM when
/// `llm.enabled` (both may read Halo's lookups for the labels in use) and plans what would
/// be written.
pub async fn classify(settings: &Settings, input: &str) -> Result<Classification, ClassifyError> {
    let ticket = read_ticket(input)?;
    let rules = RuleSet::from_settings(&settings.rules)?;
    let (mut decision, evaluations) = rules.explain_at(&ticket, Timestamp::now());
    add_sentiment(&mut decision, &ticket);
    let lookups = settings
        .halo_client()?
        .map(|halo| Lookups::new(halo, settings.halo.lookup_ttl));
    // The models in model.dir, as the service would load them.
    let models = ModelsHandle::load(&settings.model).current();
    let mut notes = Vec::new();
    if !models.is_empty() {
        let step = &settings.model;
        notes = model::fill(
            &models,
            step,
            lookups.as_ref(),
            &rules,
            &ticket,
            &mut decision,
        )
        .await;
    }
    let llm_notes = match settings.llm.enabled {
        true => {
            let llm = Llm::new(&settings.llm)?;
            // No store: a one-off call, outside the answer cache and the daily budget.
            let step = crate::pipeline::llm::consult(
                &llm,
                lookups.as_ref(),
                &rules,
                &ticket,
                &mut decision,
                None,
            );
            step.await?
        }
        false => Vec::new(),
    };
    let default_templates = settings.ack.templates()?;
    let templates = plan::templates_for(&decision, &rules, &default_templates);
    let mut plan = plan::plan(&ticket, &decision, &settings.act, &settings.ack, templates);
    notes.extend(llm_notes);
    plan.notes.splice(0..0, notes);
    Ok(Classification {
        ticket,
        decision,
        plan,
        evaluations,
        show_all_rules: false,
    })
}

impl Display for Classification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.decision;
        writeln!(f, "ticket {}: {}", self.ticket.id, self.ticket.summary)?;
        if self.show_all_rules {
            writeln!(f, "rules, in evaluation order:")?;
            for e in &self.evaluations {
                let outcome = match e.outcome {
                    RuleOutcome::Matched => "MATCHED",
                    RuleOutcome::NoMatch => "no match",
                    RuleOutcome::OutOfScope => "out of scope (client or ticket type)",
                    RuleOutcome::NotReached => "not reached (an earlier rule stopped)",
                };
                writeln!(
                    f,
                    "  [{:>4}] {} ({}): {outcome}",
                    e.precedence, e.rule, e.location
                )?;
            }
        }
        let matched = if d.matched_rules.is_empty() {
            "none".to_string()
        } else {
            d.matched_rules.join(", ")
        };
        writeln!(f, "matched rules: {matched}")?;
        for trace in &d.trace {
            writeln!(f, "  {}", trace.reason)?;
            for (field, earlier) in &trace.overrode {
                writeln!(f, "    overrode {field} set by {earlier}")?;
            }
            for (field, winner) in &trace.lost {
                writeln!(f, "    {field}: lost to {winner}, which set it first")?;
            }
            for effect in &trace.effects {
                writeln!(f, "    {effect}")?;
            }
            if trace.stopped {
                writeln!(f, "    stop: no further rules run")?;
            }
        }
        writeln!(f, "decision:")?;
        for (field, decided) in &d.fields {
            let lock = if d.locked.contains(field) {
                ", locked"
            } else {
                ""
            };
            let confidence = decided
                .confidence
                .map(|c| format!(", confidence {c:.2}"))
                .unwrap_or_default();
            writeln!(
                f,
                "  {field} = {} ({}{confidence}{lock})",
                decided.value, decided.reason
            )?;
        }
        for field in &d.needs_review {
            writeln!(f, "  {field}: needs review")?;
        }
        for (name, decided) in &d.custom {
            writeln!(
                f,
                "  custom {name} = {} ({})",
                decided.value, decided.reason
            )?;
        }
        if let Some(sentiment) = &d.sentiment {
            let mood = serde_json::to_value(sentiment.mood).map_err(|_| fmt::Error)?;
            writeln!(
                f,
                "sentiment: {} ({:+.2}, {})",
                mood.as_str().unwrap_or_default(),
                sentiment.score,
                sentiment.source
            )?;
        }
        writeln!(f, "llm: {}", d.llm.as_str())?;
        if let Some(call) = &d.llm_call {
            writeln!(
                f,
                "llm call: {} ({}), {} ms, {} prompt + {} completion tokens{}",
                call.model,
                call.prompt_version,
                call.latency_ms,
                call.prompt_tokens,
                call.completion_tokens,
                if call.cached { ", cached" } else { "" }
            )?;
            if let Some(error) = &call.error {
                writeln!(f, "llm error: {error}")?;
            }
            if let Some(language) = &call.language {
                writeln!(f, "language: {language}")?;
            }
            if let Some(rationale) = &call.rationale {
                writeln!(f, "rationale: {rationale}")?;
            }
            writeln!(f, "llm answer: {}", call.raw)?;
        }
        if let Some(choice) = &d.ack_template {
            writeln!(
                f,
                "ack template: {} (chosen by {})",
                choice.value,
                choice.source.describe()
            )?;
        }
        for note in &d.notes {
            writeln!(f, "private note: {note}")?;
        }
        let update = serde_json::to_string(&self.plan.update).map_err(|_| fmt::Error)?;
        writeln!(f, "ticket update (POST /api/Tickets): [{update}]")?;
        match &self.plan.ack {
            AckPlan::Send(action) => writeln!(
                f,
                "acknowledgement: to {} with subject '{}'",
                action.emailto, action.emailsubject
            )?,
            AckPlan::Skip(reason) => writeln!(f, "acknowledgement: skipped ({reason})")?,
        }
        for note in &self.plan.notes {
            writeln!(f, "note: {note}")?;
        }
        Ok(())
    }
}
