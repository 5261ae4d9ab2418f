//! Deciding a ticket's fields. Knows nothing of HTTP or SQL: a ticket goes in, a decision
//! with reasons comes out.

mod decision;
mod field;
pub mod llm;
pub mod rules;
pub mod sentiment;
pub(crate) mod text;

use jiff::Timestamp;

use crate::halo::model::Ticket;

pub use decision::{Decided, Decision, LlmMode, RuleTrace, Source};
pub use field::{Field, FieldValue, Kind};
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
    let text = format!("{}\n{}", ticket.summary, text::plain_details(ticket));
    decision.sentiment = Some(sentiment::score(&text));
}
