//! Durable state in SQLite (WAL): deliveries, jobs, decisions and their read-back,
//! acknowledgements, the LLM cache and budget, watermarks, task leases, rule hit counts
//! and the console's sessions. Knows nothing
//! of HTTP, Halo or rules; of the settings it knows only the mode a decision was made in.

mod acks;
mod console;
mod decisions;
mod deliveries;
mod jobs;
mod llm;
mod readback;
mod retention;
mod rule_hits;
mod watermarks;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

pub use acks::AckStatus;
pub use decisions::{DecisionFilter, DecisionRecord, StoredDecision};
pub use deliveries::{DeliveryOutcome, Enqueued, NewJob};
pub use jobs::{Job, JobStatus, JobSummary, Replay};
pub use readback::{PendingDecision, ReadBack};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the database folder {path}: {source}")]
    Folder {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot store the delivery: {0}")]
    GroupCommit(String),
    #[error("database error while {action}: {source}")]
    Query {
        action: &'static str,
        #[source]
        source: sqlx::Error,
    },
}

/// Adds what was being done to a sqlx error.
pub(crate) trait Context<T> {
    fn context(self, action: &'static str) -> Result<T, StoreError>;
}

impl<T> Context<T> for Result<T, sqlx::Error> {
    fn context(self, action: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Query { action, source })
    }
}

/// The store: one connection writes, the others read. SQLite lets one writer in at a time
/// and makes the others wait in its busy handler, which sleeps in steps of up to 100 ms
/// (the slow regime in docs/benchmarks.md); with one write connection, writers queue for
/// it in async code instead, and readers (WAL) never wait for them. The read connections
/// are opened read-only, so a write sent to them fails at once instead of queueing wrong.
#[derive(Clone)]
pub struct Store {
    writes: SqlitePool,
    reads: SqlitePool,
    /// Deliveries on their way to the next group commit (`deliveries.rs`).
    deliveries: tokio::sync::mpsc::Sender<deliveries::Pending>,
}

/// Connections that may read at once.
const READERS: u32 = 8;

impl Store {
    /// Opens (creating when missing) and migrates the database at `path`.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|source| StoreError::Folder {
                path: folder.display().to_string(),
                source,
            })?;
        }
        let options = SqliteConnectOptions::from_str("sqlite:")
            .context("reading the database path")?
            .filename(path)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a delivery we answered 2xx for survives a power cut, not only a crash.
            .synchronous(SqliteSynchronous::Full)
            // Only another process (a `jobs retry`, a second service) waits here now.
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let writes = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone().create_if_missing(true))
            .await
            .context("opening the database")?;
        sqlx::migrate!("./migrations").run(&writes).await?;
        let reads = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(options.read_only(true))
            .await
            .context("opening the database for reading")?;
        Ok(Store {
            deliveries: deliveries::start_group_commits(writes.clone()),
            writes,
            reads,
        })
    }

    /// Proves the database answers (readiness). The write connection is not waited for:
    /// under load it is busy, which is not a failure.
    pub async fn ping(&self) -> Result<(), StoreError> {
        if self.writes.is_closed() {
            return Err(sqlx::Error::PoolClosed).context("checking the database");
        }
        sqlx::query("SELECT 1")
            .execute(&self.reads)
            .await
            .context("checking the database")?;
        Ok(())
    }

    /// The write connection, for tests and tools that inspect or change rows directly.
    pub fn pool(&self) -> &SqlitePool {
        &self.writes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_read_connection_refuses_to_write() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("read.db")).await.unwrap();
        let refused = sqlx::query("DELETE FROM jobs").execute(&store.reads).await;
        assert!(refused.unwrap_err().to_string().contains("readonly"));
    }
}
