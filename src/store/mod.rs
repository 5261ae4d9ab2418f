//! Durable state in SQLite (WAL, the embedded default) or Postgres (shared by replicas):
//! deliveries, jobs, decisions and their read-back, acknowledgements, the LLM cache and
//! budget, Halo's shared rate budget, watermarks, task leases, rule hit counts and the
//! console's sessions. Knows nothing of HTTP or rules, and of Halo only the rate budget's
//! trait (`rate.rs`); of the settings it knows the store's and the mode a decision was
//! made in.

mod acks;
mod console;
mod copy;
mod decisions;
mod deliveries;
mod group_commit;
mod jobs;
mod llm;
mod rate;
mod readback;
mod retention;
mod rule_hits;
mod serving;
mod watermarks;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

use crate::config::{Database, StoreSettings};
pub use acks::AckStatus;
pub use decisions::{DecisionFilter, DecisionRecord, StoredDecision};
pub use deliveries::{DeliveryOutcome, Enqueued, NewJob};
pub use jobs::{Job, JobStatus, JobSummary, Replay};
pub use readback::{PendingDecision, ReadBack};
pub use serving::ServingLock;

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
    #[error("cannot commit the write: {0}")]
    GroupCommit(String),
    #[error("cannot copy the store: {0}")]
    Copy(String),
    #[error("{0}")]
    InUse(String),
    #[error("cannot read or write the shared rate budget: {0}")]
    Rates(String),
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

/// Which database holds the store. The queries are written once, in the SQL both accept
/// (`$1` parameters, 0/1 flags, no JSON functions); the few that differ ask the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One file, one process writing (the embedded default).
    Sqlite,
    /// A server several replicas share.
    Postgres,
}

/// A 0/1 column read as a flag: both backends keep flags as integers (SQLite has no
/// other), so one query reads either.
#[derive(sqlx::Type)]
#[sqlx(transparent)]
pub(crate) struct Flag(i64);

impl From<Flag> for bool {
    fn from(flag: Flag) -> bool {
        flag.0 != 0
    }
}

/// The UTC day (YYYY-MM-DD) of `at_ms`: the day of the LLM budget and of rule hit counts.
pub(crate) fn utc_day(at_ms: i64) -> String {
    jiff::Timestamp::from_millisecond(at_ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%d")
        .to_string()
}

/// `$from, $from+1, …`: `count` numbered parameters, as both backends read them.
pub(crate) fn parameters(from: usize, count: usize) -> String {
    (from..from + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rows `select` reads for `ids`, where `{ids}` in it stands for the IN list: 500 ids
/// a statement, under both backends' limits on parameters (SQLite 32,766, Postgres 65,535).
pub(crate) async fn fetch_by_ids<T>(
    pool: &AnyPool,
    select: &str,
    ids: &[i64],
    action: &'static str,
) -> Result<Vec<T>, StoreError>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let sql = select.replace("{ids}", &parameters(1, chunk.len()));
        let mut query = sqlx::query_as(&sql);
        for id in chunk {
            query = query.bind(id);
        }
        rows.extend(query.fetch_all(pool).await.context(action)?);
    }
    Ok(rows)
}

/// The store: one pool writes, one reads (the same on Postgres). On SQLite one connection
/// writes and eight read: SQLite lets one writer in at a time and makes the others wait
/// in its busy handler, which sleeps in steps of up to 100 ms (the slow regime in
/// docs/benchmarks.md); with one write connection, writers queue for it in async code
/// instead, and readers (WAL) never wait for them. The read connections are opened
/// read-only, so a write sent to them fails at once instead of queueing wrong.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    writes: AnyPool,
    reads: AnyPool,
    /// On SQLite, where the rate budgets are kept (`rate.rs`).
    rates_file: Option<std::path::PathBuf>,
    /// Deliveries on their way to the next group commit (`deliveries.rs`).
    deliveries: Queue<deliveries::NewDelivery>,
    /// On SQLite, lease renewals on their way to the next group commit (`jobs.rs`).
    renewals: Option<Queue<jobs::Renewal>>,
    /// On SQLite, the turns at the one write connection for every write but the group
    /// commits (see [`Store::writer`]).
    write_turns: Option<std::sync::Arc<tokio::sync::Semaphore>>,
}

/// Writes waiting for a group commit (`group_commit.rs`).
type Queue<W> = tokio::sync::mpsc::Sender<group_commit::Pending<W>>;

/// Writes other than group commits that may wait for SQLite's write connection at once.
/// With many workers, their writes (claims, decisions, outcomes) queued ahead of the
/// deliveries' group commit and held a webhook's answer behind them; with one turn, a group
/// commit waits behind at most one of them (ingest p99 at 500 deliveries/s: 20-28 ms with
/// one turn, 29-45 ms with two, docs/benchmarks.md).
const WRITE_TURNS: usize = 1;

/// The write pool, held for one turn (on SQLite) while a write is made through it.
pub(crate) struct WriteTurn<'a> {
    pool: &'a AnyPool,
    _turn: Option<tokio::sync::SemaphorePermit<'a>>,
}

impl std::ops::Deref for WriteTurn<'_> {
    type Target = AnyPool;

    fn deref(&self) -> &AnyPool {
        self.pool
    }
}

/// SQLite connections that may read at once.
const READERS: u32 = 8;

impl Store {
    /// Opens (creating when missing) and migrates the SQLite database at `path`.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        Store::connect_to(&Database::Sqlite(path.to_path_buf()), 1).await
    }

    /// Opens the store the settings name.
    pub async fn connect(settings: &StoreSettings) -> Result<Store, StoreError> {
        Store::connect_to(&settings.database, settings.max_connections).await
    }

    /// Opens `database` and brings its schema up to date. On Postgres the migrations run
    /// under an advisory lock, so replicas starting together apply them once.
    /// `connections` bounds the Postgres pool (SQLite always has one writer, eight readers).
    pub async fn connect_to(database: &Database, connections: u32) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, writes, reads, rates_file) = match database {
            Database::Sqlite(path) => {
                let (writes, reads) = open_sqlite(path).await?;
                sqlx::migrate!("./migrations/sqlite").run(&writes).await?;
                (Backend::Sqlite, writes, reads, Some(rate::rates_file(path)))
            }
            Database::Postgres(url) => {
                let options = AnyConnectOptions::from_str(url.expose_secret())
                    .context("reading the Postgres URL")?;
                let pool = AnyPoolOptions::new()
                    .max_connections(connections)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await
                    .context("connecting to Postgres")?;
                sqlx::migrate!("./migrations/postgres").run(&pool).await?;
                (Backend::Postgres, pool.clone(), pool, None)
            }
        };
        let write_turns = (backend == Backend::Sqlite)
            .then(|| std::sync::Arc::new(tokio::sync::Semaphore::new(WRITE_TURNS)));
        Ok(Store {
            backend,
            write_turns,
            deliveries: group_commit::start(writes.clone()),
            renewals: (backend == Backend::Sqlite).then(|| group_commit::start(writes.clone())),
            writes,
            reads,
            rates_file,
        })
    }

    /// The write pool after waiting for a turn at it (every write but group commits).
    pub(crate) async fn writer(&self) -> WriteTurn<'_> {
        let turn = match &self.write_turns {
            // The semaphore is never closed.
            Some(turns) => turns.acquire().await.ok(),
            None => None,
        };
        WriteTurn {
            pool: &self.writes,
            _turn: turn,
        }
    }

    /// Which database this store is on.
    pub fn backend(&self) -> Backend {
        self.backend
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

    /// The write pool, for tests and tools that inspect or change rows directly.
    pub fn pool(&self) -> &AnyPool {
        &self.writes
    }
}

/// The SQLite file's write connection and read connections, the folder created first.
async fn open_sqlite(path: &Path) -> Result<(AnyPool, AnyPool), StoreError> {
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(|source| StoreError::Folder {
            path: folder.display().to_string(),
            source,
        })?;
    }
    // The path in a URL: '%', '?' and '#' would otherwise be read as URL syntax.
    let file = path
        .display()
        .to_string()
        .replace('%', "%25")
        .replace('?', "%3F")
        .replace('#', "%23");
    let options = |mode: &str| {
        AnyConnectOptions::from_str(&format!("sqlite://{file}?mode={mode}"))
            .context("reading the database path")
    };
    // WAL lets readers on while one writes; FULL: a delivery we answered 2xx for survives
    // a power cut, not only a crash. Only another process (a `jobs retry`, a second
    // service) waits in the busy handler now.
    let pragmas = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                   PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;";
    let writes = AnyPoolOptions::new()
        .max_connections(1)
        .after_connect(move |conn, _| {
            Box::pin(async move { conn.execute(pragmas).await.map(drop) })
        })
        .connect_with(options("rwc")?)
        .await
        .context("opening the database")?;
    let reads = AnyPoolOptions::new()
        .max_connections(READERS)
        .after_connect(move |conn, _| {
            Box::pin(async move { conn.execute("PRAGMA busy_timeout = 10000;").await.map(drop) })
        })
        .connect_with(options("ro")?)
        .await
        .context("opening the database for reading")?;
    Ok((writes, reads))
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
