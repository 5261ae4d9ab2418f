//! Dead letters: the jobs that ran out of attempts, with their last error, and their
//! replay (one or all). A replay is a POST with the session's CSRF token that answers
//! with a redirect back here, so a reload never replays twice; the result is shown there.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use maud::html;
use serde::Deserialize;

use super::layout::{self, when};
use super::session::{Checked, Session};
use super::store_error;
use crate::http::Operator;
use crate::store::{JobStatus, Replay};

/// Dead letters listed at most; the count above the table says how many there are.
const SHOWN: i64 = 500;

/// What the last replay did, as the redirect after it says.
#[derive(Deserialize)]
pub struct Outcome {
    job: Option<i64>,
    result: Option<String>,
    replayed: Option<u64>,
}

pub async fn page(
    State(console): State<Arc<Operator>>,
    Extension(session): Extension<Session>,
    Query(outcome): Query<Outcome>,
) -> Response {
    let dead = match console.store.list_jobs(Some(JobStatus::Dead), SHOWN).await {
        Ok(dead) => dead,
        Err(error) => return store_error(error),
    };
    let message = match (outcome.job, outcome.result.as_deref(), outcome.replayed) {
        (Some(job), Some("replayed"), _) => Some(format!(
            "Job {job} is queued again: a worker takes it up now."
        )),
        (Some(job), Some("missing"), _) => Some(format!("There is no job {job}.")),
        (Some(job), Some(status), _) => Some(format!(
            "Job {job} is {}: only dead jobs are replayed.",
            status.trim_start_matches("not-dead-")
        )),
        (_, _, Some(0)) => Some("There was no dead job to replay.".into()),
        (_, _, Some(n)) => Some(format!("{n} dead jobs are queued again.")),
        _ => None,
    };
    let body = html! {
        @if let Some(message) = &message {
            p.notice role="status" { (message) }
        }
        @if dead.is_empty() {
            p { "No dead letters." }
        } @else {
            p {
                (dead.len()) @if dead.len() as i64 == SHOWN { " or more" }
                @if dead.len() == 1 { " job ran" } @else { " jobs ran" } " out of attempts."
            }
            form method="post" action="/ui/dead-letters/replay-all" {
                (session.csrf_field())
                button type="submit" { "Replay all dead jobs" }
            }
            table {
                thead { tr { th { "Job" } th { "Ticket" } th { "Event" } th { "Attempts" } th { "Died" } th { "Last error" } th { span.visually-hidden { "Action" } } } }
                tbody {
                    @for job in &dead {
                        tr {
                            td { (job.id) }
                            td { a href={ "/ui/decisions?ticket=" (job.ticket_id) } { "#" (job.ticket_id) } }
                            td { (job.event) }
                            td { (job.attempts) }
                            td { (when(job.updated_at)) }
                            td.error-text { (job.last_error.as_deref().unwrap_or("")) }
                            td {
                                form method="post" action={ "/ui/dead-letters/" (job.id) "/replay" } {
                                    (session.csrf_field())
                                    button type="submit" aria-label={ "Replay job " (job.id) } { "Replay" }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    layout::page(session.csrf(), "/ui/dead-letters", "Dead letters", body)
}

pub async fn replay_one(
    State(console): State<Arc<Operator>>,
    Path(id): Path<i64>,
    _: Checked,
) -> Response {
    let result = match console.store.replay_job(id).await {
        Ok(Replay::Queued) => {
            console.wake.jobs_queued(1);
            tracing::info!(job_id = id, "dead job replayed from the console");
            "replayed".to_string()
        }
        Ok(Replay::NotFound) => "missing".into(),
        Ok(Replay::NotDead(status)) => format!("not-dead-{}", status.as_str()),
        Err(error) => return store_error(error),
    };
    Redirect::to(&format!("/ui/dead-letters?job={id}&result={result}")).into_response()
}

pub async fn replay_all(State(console): State<Arc<Operator>>, _: Checked) -> Response {
    match console.store.replay_all_dead().await {
        Ok(replayed) => {
            if replayed > 0 {
                console.wake.jobs_queued(replayed as usize);
            }
            tracing::info!(replayed, "dead jobs replayed from the console");
            Redirect::to(&format!("/ui/dead-letters?replayed={replayed}")).into_response()
        }
        Err(error) => store_error(error),
    }
}
