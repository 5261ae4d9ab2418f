//! Webhook load: sends N "New Ticket Logged" deliveries at a set rate to a running service,
//! reports accepted per second and answer latency, waits for the jobs to drain and checks
//! that every delivery produced exactly one job, one ticket update and one acknowledgement.
//!
//! By default it starts a stand-in Halo (wiremock, Halo's wire format from tests/fixtures)
//! and the release binary in live mode against it, with a temporary SQLite store:
//!
//! ```sh
//! cargo build --release && cargo run --release --example load -- --n 2000 --rate 200
//! ```
//!
//! `--halo-latency-ms` delays every answer of the stand-in Halo, `--llm-latency-ms` turns
//! the LLM on against a stand-in answering after that delay (the tickets then need it),
//! `--budget` keeps Halo's default rate budget; the script then also reports the time from
//! each webhook to its ticket's update at the stand-in, and Halo requests per ticket.
//! `--batch-max` sets `halo.batch_max` (updates and actions sent to Halo in one request;
//! every element of a batch counts alone in the checks). `--alerts` sends RMM alerts that
//! the shipped rule `rmm-alerts` routes to Monitoring with no acknowledgement; every ticket
//! must then be updated within 60 s of the first delivery, and with `--budget` at most 0.1
//! Halo requests per ticket be made after start-up. The started service's idle and peak
//! resident memory are reported.
//!
//! `--store postgres://…` starts the services on that (empty) database instead, and
//! `--replicas 2` starts two of them, the deliveries spread over both. `--url` (once per
//! replica) targets services that are already running instead (their Halo is the caller's
//! business); `--store` must then name their store, read for the checks.
//! `--hostile` runs the security review's probes instead (see `hostile.rs`).
//! Figures and how they were taken: docs/benchmarks.md.

mod halo_log;
mod hostile;
mod service;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{json, Value};
use sqlx::{AnyConnection, Connection};
use wiremock::MockServer;

use service::{mount_halo, mount_llm, start_service, wait_ready};

const WEBHOOK_TOKEN: &str = "load-webhook-token-0123456789";
const ADMIN_TOKEN: &str = "load-admin-token-0123456789";
/// The "Email User" outcome in outcome-list.json: the acknowledgement's.
const OUTCOME_ID: i64 = 21;

#[derive(Parser)]
#[command(about = "Sends N webhooks at a set rate and checks every one became one job")]
struct Args {
    /// Deliveries to send, each a distinct ticket and delivery id.
    #[arg(long, default_value_t = 2000)]
    n: i64,
    /// Deliveries started per second (open loop: not waiting for earlier answers).
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// The service binary (default: halo-triage beside this example's target folder).
    #[arg(long)]
    binary: Option<PathBuf>,
    /// worker.concurrency for the started services (default: the service's own).
    #[arg(long)]
    workers: Option<u32>,
    /// halo.batch_max for the started services: ticket updates, and actions, sent to Halo
    /// in one request (default: the service's own).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
    batch_max: Option<u32>,
    /// Services started here, all on one store, the deliveries spread over them in turn.
    #[arg(long, default_value_t = 1, conflicts_with = "url")]
    replicas: usize,
    /// Base URL of an already running service, e.g. http://127.0.0.1:8080; once per replica.
    #[arg(long, requires = "store")]
    url: Vec<String>,
    /// The store, as store.url names it (sqlite://FILE or postgres://…): where the services
    /// started here keep their state (default: a temporary SQLite file), or with --url the
    /// running services' store; read for the checks.
    #[arg(long)]
    store: Option<String>,
    /// The webhook token, sent as Authorization: Bearer (with --url: the service's).
    #[arg(long, default_value = WEBHOOK_TOKEN)]
    token: String,
    /// Ticket ids used are first-ticket .. first-ticket + n; none may have a job yet.
    #[arg(long, default_value_t = 1_000_000)]
    first_ticket: i64,
    /// Longest wait for the queue to drain after the last answer, in seconds.
    #[arg(long, default_value_t = 120)]
    drain_timeout: u64,
    /// Instead of the load: the security review's probes (slow-loris, hostile HTML, 1 MiB
    /// bodies) against the service started here, each beside an idle baseline.
    #[arg(long, conflicts_with = "url")]
    hostile: bool,
    /// Every answer of the stand-in Halo comes this many milliseconds after its request.
    #[arg(long, default_value_t = 0)]
    halo_latency_ms: u64,
    /// Turns the LLM on, against a stand-in answering after this many milliseconds; every
    /// ticket then needs it (no rule matches its text, and no two texts are alike, so no
    /// answer comes from the cache).
    #[arg(long, conflicts_with = "url")]
    llm_latency_ms: Option<u64>,
    /// Keep Halo's default rate budget (halo.requests_per_5min) instead of lifting it.
    #[arg(long, conflicts_with = "url")]
    budget: bool,
    /// Send RMM alerts (rule `rmm-alerts`: team Monitoring, no acknowledgement, no LLM)
    /// instead of a customer's password problem.
    #[arg(long, conflicts_with = "llm_latency_ms")]
    alerts: bool,
    /// With --hostile: how many slow unauthenticated connections to hold open.
    #[arg(long, default_value_t = 500)]
    slow_clients: usize,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if args.n < 1 || args.rate.is_nan() || args.rate <= 0.0 {
        fail("--n and --rate must be positive");
    }
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut halo = None;
    let mut llm = None;
    let mut services = Vec::new();
    let store = args
        .store
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("load.db").display()));
    let urls: Vec<String> = match args.url.is_empty() {
        false => args
            .url
            .iter()
            .map(|url| url.trim_end_matches('/').to_string())
            .collect(),
        true => {
            let server = MockServer::start().await;
            let log = mount_halo(&server, Duration::from_millis(args.halo_latency_ms)).await;
            if let Some(latency) = args.llm_latency_ms {
                llm = Some(mount_llm(Duration::from_millis(latency)).await);
            }
            let mut urls = Vec::new();
            for replica in 0..args.replicas.max(1) {
                let (url, started) =
                    start_service(&args, &server, llm.as_ref(), &store, dir.path(), replica);
                urls.push(url);
                services.push(started);
            }
            halo = Some((server, log));
            urls
        }
    };
    let http = reqwest::Client::new();
    for (i, url) in urls.iter().enumerate() {
        wait_ready(&http, url, services.get_mut(i)).await;
    }
    let url = &urls[0];
    let last = args.first_ticket + args.n - 1;
    let range = (args.first_ticket, last);
    let mut db_conn = open_store(&store).await;
    let existing = job_counts(&mut db_conn, range).await;
    if !existing.is_empty() {
        fail(&format!(
            "tickets {}..={last} already have jobs ({existing:?}): choose another --first-ticket",
            args.first_ticket
        ));
    }

    if args.hostile {
        let service = services.first().expect("--hostile starts its own service");
        if !hostile::run(&http, url, service, &mut db_conn, &args).await {
            std::process::exit(1);
        }
        return;
    }

    let idle_memory = services.first().map(|s| s.memory_mib("VmRSS:"));
    println!(
        "sending {} deliveries at {}/s to /hooks/halo of {}",
        args.n,
        args.rate,
        urls.join(", ")
    );
    let load = send(&http, &urls, &args).await;
    let mut ok = load.report(args.n);

    let drain_started = Instant::now();
    let deadline = drain_started + Duration::from_secs(args.drain_timeout);
    let (counts, pending) = loop {
        let counts = job_counts(&mut db_conn, range).await;
        let pending = counts.get("queued").unwrap_or(&0) + counts.get("running").unwrap_or(&0);
        if pending == 0 || Instant::now() > deadline {
            break (counts, pending);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let drain = drain_started.elapsed();
    let drained = if pending == 0 {
        "queue empty"
    } else {
        "gave up waiting"
    };
    let (first_stored, last_done): (Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT MIN(created_at), MAX(updated_at) FROM jobs
         WHERE ticket_id BETWEEN $1 AND $2 AND status = 'done'",
    )
    .bind(range.0)
    .bind(range.1)
    .fetch_one(&mut db_conn)
    .await
    .expect("reading job times");
    let done = *counts.get("done").unwrap_or(&0);
    println!("jobs by status: {counts:?}");
    println!(
        "drain: {drained} {:.2} s after the last answer ({:.2} s after the first delivery)",
        drain.as_secs_f64(),
        (drain_started - load.started).as_secs_f64() + drain.as_secs_f64()
    );
    if let (Some(first), Some(last)) = (first_stored, last_done) {
        let secs = (last - first).max(1) as f64 / 1000.0;
        println!(
            "jobs: {done} done in {secs:.2} s from the first delivery stored to the last job done = {:.1} jobs/s",
            done as f64 / secs
        );
    }

    let jobs: (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT ticket_id) FROM jobs WHERE ticket_id BETWEEN $1 AND $2",
    )
    .bind(range.0)
    .bind(range.1)
    .fetch_one(&mut db_conn)
    .await
    .expect("counting jobs");
    let acks: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM acknowledgements
         WHERE ticket_id BETWEEN $1 AND $2 AND status = 'sent'",
    )
    .bind(range.0)
    .bind(range.1)
    .fetch_one(&mut db_conn)
    .await
    .expect("counting acknowledgements");
    ok &= check(
        "one job per delivered ticket",
        jobs == (args.n, args.n),
        format!("{} jobs for {} distinct tickets", jobs.0, jobs.1),
    );
    ok &= check(
        "every job done, none dead",
        done == args.n,
        format!("{counts:?}"),
    );

    if let Some((server, log)) = &halo {
        // Live mode is known only for the service started here.
        let expected = match Tickets::of(&args).acknowledged() {
            true => args.n,
            false => 0,
        };
        ok &= check(
            "acknowledgements recorded as sent in the store",
            acks == expected,
            format!("{acks} of {expected}"),
        );
        ok &= halo_log::report(server, log, services.len(), &load, &args).await;
    }
    if let (Some(service), Some(idle)) = (services.first(), idle_memory) {
        println!(
            "service memory: resident {idle:.1} MiB idle before the load, peak {:.1} MiB",
            service.memory_mib("VmHWM:")
        );
    }
    for mut service in services {
        ok &= check(
            "service still running",
            service.child.try_wait().ok().flatten().is_none(),
            String::new(),
        );
        let log = std::fs::read_to_string(&service.log).unwrap_or_default();
        let problems: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("\"level\":\"WARN\"") || l.contains("\"level\":\"ERROR\""))
            .collect();
        println!("service log: {} warnings or errors", problems.len());
        for line in problems.iter().take(5) {
            println!("  {line}");
        }
        // SIGTERM, as an operator would; the service drains and exits 0.
        let _ = Command::new("kill")
            .args(["-TERM", &service.child.id().to_string()])
            .status();
        let status = service.child.wait();
        println!("service stopped: {status:?}");
    }
    if !ok {
        println!("kept for inspection: {}", dir.keep().display());
        std::process::exit(1);
    }
}

/// The answers: status (0 for a transport error), duplicate flag, latency from the time the
/// request was due (so a load generator falling behind shows up as latency).
struct Load {
    started: Instant,
    /// When each ticket's delivery was due.
    due: Vec<(i64, Instant)>,
    send_secs: f64,
    last_answer_secs: f64,
    answers: Vec<(u16, bool, Duration)>,
    first_error: Option<String>,
}

impl Load {
    /// Prints the figures; false when some delivery was not accepted as new.
    fn report(&self, n: i64) -> bool {
        let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
        for (status, _, _) in &self.answers {
            *statuses.entry(*status).or_default() += 1;
        }
        let accepted = statuses.get(&202).copied().unwrap_or(0);
        let duplicates = self.answers.iter().filter(|a| a.1).count();
        let latencies = sorted_ms(self.answers.iter().map(|a| a.2));
        let at = |p: f64| percentile(&latencies, p);
        println!(
            "sent {} in {:.2} s ({:.1}/s offered); answers by status (0 = no answer): {statuses:?}",
            self.answers.len(),
            self.send_secs,
            (self.answers.len() as f64 - 1.0).max(1.0) / self.send_secs
        );
        if let Some(error) = &self.first_error {
            println!("first transport error: {error}");
        }
        println!(
            "accepted {accepted} (duplicates {duplicates}) in {:.2} s = {:.1} accepted/s",
            self.last_answer_secs,
            accepted as f64 / self.last_answer_secs
        );
        println!(
            "latency ms: p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
            at(0.50),
            at(0.90),
            at(0.99),
            at(1.0)
        );
        check(
            "every delivery answered 202 as new",
            accepted as i64 == n && duplicates == 0,
            format!("{accepted} accepted, {duplicates} duplicates"),
        )
    }
}

/// What the deliveries are, and so what the shipped rules (config/rules.toml) do with them.
#[derive(Clone, Copy, PartialEq)]
enum Tickets {
    /// The fixture's password problem: rule `password-and-lockout`, acknowledged.
    Password,
    /// A text no rule matches, unlike any other: the LLM decides; acknowledged.
    ForTheLlm,
    /// An RMM alert: rule `rmm-alerts` (`ack = "none"`, `llm = "skip"`).
    Alert,
}

impl Tickets {
    fn of(args: &Args) -> Self {
        match (args.alerts, args.llm_latency_ms) {
            (true, _) => Tickets::Alert,
            (false, Some(_)) => Tickets::ForTheLlm,
            (false, None) => Tickets::Password,
        }
    }

    /// The team each ticket's update sets (the LLM stand-in answers Service Desk).
    fn team(self) -> &'static str {
        match self {
            Tickets::Password | Tickets::ForTheLlm => "Service Desk",
            Tickets::Alert => "Monitoring",
        }
    }

    /// Whether each ticket gets an acknowledgement.
    fn acknowledged(self) -> bool {
        self != Tickets::Alert
    }
}

/// A full-object "New Ticket Logged" delivery (the shipped fixture) for `ticket`, with a
/// delivery id of its own, made into one of `tickets`.
fn delivery(ticket: i64, tickets: Tickets) -> Value {
    static TEMPLATE: std::sync::OnceLock<(Value, u128)> = std::sync::OnceLock::new();
    let (template, run) = TEMPLATE.get_or_init(|| {
        let template = serde_json::from_str(include_str!(
            "../../tests/fixtures/webhook-new-ticket-full.json"
        ))
        .expect("the fixture is JSON");
        let run = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        (template, run)
    });
    let mut delivery = template.clone();
    delivery["id"] = json!(format!("load-{run}-{ticket}"));
    delivery["object_id"] = json!(ticket);
    delivery["message"] = json!(format!("Ticket {ticket} has been logged"));
    delivery["ticket"]["id"] = json!(ticket);
    match tickets {
        Tickets::Password => {}
        Tickets::ForTheLlm => {
            delivery["ticket"]["summary"] = json!("Question about the office move");
            delivery["ticket"]["details"] = json!(format!(
                "Can desk {ticket} move to the third floor with the others?"
            ));
        }
        Tickets::Alert => {
            delivery["ticket"]["summary"] =
                json!(format!("[alert] Disk C: 95% full on SRV-{ticket}"));
            delivery["ticket"]["details"] = json!("Free space on C: is below 5%.");
            delivery["ticket"]["user_name"] = json!("RMM");
            delivery["ticket"]["user_email"] = json!("alerts@rmm.example");
        }
    }
    delivery
}

/// Sends the deliveries to `urls` in turn.
async fn send(http: &reqwest::Client, urls: &[String], args: &Args) -> Load {
    let tickets = Tickets::of(args);
    let bodies: Vec<String> = (0..args.n)
        .map(|i| delivery(args.first_ticket + i, tickets).to_string())
        .collect();
    let hooks: Vec<String> = urls.iter().map(|url| format!("{url}/hooks/halo")).collect();
    let started = Instant::now() + Duration::from_millis(20);
    let mut tasks = Vec::with_capacity(bodies.len());
    let mut due_at = Vec::with_capacity(bodies.len());
    for (i, body) in bodies.into_iter().enumerate() {
        let due = started + Duration::from_secs_f64(i as f64 / args.rate);
        due_at.push((args.first_ticket + i as i64, due));
        tokio::time::sleep_until(due.into()).await;
        let request = http
            .post(&hooks[i % hooks.len()])
            .bearer_auth(&args.token)
            .header("content-type", "application/json")
            .timeout(Duration::from_secs(60))
            .body(body);
        tasks.push(tokio::spawn(async move {
            match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let body: Value = response.json().await.unwrap_or(Value::Null);
                    let duplicate = body["duplicate"].as_bool().unwrap_or(false);
                    (status, duplicate, due.elapsed(), None)
                }
                Err(e) => (0, false, due.elapsed(), Some(e.to_string())),
            }
        }));
    }
    let send_secs = started.elapsed().as_secs_f64();
    let mut answers = Vec::with_capacity(tasks.len());
    let mut first_error = None;
    for task in tasks {
        let (status, duplicate, latency, error) = task.await.expect("a request task");
        first_error = first_error.or(error);
        answers.push((status, duplicate, latency));
    }
    Load {
        started,
        due: due_at,
        send_secs,
        last_answer_secs: started.elapsed().as_secs_f64(),
        answers,
        first_error,
    }
}

/// Durations in milliseconds, in order.
fn sorted_ms(durations: impl Iterator<Item = Duration>) -> Vec<f64> {
    let mut ms: Vec<f64> = durations.map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    ms
}

/// The `p` percentile (nearest rank) of `sorted`, which is not empty.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn check(what: &str, passed: bool, detail: String) -> bool {
    let verdict = if passed { "PASS" } else { "FAIL" };
    if detail.is_empty() {
        println!("{verdict} {what}");
    } else {
        println!("{verdict} {what}: {detail}");
    }
    passed
}

fn fail(message: &str) -> ! {
    eprintln!("load: {message}");
    std::process::exit(2);
}

/// The store the services use, for the checks (a SQLite file read-only).
async fn open_store(store: &str) -> AnyConnection {
    sqlx::any::install_default_drivers();
    let url = match store.starts_with("sqlite:") {
        true => format!("{store}?mode=ro"),
        false => store.to_string(),
    };
    AnyConnection::connect(&url)
        .await
        .unwrap_or_else(|e| fail(&format!("opening the store {store}: {e}")))
}

async fn job_counts(db: &mut AnyConnection, (first, last): (i64, i64)) -> BTreeMap<String, i64> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, COUNT(*) FROM jobs WHERE ticket_id BETWEEN $1 AND $2 GROUP BY status",
    )
    .bind(first)
    .bind(last)
    .fetch_all(db)
    .await
    .unwrap_or_else(|e| fail(&format!("reading jobs: {e}")));
    rows.into_iter().collect()
}
