//! `halo-triage classify` and `rules explain`: decide one ticket offline and explain why.
//! Never calls Halo.

use std::fmt::{self, Display};

use jiff::Timestamp;
use serde_json::Value;

use crate::ack::AckTemplates;
use crate::act::{self, AckPlan, Plan};
use crate::config::{ConfigError, Settings};
use crate::halo::model::Ticket;
use crate::halo::webhook;
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
}

/// A decision with what it would write, and how every rule fared.
pub struct Classification {
    pub ticket: Ticket,
    pub decision: Decision,
    pub plan: Plan,
    pub evaluations: Vec<Evaluation>,
    /// Also list the rules that did not match (`rules explain`).
    pub show_all_rules: bool,
}

/// Reads `input`: a ticket as Halo's API returns it, or a webhook delivery carrying one.
pub fn read_ticket(input: &str) -> Result<Ticket, ClassifyError> {
    let value: Value =
        serde_json::from_str(input).map_err(|e| ClassifyError::Input(format!("not JSON: {e}")))?;
    if value.get("ticket").is_some() {
        webhook::full_ticket(&value).ok_or_else(|| {
            ClassifyError::Input("the delivery does not carry the full ticket object".into())
        })
    } else {
        serde_json::from_value(value).map_err(|e| ClassifyError::Input(e.to_string()))
    }
}

/// Decides `input` with the configured rules and plans what would be written.
pub fn classify(settings: &Settings, input: &str) -> Result<Classification, ClassifyError> {
    let ticket = read_ticket(input)?;
    let rules = RuleSet::from_settings(&settings.rules)?;
    let (mut decision, evaluations) = rules.explain_at(&ticket, Timestamp::now());
    add_sentiment(&mut decision, &ticket);
    let default_templates = AckTemplates::from_settings(&settings.ack)?;
    let templates = decision
        .ack_template
        .as_ref()
        .and_then(|choice| rules.ack_template(&choice.value))
        .unwrap_or(&default_templates);
    let plan = act::plan(&ticket, &decision, &settings.act, &settings.ack, templates);
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
            writeln!(
                f,
                "  {field} = {} ({}{lock})",
                decided.value, decided.reason
            )?;
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
