//! The training data a Halo instance holds: tickets closed in the last `learn.months`, or
//! those read back since a date, read a page at a time through the shared rate budget, each labelled per field with the
//! final value a person left on it. A ticket whose label is no longer usable in Halo
//! (an inactive team, a hidden priority) is left out for that field: a model must never
//! learn to answer what the service may not write.

use std::collections::BTreeMap;

use super::Example;
use crate::halo::model::Ticket;
use crate::halo::{Field, FieldValue, HaloClient, HaloError, Lookups};
use crate::pipeline::labels::KnownLabels;

/// Per field, the labelled tickets, and how many were left out and why.
pub struct History {
    pub read: usize,
    pub examples: BTreeMap<Field, Vec<Example>>,
    /// Per field: tickets without a value, and tickets whose value is no longer usable.
    pub left_out: BTreeMap<Field, (usize, usize)>,
}

/// The label a model learns for `field` on `ticket`: the name a person sees in Halo.
fn label_of(known: &KnownLabels, field: Field, ticket: &Ticket) -> Result<Option<String>, ()> {
    let Some(value) = ticket.current(field) else {
        return Ok(None);
    };
    if !known.knows(field, &value, ticket.sla_id) {
        return Err(());
    }
    let name = match (field, &value) {
        (_, FieldValue::Text(text)) => Some(text.clone()),
        (Field::PriorityId, FieldValue::Id(id)) => known
            .usable_priorities(ticket.sla_id)
            .find(|p| p.priorityid == *id)
            .map(|p| p.name.clone()),
        (Field::TicketTypeId, FieldValue::Id(id)) => known
            .usable_ticket_types()
            .find(|t| t.id == *id)
            .map(|t| t.name.clone()),
        _ => None,
    };
    name.filter(|n| !n.trim().is_empty()).map(Some).ok_or(())
}

/// The tickets closed since `since`, at most `max_tickets`; `progress` hears each page.
pub async fn closed_since(
    halo: &HaloClient,
    since: &str,
    max_tickets: u32,
    progress: &mut (dyn FnMut(usize, Option<u64>) + Send),
) -> Result<Vec<Ticket>, HaloError> {
    let max_pages = max_tickets.div_ceil(100).max(1);
    let (mut tickets, _) = halo
        .tickets_closed_since(since, 100, max_pages, progress)
        .await?;
    tickets.truncate(max_tickets as usize);
    Ok(tickets.into_iter().map(|t| t.ticket).collect())
}

/// The tickets `ids` (those read back since a date), a hundred a request; `progress`
/// hears each request.
pub async fn by_ids(
    halo: &HaloClient,
    ids: &[i64],
    progress: &mut (dyn FnMut(usize, Option<u64>) + Send),
) -> Result<Vec<Ticket>, HaloError> {
    let mut tickets = Vec::with_capacity(ids.len());
    for page in ids.chunks(100) {
        let listed = halo.tickets_by_ids(page).await?;
        tickets.extend(listed.into_iter().map(|t| t.ticket));
        progress(tickets.len(), Some(ids.len() as u64));
    }
    Ok(tickets)
}

/// The history `tickets` make for `fields`: each labelled with its final value.
pub async fn label(
    lookups: &Lookups,
    fields: &[Field],
    tickets: &[Ticket],
) -> Result<History, HaloError> {
    let known = KnownLabels::load(lookups, fields.iter().copied()).await?;
    let mut history = History {
        read: tickets.len(),
        examples: BTreeMap::new(),
        left_out: BTreeMap::new(),
    };
    for ticket in tickets {
        let text = format!("{}\n\n{}", ticket.summary, ticket.plain_details());
        for field in fields {
            let counts = history.left_out.entry(*field).or_default();
            match label_of(&known, *field, ticket) {
                Ok(Some(label)) => history.examples.entry(*field).or_default().push(Example {
                    text: text.clone(),
                    label,
                }),
                Ok(None) => counts.0 += 1,
                Err(()) => counts.1 += 1,
            }
        }
    }
    Ok(history)
}
