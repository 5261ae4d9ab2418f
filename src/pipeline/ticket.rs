//! Step 1: the ticket a job is about.

use super::JobError;
use crate::halo::model::Ticket;
use crate::halo::webhook::Delivery;
use crate::halo::{HaloClient, ReadFor};
use crate::store::Job;

/// The ticket from the webhook's full object, else read from Halo. A retried job in live
/// mode reads it again: a person may have changed it since the webhook.
pub async fn fetch(job: &Job, halo: Option<&HaloClient>, live: bool) -> Result<Ticket, JobError> {
    let delivery = Delivery::parse(&job.payload).map_err(|e| JobError::Payload(e.to_string()))?;
    let fresh_needed = live && job.attempts > 1 && halo.is_some();
    let mut ticket = match delivery.full_ticket().filter(|_| !fresh_needed) {
        Some(ticket) => ticket,
        None => {
            let halo = halo.ok_or(JobError::NoTicketSource(job.ticket_id))?;
            let mut ticket = halo.ticket(job.ticket_id, ReadFor::Triage).await?;
            ticket.read_from_halo = true;
            ticket
        }
    };
    ticket.id = job.ticket_id;
    Ok(ticket)
}
