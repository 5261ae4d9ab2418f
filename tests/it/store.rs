//! The store's guarantees, one suite run on both backends (`on_both_backends!`). Where
//! replicas matter, a test opens the store twice, as two processes would.

use std::time::Duration;

use halo_triage::{
    AckStatus, Backend, DecisionFilter, DecisionRecord, DeliveryOutcome, JobStatus, Mode, NewJob,
    ReadBack, Replay, Store,
};

use crate::common::backing::Backing;
use crate::on_both_backends;

on_both_backends!(
    deliveries_make_one_job_per_ticket_and_mark_repeats,
    replicas_recording_one_ticket_at_once_make_one_job,
    a_delivery_that_cannot_be_stored_fails_alone_in_its_group,
    replicas_claim_each_job_once,
    a_lease_fences_out_the_worker_that_lost_it,
    the_acknowledgements_fence_records_sending_only_for_the_lease_holder,
    renewals_made_together_each_keep_their_own_answer,
    dead_jobs_are_replayed_with_a_fresh_budget,
    tickets_without_jobs_keep_their_order,
    decisions_are_searched_by_name_start_in_any_case_and_paged,
    a_retried_decision_counts_its_rule_hits_once,
    read_backs_are_counted_and_a_missing_value_matches_a_missing_value,
    the_llm_budget_is_reserved_atomically_and_answers_are_cached,
    a_task_lease_has_one_holder_until_it_runs_out,
    the_shared_rate_budget_allows_a_burst_then_one_per_period_across_processes,
    sessions_watermarks_acknowledgements_and_pruning,
);

fn job(ticket_id: i64, delivery: &str) -> NewJob {
    NewJob {
        halo_delivery_id: Some(delivery.to_string()),
        ticket_id,
        event: "new ticket logged".into(),
        payload: "{}".into(),
    }
}

async fn deliver(store: &Store, jobs: &[NewJob]) -> Vec<(i64, bool)> {
    store
        .record_delivery(b"{}", DeliveryOutcome::Accepted, None, jobs)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.job_id, e.duplicate))
        .collect()
}

async fn count(store: &Store, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

const LEASE: Duration = Duration::from_secs(30);

async fn deliveries_make_one_job_per_ticket_and_mark_repeats(backing: Backing) {
    let store = backing.open().await;
    let first = deliver(&store, &[job(1, "d-1"), job(2, "d-2")]).await;
    assert_eq!(first.iter().filter(|(_, dup)| !dup).count(), 2);
    // The same delivery id, and another event about a ticket we have: no new work.
    let again = deliver(&store, &[job(1, "d-1")]).await;
    assert_eq!(again, vec![(first[0].0, true)]);
    let mut updated = job(2, "d-3");
    updated.event = "ticket updated".into();
    assert_eq!(deliver(&store, &[updated]).await, vec![(first[1].0, true)]);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM jobs").await, 2);
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM deliveries WHERE outcome = 'duplicate'"
        )
        .await,
        2
    );
    let quarantined = store
        .record_delivery(b"not json", DeliveryOutcome::Quarantined, Some("bad"), &[])
        .await
        .unwrap();
    assert!(quarantined.is_empty());
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM deliveries WHERE outcome = 'quarantined'"
        )
        .await,
        1
    );
}

async fn replicas_recording_one_ticket_at_once_make_one_job(backing: Backing) {
    let (a, b) = (backing.open().await, backing.open().await);
    // Halo retries a delivery to whichever replica the balancer picks: both at once.
    let mut sent = Vec::new();
    for ticket in 1..=40 {
        for (store, delivery) in [(&a, "first"), (&b, "retry")] {
            let store = store.clone();
            let jobs = [job(ticket, &format!("{delivery}-{ticket}"))];
            sent.push(tokio::spawn(async move { deliver(&store, &jobs).await }));
        }
    }
    let mut new_jobs = 0;
    for answer in sent {
        new_jobs += answer.await.unwrap().iter().filter(|(_, dup)| !dup).count();
    }
    assert_eq!(
        new_jobs, 40,
        "one new job per ticket, the other delivery a duplicate"
    );
    assert_eq!(count(&a, "SELECT COUNT(*) FROM jobs").await, 40);
    assert_eq!(count(&a, "SELECT COUNT(*) FROM deliveries").await, 80);
}

async fn a_delivery_that_cannot_be_stored_fails_alone_in_its_group(backing: Backing) {
    let store = backing.open().await;
    let refuse_13 = match store.backend() {
        Backend::Sqlite => vec![
            "CREATE TRIGGER refuse_13 BEFORE INSERT ON jobs WHEN NEW.ticket_id = 13
             BEGIN SELECT RAISE(ABORT, 'ticket 13 refused'); END",
        ],
        Backend::Postgres => vec![
            "CREATE FUNCTION refuse_13() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN RAISE EXCEPTION 'ticket 13 refused'; END $$",
            "CREATE TRIGGER refuse_13 BEFORE INSERT ON jobs FOR EACH ROW
             WHEN (NEW.ticket_id = 13) EXECUTE FUNCTION refuse_13()",
        ],
    };
    for sql in refuse_13 {
        sqlx::query(sql).execute(store.pool()).await.unwrap();
    }
    // 50 deliveries at once: they go in a few group commits, ticket 13's among them.
    let sent: Vec<_> = (1..=50)
        .map(|ticket| {
            let store = store.clone();
            tokio::spawn(async move {
                let jobs = [job(ticket, &format!("d-{ticket}"))];
                let stored = store
                    .record_delivery(b"{}", DeliveryOutcome::Accepted, None, &jobs)
                    .await;
                (ticket, stored)
            })
        })
        .collect();
    for answer in sent {
        let (ticket, stored) = answer.await.unwrap();
        match ticket {
            13 => assert!(
                stored
                    .unwrap_err()
                    .to_string()
                    .contains("ticket 13 refused"),
                "the bad delivery is told why"
            ),
            _ => assert!(!stored.unwrap()[0].duplicate),
        }
    }
    assert_eq!(count(&store, "SELECT COUNT(*) FROM deliveries").await, 49);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM jobs").await, 49);
}

async fn replicas_claim_each_job_once(backing: Backing) {
    let (a, b) = (backing.open().await, backing.open().await);
    for ticket in 1..=60 {
        deliver(&a, &[job(ticket, &format!("d-{ticket}"))]).await;
    }
    // Four workers on each replica claim until the queue is empty.
    let mut workers = Vec::new();
    for store in [&a, &a, &a, &a, &b, &b, &b, &b] {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let mut claimed = Vec::new();
            while let Some(job) = store.claim_job(LEASE, 8).await.unwrap() {
                claimed.push(job.ticket_id);
                assert!(store.finish_job(&job).await.unwrap());
            }
            claimed
        }));
    }
    let mut claimed = Vec::new();
    for worker in workers {
        claimed.extend(worker.await.unwrap());
    }
    claimed.sort_unstable();
    assert_eq!(
        claimed,
        (1..=60).collect::<Vec<_>>(),
        "each job once, none missed"
    );
    assert_eq!(
        count(&a, "SELECT COUNT(*) FROM jobs WHERE status = 'done'").await,
        60
    );
}

async fn a_lease_fences_out_the_worker_that_lost_it(backing: Backing) {
    let store = backing.open().await;
    deliver(&store, &[job(7, "d-7")]).await;
    let first = store.claim_job(LEASE, 3).await.unwrap().unwrap();
    assert!(store.claim_job(LEASE, 3).await.unwrap().is_none(), "leased");
    assert!(store.extend_lease(&first, LEASE).await.unwrap());
    // The worker hangs; its lease runs out and another worker takes the job.
    sqlx::query("UPDATE jobs SET lease_until = 0")
        .execute(store.pool())
        .await
        .unwrap();
    let second = store.claim_job(LEASE, 3).await.unwrap().unwrap();
    assert_eq!(second.attempts, first.attempts + 1);
    assert!(!store.extend_lease(&first, LEASE).await.unwrap());
    assert!(
        !store.finish_job(&first).await.unwrap(),
        "the old lease finishes nothing"
    );
    assert!(store
        .retry_job(&second, Duration::ZERO, "Halo said 503")
        .await
        .unwrap());
    let third = store.claim_job(LEASE, 3).await.unwrap().unwrap();
    // Its lease runs out on the last attempt: buried, not claimed a fourth time.
    sqlx::query("UPDATE jobs SET lease_until = 0")
        .execute(store.pool())
        .await
        .unwrap();
    assert!(store.claim_job(LEASE, 3).await.unwrap().is_none());
    let listed = store.list_jobs(Some(JobStatus::Dead), 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].attempts, third.attempts);
    let error = listed[0].last_error.as_deref().unwrap();
    assert!(error.contains("the lease expired on attempt 3"), "{error}");
}

async fn the_acknowledgements_fence_records_sending_only_for_the_lease_holder(backing: Backing) {
    let store = backing.open().await;
    deliver(&store, &[job(7, "d-7"), job(8, "d-8")]).await;
    let stale = store.claim_job(LEASE, 3).await.unwrap().unwrap();
    sqlx::query("UPDATE jobs SET lease_until = 0 WHERE id = $1")
        .bind(stale.id)
        .execute(store.pool())
        .await
        .unwrap();
    let holder = store.claim_job(LEASE, 3).await.unwrap().unwrap();
    assert_eq!(holder.id, stale.id);
    assert!(!store
        .extend_lease_marking_ack(&stale, LEASE, 7)
        .await
        .unwrap());
    assert_eq!(store.ack_status(7).await.unwrap(), None, "nothing recorded");
    assert!(store
        .extend_lease_marking_ack(&holder, LEASE, 7)
        .await
        .unwrap());
    assert_eq!(store.ack_status(7).await.unwrap(), Some(AckStatus::Sending));
    // A ticket the ledger has as sent stays sent.
    let other = store.claim_job(LEASE, 3).await.unwrap().unwrap();
    store
        .set_ack_status(8, AckStatus::Sent, Some(5))
        .await
        .unwrap();
    assert!(store
        .extend_lease_marking_ack(&other, LEASE, 8)
        .await
        .unwrap());
    assert_eq!(store.ack_status(8).await.unwrap(), Some(AckStatus::Sent));
}

/// The fences of one Halo batch renew at once (on SQLite, in one group commit): each is
/// answered for its own job, and only the lease holders' acknowledgements are recorded.
async fn renewals_made_together_each_keep_their_own_answer(backing: Backing) {
    let store = backing.open().await;
    let jobs: Vec<NewJob> = (1..=6).map(|id| job(id, &format!("d-{id}"))).collect();
    deliver(&store, &jobs).await;
    let mut claimed = Vec::new();
    for _ in 1..=6 {
        claimed.push(store.claim_job(LEASE, 3).await.unwrap().unwrap());
    }
    // Tickets 1 to 3 are taken over by another worker: their first claim is stale.
    sqlx::query("UPDATE jobs SET lease_until = 0 WHERE ticket_id <= 3")
        .execute(store.pool())
        .await
        .unwrap();
    let mut stale = Vec::new();
    for _ in 1..=3 {
        stale.push(store.claim_job(LEASE, 3).await.unwrap().unwrap().ticket_id);
    }
    let fences = claimed
        .iter()
        .map(|job| store.extend_lease_marking_ack(job, LEASE, job.ticket_id));
    let answers = futures_util::future::join_all(fences).await;
    for (job, answer) in claimed.iter().zip(answers) {
        let holder = !stale.contains(&job.ticket_id);
        assert_eq!(answer.unwrap(), holder, "ticket {}", job.ticket_id);
        let recorded = store.ack_status(job.ticket_id).await.unwrap();
        assert_eq!(recorded.is_some(), holder, "ticket {}", job.ticket_id);
    }
    let renewals = claimed.iter().map(|job| store.extend_lease(job, LEASE));
    let answers = futures_util::future::join_all(renewals).await;
    let kept = answers.into_iter().filter(|a| *a.as_ref().unwrap()).count();
    assert_eq!(kept, 3);
}

async fn dead_jobs_are_replayed_with_a_fresh_budget(backing: Backing) {
    let store = backing.open().await;
    deliver(&store, &[job(1, "d-1"), job(2, "d-2")]).await;
    for _ in 0..2 {
        let claimed = store.claim_job(LEASE, 1).await.unwrap().unwrap();
        assert!(store.bury_job(&claimed, "refused").await.unwrap());
    }
    assert_eq!(store.replay_job(1).await.unwrap(), Replay::Queued);
    assert_eq!(
        store.replay_job(1).await.unwrap(),
        Replay::NotDead(JobStatus::Queued)
    );
    assert_eq!(store.replay_job(99).await.unwrap(), Replay::NotFound);
    assert_eq!(store.replay_all_dead().await.unwrap(), 1);
    let again = store.claim_job(LEASE, 1).await.unwrap().unwrap();
    assert_eq!((again.attempts, again.attempts_used()), (2, 1));
    let stats = store.queue_stats().await.unwrap();
    let by_status: std::collections::HashMap<_, _> = stats.jobs_by_status.into_iter().collect();
    assert_eq!((by_status["queued"], by_status["running"]), (1, 1));
    let last_hour = *store.job_activity().await.unwrap().last().unwrap();
    assert_eq!((last_hour.retried, last_hour.dead), (1, 0));
}

async fn tickets_without_jobs_keep_their_order(backing: Backing) {
    let store = backing.open().await;
    deliver(&store, &[job(5, "d-5"), job(700, "d-700")]).await;
    let listed: Vec<i64> = (1..=1_200).rev().collect();
    let missing = store.tickets_without_jobs(&listed).await.unwrap();
    assert_eq!(missing.len(), 1_198);
    assert_eq!(missing[..3], [1_200, 1_199, 1_198]);
    assert!(!missing.contains(&700) && !missing.contains(&5));
}

fn decision(job_id: i64, client: &str, team: &str, rules: &[&str]) -> DecisionRecord {
    DecisionRecord {
        job_id,
        ticket_id: job_id * 10,
        mode: Mode::Shadow,
        decision_json: "{}".into(),
        ticket_update_json: "{}".into(),
        notes_json: "[]".into(),
        before_json: "{}".into(),
        client: client.into(),
        team: Some(team.into()),
        matched_rules: rules.iter().map(|r| r.to_string()).collect(),
    }
}

async fn decisions_are_searched_by_name_start_in_any_case_and_paged(backing: Backing) {
    let store = backing.open().await;
    let clients = ["Globex", "globex east", "100% Dental", "Initech", "GLOBEX"];
    for (n, client) in clients.iter().enumerate() {
        let job_id = n as i64 + 1;
        deliver(&store, &[job(job_id * 10, &format!("d-{job_id}"))]).await;
        store
            .save_decision(&decision(job_id, client, "Service Desk", &[]))
            .await
            .unwrap();
    }
    let find = |client: &str, before_id: Option<i64>| {
        let filter = DecisionFilter {
            client: Some(client.to_string()),
            before_id,
            limit: 2,
            ..DecisionFilter::default()
        };
        let store = store.clone();
        async move {
            let found = store.find_decisions(&filter).await.unwrap();
            found.iter().map(|d| d.job_id).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        find("glob", None).await,
        vec![5, 2],
        "newest first, a page of two"
    );
    assert_eq!(find("GLOB", Some(2)).await, vec![1]);
    assert_eq!(
        find("100%", None).await,
        vec![3],
        "% is a character, not a wildcard"
    );
    assert_eq!(find("1%", None).await, Vec::<i64>::new());
    let by_team = DecisionFilter {
        team: Some("service".into()),
        ticket_id: Some(40),
        limit: 10,
        ..DecisionFilter::default()
    };
    assert_eq!(store.find_decisions(&by_team).await.unwrap()[0].job_id, 4);
    store
        .record_outcome(4, true, "[\"written\"]")
        .await
        .unwrap();
    let four = store.decision(4).await.unwrap().unwrap();
    assert!(four.applied);
    assert!(!store.decision(3).await.unwrap().unwrap().applied);
}

async fn a_retried_decision_counts_its_rule_hits_once(backing: Backing) {
    let store = backing.open().await;
    deliver(&store, &[job(10, "d-1"), job(20, "d-2")]).await;
    for _ in 0..3 {
        store
            .save_decision(&decision(1, "Globex", "Network", &["vpn", "network"]))
            .await
            .unwrap();
    }
    store
        .save_decision(&decision(2, "Initech", "Network", &["vpn"]))
        .await
        .unwrap();
    let hits: Vec<(String, i64, i64)> = store
        .rule_hits()
        .await
        .unwrap()
        .into_iter()
        .map(|h| (h.rule, h.last_7_days, h.last_30_days))
        .collect();
    assert_eq!(
        hits,
        vec![("vpn".into(), 2, 2), ("network".into(), 1, 1)],
        "the job tried three times counts once"
    );
    // A day's counts older than 30 days are not shown, and pruning drops them.
    sqlx::query("INSERT INTO rule_hits (rule, day, hits) VALUES ('old', '2000-01-01', 5)")
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(store.rule_hits().await.unwrap().len(), 2);
    store.prune(0).await.unwrap();
    assert_eq!(count(&store, "SELECT COUNT(*) FROM rule_hits").await, 2);
}

fn read_back(
    decision_id: i64,
    ours: &str,
    theirs: Option<&str>,
    outcome: &'static str,
) -> ReadBack {
    ReadBack {
        decision_id,
        ticket_id: decision_id * 10,
        field: "team",
        mode: "live",
        source_kind: Some("rule"),
        source_name: "vpn".into(),
        ours: Some(ours.into()),
        theirs: theirs.map(str::to_string),
        outcome,
        set_by: None,
        closed: true,
        decided_at: 1_000,
    }
}

async fn read_backs_are_counted_and_a_missing_value_matches_a_missing_value(backing: Backing) {
    let store = backing.open().await;
    deliver(&store, &[job(10, "d-1"), job(20, "d-2"), job(30, "d-3")]).await;
    for id in 1..=3 {
        store
            .save_decision(&decision(id, "Globex", "Network", &[]))
            .await
            .unwrap();
    }
    assert_eq!(store.pending_read_backs().await.unwrap(), 3);
    let pending = store.pending_decisions_of(&[10, 20]).await.unwrap();
    assert_eq!(pending.len(), 2);
    assert!(pending.iter().all(|p| !p.superseded && !p.applied));
    let saved = [
        read_back(1, "Network", Some("Network"), "agreed"),
        read_back(2, "Network", None, "disagreed"),
        read_back(3, "Network", Some("Service Desk"), "disagreed"),
    ];
    store
        .save_read_backs(&[1, 2, 3], &saved, 5_000)
        .await
        .unwrap();
    // Saved again (a replayed job): replaced, not added.
    store
        .save_read_backs(&[3], &saved[2..], 6_000)
        .await
        .unwrap();
    assert_eq!(store.pending_read_backs().await.unwrap(), 0);
    let counts = store.read_back_counts(0).await.unwrap();
    assert_eq!(counts.iter().map(|c| c.count).sum::<i64>(), 3);
    let emptied = store
        .disagreeing_tickets(0, "team", "Network", None, 10)
        .await
        .unwrap();
    assert_eq!(emptied, vec![20], "NULL matches NULL, and only NULL");
    let moved = store
        .disagreeing_tickets(0, "team", "Network", Some("Service Desk"), 10)
        .await
        .unwrap();
    assert_eq!(moved, vec![30]);
    assert_eq!(store.corrections_since("team", 0).await.unwrap(), 2);
    assert_eq!(
        store.tickets_read_back_since(6_000).await.unwrap(),
        vec![30]
    );
}

async fn the_llm_budget_is_reserved_atomically_and_answers_are_cached(backing: Backing) {
    let (a, b) = (backing.open().await, backing.open().await);
    // 20 calls at once from two replicas, each estimated at 1,000 tokens, under a budget
    // of 5,000: exactly five are let through.
    let tries: Vec<_> = (0..20)
        .map(|n| {
            let store = if n % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { store.reserve_llm_call(1_000, 5_000).await.unwrap() })
        })
        .collect();
    let mut granted = 0;
    for reserved in tries {
        granted += usize::from(reserved.await.unwrap());
    }
    assert_eq!(granted, 5);
    a.count_llm_call(700, 1_000).await.unwrap();
    let usage = b.llm_usage_today().await.unwrap();
    assert_eq!((usage.calls, usage.tokens), (1, 700));
    assert!(
        a.reserve_llm_call(1, 5_000).await.unwrap(),
        "the unused 300 came back"
    );

    a.cache_llm_answer("key", "{\"team\":\"Network\"}", 60_000)
        .await
        .unwrap();
    assert_eq!(
        b.cached_llm_answer("key", 60_000).await.unwrap().as_deref(),
        Some("{\"team\":\"Network\"}")
    );
    assert_eq!(b.cached_llm_answer("key", -1).await.unwrap(), None);
}

async fn a_task_lease_has_one_holder_until_it_runs_out(backing: Backing) {
    let store = backing.open().await;
    let hold = |owner: &'static str, now: i64| {
        let store = store.clone();
        async move {
            store
                .hold_task_lease("t", owner, now, now + 30)
                .await
                .unwrap()
        }
    };
    assert!(hold("a", 0).await);
    assert!(!hold("b", 10).await, "a holds it until 30");
    assert!(hold("a", 20).await, "its holder renews it, until 50");
    assert!(!hold("b", 40).await);
    assert!(hold("b", 51).await, "run out: anyone may take it");
    assert!(!hold("a", 60).await);
}

async fn the_shared_rate_budget_allows_a_burst_then_one_per_period_across_processes(
    backing: Backing,
) {
    let (a, b) = (backing.open().await, backing.open().await);
    let period = Duration::from_secs(60);
    let mut taken = 0;
    for n in 0..10 {
        let store = if n % 2 == 0 { &a } else { &b };
        if store.take_rate("halo", period, 4).await.unwrap().is_none() {
            taken += 1;
        }
    }
    assert_eq!(taken, 4, "a burst of four, shared by both processes");
    let wait = a.take_rate("halo", period, 4).await.unwrap().unwrap();
    assert!(
        wait > Duration::from_secs(50) && wait <= period,
        "the next one is a period away: {wait:?}"
    );
    assert!(a.take_rate("other", period, 4).await.unwrap().is_none());
}

/// SQLite's budgets are a file: one that cannot be written is an error the caller sees
/// (Halo's client then goes on its own process's budget, with a warning).
#[tokio::test]
async fn a_rates_file_that_cannot_be_written_is_an_error() {
    let backing = Backing::sqlite();
    let store = backing.open().await;
    let db = backing.url.trim_start_matches("sqlite://");
    std::fs::create_dir(format!("{db}-rates")).unwrap();
    let error = store
        .take_rate("halo", Duration::from_secs(1), 4)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("cannot read or write the shared rate budget"),
        "{error}"
    );
}

async fn sessions_watermarks_acknowledgements_and_pruning(backing: Backing) {
    let store = backing.open().await;
    let far = halo_triage::now_ms() + 3_600_000;
    store
        .start_console_session("digest", "csrf", far)
        .await
        .unwrap();
    assert_eq!(
        store.console_session("digest").await.unwrap().unwrap().csrf,
        "csrf"
    );
    store.end_console_session("digest").await.unwrap();
    assert!(store.console_session("digest").await.unwrap().is_none());

    assert_eq!(store.watermark("reconcile").await.unwrap(), None);
    store.set_watermark("reconcile", 5).await.unwrap();
    store.set_watermark("reconcile", 9).await.unwrap();
    assert_eq!(store.watermark("reconcile").await.unwrap(), Some(9));

    store
        .set_ack_status(10, AckStatus::Sending, None)
        .await
        .unwrap();
    store
        .set_ack_status(10, AckStatus::Sent, Some(77))
        .await
        .unwrap();
    assert_eq!(store.ack_status(10).await.unwrap(), Some(AckStatus::Sent));
    assert_eq!(store.ack_status(11).await.unwrap(), None);

    deliver(&store, &[job(10, "d-1"), job(20, "d-2")]).await;
    store
        .save_decision(&decision(1, "Globex", "Network", &[]))
        .await
        .unwrap();
    let done = store.claim_job(LEASE, 8).await.unwrap().unwrap();
    assert!(store.finish_job(&done).await.unwrap());
    let pruned = store.prune(halo_triage::now_ms() + 1).await.unwrap();
    assert_eq!(
        (pruned.jobs, pruned.decisions, pruned.deliveries),
        (1, 1, 0)
    );
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM jobs").await,
        1,
        "the queued job stays"
    );
    assert_eq!(
        store.ack_status(10).await.unwrap(),
        Some(AckStatus::Sent),
        "the ledger is never pruned"
    );
}
