//! `--hostile`: what the security review's probes cost the started service, each beside a
//! baseline taken in the same run (figures: docs/benchmarks.md).
//!
//! 1. `/healthz` latency on an idle service (the baseline);
//! 2. the same, and delivery latency, while `--slow-clients` unauthenticated connections
//!    hold half-sent headers open (slow-loris);
//! 3. `/healthz` latency while jobs convert 1 MiB of hostile ticket HTML, and how long the
//!    jobs take;
//! 4. peak resident memory while each 1 MiB body shape arrives four times at once, beside
//!    the idle resident set.

use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::AnyConnection;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[path = "../../tests/it/hostile_bodies.rs"]
mod hostile_bodies;

use crate::service::Service;
use crate::{check, delivery, job_counts, Args, Tickets};

/// The review's target: `/healthz` answers within this while the service is under attack.
const HEALTH_TARGET: Duration = Duration::from_millis(100);
/// The review's target for one 1 MiB body of any shape.
const MEMORY_TARGET_MIB: f64 = 100.0;

/// Latency figures of one probe.
struct Latencies(Vec<Duration>);

impl Latencies {
    fn at(&self, p: f64) -> Duration {
        let mut sorted = self.0.clone();
        sorted.sort();
        let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1]
    }

    fn line(&self) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        format!(
            "n {}  p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
            self.0.len(),
            ms(self.at(0.5)),
            ms(self.at(0.99)),
            ms(self.at(1.0))
        )
    }
}

/// Runs the four probes; false when a target was missed or a request failed.
pub async fn run(
    http: &reqwest::Client,
    url: &str,
    service: &Service,
    db: &mut AnyConnection,
    args: &Args,
) -> bool {
    let mut ok = true;
    let started_with = service.memory_mib("VmRSS:");
    let idle = health(http, url, 100).await;
    println!("idle: /healthz {}", idle.line());

    let slow = slow_clients(url, args.slow_clients).await;
    let under_loris = health(http, url, 100).await;
    let (mut deliveries, mut refused) = (Vec::new(), Vec::new());
    for i in 0..20 {
        let started = Instant::now();
        let answer = deliver(
            http,
            url,
            args,
            delivery(args.first_ticket + i, Tickets::Password).to_string(),
        )
        .await;
        deliveries.push(started.elapsed());
        refused.extend((answer != 202).then_some(answer));
    }
    ok &= check(
        "slow-loris: 20 deliveries accepted meanwhile",
        refused.is_empty(),
        format!("other answers: {refused:?}"),
    );
    println!(
        "{} slow unauthenticated connections: /healthz {}",
        slow.len(),
        under_loris.line()
    );
    println!("  deliveries meanwhile: {}", Latencies(deliveries).line());
    ok &= check(
        "slow-loris: /healthz p99 within 100 ms",
        under_loris.at(0.99) < HEALTH_TARGET,
        String::new(),
    );
    drop(slow);

    let first = args.first_ticket + 20;
    let html = hostile_bodies::hostile_html();
    for (i, (_, html)) in html.iter().chain(&html).enumerate() {
        let mut body = delivery(first + i as i64, Tickets::Password);
        body["ticket"]["details"] = json!(null);
        body["ticket"]["details_html"] = json!(html);
        let answer = deliver(http, url, args, body.to_string()).await;
        ok &= check(
            "hostile HTML: delivery accepted",
            answer == 202,
            format!("{answer}"),
        );
    }
    let hostile_range = (first, first + 3);
    let started = Instant::now();
    let mut during = Vec::new();
    while started.elapsed() < Duration::from_secs(120) {
        let counts = job_counts(db, hostile_range).await;
        if counts.get("done").copied().unwrap_or(0) == 4 {
            break;
        }
        during.extend(health(http, url, 10).await.0);
    }
    let jobs_secs = started.elapsed().as_secs_f64();
    let during = Latencies(during);
    println!(
        "4 jobs on 1 MiB of hostile HTML (2 x {}, 2 x {}): done {jobs_secs:.2} s after the last delivery; /healthz meanwhile {}",
        html[0].0,
        html[1].0,
        during.line()
    );
    ok &= check(
        "hostile HTML: /healthz max within 100 ms",
        during.at(1.0) < HEALTH_TARGET,
        String::new(),
    );

    println!(
        "resident set: {started_with:.1} MiB at start, {:.1} MiB before the memory probes",
        service.memory_mib("VmRSS:")
    );
    for (shape, body) in hostile_bodies::one_mebibyte_shapes() {
        // Resets the peak (VmHWM) to the current resident set (Linux 4.0 and later).
        let clear_refs = format!("/proc/{}/clear_refs", service.child.id());
        let _ = std::fs::write(clear_refs, "5");
        let before = service.memory_mib("VmRSS:");
        let answers = four_at_once(http, url, args, &body).await;
        let peak = service.memory_mib("VmHWM:");
        println!(
            "{shape} ({} KiB) x 4 at once: answered {answers:?}, resident {before:.1} MiB before, peak {peak:.1} MiB",
            body.len() / 1024
        );
        ok &= check(
            "memory: peak under 100 MiB",
            peak < MEMORY_TARGET_MIB,
            String::new(),
        );
    }
    ok
}

/// `count` sequential `/healthz` requests, 10 ms apart; a failed request counts as 10 s.
async fn health(http: &reqwest::Client, url: &str, count: usize) -> Latencies {
    let mut latencies = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        let answer = http
            .get(format!("{url}/healthz"))
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        let ok = answer.is_ok_and(|a| a.status().is_success());
        latencies.push(match ok {
            true => started.elapsed(),
            false => Duration::from_secs(10),
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Latencies(latencies)
}

/// Connections that send half a request's headers and then nothing.
async fn slow_clients(url: &str, count: usize) -> Vec<TcpStream> {
    let address = url.trim_start_matches("http://");
    let mut streams = Vec::with_capacity(count);
    for _ in 0..count {
        let Ok(mut stream) = TcpStream::connect(address).await else {
            break;
        };
        let _ = stream
            .write_all(b"POST /hooks/halo HTTP/1.1\r\nHost: x\r\n")
            .await;
        streams.push(stream);
    }
    streams
}

async fn deliver(http: &reqwest::Client, url: &str, args: &Args, body: String) -> u16 {
    http.post(format!("{url}/hooks/halo"))
        .bearer_auth(&args.token)
        .header("content-type", "application/json")
        .timeout(Duration::from_secs(60))
        .body(body)
        .send()
        .await
        .map_or(0, |answer| answer.status().as_u16())
}

/// The same body four times at once; the statuses.
async fn four_at_once(http: &reqwest::Client, url: &str, args: &Args, body: &str) -> [u16; 4] {
    let send = || deliver(http, url, args, body.to_string());
    let (a, b, c, d) = tokio::join!(send(), send(), send(), send());
    [a, b, c, d]
}
