//! Which database the store is on: `store.url` when set (`sqlite://FILE` or
//! `postgres://…`), else the SQLite file at `store.path`. A Postgres password may come
//! from the URL, `store.password` (the environment) or `store.password_file` (a mounted
//! secret); it is never logged.

use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};

use super::{invalid, ConfigError, StoreSettings};

/// Where the store is.
#[derive(Debug, Clone)]
pub enum Database {
    Sqlite(PathBuf),
    /// The whole URL, its password included.
    Postgres(SecretString),
}

impl Database {
    /// The database as logs and errors may name it: a path, or a URL without its password.
    pub fn display(&self) -> String {
        match self {
            Database::Sqlite(path) => format!("sqlite://{}", path.display()),
            Database::Postgres(url) => match url::Url::parse(url.expose_secret()) {
                Ok(mut url) => {
                    if url.password().is_some() {
                        let _ = url.set_password(Some("********"));
                    }
                    url.to_string()
                }
                Err(_) => "postgres://(an unreadable URL)".into(),
            },
        }
    }
}

impl StoreSettings {
    /// The database these settings name, its password file read.
    pub(super) fn resolve_database(&self) -> Result<Database, ConfigError> {
        let Some(url) = &self.url else {
            return Ok(Database::Sqlite(self.path.clone()));
        };
        let url = url.expose_secret().trim();
        if let Some(file) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if file.is_empty() {
                return Err(invalid(
                    "store.url",
                    "sqlite:// needs a file: sqlite://data/halo-triage.db",
                ));
            }
            return Ok(Database::Sqlite(PathBuf::from(file)));
        }
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(invalid(
                "store.url",
                "must start with sqlite:// (a file) or postgres:// (a server)",
            ));
        }
        let mut parsed = url::Url::parse(url)
            .map_err(|e| invalid("store.url", format!("is not a URL ({e})")))?;
        let password = match (&self.password, &self.password_file) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "store.password_file",
                    "set store.password or store.password_file, not both",
                ))
            }
            (Some(password), None) => Some(password.expose_secret().to_string()),
            (None, Some(file)) => Some(
                std::fs::read_to_string(file)
                    .map_err(|e| {
                        invalid(
                            "store.password_file",
                            format!("cannot read {}: {e}", file.display()),
                        )
                    })?
                    .trim_end_matches(['\r', '\n'])
                    .to_string(),
            ),
            (None, None) => None,
        };
        if let Some(password) = password {
            parsed
                .set_password(Some(&password))
                .map_err(|()| invalid("store.url", "cannot carry a password (no user or host)"))?;
        }
        Ok(Database::Postgres(SecretString::from(parsed.to_string())))
    }
}
