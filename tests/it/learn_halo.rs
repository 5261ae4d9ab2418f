//! `halo-triage learn` from the configured Halo: closed tickets read page by page through
//! the rate budget (a 429 on the way is waited out), labelled with the final values, and a
//! ticket whose team is no longer active left out.

use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, Request, ResponseTemplate};

use crate::common::{binary, halo_env, received};
use crate::llm::halo;
use halo_triage::learning::Model;

const CLOSED: usize = 250;

/// Closed ticket `i`: a team and a category that follow from its words, every fifth on
/// the inactive "Legacy Team".
fn closed_ticket(i: usize) -> Value {
    let (words, team, category) = match i % 5 {
        0 => ("telex ribbon jammed", "Legacy Team", "Hardware"),
        1 | 3 => ("uplink controller flapping", "Network", "Hardware"),
        _ => ("desk move chairs", "Service Desk", "Facilities"),
    };
    json!({"id": 9000 + i, "summary": format!("{words} {i}"), "details": words,
           "team": team, "category_1": category, "user_email": "", "agent_id": 0})
}

#[tokio::test]
async fn learn_reads_closed_tickets_by_page_through_a_rate_limit_and_skips_inactive_labels() {
    let halo = halo().await;
    // Page 2 is refused once with a rate limit, then served.
    Mock::given(method("GET"))
        .and(path("/api/Tickets"))
        .and(query_param("page_no", "2"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&halo)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/Tickets"))
        .respond_with(|request: &Request| {
            let query = |key: &str| {
                request
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.parse::<usize>().unwrap())
                    .unwrap()
            };
            let (page, size) = (query("page_no"), query("page_size"));
            let tickets: Vec<Value> = ((page - 1) * size..(page * size).min(CLOSED))
                .map(closed_ticket)
                .collect();
            ResponseTemplate::new(200)
                .set_body_json(json!({"record_count": CLOSED, "tickets": tickets}))
        })
        .mount(&halo)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("learn.toml");
    let models = dir.path().join("models");
    std::fs::write(
        &config,
        format!(
            "[learn]\nfields = [\"team\", \"category_1\"]\nmonths = 6\nmax_tickets = 1000\n\n[model]\ndir = \"{}\"\n",
            models.display()
        ),
    )
    .unwrap();
    let mut command = binary();
    command.args(["--config", config.to_str().unwrap(), "learn"]);
    halo_env(&mut command, &halo);
    command.env("HALO_TRIAGE__STORE__PATH", dir.path().join("learn.db"));
    command.env("HALO_TRIAGE__HALO__MAX_RETRIES", "2");
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    );
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("250 tickets closed since "), "{stdout}");
    // Its requests came out of the budget the service shares through the store.
    let rates = std::fs::read_to_string(dir.path().join("learn.db-rates")).unwrap();
    assert!(rates.starts_with("halo "), "{rates}");
    assert!(
        stdout.contains("== team: 200 tickets with a label, 0 without one, 50 whose label is no longer in use in Halo (left out)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("== category_1: 250 tickets with a label"),
        "{stdout}"
    );
    // Not a terminal: one progress line per page.
    assert!(
        stderr.contains("learn: read 100 of 250 closed tickets"),
        "{stderr}"
    );
    assert!(
        stderr.contains("learn: read 250 of 250 closed tickets"),
        "{stderr}"
    );

    let team = Model::load(&models.join("team.model")).unwrap();
    assert_eq!(
        team.labels,
        ["Network", "Service Desk"],
        "Legacy Team is never learnt"
    );
    assert_eq!(team.info.examples, 200);
    assert_eq!(
        team.predict("the uplink controller is flapping").label,
        "Network"
    );
    let category = Model::load(&models.join("category_1.model")).unwrap();
    assert_eq!(category.labels, ["Facilities", "Hardware"]);

    // Three pages of 100, one of them asked twice; every one a closed-ticket date search.
    let requests = halo.received_requests().await.unwrap();
    let listings: Vec<_> = requests
        .iter()
        .filter(|r| r.url.path() == "/api/Tickets")
        .collect();
    assert_eq!(listings.len(), 4, "{listings:?}");
    for listing in &listings {
        let query: Vec<(String, String)> = listing.url.query_pairs().into_owned().collect();
        for expected in [
            ("closed_only", "true"),
            ("datesearch", "datecleared"),
            ("page_size", "100"),
        ] {
            assert!(
                query.contains(&(expected.0.to_string(), expected.1.to_string())),
                "{query:?}"
            );
        }
    }
    assert!(received(&halo, "POST", "/api/Tickets").await.is_empty());
}

#[test]
fn learn_without_an_export_needs_halo_credentials() {
    let output = binary().arg("learn").output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!output.status.success());
    assert!(stderr.contains("no Halo credentials"), "{stderr}");
    assert!(stderr.contains("--from FILE"), "{stderr}");
}

#[tokio::test]
async fn learn_since_takes_a_date_and_not_an_export() {
    let halo = halo().await;
    let mut command = binary();
    halo_env(&mut command, &halo);
    let output = command
        .args(["learn", "--since", "last month"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!output.status.success());
    assert!(
        stderr.contains("--since: 'last month' is not a date"),
        "{stderr}"
    );
    assert!(received(&halo, "GET", "/api/Tickets").await.is_empty());

    let output = binary()
        .args(["learn", "--since", "2026-11-01", "--from", "x.csv"])
        .args([
            "--text", "a", "--label", "b", "--field", "team", "--out", "m",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!output.status.success());
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}
