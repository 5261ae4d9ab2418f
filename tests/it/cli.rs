//! The real binary: serve with a background worker, classify and check.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{binary, fixture, fixture_json, halo_env, mount_halo, shipped, Served, TOKEN};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn run(command: &mut Command) -> (bool, String, String) {
    let output = command.output().unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn classify_explains_the_decision_without_halo() {
    let file = shipped("tests/fixtures/ticket.json");
    let (ok, stdout, stderr) = run(binary().args(["classify", &file]));
    assert!(ok, "{stderr}");
    for expected in [
        "ticket 41234: Outlook keeps asking for my password",
                "matched rules: password-and-lockout, email",
        "sentiment: neutral (+0.00, lexicon)",
        "  team = Service Desk (rule 'password-and-lockout' matched: the text contains 'password')",
        "  priority_id = 3 (rule 'password-and-lockout' matched: the text contains 'password')",
        r#"ticket update (POST /api/Tickets): [{"id":41234,"team":"Service Desk","category_1":"Accounts","category_2":"Password / MFA"}]"#,
        "acknowledgement: to jane.doe@globex.example with subject '[ID:41234] We have received your request: Outlook keeps asking for my password'",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in:\n{stdout}");
    }
}

#[test]
fn classify_reads_a_webhook_delivery_from_stdin() {
    let mut child = binary()
        .args(["classify", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut delivery = fixture_json("webhook-new-ticket-full.json");
    delivery["ticket"]["summary"] = json!("Printer on floor 2 offline");
    delivery["ticket"]["details"] = json!("Nobody can print.");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(delivery.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success());
    assert!(
        stdout.contains("matched rules: globex-printers-onsite, printer"),
        "{stdout}"
    );
}

#[test]
fn classify_refuses_input_that_is_not_a_ticket() {
    let (ok, _, stderr) = run(binary().args(["classify", "-"]).stdin(Stdio::null()));
    assert!(!ok);
    assert!(
        stderr.contains("the input is not a ticket: not JSON"),
        "{stderr}"
    );
    let (ok, _, stderr) = run(binary().args(["classify", "/nonexistent.json"]));
    assert!(!ok);
    assert!(stderr.contains("reading /nonexistent.json"), "{stderr}");
}

#[test]
fn check_without_credentials_validates_config_and_rules() {
    let (ok, stdout, _) = run(binary()
        .arg("check")
        .env("HALO_TRIAGE__WEBHOOK__TOKEN", TOKEN));
    assert!(ok, "{stdout}");
    assert!(stdout.contains("PASS config: loaded and valid"));
    assert!(
        stdout.contains("PASS rules: 27 rules in config/rules.toml, config/rules.d/globex.toml"),
        "{stdout}"
    );
    assert!(stdout.contains("SKIP halo: no credentials set"), "{stdout}");
    assert!(stdout.contains("PASS mode: shadow"), "{stdout}");
}

#[test]
fn check_fails_when_live_mode_has_no_credentials() {
    let (ok, stdout, _) = run(binary()
        .arg("check")
        .env("HALO_TRIAGE__WEBHOOK__TOKEN", TOKEN)
        .env("HALO_TRIAGE__MODE", "live"));
    assert!(!ok, "{stdout}");
    assert!(
        stdout.contains("FAIL mode: mode = \"live\" but the Halo credentials"),
        "{stdout}"
    );
    assert!(stdout.contains("SKIP halo: no credentials set"), "{stdout}");
}

#[test]
fn check_fails_without_webhook_auth_or_with_broken_rules() {
    let (ok, stdout, _) = run(binary().arg("check"));
    assert!(!ok);
    assert!(
        stdout.contains("FAIL webhook auth: config key `webhook.allow_unauthenticated`"),
        "{stdout}"
    );

    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nname = \"x\"\nset = { tean = \"Network\" }\n",
    )
    .unwrap();
    let (ok, stdout, _) = run(binary()
        .arg("check")
        .env("HALO_TRIAGE__WEBHOOK__TOKEN", TOKEN)
        .env("HALO_TRIAGE__RULES__PATH", &rules));
    assert!(!ok);
    assert!(
        stdout.contains("rules.toml:3:9: unknown variant `tean`, expected one of `team`"),
        "{stdout}"
    );
}

async fn mount_lookups(halo: &MockServer) {
    for route in [
        "/api/Agent",
        "/api/Category",
        "/api/TicketType",
        "/api/Status",
    ] {
        Mock::given(method("GET"))
            .and(path(route))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!([{"id": 1, "name": "one"}])),
            )
            .mount(halo)
            .await;
    }
}

/// Runs `check` against the stand-in Halo; `extra` are more environment variables.
async fn check_against(halo: &MockServer, extra: &[(&str, &str)]) -> (bool, String) {
    let mut command = binary();
    command.arg("check");
    halo_env(&mut command, halo);
    command.envs(extra.iter().copied());
    let (ok, stdout, _) = tokio::task::spawn_blocking(move || run(&mut command))
        .await
        .unwrap();
    (ok, stdout)
}

#[tokio::test]
async fn check_with_credentials_proves_the_halo_connection() {
    let halo = MockServer::start().await;
    mount_lookups(&halo).await;
    mount_halo(&halo).await;
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[defaults]\nteam = \"Service Desk\"\npriority_id = 3\n\n[[rule]]\nname = \"net\"\nset = { team = \"network\", tickettype_id = 1 }\n",
    )
    .unwrap();
    let rules = rules.display().to_string();
    let overlays = dir.path().join("rules.d").display().to_string();
    let (ok, stdout) = check_against(
        &halo,
        &[
            ("HALO_TRIAGE__RULES__PATH", &rules),
            ("HALO_TRIAGE__RULES__OVERLAY_DIR", &overlays),
        ],
    )
    .await;
    assert!(ok, "{stdout}");
    for expected in [
        "PASS token: obtained",
        "PASS agents: 1 loaded",
        "PASS teams: 3 loaded",
        "PASS priorities: 4 loaded",
        "PASS rule labels: 4 labels exist in Halo",
        "PASS ack outcome: 21 = 'Email User' (sends email: true)",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
}

#[tokio::test]
async fn check_names_the_rules_that_use_labels_halo_does_not_have() {
    let halo = MockServer::start().await;
    mount_lookups(&halo).await;
    mount_halo(&halo).await;
    let (ok, stdout) = check_against(&halo, &[]).await;
    assert!(!ok);
    assert!(
        stdout.contains(
            "FAIL rule labels: config/rules.toml:51: team 'Noise' does not exist in Halo;"
        ),
        "{stdout}"
    );
    assert!(
        !stdout.contains("'Service Desk' does not exist"),
        "{stdout}"
    );
}

#[tokio::test]
async fn check_explains_refused_credentials() {
    let halo = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})))
        .mount(&halo)
        .await;
    let (ok, stdout) = check_against(&halo, &[]).await;
    assert!(!ok);
    assert!(stdout.contains("FAIL token: POST /auth/token: Halo answered 401: invalid_client (hint: check halo.client_id"), "{stdout}");
    assert!(
        !stdout.contains("agents"),
        "nothing else is tried without a token: {stdout}"
    );
}

#[tokio::test]
async fn check_explains_a_permission_problem() {
    let halo = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/Agent"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"Message": "Access denied"})))
        .mount(&halo)
        .await;
    mount_halo(&halo).await;
    let (ok, stdout) = check_against(&halo, &[]).await;
    assert!(!ok);
    assert!(stdout.contains("FAIL agents: GET /api/Agent: Halo answered 403: Access denied (hint: the API application or the agent it logs in as lacks a permission"), "{stdout}");
}

/// A `serve` process, its address (read from its JSON log) and its log lines.
/// `serve` on the shipped defaults (shadow mode): a webhook becomes a recorded decision
/// through the background worker, and SIGTERM stops the service cleanly.
#[tokio::test]
async fn serve_triages_in_the_background_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("serve.db");
    let served = Served::start(
        binary()
            .env("HALO_TRIAGE__WEBHOOK__TOKEN", TOKEN)
            .env("HALO_TRIAGE__SERVER__LISTEN", "127.0.0.1:0")
            .env("HALO_TRIAGE__STORE__PATH", &db),
    );
    let response = served
        .deliver(fixture("webhook-new-ticket-full.json"))
        .await;
    assert_eq!(response.status(), 202);

    let store = halo_triage::Store::open(&db).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let of_the_ticket = halo_triage::DecisionFilter {
        ticket_id: Some(41234),
        limit: 20,
        ..Default::default()
    };
    while store
        .find_decisions(&of_the_ticket)
        .await
        .unwrap()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "no decision recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let decision = &store.find_decisions(&of_the_ticket).await.unwrap()[0];
    assert_eq!(decision.mode, "shadow");
    let ready: Value = reqwest::get(format!("http://{}/readyz", served.addr))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["worker"], "ok");
    let port = served.addr.rsplit(':').next().unwrap().to_string();
    let mut probe = binary();
    probe
        .arg("health")
        .env("HALO_TRIAGE__SERVER__LISTEN", format!("127.0.0.1:{port}"));
    let (healthy, stdout, _) = tokio::task::spawn_blocking(move || run(&mut probe))
        .await
        .unwrap();
    assert!(healthy, "{stdout}");
    assert!(stdout.contains("\"status\":\"ready\""), "{stdout}");

    let logs = served.stop().await;
    assert!(logs.contains("SHADOW MODE"), "{logs}");
    assert!(!logs.contains(TOKEN), "the webhook token was logged");
}

#[tokio::test]
async fn check_lists_the_email_outcomes_when_the_ack_outcome_is_wrong() {
    let halo = MockServer::start().await;
    mount_lookups(&halo).await;
    mount_halo(&halo).await;
    let (ok, stdout) = check_against(&halo, &[("HALO_TRIAGE__ACK__OUTCOME_ID", "99")]).await;
    assert!(!ok);
    assert!(
        stdout.contains("FAIL ack outcome: ack.outcome_id = 99 is not an outcome; outcomes that send email: 21 = Email User"),
        "{stdout}"
    );
}

#[test]
fn a_missing_config_file_is_an_error_naming_it() {
    let (ok, _, stderr) = run(binary().args(["--config", "/nonexistent/halo.toml", "serve"]));
    assert!(!ok);
    assert!(stderr.contains("/nonexistent/halo.toml"), "{stderr}");
}

/// Live mode through the real binary: the ticket is updated and acknowledged, and no
/// secret (webhook token, client secret, access token) appears in the logs.
#[tokio::test]
async fn live_serve_never_logs_secrets() {
    let halo = MockServer::start().await;
    mount_halo(&halo).await;
    let dir = tempfile::tempdir().unwrap();
    let mut command = binary();
    command
        .env("HALO_TRIAGE__MODE", "live")
        .env("HALO_TRIAGE__SERVER__LISTEN", "127.0.0.1:0")
        .env("HALO_TRIAGE__STORE__PATH", dir.path().join("live.db"))
        .env(
            "HALO_TRIAGE__ADMIN__TOKEN",
            "admin-secret-for-the-logs-0123",
        )
        // An LLM that cannot be reached: the call fails, its key must not show.
        .env("HALO_TRIAGE__LLM__ENABLED", "true")
        .env("HALO_TRIAGE__LLM__BASE_URL", "http://127.0.0.1:9/v1")
        .env("HALO_TRIAGE__LLM__API_KEY", "sk-llm-secret-for-logs")
        .env("RUST_LOG", "debug");
    halo_env(&mut command, &halo);
    let served = Served::start(&mut command);
    let response = served
        .deliver(fixture("webhook-new-ticket-full.json"))
        .await;
    assert_eq!(response.status(), 202);
    let deadline = Instant::now() + Duration::from_secs(30);
    while crate::common::received(&halo, "POST", "/api/Actions")
        .await
        .is_empty()
    {
        assert!(Instant::now() < deadline, "no acknowledgement posted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let logs = served.stop().await;
    assert!(logs.contains("acknowledgement sent"), "{logs}");
    for secret in [
        TOKEN,
        "triage-secret",
        "eyJhbGciOi",
        "admin-secret-for-the-logs-0123",
    ] {
        assert!(!logs.contains(secret), "{secret} was logged:\n{logs}");
    }
}

/// A closed log pipe (the reader went away) must not bring the service down.
#[tokio::test]
async fn serve_survives_its_log_pipe_closing() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = binary()
        .arg("serve")
        .env("HALO_TRIAGE__WEBHOOK__TOKEN", TOKEN)
        .env("HALO_TRIAGE__SERVER__LISTEN", "127.0.0.1:0")
        .env("HALO_TRIAGE__STORE__PATH", dir.path().join("pipe.db"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut addr = None;
    {
        let stderr = BufReader::new(child.stderr.take().unwrap());
        for line in stderr.lines().map_while(Result::ok) {
            if let Ok(entry) = serde_json::from_str::<Value>(&line) {
                if let Some(found) = entry["fields"]["addr"].as_str() {
                    addr = Some(found.to_string());
                    break;
                }
            }
        }
        // The reader is dropped here: the pipe closes.
    }
    let addr = addr.expect("the service starts");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    for _ in 0..3 {
        let response = http
            .post(format!("http://{addr}/hooks/halo"))
            .bearer_auth(TOKEN)
            .body(fixture("webhook-new-ticket-full.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(child.try_wait().unwrap().is_none(), "the service exited");
    let health = http
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn the_halo_command_sends_one_authenticated_request_and_prints_the_answer() {
    let halo = MockServer::start().await;
    mount_halo(&halo).await;
    let halo_command = |args: &[&str]| {
        let mut command = binary();
        halo_env(&mut command, &halo);
        run(command.arg("halo").args(args))
    };
    let (ok, stdout, stderr) = halo_command(&["GET", "/api/Outcome?includeinactive=false"]);
    assert!(ok, "{stderr}");
    let printed: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(printed, fixture_json("outcome-list.json"));
    let requests = halo.received_requests().await.unwrap();
    let outcome = requests
        .iter()
        .find(|r| r.url.path() == "/api/Outcome")
        .unwrap();
    assert_eq!(outcome.url.query(), Some("includeinactive=false"));
    assert!(outcome.headers.get("authorization").is_some());

    let update = r#"[{"id":41234,"team":"Network"}]"#;
    let (ok, _, stderr) = halo_command(&["post", "Tickets", "--data", update]);
    assert!(ok, "{stderr}");
    assert_eq!(
        crate::common::received(&halo, "POST", "/api/Tickets").await,
        vec![serde_json::from_str::<Value>(update).unwrap()]
    );

    let (ok, _, stderr) = halo_command(&["GET", "/api/Nothing"]);
    assert!(!ok);
    assert!(
        stderr.contains("GET /api/Nothing: Halo answered 404"),
        "{stderr}"
    );
    let (ok, _, stderr) = halo_command(&["FETCH", "/api/Outcome"]);
    assert!(!ok);
    assert!(stderr.contains("'FETCH' is not an HTTP method"), "{stderr}");
    let (ok, _, stderr) = halo_command(&["POST", "/api/Tickets", "--data", "{oops"]);
    assert!(!ok);
    assert!(stderr.contains("--data is not valid JSON"), "{stderr}");
    let (ok, _, stderr) = run(binary().args(["halo", "GET", "/api/Outcome"]));
    assert!(!ok);
    assert!(stderr.contains("no Halo credentials"), "{stderr}");
}
