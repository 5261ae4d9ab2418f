//! The service under load and its stand-in Halo: started here, in live mode, on a free port.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::halo_log::HaloLog;
use crate::{fail, Args, ADMIN_TOKEN, OUTCOME_ID};

/// The started service; killed if the load script stops early.
pub struct Service {
    pub child: Child,
    pub log: PathBuf,
}

impl Service {
    /// A `/proc/PID/status` memory line (`VmRSS:`, `VmHWM:`) in MiB.
    pub fn memory_mib(&self, line: &str) -> f64 {
        let pid = self.child.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix(line))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kib| kib / 1024.0)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Halo's answers for a healthy instance (a short copy of tests/common/mod.rs `mount_halo`),
/// for any ticket id, each after `latency`. Returns the log of the updates and actions posted.
pub async fn mount_halo(server: &MockServer, latency: Duration) -> HaloLog {
    let json = |text: &str| serde_json::from_str::<Value>(text).expect("fixture JSON");
    let answer = move |status: u16| ResponseTemplate::new(status).set_delay(latency);
    Mock::given(method("POST"))
        .and(path("/auth/token"))
        .respond_with(answer(200).set_body_json(json(include_str!(
            "../../tests/fixtures/token-response.json"
        ))))
        .mount(server)
        .await;
    // The fixture's teams, and Monitoring, where the rules route RMM alerts (--alerts).
    let mut teams = json(include_str!("../../tests/fixtures/team-list.json"));
    teams.as_array_mut().expect("a list of teams").push(json!(
        {"id": 12, "name": "Monitoring", "inactive": false, "forrequests": true, "department_id": 1}
    ));
    for (route, body) in [
        ("/api/Team", teams),
        (
            "/api/Priority",
            json(include_str!("../../tests/fixtures/priority-list.json")),
        ),
        (
            "/api/Outcome",
            json(include_str!("../../tests/fixtures/outcome-list.json")),
        ),
        ("/api/Actions", json!({"actions": []})),
        // The labels the LLM is offered (tests/it/llm.rs).
        (
            "/api/Category",
            json!([{"id": 1, "value": "Hardware", "type_id": 1}, {"id": 2, "value": "Facilities", "type_id": 1}]),
        ),
        (
            "/api/TicketType",
            json!([{"id": 1, "name": "Incident"}, {"id": 3, "name": "Service Request"}]),
        ),
    ] {
        Mock::given(method("GET"))
            .and(path(route))
            .respond_with(answer(200).set_body_json(body))
            .mount(server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path_regex(r"^/api/Tickets/\d+$"))
        .respond_with(move |request: &Request| {
            let id = request.url.path().rsplit('/').next().unwrap_or_default();
            answer(200).set_body_json(example_ticket(id.parse().unwrap_or_default()))
        })
        .mount(server)
        .await;
    // Several tickets read at once: `?ticketids=1,2,3`, answered in Halo's list wrapper.
    Mock::given(method("GET"))
        .and(path("/api/Tickets"))
        .respond_with(move |request: &Request| {
            let ids = request
                .url
                .query_pairs()
                .find(|(key, _)| key == "ticketids")
                .map(|(_, ids)| ids.into_owned())
                .unwrap_or_default();
            let tickets: Vec<Value> = ids
                .split(',')
                .filter_map(|id| id.parse().ok())
                .map(example_ticket)
                .collect();
            answer(200).set_body_json(json!({"record_count": tickets.len(), "tickets": tickets}))
        })
        .mount(server)
        .await;
    let log = HaloLog::default();
    let updates = log.clone();
    Mock::given(method("POST"))
        .and(path("/api/Tickets"))
        .respond_with(move |request: &Request| {
            answer(200).set_body_json(save_each(&request.body, |update| {
                updates.update(&update);
                update
            }))
        })
        .mount(server)
        .await;
    let actions = log.clone();
    Mock::given(method("POST"))
        .and(path("/api/Actions"))
        .respond_with(move |request: &Request| {
            answer(201).set_body_json(save_each(&request.body, |mut action| {
                action["id"] = json!(actions.action(&action));
                action
            }))
        })
        .mount(server)
        .await;
    log
}

/// The example ticket (tests/fixtures/ticket.json) as ticket `id`.
fn example_ticket(id: i64) -> Value {
    static TICKET: LazyLock<Value> = LazyLock::new(|| {
        serde_json::from_str(include_str!("../../tests/fixtures/ticket.json"))
            .expect("fixture JSON")
    });
    let mut ticket = TICKET.clone();
    ticket["id"] = json!(id);
    ticket
}

/// Halo's answer to a post of an array: each element passes through `save` in order, and
/// one saved element is answered alone, several as an array in the same order. A single
/// object counts as an array of one.
fn save_each(body: &[u8], save: impl FnMut(Value) -> Value) -> Value {
    let elements = match serde_json::from_slice(body).unwrap_or_default() {
        Value::Array(elements) => elements,
        single => vec![single],
    };
    let mut saved: Vec<Value> = elements.into_iter().map(save).collect();
    match saved.len() {
        1 => saved.remove(0),
        _ => Value::Array(saved),
    }
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
    if let Some(batch_max) = args.batch_max {
        env.push(("HALO__BATCH_MAX", batch_max.to_string()));
    }
    if !args.budget {
        // Far above the ~3 requests per ticket (read, update, acknowledgement) unbatched, so
        // the stand-in is never throttled.
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
