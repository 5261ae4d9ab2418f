//! From the rules files as written to a compiled, validated rule set. Every error names the
//! file, line and column.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use jiff::tz::TimeZone;

use toml::Spanned;

use super::calendar::{time_zone, weekday, Calendar};
use super::condition::{Cond, IndexBuilder, Op, Test};
use super::facts::{FieldRef, FIELD_NAMES};
use super::spec::{ConditionSpec, Labels, RuleSpec, RulesFile, Scalar};
use super::{Rule, RulesError};
use crate::ack_templates::AckTemplates;
use crate::halo::Kind;
use crate::halo::{Field, FieldValue};
use crate::text::comparable;

/// One rules file's text, for turning byte spans into line and column.
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    /// Byte offset of each line's start, so positions cost a binary search, not a rescan.
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(path: &Path, text: String) -> SourceFile {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            path: path.to_path_buf(),
            text,
            line_starts,
        }
    }

    /// Line and column (from 1) of a byte offset.
    fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|start| *start <= offset);
        (line, offset - self.line_starts[line - 1] + 1)
    }

    /// `path:line`, for pointing at a rule in messages.
    pub fn location(&self, span: Range<usize>) -> String {
        format!("{}:{}", self.path.display(), self.position(span.start).0)
    }

    /// The column of a span's start.
    pub fn column(&self, span: Range<usize>) -> usize {
        self.position(span.start).1
    }

    pub fn error(&self, span: Range<usize>, message: impl Into<String>) -> RulesError {
        let (line, column) = self.position(span.start);
        RulesError::Invalid {
            path: self.path.clone(),
            line,
            column,
            message: message.into(),
        }
    }

    /// Parses the file; a syntax or unknown-key error points at its place.
    pub fn parse(&self) -> Result<RulesFile, RulesError> {
        toml::from_str(&self.text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            self.error(span, e.message().trim().to_string())
        })
    }
}

/// Everything compiled from all files, before it becomes a [`super::RuleSet`].
#[derive(Default)]
pub struct Compiled {
    pub rules: Vec<Rule>,
    pub defaults: Vec<(Field, FieldValue)>,
    pub time_zone: Option<TimeZone>,
    pub calendars: Vec<Calendar>,
    pub ack_templates: BTreeMap<String, AckTemplates>,
    pub index: IndexBuilder,
    calendar_names: Vec<String>,
    pub labels: Option<Labels>,
}

impl Compiled {
    /// Adds one file. `main` is the rules file itself; overlays may only add rules,
    /// calendars and templates.
    pub fn add(&mut self, source: &SourceFile, main: bool) -> Result<(), RulesError> {
        let file = source.parse()?;
        if !main {
            let main_only = [
                (file.timezone.as_ref().map(Spanned::span), "timezone"),
                (
                    file.defaults.values().next().map(Spanned::span),
                    "[defaults]",
                ),
            ];
            for (span, what) in main_only {
                if let Some(span) = span {
                    return Err(
                        source.error(span, format!("{what} belongs in the main rules file only"))
                    );
                }
            }
            if let Some(labels) = &file.labels {
                return Err(source.error(
                    labels.span(),
                    "[labels] belongs in the main rules file only",
                ));
            }
        }
        if let Some(zone) = &file.timezone {
            let tz = time_zone(zone.get_ref()).map_err(|m| source.error(zone.span(), m))?;
            self.time_zone = Some(tz);
        }
        if let Some(labels) = file.labels {
            self.labels = Some(labels.into_inner());
        }
        for (name, calendar) in &file.calendars {
            if self.calendar_names.contains(name) {
                return Err(source.error(
                    calendar.span(),
                    format!("calendar '{name}' is defined twice"),
                ));
            }
            let compiled = Calendar::compile(calendar.get_ref())
                .map_err(|m| source.error(calendar.span(), format!("calendar '{name}': {m}")))?;
            self.calendar_names.push(name.clone());
            self.calendars.push(compiled);
        }
        for (name, template) in &file.ack_templates {
            if self.ack_templates.contains_key(name) {
                return Err(source.error(
                    template.span(),
                    format!("ack template '{name}' is defined twice"),
                ));
            }
            let spec = template.get_ref();
            let compiled = AckTemplates::compile(&spec.subject, &spec.body).map_err(|m| {
                source.error(template.span(), format!("ack template '{name}': {m}"))
            })?;
            self.ack_templates.insert(name.clone(), compiled);
        }
        for (field, spanned) in &file.defaults {
            let value = field_value(*field, spanned, source)?;
            self.check_label(*field, &value, spanned.span(), source)?;
            self.defaults.push((*field, value));
        }
        for spec in &file.rules {
            let rule = self.rule(spec, &file.clients, source)?;
            self.rules.push(rule);
        }
        Ok(())
    }

    fn rule(
        &mut self,
        spec: &Spanned<RuleSpec>,
        file_clients: &[String],
        source: &SourceFile,
    ) -> Result<Rule, RulesError> {
        let rule = spec.get_ref();
        let name = rule.name.get_ref().trim().to_string();
        if name.is_empty() {
            return Err(source.error(rule.name.span(), "a rule needs a name"));
        }
        if let Some(other) = self.rules.iter().find(|r| r.name == name) {
            return Err(source.error(
                rule.name.span(),
                format!(
                    "rule '{name}' is defined twice (also at {})",
                    other.location
                ),
            ));
        }
        if rule.set.is_empty()
            && rule.custom.is_empty()
            && rule.ack.is_none()
            && rule.note.is_none()
            && rule.llm.is_none()
        {
            return Err(source.error(
                spec.span(),
                format!(
                    "rule '{name}' does nothing: give it `set`, `custom`, `ack`, `note` or `llm`"
                ),
            ));
        }
        let mut set = Vec::new();
        for (field, value) in &rule.set {
            let decided = field_value(*field, value, source)?;
            self.check_label(*field, &decided, value.span(), source)?;
            set.push((*field, decided));
        }
        if let Some(field) = rule.lock.iter().find(|f| !rule.set.contains_key(f)) {
            return Err(source.error(
                spec.span(),
                format!("rule '{name}' locks {field}, which it does not set"),
            ));
        }
        if let Some(ack) = &rule.ack {
            let choice = ack.get_ref();
            if choice != "none" && !self.ack_templates.contains_key(choice) {
                return Err(source.error(
                    ack.span(),
                    format!("no ack template '{choice}': define [ack_templates.{choice}] or use \"none\""),
                ));
            }
        }
        let when = rule
            .when
            .as_ref()
            .map(|cond| self.condition(cond, source))
            .transpose()?;
        let clients = scope(file_clients, &rule.clients)
            .map_err(|m| source.error(spec.span(), format!("rule '{name}': {m}")))?;
        let custom = rule
            .custom
            .iter()
            .map(|(field, value)| custom_value(field, value).map(|v| (field.trim().to_string(), v)))
            .collect::<Result<_, _>>()
            .map_err(|m| source.error(spec.span(), format!("rule '{name}': {m}")))?;
        Ok(Rule {
            name,
            precedence: rule.precedence,
            order: self.rules.len(),
            location: source.location(rule.name.span()),
            column: source.column(rule.name.span()),
            clients,
            ticket_types: rule.ticket_types.clone(),
            when,
            set,
            custom,
            ack: rule.ack.as_ref().map(|a| a.get_ref().clone()),
            note: rule.note.clone(),
            llm: rule.llm,
            lock: rule.lock.clone(),
            override_earlier: rule.override_earlier,
            stop: rule.stop,
        })
    }

    fn condition(
        &mut self,
        spec: &Spanned<ConditionSpec>,
        source: &SourceFile,
    ) -> Result<Cond, RulesError> {
        let span = spec.span();
        let c = spec.get_ref();
        let fail = |message: String| source.error(span.clone(), message);
        let combinators = [c.all.is_some(), c.any.is_some(), c.not.is_some()];
        let combinator_count = combinators.iter().filter(|b| **b).count();
        if combinator_count > 0 {
            if combinator_count > 1 || c.field.is_some() {
                return Err(fail(
                    "a condition is one of: `all`, `any`, `not`, or a `field` test".into(),
                ));
            }
            let list = |conds: &Vec<Spanned<ConditionSpec>>, this: &mut Self| {
                if conds.is_empty() {
                    return Err(fail("an empty `all` or `any` list".into()));
                }
                conds
                    .iter()
                    .map(|c| this.condition(c, source))
                    .collect::<Result<Vec<_>, _>>()
            };
            return Ok(match (&c.all, &c.any, &c.not) {
                (Some(all), _, _) => Cond::All(list(all, self)?),
                (_, Some(any), _) => Cond::Any(list(any, self)?),
                (_, _, Some(not)) => Cond::Not(Box::new(self.condition(not, source)?)),
                _ => unreachable!("one combinator is present"),
            });
        }
        let Some(field_name) = &c.field else {
            return Err(fail(
                "a condition needs `field` and an operator, or `all` / `any` / `not`".into(),
            ));
        };
        let field = FieldRef::parse(field_name).ok_or_else(|| {
            fail(format!(
                "unknown field '{field_name}'; fields: {FIELD_NAMES}"
            ))
        })?;
        let op = self.operator(c, &field).map_err(fail)?;
        Ok(Cond::Test(Test { field, op }))
    }

    fn operator(&mut self, c: &ConditionSpec, field: &FieldRef) -> Result<Op, String> {
        let lower = comparable;
        let words = |list: &Vec<String>| -> Result<(), String> {
            if list.is_empty() || list.iter().any(|w| w.trim().is_empty()) {
                return Err("a word list must not be empty or hold empty words".into());
            }
            Ok(())
        };
        let mut ops: Vec<Op> = Vec::new();
        if let Some(v) = &c.equals {
            ops.push(Op::Equals(lower(&v.to_text())));
        }
        if let Some(v) = &c.not_equals {
            ops.push(Op::NotEquals(lower(&v.to_text())));
        }
        if let Some(list) = &c.in_list {
            if list.is_empty() {
                return Err("`in` needs at least one value".into());
            }
            ops.push(Op::In(list.iter().map(|v| lower(&v.to_text())).collect()));
        }
        if let Some(list) = &c.contains_any {
            words(list)?;
            ops.push(Op::ContainsAny(self.index.words(field, list, c.whole_word)));
        }
        if let Some(list) = &c.contains_all {
            words(list)?;
            ops.push(Op::ContainsAll(self.index.words(field, list, c.whole_word)));
        }
        if let Some(v) = &c.starts_with {
            ops.push(Op::StartsWith(lower(v)));
        }
        if let Some(v) = &c.ends_with {
            ops.push(Op::EndsWith(lower(v)));
        }
        if let Some(pattern) = &c.regex {
            regex::RegexBuilder::new(pattern)
                .case_insensitive(true)
                .build()
                .map_err(|e| format!("bad regex: {e}"))?;
            let (set, index) = self.index.regex(field, pattern);
            ops.push(Op::Regex {
                set,
                pattern: index,
                source: pattern.clone(),
            });
        }
        if let Some(domains) = &c.domain {
            if domains.is_empty() {
                return Err("`domain` needs at least one domain".into());
            }
            let domains = domains
                .iter()
                .map(|d| {
                    lower(d)
                        .trim_start_matches('@')
                        .trim_start_matches('.')
                        .to_string()
                })
                .collect();
            ops.push(Op::Domain(domains));
        }
        if let Some(b) = c.exists {
            ops.push(Op::Exists(b));
        }
        if let Some(b) = c.empty {
            ops.push(Op::Empty(b));
        }
        if let Some(n) = c.greater_than {
            ops.push(Op::GreaterThan(n));
        }
        if let Some(n) = c.less_than {
            ops.push(Op::LessThan(n));
        }
        if let Some(name) = &c.within {
            if *field != FieldRef::Arrived {
                return Err("`within` tests the field \"arrived\"".into());
            }
            let calendar = self
                .calendar_names
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| format!("no calendar '{name}': define [calendars.{name}] first"))?;
            ops.push(Op::Within {
                calendar,
                name: name.clone(),
            });
        }
        if c.whole_word && c.contains_any.is_none() && c.contains_all.is_none() {
            return Err("`whole_word` goes with `contains_any` or `contains_all`".into());
        }
        match ops.len() {
            1 => {
                let op = ops.remove(0);
                fits(field, &op)?;
                Ok(op)
            }
            0 => Err(format!("the test of '{}' has no operator", field.name())),
            _ => Err(format!(
                "the test of '{}' has more than one operator: split it into `all`",
                field.name()
            )),
        }
    }

    /// Checks a label against `[labels]`, when the file lists them.
    fn check_label(
        &self,
        field: Field,
        value: &FieldValue,
        span: Range<usize>,
        source: &SourceFile,
    ) -> Result<(), RulesError> {
        let Some(labels) = &self.labels else {
            return Ok(());
        };
        let text_in = |list: &[String]| {
            list.is_empty()
                || value
                    .as_text()
                    .is_some_and(|v| list.iter().any(|l| l.eq_ignore_ascii_case(v)))
        };
        let id_in =
            |list: &[i64]| list.is_empty() || value.as_id().is_some_and(|v| list.contains(&v));
        let known = match field {
            Field::Team => text_in(&labels.teams),
            Field::Category1 | Field::Category2 | Field::Category3 | Field::Category4 => {
                text_in(&labels.categories)
            }
            Field::PriorityId => id_in(&labels.priorities),
            Field::TicketTypeId => id_in(&labels.ticket_types),
            Field::StatusId => id_in(&labels.statuses),
            Field::AgentId => id_in(&labels.agents),
            Field::Impact | Field::Urgency => true,
        };
        if known {
            Ok(())
        } else {
            Err(source.error(span, format!("{field} {value} is not in [labels]")))
        }
    }

    /// Rules in evaluation order; a rule after one that always matches and stops is an
    /// error, since it can never run.
    pub fn finish(mut self) -> Result<Self, RulesError> {
        self.rules.sort_by_key(|r| (r.precedence, r.order));
        if let Some(stopper) = self.rules.iter().position(Rule::always_stops) {
            if let Some(unreachable) = self.rules.get(stopper + 1) {
                return Err(RulesError::Unreachable {
                    rule: unreachable.name.clone(),
                    location: format!("{}:{}", unreachable.location, unreachable.column),
                    stopper: self.rules[stopper].name.clone(),
                });
            }
        }
        Ok(self)
    }
}

/// Refuses tests that can never mean anything: numbers compared on text fields, domains
/// of non-email fields, weekdays or hours that do not exist, a VIP flag that is not a
/// boolean.
fn fits(field: &FieldRef, op: &Op) -> Result<(), String> {
    let numeric = matches!(
        field,
        FieldRef::ClientId
            | FieldRef::TicketType
            | FieldRef::Priority
            | FieldRef::Source
            | FieldRef::Hour
            | FieldRef::Custom(_)
    );
    let values: &[String] = match op {
        Op::Equals(v) | Op::NotEquals(v) => std::slice::from_ref(v),
        Op::In(values) => values,
        _ => &[],
    };
    let name = field.name();
    match (field, op) {
        (_, Op::GreaterThan(_) | Op::LessThan(_)) if !numeric => Err(format!(
            "'{name}' is not a number: greater_than / less_than do not apply"
        )),
        (FieldRef::UserEmail | FieldRef::EmailDomain | FieldRef::Custom(_), Op::Domain(_)) => {
            Ok(())
        }
        (_, Op::Domain(_)) => Err(format!(
            "`domain` tests user_email or email_domain, not '{name}'"
        )),
        (FieldRef::Weekday, _) => {
            match values.iter().find(|v| weekday(v).is_none() || v.len() != 3) {
                Some(bad) => Err(format!(
                    "'{bad}' is not a weekday: use mon, tue, wed, thu, fri, sat, sun"
                )),
                None => Ok(()),
            }
        }
        (FieldRef::Hour, _) => match values
            .iter()
            .find(|v| v.parse::<u8>().map_or(true, |h| h > 23))
        {
            Some(bad) => Err(format!("'{bad}' is not an hour (0 to 23)")),
            None => Ok(()),
        },
        (FieldRef::Vip, _) => match values.iter().find(|v| *v != "true" && *v != "false") {
            Some(bad) => Err(format!("vip is true or false, not '{bad}'")),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// The clients a rule applies to: its own list, narrowed by its file's (an overlay for one
/// customer can never reach another's tickets). Empty means every client.
fn scope(file_clients: &[String], rule_clients: &[String]) -> Result<Vec<String>, String> {
    let lower =
        |list: &[String]| -> Vec<String> { list.iter().map(|c| c.trim().to_lowercase()).collect() };
    let (file, rule) = (lower(file_clients), lower(rule_clients));
    match (file.is_empty(), rule.is_empty()) {
        (true, _) => Ok(rule),
        (false, true) => Ok(file),
        (false, false) => {
            let both: Vec<String> = rule.into_iter().filter(|c| file.contains(c)).collect();
            if both.is_empty() {
                return Err(
                    "its `clients` are outside the file's `clients`: it could never run".into(),
                );
            }
            Ok(both)
        }
    }
}

/// A `set` value, checked against the field's kind.
fn field_value(
    field: Field,
    value: &Spanned<Scalar>,
    source: &SourceFile,
) -> Result<FieldValue, RulesError> {
    match (field.kind(), value.get_ref()) {
        (Kind::Text, Scalar::Text(text)) if !text.trim().is_empty() => {
            Ok(FieldValue::Text(text.trim().to_string()))
        }
        (Kind::Id, Scalar::Integer(id)) if *id > 0 => Ok(FieldValue::Id(*id)),
        (Kind::Text, _) => {
            Err(source.error(value.span(), format!("{field} must be non-empty text")))
        }
        (Kind::Id, _) => Err(source.error(
            value.span(),
            format!("{field} must be an id (a whole number above 0)"),
        )),
    }
}

/// A custom field value: text or a whole number, under a non-empty name.
fn custom_value(name: &str, value: &Scalar) -> Result<FieldValue, String> {
    if name.trim().is_empty() {
        return Err("a custom field needs a name".into());
    }
    match value {
        Scalar::Text(text) => Ok(FieldValue::Text(text.clone())),
        Scalar::Integer(i) => Ok(FieldValue::Id(*i)),
        other => Err(format!(
            "custom field {name}: give text or a whole number, not {}",
            other.to_text()
        )),
    }
}

/// The files of a rule set: the main file, then the overlay folder's `*.toml` by name.
pub fn source_files(
    main: &Path,
    overlays: Option<&Path>,
) -> Result<Vec<(SourceFile, bool)>, RulesError> {
    let read = |path: &Path| {
        std::fs::read_to_string(path)
            .map(|text| SourceFile::new(path, text))
            .map_err(|source| RulesError::Read {
                path: path.to_path_buf(),
                source,
            })
    };
    let mut files = vec![(read(main)?, true)];
    if let Some(folder) = overlays.filter(|f| f.is_dir()) {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(folder)
            .map_err(|source| RulesError::Read {
                path: folder.to_path_buf(),
                source,
            })?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        paths.sort();
        for path in paths {
            files.push((read(&path)?, false));
        }
    }
    Ok(files)
}

/// A digest of every file's path and text: changes when any rules file does.
pub fn digest(files: &[(SourceFile, bool)]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for (file, _) in files {
        hasher.update(file.path.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update(file.text.as_bytes());
        hasher.update([0]);
    }
    hasher.finalize().to_vec()
}
