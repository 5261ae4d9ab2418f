//! Stores on the test Postgres server: each test gets a schema of its own in the database
//! `HALO_TRIAGE_TEST_POSTGRES` names (default postgres://postgres@127.0.0.1:5432/test;
//! `.ci/run` makes a fresh database per run). Without a server the Postgres tests say so
//! and pass, except under CI (`HALO_TRIAGE_CI` set), where they fail.
//!
//! `HALO_TRIAGE_TEST_STORE=postgres` runs every test that starts the app on Postgres too.

use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::Connection;
use tokio::sync::OnceCell;

const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The server's URL, without a schema.
pub fn server_url() -> String {
    std::env::var("HALO_TRIAGE_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_SERVER.into())
}

/// Whether the app under test runs on Postgres (`HALO_TRIAGE_TEST_STORE=postgres`).
pub fn apps_on_postgres() -> bool {
    std::env::var("HALO_TRIAGE_TEST_STORE").is_ok_and(|store| store == "postgres")
}

/// The URL of a new, empty schema, or `None` when no server answers (outside CI).
pub async fn fresh_schema() -> Option<String> {
    static SWEPT: OnceCell<bool> = OnceCell::const_new();
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let server = server_url();
    let reachable = *SWEPT
        .get_or_init(|| async { drop_schemas_of_ended_runs(&server).await })
        .await;
    if !reachable {
        assert!(
            std::env::var_os("HALO_TRIAGE_CI").is_none(),
            "CI must run the Postgres tests: no server answers at {server}"
        );
        eprintln!("SKIPPED on Postgres: no server answers at {server} (HALO_TRIAGE_TEST_POSTGRES)");
        return None;
    }
    let schema = format!(
        "t_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = sqlx::PgConnection::connect(&server).await.unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let separator = if server.contains('?') { '&' } else { '?' };
    Some(format!(
        "{server}{separator}options=-c%20search_path%3D{schema}"
    ))
}

/// Drops the schemas that test processes no longer running left; false when no server
/// answers.
async fn drop_schemas_of_ended_runs(server: &str) -> bool {
    let Ok(mut admin) = sqlx::PgConnection::connect(server).await else {
        return false;
    };
    let schemas: Vec<String> =
        sqlx::query_scalar("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 't\\_%'")
            .fetch_all(&mut admin)
            .await
            .unwrap();
    for schema in schemas {
        let pid = schema.split('_').nth(1).unwrap_or_default();
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .execute(&mut admin)
                .await
                .unwrap();
        }
    }
    true
}
