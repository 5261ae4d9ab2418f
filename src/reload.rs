//! Live rules: the rule set in force, reloaded on SIGHUP and when its files change. An
//! invalid new version is refused and the old one stays in force; jobs hold the version
//! they started with, so a reload never drops or repeats work.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::sync::watch;

use crate::config::RulesSettings;
use crate::store::now_ms;
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
    fingerprint: Mutex<Vec<(PathBuf, u64, Option<SystemTime>)>>,
}

impl RulesHandle {
    pub fn load(settings: &RulesSettings) -> Result<Arc<RulesHandle>, RulesError> {
        let rules = RuleSet::from_settings(settings)?;
        let handle = RulesHandle {
            settings: settings.clone(),
            status: Mutex::new(RulesStatus {
                rules: rules.len(),
                loaded_at_ms: now_ms(),
                error: None,
            }),
            current: RwLock::new(Arc::new(rules)),
            fingerprint: Mutex::new(Vec::new()),
        };
        *handle.fingerprint.lock().expect("not poisoned") = handle.files_now();
        Ok(Arc::new(handle))
    }

    /// The rules in force.
    pub fn current(&self) -> Arc<RuleSet> {
        self.current.read().expect("not poisoned").clone()
    }

    pub fn status(&self) -> RulesStatus {
        self.status.lock().expect("not poisoned").clone()
    }

    /// Loads the files again; on error the rules in force stay and the error is kept.
    pub fn reload(&self) -> Result<usize, RulesError> {
        *self.fingerprint.lock().expect("not poisoned") = self.files_now();
        let mut status = self.status.lock().expect("not poisoned");
        match RuleSet::from_settings(&self.settings) {
            Ok(rules) => {
                let count = rules.len();
                *self.current.write().expect("not poisoned") = Arc::new(rules);
                *status = RulesStatus {
                    rules: count,
                    loaded_at_ms: now_ms(),
                    error: None,
                };
                tracing::info!(rules = count, "rules reloaded");
                Ok(count)
            }
            Err(error) => {
                tracing::error!(%error, "rules not reloaded: the previous rules stay in force");
                status.error = Some(error.to_string());
                Err(error)
            }
        }
    }

    /// Reloads when a rules file (or the overlay folder's list) changed since last look.
    pub fn reload_if_changed(&self) {
        let changed = *self.fingerprint.lock().expect("not poisoned") != self.files_now();
        if changed {
            let _ = self.reload();
        }
    }

    /// Size and modification time of the main file and every overlay file.
    fn files_now(&self) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
        let mut paths = vec![self.settings.path.clone()];
        if let Ok(entries) = std::fs::read_dir(&self.settings.overlay_dir) {
            let mut overlays: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect();
            overlays.sort();
            paths.extend(overlays);
        }
        paths
            .into_iter()
            .map(|path| {
                let meta = std::fs::metadata(&path).ok();
                let len = meta.as_ref().map_or(0, |m| m.len());
                let modified = meta.and_then(|m| m.modified().ok());
                (path, len, modified)
            })
            .collect()
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
            let interval = self.settings.watch_interval_secs;
            let mut tick = tokio::time::interval(Duration::from_secs(interval.max(1)));
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
                    _ = tick.tick(), if interval > 0 => self.reload_if_changed(),
                }
            }
        }
    }
}
