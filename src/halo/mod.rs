//! The Halo adapter: the authenticated client, its wire types, the ticket fields triage can
//! decide, webhook payloads and cached lookups. Imports nothing of this crate but text
//! utilities and metrics: rules, triage, storage and settings sit above it.

mod batch;
mod client;
mod decode;
mod error;
mod field;
mod lookups;
pub(crate) mod model;
mod request;
mod token;
mod transport;
pub(crate) mod webhook;

pub use batch::ReadFor;
pub use client::{AppliedCheck, HaloClient, HaloClientOptions};
pub use error::HaloError;
pub use field::{Field, FieldValue, Kind};
pub use lookups::Lookups;
pub use token::HaloCredentials;
pub use transport::{Fence, SharedBudget};

/// The date string Halo's `startdate` takes: UTC, `YYYY-MM-DDTHH:MM:SS`.
pub fn date_param(at_ms: i64) -> String {
    jiff::Timestamp::from_millisecond(at_ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_are_sent_in_utc_without_fractions() {
        assert_eq!(super::date_param(1_764_320_043_217), "2025-11-28T08:54:03");
    }
}
