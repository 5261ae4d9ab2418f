//! The labels the LLM may choose from, for the worker and for `classify`: Halo's (active
//! ones, within the ticket's SLA) or, without Halo, the rules file's `[labels]`.

use crate::halo::model::Ticket;
use crate::halo::{HaloClient, HaloError};
use crate::triage::llm::{id_choices, text_choices, Catalogue};
use crate::triage::{Field, RuleSet};

pub async fn catalogue(
    halo: Option<&HaloClient>,
    rules: &RuleSet,
    ticket: &Ticket,
    impact_urgency_levels: &[i64],
) -> Result<Catalogue, HaloError> {
    let mut catalogue = Catalogue::new();
    let levels = id_choices(impact_urgency_levels.iter().map(|l| (*l, l.to_string())));
    catalogue.insert(Field::Impact, levels.clone());
    catalogue.insert(Field::Urgency, levels);
    let Some(halo) = halo else {
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
    let lookups = halo.lookups();
    let teams = lookups.teams(halo).await?;
    let active_teams = teams
        .iter()
        .filter(|t| !t.inactive)
        .map(|t| t.name.as_str());
    catalogue.insert(Field::Team, text_choices(active_teams));
    let categories = lookups.categories(halo).await?;
    let levels = [
        Field::Category1,
        Field::Category2,
        Field::Category3,
        Field::Category4,
    ];
    for (level, field) in (1..).zip(levels) {
        // Halo's `type_id` is the category level (assumed 1 when missing).
        let names = categories
            .iter()
            .filter(|c| c.type_id.unwrap_or(1) == level)
            .map(|c| c.value.as_str());
        catalogue.insert(field, text_choices(names));
    }
    // Priorities belong to an SLA: offered only when the ticket's SLA is known, so an id
    // from another SLA (same name) can never be chosen.
    if let Some(sla) = ticket.sla_id {
        let priorities = lookups.priorities(halo).await?;
        let in_sla = priorities
            .iter()
            .filter(|p| !p.ishidden && p.slaid.is_none_or(|s| s == sla));
        catalogue.insert(
            Field::PriorityId,
            id_choices(in_sla.map(|p| (p.priorityid, p.name.clone()))),
        );
    }
    let types = lookups.ticket_types(halo).await?;
    let active_types = types.iter().filter(|t| !t.inactive);
    catalogue.insert(
        Field::TicketTypeId,
        id_choices(active_types.map(|t| (t.id, t.name.clone()))),
    );
    Ok(catalogue)
}
