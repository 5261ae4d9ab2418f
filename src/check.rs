//! `halo-triage check`: is the configuration valid, and does the Halo connection work the
//! way this service will use it? One pass/fail line per step.

use std::fmt::{self, Display};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use crate::config::Settings;
use crate::halo::{HaloClient, HaloClientOptions, HaloError};
use crate::triage::{Field, RuleSet};

pub struct CheckLine {
    pub passed: bool,
    pub what: String,
    pub detail: String,
}

impl Display for CheckLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.passed { "PASS" } else { "FAIL" };
        write!(f, "{verdict} {}: {}", self.what, self.detail)
    }
}

fn line(passed: bool, what: &str, detail: impl Into<String>) -> CheckLine {
    CheckLine {
        passed,
        what: what.to_string(),
        detail: detail.into(),
    }
}

fn failure(what: &str, error: &HaloError) -> CheckLine {
    let hint = error
        .hint()
        .map(|h| format!(" (hint: {h})"))
        .unwrap_or_default();
    line(false, what, format!("{error}{hint}"))
}

/// Runs every check; the caller prints the lines and fails when any did not pass.
pub async fn run(config_file: Option<&Path>) -> Vec<CheckLine> {
    let settings = match Settings::load(config_file) {
        Ok(settings) => settings,
        Err(e) => return vec![line(false, "config", e.to_string())],
    };
    let mut lines = vec![line(true, "config", "loaded and valid")];
    lines.push(match settings.validate_webhook_auth() {
        Ok(()) => line(true, "webhook auth", "configured"),
        Err(e) => line(false, "webhook auth", e.to_string()),
    });
    let rules = RuleSet::from_settings(&settings.rules);
    lines.push(match &rules {
        Ok(rules) => {
            let files: Vec<String> = rules
                .files()
                .iter()
                .map(|f| f.display().to_string())
                .collect();
            line(
                true,
                "rules",
                format!("{} rules in {}", rules.len(), files.join(", ")),
            )
        }
        Err(e) => line(false, "rules", e.to_string()),
    });
    let credentials = match settings.halo_credentials() {
        Ok(Some(credentials)) => credentials,
        Ok(None) => {
            lines.push(line(
                true,
                "halo",
                "no credentials set: shadow mode, connection not checked",
            ));
            return lines;
        }
        Err(e) => {
            lines.push(line(false, "halo", e.to_string()));
            return lines;
        }
    };
    let halo = match HaloClient::new(
        credentials,
        HaloClientOptions::from_settings(&settings.halo),
    ) {
        Ok(halo) => halo,
        Err(e) => {
            lines.push(failure("halo client", &e));
            return lines;
        }
    };
    if let Err(e) = halo.authenticate().await {
        lines.push(failure("token", &e));
        return lines;
    }
    lines.push(line(true, "token", "obtained"));
    let lookups = halo.lookups();
    lines.push(count("agents", lookups.agents(&halo)).await);
    lines.push(count("teams", lookups.teams(&halo)).await);
    lines.push(count("categories", lookups.categories(&halo)).await);
    lines.push(count("priorities", lookups.priorities(&halo)).await);
    lines.push(count("ticket types", lookups.ticket_types(&halo)).await);
    lines.push(count("statuses", lookups.statuses(&halo)).await);
    if let Ok(rules) = &rules {
        lines.push(rule_labels(rules, &halo).await);
    }
    lines.push(match lookups.outcomes(&halo).await {
        Ok(outcomes) => {
            let wanted = settings.ack.outcome_id;
            let listing = outcomes
                .iter()
                .filter(|o| o.sendemail)
                .map(|o| format!("{} = {}", o.id, o.outcome))
                .collect::<Vec<_>>()
                .join(", ");
            match outcomes.iter().find(|o| o.id == wanted) {
                Some(found) => line(
                    true,
                    "ack outcome",
                    format!("{wanted} = '{}' (sends email: {})", found.outcome, found.sendemail),
                ),
                None if !settings.ack.enabled => line(true, "ack outcome", "acknowledgement disabled"),
                None => line(
                    false,
                    "ack outcome",
                    format!("ack.outcome_id = {wanted} is not an outcome; outcomes that send email: {listing}"),
                ),
            }
        }
        Err(e) => failure("ack outcome", &e),
    });
    lines
}

async fn count<T>(
    what: &str,
    fetch: impl Future<Output = Result<Arc<Vec<T>>, HaloError>>,
) -> CheckLine {
    match fetch.await {
        Ok(items) => line(true, what, format!("{} loaded", items.len())),
        Err(e) => failure(what, &e),
    }
}

/// Every team, priority, ticket type, agent and status the rules write must exist in Halo.
async fn rule_labels(rules: &RuleSet, halo: &HaloClient) -> CheckLine {
    let lookups = halo.lookups();
    let (teams, priorities, ticket_types, agents, statuses, categories) = match tokio::try_join!(
        lookups.teams(halo),
        lookups.priorities(halo),
        lookups.ticket_types(halo),
        lookups.agents(halo),
        lookups.statuses(halo),
        lookups.categories(halo),
    ) {
        Ok(all) => all,
        Err(e) => return failure("rule labels", &e),
    };
    let uses = rules.labels();
    let unknown: Vec<String> = uses
        .iter()
        .filter(|label| {
            let text = label.value.as_text().unwrap_or_default();
            let id = label.value.as_id().unwrap_or_default();
            match label.field {
                Field::Team => !teams
                    .iter()
                    .any(|t| !t.inactive && t.name.eq_ignore_ascii_case(text)),
                Field::PriorityId => !priorities.iter().any(|p| p.priorityid == id),
                Field::TicketTypeId => !ticket_types.iter().any(|t| t.id == id),
                Field::AgentId => !agents.iter().any(|a| !a.isdisabled && a.id == id),
                Field::StatusId => !statuses.iter().any(|s| s.id == id),
                Field::Category1 | Field::Category2 | Field::Category3 | Field::Category4 => {
                    !categories.iter().any(|c| {
                        c.value.eq_ignore_ascii_case(text)
                            || c.category_name.eq_ignore_ascii_case(text)
                    })
                }
                _ => false,
            }
        })
        .map(|label| {
            format!(
                "{}: {} '{}' does not exist in Halo",
                label.location, label.field, label.value
            )
        })
        .collect();
    if unknown.is_empty() {
        line(
            true,
            "rule labels",
            format!("{} labels exist in Halo", uses.len()),
        )
    } else {
        line(false, "rule labels", unknown.join("; "))
    }
}
