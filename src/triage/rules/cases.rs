//! `halo-triage rules test`: rule authors' test cases, a ticket and the fields expected.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use jiff::Timestamp;
use serde::Deserialize;

use super::calendar::parse_arrival;
use super::compile::SourceFile;
use super::spec::Scalar;
use super::{RuleSet, RulesError};
use crate::halo::model::Ticket;
use crate::halo::{Field, FieldValue};
use crate::triage::decision::LlmMode;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CasesFile {
    /// When tickets without `dateoccurred` arrive (ISO 8601); default: when the test runs.
    now: Option<String>,
    #[serde(rename = "case")]
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    /// The ticket, with Halo's field names (as `GET /api/Tickets/{id}` returns it).
    ticket: Ticket,
    /// Expected fields; "" or 0 expects the field to be left unset.
    #[serde(default)]
    expect: BTreeMap<Field, Scalar>,
    /// Expected matched rules, in order (optional).
    expect_rules: Option<Vec<String>>,
    /// Expected custom fields (optional).
    #[serde(default)]
    expect_custom: BTreeMap<String, Scalar>,
    /// Expected acknowledgement template, "none", or "" for the default (optional).
    expect_ack: Option<String>,
    /// Expected LLM mode: fill, hint or skip (optional).
    expect_llm: Option<LlmMode>,
}

/// One expectation that did not hold.
#[derive(Debug, Clone)]
pub struct CaseFailure {
    pub case: String,
    pub field: String,
    pub expected: String,
    pub got: String,
    /// Which rule (or the defaults) decided the value, or "nobody".
    pub decided_by: String,
}

impl fmt::Display for CaseFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "FAIL case '{}': {}: expected {}, got {} (decided by {})",
            self.case, self.field, self.expected, self.got, self.decided_by
        )
    }
}

#[derive(Debug, Default)]
pub struct CaseReport {
    pub cases: usize,
    pub failures: Vec<CaseFailure>,
}

impl RuleSet {
    /// Runs every case of the file at `path`; tickets without `dateoccurred` arrive at `now`.
    pub fn run_cases(&self, path: &Path, now: Timestamp) -> Result<CaseReport, RulesError> {
        let text = std::fs::read_to_string(path).map_err(|source| RulesError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let source = SourceFile::new(path, text);
        let file: CasesFile = toml::from_str(&source.text)
            .map_err(|e| source.error(e.span().unwrap_or(0..0), e.message().trim()))?;
        let now = match &file.now {
            Some(text) => parse_arrival(text).ok_or_else(|| {
                source.error(0..0, format!("`now = \"{text}\"` is not a date and time"))
            })?,
            None => now,
        };
        let mut report = CaseReport::default();
        for case in &file.cases {
            report.cases += 1;
            let decision = self.decide_at(&case.ticket, now);
            let mut check = |what: String, expected: String, got: String, by: String| {
                if expected != got {
                    report.failures.push(CaseFailure {
                        case: case.name.clone(),
                        field: what,
                        expected,
                        got,
                        decided_by: by,
                    });
                }
            };
            for (name, expected) in &case.expect_custom {
                let got = decision.custom.get(name);
                check(
                    format!("custom field {name}"),
                    describe(expectation(expected).as_ref()),
                    describe(got.map(|d| &d.value)),
                    got.map_or("nobody".into(), |d| d.source.describe()),
                );
            }
            if let Some(expected) = &case.expect_ack {
                let got = decision.ack_template.as_ref();
                check(
                    "ack template".into(),
                    format!("'{expected}'"),
                    format!("'{}'", got.map_or("", |d| d.value.as_str())),
                    got.map_or("nobody".into(), |d| d.source.describe()),
                );
            }
            if let Some(expected) = case.expect_llm {
                check(
                    "llm".into(),
                    expected.as_str().into(),
                    decision.llm.as_str().into(),
                    "the first matched rule with `llm`".into(),
                );
            }
            for (field, expected) in &case.expect {
                let got = decision.fields.get(field);
                let wanted = expectation(expected);
                let holds = match (&wanted, got) {
                    (None, None) => true,
                    (Some(wanted), Some(got)) => wanted.same_as(&got.value),
                    _ => false,
                };
                if !holds {
                    report.failures.push(CaseFailure {
                        case: case.name.clone(),
                        field: field.to_string(),
                        expected: describe(wanted.as_ref()),
                        got: describe(got.map(|d| &d.value)),
                        decided_by: got.map_or("nobody".into(), |d| d.source.describe()),
                    });
                }
            }
            if let Some(expected) = &case.expect_rules {
                if *expected != decision.matched_rules {
                    report.failures.push(CaseFailure {
                        case: case.name.clone(),
                        field: "matched rules".into(),
                        expected: format!("{expected:?}"),
                        got: format!("{:?}", decision.matched_rules),
                        decided_by: "the rules in order".into(),
                    });
                }
            }
        }
        Ok(report)
    }
}

/// "" and 0 expect no value.
fn expectation(expected: &Scalar) -> Option<FieldValue> {
    match expected {
        Scalar::Text(text) if text.trim().is_empty() => None,
        Scalar::Text(text) => Some(FieldValue::Text(text.clone())),
        Scalar::Integer(0) => None,
        Scalar::Integer(id) => Some(FieldValue::Id(*id)),
        other => Some(FieldValue::Text(other.to_text())),
    }
}

fn describe(value: Option<&FieldValue>) -> String {
    value.map_or("no value".into(), |v| format!("'{v}'"))
}
