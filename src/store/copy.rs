//! Copying a whole store into another (`migrate-store`: SQLite up to Postgres): every
//! table that holds work or history, parents before children, in one transaction on the
//! destination, then the counts compared. What a running service keeps for itself (task
//! leases, the shared rate budget, console sessions) starts afresh.

use futures_util::TryStreamExt;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::{parameters, Backend, Context, Store, StoreError};

/// How a column's values are read and written.
#[derive(Clone, Copy)]
enum Kind {
    Integer,
    Text,
    Bytes,
}

use Kind::{Bytes, Integer, Text};

/// The tables copied, in the order their foreign keys need, with their columns.
const TABLES: &[(&str, &[(&str, Kind)])] = &[
    (
        "deliveries",
        &[
            ("id", Integer),
            ("received_at", Integer),
            ("outcome", Text),
            ("error", Text),
            ("body", Bytes),
        ],
    ),
    (
        "jobs",
        &[
            ("id", Integer),
            ("delivery_row", Integer),
            ("halo_delivery_id", Text),
            ("ticket_id", Integer),
            ("event", Text),
            ("payload", Text),
            ("status", Text),
            ("attempts", Integer),
            ("next_attempt_at", Integer),
            ("lease_until", Integer),
            ("last_error", Text),
            ("created_at", Integer),
            ("updated_at", Integer),
            ("attempts_at_replay", Integer),
        ],
    ),
    (
        "decisions",
        &[
            ("id", Integer),
            ("job_id", Integer),
            ("ticket_id", Integer),
            ("mode", Text),
            ("decision", Text),
            ("ticket_update", Text),
            ("notes", Text),
            ("applied", Integer),
            ("created_at", Integer),
            ("before", Text),
            ("read_back_at", Integer),
            ("client", Text),
            ("team", Text),
            ("rules", Text),
        ],
    ),
    (
        "readbacks",
        &[
            ("decision_id", Integer),
            ("field", Text),
            ("ticket_id", Integer),
            ("mode", Text),
            ("source_kind", Text),
            ("source_name", Text),
            ("ours", Text),
            ("theirs", Text),
            ("outcome", Text),
            ("set_by", Text),
            ("closed", Integer),
            ("decided_at", Integer),
            ("read_at", Integer),
        ],
    ),
    (
        "acknowledgements",
        &[
            ("ticket_id", Integer),
            ("status", Text),
            ("action_id", Integer),
            ("updated_at", Integer),
        ],
    ),
    (
        "llm_usage",
        &[
            ("day", Text),
            ("tokens", Integer),
            ("calls", Integer),
            ("reserved", Integer),
        ],
    ),
    (
        "llm_cache",
        &[("key", Text), ("content", Text), ("created_at", Integer)],
    ),
    ("watermarks", &[("name", Text), ("at_ms", Integer)]),
    (
        "rule_hits",
        &[("rule", Text), ("day", Text), ("hits", Integer)],
    ),
];

/// The tables whose ids the destination must go on counting from.
const IDENTITIES: &[&str] = &["deliveries", "jobs", "decisions"];

/// Values per INSERT statement, under both backends' limits (SQLite 32,766, Postgres 65,535).
const VALUES_PER_STATEMENT: usize = 30_000;

/// One column's value, as read from the source.
enum Value {
    Integer(Option<i64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
}

impl Store {
    /// Copies every table of this store into `to`, which must be empty, in one transaction
    /// on `to`; returns the rows copied per table, each checked against the source.
    pub async fn copy_into(&self, to: &Store) -> Result<Vec<(&'static str, i64)>, StoreError> {
        for (table, _) in TABLES {
            if to.count_rows(table).await? > 0 {
                return Err(StoreError::Copy(format!(
                    "the destination is not empty: its {table} table has rows (copy into a new \
                     database)"
                )));
            }
        }
        let repeated: Vec<i64> = sqlx::query_scalar(
            "SELECT ticket_id FROM jobs GROUP BY ticket_id HAVING COUNT(*) > 1 ORDER BY 1 LIMIT 5",
        )
        .fetch_all(&self.reads)
        .await
        .context("looking for tickets with several jobs")?;
        if !repeated.is_empty() && to.backend == Backend::Postgres {
            return Err(StoreError::Copy(format!(
                "tickets {repeated:?} have more than one job (a store from before one job per \
                 ticket); Postgres keeps one: finish or prune those jobs first"
            )));
        }
        let mut tx = to.writes.begin().await.context("starting the copy")?;
        for (table, columns) in TABLES {
            copy_table(&self.reads, &mut tx, table, columns).await?;
        }
        if to.backend == Backend::Postgres {
            for table in IDENTITIES {
                sqlx::query(&format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                                   (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
                ))
                .execute(&mut *tx)
                .await
                .context("moving an id sequence past the copied rows")?;
            }
        }
        tx.commit().await.context("committing the copy")?;
        let mut copied = Vec::with_capacity(TABLES.len());
        for (table, _) in TABLES {
            let (ours, theirs) = (self.count_rows(table).await?, to.count_rows(table).await?);
            if ours != theirs {
                return Err(StoreError::Copy(format!(
                    "{table}: {ours} rows in the source, {theirs} in the destination"
                )));
            }
            copied.push((*table, theirs));
        }
        Ok(copied)
    }

    async fn count_rows(&self, table: &str) -> Result<i64, StoreError> {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&self.reads)
            .await
            .context("counting rows")
    }
}

/// Streams `table` from `from` into `tx`, many rows per INSERT.
async fn copy_table(
    from: &sqlx::AnyPool,
    tx: &mut Transaction<'_, Any>,
    table: &str,
    columns: &[(&str, Kind)],
) -> Result<(), StoreError> {
    let names = columns
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ");
    let select = format!("SELECT {names} FROM {table}");
    let mut rows = sqlx::query(&select).fetch(from);
    let per_statement = (VALUES_PER_STATEMENT / columns.len()).min(1_000);
    let mut batch: Vec<Vec<Value>> = Vec::with_capacity(per_statement);
    while let Some(row) = rows.try_next().await.context("reading the source")? {
        batch.push(read_row(&row, columns)?);
        if batch.len() == per_statement {
            insert(tx, table, &names, columns.len(), std::mem::take(&mut batch)).await?;
        }
    }
    if !batch.is_empty() {
        insert(tx, table, &names, columns.len(), batch).await?;
    }
    Ok(())
}

fn read_row(row: &AnyRow, columns: &[(&str, Kind)]) -> Result<Vec<Value>, StoreError> {
    columns
        .iter()
        .enumerate()
        .map(|(i, (_, kind))| {
            Ok(match kind {
                Integer => Value::Integer(row.try_get(i)?),
                Text => Value::Text(row.try_get(i)?),
                Bytes => Value::Bytes(row.try_get(i)?),
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .context("reading a source row")
}

async fn insert(
    tx: &mut Transaction<'_, Any>,
    table: &str,
    names: &str,
    width: usize,
    rows: Vec<Vec<Value>>,
) -> Result<(), StoreError> {
    let tuples = (0..rows.len())
        .map(|r| format!("({})", parameters(r * width + 1, width)))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("INSERT INTO {table} ({names}) VALUES {tuples}");
    let mut query = sqlx::query(&sql);
    for value in rows.into_iter().flatten() {
        query = match value {
            Value::Integer(v) => query.bind(v),
            Value::Text(v) => query.bind(v),
            Value::Bytes(v) => query.bind(v),
        };
    }
    query
        .execute(&mut **tx)
        .await
        .context("writing copied rows")?;
    Ok(())
}
