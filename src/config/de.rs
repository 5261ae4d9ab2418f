//! Deserializers for values whose TOML form is not their Rust type: durations in the unit
//! their key names (`*_secs`, `*_ms`, `*_hours`, `*_days`), lists that the environment gives as one
//! comma-separated string, and blank strings that mean "not set".

use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Deserializer};

pub(super) fn secs<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    u64::deserialize(deserializer).map(Duration::from_secs)
}

pub(super) fn millis<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    u64::deserialize(deserializer).map(Duration::from_millis)
}

pub(super) fn hours<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    u64::deserialize(deserializer).map(|hours| Duration::from_secs(hours.saturating_mul(3_600)))
}

/// Days (`store.retention_days`), saturating for absurd values (validation refuses them).
pub(super) fn days<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    u64::deserialize(deserializer).map(|days| Duration::from_secs(days.saturating_mul(86_400)))
}

/// A list in TOML, or one comma-separated string from the environment. (Values from the
/// environment are deliberately not type-guessed: a password "000123" must stay text.)
pub(super) fn list_or_comma_separated<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrText {
        List(Vec<String>),
        Text(String),
    }
    Ok(match ListOrText::deserialize(deserializer)? {
        ListOrText::List(items) => items,
        ListOrText::Text(text) => text.split(',').map(|s| s.trim().to_string()).collect(),
    })
}

/// A list of ids, or (from the environment) "7, 12".
pub(super) fn ids_or_comma_separated<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum IdsOrText {
        Ids(Vec<i64>),
        Text(String),
    }
    match IdsOrText::deserialize(deserializer)? {
        IdsOrText::Ids(ids) => Ok(ids),
        IdsOrText::Text(text) => text
            .split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(|id| {
                id.parse()
                    .map_err(|_| serde::de::Error::custom(format!("'{id}' is not a numeric id")))
            })
            .collect(),
    }
}

pub(super) fn non_empty<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    let value = Option::<String>::deserialize(deserializer)?;
    Ok(value.filter(|v| !v.trim().is_empty()))
}

pub(super) fn non_empty_path<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<std::path::PathBuf>, D::Error> {
    Ok(non_empty(deserializer)?.map(std::path::PathBuf::from))
}

pub(super) fn non_empty_secret<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<SecretString>, D::Error> {
    Ok(non_empty(deserializer)?.map(SecretString::from))
}
