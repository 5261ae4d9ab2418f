//! `halo-triage report`: the agreement report from the store, as a table or as JSON.

use crate::config::Settings;
use crate::report::{self, parse_since};
use crate::store::{Store, StoreError};
use crate::tasks::model_watch::ModelsHandle;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("--since: {0}")]
    Since(String),
}

/// The report over decisions made since `since` (all when `None`): the table, or with
/// `json` one JSON object (the shape of `GET /admin/report`).
pub async fn report(
    settings: &Settings,
    since: Option<&str>,
    json: bool,
) -> Result<String, ReportError> {
    let since_ms = since
        .map(parse_since)
        .transpose()
        .map_err(ReportError::Since)?;
    let store = Store::connect(&settings.store).await?;
    let models = ModelsHandle::load(&settings.model).current();
    let report = report::build(
        &store,
        since_ms.unwrap_or(0),
        since.map(str::to_string),
        &settings.report,
        &models,
    )
    .await?;
    Ok(match json {
        true => format!(
            "{}\n",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ),
        false => report::render(&report),
    })
}
