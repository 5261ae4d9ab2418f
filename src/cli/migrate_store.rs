//! `halo-triage migrate-store --from sqlite://… --to postgres://…`: moves a SQLite store up
//! to Postgres, for replicas. Refused while a service serves from the source (and no
//! service starts on it during the copy); the destination must be empty, and the rows of
//! every table are counted on both sides afterwards.

use std::fmt::Write;

use secrecy::ExposeSecret;

use crate::config::{ConfigError, Database, Settings};
use crate::store::{ServingLock, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum MigrateStoreError {
    #[error("--{flag}: {message}")]
    Url { flag: &'static str, message: String },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Copies the store at `from` into the one at `to`; the text lists what was copied. A
/// Postgres `to` without a password in its URL takes `store.password` or
/// `store.password_file`, as the service does.
pub async fn migrate_store(
    settings: &Settings,
    from: &str,
    to: &str,
) -> Result<String, MigrateStoreError> {
    let url = |flag: &'static str, url: &str, password: Option<&str>| {
        Database::from_url(url, password)
            .map_err(|message| MigrateStoreError::Url { flag, message })
    };
    let source = url("from", from, None)?;
    let Database::Sqlite(path) = &source else {
        return Err(MigrateStoreError::Url {
            flag: "from",
            message: "migrate-store moves a SQLite store (sqlite://FILE) up to Postgres".into(),
        });
    };
    if !path.exists() {
        return Err(MigrateStoreError::Url {
            flag: "from",
            message: format!("{} does not exist", path.display()),
        });
    }
    let password = settings.store.password()?;
    let destination = url("to", to, password.as_ref().map(|p| p.expose_secret()))?;
    if let Database::Sqlite(to_path) = &destination {
        if to_path == path {
            return Err(MigrateStoreError::Url {
                flag: "to",
                message: "the destination is the source".into(),
            });
        }
    }
    let _copying = ServingLock::exclusive(path)?;
    let source_store = Store::connect_to(&source, 1).await?;
    let destination_store = Store::connect_to(&destination, 2).await?;
    let copied = source_store.copy_into(&destination_store).await?;
    let mut text = format!(
        "copied {} into {}\n",
        source.display(),
        destination.display()
    );
    for (table, rows) in copied {
        let _ = writeln!(text, "{table:>18}  {rows:>9} rows, the same as the source");
    }
    let _ = writeln!(
        text,
        "now set store.url to the destination and start the services on it"
    );
    Ok(text)
}
