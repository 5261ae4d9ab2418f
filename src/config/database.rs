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

impl Database {
    /// The database `url` names (`sqlite://FILE` or `postgres://…`); a Postgres URL takes
    /// `password` when one is given. The error says what is wrong with the URL.
    pub fn from_url(url: &str, password: Option<&str>) -> Result<Database, String> {
        let url = url.trim();
        if let Some(file) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if file.is_empty() {
                return Err("sqlite:// needs a file: sqlite://data/halo-triage.db".into());
            }
            return Ok(Database::Sqlite(PathBuf::from(file)));
        }
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err("must start with sqlite:// (a file) or postgres:// (a server)".into());
        }
        let mut parsed = url::Url::parse(url).map_err(|e| format!("is not a URL ({e})"))?;
        if let Some(password) = password {
            parsed
                .set_password(Some(password))
                .map_err(|()| "cannot carry a password (no user or host)".to_string())?;
        }
        Ok(Database::Postgres(SecretString::from(parsed.to_string())))
    }
}

impl StoreSettings {
    /// The database these settings name, its password file read.
    pub(super) fn resolve_database(&self) -> Result<Database, ConfigError> {
        let Some(url) = &self.url else {
            return Ok(Database::Sqlite(self.path.clone()));
        };
        let password = self.password()?;
        Database::from_url(
            url.expose_secret(),
            password.as_ref().map(|p| p.expose_secret()),
        )
        .map_err(|message| invalid("store.url", message))
    }

    /// The Postgres password of `store.password` or `store.password_file`, if either is set.
    pub fn password(&self) -> Result<Option<SecretString>, ConfigError> {
        match (&self.password, &self.password_file) {
            (Some(_), Some(_)) => Err(invalid(
                "store.password_file",
                "set store.password or store.password_file, not both",
            )),
            (Some(password), None) => Ok(Some(password.clone())),
            (None, Some(file)) => {
                let text = std::fs::read_to_string(file).map_err(|e| {
                    invalid(
                        "store.password_file",
                        format!("cannot read {}: {e}", file.display()),
                    )
                })?;
                Ok(Some(SecretString::from(
                    text.trim_end_matches(['\r', '\n']).to_string(),
                )))
            }
            (None, None) => Ok(None),
        }
    }
}
