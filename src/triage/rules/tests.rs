//! The rules language: every operator and combinator, precedence, stop, override, locks,
//! scopes, calendars, overlays and validation errors with their positions.

use std::path::Path;

use jiff::Timestamp;

use super::*;
use crate::halo::model::{CustomField, Ticket};
use crate::halo::{Field, FieldValue};
use crate::triage::decision::{LlmMode, Source};

/// The team the decision set, if any.
fn team_of(decision: &Decision) -> Option<&FieldValue> {
    decision.fields.get(&Field::Team).map(|d| &d.value)
}

fn rules(text: &str) -> RuleSet {
    RuleSet::parse(text, Path::new("test.toml")).unwrap_or_else(|e| panic!("{e}"))
}

fn error(text: &str) -> String {
    RuleSet::parse(text, Path::new("r.toml"))
        .unwrap_err()
        .to_string()
}

fn ticket(summary: &str) -> Ticket {
    Ticket {
        id: 1,
        summary: summary.into(),
        details: Some(String::new()),
        user_email: "jane@mail.globex.com".into(),
        user_name: "Jane Doe".into(),
        client_name: "Globex".into(),
        client_id: Some(12),
        tickettype_id: Some(1),
        priority_id: Some(3),
        source: Some(2),
        ..Ticket::default()
    }
}

fn noon() -> Timestamp {
    "2026-11-25T12:00:00Z".parse().unwrap()
}

/// Whether a one-rule set with condition `when` matches the ticket.
fn matches(when: &str, ticket: &Ticket) -> bool {
    let text = format!("[[rule]]\nname = \"r\"\nwhen = {when}\nset = {{ team = \"T\" }}\n");
    !rules(&text)
        .decide_at(ticket, noon())
        .matched_rules
        .is_empty()
}

#[test]
fn text_operators() {
    let t = ticket("Outlook: password expired!");
    let cases = [
        (
            r#"{ field = "summary", contains_any = ["PASSWORD", "vpn"] }"#,
            true,
        ),
        (r#"{ field = "summary", contains_any = ["vpn"] }"#, false),
        (
            r#"{ field = "summary", contains_all = ["outlook", "expired"] }"#,
            true,
        ),
        (
            r#"{ field = "summary", contains_all = ["outlook", "vpn"] }"#,
            false,
        ),
        (
            r#"{ field = "summary", contains_any = ["pass"], whole_word = true }"#,
            false,
        ),
        (
            r#"{ field = "summary", contains_any = ["password"], whole_word = true }"#,
            true,
        ),
        (r#"{ field = "summary", starts_with = "outlook" }"#, true),
        (r#"{ field = "summary", ends_with = "EXPIRED!" }"#, true),
        (r#"{ field = "summary", regex = "pass\\w+ exp" }"#, true),
        (r#"{ field = "summary", regex = "^password" }"#, false),
        (r#"{ field = "user_name", equals = "jane doe" }"#, true),
        (r#"{ field = "user_name", not_equals = "jane doe" }"#, false),
        (
            r#"{ field = "client_name", in = ["Initech", "globex"] }"#,
            true,
        ),
        (r#"{ field = "text", contains_any = ["expired"] }"#, true),
    ];
    for (when, expected) in cases {
        assert_eq!(matches(when, &t), expected, "{when}");
    }
}

#[test]
fn whole_words_are_found_after_a_partial_occurrence() {
    let t = ticket("passport and pass");
    assert!(matches(
        r#"{ field = "summary", contains_any = ["pass"], whole_word = true }"#,
        &t
    ));
}

#[test]
fn details_come_from_html_when_there_is_no_plain_text() {
    let mut t = ticket("Help");
    t.details = None;
    t.details_html = Some("<p>The&nbsp;printer</p><p>jammed</p>".into());
    assert!(matches(
        r#"{ field = "details", contains_all = ["the printer", "jammed"] }"#,
        &t
    ));
}

#[test]
fn email_domain_numbers_presence_and_custom_fields() {
    let mut t = ticket("x");
    t.customfields = vec![CustomField {
        id: 5,
        name: "CFContract".into(),
        value: "Gold".into(),
        ..CustomField::default()
    }];
    t.is_vip = true;
    let cases = [
        (r#"{ field = "user_email", domain = ["globex.com"] }"#, true),
        (r#"{ field = "user_email", domain = ["lobex.com"] }"#, false),
        (
            r#"{ field = "email_domain", equals = "mail.globex.com" }"#,
            true,
        ),
        (r#"{ field = "priority", greater_than = 2 }"#, true),
        (r#"{ field = "priority", less_than = 3 }"#, false),
        (r#"{ field = "client_id", equals = 12 }"#, true),
        (r#"{ field = "ticket_type", in = [1, 2] }"#, true),
        (r#"{ field = "source", equals = 2 }"#, true),
        (r#"{ field = "vip", equals = true }"#, true),
        (r#"{ field = "site", exists = false }"#, true),
        (r#"{ field = "site", empty = true }"#, true),
        (r#"{ field = "user_email", exists = true }"#, true),
        (r#"{ field = "custom.CFContract", equals = "gold" }"#, true),
        (r#"{ field = "custom.missing", empty = true }"#, true),
    ];
    for (when, expected) in cases {
        assert_eq!(matches(when, &t), expected, "{when}");
    }
}

#[test]
fn combinators_nest() {
    let t = ticket("printer offline");
    let cases = [
        (
            r#"{ all = [{ field = "summary", contains_any = ["printer"] }, { field = "summary", contains_any = ["offline"] }] }"#,
            true,
        ),
        (
            r#"{ all = [{ field = "summary", contains_any = ["printer"] }, { field = "summary", contains_any = ["toner"] }] }"#,
            false,
        ),
        (
            r#"{ any = [{ field = "summary", contains_any = ["toner"] }, { field = "summary", contains_any = ["offline"] }] }"#,
            true,
        ),
        (
            r#"{ not = { field = "summary", contains_any = ["printer"] } }"#,
            false,
        ),
        (
            r#"{ all = [{ not = { field = "summary", contains_any = ["toner"] } }, { any = [{ field = "client_name", equals = "globex" }] }] }"#,
            true,
        ),
        // Rules are skipped when none of the words they need occur: these check that a
        // branch without words still lets the rule be evaluated, and that every word a
        // rule needs is a way in.
        (
            r#"{ any = [{ field = "summary", contains_any = ["toner"] }, { field = "client_name", equals = "globex" }] }"#,
            true,
        ),
        (
            r#"{ all = [{ field = "summary", contains_all = ["printer", "offline"] }, { field = "client_name", equals = "globex" }] }"#,
            true,
        ),
        (
            r#"{ field = "summary", contains_all = ["toner", "printer"] }"#,
            false,
        ),
        (
            r#"{ field = "summary", contains_all = ["printer", "toner"] }"#,
            false,
        ),
        (
            r#"{ any = [{ field = "summary", contains_any = ["toner"] }, { field = "summary", regex = "off.ine" }] }"#,
            true,
        ),
    ];
    for (when, expected) in cases {
        assert_eq!(matches(when, &t), expected, "{when}");
    }
}

const PRECEDENCE: &str = r#"
[defaults]
team = "Service Desk"
priority_id = 4

[[rule]]
name = "printer"
precedence = 50
when = { field = "text", contains_any = ["printer"] }
set = { team = "Field", category_1 = "Hardware" }

[[rule]]
name = "vip"
precedence = 10
when = { field = "vip", equals = true }
set = { priority_id = 2 }
lock = ["priority_id"]
llm = "skip"

[[rule]]
name = "outage"
precedence = 60
when = { field = "text", contains_any = ["offline", "down"] }
set = { team = "Network", priority_id = 1 }
override = true
note = "Check the monitoring dashboard"
stop = true

[[rule]]
name = "after-stop"
when = { field = "text", contains_any = ["printer"] }
set = { category_2 = "Printer" }
"#;

#[test]
fn precedence_override_lock_and_stop() {
    let mut t = ticket("Printer offline");
    t.is_vip = true;
    let decision = rules(PRECEDENCE).decide_at(&t, noon());
    assert_eq!(decision.matched_rules, ["vip", "printer", "outage"]);
    assert_eq!(
        team_of(&decision),
        Some(&FieldValue::Text("Network".into()))
    );
    let priority = &decision.fields[&Field::PriorityId];
    assert_eq!(
        (&priority.value, &priority.source),
        (&FieldValue::Id(2), &Source::Rule("vip".into()))
    );
    assert!(decision.locked.contains(&Field::PriorityId));
    assert_eq!(decision.llm, LlmMode::Skip);
    assert_eq!(decision.notes, ["Check the monitoring dashboard"]);
    let outage = &decision.trace[2];
    assert_eq!(
        outage.overrode,
        [(Field::Team, "rule 'printer'".to_string())]
    );
    assert_eq!(outage.lost, [(Field::PriorityId, "rule 'vip'".to_string())]);
    assert!(outage.stopped);
    assert!(
        !decision.fields.contains_key(&Field::Category2),
        "after-stop never ran"
    );
}

#[test]
fn first_rule_wins_without_override_and_defaults_fill_the_rest() {
    let decision = rules(PRECEDENCE).decide_at(&ticket("printer jam"), noon());
    assert_eq!(decision.matched_rules, ["printer", "after-stop"]);
    let priority = &decision.fields[&Field::PriorityId];
    assert_eq!(
        (&priority.value, &priority.source),
        (&FieldValue::Id(4), &Source::Default)
    );
    assert_eq!(decision.llm, LlmMode::Fill);
}

#[test]
fn explain_reports_every_rule() {
    let (_, evaluations) = rules(PRECEDENCE).explain_at(&ticket("Printer offline"), noon());
    let outcomes: Vec<_> = evaluations
        .iter()
        .map(|e| (e.rule.as_str(), e.outcome.clone()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("vip", RuleOutcome::NoMatch),
            ("printer", RuleOutcome::Matched),
            ("outage", RuleOutcome::Matched),
            ("after-stop", RuleOutcome::NotReached),
        ]
    );
    assert_eq!(evaluations[0].location, "test.toml:13");
}

#[test]
fn client_and_ticket_type_scopes() {
    let text = r#"
        [[rule]]
        name = "globex only"
        clients = ["GLOBEX"]
        ticket_types = [1]
        set = { team = "Globex Desk" }
    "#;
    let set = rules(text);
    assert_eq!(
        set.decide_at(&ticket("x"), noon()).matched_rules,
        ["globex only"]
    );
    let mut other = ticket("x");
    other.client_name = "Initech".into();
    assert!(set.decide_at(&other, noon()).matched_rules.is_empty());
    let mut change = ticket("x");
    change.tickettype_id = Some(3);
    let (_, evaluations) = set.explain_at(&change, noon());
    assert_eq!(evaluations[0].outcome, RuleOutcome::OutOfScope);
}

const HOURS: &str = r#"
timezone = "America/New_York"

[calendars.london]
timezone = "Europe/London"
days = ["mon", "tue", "wed", "thu", "fri"]
start = "09:00"
end = "17:30"

[[rule]]
name = "out of hours"
when = { not = { field = "arrived", within = "london" } }
set = { priority_id = 2 }

[[rule]]
name = "friday in new york"
when = { field = "weekday", equals = "fri" }
set = { category_1 = "Friday" }

[[rule]]
name = "late in new york"
when = { field = "hour", greater_than = 20 }
set = { category_2 = "Late" }
"#;

#[test]
fn business_hours_and_weekday_follow_their_time_zones() {
    let set = rules(HOURS);
    let mut t = ticket("x");
    // Friday 23:30 in London is 18:30 in New York: closed in London, Friday in New York.
    t.dateoccurred = Some("2026-11-27T23:30:00Z".into());
    let decision = set.decide_at(&t, noon());
    assert_eq!(
        decision.matched_rules,
        ["out of hours", "friday in new york"]
    );
    // Saturday 02:00 UTC is still Friday 21:00 in New York.
    t.dateoccurred = Some("2026-11-28T02:00:00Z".into());
    let decision = set.decide_at(&t, noon());
    assert_eq!(
        decision.matched_rules,
        ["out of hours", "friday in new york", "late in new york"]
    );
    // Wednesday 10:00 in London: open, and a Wednesday in New York.
    t.dateoccurred = Some("2026-11-25T10:00:00Z".into());
    assert!(set.decide_at(&t, noon()).matched_rules.is_empty());
    // Without dateoccurred the ticket arrives "now".
    t.dateoccurred = None;
    assert!(set.decide_at(&t, noon()).matched_rules.is_empty());
}

#[test]
fn custom_fields_ack_templates_and_notes_are_decided() {
    let text = r#"
        [ack_templates.vip]
        subject = "Priority: {{ summary }}"
        body = "<p>On it.</p><!-- {{ marker }} -->"

        [[rule]]
        name = "vip"
        when = { field = "vip", equals = true }
        custom = { CFTriageState = "vip" }
        ack = "vip"

        [[rule]]
        name = "noise"
        when = { field = "summary", starts_with = "automatic reply" }
        ack = "none"
        llm = "skip"
        set = { team = "Noise" }
    "#;
    let set = rules(text);
    let mut vip = ticket("help");
    vip.is_vip = true;
    let decision = set.decide_at(&vip, noon());
    assert_eq!(
        decision.custom["CFTriageState"].value,
        FieldValue::Text("vip".into())
    );
    assert_eq!(decision.ack_template.as_ref().unwrap().value, "vip");
    assert!(set.ack_template("vip").is_some());
    let decision = set.decide_at(&ticket("Automatic reply: out of office"), noon());
    assert_eq!(decision.ack_template.unwrap().value, "none");
}

#[test]
fn validation_errors_name_file_line_and_column() {
    let cases = [
        (
            "[[rule]]\nname = \"a\"\nwhen = { field = \"sumary\", equals = \"x\" }\nset = { team = \"T\" }\n",
            "r.toml:3:8: unknown field 'sumary'",
        ),
        (
            "[[rule]]\nname = \"a\"\nwhen = { field = \"summary\", contain = \"x\" }\nset = { team = \"T\" }\n",
            "r.toml:3:",
        ),
        (
            "[[rule]]\nname = \"a\"\nwhen = { field = \"summary\", regex = \"(unclosed\" }\nset = { team = \"T\" }\n",
            "r.toml:3:8: bad regex",
        ),
        (
            "[[rule]]\nname = \"a\"\nset = { team = \"T\" }\n\n[[rule]]\nname = \"a\"\nset = { team = \"U\" }\n",
            "r.toml:6:8: rule 'a' is defined twice (also at r.toml:2)",
        ),
        (
            "[[rule]]\nname = \"a\"\nset = { team = 5 }\n",
            "r.toml:3:16: team must be non-empty text",
        ),
        (
            "[[rule]]\nname = \"a\"\nset = { priority_id = \"high\" }\n",
            "r.toml:3:23: priority_id must be an id",
        ),
        (
            "[[rule]]\nname = \"a\"\nset = { tean = \"T\" }\n",
            "r.toml:3:9: unknown variant `tean`",
        ),
        (
            "[[rule]]\nname = \"all\"\nstop = true\nset = { team = \"T\" }\n\n[[rule]]\nname = \"never\"\nset = { team = \"U\" }\n",
            "r.toml:7:8: rule 'never' can never run: rule 'all' before it matches every ticket and stops",
        ),
        (
            "[labels]\nteams = [\"Service Desk\"]\n\n[[rule]]\nname = \"a\"\nset = { team = \"Servce Desk\" }\n",
            "r.toml:6:16: team Servce Desk is not in [labels]",
        ),
        (
            "[[rule]]\nname = \"a\"\nwhen = { field = \"arrived\", within = \"office\" }\nset = { team = \"T\" }\n",
            "no calendar 'office'",
        ),
        (
            "[[rule]]\nname = \"a\"\nwhen = { field = \"summary\", equals = \"x\", starts_with = \"y\" }\nset = { team = \"T\" }\n",
            "more than one operator",
        ),
        (
            "[[rule]]\nname = \"a\"\nack = \"fancy\"\n",
            "r.toml:3:7: no ack template 'fancy'",
        ),
        ("[[rule]\n", "r.toml:1:"),
        ("timezone = \"Mars/Base\"\n", "r.toml:1:12: 'Mars/Base' is not a known time zone"),
    ];
    for (text, expected) in cases {
        let err = error(text);
        assert!(err.contains(expected), "expected {expected:?} in {err:?}");
    }
}

#[test]
fn overlays_add_client_scoped_rules_and_may_not_set_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("rules.toml");
    std::fs::write(&main, "[defaults]\nteam = \"Service Desk\"\n").unwrap();
    let overlays = dir.path().join("rules.d");
    std::fs::create_dir(&overlays).unwrap();
    std::fs::write(
        overlays.join("globex.toml"),
        "clients = [\"Globex\"]\n\n[[rule]]\nname = \"globex printers\"\nwhen = { field = \"text\", contains_any = [\"printer\"] }\nset = { team = \"Globex Onsite\" }\n",
    )
    .unwrap();
    let set = RuleSet::load(&main, Some(&overlays)).unwrap();
    assert_eq!(set.files().len(), 2);
    let decision = set.decide_at(&ticket("printer"), noon());
    assert_eq!(
        team_of(&decision),
        Some(&FieldValue::Text("Globex Onsite".into()))
    );
    let mut other = ticket("printer");
    other.client_name = "Initech".into();
    let decision = set.decide_at(&other, noon());
    assert_eq!(
        team_of(&decision),
        Some(&FieldValue::Text("Service Desk".into()))
    );

    std::fs::write(overlays.join("zz.toml"), "[defaults]\nteam = \"X\"\n").unwrap();
    let err = RuleSet::load(&main, Some(&overlays))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("zz.toml:2:8: [defaults] belongs in the main rules file only"),
        "{err}"
    );
}

#[test]
fn the_labels_a_rule_set_writes_are_listed_with_their_place() {
    let labels = rules(PRECEDENCE).labels();
    let team_labels: Vec<_> = labels
        .iter()
        .filter(|l| l.field == Field::Team)
        .map(|l| (l.value.to_string(), l.location.clone()))
        .collect();
    assert_eq!(
        team_labels,
        [
            ("Service Desk".to_string(), "defaults".to_string()),
            ("Field".to_string(), "test.toml:7".to_string()),
            ("Network".to_string(), "test.toml:21".to_string()),
        ]
    );
}

#[test]
fn an_overlay_narrows_its_rules_to_its_clients() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("rules.toml");
    std::fs::write(&main, "").unwrap();
    let overlays = dir.path().join("rules.d");
    std::fs::create_dir(&overlays).unwrap();
    let overlay = overlays.join("globex.toml");
    std::fs::write(
        &overlay,
        "clients = [\"Globex\", \"Globex UK\"]\n\n[[rule]]\nname = \"uk\"\nclients = [\"globex uk\", \"Initech\"]\nset = { team = \"UK\" }\n",
    )
    .unwrap();
    let set = RuleSet::load(&main, Some(&overlays)).unwrap();
    let mut initech = ticket("x");
    initech.client_name = "Initech".into();
    assert!(
        set.decide_at(&initech, noon()).matched_rules.is_empty(),
        "another customer's rule"
    );
    let mut uk = ticket("x");
    uk.client_name = "Globex UK".into();
    assert_eq!(set.decide_at(&uk, noon()).matched_rules, ["uk"]);

    std::fs::write(
        &overlay,
        "clients = [\"Globex\"]\n\n[[rule]]\nname = \"elsewhere\"\nclients = [\"Initech\"]\nset = { team = \"X\" }\n",
    )
    .unwrap();
    let err = RuleSet::load(&main, Some(&overlays))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "globex.toml:3:1: rule 'elsewhere': its `clients` are outside the file's `clients`"
        ),
        "{err}"
    );
}

#[test]
fn tests_that_cannot_mean_anything_are_refused() {
    let rule =
        |when: &str| format!("[[rule]]\nname = \"a\"\nwhen = {when}\nset = {{ team = \"T\" }}\n");
    let cases = [
        (
            r#"{ field = "summary", greater_than = 3 }"#,
            "'summary' is not a number",
        ),
        (
            r#"{ field = "vip", domain = ["x.com"] }"#,
            "`domain` tests user_email or email_domain",
        ),
        (
            r#"{ field = "weekday", equals = "friday" }"#,
            "'friday' is not a weekday",
        ),
        (r#"{ field = "hour", in = [9, 99] }"#, "'99' is not an hour"),
        (
            r#"{ field = "vip", equals = "yes" }"#,
            "vip is true or false",
        ),
        (
            r#"{ field = "summary", equals = "x", whole_word = true }"#,
            "`whole_word` goes with",
        ),
        (r#"{ all = [] }"#, "an empty `all` or `any` list"),
        (r#"{ field = "summary" }"#, "has no operator"),
    ];
    for (when, expected) in cases {
        let err = error(&rule(when));
        assert!(
            err.contains("r.toml:3:8: ") && err.contains(expected),
            "{expected}: {err}"
        );
    }
    let err = error("[[rule]]\nname = \"a\"\ncustom = { \"\" = 1 }\n");
    assert!(err.contains("a custom field needs a name"), "{err}");
    let err = error("[[rule]]\nname = \"a\"\ncustom = { X = 1.5 }\n");
    assert!(err.contains("give text or a whole number"), "{err}");
}

#[test]
fn words_match_across_entities_line_breaks_and_unicode() {
    let mut t = ticket("İstanbul office: Größe");
    t.details = None;
    t.details_html =
        Some("<p>I am locked&#160;out\n  of <b>Outlook</b></p><!-- locked out -->".into());
    assert!(matches(
        r#"{ field = "details", contains_any = ["Locked Out"], whole_word = true }"#,
        &t
    ));
    assert!(matches(
        r#"{ field = "details", starts_with = "i am" }"#,
        &t
    ));
    assert!(matches(
        r#"{ field = "text", contains_any = ["größe"], whole_word = true }"#,
        &t
    ));
    assert!(matches(
        r#"{ field = "summary", contains_any = ["office"], whole_word = true }"#,
        &t
    ));
}

#[test]
fn a_later_rule_with_override_takes_the_acknowledgement_and_says_so() {
    let text = r#"
        [ack_templates.a]
        subject = "A"
        body = "{{ marker }}"

        [ack_templates.b]
        subject = "B"
        body = "{{ marker }}"

        [[rule]]
        name = "first"
        ack = "a"
        llm = "hint"

        [[rule]]
        name = "second"
        ack = "b"
        llm = "skip"

        [[rule]]
        name = "third"
        ack = "b"
        override = true
    "#;
    let decision = rules(text).decide_at(&ticket("x"), noon());
    let ack = decision.ack_template.unwrap();
    assert_eq!(
        (ack.value.as_str(), ack.source),
        ("b", Source::Rule("third".into()))
    );
    assert_eq!(decision.llm, LlmMode::Hint);
    assert_eq!(
        decision.trace[1].effects,
        [
            "ack template 'b': lost to rule 'first', which chose first",
            "llm = skip: lost to rule 'first', which chose first",
        ]
    );
    assert_eq!(
        decision.trace[2].effects,
        ["set ack template 'b', overriding rule 'first'"]
    );
}

#[test]
fn an_ack_template_defined_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("rules.toml");
    std::fs::write(
        &main,
        "[ack_templates.vip]\nsubject = \"S\"\nbody = \"{{ marker }}\"\n",
    )
    .unwrap();
    let overlays = dir.path().join("rules.d");
    std::fs::create_dir(&overlays).unwrap();
    std::fs::write(
        overlays.join("a.toml"),
        "[ack_templates.vip]\nsubject = \"T\"\nbody = \"{{ marker }}\"\n",
    )
    .unwrap();
    let err = RuleSet::load(&main, Some(&overlays))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("a.toml:1:1: ack template 'vip' is defined twice"),
        "{err}"
    );
}

#[test]
fn cases_check_custom_fields_acknowledgement_and_llm_at_a_fixed_time() {
    let set = rules(
        r#"
        [calendars.office]
        timezone = "UTC"
        days = ["wed"]
        start = "09:00"
        end = "17:00"

        [[rule]]
        name = "office"
        when = { field = "arrived", within = "office" }
        custom = { CFState = "open" }
        ack = "none"
        llm = "skip"
    "#,
    );
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases.toml");
    std::fs::write(
        &cases,
        r#"
now = "2026-11-25T10:00:00Z"

[[case]]
name = "right"
ticket = { summary = "x" }
expect_custom = { CFState = "open" }
expect_ack = "none"
expect_llm = "skip"

[[case]]
name = "wrong"
ticket = { summary = "x" }
expect_custom = { CFState = "closed" }
expect_ack = ""
expect_llm = "fill"
"#,
    )
    .unwrap();
    let report = set
        .run_cases(&cases, "2000-01-01T00:00:00Z".parse().unwrap())
        .unwrap();
    assert_eq!(report.cases, 2);
    let failures: Vec<String> = report.failures.iter().map(|f| f.to_string()).collect();
    assert_eq!(
        failures,
        [
            "FAIL case 'wrong': custom field CFState: expected 'closed', got 'open' (decided by rule 'office')",
            "FAIL case 'wrong': ack template: expected '', got 'none' (decided by rule 'office')",
            "FAIL case 'wrong': llm: expected fill, got skip (decided by the first matched rule with `llm`)",
        ]
    );
    std::fs::write(&cases, "[[case]]\nname = \"x\"\nticket = { summary = 5 }\n").unwrap();
    let err = set.run_cases(&cases, noon()).unwrap_err().to_string();
    assert!(err.contains("cases.toml:3:"), "{err}");
}
