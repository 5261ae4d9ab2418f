//! Against a real OpenAI-compatible server someone else wrote: the LiteLLM proxy, on
//! loopback, with models that answer from `mock_response` (no upstream is called). The
//! worker and `classify` go through it: the strict `json_schema` request is accepted, and
//! an invented label, garbage and a rate limit are each handled as docs/llm.md says.
//!
//! The proxy comes from PyPI (`pip install 'litellm[proxy]'`); `.ci/run` installs it and
//! sets `HALO_TRIAGE_LITELLM` to its `litellm` program. Without it the test says so and
//! passes, except under CI (`HALO_TRIAGE_CI` set), where it fails.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{binary, fixture_json, received, DecisionRow, TOKEN};
use crate::llm::{answer, app_at, halo, office_move};
use halo_triage::JobOutcome;

const MASTER_KEY: &str = "sk-halo-triage-litellm-test-0123456789";

/// The proxy; killed when the test ends.
struct Proxy {
    child: Child,
    base_url: String,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `litellm` program: `HALO_TRIAGE_LITELLM`, else on the PATH.
fn litellm_program() -> Option<String> {
    if let Ok(program) = std::env::var("HALO_TRIAGE_LITELLM") {
        return Some(program);
    }
    let found = Command::new("litellm")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    found.is_ok_and(|s| s.success()).then(|| "litellm".into())
}

/// A model that answers `content` whatever it is asked (LiteLLM's `mock_response`; the
/// string `litellm.RateLimitError` makes it answer 429).
fn mock_model(name: &str, content: &str) -> Value {
    json!({"model_name": name, "litellm_params": {
        "model": "openai/gpt-4o-mini", "api_key": "unused", "mock_response": content}})
}

async fn start_proxy(program: &str, dir: &std::path::Path) -> Proxy {
    let invented = answer("Moon Base Operations", 0.95);
    let config = json!({
        "model_list": [
            mock_model("triage-good", &answer("Network", 0.9)),
            mock_model("triage-invented", &invented),
            mock_model("triage-garbage", "Sure! I think the team is probably Network."),
            mock_model("triage-429", "litellm.RateLimitError"),
        ],
        "litellm_settings": {"num_retries": 0},
    });
    // JSON is YAML: LiteLLM reads it as its config file.
    let path = dir.join("litellm.yaml");
    std::fs::write(&path, config.to_string()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::fs::File::create(dir.join("litellm.log")).unwrap();
    let child = Command::new(program)
        .args(["--config", path.to_str().unwrap(), "--host", "127.0.0.1"])
        .args(["--port", &port.to_string(), "--num_workers", "1"])
        .env("LITELLM_MASTER_KEY", MASTER_KEY)
        // The model price list ships with the package; never fetch it.
        .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        .env("LITELLM_TELEMETRY", "False")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {program}: {e}"));
    let mut proxy = Proxy {
        child,
        base_url: format!("http://127.0.0.1:{port}/v1"),
    };
    let http = reqwest::Client::new();
    let started = Instant::now();
    // Bounded: LiteLLM imports for 10-60 s on a cold machine.
    while started.elapsed() < Duration::from_secs(180) {
        let ready = http
            .get(format!("http://127.0.0.1:{port}/health/liveliness"))
            .send()
            .await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            return proxy;
        }
        if let Ok(Some(status)) = proxy.child.try_wait() {
            let log = std::fs::read_to_string(dir.join("litellm.log")).unwrap_or_default();
            panic!("LiteLLM exited ({status}):\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let log = std::fs::read_to_string(dir.join("litellm.log")).unwrap_or_default();
    panic!("LiteLLM did not answer within 180 s:\n{log}");
}

/// Triages one office-move ticket through the proxy's `model`; its decision and notes.
async fn triage_with(proxy: &Proxy, model: &str, ticket_id: i64) -> (DecisionRow, Vec<Value>) {
    let halo = halo().await;
    let app = app_at(
        &halo,
        &proxy.base_url,
        MASTER_KEY,
        &[("LLM__MODEL", model), ("LLM__TIMEOUT_SECS", "20")],
    )
    .await;
    app.deliver(office_move("a", ticket_id, "Desks")).await;
    assert_eq!(app.drain().await[0].outcome, JobOutcome::Done, "{model}");
    let updates = received(&halo, "POST", "/api/Tickets").await;
    assert_eq!(
        received(&halo, "POST", "/api/Actions").await.len(),
        1,
        "{model}: acknowledged whatever the LLM did"
    );
    (app.decision(ticket_id).await, updates)
}

fn note_starting<'a>(notes: &'a [String], start: &str) -> &'a str {
    notes
        .iter()
        .find(|n| n.starts_with(start))
        .unwrap_or_else(|| panic!("no note starting {start:?} in {notes:?}"))
}

#[tokio::test]
async fn the_litellm_proxy_takes_the_strict_schema_and_every_failure_is_handled() {
    let Some(program) = litellm_program() else {
        assert!(
            std::env::var_os("HALO_TRIAGE_CI").is_none(),
            "LiteLLM is required under CI: .ci/run installs it and sets HALO_TRIAGE_LITELLM"
        );
        eprintln!(
            "SKIPPED: the LiteLLM proxy is not installed (pip install 'litellm[proxy]', \
             or set HALO_TRIAGE_LITELLM to its litellm program)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let proxy = start_proxy(&program, dir.path()).await;

    // A valid answer: the strict json_schema request is accepted and the label written.
    let (DecisionRow { decision, .. }, updates) = triage_with(&proxy, "triage-good", 5001).await;
    assert_eq!(decision["fields"]["team"]["value"], "Network");
    assert_eq!(decision["fields"]["team"]["source"]["kind"], "llm");
    assert!(decision["llm_call"]["error"].is_null(), "{decision}");
    assert!(decision["llm_call"]["prompt_tokens"].as_u64() > Some(0));
    assert_eq!(updates[0][0]["team"], "Network");

    // An invented label is rejected; the rules' default stands.
    let (
        DecisionRow {
            decision, notes, ..
        },
        _,
    ) = triage_with(&proxy, "triage-invented", 5002).await;
    assert_eq!(decision["fields"]["team"]["value"], "Service Desk");
    note_starting(
        &notes,
        "the LLM chose team 'Moon Base Operations', which is not on offer",
    );

    // Garbage twice: the rules decide alone.
    let (
        DecisionRow {
            decision, notes, ..
        },
        _,
    ) = triage_with(&proxy, "triage-garbage", 5003).await;
    assert_eq!(decision["fields"]["team"]["value"], "Service Desk");
    note_starting(
        &notes,
        "LLM unavailable, rules only: the LLM answered twice with unusable output",
    );

    // A rate limit: retried llm.max_retries times, then the rules; the note stays short.
    let (
        DecisionRow {
            decision, notes, ..
        },
        _,
    ) = triage_with(&proxy, "triage-429", 5004).await;
    assert_eq!(decision["fields"]["team"]["value"], "Service Desk");
    let note = note_starting(
        &notes,
        "LLM unavailable, rules only: the LLM did not answer after 2 attempts: HTTP 429: ",
    );
    assert!(note.len() < 500, "{note}");

    // classify and check go through the same proxy.
    let ticket = dir.path().join("ticket.json");
    let mut body = fixture_json("ticket.json");
    body["summary"] = json!("Question about the office move");
    std::fs::write(&ticket, body.to_string()).unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[labels]\nteams = [\"Service Desk\", \"Network\"]\ncategories = [\"Facilities\"]\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let mut command = binary();
        command
            .args(args)
            .env("HALO_TRIAGE__WEBHOOK__TOKEN", TOKEN)
            .env("HALO_TRIAGE__RULES__PATH", &rules)
            .env("HALO_TRIAGE__RULES__OVERLAY_DIR", dir.path().join("none"))
            .env("HALO_TRIAGE__LLM__ENABLED", "true")
            .env("HALO_TRIAGE__LLM__BASE_URL", &proxy.base_url)
            .env("HALO_TRIAGE__LLM__API_KEY", MASTER_KEY)
            .env("HALO_TRIAGE__LLM__MODEL", "triage-good")
            .env("HALO_TRIAGE__LLM__TIMEOUT_SECS", "20");
        let output = command.output().unwrap();
        (
            output.status.success(),
            String::from_utf8(output.stdout).unwrap(),
        )
    };
    let (ok, stdout) = run(&["classify", ticket.to_str().unwrap()]);
    assert!(ok, "{stdout}");
    assert!(
        stdout.contains("team = Network (the LLM chose 'Network'"),
        "{stdout}"
    );
    let (ok, stdout) = run(&["check"]);
    assert!(ok, "{stdout}");
    for expected in [
        "PASS llm model: 'triage-good' is listed by the server",
        "PASS llm response format: json_schema accepted",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
}
