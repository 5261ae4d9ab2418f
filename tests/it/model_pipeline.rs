//! Learned models in the service: rules, then the model, then the LLM for what is still
//! open. Models are trained here with the real `learn` command on a small made-up history
//! of teams, one of which ("Legacy Team") is inactive in the stand-in Halo.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{binary, received, DecisionRow, TestApp};
use crate::llm::{answer, app, halo, llm_requests, office_move, ok};
use wiremock::MockServer;

/// Past tickets and the team a person gave them.
fn history() -> String {
    let mut csv = String::from("Document,Team\n");
    let topics = [
        ("ubiquiti uplink controller flapping", "Network"),
        ("stapler stationery order for reception", "Service Desk"),
        ("telex teleprinter ribbon jammed", "Legacy Team"),
    ];
    for i in 0..60 {
        for (words, team) in topics {
            csv.push_str(&format!("{words} case {i} site {},{team}\n", i % 7));
        }
    }
    csv
}

/// Trains `models/team.model` into `dir` with the real binary.
pub(crate) fn train_team_model(dir: &Path) {
    let data = dir.join("history.csv");
    std::fs::write(&data, history()).unwrap();
    let out = dir.join("models/team.model");
    let output = binary()
        .args([
            "learn",
            "--from",
            data.to_str().unwrap(),
            "--text",
            "Document",
        ])
        .args([
            "--label",
            "Team",
            "--field",
            "team",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn app_with_models(halo: &MockServer, llm: &MockServer, models: &Path) -> TestApp {
    app(
        halo,
        llm,
        &[
            ("MODEL__DIR", models.to_str().unwrap()),
            ("MODEL__FILL_THRESHOLD", "0.8"),
            ("MODEL__WATCH_INTERVAL_SECS", "1"),
        ],
    )
    .await
}

async fn readyz_models(app: &TestApp) -> Value {
    app.readyz().await["models"].clone()
}

#[tokio::test]
async fn the_model_decides_its_field_the_llm_the_rest_and_an_inactive_label_is_never_written() {
    let dir = tempfile::tempdir().unwrap();
    train_team_model(dir.path());
    let (halo, llm) = (
        halo().await,
        crate::llm::llm(ok(&answer("Service Desk", 0.95))).await,
    );
    let app = app_with_models(&halo, &llm, &dir.path().join("models")).await;
    assert_eq!(readyz_models(&app).await["loaded"][0]["field"], "team");

    app.deliver(office_move(
        "a",
        41234,
        "the ubiquiti uplink on the controller keeps flapping",
    ))
    .await;
    app.deliver(office_move(
        "b",
        41235,
        "the telex teleprinter ribbon is jammed again",
    ))
    .await;
    app.drain().await;

    let DecisionRow { decision, .. } = app.decision(41234).await;
    let team = &decision["fields"]["team"];
    assert_eq!(team["value"], "Network");
    assert_eq!(team["source"]["kind"], "model");
    assert!(team["source"]["name"]
        .as_str()
        .unwrap()
        .starts_with("team model trained "));
    assert!(team["confidence"].as_f64().unwrap() >= 0.8, "{team}");
    let reason = team["reason"].as_str().unwrap();
    assert!(
        reason.contains("weighed most: ") && reason.contains("ubiquiti"),
        "{reason}"
    );
    // The LLM is asked about what is still open, and the team is not among it.
    let requests = llm_requests(&llm).await;
    let offered = |request: &Value| {
        request["response_format"]["json_schema"]["schema"]["properties"]["fields"]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert!(
        !offered(&requests[0]).contains(&"team".to_string()),
        "{:?}",
        offered(&requests[0])
    );
    assert!(offered(&requests[0]).contains(&"category_1".to_string()));
    assert_eq!(decision["fields"]["category_1"]["source"]["kind"], "llm");

    // "Legacy Team" is inactive in Halo: the model's answer is not written; the LLM decides.
    let DecisionRow {
        decision, notes, ..
    } = app.decision(41235).await;
    assert!(
        notes.contains(
            &"model: team 'Legacy Team' is not a label in use in Halo: not written".to_string()
        ),
        "{notes:?}"
    );
    assert_eq!(decision["fields"]["team"]["value"], "Service Desk");
    assert_eq!(decision["fields"]["team"]["source"]["kind"], "llm");
    assert!(offered(&requests[1]).contains(&"team".to_string()));
    let updates = received(&halo, "POST", "/api/Tickets").await;
    let teams: Vec<&Value> = updates.iter().map(|u| &u[0]["team"]).collect();
    assert_eq!(teams, [&json!("Network"), &json!("Service Desk")]);
}

#[tokio::test]
async fn models_are_picked_up_while_serving_and_a_damaged_file_fails_no_job() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("live-models");
    std::fs::create_dir_all(&models).unwrap();
    let (halo, llm) = (
        halo().await,
        crate::llm::llm(ok(&answer("Service Desk", 0.95))).await,
    );
    let app = app_with_models(&halo, &llm, &models).await;
    assert_eq!(readyz_models(&app).await["loaded"], json!([]));

    // A damaged file (one byte changed): refused by name, the job decided without it.
    train_team_model(dir.path());
    let mut damaged = std::fs::read(dir.path().join("models/team.model")).unwrap();
    let last = damaged.len() - 1;
    damaged[last] ^= 0x55;
    std::fs::write(models.join("category_1.model"), damaged).unwrap();
    std::fs::rename(
        dir.path().join("models/team.model"),
        models.join("team.model"),
    )
    .unwrap();
    let mut status = Value::Null;
    for _ in 0..100 {
        status = readyz_models(&app).await;
        if status["loaded"].as_array().is_some_and(|l| !l.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status["loaded"][0]["field"], "team", "{status}");
    let error = status["errors"][0].as_str().unwrap();
    assert!(
        error.contains("category_1.model is damaged: its checksum does not match"),
        "{error}"
    );

    app.deliver(office_move(
        "a",
        41234,
        "ubiquiti uplink flapping on the controller",
    ))
    .await;
    let reports = app.drain().await;
    assert_eq!(reports[0].outcome, halo_triage::JobOutcome::Done);
    let DecisionRow { decision, .. } = app.decision(41234).await;
    assert_eq!(decision["fields"]["team"]["source"]["kind"], "model");
}

#[test]
fn classify_shows_what_the_model_decided() {
    let dir = tempfile::tempdir().unwrap();
    train_team_model(dir.path());
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[labels]\nteams = [\"Service Desk\", \"Network\"]\n",
    )
    .unwrap();
    let ticket = dir.path().join("ticket.json");
    let mut body = crate::common::fixture_json("ticket.json");
    body["summary"] = json!("ubiquiti uplink flapping");
    body["details"] = json!("the controller says the uplink keeps flapping");
    body["team"] = json!("");
    std::fs::write(&ticket, body.to_string()).unwrap();
    let output = binary()
        .args(["classify", ticket.to_str().unwrap()])
        .env("HALO_TRIAGE__RULES__PATH", &rules)
        .env("HALO_TRIAGE__RULES__OVERLAY_DIR", dir.path().join("none"))
        .env("HALO_TRIAGE__MODEL__DIR", dir.path().join("models"))
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("team = Network (the model chose 'Network' with confidence"),
        "{stdout}"
    );
}
