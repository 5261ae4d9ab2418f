//! "Does this label exist in Halo, and may it be used?" — the one answer, for the worker
//! (which drops what fails before writing), `halo-triage check` (which fails on the same
//! labels) and the LLM catalogue (which offers only labels that pass).

use std::sync::Arc;

use crate::halo::model::{Agent, Category, Priority, Status, Team, Ticket, TicketType};
use crate::halo::{Field, FieldValue, HaloError, Lookups};
use crate::triage::Decision;

/// The fields whose labels the worker checks against Halo before writing.
pub const CHECKED_FIELDS: [Field; 4] = [
    Field::Team,
    Field::PriorityId,
    Field::TicketTypeId,
    Field::AgentId,
];

/// The category fields, by level (Halo's `type_id`; assumed 1 when missing).
pub const CATEGORY_LEVELS: [(i64, Field); 4] = [
    (1, Field::Category1),
    (2, Field::Category2),
    (3, Field::Category3),
    (4, Field::Category4),
];

/// Halo's lookups a label is checked against; a list not loaded is empty.
#[derive(Default)]
pub struct KnownLabels {
    pub teams: Arc<Vec<Team>>,
    pub priorities: Arc<Vec<Priority>>,
    pub ticket_types: Arc<Vec<TicketType>>,
    pub agents: Arc<Vec<Agent>>,
    pub statuses: Arc<Vec<Status>>,
    pub categories: Arc<Vec<Category>>,
}

impl KnownLabels {
    /// Reads (through the cache) the lookups that `fields` need.
    pub async fn load(
        lookups: &Lookups,
        fields: impl IntoIterator<Item = Field>,
    ) -> Result<KnownLabels, HaloError> {
        let mut known = KnownLabels::default();
        let mut categories_read = false;
        for field in fields {
            match field {
                Field::Team => known.teams = lookups.teams().await?,
                Field::PriorityId => known.priorities = lookups.priorities().await?,
                Field::TicketTypeId => known.ticket_types = lookups.ticket_types().await?,
                Field::AgentId => known.agents = lookups.agents().await?,
                Field::StatusId => known.statuses = lookups.statuses().await?,
                Field::Category1 | Field::Category2 | Field::Category3 | Field::Category4
                    if !categories_read =>
                {
                    known.categories = lookups.categories().await?;
                    categories_read = true;
                }
                _ => {}
            }
        }
        Ok(known)
    }

    /// Teams that take tickets.
    pub fn usable_teams(&self) -> impl Iterator<Item = &Team> {
        self.teams.iter().filter(|t| !t.inactive)
    }

    /// Priorities a ticket of SLA `sla` may have (`None`: any SLA's, as `check` asks).
    pub fn usable_priorities(&self, sla: Option<i64>) -> impl Iterator<Item = &Priority> {
        self.priorities
            .iter()
            .filter(move |p| !p.ishidden && (sla.is_none() || p.slaid.is_none() || p.slaid == sla))
    }

    pub fn usable_ticket_types(&self) -> impl Iterator<Item = &TicketType> {
        self.ticket_types.iter().filter(|t| !t.inactive)
    }

    pub fn usable_agents(&self) -> impl Iterator<Item = &Agent> {
        self.agents.iter().filter(|a| !a.isdisabled)
    }

    /// The categories of one level.
    pub fn categories_at(&self, level: i64) -> impl Iterator<Item = &Category> {
        self.categories
            .iter()
            .filter(move |c| c.type_id.unwrap_or(1) == level)
    }

    /// Whether Halo has `value` for `field`, usable on a ticket of SLA `sla` (fields
    /// without a lookup pass).
    pub fn knows(&self, field: Field, value: &FieldValue, sla: Option<i64>) -> bool {
        let text = value.as_text().unwrap_or_default();
        let id = value.as_id().unwrap_or_default();
        let level = CATEGORY_LEVELS
            .iter()
            .find(|(_, f)| *f == field)
            .map(|(level, _)| *level);
        match field {
            Field::Team => self
                .usable_teams()
                .any(|t| t.name.eq_ignore_ascii_case(text)),
            Field::PriorityId => self.usable_priorities(sla).any(|p| p.priorityid == id),
            Field::TicketTypeId => self.usable_ticket_types().any(|t| t.id == id),
            Field::AgentId => self.usable_agents().any(|a| a.id == id),
            Field::StatusId => self.statuses.iter().any(|s| s.id == id),
            _ => match level {
                Some(level) => self.categories_at(level).any(|c| {
                    c.value.eq_ignore_ascii_case(text) || c.category_name.eq_ignore_ascii_case(text)
                }),
                None => true,
            },
        }
    }
}

/// Drops decided labels that do not exist (or may not be used) in Halo, saying why, so a
/// typo in the rules becomes a note instead of a rejected update. Without Halo nothing is
/// checked, and the note says so.
pub async fn drop_unknown(
    lookups: Option<&Lookups>,
    decision: &mut Decision,
    ticket: &Ticket,
) -> Result<Vec<String>, HaloError> {
    let Some(lookups) = lookups else {
        return Ok(vec![
            "labels not checked against Halo: no credentials".into()
        ]);
    };
    let decided = CHECKED_FIELDS
        .into_iter()
        .filter(|field| decision.fields.contains_key(field));
    let known = KnownLabels::load(lookups, decided).await?;
    Ok(drop_unknown_labels(decision, ticket, &known))
}

fn drop_unknown_labels(
    decision: &mut Decision,
    ticket: &Ticket,
    known: &KnownLabels,
) -> Vec<String> {
    let mut notes = Vec::new();
    for field in CHECKED_FIELDS {
        let Some(decided) = decision.fields.get(&field) else {
            continue;
        };
        if !known.knows(field, &decided.value, ticket.sla_id) {
            notes.push(format!(
                "{field} '{}' does not exist (or is inactive) in Halo{}: not set",
                decided.value,
                if field == Field::PriorityId {
                    " for the ticket's SLA"
                } else {
                    ""
                }
            ));
            decision.fields.remove(&field);
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::test_decisions::{decided, decision};

    fn ticket() -> Ticket {
        Ticket {
            id: 9,
            ..Ticket::default()
        }
    }

    #[test]
    fn unknown_or_inactive_labels_are_dropped_with_a_note() {
        let teams = vec![
            Team {
                id: 2,
                name: "network".into(),
                inactive: false,
            },
            Team {
                id: 9,
                name: "Legacy".into(),
                inactive: true,
            },
        ];
        let priorities = vec![Priority {
            priorityid: 3,
            slaid: Some(1),
            name: "Medium".into(),
            ishidden: false,
        }];
        let agents = vec![Agent {
            id: 4,
            name: "Ann".into(),
            isdisabled: false,
        }];
        let known = KnownLabels {
            teams: Arc::new(teams),
            priorities: Arc::new(priorities),
            agents: Arc::new(agents),
            ..KnownLabels::default()
        };
        let mut sla_ticket = ticket();
        sla_ticket.sla_id = Some(1);
        let mut ok = decision();
        assert!(drop_unknown_labels(&mut ok, &sla_ticket, &known).is_empty());
        assert_eq!(ok.fields.len(), 4);

        let mut bad = decision();
        bad.fields
            .insert(Field::Team, decided(FieldValue::Text("Legacy".into())));
        bad.fields
            .insert(Field::TicketTypeId, decided(FieldValue::Id(77)));
        bad.fields
            .insert(Field::AgentId, decided(FieldValue::Id(5)));
        sla_ticket.sla_id = Some(2);
        let notes = drop_unknown_labels(&mut bad, &sla_ticket, &known);
        assert_eq!(notes.len(), 4, "{notes:?}");
        assert_eq!(
            bad.fields.keys().copied().collect::<Vec<_>>(),
            [Field::Category1]
        );
    }
}
