//! The shadow agreement report: decisions are read back from a stand-in Halo that keeps
//! state once they settle (or their ticket closes), compared with what agents set, and
//! counted exactly, with the Halo requests the read-back made.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::stateful_halo::{delivery_of, ticket, StatefulHalo};
use crate::common::{binary, halo_env, spawn_with, Served, TestApp};

pub(crate) const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

/// VPN tickets go to Network by rule; everything else to the Service Desk by default.
const RULES: &str = r#"
timezone = "UTC"

[defaults]
team = "Service Desk"

[[rule]]
name = "vpn"
when = { field = "summary", contains_any = ["vpn"] }
set = { team = "Network" }
"#;

pub(crate) fn rules_file(dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, RULES).unwrap();
    path.display().to_string()
}

fn summary(id: i64) -> &'static str {
    match id % 2 {
        0 => "VPN drops every hour",
        _ => "Outlook keeps asking for my password",
    }
}

pub(crate) async fn halo(ids: std::ops::RangeInclusive<i64>) -> StatefulHalo {
    let tickets = ids.map(|id| ticket(id, summary(id))).collect();
    StatefulHalo::start(tickets, Duration::ZERO).await
}

pub(crate) async fn app(halo: &StatefulHalo, rules: &str, extra: &[(&str, &str)]) -> TestApp {
    let mut overrides = vec![
        ("MODE", "shadow"),
        ("RULES__PATH", rules),
        ("ADMIN__TOKEN", ADMIN_TOKEN),
        ("REPORT__SETTLE_SECS", "1"),
    ];
    overrides.extend_from_slice(extra);
    spawn_with(Some(&halo.server), &overrides).await
}

/// Delivers and triages the tickets Halo holds.
pub(crate) async fn triage(app: &TestApp, halo: &StatefulHalo) {
    let tickets = halo.tickets();
    for ticket in &tickets {
        assert_eq!(app.deliver(delivery_of(ticket)).await.status(), 202);
    }
    app.drain().await;
}

async fn admin_report(app: &TestApp, query: &str) -> reqwest::Response {
    app.http
        .get(app.url(&format!("/admin/report{query}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
}

fn field<'a>(report: &'a Value, name: &str) -> &'a Value {
    let fields = report["fields"].as_array().unwrap();
    fields.iter().find(|f| f["field"] == name).unwrap()
}

fn source<'a>(field: &'a Value, kind: &str) -> &'a Value {
    let sources = field["by_source"].as_array().unwrap();
    sources.iter().find(|s| s["source"] == kind).unwrap()
}

#[tokio::test]
async fn shadow_decisions_are_compared_with_what_agents_set_once_settled() {
    // Even ids are VPN tickets (rule 'vpn' says Network), odd ones get the default.
    let halo = halo(7001..=7010).await;
    let dir = tempfile::tempdir().unwrap();
    let app = app(&halo, &rules_file(&dir), &[]).await;
    triage(&app, &halo).await;
    assert_eq!(
        halo.state.lock().unwrap().updates.len(),
        0,
        "shadow mode writes nothing"
    );

    // Agents work the tickets.
    for id in [7002, 7004, 7006] {
        halo.agent_sets(id, "team", json!("Network")); // agree with the rule
    }
    halo.agent_sets(7008, "team", json!("Service Desk")); // overrides the rule
    for id in [7001, 7003] {
        halo.agent_sets(id, "team", json!("Service Desk")); // agree with the default
    }
    halo.agent_sets(7005, "team", json!("Network")); // overrides the default
    halo.agent_sets(7007, "team", json!("Service Desk"));
    halo.agent_closes(7007); // agrees, and is closed
                             // 7009 and 7010: nobody touched them.
                             // A team model trained before the corrections arrive.
    crate::model_pipeline::train_team_model(dir.path());
    let models = dir.path().join("models");
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let read_back = app.read_back.as_ref().unwrap();
    let pass = read_back.pass().await.unwrap();
    assert_eq!((pass.read_back, pass.gone), (10, 0));
    let lists = halo.list_queries().await;
    assert_eq!(
        pass.requests, 2,
        "one list of closed tickets, one by id: {lists:?}"
    );
    assert_eq!(lists.len(), 2);
    assert_eq!(lists[0]["datesearch"], "datecleared");
    let mut asked: Vec<&str> = lists[1]["ticketids"].split(',').collect();
    asked.sort_unstable();
    // 7007 came with the closed tickets.
    let settled: Vec<String> = (7001..=7010)
        .filter(|id| *id != 7007)
        .map(|id| id.to_string())
        .collect();
    assert_eq!(
        asked,
        settled.iter().map(String::as_str).collect::<Vec<_>>()
    );

    assert_eq!(app.count("SELECT COUNT(*) FROM readbacks").await, 10);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM decisions WHERE read_back_at IS NULL")
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM readbacks WHERE outcome = 'untouched'")
            .await,
        2
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM readbacks WHERE set_by = 'other' AND outcome = 'disagreed'"
        )
        .await,
        2
    );

    let response = admin_report(&app, "").await;
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    let team = field(&report, "team");
    assert_eq!(team["compared"], 8);
    assert_eq!(team["agreed"], 6);
    assert_eq!(team["agreement"], 0.75);
    assert_eq!(team["untouched"], 2);
    assert_eq!(team["live"]["compared"], 0, "shadow mode wrote nothing");
    let rule = source(team, "rule");
    assert_eq!(
        (&rule["name"], &rule["compared"], &rule["agreed"]),
        (&json!("vpn"), &json!(4), &json!(3))
    );
    let default = source(team, "default");
    assert_eq!(
        (&default["compared"], &default["agreed"]),
        (&json!(4), &json!(3))
    );
    assert_eq!(report["worst_rules"][0]["rule"], "vpn");
    assert_eq!(report["worst_rules"][0]["overridden"], 1);
    assert_eq!(
        report["ready"],
        json!([]),
        "8 tickets are fewer than report.ready_min"
    );
    let disagreements = report["disagreements"].as_array().unwrap();
    assert_eq!(disagreements.len(), 2);
    let overridden_rule = disagreements
        .iter()
        .find(|d| d["ours"] == "Network")
        .unwrap();
    assert_eq!(overridden_rule["tickets"], json!([7008]));

    // A second pass counts nothing again and asks Halo only for newly closed tickets.
    let again = read_back.pass().await.unwrap();
    assert_eq!((again.read_back, again.requests), (0, 1));
    assert_eq!(app.count("SELECT COUNT(*) FROM readbacks").await, 10);

    // The same figures from the command line, and a field ready once the bar is lower.
    let output = binary()
        .env("HALO_TRIAGE__STORE__URL", &app.store_url)
        .env("HALO_TRIAGE__MODEL__DIR", &models)
        .env("HALO_TRIAGE__REPORT__READY_MIN", "8")
        .env("HALO_TRIAGE__REPORT__READY_AGREEMENT", "0.75")
        .args(["report", "--json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let cli: Value = serde_json::from_slice(&output.stdout).unwrap();
    let team = field(&cli, "team");
    for key in ["field", "compared", "agreed", "agreement", "by_source"] {
        assert!(team.get(key).is_some(), "--json has {key}");
    }
    assert_eq!((&team["compared"], &team["agreed"]), (&json!(8), &json!(6)));
    assert_eq!(cli["ready"], json!(["team"]));
    assert_eq!(cli["corrections"][0]["field"], "team");
    assert_eq!(cli["corrections"][0]["corrections"], 2, "7005 and 7008");

    // learn --since trains on the tickets read back: their final values.
    let asked = halo.list_queries().await.len();
    let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    let mut learn = binary();
    halo_env(&mut learn, &halo.server);
    let learned = learn
        .env("HALO_TRIAGE__STORE__URL", &app.store_url)
        .env("HALO_TRIAGE__MODEL__DIR", &models)
        .env("HALO_TRIAGE__LEARN__FIELDS", "team")
        .args(["learn", "--since", &today])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&learned.stdout);
    assert!(
        learned.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&learned.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "10 tickets read back since {today} read from Halo"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("== team: 8 tickets with a label, 2 without one"),
        "{stdout}"
    );
    let lists = halo.list_queries().await;
    assert_eq!(lists.len() - asked, 1, "ten tickets, one request");
    assert_eq!(lists[asked]["ticketids"].split(',').count(), 10);
    let output = binary()
        .env("HALO_TRIAGE__STORE__URL", &app.store_url)
        .env("HALO_TRIAGE__MODEL__DIR", &models)
        .args(["report", "--json"])
        .output()
        .unwrap();
    let after: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        after["corrections"][0]["corrections"], 0,
        "none since the new model"
    );
    let table = binary()
        .env("HALO_TRIAGE__STORE__URL", &app.store_url)
        .arg("report")
        .output()
        .unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table.contains("10 decisions read back, 0 waiting"),
        "{table}"
    );
    assert!(table.contains("'vpn' on team: 1 of 4 changed"), "{table}");
    assert!(
        table.contains("we said 'Network', people set 'Service Desk': 1 ticket (latest #7008)"),
        "{table}"
    );
}

#[tokio::test]
async fn a_closed_ticket_is_read_back_before_it_settles_and_since_filters_by_date() {
    let halo = halo(7101..=7103).await;
    let dir = tempfile::tempdir().unwrap();
    let app = app(&halo, &rules_file(&dir), &[("REPORT__SETTLE_SECS", "3600")]).await;
    triage(&app, &halo).await;
    halo.agent_sets(7102, "team", json!("Network"));
    halo.agent_closes(7102);

    let pass = app.read_back.as_ref().unwrap().pass().await.unwrap();
    assert_eq!(
        (pass.read_back, pass.requests),
        (1, 1),
        "only the closed ticket, from one list"
    );
    let report: Value = admin_report(&app, "").await.json().await.unwrap();
    assert_eq!(report["decisions_pending"], 2);
    let team = field(&report, "team");
    assert_eq!((&team["compared"], &team["agreed"]), (&json!(1), &json!(1)));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM readbacks WHERE ticket_id = 7102 AND closed = 1")
            .await,
        1
    );

    // Decisions made after tomorrow: none.
    let tomorrow = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
    let since = tomorrow.strftime("%Y-%m-%d").to_string();
    let later: Value = admin_report(&app, &format!("?since={since}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(later["fields"], json!([]));
    assert_eq!(later["since"], since);
    let refused = admin_report(&app, "?since=yesterday").await;
    assert_eq!(refused.status(), 400);
    let message: Value = refused.json().await.unwrap();
    assert!(message.to_string().contains("YYYY-MM-DD"), "{message}");
    let unauthorized = app.http.get(app.url("/admin/report")).send().await.unwrap();
    assert_eq!(unauthorized.status(), 401);

    let output = binary()
        .env("HALO_TRIAGE__STORE__URL", &app.store_url)
        .args(["report", "--since", "last tuesday"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--since: 'last tuesday' is not a date"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_pass_makes_no_more_halo_requests_than_its_allowance() {
    let halo = halo(7401..=7405).await;
    let dir = tempfile::tempdir().unwrap();
    let limits = [
        ("REPORT__PAGE_SIZE", "1"),
        ("REPORT__MAX_REQUESTS_PER_PASS", "3"),
    ];
    let app = app(&halo, &rules_file(&dir), &limits).await;
    triage(&app, &halo).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let read_back = app.read_back.as_ref().unwrap();
    let mut passes = Vec::new();
    for _ in 0..3 {
        let pass = read_back.pass().await.unwrap();
        passes.push((pass.requests, pass.read_back));
    }
    // Each pass: one list of closed tickets, then tickets by id, a ticket a request.
    assert_eq!(passes, [(3, 2), (3, 2), (2, 1)]);
    assert_eq!(halo.list_queries().await.len(), 8);
    assert_eq!(app.count("SELECT COUNT(*) FROM readbacks").await, 5);
}

#[tokio::test]
async fn a_pass_that_halo_fails_marks_nothing_and_the_next_reads_it_all() {
    let halo = halo(7501..=7502).await;
    let dir = tempfile::tempdir().unwrap();
    let app = app(&halo, &rules_file(&dir), &[("HALO__MAX_RETRIES", "0")]).await;
    triage(&app, &halo).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path("/api/Tickets"))
        .and(wiremock::matchers::query_param_is_missing("datesearch"))
        .respond_with(wiremock::ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&halo.server)
        .await;

    let read_back = app.read_back.as_ref().unwrap();
    let error = read_back.pass().await.unwrap_err().to_string();
    assert!(error.contains("500"), "{error}");
    assert_eq!(app.count("SELECT COUNT(*) FROM readbacks").await, 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM decisions WHERE read_back_at IS NULL")
            .await,
        2
    );
    let pass = read_back.pass().await.unwrap();
    assert_eq!(pass.read_back, 2);
    assert_eq!(app.count("SELECT COUNT(*) FROM readbacks").await, 2);
}

#[tokio::test]
async fn in_live_mode_values_we_wrote_are_kept_changed_or_untouched() {
    let halo = halo(7201..=7204).await;
    let dir = tempfile::tempdir().unwrap();
    let rules = rules_file(&dir);
    let app = app(&halo, &rules, &[("MODE", "live")]).await;
    triage(&app, &halo).await;
    assert_eq!(
        halo.state.lock().unwrap().tickets[&7202]["team"],
        "Network",
        "written"
    );
    halo.agent_sets(7202, "team", json!("Service Desk")); // a person overrides us
    halo.agent_closes(7201); // closed with our value: kept
                             // 7203: our value stands on an open ticket no one touched.
    halo.state.lock().unwrap().tickets.remove(&7204); // deleted in Halo
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let pass = app.read_back.as_ref().unwrap().pass().await.unwrap();
    assert_eq!((pass.read_back, pass.gone), (3, 1));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM decisions WHERE read_back_at IS NULL")
            .await,
        0,
        "a deleted ticket is not asked for again"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM readbacks WHERE ticket_id = 7204")
            .await,
        0
    );
    let report: Value = admin_report(&app, "").await.json().await.unwrap();
    let team = field(&report, "team");
    assert_eq!(
        team["live"],
        json!({"compared": 2, "kept": 1, "changed": 1, "override_rate": 0.5})
    );
    assert_eq!(team["untouched"], 1);
    let set_by = |id: i64| {
        let sql = format!(
            "SELECT COUNT(*) FROM readbacks WHERE ticket_id = {id} AND mode = 'live' AND set_by = "
        );
        (sql.clone() + "'other'", sql + "'service'")
    };
    let (other, service) = set_by(7202);
    assert_eq!((app.count(&other).await, app.count(&service).await), (1, 0));
    let (other, service) = set_by(7201);
    assert_eq!((app.count(&other).await, app.count(&service).await), (0, 1));
}

/// The number of read-back rows, and of distinct decisions among them.
async fn read_backs(db: &std::path::Path) -> (i64, i64) {
    let mut connection = crate::common::read_only(db).await;
    sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT decision_id) FROM readbacks")
        .fetch_one(&mut connection)
        .await
        .unwrap()
}

async fn read_back_tickets(db: &std::path::Path) -> Vec<String> {
    let mut connection = crate::common::read_only(db).await;
    let ids: Vec<i64> = sqlx::query_scalar("SELECT ticket_id FROM readbacks")
        .fetch_all(&mut connection)
        .await
        .unwrap();
    ids.iter().map(i64::to_string).collect()
}

fn serve(halo: &StatefulHalo, db: &std::path::Path, rules: &str) -> Served {
    let mut command = binary();
    halo_env(&mut command, &halo.server);
    command
        .env("HALO_TRIAGE__MODE", "shadow")
        .env("HALO_TRIAGE__SERVER__LISTEN", "127.0.0.1:0")
        .env("HALO_TRIAGE__STORE__PATH", db)
        .env("HALO_TRIAGE__RULES__PATH", rules)
        .env("HALO_TRIAGE__RECONCILE__INTERVAL_SECS", "0")
        .env("HALO_TRIAGE__WORKER__POLL_INTERVAL_MS", "100")
        .env("HALO_TRIAGE__REPORT__SETTLE_SECS", "1")
        .env("HALO_TRIAGE__REPORT__INTERVAL_SECS", "1")
        .env("HALO_TRIAGE__REPORT__PAGE_SIZE", "2");
    Served::start(&mut command)
}

#[tokio::test]
async fn a_service_killed_mid_read_back_counts_every_ticket_once_after_restart() {
    let halo = halo(7301..=7306).await;
    // The second request for tickets by id hangs, so the kill finds the read-back
    // between two pages.
    let by_id = Arc::new(AtomicUsize::new(0));
    let counted = by_id.clone();
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path("/api/Tickets"))
        .and(move |request: &wiremock::Request| {
            let asked = crate::common::stateful_halo::query(request);
            asked.contains_key("ticketids") && counted.fetch_add(1, Ordering::SeqCst) == 1
        })
        .respond_with(wiremock::ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .with_priority(1)
        .mount(&halo.server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let rules = rules_file(&dir);
    let db = dir.path().join("readback.db");

    let first = serve(&halo, &db, &rules);
    let tickets = halo.tickets();
    for ticket in &tickets {
        assert_eq!(first.deliver(delivery_of(ticket)).await.status(), 202);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while by_id.load(Ordering::SeqCst) < 2 {
        assert!(
            Instant::now() < deadline,
            "the read-back never reached a second page"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.kill();
    let (rows, decisions) = read_backs(&db).await;
    assert!(
        (1..=2).contains(&rows) && rows == decisions,
        "the first page only: {rows}"
    );
    let done_before: Vec<String> = read_back_tickets(&db).await;
    let asked_before = halo.list_queries().await.len();

    // The killed process's lease runs out within 30 s.
    let second = serve(&halo, &db, &rules);
    let deadline = Instant::now() + Duration::from_secs(60);
    while read_backs(&db).await.0 < 6 {
        assert!(
            Instant::now() < deadline,
            "the restart did not finish the read-back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let metrics = reqwest::get(format!("http://{}/metrics", second.addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    second.stop().await;
    assert_eq!(read_backs(&db).await, (6, 6), "every ticket counted once");
    let after: Vec<String> = halo.list_queries().await[asked_before..]
        .iter()
        .filter_map(|q| q.get("ticketids").cloned())
        .collect();
    assert!(
        after.iter().all(|ids| ids
            .split(',')
            .all(|id| !done_before.iter().any(|d| d == id))),
        "tickets read back before the kill ({done_before:?}) are not asked for again: {after:?}"
    );
    // Nobody touched a ticket: nothing compared, and the gauges say so.
    assert!(
        metrics.contains("halo_triage_field_compared{field=\"team\"} 0"),
        "{metrics}"
    );
}
