//! The service under load and its stand-in Halo: started here, in live mode, on a free port.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::{fail, Args, ADMIN_TOKEN, OUTCOME_ID};

/// The started service; killed if the load script stops early.
pub struct Service {
    pub child: Child,
    pub log: PathBuf,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// When the stand-in Halo received each ticket's update.
pub type Updates = Arc<Mutex<HashMap<i64, Instant>>>;

/// Halo's answers for a healthy instance (a short copy of tests/common/mod.rs `mount_halo`),
/// for any ticket id, each after `latency`. Returns when each ticket's update arrived.
pub async fn mount_halo(server: &MockServer, latency: Duration) -> Updates {
    let json = |text: &str| serde_json::from_str::<Value>(text).expect("fixture JSON");
    let answer = move |status: u16| ResponseTemplate::new(status).set_delay(latency);
    Mock::given(method("POST"))
        .and(path("/auth/token"))
        .respond_with(answer(200).set_body_json(json(include_str!(
            "../../tests/fixtures/token-response.json"
        ))))
        .mount(server)
        .await;
    for (route, body) in [
        (
            "/api/Team",
            include_str!("../../tests/fixtures/team-list.json"),
        ),
        (
            "/api/Priority",
            include_str!("../../tests/fixtures/priority-list.json"),
        ),
        (
            "/api/Outcome",
            include_str!("../../tests/fixtures/outcome-list.json"),
        ),
        ("/api/Actions", r#"{"actions": []}"#),
        // The labels the LLM is offered (tests/it/llm.rs).
        (
            "/api/Category",
            r#"[{"id": 1, "value": "Hardware", "type_id": 1}, {"id": 2, "value": "Facilities", "type_id": 1}]"#,
        ),
        (
            "/api/TicketType",
            r#"[{"id": 1, "name": "Incident"}, {"id": 3, "name": "Service Request"}]"#,
        ),
    ] {
        Mock::given(method("GET"))
            .and(path(route))
            .respond_with(answer(200).set_body_json(json(body)))
            .mount(server)
            .await;
    }
    let ticket = json(include_str!("../../tests/fixtures/ticket.json"));
    Mock::given(method("GET"))
        .and(path_regex(r"^/api/Tickets/\d+$"))
        .respond_with(move |request: &Request| {
            let id = request.url.path().rsplit('/').next().unwrap_or_default();
            let mut ticket = ticket.clone();
            ticket["id"] = json!(id.parse::<i64>().unwrap_or_default());
            answer(200).set_body_json(ticket)
        })
        .mount(server)
        .await;
    let updates = Updates::default();
    let updated = updates.clone();
    Mock::given(method("POST"))
        .and(path("/api/Tickets"))
        .respond_with(move |request: &Request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
            for update in body.as_array().into_iter().flatten() {
                if let Some(id) = update["id"].as_i64() {
                    let mut updated = updated.lock().unwrap_or_else(|e| e.into_inner());
                    updated.entry(id).or_insert_with(Instant::now);
                }
            }
            answer(200).set_body_json(&body[0])
        })
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/Actions"))
        .respond_with(answer(201).set_body_json(json!({"id": 555})))
        .mount(server)
        .await;
    updates
}

/// A stand-in OpenAI-compatible LLM answering every chat completion after `latency`, with
/// labels the stand-in Halo has (tests/it/llm.rs's answer).
pub async fn mount_llm(latency: Duration) -> MockServer {
    let llm = MockServer::start().await;
    let content = json!({
        "fields": {
            "team": { "value": "Service Desk", "confidence": 0.95 },
            "category_1": { "value": "Facilities", "confidence": 0.9 },
            "priority_id": { "value": "Low", "confidence": 0.9 },
            "tickettype_id": { "value": "Service Request", "confidence": 0.9 },
            "impact": { "value": null, "confidence": 0.0 },
            "urgency": { "value": null, "confidence": 0.0 }
        },
        "sentiment": "neutral",
        "sentiment_score": 0.0,
        "language": "en",
        "rationale": "A question about the office move"
    });
    let completion = json!({
        "id": "chatcmpl-load",
        "object": "chat.completion",
        "created": 1_795_000_000,
        "model": "gpt-4o-mini",
        "choices": [{
            "index": 0,
            "message": { "role": "assistant", "content": content.to_string() },
            "finish_reason": "stop"
        }],
        "usage": { "prompt_tokens": 812, "completion_tokens": 64, "total_tokens": 876 }
    });
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(completion)
                .set_delay(latency),
        )
        .mount(&llm)
        .await;
    llm
}

/// Starts `serve` in live mode against the stand-in Halo on a free port, on the store
/// `store` (a `store.url`); the JSON log of replica `replica` goes to a file in `dir`.
pub fn start_service(
    args: &Args,
    halo: &MockServer,
    llm: Option<&MockServer>,
    store: &str,
    dir: &Path,
    replica: usize,
) -> (String, Service) {
    let binary = args.binary.clone().unwrap_or_else(|| {
        // target/<profile>/examples/load -> target/<profile>/halo-triage
        let exe = std::env::current_exe().expect("the example's path");
        exe.parent()
            .and_then(Path::parent)
            .expect("the example runs from a target folder")
            .join("halo-triage")
    });
    if !binary.exists() {
        fail(&format!(
            "{} not found: run `cargo build --release` first or give --binary",
            binary.display()
        ));
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let mut env = vec![
        ("MODE", "live".to_string()),
        ("SERVER__LISTEN", format!("127.0.0.1:{port}")),
        ("STORE__URL", store.to_string()),
        ("WEBHOOK__TOKEN", args.token.clone()),
        // The admin API (/admin/jobs) can be watched while the load runs.
        ("ADMIN__TOKEN", ADMIN_TOKEN.to_string()),
        ("HALO__BASE_URL", halo.uri()),
        ("HALO__ALLOW_INSECURE_HTTP", "true".to_string()),
        ("HALO__AUTH_URL", format!("{}/auth", halo.uri())),
        ("HALO__CLIENT_ID", "load-client".to_string()),
        ("HALO__CLIENT_SECRET", "load-secret".to_string()),
        ("ACK__OUTCOME_ID", OUTCOME_ID.to_string()),
        ("RECONCILE__INTERVAL_SECS", "0".to_string()),
        // The stand-in Halo lists no tickets back: the read-back would only log failures.
        ("REPORT__INTERVAL_SECS", "0".to_string()),
    ];
    if let Some(workers) = args.workers {
        env.push(("WORKER__CONCURRENCY", workers.to_string()));
    }
    if !args.budget {
        // Far above the ~2 requests per ticket, so the stand-in is never throttled.
        env.push(("HALO__REQUESTS_PER_5MIN", "3000000".to_string()));
    }
    if let Some(llm) = llm {
        env.extend([
            ("LLM__ENABLED", "true".to_string()),
            ("LLM__BASE_URL", format!("{}/v1", llm.uri())),
            ("LLM__API_KEY", "sk-load-0123456789".to_string()),
        ]);
    }
    let log = dir.join(format!("service-{replica}.log"));
    let mut command = Command::new(&binary);
    command
        .arg("serve")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("the log file"));
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("HALO_TRIAGE")) {
        command.env_remove(key);
    }
    for (key, value) in env {
        command.env(format!("HALO_TRIAGE__{key}"), value);
    }
    let child = command
        .spawn()
        .unwrap_or_else(|e| fail(&format!("starting {}: {e}", binary.display())));
    println!(
        "started {} (live mode, log {})",
        binary.display(),
        log.display()
    );
    (format!("http://127.0.0.1:{port}"), Service { child, log })
}

pub async fn wait_ready(http: &reqwest::Client, url: &str, mut service: Option<&mut Service>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(response) = http.get(format!("{url}/readyz")).send().await {
            if response.status() == 200 {
                return;
            }
        }
        if let Some(service) = service.as_deref_mut() {
            if let Ok(Some(status)) = service.child.try_wait() {
                let log = std::fs::read_to_string(&service.log).unwrap_or_default();
                fail(&format!("the service exited ({status}):\n{log}"));
            }
        }
        if Instant::now() > deadline {
            if let Some(service) = service {
                let _ = service.child.kill();
            }
            fail(&format!("{url}/readyz did not answer 200 within 30 s"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
