//! How the LLM client copes with the ways OpenAI-compatible servers differ and fail, on a
//! stand-in that answers as each real server does: llama-cpp-python's 500 for a
//! `json_schema` it does not take, LiteLLM's 400 with kilobytes of body, rate limits.

use serde_json::{json, Value};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{binary, received, DecisionRow};
use crate::llm::{answer, app, halo, llm_requests, office_move, ok};
use halo_triage::JobOutcome;

/// llama-cpp-python's answer to `"response_format": {"type": "json_schema", …}`.
fn llama_cpp_python_refusal() -> ResponseTemplate {
    ResponseTemplate::new(500).set_body_json(json!({"error": {
        "message": "[{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), \
                    'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}]",
        "type": "internal_server_error"}}))
}

/// A server that refuses schema requests and answers JSON-mode ones.
async fn schema_refusing_llm() -> MockServer {
    let llm = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_string_contains(r#""type":"json_schema""#))
        .respond_with(llama_cpp_python_refusal())
        .with_priority(1)
        .mount(&llm)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ok(&answer("Network", 0.9)))
        .mount(&llm)
        .await;
    llm
}

fn format_of(request: &Value) -> &str {
    request["response_format"]["type"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_server_that_refuses_json_schema_gets_json_mode_with_the_labels_and_it_is_kept() {
    let (halo, llm) = (halo().await, schema_refusing_llm().await);
    let app = app(&halo, &llm, &[]).await;
    app.deliver(office_move("a", 41234, "Desks")).await;
    app.deliver(office_move("b", 41235, "Chairs")).await;
    let reports = app.drain().await;
    assert!(reports.iter().all(|r| r.outcome == JobOutcome::Done));

    let requests = llm_requests(&llm).await;
    let formats: Vec<&str> = requests.iter().map(format_of).collect();
    // The refused request is not retried; the next ticket goes straight to JSON mode.
    assert_eq!(formats, ["json_schema", "json_object", "json_object"]);
    let instructions = requests[1]["messages"][0]["content"].as_str().unwrap();
    assert!(
        instructions.contains("Allowed labels per field:"),
        "{instructions}"
    );
    assert!(instructions.contains("- team: "), "{instructions}");
    assert!(
        instructions.contains("Answer shape: {\"rationale\""),
        "{instructions}"
    );
    for ticket in [41234, 41235] {
        let DecisionRow { decision, .. } = app.decision(ticket).await;
        assert_eq!(decision["fields"]["team"]["value"], "Network", "{ticket}");
        assert_eq!(
            decision["fields"]["team"]["source"]["kind"], "llm",
            "{ticket}"
        );
    }
    let updates = received(&halo, "POST", "/api/Tickets").await;
    assert!(
        updates.iter().all(|u| u[0]["team"] == "Network"),
        "{updates:?}"
    );
}

#[tokio::test]
async fn a_rejected_request_is_not_retried_and_its_long_body_is_cut() {
    let halo = halo().await;
    let llm = MockServer::start().await;
    // LiteLLM copies the request back into its error: kilobytes of it.
    let echoed = format!(
        "/chat/completions: Invalid model name passed in model=gpt-4o-mini. {}",
        "{\"enum\": [\"Network\", \"Service Desk\", null]} ".repeat(60)
    );
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error": {"message": echoed, "type": "invalid_request_error", "code": "400"}}),
        ))
        .mount(&llm)
        .await;
    let app = app(&halo, &llm, &[("LLM__MAX_RETRIES", "3")]).await;
    app.deliver(office_move("a", 41234, "Desks")).await;
    app.deliver(office_move("b", 41235, "Chairs")).await;
    app.drain().await;

    let formats: Vec<String> = llm_requests(&llm)
        .await
        .iter()
        .map(|r| format_of(r).to_string())
        .collect();
    // Per ticket: the request, and one in JSON mode to tell whether the schema was the
    // cause. It was not, so the second ticket asks with the schema again; no retries.
    assert_eq!(
        formats,
        ["json_schema", "json_object", "json_schema", "json_object"]
    );
    let DecisionRow {
        decision, notes, ..
    } = app.decision(41234).await;
    assert_eq!(decision["fields"]["team"]["value"], "Service Desk");
    let note = notes
        .iter()
        .find(|n| n.starts_with("LLM unavailable, rules only: the LLM server rejected the request: HTTP 400: /chat/completions: Invalid model name"))
        .unwrap_or_else(|| panic!("{notes:?}"));
    assert!(note.len() < 500, "{} bytes: {note}", note.len());
    assert!(note.contains("bytes in all)"), "{note}");
    let stored = decision["llm_call"]["error"].as_str().unwrap();
    assert!(stored.len() < 500, "{stored}");
}

#[tokio::test]
async fn a_bad_key_is_asked_once() {
    let halo = halo().await;
    let llm = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}}),
        ))
        .mount(&llm)
        .await;
    let app = app(&halo, &llm, &[("LLM__MAX_RETRIES", "3")]).await;
    app.deliver(office_move("a", 41234, "Desks")).await;
    app.drain().await;
    assert_eq!(llm_requests(&llm).await.len(), 1);
    let DecisionRow { notes, .. } = app.decision(41234).await;
    assert!(
        notes.contains(&"LLM unavailable, rules only: the LLM server rejected the request: HTTP 401: Incorrect API key provided".to_string()),
        "{notes:?}"
    );
}

#[tokio::test]
async fn a_rate_limit_costs_a_ticket_no_more_than_the_total_limit() {
    let halo = halo().await;
    let llm = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(429).set_body_json(
            json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}),
        ))
        .mount(&llm)
        .await;
    // Retries with backoff (0.5 s, 1 s, 2 s …) would take far longer than the limit.
    let app = app(
        &halo,
        &llm,
        &[("LLM__MAX_RETRIES", "20"), ("LLM__MAX_TOTAL_SECS", "2")],
    )
    .await;
    app.deliver(office_move("a", 41234, "Desks")).await;
    assert_eq!(app.drain().await[0].outcome, JobOutcome::Done);
    let asked = llm_requests(&llm).await.len();
    assert!((2..=4).contains(&asked), "{asked} requests");
    let DecisionRow { notes, .. } = app.decision(41234).await;
    assert!(
        notes.contains(
            &"LLM unavailable, rules only: the LLM took longer than llm.max_total_secs (2 s)"
                .to_string()
        ),
        "{notes:?}"
    );
}

/// `check` with the LLM at `base_url` enabled, and no Halo credentials.
async fn check_llm(base_url: String) -> (bool, String) {
    let mut command = binary();
    command
        .arg("check")
        .env("HALO_TRIAGE__WEBHOOK__TOKEN", crate::common::TOKEN)
        .env("HALO_TRIAGE__LLM__ENABLED", "true")
        .env("HALO_TRIAGE__LLM__MAX_RETRIES", "0")
        .env("HALO_TRIAGE__LLM__BASE_URL", base_url)
        .env("HALO_TRIAGE__LLM__API_KEY", "sk-test-key-0123456789");
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

async fn mount_models(llm: &MockServer, ids: &[&str]) {
    let data: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id, "object": "model"}))
        .collect();
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"object": "list", "data": data})),
        )
        .mount(llm)
        .await;
}

#[tokio::test]
async fn check_reports_the_model_and_the_fallback_in_use() {
    let llm = schema_refusing_llm().await;
    mount_models(&llm, &["gpt-4o-mini", "llama3"]).await;
    let (ok, stdout) = check_llm(format!("{}/v1", llm.uri())).await;
    assert!(ok, "{stdout}");
    for expected in [
        "PASS llm model: 'gpt-4o-mini' is listed by the server",
        "PASS llm request: ",
        "PASS llm response format: json_schema refused by the server: the json_object fallback is in use",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in:\n{stdout}");
    }
    let requests = llm_requests(&llm).await;
    assert_eq!(
        requests.len(),
        2,
        "one tiny request, then its JSON-mode twin"
    );
}

#[tokio::test]
async fn check_fails_on_an_unknown_model_and_an_unreachable_server() {
    let llm = MockServer::start().await;
    mount_models(&llm, &["llama3"]).await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ok(&answer("Network", 0.9)))
        .mount(&llm)
        .await;
    let (ok, stdout) = check_llm(format!("{}/v1", llm.uri())).await;
    assert!(!ok, "{stdout}");
    assert!(
        stdout.contains("FAIL llm model: 'gpt-4o-mini' is not in the server's model list"),
        "{stdout}"
    );
    assert!(
        stdout.contains("PASS llm response format: json_schema accepted"),
        "{stdout}"
    );

    // A port nothing listens on (wiremock keeps its servers alive in a pool).
    let address = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (ok, stdout) = check_llm(format!("http://{address}/v1")).await;
    assert!(!ok, "{stdout}");
    assert!(
        stdout.contains("FAIL llm request: ") && stdout.contains("cannot connect"),
        "{stdout}"
    );
}
