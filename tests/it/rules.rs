//! Rules as an operator meets them: the shipped example and its cases, the schema file,
//! the `rules` commands, and live reload (file change and SIGHUP) that never drops work.

use std::path::Path;
use std::process::Command;

use crate::common::{binary, fixture_json, shipped, spawn_with, DecisionRow};
use halo_triage::schema_json;
use halo_triage::RuleSet;
use serde_json::{json, Value};

#[test]
fn the_shipped_rules_pass_their_cases() {
    let rules = RuleSet::load(
        Path::new(&shipped("config/rules.toml")),
        Some(Path::new(&shipped("config/rules.d"))),
    )
    .unwrap();
    assert!(rules.len() >= 25, "{} rules", rules.len());
    let report = rules
        .run_cases(
            Path::new(&shipped("config/rules.cases.toml")),
            jiff::Timestamp::now(),
        )
        .unwrap();
    assert!(report.cases >= 25);
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
}

#[test]
fn the_committed_schema_is_the_generated_one() {
    let committed = std::fs::read_to_string(shipped("config/rules.schema.json")).unwrap();
    assert_eq!(
        committed.trim(),
        schema_json().trim(),
        "run `cargo run -- rules schema > config/rules.schema.json`"
    );
    let schema: Value = serde_json::from_str(&committed).unwrap();
    assert!(schema["$defs"]["ConditionSpec"]["properties"]["contains_any"].is_object());
}

#[test]
fn rules_test_reports_each_failure_with_the_deciding_rule() {
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases.toml");
    std::fs::write(
        &cases,
        r#"
[[case]]
name = "printer to the wrong team"
ticket = { summary = "Printer jammed", details = "" }
expect = { team = "Network", category_1 = "Hardware" }

[[case]]
name = "password"
ticket = { summary = "Forgot my password", details = "" }
expect = { category_2 = "Password / MFA" }
"#,
    )
    .unwrap();
    let output = binary()
        .args(["rules", "test"])
        .arg(&cases)
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(!output.status.success());
    assert!(
        stdout.contains("FAIL case 'printer to the wrong team': team: expected 'Network', got 'Service Desk' (decided by rule 'printer')"),
        "{stdout}"
    );
    assert!(stdout.contains("1 passed, 1 failed"), "{stdout}");

    let output = binary()
        .args(["rules", "test", "config/rules.cases.toml"])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8(output.stdout)
        .unwrap()
        .contains(" passed, 0 failed"));
}

#[test]
fn rules_explain_lists_every_rule_and_the_trace() {
    let output = binary()
        .args(["rules", "explain", "tests/fixtures/ticket.json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success());
    for expected in [
        "[  10] auto-replies (config/rules.toml:51): no match",
        "[  50] password-and-lockout (config/rules.toml:168): MATCHED",
        "[  45] globex-printers-onsite (config/rules.d/globex.toml:7): no match",
        "    category_1: lost to rule 'password-and-lockout', which set it first",
        "  team = Service Desk (rule 'password-and-lockout' matched: the text contains 'password')",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
}

const GOOD: &str = r#"
[[rule]]
name = "printers-v1"
when = { field = "text", contains_any = ["printer"] }
set = { team = "Field" }
"#;

const NEWER: &str = r#"
[[rule]]
name = "printers-v2"
when = { field = "text", contains_any = ["printer"] }
set = { team = "Print Team" }
"#;

fn printer_delivery(id: &str, ticket_id: i64) -> String {
    let mut delivery = fixture_json("webhook-new-ticket-full.json");
    delivery["id"] = json!(id);
    delivery["object_id"] = json!(ticket_id);
    delivery["ticket"]["id"] = json!(ticket_id);
    delivery["ticket"]["summary"] = json!("Printer jammed");
    delivery.to_string()
}

#[tokio::test]
async fn a_broken_rules_file_keeps_the_old_rules_and_a_good_one_takes_over() {
    let dir = tempfile::tempdir().unwrap();
    let rules_path = dir.path().join("rules.toml");
    std::fs::write(&rules_path, GOOD).unwrap();
    let path = rules_path.display().to_string();
    let overlays = dir.path().join("none").display().to_string();
    let app = spawn_with(
        None,
        &[("RULES__PATH", &path), ("RULES__OVERLAY_DIR", &overlays)],
    )
    .await;
    let rules = app.rules.clone();

    // A delivery waits in the queue while the file is broken and "reloaded".
    app.deliver(printer_delivery("a", 1)).await;
    std::fs::write(&rules_path, "[[rule]]\nname = \"x\"\nset = { team = 5 }\n").unwrap();
    rules.reload_if_changed();
    let status = rules.status();
    assert_eq!(status.rules, 1, "the old rules stay in force");
    assert!(status
        .error
        .as_deref()
        .unwrap()
        .contains("rules.toml:3:16: team must be non-empty text"));
    let ready = app.readyz().await;
    assert_eq!(ready["status"], "ready");
    assert!(ready["rules"]["error"]
        .as_str()
        .unwrap()
        .contains("team must be non-empty text"));

    assert_eq!(
        app.drain().await.len(),
        1,
        "the queued job ran once, on the old rules"
    );
    let DecisionRow { decision, .. } = app.decision(1).await;
    assert_eq!(decision["fields"]["team"]["value"], "Field");

    std::fs::write(&rules_path, NEWER).unwrap();
    rules.reload_if_changed();
    assert_eq!(rules.status().error, None);
    app.deliver(printer_delivery("b", 2)).await;
    assert_eq!(app.drain().await.len(), 1);
    let DecisionRow { decision, .. } = app.decision(2).await;
    assert_eq!(decision["fields"]["team"]["value"], "Print Team");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE status = 'done'")
            .await,
        2
    );
}

#[test]
fn sighup_reloads_the_rules_of_a_running_service() {
    let dir = tempfile::tempdir().unwrap();
    let rules_path = dir.path().join("rules.toml");
    std::fs::write(&rules_path, GOOD).unwrap();
    let mut child = binary()
        .arg("serve")
        .env("HALO_TRIAGE__WEBHOOK__TOKEN", crate::common::TOKEN)
        .env("HALO_TRIAGE__SERVER__LISTEN", "127.0.0.1:0")
        .env("HALO_TRIAGE__STORE__PATH", dir.path().join("db.sqlite"))
        .env("HALO_TRIAGE__RULES__PATH", &rules_path)
        .env("HALO_TRIAGE__RULES__OVERLAY_DIR", dir.path().join("none"))
        .env("HALO_TRIAGE__RULES__WATCH_INTERVAL_SECS", "0")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut sent = false;
    let mut reloaded = String::new();
    for line in std::io::BufRead::lines(stderr).map_while(Result::ok) {
        if line.contains("halo-triage listening") && !sent {
            std::fs::write(&rules_path, format!("{GOOD}\n{NEWER}")).unwrap();
            let pid = child.id().to_string();
            assert!(Command::new("kill")
                .args(["-HUP", &pid])
                .status()
                .unwrap()
                .success());
            sent = true;
        }
        if line.contains("rules reloaded") {
            reloaded = line;
            // Stop the service, and keep reading its log until it exits.
            let pid = child.id().to_string();
            Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        }
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "{status} after {reloaded:?}");
    assert!(reloaded.contains("\"rules\":2"), "{reloaded}");
    assert!(sent);
}
