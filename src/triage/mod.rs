//! Deciding a ticket's fields: a ticket goes in, a decision with reasons comes out. The
//! rules and the sentiment lexicon are pure; the LLM stage (`llm/`) holds the one client
//! here that talks to a network (`llm/client.rs`).

pub(crate) mod decision;
pub mod llm;
pub mod model;
pub mod rules;
pub(crate) mod sentiment;

use jiff::Timestamp;

use crate::halo::model::Ticket;

pub use decision::{Decision, LlmMode};
pub use rules::{RuleSet, RulesError};

/// Everything triage decides without an LLM: the rules, then the offline sentiment.
/// `arrived` stands in for a ticket without `dateoccurred`.
pub fn decide(rules: &RuleSet, ticket: &Ticket, arrived: Timestamp) -> Decision {
    let mut decision = rules.decide_at(ticket, arrived);
    add_sentiment(&mut decision, ticket);
    decision
}

/// Scores the ticket's summary and details with the offline lexicon.
pub fn add_sentiment(decision: &mut Decision, ticket: &Ticket) {
    let text = format!("{}\n{}", ticket.summary, ticket.plain_details());
    decision.sentiment = Some(sentiment::score(&text));
}
