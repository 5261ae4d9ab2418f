//! Tests that run on both backends: `on_both_backends!(a, b)` makes, for each async fn
//! `a(backing: Backing)`, a test on a temporary SQLite file and one on a fresh Postgres
//! schema (skipped with a message when no server answers, failing under CI).

use halo_triage::{Settings, Store};
use tempfile::TempDir;

use super::postgres;

/// A database for one test: a temporary SQLite file or a fresh Postgres schema.
pub struct Backing {
    pub url: String,
    _dir: Option<TempDir>,
}

impl Backing {
    pub fn sqlite() -> Backing {
        let dir = tempfile::tempdir().unwrap();
        Backing {
            url: format!("sqlite://{}", dir.path().join("store.db").display()),
            _dir: Some(dir),
        }
    }

    pub async fn postgres() -> Option<Backing> {
        Some(Backing {
            url: postgres::fresh_schema().await?,
            _dir: None,
        })
    }

    /// Opens the store as a service would (`store.url`); a second call is a second process.
    pub async fn open(&self) -> Store {
        let env = [("HALO_TRIAGE__STORE__URL".to_string(), self.url.clone())];
        let settings = Settings::load_with_env(None, env).unwrap();
        Store::connect(&settings.store).await.unwrap()
    }
}

#[macro_export]
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {$(
        mod $test {
            #[tokio::test]
            async fn on_sqlite() {
                super::$test($crate::common::backing::Backing::sqlite()).await
            }

            #[tokio::test]
            async fn on_postgres() {
                if let Some(backing) = $crate::common::backing::Backing::postgres().await {
                    super::$test(backing).await
                }
            }
        }
    )*};
}
