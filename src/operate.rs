//! Operator commands over the store (`halo-triage jobs ...`): they work beside a running
//! service, which picks replayed jobs up at its next poll.

use std::fmt::Write;
use std::str::FromStr;

use reqwest::Method;
use serde_json::Value;

use crate::admin::status_name;
use crate::config::{ConfigError, Settings};
use crate::halo::{HaloClient, HaloClientOptions, HaloError};
use crate::store::{JobStatus, JobSummary, Replay, Store, StoreError};

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
    let credentials = settings
        .halo_credentials()?
        .ok_or(RawRequestError::NoCredentials)?;
    let client = HaloClient::new(
        credentials,
        HaloClientOptions::from_settings(&settings.halo),
    )?;
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

impl FromStr for JobStatus {
    type Err = String;

    fn from_str(text: &str) -> Result<JobStatus, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "queued" => Ok(JobStatus::Queued),
            "running" => Ok(JobStatus::Running),
            "done" => Ok(JobStatus::Done),
            "dead" => Ok(JobStatus::Dead),
            other => Err(format!(
                "'{other}' is not a job status (queued, running, done or dead)"
            )),
        }
    }
}

/// Which dead jobs to replay.
pub enum ReplayTarget {
    One(i64),
    AllDead,
}

/// The jobs as a table, newest first.
pub async fn list_jobs(
    settings: &Settings,
    status: Option<JobStatus>,
    limit: i64,
) -> Result<String, StoreError> {
    let store = Store::open(&settings.store.path).await?;
    Ok(jobs_table(&store.list_jobs(status, limit).await?))
}

fn jobs_table(jobs: &[JobSummary]) -> String {
    if jobs.is_empty() {
        return "no jobs\n".into();
    }
    let mut table = format!(
        "{:>8}  {:>10}  {:<8}  {:>8}  last error\n",
        "job", "ticket", "status", "attempts"
    );
    for job in jobs {
        let _ = writeln!(
            table,
            "{:>8}  {:>10}  {:<8}  {:>8}  {}",
            job.id,
            job.ticket_id,
            status_name(job.status),
            job.attempts,
            job.last_error.as_deref().unwrap_or("-")
        );
    }
    table
}

/// Replays dead jobs; the message says what happened and whether it succeeded.
pub async fn replay(
    settings: &Settings,
    target: ReplayTarget,
) -> Result<(bool, String), StoreError> {
    let store = Store::open(&settings.store.path).await?;
    Ok(match target {
        ReplayTarget::AllDead => {
            let replayed = store.replay_all_dead().await?;
            (true, format!("{replayed} dead job(s) queued again"))
        }
        ReplayTarget::One(id) => match store.replay_job(id).await? {
            Replay::Queued => (true, format!("job {id} queued again")),
            Replay::NotFound => (false, format!("no job {id}")),
            Replay::NotDead(status) => (
                false,
                format!(
                    "job {id} is {}: only dead jobs are replayed",
                    status_name(status)
                ),
            ),
        },
    })
}
