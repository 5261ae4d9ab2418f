//! The labels the LLM may choose from: Halo's usable ones (the label check's own filters,
//! priorities within the ticket's SLA) or, without Halo, the rules file's `[labels]`.

use super::labels::{KnownLabels, CATEGORY_LEVELS};
use crate::halo::model::Ticket;
use crate::halo::{Field, HaloError, Lookups};
use crate::triage::llm::{id_choices, text_choices, Catalogue};
use crate::triage::RuleSet;

pub async fn catalogue(
    lookups: Option<&Lookups>,
    rules: &RuleSet,
    ticket: &Ticket,
    impact_urgency_levels: &[i64],
) -> Result<Catalogue, HaloError> {
    let mut catalogue = Catalogue::new();
    let levels = id_choices(impact_urgency_levels.iter().map(|l| (*l, l.to_string())));
    catalogue.insert(Field::Impact, levels.clone());
    catalogue.insert(Field::Urgency, levels);
    let Some(lookups) = lookups else {
        if let Some(labels) = rules.declared_labels() {
            let texts = |list: &[String]| text_choices(list.iter().map(String::as_str));
            let ids = |list: &[i64]| id_choices(list.iter().map(|id| (*id, String::new())));
            catalogue.insert(Field::Team, texts(&labels.teams));
            catalogue.insert(Field::Category1, texts(&labels.categories));
            catalogue.insert(Field::PriorityId, ids(&labels.priorities));
            catalogue.insert(Field::TicketTypeId, ids(&labels.ticket_types));
        }
        return Ok(catalogue);
    };
    // Priorities belong to an SLA: offered only when the ticket's SLA is known, so an id
    // from another SLA (same name) can never be chosen.
    let mut needed = vec![Field::Team, Field::Category1, Field::TicketTypeId];
    if ticket.sla_id.is_some() {
        needed.push(Field::PriorityId);
    }
    let known = KnownLabels::load(lookups, needed).await?;
    catalogue.insert(
        Field::Team,
        text_choices(known.usable_teams().map(|t| t.name.as_str())),
    );
    for (level, field) in CATEGORY_LEVELS {
        let names = known.categories_at(level).map(|c| c.value.as_str());
        catalogue.insert(field, text_choices(names));
    }
    if ticket.sla_id.is_some() {
        let in_sla = known.usable_priorities(ticket.sla_id);
        catalogue.insert(
            Field::PriorityId,
            id_choices(in_sla.map(|p| (p.priorityid, p.name.clone()))),
        );
    }
    catalogue.insert(
        Field::TicketTypeId,
        id_choices(known.usable_ticket_types().map(|t| (t.id, t.name.clone()))),
    );
    Ok(catalogue)
}
