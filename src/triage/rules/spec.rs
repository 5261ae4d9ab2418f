//! The rules file as written: TOML tables, deserialized with their positions so every
//! error can name the line. `config/rules.schema.json` is generated from these types.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use crate::halo::Field;
use crate::triage::decision::LlmMode;

/// A rules file: the main one, or an overlay in the overlay folder.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesFile {
    /// Time zone (IANA name, e.g. "Europe/London") for the `weekday` and `hour` fields.
    /// Main file only. Default: UTC.
    #[schemars(with = "Option<String>")]
    pub timezone: Option<Spanned<String>>,
    /// Restrict every rule of this file to these clients (by name): one overlay file per
    /// customer.
    #[serde(default)]
    pub clients: Vec<String>,
    /// Labels that exist in Halo, to validate rules offline (`halo-triage check` validates
    /// against Halo itself when credentials are set). Main file only.
    #[schemars(with = "Option<Labels>")]
    pub labels: Option<Spanned<Labels>>,
    /// Values for the fields no rule set. Main file only.
    #[serde(default)]
    #[schemars(with = "BTreeMap<Field, Scalar>")]
    pub defaults: BTreeMap<Field, Spanned<Scalar>>,
    /// Named business-hours calendars, used by the `within` operator.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, CalendarSpec>")]
    pub calendars: BTreeMap<String, Spanned<CalendarSpec>>,
    /// Named acknowledgement templates a rule can choose with `ack = "<name>"`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, AckTemplateSpec>")]
    pub ack_templates: BTreeMap<String, Spanned<AckTemplateSpec>>,
    /// The rules, evaluated by precedence (lower first), then in file order.
    #[serde(default, rename = "rule")]
    #[schemars(with = "Vec<RuleSpec>")]
    pub rules: Vec<Spanned<RuleSpec>>,
}

/// Known labels, for validation without Halo.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Labels {
    #[serde(default)]
    pub teams: Vec<String>,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub priorities: Vec<i64>,
    #[serde(default)]
    pub ticket_types: Vec<i64>,
    #[serde(default)]
    pub statuses: Vec<i64>,
    #[serde(default)]
    pub agents: Vec<i64>,
}

/// One routing rule.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Unique name, shown in every decision it takes part in.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// Lower runs first (as in Halo); equal precedence keeps file order. Default 100.
    #[serde(default = "default_precedence")]
    pub precedence: i64,
    /// Only for tickets of these clients (by name, case-insensitive).
    #[serde(default)]
    pub clients: Vec<String>,
    /// Only for tickets of these ticket type ids.
    #[serde(default)]
    pub ticket_types: Vec<i64>,
    /// The condition; a rule without one matches every ticket in its scope.
    #[schemars(with = "Option<ConditionSpec>")]
    pub when: Option<Spanned<ConditionSpec>>,
    /// The fields this rule sets.
    #[serde(default)]
    #[schemars(with = "BTreeMap<Field, Scalar>")]
    pub set: BTreeMap<Field, Spanned<Scalar>>,
    /// Custom fields to set, by name.
    #[serde(default)]
    pub custom: BTreeMap<String, Scalar>,
    /// The acknowledgement template to use (a name from `[ack_templates]`), or "none".
    #[schemars(with = "Option<String>")]
    pub ack: Option<Spanned<String>>,
    /// A line for the private note to the agents.
    pub note: Option<String>,
    /// What the LLM may still decide after this rule: fill (default), hint or skip.
    pub llm: Option<LlmMode>,
    /// Fields this rule sets that nothing later (a rule with `override`, the LLM) may change.
    #[serde(default)]
    pub lock: Vec<Field>,
    /// Take over fields an earlier rule set (unless that rule locked them).
    #[serde(default, rename = "override")]
    pub override_earlier: bool,
    /// End evaluation when this rule matches.
    #[serde(default)]
    pub stop: bool,
}

fn default_precedence() -> i64 {
    100
}

/// A condition: a combinator (`all`, `any`, `not`) or a test of one field with one operator.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionSpec {
    /// Every condition holds.
    #[schemars(with = "Option<Vec<ConditionSpec>>")]
    pub all: Option<Vec<Spanned<ConditionSpec>>>,
    /// At least one condition holds.
    #[schemars(with = "Option<Vec<ConditionSpec>>")]
    pub any: Option<Vec<Spanned<ConditionSpec>>>,
    /// The condition does not hold.
    #[schemars(with = "Option<Box<ConditionSpec>>")]
    pub not: Option<Box<Spanned<ConditionSpec>>>,

    /// The field to test: summary, details, text, user_name, user_email, email_domain,
    /// client_name, client_id, site, ticket_type, priority, team, category_1..category_4,
    /// source, vip, weekday, hour, arrived, or custom.<name>.
    pub field: Option<String>,
    /// Equal (text case-insensitive).
    pub equals: Option<Scalar>,
    /// Not equal (text case-insensitive).
    pub not_equals: Option<Scalar>,
    /// Equal to one of these.
    #[serde(rename = "in")]
    pub in_list: Option<Vec<Scalar>>,
    /// Contains at least one of these words or phrases (case-insensitive).
    pub contains_any: Option<Vec<String>>,
    /// Contains every one of these words or phrases (case-insensitive).
    pub contains_all: Option<Vec<String>>,
    /// With contains_any / contains_all: match whole words only.
    #[serde(default)]
    pub whole_word: bool,
    /// Starts with (case-insensitive).
    pub starts_with: Option<String>,
    /// Ends with (case-insensitive).
    pub ends_with: Option<String>,
    /// Matches this regular expression (case-insensitive, Rust regex syntax).
    pub regex: Option<String>,
    /// An email address (or domain) in one of these domains, subdomains included.
    pub domain: Option<Vec<String>>,
    /// true: the field has a value; false: it has none.
    pub exists: Option<bool>,
    /// true: the field is empty or missing; false: it has a value.
    pub empty: Option<bool>,
    /// A number greater than this.
    pub greater_than: Option<f64>,
    /// A number less than this.
    pub less_than: Option<f64>,
    /// The ticket arrived within this business-hours calendar (field "arrived").
    pub within: Option<String>,
}

/// A business-hours calendar.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    /// IANA time zone, e.g. "Europe/London".
    pub timezone: String,
    /// Working days: mon, tue, wed, thu, fri, sat, sun.
    pub days: Vec<String>,
    /// Opening time, "HH:MM".
    pub start: String,
    /// Closing time, "HH:MM" (exclusive).
    pub end: String,
    /// Closed dates, "YYYY-MM-DD".
    #[serde(default)]
    pub holidays: Vec<String>,
}

/// A named acknowledgement template (minijinja, like `ack.subject` / `ack.body`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AckTemplateSpec {
    pub subject: String,
    /// Must contain {{ marker }}.
    pub body: String,
}

/// A value in a rule: text, a whole number, a number or a boolean.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Scalar {
    Bool(bool),
    Integer(i64),
    Float(f64),
    Text(String),
}

impl Scalar {
    /// The value as text, for comparisons with text fields.
    pub fn to_text(&self) -> String {
        match self {
            Scalar::Bool(b) => b.to_string(),
            Scalar::Integer(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Text(t) => t.clone(),
        }
    }
}
