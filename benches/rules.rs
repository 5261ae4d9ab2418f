//! Rules engine speed: the compiled engine (one aho-corasick pass and one RegexSet per
//! field) against a naive baseline that tries each rule's patterns one by one, for 10, 100
//! and 1,000 rules over a 4 KB ticket. Figures: docs/benchmarks.md.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use halo_triage::RuleSet;
use halo_triage::Ticket;
use regex::{Regex, RegexBuilder};

/// One generated rule, as both engines see it.
struct Spec {
    any_words: Vec<String>,
    /// A second word list that also makes the rule match (an `any` of two tests).
    and_words: Option<Vec<String>>,
    regex: Option<String>,
}

const VOCABULARY: [&str; 24] = [
    "printer",
    "password",
    "outlook",
    "vpn",
    "laptop",
    "invoice",
    "backup",
    "server",
    "firewall",
    "teams",
    "sharepoint",
    "licence",
    "monitor",
    "keyboard",
    "phishing",
    "mfa",
    "onboarding",
    "leaver",
    "wifi",
    "voip",
    "toner",
    "scanner",
    "mailbox",
    "install",
];

fn specs(n: usize) -> Vec<Spec> {
    (0..n)
        .map(|i| Spec {
            any_words: vec![
                format!("keyword{i}alpha"),
                format!("phrase {i} beta"),
                VOCABULARY[i % VOCABULARY.len()].to_string(),
                format!("term{i}gamma"),
            ],
            and_words: (i % 5 == 0).then(|| vec![format!("context{i}"), "urgent".to_string()]),
            regex: (i % 10 == 0).then(|| format!(r"err(or)?[- ]{i}\d{{3}}")),
        })
        .collect()
}

fn toml_list(words: &[String]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

fn rules_toml(specs: &[Spec]) -> String {
    let mut text = String::from("[defaults]\nteam = \"Service Desk\"\n");
    for (i, spec) in specs.iter().enumerate() {
        let mut tests = vec![format!(
            "{{ field = \"text\", contains_any = {} }}",
            toml_list(&spec.any_words)
        )];
        if let Some(words) = &spec.and_words {
            tests.push(format!(
                "{{ field = \"text\", contains_any = {} }}",
                toml_list(words)
            ));
        }
        if let Some(regex) = &spec.regex {
            tests.push(format!("{{ field = \"text\", regex = '{regex}' }}"));
        }
        let when = if tests.len() == 1 {
            tests.remove(0)
        } else {
            format!("{{ any = [{}] }}", tests.join(", "))
        };
        text.push_str(&format!(
            "\n[[rule]]\nname = \"rule-{i}\"\nwhen = {when}\nset = {{ category_1 = \"Category {i}\" }}\n"
        ));
    }
    text
}

/// The baseline: every rule's words and regex tried one after the other.
struct Naive {
    rules: Vec<NaiveRule>,
}

struct NaiveRule {
    any_words: Vec<String>,
    and_words: Option<Vec<String>>,
    regex: Option<Regex>,
}

impl Naive {
    fn new(specs: &[Spec]) -> Naive {
        let rules = specs
            .iter()
            .map(|s| NaiveRule {
                any_words: s.any_words.clone(),
                and_words: s.and_words.clone(),
                regex: s
                    .regex
                    .as_ref()
                    .map(|r| RegexBuilder::new(r).case_insensitive(true).build().unwrap()),
            })
            .collect();
        Naive { rules }
    }

    fn decide(&self, text: &str) -> Vec<usize> {
        let lower = text.to_lowercase();
        let any = |words: &[String]| words.iter().any(|w| lower.contains(w.as_str()));
        self.rules
            .iter()
            .enumerate()
            .filter(|(_, rule)| {
                any(&rule.any_words)
                    || rule.and_words.as_deref().is_some_and(any)
                    || rule.regex.as_ref().is_some_and(|r| r.is_match(text))
            })
            .map(|(i, _)| i)
            .collect()
    }
}

/// About 4 KB of ticket text, mentioning a few rules' words.
fn ticket() -> Ticket {
    let filler = "Hello team, since this morning the shared drive is slow and some users report \
                  that documents take a long time to open. We restarted the machines without \
                  any change. ";
    let mut details = String::new();
    while details.len() < 4000 {
        details.push_str(filler);
    }
    details.push_str("The printer also shows error-42123 and the phrase 7 beta appears.");
    let mut ticket = Ticket::default();
    ticket.id = 1;
    ticket.summary = "Slow shared drive and printer error".into();
    ticket.details = Some(details);
    ticket.client_name = "Globex".into();
    ticket
}

fn bench(c: &mut Criterion) {
    let ticket = ticket();
    let text = format!(
        "{}\n{}",
        ticket.summary,
        ticket.details.as_deref().unwrap_or("")
    );
    let now: jiff::Timestamp = "2026-11-25T12:00:00Z".parse().unwrap();
    let mut group = c.benchmark_group("rules");
    for n in [10, 100, 1000] {
        let specs = specs(n);
        let compiled = RuleSet::parse(&rules_toml(&specs), Path::new("bench.toml")).unwrap();
        let naive = Naive::new(&specs);
        // Both engines must agree on what matches.
        let matched: Vec<String> = compiled.decide_at(&ticket, now).matched_rules;
        let expected: Vec<String> = naive
            .decide(&text)
            .iter()
            .map(|i| format!("rule-{i}"))
            .collect();
        assert_eq!(matched, expected);
        group.bench_with_input(BenchmarkId::new("compiled", n), &n, |b, _| {
            b.iter(|| compiled.decide_at(black_box(&ticket), now))
        });
        group.bench_with_input(BenchmarkId::new("naive", n), &n, |b, _| {
            b.iter(|| naive.decide(black_box(&text)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
