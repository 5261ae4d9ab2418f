//! `halo-triage migrate-store`: a SQLite store that served real work, copied into Postgres
//! by the real binary, then served from there without redoing or losing anything; and the
//! copies it refuses.

use std::process::Output;
use std::time::Duration;

use halo_triage::Store;

use crate::common::backing::Backing;
use crate::common::stateful_halo::{delivery_of, ticket, StatefulHalo};
use crate::common::{binary, spawn_running, spawn_with};

const TABLES: [&str; 9] = [
    "deliveries",
    "jobs",
    "decisions",
    "readbacks",
    "acknowledgements",
    "llm_usage",
    "llm_cache",
    "watermarks",
    "rule_hits",
];

fn migrate(from: &str, to: &str) -> Output {
    binary()
        .args(["migrate-store", "--from", from, "--to", to])
        .output()
        .unwrap()
}

async fn counts(store: &Store) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in TABLES {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        counts.push(
            sqlx::query_scalar(&sql)
                .fetch_one(store.pool())
                .await
                .unwrap(),
        );
    }
    counts
}

#[tokio::test]
async fn a_sqlite_store_moves_to_postgres_and_serves_on_from_there() {
    let Some(postgres) = Backing::postgres().await else {
        return;
    };
    let halo = StatefulHalo::start(
        (1..=6)
            .map(|id| ticket(id, "VPN down at the Leeds office"))
            .collect(),
        Duration::ZERO,
    )
    .await;
    let sqlite = Backing::sqlite();
    let on_sqlite = [("STORE__URL", sqlite.url.as_str())];
    let first = spawn_running(Some(&halo.server), &on_sqlite).await;
    for id in 1..=5 {
        let delivery = delivery_of(&ticket(id, "VPN down at the Leeds office"));
        assert_eq!(first.app.deliver(delivery).await.status(), 202);
    }
    first.app.drain().await;
    first
        .app
        .store
        .set_watermark("reconcile", 1_234)
        .await
        .unwrap();
    first
        .app
        .store
        .cache_llm_answer("digest", "{}", 60_000)
        .await
        .unwrap();
    let before = counts(&first.app.store).await;
    assert_eq!(
        before[..3],
        [5, 5, 5],
        "five deliveries, jobs and decisions"
    );

    let refused = migrate(&sqlite.url, &postgres.url);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("is in use by a service: stop every service on it first"),
        "{said}"
    );
    first.stop.send(()).unwrap();
    first.stopped.await.unwrap().unwrap();

    let copied = migrate(&sqlite.url, &postgres.url);
    let said = String::from_utf8_lossy(&copied.stdout);
    assert!(
        copied.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&copied.stderr)
    );
    assert!(
        said.contains("decisions") && said.contains("the same as the source"),
        "{said}"
    );
    let moved = postgres.open().await;
    assert_eq!(counts(&moved).await, before);
    assert_eq!(moved.watermark("reconcile").await.unwrap(), Some(1_234));

    // Served from Postgres: a ticket already triaged is a duplicate, a new one is new work
    // with an id after the copied ones, and no ticket is acknowledged twice.
    let on_postgres = [("STORE__URL", postgres.url.as_str())];
    let second = spawn_with(Some(&halo.server), &on_postgres).await;
    let again = second
        .deliver(delivery_of(&ticket(3, "VPN down at the Leeds office")))
        .await;
    let again: serde_json::Value = again.json().await.unwrap();
    assert_eq!(again["duplicate"], true);
    let new = second
        .deliver(delivery_of(&ticket(6, "VPN down at the Leeds office")))
        .await;
    let new: serde_json::Value = new.json().await.unwrap();
    assert_eq!(
        (new["job_id"].as_i64(), new["duplicate"].as_bool()),
        (Some(6), Some(false))
    );
    second.drain().await;
    let posted = halo.actions.posted.lock().unwrap();
    for id in 1..=6 {
        let acks = posted.iter().filter(|a| a["ticket_id"] == id).count();
        assert_eq!(acks, 1, "ticket {id} acknowledged once");
    }
    drop(posted);

    let twice = migrate(&sqlite.url, &postgres.url);
    assert!(!twice.status.success());
    let said = String::from_utf8_lossy(&twice.stderr);
    assert!(said.contains("the destination is not empty"), "{said}");
}

#[tokio::test]
async fn migrate_store_refuses_what_it_cannot_copy() {
    let sqlite = Backing::sqlite();
    for (from, to, says) in [
        (
            "postgres://postgres@127.0.0.1/test",
            "postgres://postgres@127.0.0.1/other",
            "--from: migrate-store moves a SQLite store",
        ),
        (
            sqlite.url.as_str(),
            "postgres://postgres@127.0.0.1/test",
            "does not exist",
        ),
        (
            "mysql://db/halo",
            "postgres://postgres@127.0.0.1/test",
            "--from: must start with sqlite://",
        ),
        (sqlite.url.as_str(), sqlite.url.as_str(), "does not exist"),
    ] {
        let refused = migrate(from, to);
        assert!(!refused.status.success());
        let said = String::from_utf8_lossy(&refused.stderr);
        assert!(said.contains(says), "{from} -> {to}: {said}");
    }
    // An existing file copied onto itself.
    let store = sqlite.open().await;
    drop(store);
    let refused = migrate(&sqlite.url, &sqlite.url);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("--to: the destination is the source"),
        "{said}"
    );
}

#[tokio::test]
async fn a_service_does_not_start_on_a_store_being_copied() {
    let sqlite = Backing::sqlite();
    drop(sqlite.open().await);
    let path = sqlite.url.trim_start_matches("sqlite://");
    // What migrate-store holds for the whole copy.
    let copying = std::fs::File::open(path).unwrap();
    copying.lock().unwrap();
    let env = [
        ("HALO_TRIAGE__STORE__URL", sqlite.url.as_str()),
        (
            "HALO_TRIAGE__WEBHOOK__TOKEN",
            "test-webhook-token-0123456789",
        ),
        ("HALO_TRIAGE__SERVER__LISTEN", "127.0.0.1:0"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    let settings = halo_triage::Settings::load_with_env(None, env).unwrap();
    let refused = halo_triage::App::build(settings).await.err().unwrap();
    assert!(
        refused
            .to_string()
            .contains("is being copied by migrate-store"),
        "{refused}"
    );
}
