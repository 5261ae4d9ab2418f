//! `halo-triage classify`: decide one ticket offline and explain why. Never calls Halo.

use std::fmt::{self, Display};

use serde_json::Value;

use crate::ack::AckTemplates;
use crate::act::{self, AckPlan, Plan};
use crate::config::{ConfigError, Settings};
use crate::halo::model::Ticket;
use crate::halo::webhook;
use crate::triage::{Decided, Decision, RuleSet, RulesError};

#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    #[error("the input is not a ticket: {0}")]
    Input(String),
    #[error(transparent)]
    Rules(#[from] RulesError),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// A decision with what it would write.
pub struct Classification {
    pub ticket: Ticket,
    pub decision: Decision,
    pub plan: Plan,
}

/// Decides `input`: a ticket as Halo's API returns it, or a webhook delivery carrying one.
pub fn classify(settings: &Settings, input: &str) -> Result<Classification, ClassifyError> {
    let value: Value =
        serde_json::from_str(input).map_err(|e| ClassifyError::Input(format!("not JSON: {e}")))?;
    let ticket = if value.get("ticket").is_some() {
        webhook::full_ticket(&value).ok_or_else(|| {
            ClassifyError::Input("the delivery's ticket has no summary and details".into())
        })?
    } else {
        serde_json::from_value(value).map_err(|e| ClassifyError::Input(e.to_string()))?
    };
    let rules = RuleSet::load(&settings.rules.path)?;
    let decision = rules.decide(&ticket);
    let templates = AckTemplates::compile(&settings.ack)?;
    let plan = act::plan(&ticket, &decision, &settings.act, &settings.ack, &templates);
    Ok(Classification {
        ticket,
        decision,
        plan,
    })
}

impl Display for Classification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.decision;
        writeln!(f, "ticket {}: {}", self.ticket.id, self.ticket.summary)?;
        let matched = if d.matched_rules.is_empty() {
            "none".to_string()
        } else {
            d.matched_rules.join(", ")
        };
        writeln!(f, "matched rules: {matched}")?;
        write_field(f, "team", &d.team)?;
        write_field(f, "agent_id", &d.agent_id)?;
        write_field(f, "category_1", &d.category_1)?;
        write_field(f, "category_2", &d.category_2)?;
        write_field(f, "category_3", &d.category_3)?;
        write_field(f, "category_4", &d.category_4)?;
        write_field(f, "priority_id", &d.priority_id)?;
        write_field(f, "tickettype_id", &d.tickettype_id)?;
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

fn write_field<T: Display>(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    field: &Option<Decided<T>>,
) -> fmt::Result {
    match field {
        Some(decided) => writeln!(f, "  {name} = {} ({})", decided.value, decided.reason),
        None => writeln!(f, "  {name}: left as it is"),
    }
}
