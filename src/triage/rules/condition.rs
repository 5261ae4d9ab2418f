//! Compiled conditions. Word lists of every rule are merged into one aho-corasick
//! automaton per field and regexes into one `RegexSet` per field, so one pass over each
//! text answers all rules; a condition then only looks up which patterns were found.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::{RegexSet, RegexSetBuilder};

use super::calendar::Calendar;
use super::facts::{Facts, FieldRef};
use crate::triage::text::comparable;

#[derive(Debug)]
pub enum Cond {
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Not(Box<Cond>),
    Test(Test),
}

#[derive(Debug)]
pub struct Test {
    pub field: FieldRef,
    pub op: Op,
}

/// Text operands are stored lower-cased.
#[derive(Debug)]
pub enum Op {
    Equals(String),
    NotEquals(String),
    In(Vec<String>),
    ContainsAny(WordsRef),
    ContainsAll(WordsRef),
    StartsWith(String),
    EndsWith(String),
    Regex {
        set: usize,
        pattern: usize,
        source: String,
    },
    Domain(Vec<String>),
    Exists(bool),
    Empty(bool),
    GreaterThan(f64),
    LessThan(f64),
    Within {
        calendar: usize,
        name: String,
    },
}

/// Patterns of one word operator: which automaton, which of its patterns.
#[derive(Debug)]
pub struct WordsRef {
    pub index: usize,
    pub patterns: Vec<usize>,
    /// The words as written, for explanations.
    pub words: Vec<String>,
}

/// The automaton of one field, with the words in it.
#[derive(Debug)]
pub struct WordIndex {
    pub field: FieldRef,
    automaton: AhoCorasick,
    words: Vec<String>,
    whole_word: Vec<bool>,
}

/// The regex set of one field.
#[derive(Debug)]
pub struct RegexIndex {
    pub field: FieldRef,
    set: RegexSet,
}

/// Collects patterns while rules compile, then builds the indexes.
#[derive(Default)]
pub struct IndexBuilder {
    words: Vec<(FieldRef, Vec<(String, bool)>)>,
    regexes: Vec<(FieldRef, Vec<String>)>,
}

impl IndexBuilder {
    /// Registers words for `field`; equal words are shared between rules.
    pub fn words(&mut self, field: &FieldRef, words: &[String], whole_word: bool) -> WordsRef {
        let index = match self.words.iter().position(|(f, _)| f == field) {
            Some(index) => index,
            None => {
                self.words.push((field.clone(), Vec::new()));
                self.words.len() - 1
            }
        };
        let entries = &mut self.words[index].1;
        let patterns = words
            .iter()
            .map(|word| {
                let entry = (comparable(word), whole_word);
                match entries.iter().position(|e| *e == entry) {
                    Some(pattern) => pattern,
                    None => {
                        entries.push(entry);
                        entries.len() - 1
                    }
                }
            })
            .collect();
        WordsRef {
            index,
            patterns,
            words: words.to_vec(),
        }
    }

    /// Registers a regex for `field`; the caller has checked that it compiles.
    pub fn regex(&mut self, field: &FieldRef, pattern: &str) -> (usize, usize) {
        let set = match self.regexes.iter().position(|(f, _)| f == field) {
            Some(set) => set,
            None => {
                self.regexes.push((field.clone(), Vec::new()));
                self.regexes.len() - 1
            }
        };
        let patterns = &mut self.regexes[set].1;
        patterns.push(pattern.to_string());
        (set, patterns.len() - 1)
    }

    pub fn build(self) -> Result<(Vec<WordIndex>, Vec<RegexIndex>), String> {
        let words = self
            .words
            .into_iter()
            .map(|(field, entries)| {
                let automaton = AhoCorasickBuilder::new()
                    .match_kind(MatchKind::Standard)
                    .kind(Some(AhoCorasickKind::DFA))
                    .build(entries.iter().map(|(word, _)| word))
                    .map_err(|e| format!("cannot build the word automaton: {e}"))?;
                let (words, whole_word) = entries.into_iter().unzip();
                Ok(WordIndex {
                    field,
                    automaton,
                    words,
                    whole_word,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let regexes = self
            .regexes
            .into_iter()
            .map(|(field, patterns)| {
                let set = RegexSetBuilder::new(&patterns)
                    .case_insensitive(true)
                    .build()
                    .map_err(|e| format!("cannot build the regex set: {e}"))?;
                Ok(RegexIndex { field, set })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok((words, regexes))
    }
}

/// Which patterns one ticket contains: computed once, read by every condition.
pub struct Scan {
    words: Vec<Vec<bool>>,
    regexes: Vec<Vec<bool>>,
}

impl Scan {
    pub fn new(facts: &Facts, words: &[WordIndex], regexes: &[RegexIndex]) -> Scan {
        let words = words
            .iter()
            .map(|index| {
                let text = facts.lower(&index.field);
                let mut found = vec![false; index.words.len()];
                for m in index.automaton.find_overlapping_iter(text.as_ref()) {
                    let pattern = m.pattern().as_usize();
                    if !index.whole_word[pattern] || is_whole_word(&text, m.start(), m.end()) {
                        found[pattern] = true;
                    }
                }
                found
            })
            .collect();
        let regexes = regexes
            .iter()
            .map(|index| {
                let text = facts.text(&index.field);
                let matches = index.set.matches(text.as_ref());
                (0..index.set.len()).map(|i| matches.matched(i)).collect()
            })
            .collect();
        Scan { words, regexes }
    }
}

fn is_whole_word(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
}

/// What conditions need besides the ticket.
pub struct Context<'a> {
    pub facts: &'a Facts<'a>,
    pub scan: &'a Scan,
    pub words: &'a [WordIndex],
    pub calendars: &'a [Calendar],
}

impl Cond {
    pub fn holds(&self, cx: &Context) -> bool {
        match self {
            Cond::All(conds) => conds.iter().all(|c| c.holds(cx)),
            Cond::Any(conds) => conds.iter().any(|c| c.holds(cx)),
            Cond::Not(cond) => !cond.holds(cx),
            Cond::Test(test) => test.holds(cx),
        }
    }

    /// Why the condition holds, in words (only asked of conditions that hold).
    pub fn evidence(&self, cx: &Context) -> String {
        match self {
            Cond::All(conds) => conds
                .iter()
                .map(|c| c.evidence(cx))
                .collect::<Vec<_>>()
                .join(" and "),
            Cond::Any(conds) => conds
                .iter()
                .find(|c| c.holds(cx))
                .map(|c| c.evidence(cx))
                .unwrap_or_default(),
            Cond::Not(cond) => format!("not ({})", cond.describe()),
            Cond::Test(test) => test.evidence(cx),
        }
    }
}

impl Cond {
    /// The condition in words, for a negation's explanation.
    fn describe(&self) -> String {
        let join = |conds: &[Cond], word: &str| {
            conds
                .iter()
                .map(Cond::describe)
                .collect::<Vec<_>>()
                .join(word)
        };
        match self {
            Cond::All(conds) => format!("({})", join(conds, " and ")),
            Cond::Any(conds) => format!("({})", join(conds, " or ")),
            Cond::Not(cond) => format!("not {}", cond.describe()),
            Cond::Test(test) => format!("{} {}", test.field.name(), test.op.describe()),
        }
    }
}

impl Op {
    fn describe(&self) -> String {
        let list = |items: &[String]| format!("[{}]", items.join(", "));
        match self {
            Op::Equals(v) => format!("equals '{v}'"),
            Op::NotEquals(v) => format!("not_equals '{v}'"),
            Op::In(values) => format!("in {}", list(values)),
            Op::ContainsAny(words) => format!("contains_any {}", list(&words.words)),
            Op::ContainsAll(words) => format!("contains_all {}", list(&words.words)),
            Op::StartsWith(v) => format!("starts_with '{v}'"),
            Op::EndsWith(v) => format!("ends_with '{v}'"),
            Op::Regex { source, .. } => format!("matches /{source}/"),
            Op::Domain(domains) => format!("domain {}", list(domains)),
            Op::Exists(b) => format!("exists = {b}"),
            Op::Empty(b) => format!("empty = {b}"),
            Op::GreaterThan(n) => format!("greater_than {n}"),
            Op::LessThan(n) => format!("less_than {n}"),
            Op::Within { name, .. } => format!("within '{name}'"),
        }
    }
}

impl Test {
    fn holds(&self, cx: &Context) -> bool {
        let field = &self.field;
        match &self.op {
            Op::ContainsAny(words) => words
                .patterns
                .iter()
                .any(|p| cx.scan.words[words.index][*p]),
            Op::ContainsAll(words) => words
                .patterns
                .iter()
                .all(|p| cx.scan.words[words.index][*p]),
            Op::Regex { set, pattern, .. } => cx.scan.regexes[*set][*pattern],
            Op::Equals(value) => *cx.facts.lower(field) == *value,
            Op::NotEquals(value) => *cx.facts.lower(field) != *value,
            Op::In(values) => {
                let text = cx.facts.lower(field);
                values.iter().any(|v| *v == *text)
            }
            Op::StartsWith(prefix) => cx.facts.lower(field).starts_with(prefix.as_str()),
            Op::EndsWith(suffix) => cx.facts.lower(field).ends_with(suffix.as_str()),
            Op::Domain(domains) => {
                let text = cx.facts.lower(field);
                let domain = text.rsplit_once('@').map_or(text.as_ref(), |(_, d)| d);
                domains
                    .iter()
                    .any(|d| domain == d || domain.ends_with(&format!(".{d}")))
            }
            Op::Exists(wanted) => cx.facts.text(field).trim().is_empty() != *wanted,
            Op::Empty(wanted) => cx.facts.text(field).trim().is_empty() == *wanted,
            Op::GreaterThan(limit) => number(cx, field).is_some_and(|n| n > *limit),
            Op::LessThan(limit) => number(cx, field).is_some_and(|n| n < *limit),
            Op::Within { calendar, .. } => cx.calendars[*calendar].is_open(cx.facts.arrived),
        }
    }

    fn evidence(&self, cx: &Context) -> String {
        let field = self.field.name();
        match &self.op {
            Op::ContainsAny(words) | Op::ContainsAll(words) => {
                let index = &cx.words[words.index];
                let found: Vec<String> = words
                    .patterns
                    .iter()
                    .filter(|p| cx.scan.words[words.index][**p])
                    .map(|p| format!("'{}'", index.words[*p]))
                    .collect();
                format!("the {field} contains {}", found.join(", "))
            }
            Op::Regex { source, .. } => format!("the {field} matches /{source}/"),
            Op::Equals(v) => format!("{field} is '{v}'"),
            Op::NotEquals(v) => format!("{field} is not '{v}'"),
            Op::In(_) => format!("{field} is '{}'", cx.facts.lower(&self.field)),
            Op::StartsWith(v) => format!("{field} starts with '{v}'"),
            Op::EndsWith(v) => format!("{field} ends with '{v}'"),
            Op::Domain(_) => format!(
                "{field} '{}' is in a listed domain",
                cx.facts.lower(&self.field)
            ),
            Op::Exists(true) | Op::Empty(false) => format!("{field} is set"),
            Op::Exists(false) | Op::Empty(true) => format!("{field} is empty"),
            Op::GreaterThan(n) => format!("{field} is greater than {n}"),
            Op::LessThan(n) => format!("{field} is less than {n}"),
            Op::Within { name, .. } => format!("the ticket arrived within '{name}' hours"),
        }
    }
}

fn number(cx: &Context, field: &FieldRef) -> Option<f64> {
    cx.facts.text(field).trim().parse().ok()
}
