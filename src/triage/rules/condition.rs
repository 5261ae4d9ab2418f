//! Compiled conditions. Word lists of every rule are merged into one aho-corasick
//! automaton per field and regexes into one `RegexSet` per field, so one pass over each
//! text answers all rules; a condition then only looks up which patterns were found.

use std::collections::BTreeMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::{RegexSet, RegexSetBuilder};

use super::calendar::Calendar;
use super::facts::{Facts, FieldRef};
use crate::text::comparable;

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

/// A pattern of one field: a word of a word automaton, or a regex of a regex set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Pattern {
    Word { index: usize, pattern: usize },
    Regex { set: usize, pattern: usize },
}

/// Which patterns one ticket contains: computed once, read by every condition.
pub struct Scan {
    words: Vec<Vec<bool>>,
    regexes: Vec<Vec<bool>>,
    found: Vec<Pattern>,
}

impl Scan {
    pub fn new(facts: &Facts, words: &[WordIndex], regexes: &[RegexIndex]) -> Scan {
        let mut found = Vec::new();
        let words = words
            .iter()
            .enumerate()
            .map(|(index, automaton)| {
                let text = facts.lower(&automaton.field);
                let mut seen = vec![false; automaton.words.len()];
                for m in automaton.automaton.find_overlapping_iter(text.as_ref()) {
                    let pattern = m.pattern().as_usize();
                    if !seen[pattern]
                        && (!automaton.whole_word[pattern]
                            || is_whole_word(&text, m.start(), m.end()))
                    {
                        seen[pattern] = true;
                        found.push(Pattern::Word { index, pattern });
                    }
                }
                seen
            })
            .collect();
        let regexes = regexes
            .iter()
            .enumerate()
            .map(|(set, index)| {
                let text = facts.text(&index.field);
                let mut seen = vec![false; index.set.len()];
                for pattern in index.set.matches(text.as_ref()).iter() {
                    seen[pattern] = true;
                    found.push(Pattern::Regex { set, pattern });
                }
                seen
            })
            .collect();
        Scan {
            words,
            regexes,
            found,
        }
    }
}

/// For each rule, the patterns at least one of which must occur for its condition to
/// hold, indexed the other way round: a ticket then evaluates only the rules whose
/// patterns it contains (and the rules no pattern gates), not all of them.
#[derive(Debug)]
pub struct Gates {
    /// Per rule: evaluated whatever the ticket contains.
    ungated: Vec<bool>,
    /// The rules each pattern opens, sorted by pattern.
    opens: Vec<(Pattern, Vec<usize>)>,
}

impl Gates {
    /// `conditions` holds each rule's condition, in evaluation order.
    pub fn new<'c>(conditions: impl Iterator<Item = Option<&'c Cond>>) -> Gates {
        let mut ungated = Vec::new();
        let mut opens: BTreeMap<Pattern, Vec<usize>> = BTreeMap::new();
        for (rule, cond) in conditions.enumerate() {
            let needs = cond.and_then(Cond::needs);
            ungated.push(needs.is_none());
            for pattern in needs.into_iter().flatten() {
                opens.entry(pattern).or_default().push(rule);
            }
        }
        Gates {
            ungated,
            opens: opens.into_iter().collect(),
        }
    }

    /// Per rule: whether its condition can hold for the scanned ticket.
    pub fn candidates(&self, scan: &Scan) -> Vec<bool> {
        let mut candidates = self.ungated.clone();
        for pattern in &scan.found {
            if let Ok(at) = self.opens.binary_search_by_key(pattern, |(p, _)| *p) {
                for rule in &self.opens[at].1 {
                    candidates[*rule] = true;
                }
            }
        }
        candidates
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

    /// Patterns at least one of which must be found for the condition to hold; `None` when
    /// it can hold without any (a negation, or a test that reads no pattern).
    fn needs(&self) -> Option<Vec<Pattern>> {
        match self {
            Cond::Test(test) => match &test.op {
                Op::ContainsAny(words) => Some(
                    words
                        .patterns
                        .iter()
                        .map(|&pattern| Pattern::Word {
                            index: words.index,
                            pattern,
                        })
                        .collect(),
                ),
                // Every word must occur, so any one of them is a gate.
                Op::ContainsAll(words) => words.patterns.first().map(|&pattern| {
                    vec![Pattern::Word {
                        index: words.index,
                        pattern,
                    }]
                }),
                Op::Regex { set, pattern, .. } => Some(vec![Pattern::Regex {
                    set: *set,
                    pattern: *pattern,
                }]),
                _ => None,
            },
            Cond::All(conds) => conds.iter().filter_map(Cond::needs).min_by_key(Vec::len),
            Cond::Any(conds) => {
                let mut needs = Vec::new();
                for cond in conds {
                    needs.extend(cond.needs()?);
                }
                Some(needs)
            }
            Cond::Not(_) => None,
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
                let mut evidence = format!("the {field} contains ");
                let found = words
                    .patterns
                    .iter()
                    .filter(|p| cx.scan.words[words.index][**p]);
                for (n, pattern) in found.enumerate() {
                    if n > 0 {
                        evidence.push_str(", ");
                    }
                    evidence.push('\'');
                    evidence.push_str(&index.words[*pattern]);
                    evidence.push('\'');
                }
                evidence
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
