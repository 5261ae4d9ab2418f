//! First-cut routing rules: ordered `[[rule]]` tables matching words in the ticket text,
//! optionally scoped to clients, setting fields; `[defaults]` fill what no rule set.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::decision::{Decision, FieldValues, Source};
use crate::halo::model::Ticket;

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("cannot read rules file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("rules file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("rules file {path}: rule '{rule}': {message}")]
    Invalid {
        path: PathBuf,
        rule: String,
        message: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    defaults: FieldValues,
    #[serde(default, rename = "rule")]
    rules: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    name: String,
    /// Matches when the summary or details contain any of these (case-insensitive).
    #[serde(default)]
    contains_any: Vec<String>,
    /// Only for tickets of these clients (by name, case-insensitive); empty = all clients.
    #[serde(default)]
    clients: Vec<String>,
    set: FieldValues,
    /// End evaluation when this rule matches.
    #[serde(default)]
    stop: bool,
}

impl Rule {
    /// Why the rule matches the ticket, or `None` when it does not.
    fn matches(&self, ticket: &Ticket, text: &str) -> Option<String> {
        if !self.clients.is_empty()
            && !self
                .clients
                .iter()
                .any(|client| client.eq_ignore_ascii_case(ticket.client_name.trim()))
        {
            return None;
        }
        if self.contains_any.is_empty() {
            return Some(format!("rule '{}' matches every ticket", self.name));
        }
        let word = self
            .contains_any
            .iter()
            .find(|word| text.contains(word.as_str()))?;
        Some(format!(
            "rule '{}' matched: the text contains '{word}'",
            self.name
        ))
    }
}

/// A validated rule set, ready to evaluate.
#[derive(Debug)]
pub struct RuleSet {
    defaults: FieldValues,
    rules: Vec<Rule>,
}

impl RuleSet {
    pub fn load(path: &Path) -> Result<RuleSet, RulesError> {
        let text = std::fs::read_to_string(path).map_err(|source| RulesError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        RuleSet::parse(&text, path)
    }

    /// Parses and validates rules text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<RuleSet, RulesError> {
        let file: RulesFile = toml::from_str(text).map_err(|e| RulesError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let mut names = std::collections::HashSet::new();
        let mut rules = file.rules;
        for rule in &mut rules {
            let invalid = |message: &str| RulesError::Invalid {
                path: path.to_path_buf(),
                rule: rule.name.clone(),
                message: message.to_string(),
            };
            if rule.name.trim().is_empty() {
                return Err(invalid("the name is empty"));
            }
            if !names.insert(rule.name.clone()) {
                return Err(invalid("another rule has the same name"));
            }
            if rule.set == FieldValues::default() {
                return Err(invalid("`set` sets no field"));
            }
            if rule.contains_any.iter().any(|word| word.trim().is_empty()) {
                return Err(invalid("`contains_any` has an empty word"));
            }
            for word in &mut rule.contains_any {
                *word = word.to_lowercase();
            }
        }
        Ok(RuleSet {
            defaults: file.defaults,
            rules,
        })
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Runs the rules in file order; the first rule to set a field wins, `stop` ends the
    /// run, and the defaults fill what is left.
    pub fn decide(&self, ticket: &Ticket) -> Decision {
        let text = ticket.text().to_lowercase();
        let mut decision = Decision::default();
        for rule in &self.rules {
            let Some(reason) = rule.matches(ticket, &text) else {
                continue;
            };
            decision.matched_rules.push(rule.name.clone());
            decision.fill(&rule.set, &Source::Rule(rule.name.clone()), &reason);
            if rule.stop {
                break;
            }
        }
        decision.fill(
            &self.defaults,
            &Source::Default,
            "no rule set this field: the rules file's default",
        );
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> RuleSet {
        RuleSet::parse(text, Path::new("test.toml")).unwrap()
    }

    fn ticket(summary: &str, client: &str) -> Ticket {
        Ticket {
            id: 1,
            summary: summary.into(),
            client_name: client.into(),
            ..Ticket::default()
        }
    }

    const RULES: &str = r#"
        [defaults]
        team = "Service Desk"
        priority_id = 4

        [[rule]]
        name = "outage"
        contains_any = ["outage", "down"]
        set = { team = "Network", priority_id = 1 }
        stop = true

        [[rule]]
        name = "printer"
        contains_any = ["Printer"]
        set = { category_1 = "Hardware", team = "Field" }

        [[rule]]
        name = "globex printers"
        contains_any = ["printer"]
        clients = ["Globex Corporation"]
        set = { team = "Globex Onsite", category_2 = "Printer" }
    "#;

    #[test]
    fn first_rule_to_set_a_field_wins_and_defaults_fill_the_rest() {
        let decision = rules(RULES).decide(&ticket("Printer jammed", "Globex Corporation"));
        assert_eq!(decision.matched_rules, ["printer", "globex printers"]);
        let team = decision.team.unwrap();
        assert_eq!(team.value, "Field");
        assert_eq!(team.source, Source::Rule("printer".into()));
        assert!(team.reason.contains("'printer'"), "{}", team.reason);
        assert_eq!(decision.category_2.unwrap().value, "Printer");
        let priority = decision.priority_id.unwrap();
        assert_eq!((priority.value, priority.source), (4, Source::Default));
    }

    #[test]
    fn stop_ends_evaluation_and_client_scope_applies() {
        let decision =
            rules(RULES).decide(&ticket("Internet down, printer too", "Globex Corporation"));
        assert_eq!(decision.matched_rules, ["outage"]);
        assert_eq!(decision.team.unwrap().value, "Network");
        let other_client = rules(RULES).decide(&ticket("printer", "Initech"));
        assert_eq!(other_client.matched_rules, ["printer"]);
    }

    #[test]
    fn an_unmatched_ticket_gets_the_defaults() {
        let decision = rules(RULES).decide(&ticket("Question about invoice", ""));
        assert!(decision.matched_rules.is_empty());
        assert_eq!(decision.team.unwrap().source, Source::Default);
        assert!(decision.category_1.is_none());
    }

    #[test]
    fn invalid_files_are_refused_with_the_reason() {
        let cases = [
            ("[[rule]]\nname = \"a\"\nset = { tean = \"x\" }\n", "unknown field `tean`"),
            ("[[rule]]\nname = \"a\"\nset = {}\n", "sets no field"),
            (
                "[[rule]]\nname = \"a\"\nset = { team = \"x\" }\n[[rule]]\nname = \"a\"\nset = { team = \"y\" }\n",
                "same name",
            ),
            ("[[rule]]\nname = \"a\"\ncontains_any = [\" \"]\nset = { team = \"x\" }\n", "empty word"),
            ("[[rule]\n", "line 1"),
        ];
        for (text, expected) in cases {
            let err = RuleSet::parse(text, Path::new("r.toml"))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(expected) && err.contains("r.toml"),
                "{expected}: {err}"
            );
        }
    }
}
