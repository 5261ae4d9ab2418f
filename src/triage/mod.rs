//! Deciding a ticket's fields. Knows nothing of HTTP or SQL: a ticket goes in, a decision
//! with reasons comes out.

mod decision;
mod rules;

pub use decision::{Decided, Decision, FieldValues, Source};
pub use rules::{RuleSet, RulesError};
