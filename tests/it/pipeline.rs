//! Webhook to Halo end to end: the worker's step function against a wiremock Halo.

use crate::common::{
    fixture, fixture_json, mount_halo, received, spawn, spawn_with, writes, DecisionRow, JobRow,
    OUTCOME_ID,
};
use halo_triage::JobOutcome;
use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn expected_ack() -> Value {
    json!([{
        "ticket_id": 41234,
        "outcome_id": OUTCOME_ID,
        "sendemail": true,
        "emailto": "jane.doe@globex.example",
        "emailsubject": "[ID:41234] We have received your request: Outlook keeps asking for my password",
        "note_html": "<p>Hi Jane Doe,</p>\n<p>Thank you for contacting us. Your request <strong>Outlook keeps asking for my password</strong> has been logged as\nticket 41234 and passed to our Service Desk team.\nWe will be in touch shortly.</p>\n<!-- halo-triage:ack:41234 -->",
        "hiddenfromuser": false,
        "timetaken": 0.0
    }])
}

fn expected_update() -> Value {
    json!([{
        "id": 41234,
        "team": "Service Desk",
        "category_1": "Accounts",
        "category_2": "Password / MFA"
    }])
}

#[tokio::test]
async fn happy_path_updates_the_ticket_and_acknowledges_once() {
    let (halo, app) = crate::common::live(&[]).await;
    assert_eq!(
        app.deliver(fixture("webhook-new-ticket-full.json"))
            .await
            .status(),
        202
    );

    let reports = app.drain().await;
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].outcome, JobOutcome::Done);

    assert_eq!(
        received(&halo, "POST", "/api/Tickets").await,
        [expected_update()]
    );
    assert_eq!(
        received(&halo, "POST", "/api/Actions").await,
        [expected_ack()]
    );
    // A full-object webhook costs one read of the ticket: the acknowledgement goes to the
    // user Halo has, not to whoever the webhook named.
    assert_eq!(received(&halo, "GET", "/api/Tickets/41234").await.len(), 1);
    // The token request is form-encoded client credentials.
    let token = halo
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path() == "/auth/token")
        .unwrap();
    let form = String::from_utf8(token.body).unwrap();
    for field in [
        "grant_type=client_credentials",
        "client_id=triage-client",
        "client_secret=triage-secret",
        "scope=all",
    ] {
        assert!(form.contains(field), "{form}");
    }

    let DecisionRow {
        mode,
        decision,
        ticket_update: update,
        notes,
        applied,
    } = app.decision(41234).await;
    assert_eq!(mode, "live");
    assert!(applied);
    assert_eq!(update, expected_update()[0]);
    assert_eq!(
        decision["fields"]["team"]["source"],
        json!({"kind": "rule", "name": "password-and-lockout"})
    );
    assert_eq!(
        decision["matched_rules"],
        json!(["password-and-lockout", "email"])
    );
    assert!(decision["fields"]["category_1"]["reason"]
        .as_str()
        .unwrap()
        .contains("'password'"));
    assert_eq!(notes, ["acknowledgement sent to jane.doe@globex.example"]);
    assert_eq!(decision["sentiment"]["mood"], "neutral");
    assert_eq!(decision["sentiment"]["source"], "lexicon");
    let JobRow {
        status, attempts, ..
    } = app.job_row(1).await;
    assert_eq!((status.as_str(), attempts), ("done", 1));
    assert_eq!(app.acks_sent(555).await, 1);
}

#[tokio::test]
async fn an_event_only_delivery_reads_the_ticket_from_halo() {
    let (halo, app) = crate::common::live(&[]).await;
    app.deliver(fixture("webhook-event-only.json")).await;
    assert_eq!(app.drain().await[0].outcome, JobOutcome::Done);
    assert_eq!(received(&halo, "GET", "/api/Tickets/41234").await.len(), 1);
    assert_eq!(
        received(&halo, "POST", "/api/Tickets").await,
        [expected_update()]
    );
    assert_eq!(
        received(&halo, "POST", "/api/Actions").await,
        [expected_ack()]
    );
}

#[tokio::test]
async fn lookups_are_cached_across_tickets() {
    let (halo, app) = crate::common::live(&[]).await;
    app.deliver(fixture("webhook-batched.json")).await;
    assert_eq!(app.drain().await.len(), 2);
    assert_eq!(received(&halo, "GET", "/api/Team").await.len(), 1);
    assert_eq!(received(&halo, "POST", "/auth/token").await.len(), 1);
    assert_eq!(received(&halo, "POST", "/api/Actions").await.len(), 2);
}

#[tokio::test]
async fn the_same_delivery_twice_and_concurrently_acknowledges_once() {
    let (halo, app) = crate::common::live(&[]).await;
    let body = fixture("webhook-new-ticket-full.json");
    let (a, b) = tokio::join!(app.deliver(body.clone()), app.deliver(body.clone()));
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (202, 202));
    app.deliver(body).await;
    app.drain().await;
    assert_eq!(received(&halo, "POST", "/api/Actions").await.len(), 1);
    assert_eq!(received(&halo, "POST", "/api/Tickets").await.len(), 1);
}

#[tokio::test]
async fn shadow_mode_with_credentials_records_the_decision_and_writes_nothing() {
    let (halo, app) = crate::common::live(&[("MODE", "shadow")]).await;
    app.deliver(fixture("webhook-event-only.json")).await;
    assert_eq!(app.drain().await[0].outcome, JobOutcome::Done);
    assert_eq!(writes(&halo).await, 0);
    let DecisionRow {
        mode,
        ticket_update: update,
        notes,
        applied,
        ..
    } = app.decision(41234).await;
    assert_eq!((mode.as_str(), applied), ("shadow", false));
    assert_eq!(update, expected_update()[0]);
    assert!(
        notes.contains(&"shadow mode: nothing was written to Halo".to_string()),
        "{notes:?}"
    );
    assert!(notes
        .iter()
        .any(|n| n.starts_with("would send the acknowledgement to jane.doe@globex.example")));
}

#[tokio::test]
async fn without_credentials_a_full_object_delivery_is_decided_from_the_payload() {
    let app = spawn(None).await;
    app.deliver(fixture("webhook-new-ticket-full.json")).await;
    assert_eq!(app.drain().await[0].outcome, JobOutcome::Done);
    let DecisionRow {
        mode,
        decision,
        ticket_update: update,
        notes,
        ..
    } = app.decision(41234).await;
    assert_eq!(mode, "shadow");
    assert_eq!(decision["fields"]["team"]["value"], "Service Desk");
    assert_eq!(update, expected_update()[0]);
    assert!(notes.contains(&"labels not checked against Halo: no credentials".to_string()));
}

#[tokio::test]
async fn without_credentials_an_event_only_delivery_is_dead_with_the_reason() {
    let app = spawn(None).await;
    app.deliver(fixture("webhook-event-only.json")).await;
    let JobOutcome::Dead { error } = &app.drain().await[0].outcome else {
        panic!("expected a dead job")
    };
    assert!(error.contains("no Halo credentials"), "{error}");
    let JobRow {
        status, last_error, ..
    } = app.job_row(1).await;
    assert_eq!(status, "dead");
    assert_eq!(last_error.as_deref(), Some(error.as_str()));
}

#[tokio::test]
async fn an_expired_lease_is_reclaimed_without_a_second_acknowledgement() {
    let (halo, app) = crate::common::live(&[]).await;
    app.deliver(fixture("webhook-new-ticket-full.json")).await;
    app.drain().await;
    // A worker that crashed after posting and recording, before finishing the job: the job
    // is still 'running' with a lease that has run out.
    sqlx::query("UPDATE jobs SET status = 'running', lease_until = 0")
        .execute(app.store.pool())
        .await
        .unwrap();
    let reports = app.drain().await;
    assert_eq!(reports.len(), 1, "the job is claimed again");
    assert_eq!(reports[0].outcome, JobOutcome::Done);
    assert_eq!(app.job_row(1).await.attempts, 2, "a second attempt");
    assert_eq!(received(&halo, "POST", "/api/Actions").await.len(), 1);
    let DecisionRow { notes, .. } = app.decision(41234).await;
    assert!(
        notes.contains(&"acknowledgement already sent earlier: not sent again".to_string()),
        "{notes:?}"
    );
}

#[tokio::test]
async fn a_live_lease_is_not_claimed_twice() {
    let app = spawn(None).await;
    app.deliver(fixture("webhook-new-ticket-full.json")).await;
    sqlx::query("UPDATE jobs SET status = 'running', lease_until = 9999999999999")
        .execute(app.store.pool())
        .await
        .unwrap();
    assert!(app.worker.run_one().await.unwrap().is_none());
}

#[tokio::test]
async fn a_crash_between_posting_and_recording_is_resolved_by_the_marker() {
    let halo = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/Actions"))
        .and(query_param("ticket_id", "41234"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"actions": [
            {"id": 880, "note_html": "<p>Hi</p><!-- halo-triage:ack:41234 -->"}
        ]})))
        .mount(&halo)
        .await;
    mount_halo(&halo).await;
    let app = spawn(Some(&halo)).await;
    app.deliver(fixture("webhook-new-ticket-full.json")).await;
    // The ledger says an acknowledgement was being sent when the process died.
    sqlx::query(
        "INSERT INTO acknowledgements (ticket_id, status, updated_at) VALUES (41234, 'sending', 0)",
    )
    .execute(app.store.pool())
    .await
    .unwrap();
    assert_eq!(app.drain().await[0].outcome, JobOutcome::Done);
    assert!(received(&halo, "POST", "/api/Actions").await.is_empty());
    assert_eq!(app.acks_sent(880).await, 1);
}

#[tokio::test]
async fn a_crash_before_posting_sends_the_acknowledgement_on_retry() {
    let (halo, app) = crate::common::live(&[]).await;
    app.deliver(fixture("webhook-new-ticket-full.json")).await;
    sqlx::query(
        "INSERT INTO acknowledgements (ticket_id, status, updated_at) VALUES (41234, 'sending', 0)",
    )
    .execute(app.store.pool())
    .await
    .unwrap();
    app.drain().await;
    assert_eq!(
        received(&halo, "GET", "/api/Actions").await.len(),
        1,
        "the ticket was searched for the marker"
    );
    assert_eq!(
        received(&halo, "POST", "/api/Actions").await,
        [expected_ack()]
    );
}

#[tokio::test]
async fn a_team_already_set_by_a_person_is_kept() {
    let (halo, app) = crate::common::live(&[]).await;
    let mut delivery = fixture_json("webhook-new-ticket-full.json");
    delivery["ticket"]["team"] = json!("Network");
    delivery["ticket"]["team_id"] = json!(3);
    app.deliver(delivery.to_string()).await;
    app.drain().await;
    assert_eq!(
        received(&halo, "POST", "/api/Tickets").await,
        [json!([{"id": 41234, "category_1": "Accounts", "category_2": "Password / MFA"}])]
    );
    let ack = &received(&halo, "POST", "/api/Actions").await[0];
    assert!(ack[0]["note_html"]
        .as_str()
        .unwrap()
        .contains("our Network team"));
    let DecisionRow { notes, .. } = app.decision(41234).await;
    assert!(notes[0].starts_with("kept team 'Network'"), "{notes:?}");
}

#[tokio::test]
async fn overwrite_team_replaces_a_team_already_set() {
    let (halo, app) = crate::common::live(&[("ACT__OVERWRITE_TEAM", "true")]).await;
    let mut delivery = fixture_json("webhook-new-ticket-full.json");
    delivery["ticket"]["team"] = json!("Network");
    app.deliver(delivery.to_string()).await;
    app.drain().await;
    assert_eq!(
        received(&halo, "POST", "/api/Tickets").await,
        [expected_update()]
    );
}

#[tokio::test]
async fn no_acknowledgement_without_an_email_or_when_disabled() {
    let (halo, app) = crate::common::live(&[]).await;
    let mut delivery = fixture_json("webhook-new-ticket-full.json");
    delivery["ticket"]["user_email"] = json!("");
    app.deliver(delivery.to_string()).await;
    app.drain().await;
    assert!(received(&halo, "POST", "/api/Actions").await.is_empty());
    assert_eq!(received(&halo, "POST", "/api/Tickets").await.len(), 1);
    let DecisionRow { notes, applied, .. } = app.decision(41234).await;
    assert!(applied);
    assert_eq!(
        notes,
        ["acknowledgement not sent: the ticket's user has no email address"]
    );

    let (halo, app) = crate::common::live(&[("ACK__ENABLED", "false")]).await;
    app.deliver(fixture("webhook-new-ticket-full.json")).await;
    app.drain().await;
    assert!(received(&halo, "POST", "/api/Actions").await.is_empty());
}

#[tokio::test]
async fn a_team_that_does_not_exist_in_halo_is_not_written() {
    let halo = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/Team"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"teams": [{"id": 3, "name": "Network"}]})),
        )
        .mount(&halo)
        .await;
    mount_halo(&halo).await;
    let app = spawn(Some(&halo)).await;
    app.deliver(fixture("webhook-new-ticket-full.json")).await;
    app.drain().await;
    assert_eq!(
        received(&halo, "POST", "/api/Tickets").await,
        [json!([{"id": 41234, "category_1": "Accounts", "category_2": "Password / MFA"}])]
    );
    let DecisionRow {
        decision, notes, ..
    } = app.decision(41234).await;
    assert!(decision["fields"]["team"].is_null());
    assert!(
        notes[0].contains("team 'Service Desk' does not exist (or is inactive) in Halo"),
        "{notes:?}"
    );
}

#[tokio::test]
async fn an_acknowledgement_answered_with_a_5xx_is_not_repeated_when_halo_kept_it() {
    let halo = MockServer::start().await;
    let actions = crate::common::ActionsLog::mount(&halo, ResponseTemplate::new(502), true).await;
    mount_halo(&halo).await;
    let app = spawn(Some(&halo)).await;
    app.deliver(fixture("webhook-new-ticket-full.json")).await;
    let JobOutcome::Retrying { error } = &app.drain().await[0].outcome else {
        panic!("expected a retry")
    };
    assert!(
        error.contains("POST /api/Actions: Halo answered 502"),
        "{error}"
    );
    assert_eq!(
        received(&halo, "POST", "/api/Actions").await.len(),
        1,
        "not repeated on the spot"
    );

    app.make_retries_due().await;
    assert_eq!(app.drain().await[0].outcome, JobOutcome::Done);
    assert_eq!(received(&halo, "POST", "/api/Actions").await.len(), 1);
    assert_eq!(actions.count(), 1, "one acknowledgement on the ticket");
    assert_eq!(app.acks_sent(900).await, 1);
}

#[tokio::test]
async fn an_acknowledgement_halo_never_processed_is_sent_on_the_next_attempt() {
    let halo = MockServer::start().await;
    let actions = crate::common::ActionsLog::mount(&halo, ResponseTemplate::new(500), false).await;
    mount_halo(&halo).await;
    let app = spawn(Some(&halo)).await;
    app.deliver(fixture("webhook-new-ticket-full.json")).await;
    assert!(matches!(
        app.drain().await[0].outcome,
        JobOutcome::Retrying { .. }
    ));
    app.make_retries_due().await;
    assert_eq!(app.drain().await[0].outcome, JobOutcome::Done);
    assert_eq!(received(&halo, "POST", "/api/Actions").await.len(), 2);
    assert_eq!(actions.count(), 1, "one acknowledgement on the ticket");
    // The retry re-read the ticket: a person may have changed it since the webhook. (The
    // first attempt read the acknowledgement's recipient from Halo.)
    assert_eq!(received(&halo, "GET", "/api/Tickets/41234").await.len(), 2);
}

#[tokio::test]
async fn a_worker_whose_lease_was_taken_over_writes_nothing() {
    let halo = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/Tickets/41234"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture_json("ticket.json"))
                .set_delay(std::time::Duration::from_millis(800)),
        )
        .with_priority(1)
        .mount(&halo)
        .await;
    mount_halo(&halo).await;
    let app = spawn(Some(&halo)).await;
    app.deliver(fixture("webhook-event-only.json")).await;
    let worker = app.worker.clone();
    let running = tokio::spawn(async move { worker.run_one().await.unwrap().unwrap() });
    while received(&halo, "GET", "/api/Tickets/41234")
        .await
        .is_empty()
    {
        tokio::task::yield_now().await;
    }
    // Meanwhile another worker claims the job (its lease looked expired).
    sqlx::query("UPDATE jobs SET attempts = attempts + 1")
        .execute(app.store.pool())
        .await
        .unwrap();
    assert_eq!(running.await.unwrap().outcome, JobOutcome::LeaseLost);
    assert_eq!(writes(&halo).await, 0);
    assert_eq!(
        app.job_row(1).await.status,
        "running",
        "left to the worker that owns it"
    );
}

#[tokio::test]
async fn a_job_whose_lease_keeps_expiring_is_buried() {
    let app = spawn_with(None, &[("WORKER__MAX_ATTEMPTS", "3")]).await;
    app.deliver(fixture("webhook-new-ticket-full.json")).await;
    sqlx::query("UPDATE jobs SET status = 'running', attempts = 3, lease_until = 0")
        .execute(app.store.pool())
        .await
        .unwrap();
    assert!(app.drain().await.is_empty());
    let JobRow {
        status, last_error, ..
    } = app.job_row(1).await;
    assert_eq!(status, "dead");
    assert!(last_error
        .unwrap()
        .contains("the lease expired on attempt 3"));
}

#[tokio::test]
async fn two_jobs_for_one_ticket_never_run_at_the_same_time() {
    let app = spawn(None).await;
    if app.store.backend() == halo_triage::Backend::Postgres {
        // Its unique index on jobs.ticket_id refuses the second job this test makes.
        return;
    }
    app.deliver(fixture("webhook-new-ticket-full.json")).await;
    // Deliveries make one job per ticket; a second one (a SQLite store from an older
    // version, a hand-made row) must still never run beside the first.
    sqlx::query(
        "INSERT INTO jobs (delivery_row, ticket_id, event, payload, next_attempt_at, created_at, updated_at)
         SELECT delivery_row, ticket_id, 'ticket updated', payload, 0, 0, 0 FROM jobs WHERE id = 1",
    )
    .execute(app.store.pool())
    .await
    .unwrap();
    assert_eq!(app.count("SELECT COUNT(*) FROM jobs").await, 2);
    sqlx::query("UPDATE jobs SET status = 'running', lease_until = 9999999999999 WHERE id = 1")
        .execute(app.store.pool())
        .await
        .unwrap();
    assert!(
        app.worker.run_one().await.unwrap().is_none(),
        "job 2 waits for job 1's lease"
    );
}

#[tokio::test]
async fn rule_notes_are_posted_once_as_a_private_note() {
    let halo = MockServer::start().await;
    let actions = crate::common::ActionsLog::mount(&halo, ResponseTemplate::new(201), true).await;
    mount_halo(&halo).await;
    let app = spawn_with(Some(&halo), &[("ACT__NOTE_OUTCOME_ID", "7")]).await;
    let mut delivery = fixture_json("webhook-new-ticket-full.json");
    delivery["ticket"]["summary"] = json!("New starter on Monday");
    delivery["ticket"]["details"] = json!("Sam <Patel> joins sales & needs a laptop.");
    Mock::given(method("GET"))
        .and(path("/api/Tickets/41234"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&delivery["ticket"]))
        .with_priority(1)
        .mount(&halo)
        .await;
    app.deliver(delivery.to_string()).await;
    assert_eq!(app.drain().await[0].outcome, JobOutcome::Done);
    let posted = received(&halo, "POST", "/api/Actions").await;
    assert_eq!(posted.len(), 2, "the acknowledgement and the note");
    assert_eq!(
        posted[1],
        json!([{
            "ticket_id": 41234,
            "outcome_id": 7,
            "hiddenfromuser": true,
            "note_html": "<p>halo-triage notes:</p><ul><li>Check the onboarding form is complete (start date, manager, licences, groups).</li></ul><!-- halo-triage:note:41234 -->"
        }])
    );
    // The worker dies before finishing: the next attempt finds both on the ticket.
    sqlx::query("UPDATE jobs SET status = 'running', lease_until = 0")
        .execute(app.store.pool())
        .await
        .unwrap();
    assert_eq!(app.drain().await[0].outcome, JobOutcome::Done);
    assert_eq!(actions.count(), 2);
    let DecisionRow { notes, .. } = app.decision(41234).await;
    assert!(
        notes.contains(&"private note already on the ticket: not posted again".to_string()),
        "{notes:?}"
    );
}

#[tokio::test]
async fn in_live_mode_the_acknowledgement_goes_to_halos_address_not_the_webhooks() {
    let (halo, app) = crate::common::live(&[]).await;
    let mut delivery = crate::common::fixture_json("webhook-new-ticket-full.json");
    delivery["ticket"]["user_email"] = json!("attacker@evil.example");
    delivery["ticket"]["summary"] = json!("Hello\r\nBcc: attacker@evil.example");
    app.deliver(delivery.to_string()).await;
    assert_eq!(app.drain().await[0].outcome, JobOutcome::Done);
    let acks = received(&halo, "POST", "/api/Actions").await;
    assert_eq!(acks.len(), 1);
    assert_eq!(
        acks[0][0]["emailto"], "jane.doe@globex.example",
        "Halo's, from GET /api/Tickets"
    );
    let subject = acks[0][0]["emailsubject"].as_str().unwrap();
    assert!(!subject.contains(['\r', '\n']), "{subject}");
}

#[tokio::test]
async fn the_marker_is_found_on_a_later_page_of_the_tickets_actions() {
    let halo = MockServer::start().await;
    let actions = crate::common::ActionsLog::mount(&halo, ResponseTemplate::new(502), true).await;
    mount_halo(&halo).await;
    // A busy ticket: 150 actions before ours, so our marker is not on the first page.
    actions
        .posted
        .lock()
        .unwrap()
        .extend((0..150).map(|i| json!({"id": 100 + i, "note": format!("agent update {i}")})));
    let app = spawn(Some(&halo)).await;
    app.deliver(fixture("webhook-new-ticket-full.json")).await;
    assert!(matches!(
        app.drain().await[0].outcome,
        JobOutcome::Retrying { .. }
    ));
    app.make_retries_due().await;
    assert_eq!(app.drain().await[0].outcome, JobOutcome::Done);
    assert_eq!(
        received(&halo, "POST", "/api/Actions").await.len(),
        1,
        "the acknowledgement Halo kept was found: not sent again"
    );
}
