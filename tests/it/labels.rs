//! One label check: `halo-triage check` fails on exactly the rule labels that the worker
//! drops before writing (an inactive team, a hidden priority, an inactive ticket type, a
//! disabled agent), and passes the usable ones the worker keeps.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use wiremock::{MockServer, ResponseTemplate};

use crate::common::{binary, fixture_json, halo_env, halo_with, spawn_with, DecisionRow};

/// One rule per label, each matched by its own word in the summary.
const LABELS: [(&str, &str); 8] = [
    ("team", "\"Network\""),
    ("team", "\"Legacy Team\""),
    ("priority_id", "3"),
    ("priority_id", "5"),
    ("tickettype_id", "1"),
    ("tickettype_id", "7"),
    ("agent_id", "4"),
    ("agent_id", "5"),
];

fn rules_file() -> String {
    LABELS
        .iter()
        .enumerate()
        .map(|(i, (field, value))| {
            format!(
                "[[rule]]\nname = \"label-{i}\"\nwhen = {{ field = \"summary\", contains_any = [\"word{i}\"] }}\nset = {{ {field} = {value} }}\n\n"
            )
        })
        .collect()
}

fn answer(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// Halo's lookups: each list holds one usable label and one that may not be used.
async fn halo() -> MockServer {
    halo_with(&[
        (
            "GET",
            "/api/Team",
            answer(json!([
                {"id": 3, "name": "Network", "inactive": false},
                {"id": 9, "name": "Legacy Team", "inactive": true}
            ])),
        ),
        (
            "GET",
            "/api/Priority",
            answer(json!([
                {"priorityid": 3, "slaid": 1, "name": "Medium", "ishidden": false},
                {"priorityid": 5, "slaid": 1, "name": "Internal", "ishidden": true}
            ])),
        ),
        (
            "GET",
            "/api/TicketType",
            answer(json!([
                {"id": 1, "name": "Incident", "inactive": false},
                {"id": 7, "name": "Retired", "inactive": true}
            ])),
        ),
        (
            "GET",
            "/api/Agent",
            answer(json!([
                {"id": 4, "name": "Ann", "isdisabled": false},
                {"id": 5, "name": "Bob", "isdisabled": true}
            ])),
        ),
        (
            "GET",
            "/api/Status",
            answer(json!([{"id": 1, "name": "New"}])),
        ),
        ("GET", "/api/Category", answer(json!([]))),
    ])
    .await
}

/// `field 'value'` as both sides name a label.
fn label(field: &str, value: &str) -> String {
    format!("{field} '{}'", value.trim_matches('"'))
}

#[tokio::test]
async fn check_fails_on_exactly_the_labels_the_worker_drops() {
    let halo = halo().await;
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, rules_file()).unwrap();
    let overlays = dir.path().join("rules.d");

    // The worker, live against the stand-in Halo: one ticket per rule.
    let app = spawn_with(
        Some(&halo),
        &[
            ("RULES__PATH", &rules.display().to_string()),
            ("RULES__OVERLAY_DIR", &overlays.display().to_string()),
        ],
    )
    .await;
    let mut dropped = BTreeSet::new();
    let mut kept = BTreeSet::new();
    for (i, (field, value)) in LABELS.iter().enumerate() {
        let ticket_id = 100 + i as i64;
        let mut delivery = fixture_json("webhook-new-ticket-full.json");
        delivery["id"] = json!(format!("delivery-{i}"));
        delivery["object_id"] = json!(ticket_id);
        delivery["ticket"]["id"] = json!(ticket_id);
        delivery["ticket"]["summary"] = json!(format!("word{i}"));
        assert!(app
            .deliver(delivery.to_string())
            .await
            .status()
            .is_success());
        app.drain().await;
        let DecisionRow { decision, .. } = app.decision(ticket_id).await;
        if decision["fields"].get(*field).is_some() {
            kept.insert(label(field, value));
        } else {
            dropped.insert(label(field, value));
        }
    }

    // `check`, with the same rules and the same Halo.
    let mut command = binary();
    command
        .arg("check")
        .env("HALO_TRIAGE__RULES__PATH", &rules)
        .env("HALO_TRIAGE__RULES__OVERLAY_DIR", &overlays);
    halo_env(&mut command, &halo);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(!output.status.success(), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("FAIL rule labels: "))
        .unwrap_or_else(|| panic!("no failing rule labels line in:\n{stdout}"));
    let failed: BTreeSet<String> = line
        .trim_start_matches("FAIL rule labels: ")
        .split("; ")
        .map(|problem| {
            let (_, named) = problem.split_once(": ").unwrap();
            named
                .trim_end_matches(" does not exist in Halo")
                .to_string()
        })
        .collect();

    let unusable: BTreeSet<String> = [
        ("team", "Legacy Team"),
        ("priority_id", "5"),
        ("tickettype_id", "7"),
        ("agent_id", "5"),
    ]
    .iter()
    .map(|(field, value)| label(field, value))
    .collect();
    assert_eq!(dropped, unusable, "the worker drops the unusable labels");
    assert_eq!(kept.len(), 4, "and keeps the usable ones: {kept:?}");
    assert_eq!(
        failed, dropped,
        "check fails on exactly what the worker drops"
    );
}
