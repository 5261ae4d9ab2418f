//! Live rules: the rule set in force, reloaded on SIGHUP and when its files change. An
//! invalid new version is refused and the old one stays in force; jobs hold the version
//! they started with, so a reload never drops or repeats work. A lock poisoned by a panic
//! elsewhere is used as it is, as everywhere in the service: the data it guards is always
//! whole (each write is one assignment).

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

use crate::clock::now_ms;
use crate::config::RulesSettings;
use crate::triage::{RuleSet, RulesError};

/// What `/readyz` shows about the rules.
#[derive(Debug, Clone, Serialize)]
pub struct RulesStatus {
    pub rules: usize,
    pub loaded_at_ms: i64,
    /// Why the last reload was refused (the rules in force are the previous ones).
    pub error: Option<String>,
}

pub struct RulesHandle {
    settings: RulesSettings,
    current: RwLock<Arc<RuleSet>>,
    status: Mutex<RulesStatus>,
    /// Digest of the files at the last reload attempt, so a broken file is reported once.
    last_attempt: Mutex<Vec<u8>>,
}

impl RulesHandle {
    pub fn load(settings: &RulesSettings) -> Result<Arc<RulesHandle>, RulesError> {
        let rules = RuleSet::from_settings(settings)?;
        Ok(Arc::new(RulesHandle {
            settings: settings.clone(),
            status: Mutex::new(RulesStatus {
                rules: rules.len(),
                loaded_at_ms: now_ms(),
                error: None,
            }),
            last_attempt: Mutex::new(rules.digest().to_vec()),
            current: RwLock::new(Arc::new(rules)),
        }))
    }

    /// The rules in force.
    pub fn current(&self) -> Arc<RuleSet> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn status(&self) -> RulesStatus {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Loads the files again; on error the rules in force stay and the error is kept.
    /// Compiling happens before any lock is taken: `/readyz` never waits for it.
    pub fn reload(&self) -> Result<usize, RulesError> {
        let loaded = RuleSet::from_settings(&self.settings);
        let digest = loaded
            .as_ref()
            .map(|r| r.digest().to_vec())
            .unwrap_or_else(|_| {
                RuleSet::digest_on_disk(&self.settings.path, Some(&self.settings.overlay_dir))
                    .unwrap_or_default()
            });
        *self
            .last_attempt
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = digest;
        match loaded {
            Ok(rules) => {
                let count = rules.len();
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(rules);
                *self.status.lock().unwrap_or_else(PoisonError::into_inner) = RulesStatus {
                    rules: count,
                    loaded_at_ms: now_ms(),
                    error: None,
                };
                tracing::info!(rules = count, "rules reloaded");
                Ok(count)
            }
            Err(error) => {
                tracing::error!(%error, "rules not reloaded: the previous rules stay in force");
                self.status
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .error = Some(error.to_string());
                Err(error)
            }
        }
    }

    /// Reloads when the rules files' contents (or the overlay folder's list) changed since
    /// the last attempt.
    pub fn reload_if_changed(&self) {
        let on_disk =
            RuleSet::digest_on_disk(&self.settings.path, Some(&self.settings.overlay_dir));
        let changed = on_disk.is_none_or(|d| {
            d != *self
                .last_attempt
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        });
        if changed {
            let _ = self.reload();
        }
    }

    /// Reloads on SIGHUP and, every `rules.watch_interval_secs`, when the files changed.
    /// The SIGHUP handler is installed before this returns, so a SIGHUP right after start
    /// cannot hit the default action (terminate).
    pub fn watcher(
        self: Arc<Self>,
        mut stop: watch::Receiver<bool>,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        #[cfg(unix)]
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .expect("installing the SIGHUP handler");
        async move {
            let interval = self.settings.watch_interval;
            let mut tick = tokio::time::interval(interval.max(Duration::from_secs(1)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                #[cfg(unix)]
                let hung_up = hangup.recv();
                #[cfg(not(unix))]
                let hung_up = std::future::pending::<Option<()>>();
                tokio::select! {
                    _ = stop.changed() => return,
                    _ = hung_up => {
                        tracing::info!("SIGHUP: reloading the rules");
                        let _ = self.reload();
                    }
                    _ = tick.tick(), if !interval.is_zero() => self.reload_if_changed(),
                }
            }
        }
    }
}
