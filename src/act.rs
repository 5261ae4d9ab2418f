//! Turning a decision into writes: which ticket fields change, and the acknowledgement.
//! Pure functions: the worker performs what they plan.

use crate::ack::{marker, AckContext, AckTemplates};
use crate::config::{AckSettings, ActSettings};
use crate::halo::model::{Agent, NewAction, Priority, Team, Ticket, TicketType, TicketUpdate};
use crate::triage::{Decided, Decision};

/// What to write to Halo for one ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub update: TicketUpdate,
    pub ack: AckPlan,
    /// Why fields were left alone or the acknowledgement skipped, for the decision record.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AckPlan {
    Send(NewAction),
    Skip(String),
}

/// Plans the update (only fields that change, never a protected team or agent) and the
/// acknowledgement.
pub fn plan(
    ticket: &Ticket,
    decision: &Decision,
    act: &ActSettings,
    ack: &AckSettings,
    templates: &AckTemplates,
) -> Plan {
    let mut notes = Vec::new();
    let mut update = TicketUpdate {
        id: ticket.id,
        ..TicketUpdate::default()
    };
    if let Some(team) = &decision.team {
        if is_routed(ticket, act) && !act.overwrite_team {
            notes.push(format!(
                "kept team '{}' already on the ticket instead of '{}' (act.overwrite_team = false)",
                ticket.team, team.value
            ));
        } else if !ticket.team.eq_ignore_ascii_case(&team.value) {
            update.team = Some(team.value.clone());
        }
    }
    if let Some(agent) = &decision.agent_id {
        if ticket.has_agent() && !act.overwrite_agent {
            notes.push(format!(
                "kept agent {} already on the ticket (act.overwrite_agent = false)",
                ticket.agent_id.unwrap_or_default()
            ));
        } else if ticket.agent_id != Some(agent.value) {
            update.agent_id = Some(agent.value);
        }
    }
    update.category_1 = changed_text(&decision.category_1, &ticket.category_1);
    update.category_2 = changed_text(&decision.category_2, &ticket.category_2);
    update.category_3 = changed_text(&decision.category_3, &ticket.category_3);
    update.category_4 = changed_text(&decision.category_4, &ticket.category_4);
    update.priority_id = changed_id(&decision.priority_id, ticket.priority_id);
    update.tickettype_id = changed_id(&decision.tickettype_id, ticket.tickettype_id);

    let team = update.team.as_deref().unwrap_or(&ticket.team);
    let ack = acknowledgement(ticket, team, ack, templates);
    if let AckPlan::Skip(reason) = &ack {
        notes.push(format!("acknowledgement not sent: {reason}"));
    }
    Plan { update, ack, notes }
}

/// A team is on the ticket, and it is not one of the teams that only mean "not routed yet"
/// (`act.unrouted_teams`, e.g. the default team Halo gives every new ticket).
fn is_routed(ticket: &Ticket, act: &ActSettings) -> bool {
    let placeholder = act
        .unrouted_teams
        .iter()
        .any(|t| t.trim().eq_ignore_ascii_case(ticket.team.trim()));
    ticket.has_team() && !placeholder
}

fn changed_text(decided: &Option<Decided<String>>, current: &str) -> Option<String> {
    decided
        .as_ref()
        .filter(|d| !d.value.eq_ignore_ascii_case(current.trim()))
        .map(|d| d.value.clone())
}

fn changed_id(decided: &Option<Decided<i64>>, current: Option<i64>) -> Option<i64> {
    decided
        .as_ref()
        .filter(|d| Some(d.value) != current)
        .map(|d| d.value)
}

/// The acknowledgement for `ticket`, naming `team`, or why none is sent.
pub fn acknowledgement(
    ticket: &Ticket,
    team: &str,
    ack: &AckSettings,
    templates: &AckTemplates,
) -> AckPlan {
    if !ack.enabled {
        return AckPlan::Skip("ack.enabled = false".into());
    }
    let email = ticket.user_email.trim();
    if email.is_empty() || !email.contains('@') {
        return AckPlan::Skip("the ticket's user has no email address".into());
    }
    let context = AckContext {
        ticket_id: ticket.id,
        summary: ticket.summary.clone(),
        client_name: ticket.client_name.clone(),
        user_name: ticket.user_name.clone(),
        team: team.to_string(),
        marker: marker(ticket.id),
    };
    match templates.render(&context) {
        Ok(message) => AckPlan::Send(NewAction {
            ticket_id: ticket.id,
            outcome_id: ack.outcome_id,
            sendemail: true,
            emailto: email.to_string(),
            emailsubject: message.subject,
            note_html: message.body_html,
            hiddenfromuser: false,
            timetaken: 0.0,
        }),
        Err(error) => AckPlan::Skip(format!("the templates failed to render: {error}")),
    }
}

/// Halo's lookups a decision is checked against.
pub struct KnownLabels<'a> {
    pub teams: &'a [Team],
    pub priorities: &'a [Priority],
    pub ticket_types: &'a [TicketType],
    pub agents: &'a [Agent],
}

/// Drops decided labels that do not exist (or are inactive) in Halo, saying why, so a
/// typo in the rules becomes a note instead of a rejected update.
pub fn drop_unknown_labels(
    decision: &mut Decision,
    ticket: &Ticket,
    known: &KnownLabels,
) -> Vec<String> {
    let KnownLabels {
        teams,
        priorities,
        ticket_types,
        agents,
    } = known;
    let mut notes = Vec::new();
    if let Some(team) = &decision.team {
        let known = teams
            .iter()
            .any(|t| !t.inactive && t.name.eq_ignore_ascii_case(&team.value));
        if !known {
            notes.push(format!(
                "team '{}' is not an active team in Halo: not set",
                team.value
            ));
            decision.team = None;
        }
    }
    if let Some(priority) = &decision.priority_id {
        let known = priorities.iter().any(|p| {
            p.priorityid == priority.value
                && !p.ishidden
                && (ticket.sla_id.is_none() || p.slaid.is_none() || p.slaid == ticket.sla_id)
        });
        if !known {
            notes.push(format!(
                "priority {} does not exist in the ticket's SLA in Halo: not set",
                priority.value
            ));
            decision.priority_id = None;
        }
    }
    if let Some(ticket_type) = &decision.tickettype_id {
        let known = ticket_types
            .iter()
            .any(|t| !t.inactive && t.id == ticket_type.value);
        if !known {
            notes.push(format!(
                "ticket type {} is not an active ticket type in Halo: not set",
                ticket_type.value
            ));
            decision.tickettype_id = None;
        }
    }
    if let Some(agent) = &decision.agent_id {
        let known = agents.iter().any(|a| !a.isdisabled && a.id == agent.value);
        if !known {
            notes.push(format!(
                "agent {} is not an active agent in Halo: not set",
                agent.value
            ));
            decision.agent_id = None;
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::triage::Source;

    fn decided<T>(value: T) -> Option<Decided<T>> {
        Some(Decided {
            value,
            source: Source::Default,
            reason: "test".into(),
        })
    }

    fn ack_settings(enabled: bool) -> AckSettings {
        AckSettings {
            enabled,
            outcome_id: 21,
            subject: "Re: {{ summary }}".into(),
            body: "<p>{{ team }}</p><!-- {{ marker }} -->".into(),
        }
    }

    fn act(overwrite: bool) -> ActSettings {
        ActSettings {
            overwrite_team: overwrite,
            overwrite_agent: overwrite,
            unrouted_teams: vec!["Triage".into()],
        }
    }

    fn ticket() -> Ticket {
        Ticket {
            id: 9,
            summary: "VPN".into(),
            user_email: "jane@example.com".into(),
            priority_id: Some(3),
            ..Ticket::default()
        }
    }

    fn decision() -> Decision {
        Decision {
            team: decided("Network".to_string()),
            agent_id: decided(4),
            category_1: decided("Connectivity".to_string()),
            priority_id: decided(3),
            ..Decision::default()
        }
    }

    fn run(ticket: &Ticket, decision: &Decision, act: &ActSettings, ack: &AckSettings) -> Plan {
        let templates = AckTemplates::compile(ack).unwrap();
        plan(ticket, decision, act, ack, &templates)
    }

    #[test]
    fn only_changed_fields_are_written_and_the_ack_names_the_new_team() {
        let plan = run(&ticket(), &decision(), &act(false), &ack_settings(true));
        assert_eq!(
            plan.update,
            TicketUpdate {
                id: 9,
                team: Some("Network".into()),
                agent_id: Some(4),
                category_1: Some("Connectivity".into()),
                ..TicketUpdate::default()
            }
        );
        let AckPlan::Send(action) = plan.ack else {
            panic!("expected an acknowledgement")
        };
        assert_eq!(action.note_html, "<p>Network</p><!-- halo-triage:ack:9 -->");
        assert_eq!(action.emailto, "jane@example.com");
        assert!(plan.notes.is_empty());
    }

    #[test]
    fn a_team_or_agent_already_set_is_kept_unless_overwrite_is_on() {
        let mut assigned = ticket();
        assigned.team = "Service Desk".into();
        assigned.agent_id = Some(12);
        let kept = run(&assigned, &decision(), &act(false), &ack_settings(true));
        assert_eq!((kept.update.team, kept.update.agent_id), (None, None));
        assert_eq!(kept.notes.len(), 2, "{:?}", kept.notes);
        let AckPlan::Send(action) = kept.ack else {
            panic!("expected an acknowledgement")
        };
        assert!(action.note_html.contains("Service Desk"));
        let replaced = run(&assigned, &decision(), &act(true), &ack_settings(true));
        assert_eq!(replaced.update.team.as_deref(), Some("Network"));
        assert_eq!(replaced.update.agent_id, Some(4));
    }

    #[test]
    fn an_unrouted_placeholder_team_is_replaced() {
        let mut placeholder = ticket();
        placeholder.team = "triage".into();
        let plan = run(&placeholder, &decision(), &act(false), &ack_settings(true));
        assert_eq!(plan.update.team.as_deref(), Some("Network"));
    }

    #[test]
    fn the_ack_is_skipped_without_email_or_when_disabled() {
        let mut no_email = ticket();
        no_email.user_email = String::new();
        let plan = run(&no_email, &decision(), &act(false), &ack_settings(true));
        assert_eq!(
            plan.ack,
            AckPlan::Skip("the ticket's user has no email address".into())
        );
        let plan = run(&ticket(), &decision(), &act(false), &ack_settings(false));
        assert_eq!(plan.ack, AckPlan::Skip("ack.enabled = false".into()));
        assert_eq!(
            plan.notes,
            ["acknowledgement not sent: ack.enabled = false"]
        );
    }

    #[test]
    fn unknown_or_inactive_labels_are_dropped_with_a_note() {
        let teams = [
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
        let priorities = [Priority {
            priorityid: 3,
            slaid: Some(1),
            name: "Medium".into(),
            ishidden: false,
        }];
        let mut sla_ticket = ticket();
        sla_ticket.sla_id = Some(1);

        let agents = [Agent {
            id: 4,
            name: "Ann".into(),
            isdisabled: false,
        }];
        let known = KnownLabels {
            teams: &teams,
            priorities: &priorities,
            ticket_types: &[],
            agents: &agents,
        };
        let mut ok = decision();
        assert!(drop_unknown_labels(&mut ok, &sla_ticket, &known).is_empty());
        assert!(ok.team.is_some() && ok.priority_id.is_some() && ok.agent_id.is_some());

        let mut bad = decision();
        bad.team = decided("Legacy".into());
        bad.tickettype_id = decided(77);
        bad.agent_id = decided(5);
        sla_ticket.sla_id = Some(2);
        let notes = drop_unknown_labels(&mut bad, &sla_ticket, &known);
        assert_eq!(notes.len(), 4, "{notes:?}");
        assert!(bad.team.is_none() && bad.priority_id.is_none());
        assert!(bad.tickettype_id.is_none() && bad.agent_id.is_none());
    }
}
