//! Turning a decision into writes: which ticket fields change, the acknowledgement and the
//! private note. Pure functions: `write.rs` performs what they plan.

use serde_json::Value;

use crate::ack_templates::{marker, AckContext, AckTemplates};
use crate::config::{AckSettings, ActSettings};
use crate::halo::model::{CustomFieldValue, NewAction, PrivateNote, Ticket, TicketUpdate};
use crate::halo::{Field, FieldValue};
use crate::triage::{Decision, RuleSet};

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

/// The templates the decision chose: a rule's named template, else `default`
/// (`ack.subject` / `ack.body`).
pub fn templates_for<'a>(
    decision: &Decision,
    rules: &'a RuleSet,
    default: &'a AckTemplates,
) -> &'a AckTemplates {
    decision
        .ack_template
        .as_ref()
        .and_then(|choice| rules.ack_template(&choice.value))
        .unwrap_or(default)
}

/// Plans the update (only fields that change, never a protected team or agent) and the
/// acknowledgement. `templates` are the ones the decision chose (a rule's named template,
/// else `ack.subject` / `ack.body`).
pub fn plan(
    ticket: &Ticket,
    decision: &Decision,
    act: &ActSettings,
    ack: &AckSettings,
    templates: &AckTemplates,
) -> Plan {
    let mut notes = Vec::new();
    let mut update = TicketUpdate::new(ticket.id);
    for (field, decided) in &decision.fields {
        let current = ticket.current(*field);
        let protected = match field {
            Field::Team => is_routed(ticket, act) && !act.overwrite_team,
            Field::AgentId => current.is_some() && !act.overwrite_agent,
            _ => false,
        };
        if protected {
            let key = if *field == Field::Team {
                "act.overwrite_team"
            } else {
                "act.overwrite_agent"
            };
            notes.push(format!(
                "kept {field} '{}' already on the ticket instead of '{}' ({key} = false)",
                current.map(|c| c.to_string()).unwrap_or_default(),
                decided.value
            ));
        } else if !current.is_some_and(|c| c.same_as(&decided.value)) {
            update.fields.insert(*field, decided.value.clone());
        }
    }
    for (name, decided) in &decision.custom {
        match ticket.custom_field(name) {
            Some(field)
                if field
                    .text()
                    .eq_ignore_ascii_case(&decided.value.to_string()) => {}
            Some(field) => update.customfields.push(CustomFieldValue {
                id: field.id,
                value: match &decided.value {
                    FieldValue::Id(id) => Value::from(*id),
                    FieldValue::Text(text) => Value::from(text.as_str()),
                },
            }),
            None => notes.push(format!(
                "custom field '{name}' is not on the ticket (no id to write it with): not set"
            )),
        }
    }
    let team = match update.fields.get(&Field::Team) {
        Some(team) => team.to_string(),
        None => ticket.team.clone(),
    };
    let ack = match &decision.ack_template {
        Some(choice) if choice.value == "none" => AckPlan::Skip(format!(
            "{} chose no acknowledgement",
            choice.source.describe()
        )),
        _ => acknowledgement(ticket, &team, ack, templates),
    };
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
    if email.is_empty() {
        return AckPlan::Skip("the ticket's user has no email address".into());
    }
    if !is_one_address(email) {
        return AckPlan::Skip(format!(
            "the ticket's user email {email:?} is not one well-formed address"
        ));
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
            emailsubject: without_control_characters(&message.subject),
            note_html: message.body_html,
            hiddenfromuser: false,
            timetaken: 0.0,
        }),
        Err(error) => AckPlan::Skip(format!("the templates failed to render: {error}")),
    }
}

/// Exactly one plain address (`local@domain.tld`): no list, no display name, no white
/// space or control character that could add a recipient or a header.
pub fn is_one_address(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    let plain = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && !",;<>()[]\\\"@:".contains(c))
    };
    email.len() <= 254
        && plain(local)
        && plain(domain)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
}

/// The subject on one line: control characters (CR, LF, tabs) become spaces.
fn without_control_characters(subject: &str) -> String {
    subject
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The marker that identifies our private note on a ticket, so it is posted once.
pub fn note_marker(ticket_id: i64) -> String {
    format!("halo-triage:note:{ticket_id}")
}

/// The rules' note lines as one private note for the agents.
pub fn private_note(ticket_id: i64, lines: &[String], outcome_id: i64) -> PrivateNote {
    let items: String = lines
        .iter()
        .map(|line| format!("<li>{}</li>", escape_html(line)))
        .collect();
    PrivateNote {
        ticket_id,
        outcome_id,
        hiddenfromuser: true,
        note_html: format!(
            "<p>halo-triage notes:</p><ul>{items}</ul><!-- {} -->",
            note_marker(ticket_id)
        ),
    }
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::halo::model::CustomField;
    use crate::pipeline::test_decisions::{decided, decision};
    use crate::triage::decision::{Decided, Source};

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
            note_outcome_id: 0,
        }
    }

    fn ticket() -> Ticket {
        Ticket {
            id: 9,
            summary: "VPN".into(),
            user_email: "jane@example.com".into(),
            priority_id: Some(3),
            customfields: vec![CustomField {
                id: 187,
                name: "CFTriageState".into(),
                ..CustomField::default()
            }],
            ..Ticket::default()
        }
    }

    fn run(ticket: &Ticket, decision: &Decision, act: &ActSettings, ack: &AckSettings) -> Plan {
        let templates = ack.templates().unwrap();
        plan(ticket, decision, act, ack, &templates)
    }

    #[test]
    fn only_changed_fields_are_written_and_the_ack_names_the_new_team() {
        let plan = run(&ticket(), &decision(), &act(false), &ack_settings(true));
        assert_eq!(
            serde_json::to_value(&plan.update).unwrap(),
            serde_json::json!({"id": 9, "team": "Network", "agent_id": 4, "category_1": "Connectivity"})
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
        assert!(!kept.update.fields.contains_key(&Field::Team));
        assert!(!kept.update.fields.contains_key(&Field::AgentId));
        assert_eq!(kept.notes.len(), 2, "{:?}", kept.notes);
        let AckPlan::Send(action) = kept.ack else {
            panic!("expected an acknowledgement")
        };
        assert!(action.note_html.contains("Service Desk"));
        let replaced = run(&assigned, &decision(), &act(true), &ack_settings(true));
        assert_eq!(
            replaced.update.fields[&Field::Team],
            FieldValue::Text("Network".into())
        );
        assert_eq!(replaced.update.fields[&Field::AgentId], FieldValue::Id(4));
    }

    #[test]
    fn an_unrouted_placeholder_team_is_replaced() {
        let mut placeholder = ticket();
        placeholder.team = "triage".into();
        let plan = run(&placeholder, &decision(), &act(false), &ack_settings(true));
        assert_eq!(
            plan.update.fields[&Field::Team],
            FieldValue::Text("Network".into())
        );
    }

    #[test]
    fn custom_fields_are_written_by_id_when_the_ticket_has_them() {
        let mut decision = decision();
        decision.custom.insert(
            "cftriagestate".into(),
            decided(FieldValue::Text("auto".into())),
        );
        decision
            .custom
            .insert("Missing".into(), decided(FieldValue::Id(1)));
        let plan = run(&ticket(), &decision, &act(false), &ack_settings(true));
        assert_eq!(
            plan.update.customfields,
            [CustomFieldValue {
                id: 187,
                value: Value::from("auto")
            }]
        );
        assert!(plan.notes[0].contains("custom field 'Missing' is not on the ticket"));
    }

    #[test]
    fn the_ack_is_skipped_without_email_when_disabled_or_when_a_rule_says_none() {
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
        let mut silent = decision();
        silent.ack_template = Some(Decided {
            value: "none".into(),
            source: Source::Rule("noise".into()),
            reason: "test".into(),
            confidence: None,
        });
        let plan = run(&ticket(), &silent, &act(false), &ack_settings(true));
        assert_eq!(
            plan.ack,
            AckPlan::Skip("rule 'noise' chose no acknowledgement".into())
        );
    }

    #[test]
    fn a_private_note_escapes_its_lines_and_carries_the_marker() {
        let note = private_note(9, &["a <b> & c".into(), "second".into()], 7);
        assert_eq!(
            note.note_html,
            "<p>halo-triage notes:</p><ul><li>a &lt;b&gt; &amp; c</li><li>second</li></ul><!-- halo-triage:note:9 -->"
        );
        assert!(note.hiddenfromuser);
        assert_eq!(note.outcome_id, 7);
    }

    #[test]
    fn the_acknowledgement_goes_to_one_well_formed_address_only() {
        for hostile in [
            "victim@example.com; attacker@evil.example",
            "victim@example.com, third@evil.example",
            "u@example.com\r\nBcc: attacker@evil.example",
            "Jane <jane@example.com>",
            "jane@localhost",
            "jane@@example.com",
            "jane example@example.com",
        ] {
            let mut t = ticket();
            t.user_email = hostile.into();
            let plan = run(&t, &decision(), &act(false), &ack_settings(true));
            let AckPlan::Skip(reason) = &plan.ack else {
                panic!("{hostile:?} got an acknowledgement")
            };
            assert!(reason.contains("not one well-formed address"), "{reason}");
            assert!(!reason.contains('\n'), "the note is one line: {reason}");
        }
        let mut t = ticket();
        t.user_email = " jane.doe+it@sub.example.co.uk ".into();
        let plan = run(&t, &decision(), &act(false), &ack_settings(true));
        assert!(matches!(plan.ack, AckPlan::Send(_)));
    }

    #[test]
    fn the_subject_carries_no_control_characters() {
        let mut t = ticket();
        t.summary = "Hello\r\nBcc: attacker@evil.example\r\nX-Injected: 1\tend".into();
        let plan = run(&t, &decision(), &act(false), &ack_settings(true));
        let AckPlan::Send(action) = plan.ack else {
            panic!("expected an acknowledgement")
        };
        assert_eq!(
            action.emailsubject,
            "Re: Hello  Bcc: attacker@evil.example  X-Injected: 1 end"
        );
    }
}
