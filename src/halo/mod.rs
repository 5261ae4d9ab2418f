//! The Halo adapter: the authenticated client, its wire types, the ticket fields triage can
//! decide, webhook payloads and cached lookups. Imports nothing of this crate but text
//! utilities and metrics: rules, triage, storage and settings sit above it.

mod client;
mod decode;
mod error;
mod field;
mod lookups;
pub(crate) mod model;
mod token;
mod transport;
pub(crate) mod webhook;

pub use client::{HaloClient, HaloClientOptions};
pub use error::HaloError;
pub use field::{Field, FieldValue, Kind};
pub use lookups::Lookups;
pub use token::HaloCredentials;
