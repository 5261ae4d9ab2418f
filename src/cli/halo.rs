//! `halo-triage halo METHOD PATH`: one authenticated request to the configured Halo, for
//! operators finding ids (agents, outcomes, SLAs) and checking what the service would see.

use reqwest::Method;
use serde_json::Value;

use crate::config::{ConfigError, Settings};
use crate::halo::HaloError;

/// Why `halo-triage halo` could not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum RawRequestError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("no Halo credentials: set halo.base_url, halo.client_id and halo.client_secret")]
    NoCredentials,
    #[error("'{0}' is not an HTTP method (GET, POST, PUT, DELETE)")]
    Method(String),
    #[error("--data is not valid JSON: {0}")]
    Data(serde_json::Error),
    #[error(transparent)]
    Halo(#[from] HaloError),
}

/// An authenticated request to the configured Halo, through the service's own client
/// (token, rate budget, retries); answers Halo's JSON, pretty-printed. `path` is
/// `/api/...` or relative to it, with an optional query string.
pub async fn halo_request(
    settings: &Settings,
    method: &str,
    path: &str,
    data: Option<&str>,
) -> Result<String, RawRequestError> {
    let method = match method.to_ascii_uppercase().as_str() {
        "GET" => Method::GET,
        "POST" => Method::POST,
        "PUT" => Method::PUT,
        "DELETE" => Method::DELETE,
        _ => return Err(RawRequestError::Method(method.into())),
    };
    let body: Option<Value> = data
        .map(serde_json::from_str)
        .transpose()
        .map_err(RawRequestError::Data)?;
    let client = settings
        .halo_client()?
        .ok_or(RawRequestError::NoCredentials)?;
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let path = path.trim_start_matches('/');
    let path = path.strip_prefix("api/").unwrap_or(path);
    let query: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let query: Vec<(&str, &str)> = query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let answer = client
        .operator_request(method, path, &query, body.as_ref())
        .await?;
    Ok(serde_json::to_string_pretty(&answer).unwrap_or_default())
}
