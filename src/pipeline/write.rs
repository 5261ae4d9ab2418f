//! Step 5, live mode only: the writes to Halo, each exactly once per ticket. Every write
//! passes a fence right before it goes out (the lease renewed under the job's fencing
//! token), so a job whose lease another worker has taken over stops before writing a
//! second time; the acknowledgement and the private note carry markers
//! that a retried job looks for before posting again.

use std::sync::Arc;
use std::time::Duration;

use super::plan::{self, AckPlan, Plan};
use super::JobError;
use crate::ack_templates::AckTemplates;
use crate::config::{AckSettings, ActSettings};
use crate::halo::model::{id_of, Action, NewAction, Ticket};
use crate::halo::{AppliedCheck, Fence, HaloClient, HaloError, ReadFor};
use crate::store::{AckStatus, Job, Store};
use crate::triage::Decision;

/// What the writes need besides the job.
pub struct Writer<'a> {
    pub store: &'a Store,
    pub halo: &'a HaloClient,
    pub lease: Duration,
    pub act: &'a ActSettings,
    pub ack: &'a AckSettings,
}

impl Writer<'_> {
    /// The ticket update, then the acknowledgement, then the rules' private note; `notes`
    /// gains what happened. Halo refusing the update is returned after the customer has
    /// still been acknowledged (naming the team the ticket has).
    pub async fn write(
        &self,
        job: &Job,
        ticket: &Ticket,
        decision: &Decision,
        plan: Plan,
        templates: &AckTemplates,
        notes: &mut Vec<String>,
    ) -> Result<Option<HaloError>, JobError> {
        let mut refusal = None;
        if !plan.update.is_empty() {
            match self
                .halo
                .update_ticket(&plan.update, self.fence(job, None))
                .await
            {
                Ok(_) => {}
                Err(HaloError::Fenced { .. }) => return Err(JobError::LeaseLost),
                // Halo refused the routing (e.g. an approval ticket type): the customer is
                // still acknowledged, and the job ends dead with Halo's message.
                Err(error) if !error.is_retryable() => {
                    notes.push(format!("ticket update refused: {error}"));
                    refusal = Some(error);
                }
                Err(error) => return Err(error.into()),
            }
        }
        let ack = match &refusal {
            None => plan.ack,
            Some(_) => plan::acknowledgement(ticket, &ticket.team, self.ack, templates),
        };
        if let AckPlan::Send(action) = &ack {
            match self.recipient_from_halo(ticket, action).await? {
                Ok(action) => {
                    notes.push(self.acknowledge(job, &action).await?);
                }
                Err(reason) => notes.push(format!("acknowledgement not sent: {reason}")),
            }
        }
        if self.act.note_outcome_id > 0 && !decision.notes.is_empty() {
            notes.push(self.post_note(job, &decision.notes).await?);
        }
        Ok(refusal)
    }

    /// The acknowledgement addressed to the user Halo has for the ticket: a webhook's full
    /// object could name anyone (the webhook credential is a shared secret), so when the
    /// ticket came from the webhook, Halo is asked. `Err` says why nothing is sent.
    async fn recipient_from_halo(
        &self,
        ticket: &Ticket,
        action: &NewAction,
    ) -> Result<Result<NewAction, String>, JobError> {
        if ticket.read_from_halo {
            return Ok(Ok(action.clone()));
        }
        let halo_ticket = self.halo.ticket(ticket.id, ReadFor::Recipient).await?;
        let email = halo_ticket.user_email.trim();
        if !plan::is_one_address(email) {
            return Ok(Err(format!(
                "the user email Halo has for the ticket, {email:?}, is not one well-formed address"
            )));
        }
        Ok(Ok(NewAction {
            emailto: email.to_string(),
            ..action.clone()
        }))
    }

    /// The check made right before each write goes out, after every wait (rate budget,
    /// token renewal, retries): the lease is renewed, and the write is made only if it
    /// still is this job's. Before the acknowledgement of `ack_of` (a ticket), the same
    /// commit records it as being sent. A store that cannot be reached says no: nothing
    /// is sent.
    fn fence(&self, job: &Job, ack_of: Option<i64>) -> Fence {
        let (store, lease) = (self.store.clone(), self.lease);
        let job = Arc::new(job.clone());
        Arc::new(move || {
            let (store, job) = (store.clone(), job.clone());
            Box::pin(async move {
                let renewed = match ack_of {
                    Some(ticket_id) => store.extend_lease_marking_ack(&job, lease, ticket_id).await,
                    None => store.extend_lease(&job, lease).await,
                };
                renewed.unwrap_or(false)
            })
        })
    }

    /// Posts the rules' private note once: a retried job first looks for its marker.
    /// Halo refusing it is recorded, not fatal: the routing and acknowledgement stand.
    async fn post_note(&self, job: &Job, lines: &[String]) -> Result<String, JobError> {
        if job.attempts > 1 {
            let marker = plan::note_marker(job.ticket_id);
            let actions = self.halo.actions(job.ticket_id).await?;
            if actions.iter().any(|a| a.contains(&marker)) {
                return Ok("private note already on the ticket: not posted again".into());
            }
        }
        let note = plan::private_note(job.ticket_id, lines, self.act.note_outcome_id);
        let marker = plan::note_marker(job.ticket_id);
        let applied: AppliedCheck = Arc::new(move |action| action.contains(&marker));
        let fence = self.fence(job, None);
        match self
            .halo
            .post_action(&note, job.ticket_id, fence, applied)
            .await
        {
            Ok(_) => Ok("private note posted".into()),
            Err(HaloError::Fenced { .. }) => Err(JobError::LeaseLost),
            Err(error) if !error.is_retryable() => Ok(format!("private note not posted: {error}")),
            Err(error) => Err(error.into()),
        }
    }

    /// Posts the acknowledgement exactly once per ticket: 'sending' is recorded right
    /// before the POST (in the fence's commit) and 'sent' after; after a crash in between,
    /// the ticket's actions are searched for our marker before anything is sent again.
    async fn acknowledge(&self, job: &Job, action: &NewAction) -> Result<String, JobError> {
        let store = self.store;
        let ticket_id = action.ticket_id;
        let ours = acknowledgement_on_ticket(action);
        match store.ack_status(ticket_id).await? {
            Some(AckStatus::Sent) => {
                return Ok("acknowledgement already sent earlier: not sent again".into())
            }
            Some(AckStatus::Sending) => {
                let actions = self.halo.actions(ticket_id).await?;
                if let Some(found) = actions.iter().find(|a| ours(a)) {
                    store
                        .set_ack_status(ticket_id, AckStatus::Sent, Some(found.id))
                        .await?;
                    return Ok(format!(
                        "acknowledgement found on the ticket as action {}: not sent again",
                        found.id
                    ));
                }
            }
            None => {}
        }
        let fence = self.fence(job, Some(ticket_id));
        let answer = match self.halo.post_action(action, ticket_id, fence, ours).await {
            Ok(answer) => answer,
            // Another worker holds the job now; 'sending' stays, so whoever sends next
            // looks for our marker first.
            Err(HaloError::Fenced { .. }) => return Err(JobError::LeaseLost),
            Err(error) => return Err(error.into()),
        };
        let action_id = answer.get("id").and_then(id_of);
        store
            .set_ack_status(ticket_id, AckStatus::Sent, action_id)
            .await?;
        tracing::info!(action_id, "acknowledgement sent");
        Ok(format!("acknowledgement sent to {}", action.emailto))
    }
}

/// Tells our acknowledgement among the ticket's actions: by its marker, or by its subject
/// (a template may leave the marker out of the body Halo keeps).
fn acknowledgement_on_ticket(action: &NewAction) -> AppliedCheck {
    let marker = crate::ack_templates::marker(action.ticket_id);
    let subject = action.emailsubject.clone();
    Arc::new(move |found: &Action| {
        found.contains(&marker) || found.emailsubject.as_deref() == Some(subject.as_str())
    })
}
