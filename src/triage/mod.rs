//! Deciding a ticket's fields. Knows nothing of HTTP or SQL: a ticket goes in, a decision
//! with reasons comes out.

mod decision;
mod field;
pub mod rules;
mod text;

pub use decision::{Decided, Decision, LlmMode, RuleTrace, Source};
pub use field::{Field, FieldValue, Kind};
pub use rules::{RuleSet, RulesError};
