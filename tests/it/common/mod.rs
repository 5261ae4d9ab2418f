//! Test harness: the real app on port 0 with its own temporary store (a SQLite file, or a
//! Postgres schema: `postgres.rs`), and a wiremock server standing in for Halo with its
//! wire formats (see tests/fixtures).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use halo_triage::App;
use halo_triage::ReadBackTask;
use halo_triage::Reconciler;
use halo_triage::RulesHandle;
use halo_triage::Settings;
use halo_triage::Store;
use halo_triage::Worker;
use serde_json::{json, Value};
use sqlx::Row;
use tempfile::TempDir;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

pub mod backing;
pub mod postgres;
pub mod stateful_halo;

pub const TOKEN: &str = "test-webhook-token-0123456789";
pub const OUTCOME_ID: i64 = 21;

pub fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn fixture_json(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).unwrap()
}

pub fn shipped(path: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(path)
        .display()
        .to_string()
}

/// A running app and what a test needs to drive and inspect it.
pub struct TestApp {
    pub addr: SocketAddr,
    /// The operator's listener, when `admin.listen` is set.
    pub admin_addr: Option<SocketAddr>,
    pub store: Store,
    pub worker: Worker,
    pub rules: Arc<RulesHandle>,
    /// Present in live mode (Halo credentials configured).
    pub reconciler: Option<Reconciler>,
    /// Present in live mode (Halo credentials configured).
    pub read_back: Option<ReadBackTask>,
    pub http: reqwest::Client,
    /// The store as `store.url` names it: another service or a CLI command on it.
    pub store_url: String,
    _dir: TempDir,
}

/// Settings for a test app: shadow mode without Halo, live mode against `halo`.
fn test_env(halo: Option<&MockServer>) -> Vec<(String, String)> {
    let mut env = vec![
        ("WEBHOOK__TOKEN", TOKEN.to_string()),
        ("SERVER__LISTEN", "127.0.0.1:0".to_string()),
        // Tests drive the step function themselves: no background worker.
        ("WORKER__CONCURRENCY", "0".to_string()),
        ("RULES__PATH", shipped("config/rules.toml")),
        ("ACK__OUTCOME_ID", OUTCOME_ID.to_string()),
        ("HALO__RETRY_BASE_MS", "10".to_string()),
        ("HALO__TIMEOUT_SECS", "2".to_string()),
        // Tests run reconciler and read-back passes themselves.
        ("RECONCILE__INTERVAL_SECS", "0".to_string()),
        ("REPORT__INTERVAL_SECS", "0".to_string()),
    ];
    if let Some(halo) = halo {
        env.extend([
            ("MODE", "live".to_string()),
            ("HALO__BASE_URL", halo.uri()),
            // The stand-in Halo serves plain http on loopback.
            ("HALO__ALLOW_INSECURE_HTTP", "true".to_string()),
            ("HALO__AUTH_URL", format!("{}/auth", halo.uri())),
            ("HALO__CLIENT_ID", "triage-client".to_string()),
            ("HALO__CLIENT_SECRET", "triage-secret".to_string()),
        ]);
    }
    env.into_iter()
        .map(|(k, v)| (format!("HALO_TRIAGE__{k}"), v))
        .collect()
}

pub async fn spawn(halo: Option<&MockServer>) -> TestApp {
    spawn_with(halo, &[]).await
}

/// Starts the app; `overrides` are extra `SECTION__KEY` = value pairs.
pub async fn spawn_with(halo: Option<&MockServer>, overrides: &[(&str, &str)]) -> TestApp {
    let (test_app, app) = build(halo, overrides).await;
    tokio::spawn(app.run_until(std::future::pending()));
    test_app
}

/// A running app with its own workers, stopped (gracefully) by sending on `stop`.
pub struct RunningApp {
    pub app: TestApp,
    pub stop: tokio::sync::oneshot::Sender<()>,
    pub stopped: tokio::task::JoinHandle<Result<(), halo_triage::AppError>>,
}

/// Starts the app with background workers (`overrides` should set WORKER__CONCURRENCY).
pub async fn spawn_running(halo: Option<&MockServer>, overrides: &[(&str, &str)]) -> RunningApp {
    let (test_app, app) = build(halo, overrides).await;
    let (stop, stop_signal) = tokio::sync::oneshot::channel::<()>();
    let stopped = tokio::spawn(app.run_until(async move {
        let _ = stop_signal.await;
    }));
    RunningApp {
        app: test_app,
        stop,
        stopped,
    }
}

async fn build(halo: Option<&MockServer>, overrides: &[(&str, &str)]) -> (TestApp, App) {
    let dir = tempfile::tempdir().unwrap();
    let mut env = test_env(halo);
    let store_url = match postgres::apps_on_postgres() {
        true => postgres::fresh_schema()
            .await
            .expect("HALO_TRIAGE_TEST_STORE=postgres needs a Postgres server"),
        false => format!("sqlite://{}", dir.path().join("test.db").display()),
    };
    env.push(("HALO_TRIAGE__STORE__URL".into(), store_url));
    env.extend(
        overrides
            .iter()
            .map(|(k, v)| (format!("HALO_TRIAGE__{k}"), v.to_string())),
    );
    // An override may name another store (a second service on the first one's).
    let store_url = env
        .iter()
        .rev()
        .find(|(key, _)| key == "HALO_TRIAGE__STORE__URL")
        .map(|(_, url)| url.clone())
        .unwrap();
    let settings = Settings::load_with_env(None, env).expect("test settings are valid");
    let app = App::build(settings).await.expect("the app starts");
    let test_app = TestApp {
        addr: app.local_addr(),
        admin_addr: app.admin_addr(),
        store: app.store().clone(),
        worker: app.worker().clone(),
        rules: app.rules().clone(),
        reconciler: app.reconciler().cloned(),
        read_back: app.read_back().cloned(),
        http: reqwest::Client::new(),
        store_url,
        _dir: dir,
    };
    (test_app, app)
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Posts a delivery with the right token.
    pub async fn deliver(&self, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.http
            .post(self.url("/hooks/halo"))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Runs jobs until none is due.
    pub async fn drain(&self) -> Vec<halo_triage::JobReport> {
        let mut reports = Vec::new();
        while let Some(report) = self.worker.run_one().await.unwrap() {
            reports.push(report);
        }
        reports
    }

    /// Jobs waiting for a retry become due now, as if their backoff had passed.
    pub async fn make_retries_due(&self) {
        sqlx::query("UPDATE jobs SET next_attempt_at = 0")
            .execute(self.store.pool())
            .await
            .unwrap();
    }

    /// `GET /readyz`, as JSON.
    pub async fn readyz(&self) -> Value {
        let answer = self.http.get(self.url("/readyz")).send().await.unwrap();
        answer.json().await.unwrap()
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(self.store.pool())
            .await
            .unwrap()
    }

    pub async fn job_row(&self, job_id: i64) -> JobRow {
        let row = sqlx::query(
            "SELECT status, attempts, last_error, next_attempt_at FROM jobs WHERE id = $1",
        )
        .bind(job_id)
        .fetch_one(self.store.pool())
        .await
        .unwrap();
        JobRow {
            status: row.get(0),
            attempts: row.get(1),
            last_error: row.get(2),
            next_attempt_at: row.get(3),
        }
    }

    /// The latest decision row of a ticket.
    pub async fn decision(&self, ticket_id: i64) -> DecisionRow {
        let row = sqlx::query(
            "SELECT mode, decision, ticket_update, notes, applied FROM decisions
             WHERE ticket_id = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(ticket_id)
        .fetch_one(self.store.pool())
        .await
        .unwrap();
        let json = |i: usize| serde_json::from_str::<Value>(&row.get::<String, _>(i)).unwrap();
        DecisionRow {
            mode: row.get(0),
            decision: json(1),
            ticket_update: json(2),
            notes: serde_json::from_value(json(3)).unwrap(),
            applied: row.get::<i64, _>(4) != 0,
        }
    }
}

/// A job as the `jobs` table holds it.
pub struct JobRow {
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at: i64,
}

/// A decision as the `decisions` table holds it, its JSON columns parsed.
pub struct DecisionRow {
    pub mode: String,
    pub decision: Value,
    pub ticket_update: Value,
    pub notes: Vec<String>,
    pub applied: bool,
}

/// The ticket id of a `/api/Tickets/{id}` request.
pub fn ticket_id_in_path(request: &Request) -> i64 {
    let id = request.url.path().rsplit('/').next().unwrap();
    id.parse().unwrap()
}

/// A Halo whose `failing` endpoints (verb, path, answer) answer as given, every time, and
/// whose other endpoints are healthy.
pub async fn halo_with(failing: &[(&str, &str, ResponseTemplate)]) -> MockServer {
    let halo = MockServer::start().await;
    for (verb, route, answer) in failing {
        Mock::given(method(*verb))
            .and(path(*route))
            .respond_with(answer.clone())
            .with_priority(1)
            .mount(&halo)
            .await;
    }
    mount_halo(&halo).await;
    halo
}

/// Halo's answers for a healthy instance: token, lookups, ticket, update and actions.
pub async fn mount_halo(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/auth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture_json("token-response.json")))
        .mount(server)
        .await;
    for (route, file) in [
        ("/api/Team", "team-list.json"),
        ("/api/Priority", "priority-list.json"),
        ("/api/Outcome", "outcome-list.json"),
    ] {
        Mock::given(method("GET"))
            .and(path(route))
            .respond_with(ResponseTemplate::new(200).set_body_json(fixture_json(file)))
            .mount(server)
            .await;
    }
    // Any ticket: the example ticket, with the id asked for.
    Mock::given(method("GET"))
        .and(path_regex(r"^/api/Tickets/\d+$"))
        .respond_with(|request: &Request| {
            let id = ticket_id_in_path(request);
            let mut ticket = fixture_json("ticket.json");
            ticket["id"] = id.into();
            ResponseTemplate::new(200).set_body_json(ticket)
        })
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/Actions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"actions": []})))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/Tickets"))
        .respond_with(|request: &Request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            let saved = body.as_array().unwrap().clone();
            ResponseTemplate::new(200).set_body_json(as_halo_answers(saved))
        })
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/Actions"))
        .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!({"id": 555})))
        .mount(server)
        .await;
}

/// Halo's answer to a POSTed array: the saved object for one element, the saved objects
/// in order for several.
pub fn as_halo_answers(mut saved: Vec<Value>) -> Value {
    match saved.len() {
        1 => saved.remove(0),
        _ => Value::Array(saved),
    }
}

/// The JSON bodies Halo received on `method path`, in order.
pub async fn received(server: &MockServer, verb: &str, route: &str) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() == verb && r.url.path() == route)
        .map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null))
        .collect()
}

/// How many requests Halo received that change something.
pub async fn writes(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() != "GET" && r.url.path().starts_with("/api/"))
        .count()
}

/// A Halo that keeps the actions posted to it, answering `GET /api/Actions` with them, as
/// the real one does. `first_post` is the answer to the first POST; `stored` says whether
/// that first POST was nevertheless kept (a 5xx after processing).
pub struct ActionsLog {
    pub posted: Arc<Mutex<Vec<Value>>>,
    /// What the POSTs of actions refuse or hold (set by a test).
    pub refusals: Refusals,
}

/// Batches a stand-in Halo refuses or holds, as a test sets them.
#[derive(Clone, Default)]
pub struct Refusals(Arc<Mutex<RefusalRules>>);

#[derive(Default)]
struct RefusalRules {
    /// Any array naming this ticket is refused with a 400 (Halo's CAB message).
    ticket: Option<i64>,
    /// Whether the refused array's other elements are applied all the same.
    apply_rest: bool,
    /// The first array of several elements is saved, but its answer is held this long.
    hold_first_batch: Option<Duration>,
    /// Whether that array came.
    held: bool,
}

/// Halo's message for a ticket type that needs CAB approval.
pub const CAB_MESSAGE: &str = "CODE:APP03/2 Please select the CAB members";

impl Refusals {
    /// Arrays naming `ticket` are refused; `apply_rest`: their other elements are saved.
    pub fn refuse(&self, ticket: i64, apply_rest: bool) {
        let mut rules = self.0.lock().unwrap();
        rules.ticket = Some(ticket);
        rules.apply_rest = apply_rest;
    }

    /// The first array of several elements is saved and its answer held for `hold`.
    pub fn hold_first_batch(&self, hold: Duration) {
        self.0.lock().unwrap().hold_first_batch = Some(hold);
    }

    /// Whether the array to hold has come (and is being held).
    pub fn batch_held(&self) -> bool {
        self.0.lock().unwrap().held
    }

    /// The answer for `elements` (each naming its ticket under `key`): `None` to save them
    /// all and answer as usual; else which to save, and the answer.
    pub fn judge(&self, elements: &[Value], key: &str) -> Option<(Vec<Value>, ResponseTemplate)> {
        let mut rules = self.0.lock().unwrap();
        let refused = rules
            .ticket
            .filter(|id| elements.iter().any(|e| e[key] == *id));
        if let Some(id) = refused {
            let saved = match rules.apply_rest {
                true => elements.iter().filter(|e| e[key] != id).cloned().collect(),
                false => Vec::new(),
            };
            let body = json!({"resultCode": 1, "errorMessage": CAB_MESSAGE});
            return Some((saved, ResponseTemplate::new(400).set_body_json(body)));
        }
        if elements.len() > 1 {
            if let Some(hold) = rules.hold_first_batch.take() {
                rules.held = true;
                let answer = ResponseTemplate::new(201).set_delay(hold);
                return Some((elements.to_vec(), answer));
            }
        }
        None
    }
}

impl ActionsLog {
    pub async fn mount(
        server: &MockServer,
        first_post: ResponseTemplate,
        stored: bool,
    ) -> ActionsLog {
        let posted: Arc<Mutex<Vec<Value>>> = Arc::default();
        let refusals = Refusals::default();
        let first = Arc::new(Mutex::new(Some(first_post)));
        let log = posted.clone();
        let judge = refusals.clone();
        Mock::given(method("POST"))
            .and(path("/api/Actions"))
            .respond_with(move |request: &Request| {
                let body: Value = serde_json::from_slice(&request.body).unwrap();
                let mut log = log.lock().unwrap();
                let mut saved = Vec::new();
                let elements = body.as_array().unwrap();
                let (elements, answer) = match judge.judge(elements, "ticket_id") {
                    Some((kept, answer)) => (kept, Some(answer)),
                    None => (elements.clone(), None),
                };
                for mut action in elements {
                    action["id"] = json!(900 + log.len() + saved.len());
                    saved.push(action);
                }
                if let Some(answer) = answer {
                    log.extend(saved);
                    return answer;
                }
                match first.lock().unwrap().take() {
                    Some(answer) => {
                        if stored {
                            log.extend(saved);
                        }
                        answer
                    }
                    None => {
                        log.extend(saved.iter().cloned());
                        ResponseTemplate::new(201).set_body_json(as_halo_answers(saved))
                    }
                }
            })
            .with_priority(1)
            .mount(server)
            .await;
        let log = posted.clone();
        Mock::given(method("GET"))
            .and(path("/api/Actions"))
            .respond_with(move |request: &Request| {
                // Paged as asked (`pageinate`, `page_size`, `page_no`); unpaged, the first
                // 100 only, as a list with a cap would.
                let query: std::collections::HashMap<String, String> =
                    request.url.query_pairs().into_owned().collect();
                let number = |key: &str, default: usize| {
                    query
                        .get(key)
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(default)
                };
                let paged = query.get("pageinate").is_some_and(|v| v == "true");
                let size = if paged { number("page_size", 50) } else { 100 };
                let page = if paged { number("page_no", 1) } else { 1 };
                let log = log.lock().unwrap();
                let shown: Vec<&Value> = log.iter().skip((page - 1) * size).take(size).collect();
                ResponseTemplate::new(200)
                    .set_body_json(json!({"record_count": log.len(), "actions": shown}))
            })
            .with_priority(1)
            .mount(server)
            .await;
        ActionsLog { posted, refusals }
    }

    pub fn count(&self) -> usize {
        self.posted.lock().unwrap().len()
    }
}

/// A stand-in Halo answering like a healthy instance, and the app in live mode against it.
pub async fn live(overrides: &[(&str, &str)]) -> (MockServer, TestApp) {
    let halo = MockServer::start().await;
    mount_halo(&halo).await;
    let app = spawn_with(Some(&halo), overrides).await;
    (halo, app)
}

impl TestApp {
    /// The `/metrics` text.
    pub async fn metrics(&self) -> String {
        let response = self.http.get(self.url("/metrics")).send().await.unwrap();
        response.text().await.unwrap()
    }

    /// Acknowledgements recorded as sent with Halo's action id.
    pub async fn acks_sent(&self, action_id: i64) -> i64 {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM acknowledgements WHERE status = 'sent' AND action_id = $1",
        )
        .bind(action_id)
        .fetch_one(self.store.pool())
        .await
        .unwrap()
    }
}

/// A read-only connection to the store at `db`, for looking at a real binary's rows.
pub async fn read_only(db: &std::path::Path) -> sqlx::SqliteConnection {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(db)
        .read_only(true);
    sqlx::ConnectOptions::connect(&options).await.unwrap()
}

/// Jobs done, dead and running in the store at `db` (a real binary's SQLite file).
pub async fn jobs_by_status(db: &std::path::Path) -> (i64, i64, i64) {
    let mut connection = read_only(db).await;
    sqlx::query_as(
        "SELECT COUNT(*) FILTER (WHERE status = 'done'), COUNT(*) FILTER (WHERE status = 'dead'),
                COUNT(*) FILTER (WHERE status = 'running')
         FROM jobs",
    )
    .fetch_one(&mut connection)
    .await
    .unwrap()
}

/// Waits (at most 60 s) until `jobs` jobs in the store at `db` are done; none may be dead.
pub async fn wait_until_all_done(db: &std::path::Path, jobs: i64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (done, dead, _) = jobs_by_status(db).await;
        assert_eq!(dead, 0, "no job may end dead");
        if done == jobs {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {done} of {jobs} jobs done within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The real binary, run from the crate's folder with no HALO_TRIAGE_* variable inherited.
pub fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_halo-triage"));
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("HALO_TRIAGE")) {
        command.env_remove(key);
    }
    command
}

/// The real binary serving; its JSON logs are collected.
pub struct Served {
    child: std::process::Child,
    pub addr: String,
    logs: Option<std::thread::JoinHandle<Vec<String>>>,
}

/// A test that fails midway leaves no service running (it would hold the test's output
/// open, and its port).
impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    pub fn start(command: &mut Command) -> Served {
        let mut child = command.arg("serve").stderr(Stdio::piped()).spawn().unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let logs = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in stderr.lines().map_while(Result::ok) {
                if let Ok(entry) = serde_json::from_str::<Value>(&line) {
                    if let Some(addr) = entry["fields"]["addr"].as_str() {
                        let _ = addr_tx.send(addr.to_string());
                    }
                }
                lines.push(line);
            }
            lines
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the service starts");
        Served {
            child,
            addr,
            logs: Some(logs),
        }
    }

    pub async fn deliver(&self, body: String) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("http://{}/hooks/halo", self.addr))
            .bearer_auth(TOKEN)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The most memory the process has held so far (VmHWM), in KiB; Linux only.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc/PID/status (Linux)");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("a VmHWM line")
    }

    /// SIGKILL, as a crash or an OOM kill would: nothing is cleaned up.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM; the service must exit with success. Returns its logs.
    pub async fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert!(status.success(), "exit status {status}");
        let logs = self.logs.take().expect("the logs are read once");
        tokio::task::spawn_blocking(move || logs.join().unwrap().join("\n"))
            .await
            .unwrap()
    }
}

/// The real binary in live mode against `halo` on the store `store_url`, as the crash and
/// replica tests run it: quick Halo timeouts and retries, a short poll, no reconciler.
pub fn live_binary(halo: &MockServer, store_url: &str) -> Command {
    let mut command = binary();
    halo_env(&mut command, halo);
    command
        .env("HALO_TRIAGE__MODE", "live")
        .env("HALO_TRIAGE__SERVER__LISTEN", "127.0.0.1:0")
        .env("HALO_TRIAGE__STORE__URL", store_url)
        .env("HALO_TRIAGE__HALO__TIMEOUT_SECS", "2")
        .env("HALO_TRIAGE__RECONCILE__INTERVAL_SECS", "0")
        .env("HALO_TRIAGE__WORKER__RETRY_BASE_SECS", "1")
        .env("HALO_TRIAGE__WORKER__POLL_INTERVAL_MS", "100");
    command
}

/// The settings that point the real binary at `halo` in live-mode-ready form: webhook
/// token, Halo credentials, no Halo retries, the acknowledgement outcome.
pub fn halo_env(command: &mut Command, halo: &MockServer) {
    command
        .env("HALO_TRIAGE__WEBHOOK__TOKEN", TOKEN)
        .env("HALO_TRIAGE__HALO__BASE_URL", halo.uri())
        .env("HALO_TRIAGE__HALO__ALLOW_INSECURE_HTTP", "true")
        .env(
            "HALO_TRIAGE__HALO__AUTH_URL",
            format!("{}/auth", halo.uri()),
        )
        .env("HALO_TRIAGE__HALO__CLIENT_ID", "triage-client")
        .env("HALO_TRIAGE__HALO__CLIENT_SECRET", "triage-secret")
        .env("HALO_TRIAGE__HALO__MAX_RETRIES", "0")
        .env("HALO_TRIAGE__ACK__OUTCOME_ID", "21");
}
