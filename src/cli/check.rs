//! `halo-triage check`: is the configuration valid, and does the Halo connection work the
//! way this service will use it? One pass/fail line per step.

use std::fmt::{self, Display};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use crate::config::{Mode, Settings, StructuredOutput};
use crate::halo::{HaloError, Lookups};
use crate::pipeline::labels::KnownLabels;
use crate::triage::llm::Llm;
use crate::triage::RuleSet;

/// How one step came out; `Skip` is a step that could not be run (and is no failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Pass,
    Fail,
    Skip,
}

pub struct CheckLine {
    verdict: Verdict,
    what: String,
    detail: String,
}

impl CheckLine {
    pub fn failed(&self) -> bool {
        self.verdict == Verdict::Fail
    }
}

impl Display for CheckLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = match self.verdict {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Skip => "SKIP",
        };
        write!(f, "{verdict} {}: {}", self.what, self.detail)
    }
}

fn line(passed: bool, what: &str, detail: impl Into<String>) -> CheckLine {
    CheckLine {
        verdict: if passed { Verdict::Pass } else { Verdict::Fail },
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
    lines.push(match settings.validate_for_serving() {
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
    lines.push(mode_line(&settings));
    if settings.llm.enabled {
        lines.extend(llm_lines(&settings).await);
    }
    let halo = match settings.halo_client() {
        Ok(Some(halo)) => halo,
        Ok(None) => {
            lines.push(CheckLine {
                verdict: Verdict::Skip,
                what: "halo".into(),
                detail: "no credentials set (halo.base_url, halo.client_id, halo.client_secret): \
                         connection and labels not checked"
                    .into(),
            });
            return lines;
        }
        Err(e) => {
            lines.push(line(false, "halo", e.to_string()));
            return lines;
        }
    };
    if let Err(e) = halo.authenticate().await {
        lines.push(failure("token", &e));
        return lines;
    }
    lines.push(line(true, "token", "obtained"));
    let lookups = Lookups::new(halo, settings.halo.lookup_ttl);
    lines.push(count("agents", lookups.agents()).await);
    lines.push(count("teams", lookups.teams()).await);
    lines.push(count("categories", lookups.categories()).await);
    lines.push(count("priorities", lookups.priorities()).await);
    lines.push(count("ticket types", lookups.ticket_types()).await);
    lines.push(count("statuses", lookups.statuses()).await);
    if let Ok(rules) = &rules {
        lines.push(rule_labels(rules, &lookups).await);
    }
    lines.push(match lookups.outcomes().await {
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

/// One tiny request to the configured LLM: reachable, model known, which response
/// format works. A refused `json_schema` is no failure: the fallback is named instead.
async fn llm_lines(settings: &Settings) -> Vec<CheckLine> {
    let llm = match Llm::new(&settings.llm) {
        Ok(llm) => llm,
        Err(e) => return vec![line(false, "llm", e.to_string())],
    };
    let probe = llm.probe().await;
    let model = &settings.llm.model;
    let mut lines = vec![match &probe.model_listed {
        Ok(true) => line(
            true,
            "llm model",
            format!("'{model}' is listed by the server"),
        ),
        Ok(false) => line(
            false,
            "llm model",
            format!("'{model}' is not in the server's model list (GET /models)"),
        ),
        Err(why) => CheckLine {
            verdict: Verdict::Skip,
            what: "llm model".into(),
            detail: format!("no model list ({why}); the request below tells"),
        },
    }];
    let endpoint = &settings.llm.base_url;
    lines.push(match &probe.answer {
        Ok(()) => line(
            true,
            "llm request",
            format!("{endpoint} answered usable JSON"),
        ),
        Err(e) => line(false, "llm request", format!("{endpoint}: {e}")),
    });
    lines.push(
        match (settings.llm.structured_output, probe.structured_output) {
            (StructuredOutput::JsonSchema, StructuredOutput::JsonSchema) => line(
                probe.answer.is_ok(),
                "llm response format",
                "json_schema accepted (strict, labels as enums)",
            ),
            (StructuredOutput::JsonSchema, StructuredOutput::JsonObject) => line(
                true,
                "llm response format",
                "json_schema refused by the server: the json_object fallback is in use (labels \
                 and the answer's shape in the prompt); set llm.structured_output = \"json_object\" \
                 to skip the refused first request",
            ),
            (StructuredOutput::JsonObject, _) => line(
                true,
                "llm response format",
                "json_object, as configured (labels and the answer's shape in the prompt)",
            ),
        },
    );
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

/// The mode the service will run in; `live` without credentials fails, since the service
/// would then run in shadow mode and write nothing.
fn mode_line(settings: &Settings) -> CheckLine {
    match (settings.mode, settings.effective_mode()) {
        (Mode::Live, Mode::Live) => {
            line(true, "mode", "live: tickets are updated and acknowledged")
        }
        (Mode::Live, Mode::Shadow) => line(
            false,
            "mode",
            "mode = \"live\" but the Halo credentials (halo.base_url, halo.client_id, \
             halo.client_secret) are not all set: the service would run in shadow mode",
        ),
        (Mode::Shadow, _) => line(
            true,
            "mode",
            "shadow: decisions are recorded, nothing is written to Halo",
        ),
    }
}

/// Every label the rules write must exist in Halo and be usable there: the very check
/// the worker makes before writing (`pipeline::labels`), so what passes here is never
/// dropped there. Priorities pass when usable in some SLA (a rule knows no ticket).
async fn rule_labels(rules: &RuleSet, lookups: &Lookups) -> CheckLine {
    let uses = rules.labels();
    let fields = uses.iter().map(|label| label.field);
    let known = match KnownLabels::load(lookups, fields).await {
        Ok(known) => known,
        Err(e) => return failure("rule labels", &e),
    };
    let unknown: Vec<String> = uses
        .iter()
        .filter(|label| !known.knows(label.field, &label.value, None))
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
