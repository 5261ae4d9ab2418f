//! Console page times: signs in to a running service's console and fetches each page
//! `--rounds` times, beside `/healthz` (the HTTP round trip alone) in the same run, and
//! prints the median, p95 and slowest time of each. For docs/benchmarks.md, against a
//! store filled by `scripts/store_fixture.py`:
//!
//! ```sh
//! HALO_TRIAGE__STORE__PATH=/tmp/store.db target/release/halo-triage report >/dev/null
//! python3 scripts/store_fixture.py /tmp/store.db
//! HALO_TRIAGE__STORE__PATH=/tmp/store.db HALO_TRIAGE__ADMIN__TOKEN=console-bench-token-0123456789 \
//!   HALO_TRIAGE__WEBHOOK__TOKEN=console-bench-hook-0123456789 target/release/halo-triage serve &
//! cargo run --release --example console_pages -- --url http://127.0.0.1:8080 \
//!   --token console-bench-token-0123456789
//! ```

use std::time::{Duration, Instant};

use clap::Parser;
use reqwest::header::{COOKIE, SET_COOKIE};

#[derive(Parser)]
#[command(about = "Times every console page of a running service")]
struct Args {
    /// Base URL of the service (its admin listener when admin.listen is set).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The service's admin token.
    #[arg(long)]
    token: String,
    /// Fetches per page.
    #[arg(long, default_value_t = 30)]
    rounds: usize,
}

/// The pages timed: the list pages, a search of each kind, one decision.
const PAGES: [&str; 11] = [
    "/healthz",
    "/ui",
    "/ui/decisions",
    "/ui/decisions?ticket=54321",
    "/ui/decisions?client=client%20042",
    "/ui/decisions?team=netw",
    "/ui/decisions/50000",
    "/ui/dead-letters",
    "/ui/agreement",
    "/ui/rules",
    "/ui/model",
];

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let base = args.url.trim_end_matches('/');
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client");
    let signed_in = http
        .post(format!("{base}/ui/sign-in"))
        .form(&[("token", &args.token)])
        .send()
        .await
        .expect("the service answers");
    let cookie = signed_in
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no session: the sign-in answered {}", signed_in.status()))
        .to_string();
    println!(
        "{:<36} {:>9} {:>9} {:>9} {:>9}",
        "page", "median", "p95", "max", "bytes"
    );
    for page in PAGES {
        let mut times = Vec::with_capacity(args.rounds);
        let mut bytes = 0;
        for _ in 0..args.rounds.max(1) {
            let started = Instant::now();
            let response = http
                .get(format!("{base}{page}"))
                .header(COOKIE, &cookie)
                .send()
                .await
                .expect("the page answers");
            assert!(
                response.status().is_success(),
                "{page}: {}",
                response.status()
            );
            bytes = response.bytes().await.expect("the page arrives").len();
            times.push(started.elapsed());
        }
        times.sort();
        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
        println!(
            "{page:<36} {:>9} {:>9} {:>9} {bytes:>9}",
            ms(quantile(&times, 0.5)),
            ms(quantile(&times, 0.95)),
            ms(*times.last().unwrap())
        );
    }
}
