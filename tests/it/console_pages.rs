//! The console's pages over plain HTTP, each on the data it shows: decisions searched and
//! explained, the day's jobs, Halo's budget and the LLM on the overview, rule hits, the
//! agreement report and the model's figures; and the page a failing store gives.

use std::time::Duration;

use serde_json::json;

use crate::admin::ADMIN_TOKEN;
use crate::common::{fixture_json, halo_with, mount_halo, shipped, spawn_with};
use crate::console::{text, Operator};

/// The shipped rules on a ticket of `client` about `summary`.
fn delivery(ticket_id: i64, client: &str, summary: &str) -> String {
    let mut delivery = fixture_json("webhook-new-ticket-full.json");
    delivery["id"] = json!(format!("delivery-{ticket_id}"));
    delivery["object_id"] = json!(ticket_id);
    delivery["ticket"]["id"] = json!(ticket_id);
    delivery["ticket"]["client_name"] = json!(client);
    delivery["ticket"]["summary"] = json!(summary);
    delivery["ticket"]["details"] = json!(summary);
    delivery.to_string()
}

/// Ticket ids in the order a decisions page lists them.
fn listed_tickets(page: &str) -> Vec<i64> {
    let found = regex::Regex::new(r"<td>#(\d+)</td>").unwrap();
    found
        .captures_iter(page)
        .map(|c| c[1].parse().unwrap())
        .collect()
}

#[tokio::test]
async fn decisions_are_found_by_ticket_client_and_team_and_explain_themselves() {
    let halo = wiremock::MockServer::start().await;
    mount_halo(&halo).await;
    let app = spawn_with(
        Some(&halo),
        &[
            ("ADMIN__TOKEN", ADMIN_TOKEN),
            // 57 tickets at four requests each: beyond the default budget's pace.
            ("HALO__REQUESTS_PER_5MIN", "100000"),
        ],
    )
    .await;
    app.deliver(delivery(
        501,
        "Globex Corporation",
        "Outlook keeps asking for my password",
    ))
    .await;
    app.deliver(delivery(502, "Initech", "The VPN keeps dropping"))
        .await;
    for id in 503..=557 {
        app.deliver(delivery(
            id,
            "Umbrella Ltd",
            "Question about the office move",
        ))
        .await;
    }
    app.drain().await;
    let operator = Operator::sign_in(&app, ADMIN_TOKEN).await;

    let (_, page) = operator.get("/ui/decisions?ticket=502").await;
    assert_eq!(listed_tickets(&page), vec![502]);
    let (_, page) = operator.get("/ui/decisions?ticket=%23501").await;
    assert_eq!(listed_tickets(&page), vec![501], "#501 is 501");
    let (_, page) = operator.get("/ui/decisions?client=glob").await;
    assert_eq!(listed_tickets(&page), vec![501], "prefix, any case");
    let (status, page) = operator.get("/ui/decisions?client=%25").await;
    assert_eq!(status, 200);
    assert!(
        text(&page).contains("No decision matches."),
        "% is taken literally"
    );
    assert_eq!(
        app.decision(502).await.decision["fields"]["team"]["value"],
        "Network"
    );
    let (_, page) = operator.get("/ui/decisions?team=netw").await;
    assert_eq!(listed_tickets(&page), vec![502], "the team it goes to");

    // Newest first, 50 a page, then the older ones.
    let (_, first) = operator.get("/ui/decisions").await;
    let listed = listed_tickets(&first);
    assert_eq!(listed.len(), 50);
    assert_eq!(listed[0], 557);
    let older = regex::Regex::new(r#"href="(/ui/decisions\?[^"]*before=\d+)""#).unwrap();
    let next = older.captures(&first).expect("a link to older decisions")[1].replace("&amp;", "&");
    let (_, second) = operator.get(&next).await;
    assert_eq!(
        listed_tickets(&second),
        vec![507, 506, 505, 504, 503, 502, 501]
    );
    assert!(!older.is_match(&second), "no page after the last");

    let (status, page) = operator.get("/ui/decisions?ticket=abc").await;
    assert_eq!(status, 400);
    assert!(text(&page).contains("'abc' is not a ticket number."));

    // One decision, explained.
    let id: i64 = sqlx::query_scalar("SELECT id FROM decisions WHERE ticket_id = 501")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    let (status, page) = operator.get(&format!("/ui/decisions/{id}")).await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!(r#"href="{}/tickets?id=501""#, halo.uri())));
    let page = text(&page);
    for expected in [
        "Ticket #501",
        "Globex Corporation",
        "rule 'password-and-lockout' matched: the text contains 'password'",
        "category_1 to rule 'password-and-lockout'",
        "This update was written to the ticket.",
        "\"category_1\": \"Accounts\"",
        "Acknowledgement: sent",
    ] {
        assert!(page.contains(expected), "{expected} in {page}");
    }
    let (status, page) = operator.get("/ui/decisions/999999").await;
    assert_eq!(status, 404);
    assert!(text(&page).contains("There is no decision 999999"));
}

#[tokio::test]
async fn the_overview_shows_the_day_s_jobs_halo_s_budget_and_the_llm() {
    let halo = crate::llm::halo().await;
    let llm = crate::llm::llm(crate::llm::ok(&crate::llm::answer("Service Desk", 0.95))).await;
    let app = crate::llm::app(
        &halo,
        &llm,
        &[
            ("ADMIN__TOKEN", ADMIN_TOKEN),
            ("LLM__DAILY_TOKEN_BUDGET", "100000"),
        ],
    )
    .await;
    app.deliver(crate::llm::office_move("a", 41234, "Which desk do I get?"))
        .await;
    app.drain().await;
    let operator = Operator::sign_in(&app, ADMIN_TOKEN).await;
    let (_, page) = operator.get("/ui").await;
    assert!(page.contains(r#"aria-label="jobs per hour over the last 24 hours""#));
    let page = text(&page);
    for expected in [
        "Mode: live",
        "Queued 0",
        "Dead letters 0",
        "1 done, 0 retried (more than one attempt), 0 dead.",
        "State answering",
        "Calls 1",
        // The stand-in LLM's usage: 812 + 64.
        "Tokens 876 of 100000 (1%)",
        "rules, version",
        "Last reload ok",
    ] {
        assert!(page.contains(expected), "{expected} in {page}");
    }
    let budget = regex::Regex::new(r"Rate budget left (\d+) of 250 requests").unwrap();
    let left: u32 = budget.captures(&page).expect("the budget")[1]
        .parse()
        .unwrap();
    assert!(left < 250, "the job's requests are counted: {left}");
}

#[tokio::test]
async fn rule_hits_count_a_retried_job_once_and_idle_rules_are_listed() {
    let refused = wiremock::ResponseTemplate::new(500).set_body_string("Database unavailable");
    let halo = halo_with(&[("POST", "/api/Tickets", refused)]).await;
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::copy(shipped("config/rules.toml"), &rules).unwrap();
    let app = spawn_with(
        Some(&halo),
        &[
            ("ADMIN__TOKEN", ADMIN_TOKEN),
            ("RULES__PATH", rules.to_str().unwrap()),
            ("WORKER__MAX_ATTEMPTS", "3"),
            ("HALO__MAX_RETRIES", "0"),
        ],
    )
    .await;
    app.deliver(fixture_json("webhook-new-ticket-full.json").to_string())
        .await;
    for _ in 0..3 {
        app.make_retries_due().await;
        app.drain().await;
    }
    assert_eq!(app.job_row(1).await.status, "dead");
    assert_eq!(app.job_row(1).await.attempts, 3);
    let hits: Vec<(String, i64)> = sqlx::query_as("SELECT rule, hits FROM rule_hits ORDER BY rule")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    assert_eq!(
        hits,
        vec![("email".into(), 1), ("password-and-lockout".into(), 1)],
        "three attempts, one decision"
    );

    let operator = Operator::sign_in(&app, ADMIN_TOKEN).await;
    let (_, page) = operator.get("/ui/rules").await;
    let page = text(&page);
    for expected in [
        "rules in force from",
        "The last reload was taken.",
        "email 1 1",
        "password-and-lockout 1 1",
        "Never matched in 30 days",
        "printer (",
    ] {
        assert!(page.contains(expected), "{expected} in {page}");
    }
    assert!(!page.contains("email ("), "a rule that matched is not idle");

    // A broken edit is refused; the page says so and why.
    std::fs::write(&rules, "[[rule]]\nname = ").unwrap();
    assert!(app.rules.reload().is_err());
    let (_, page) = operator.get("/ui/rules").await;
    let page = text(&page);
    assert!(
        page.contains("The last reload was refused; the rules above stay in force:"),
        "{page}"
    );
    let (_, overview) = operator.get("/ui").await;
    assert!(text(&overview).contains("Last reload refused:"));
}

#[tokio::test]
async fn the_agreement_page_shows_the_report_the_read_back_counted() {
    use crate::report::{app, halo, rules_file, triage, ADMIN_TOKEN};
    let halo = halo(7001..=7010).await;
    let dir = tempfile::tempdir().unwrap();
    let app = app(&halo, &rules_file(&dir), &[]).await;
    triage(&app, &halo).await;
    let operator = Operator::sign_in(&app, ADMIN_TOKEN).await;
    let (_, page) = operator.get("/ui/agreement").await;
    assert!(
        text(&page).contains("Nothing has been read back yet."),
        "before any pass, one is counted here: {page}"
    );

    for id in [7002, 7004, 7006, 7001, 7003] {
        let team = if id % 2 == 0 {
            "Network"
        } else {
            "Service Desk"
        };
        halo.agent_sets(id, "team", json!(team)); // agree
    }
    halo.agent_sets(7008, "team", json!("Service Desk")); // overrides the rule
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.read_back.as_ref().unwrap().pass().await.unwrap();

    let (_, page) = operator.get("/ui/agreement").await;
    assert!(page.contains(r#"aria-label="agreement per field""#));
    assert!(page.contains(r#"aria-label="team agreement heat map""#));
    // The override is a cell of its own: Service Desk set where we said Network.
    assert!(
        page.contains("<title>Service Desk as Network: 1</title>"),
        "{page}"
    );
    let page = text(&page);
    for expected in [
        "10 decisions read back, 0 waiting to settle.",
        "5 of 6 (83.3%)",
        "team 6 5 83.3% 4",
        "Rules people overrode most",
        "vpn team 4 1 75.0%",
    ] {
        assert!(page.contains(expected), "{expected} in {page}");
    }
}

#[tokio::test]
async fn the_model_page_shows_each_model_s_held_out_figures_and_curve() {
    let app = spawn_with(None, &[("ADMIN__TOKEN", ADMIN_TOKEN)]).await;
    let operator = Operator::sign_in(&app, ADMIN_TOKEN).await;
    let (_, page) = operator.get("/ui/model").await;
    assert!(text(&page).contains("No model is loaded."));

    let dir = tempfile::tempdir().unwrap();
    crate::model_pipeline::train_team_model(dir.path());
    let models = dir.path().join("models");
    let app = spawn_with(
        None,
        &[
            ("ADMIN__TOKEN", ADMIN_TOKEN),
            ("MODEL__DIR", models.to_str().unwrap()),
        ],
    )
    .await;
    let operator = Operator::sign_in(&app, ADMIN_TOKEN).await;
    let (_, page) = operator.get("/ui/model").await;
    assert!(page.contains(r#"aria-label="precision against coverage""#));
    assert!(page.contains("<h2>team</h2>"), "{page}");
    let page = text(&page);
    for expected in [
        "held-out tickets: macro-F1",
        "at precision 0.90:",
        "Per label",
        "Legacy Team",
    ] {
        assert!(page.contains(expected), "{expected} in {page}");
    }
}

#[tokio::test]
async fn a_failing_store_answers_503_with_the_reason() {
    let halo = wiremock::MockServer::start().await;
    mount_halo(&halo).await;
    // The read-back runs, but its first pass fails (the stand-in lists no tickets back):
    // nothing has counted the agreement report when the page is asked for it.
    let app = spawn_with(
        Some(&halo),
        &[
            ("ADMIN__TOKEN", ADMIN_TOKEN),
            ("REPORT__INTERVAL_SECS", "600"),
        ],
    )
    .await;
    let operator = Operator::sign_in(&app, ADMIN_TOKEN).await;
    sqlx::query("DROP TABLE rule_hits")
        .execute(app.store.pool())
        .await
        .unwrap();
    let (status, page) = operator.get("/ui/rules").await;
    assert_eq!(status, 503);
    let page = text(&page);
    assert!(page.contains("The store is not answering"), "{page}");
    assert!(page.contains("reading rule hits"), "{page}");
    // So the page counts it, and says why it cannot.
    sqlx::query("DROP TABLE readbacks")
        .execute(app.store.pool())
        .await
        .unwrap();
    let (status, page) = operator.get("/ui/agreement").await;
    assert_eq!(status, 503, "{page}");
    sqlx::query("DROP TABLE console_sessions")
        .execute(app.store.pool())
        .await
        .unwrap();
    let (status, page) = operator.get("/ui").await;
    assert_eq!(status, 503);
    assert!(text(&page).contains("reading a console session"));
    let signing_in = reqwest::Client::new()
        .post(app.url("/ui/sign-in"))
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(signing_in.status(), 503);
    assert!(text(&signing_in.text().await.unwrap()).contains("removing ended console sessions"));
}

#[tokio::test]
async fn without_a_read_back_the_agreement_report_is_counted_at_start() {
    // No Halo credentials: no read-back will count the report, so the service did.
    let app = spawn_with(None, &[("ADMIN__TOKEN", ADMIN_TOKEN)]).await;
    let operator = Operator::sign_in(&app, ADMIN_TOKEN).await;
    // The page does not count again: it answers even though the counts are gone now.
    sqlx::query("DROP TABLE readbacks")
        .execute(app.store.pool())
        .await
        .unwrap();
    let (status, page) = operator.get("/ui/agreement").await;
    assert_eq!(status, 200, "{page}");
    assert!(text(&page).contains("0 decisions read back, 0 waiting to settle. Counted"));
}
