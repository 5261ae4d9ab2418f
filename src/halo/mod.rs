//! Everything that talks to Halo: the authenticated client, its wire types and lookups.
//! Knows nothing of rules, triage or storage.

mod client;
mod error;
mod lookups;
pub mod model;
pub mod webhook;

pub use client::{HaloClient, HaloClientOptions};
pub use error::HaloError;
pub use lookups::Lookups;
