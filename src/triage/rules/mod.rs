//! The routing rules language: ordered rules with scopes, condition trees and actions,
//! compiled once for a single pass over each ticket. See docs/rules.md.

mod calendar;
mod cases;
mod compile;
mod condition;
mod facts;
pub mod spec;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::tz::TimeZone;
use jiff::Timestamp;

use compile::{source_files, Compiled};
use condition::{Cond, Context, Gates, RegexIndex, Scan, WordIndex};
use facts::Facts;

use super::decision::{Decided, Decision, RuleTrace, Source};
use crate::ack_templates::AckTemplates;
use crate::halo::model::Ticket;
use crate::halo::{Field, FieldValue};

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{location}: rule '{rule}' can never run: rule '{stopper}' before it matches every ticket and stops")]
    Unreachable {
        rule: String,
        location: String,
        stopper: String,
    },
    #[error("{0}")]
    Build(String),
}

/// One compiled rule.
#[derive(Debug)]
pub struct Rule {
    name: String,
    precedence: i64,
    /// Position across all files, for stable ordering at equal precedence.
    order: usize,
    /// `file:line` of the rule's name, and its column.
    location: String,
    column: usize,
    /// Lower-cased client names; empty = every client.
    clients: Vec<String>,
    ticket_types: Vec<i64>,
    when: Option<Cond>,
    set: Vec<(Field, FieldValue)>,
    custom: Vec<(String, FieldValue)>,
    ack: Option<String>,
    note: Option<String>,
    llm: Option<super::LlmMode>,
    lock: Vec<Field>,
    override_earlier: bool,
    stop: bool,
}

impl Rule {
    fn in_scope(&self, facts: &Facts) -> bool {
        let ticket = facts.ticket();
        (self.clients.is_empty() || self.clients.contains(&facts.client))
            && (self.ticket_types.is_empty()
                || ticket
                    .tickettype_id
                    .is_some_and(|t| self.ticket_types.contains(&t)))
    }

    /// Matches every ticket and stops: nothing after it can run.
    fn always_stops(&self) -> bool {
        self.stop && self.when.is_none() && self.clients.is_empty() && self.ticket_types.is_empty()
    }
}

/// A label a rule or the defaults write, with where it is written.
#[derive(Debug, Clone)]
pub struct LabelUse {
    pub field: Field,
    pub value: FieldValue,
    /// `file:line`, or "defaults".
    pub location: String,
}

/// Whether each rule matched one ticket, for `rules explain`.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub rule: String,
    pub location: String,
    pub precedence: i64,
    pub outcome: RuleOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleOutcome {
    Matched,
    OutOfScope,
    NoMatch,
    /// Not evaluated: an earlier rule stopped the run.
    NotReached,
}

/// A validated rule set, ready to evaluate.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<Rule>,
    defaults: Vec<(Field, FieldValue)>,
    words: Vec<WordIndex>,
    regexes: Vec<RegexIndex>,
    gates: Gates,
    calendars: Vec<calendar::Calendar>,
    time_zone: TimeZone,
    ack_templates: BTreeMap<String, AckTemplates>,
    files: Vec<PathBuf>,
    digest: Vec<u8>,
    labels: Option<spec::Labels>,
}

impl RuleSet {
    /// Loads the main rules file and every `*.toml` in `overlays` (when it exists).
    pub fn load(main: &Path, overlays: Option<&Path>) -> Result<RuleSet, RulesError> {
        let files = source_files(main, overlays)?;
        let digest = compile::digest(&files);
        let mut compiled = Compiled::default();
        for (file, is_main) in &files {
            compiled.add(file, *is_main)?;
        }
        let mut rules = RuleSet::build(
            compiled,
            files.iter().map(|(f, _)| f.path.clone()).collect(),
        )?;
        rules.digest = digest;
        Ok(rules)
    }

    /// A digest of the rules files as they are on disk now (`None` when unreadable), to
    /// compare with [`RuleSet::digest`].
    pub fn digest_on_disk(main: &Path, overlays: Option<&Path>) -> Option<Vec<u8>> {
        source_files(main, overlays)
            .ok()
            .map(|files| compile::digest(&files))
    }

    /// The digest of the files this set was compiled from.
    pub fn digest(&self) -> &[u8] {
        &self.digest
    }

    /// The rules `rules.path` and `rules.overlay_dir` name.
    pub fn from_settings(settings: &crate::config::RulesSettings) -> Result<RuleSet, RulesError> {
        RuleSet::load(&settings.path, Some(&settings.overlay_dir))
    }

    /// Parses one rules text (no overlays); `path` only names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<RuleSet, RulesError> {
        let file = compile::SourceFile::new(path, text.to_string());
        let mut compiled = Compiled::default();
        compiled.add(&file, true)?;
        RuleSet::build(compiled, vec![path.to_path_buf()])
    }

    fn build(compiled: Compiled, files: Vec<PathBuf>) -> Result<RuleSet, RulesError> {
        let compiled = compiled.finish()?;
        let (words, regexes) = compiled.index.build().map_err(RulesError::Build)?;
        let gates = Gates::new(compiled.rules.iter().map(|rule| rule.when.as_ref()));
        Ok(RuleSet {
            rules: compiled.rules,
            defaults: compiled.defaults,
            words,
            regexes,
            gates,
            calendars: compiled.calendars,
            time_zone: compiled.time_zone.unwrap_or(TimeZone::UTC),
            ack_templates: compiled.ack_templates,
            files,
            digest: Vec::new(),
            labels: compiled.labels,
        })
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Each rule's name and `file:line`, in evaluation order.
    pub fn names(&self) -> impl Iterator<Item = (&str, &str)> {
        self.rules
            .iter()
            .map(|rule| (rule.name.as_str(), rule.location.as_str()))
    }

    /// The files this set was read from (watched for changes).
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The labels the main file declares in `[labels]`, if any.
    pub fn declared_labels(&self) -> Option<&spec::Labels> {
        self.labels.as_ref()
    }

    /// The named acknowledgement templates of `[ack_templates]`.
    pub fn ack_template(&self, name: &str) -> Option<&AckTemplates> {
        self.ack_templates.get(name)
    }

    /// Every label the rules and defaults write, to check against Halo.
    pub fn labels(&self) -> Vec<LabelUse> {
        let defaults = self.defaults.iter().map(|(field, value)| LabelUse {
            field: *field,
            value: value.clone(),
            location: "defaults".into(),
        });
        let rules = self.rules.iter().flat_map(|rule| {
            rule.set.iter().map(|(field, value)| LabelUse {
                field: *field,
                value: value.clone(),
                location: rule.location.clone(),
            })
        });
        defaults.chain(rules).collect()
    }

    /// Decides a ticket; one without `dateoccurred` is taken to arrive at `now`.
    pub fn decide_at(&self, ticket: &Ticket, now: Timestamp) -> Decision {
        self.evaluate(ticket, now, None)
    }

    /// Decides and says, for every rule, whether it matched.
    pub fn explain_at(&self, ticket: &Ticket, now: Timestamp) -> (Decision, Vec<Evaluation>) {
        let mut evaluations = Vec::with_capacity(self.rules.len());
        let decision = self.evaluate(ticket, now, Some(&mut evaluations));
        (decision, evaluations)
    }

    /// Rules in precedence order; the first to set a field wins unless a later matching
    /// rule overrides it (and it is not locked); `stop` ends the run; the defaults fill
    /// what is left.
    fn evaluate(
        &self,
        ticket: &Ticket,
        now: Timestamp,
        mut evaluations: Option<&mut Vec<Evaluation>>,
    ) -> Decision {
        let facts = Facts::new(ticket, now, &self.time_zone);
        let scan = Scan::new(&facts, &self.words, &self.regexes);
        let cx = Context {
            facts: &facts,
            scan: &scan,
            words: &self.words,
            calendars: &self.calendars,
        };
        let mut decision = Decision::default();
        let mut llm_owner = None;
        let mut stopped = false;
        let candidates = self.gates.candidates(&scan);
        for (rule, candidate) in self.rules.iter().zip(candidates) {
            let outcome = if stopped {
                RuleOutcome::NotReached
            } else if !rule.in_scope(&facts) {
                RuleOutcome::OutOfScope
            } else if candidate && rule.when.as_ref().is_none_or(|c| c.holds(&cx)) {
                RuleOutcome::Matched
            } else {
                RuleOutcome::NoMatch
            };
            if let Some(evaluations) = evaluations.as_deref_mut() {
                evaluations.push(Evaluation {
                    rule: rule.name.clone(),
                    location: rule.location.clone(),
                    precedence: rule.precedence,
                    outcome: outcome.clone(),
                });
            }
            if outcome != RuleOutcome::Matched {
                continue;
            }
            let reason = match &rule.when {
                Some(cond) => format!("rule '{}' matched: {}", rule.name, cond.evidence(&cx)),
                None => format!("rule '{}' matches every ticket in its scope", rule.name),
            };
            apply(rule, &reason, &mut decision, &mut llm_owner);
            stopped = rule.stop;
        }
        let source = Source::Default;
        for (field, value) in &self.defaults {
            decision.fields.entry(*field).or_insert_with(|| Decided {
                value: value.clone(),
                source: source.clone(),
                reason: "no rule set this field: the rules file's default".into(),
                confidence: None,
            });
        }
        decision
    }
}

/// Applies one matched rule's actions to the decision and records its trace. Fields,
/// custom fields, the acknowledgement choice and the LLM mode all follow the same rule: the
/// first to set one keeps it, unless a later rule overrides (and the field is not locked).
fn apply(rule: &Rule, reason: &str, decision: &mut Decision, llm_owner: &mut Option<Source>) {
    let source = Source::Rule(rule.name.clone());
    let mut trace = RuleTrace {
        rule: rule.name.clone(),
        reason: reason.to_string(),
        stopped: rule.stop,
        ..RuleTrace::default()
    };
    let decided = |value: FieldValue| Decided {
        value,
        source: source.clone(),
        reason: reason.to_string(),
        confidence: None,
    };
    for (field, value) in &rule.set {
        match decision.fields.get(field) {
            None => {
                decision.fields.insert(*field, decided(value.clone()));
                trace.set.push(*field);
            }
            Some(earlier) if rule.override_earlier && !decision.locked.contains(field) => {
                trace.overrode.push((*field, earlier.source.describe()));
                decision.fields.insert(*field, decided(value.clone()));
                trace.set.push(*field);
            }
            Some(earlier) => trace.lost.push((*field, earlier.source.describe())),
        }
        if rule.lock.contains(field) && trace.set.contains(field) {
            decision.locked.insert(*field);
        }
    }
    for (name, value) in &rule.custom {
        let earlier = decision.custom.get(name).map(|d| d.source.clone());
        if takes(
            rule,
            earlier.as_ref(),
            &format!("custom field {name}"),
            &mut trace,
        ) {
            decision.custom.insert(name.clone(), decided(value.clone()));
        }
    }
    if let Some(template) = &rule.ack {
        let earlier = decision.ack_template.as_ref().map(|d| d.source.clone());
        if takes(
            rule,
            earlier.as_ref(),
            &format!("ack template '{template}'"),
            &mut trace,
        ) {
            decision.ack_template = Some(Decided {
                value: template.clone(),
                source: source.clone(),
                reason: reason.to_string(),
                confidence: None,
            });
        }
    }
    if let Some(llm) = rule.llm {
        let what = format!("llm = {}", llm.as_str());
        if takes(rule, llm_owner.as_ref(), &what, &mut trace) {
            decision.llm = llm;
            *llm_owner = Some(source.clone());
        }
    }
    if let Some(note) = &rule.note {
        decision.notes.push(note.clone());
    }
    decision.matched_rules.push(rule.name.clone());
    decision.trace.push(trace);
}

/// Whether `rule` takes a choice an earlier rule may have made, recording it in the trace.
fn takes(rule: &Rule, earlier: Option<&Source>, what: &str, trace: &mut RuleTrace) -> bool {
    match earlier {
        None => {
            trace.effects.push(format!("set {what}"));
            true
        }
        Some(earlier) if rule.override_earlier => {
            trace
                .effects
                .push(format!("set {what}, overriding {}", earlier.describe()));
            true
        }
        Some(earlier) => {
            trace.effects.push(format!(
                "{what}: lost to {}, which chose first",
                earlier.describe()
            ));
            false
        }
    }
}

/// The JSON Schema of a rules file, for editors (config/rules.schema.json).
pub fn schema_json() -> String {
    let mut schema = schemars::schema_for!(spec::RulesFile).to_value();
    // Field-keyed tables (`set`, `[defaults]`) accept Halo's field names only.
    let names: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
    let keys = serde_json::json!({ "enum": names });
    schema["properties"]["defaults"]["propertyNames"] = keys.clone();
    schema["$defs"]["RuleSpec"]["properties"]["set"]["propertyNames"] = keys;
    serde_json::to_string_pretty(&schema).expect("a schema serializes")
}

#[cfg(test)]
mod tests;
