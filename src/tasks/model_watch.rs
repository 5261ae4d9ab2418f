//! Live models: every `*.model` file in `model.dir`, loaded at start and again when a file
//! appears, changes or goes. A damaged or foreign file is refused with a log line and a
//! `/readyz` detail; the model loaded before it for that field stays in force. Jobs hold
//! the set they started with.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::sync::watch;

use crate::config::ModelSettings;
use crate::halo::Field;
use crate::triage::model::{Model, ModelSet};

/// One model in force, for `/readyz` and the logs.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LoadedModel {
    pub field: String,
    pub file: String,
    pub trained_at: String,
    pub labels: usize,
}

/// What `/readyz` shows about the models.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ModelsStatus {
    pub loaded: Vec<LoadedModel>,
    /// Files refused at the last look, and why.
    pub errors: Vec<String>,
}

/// What the folder looked like: each file's name, size and modification time.
type Listing = Vec<(PathBuf, u64, Option<SystemTime>)>;

pub struct ModelsHandle {
    settings: ModelSettings,
    current: RwLock<Arc<ModelSet>>,
    status: Mutex<ModelsStatus>,
    seen: Mutex<Listing>,
}

impl ModelsHandle {
    /// Loads what the folder holds; never fails (a missing folder is no models).
    pub fn load(settings: &ModelSettings) -> Arc<ModelsHandle> {
        let handle = Arc::new(ModelsHandle {
            settings: settings.clone(),
            current: RwLock::new(Arc::new(ModelSet::default())),
            status: Mutex::new(ModelsStatus::default()),
            seen: Mutex::new(Vec::new()),
        });
        handle.reload_if_changed();
        handle
    }

    pub fn current(&self) -> Arc<ModelSet> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn status(&self) -> ModelsStatus {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn listing(&self) -> Listing {
        let Ok(entries) = std::fs::read_dir(&self.settings.dir) else {
            return Vec::new();
        };
        let mut listing: Listing = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|e| e == "model"))
            .map(|path| {
                let meta = std::fs::metadata(&path).ok();
                let size = meta.as_ref().map_or(0, |m| m.len());
                let modified = meta.and_then(|m| m.modified().ok());
                (path, size, modified)
            })
            .collect();
        listing.sort();
        listing
    }

    /// Loads the folder again when its listing changed since the last look.
    pub fn reload_if_changed(&self) {
        let listing = self.listing();
        {
            let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
            if *seen == listing {
                return;
            }
            *seen = listing.clone();
        }
        let before = self.current();
        let mut models = BTreeMap::new();
        let mut loaded = Vec::new();
        let mut errors = Vec::new();
        for (path, _, _) in &listing {
            let read = Model::load(path)
                .map_err(|e| e.to_string())
                .and_then(|model| {
                    let field = Field::learnable(&model.info.field).ok_or_else(|| {
                        format!(
                            "{}: field '{}' is not one a model can decide",
                            path.display(),
                            model.info.field
                        )
                    })?;
                    Ok((field, model))
                });
            match read {
                Ok((field, model)) => {
                    loaded.push(LoadedModel {
                        field: field.name().to_string(),
                        file: path.display().to_string(),
                        trained_at: model.info.trained_at.clone(),
                        labels: model.labels.len(),
                    });
                    models.insert(field, Arc::new(model));
                }
                Err(error) => {
                    tracing::error!(%error, "model not loaded");
                    errors.push(error);
                    // A refused `<field>.model` leaves that field's earlier model in force.
                    let field = path
                        .file_stem()
                        .and_then(|s| Field::learnable(&s.to_string_lossy()));
                    if let Some((field, model)) =
                        field.and_then(|f| Some((f, before.models.get(&f)?.clone())))
                    {
                        models.entry(field).or_insert(model);
                    }
                }
            }
        }
        if !loaded.is_empty() || !errors.is_empty() {
            tracing::info!(
                models = loaded.len(),
                refused = errors.len(),
                "models loaded"
            );
        }
        *self.current.write().unwrap_or_else(PoisonError::into_inner) =
            Arc::new(ModelSet { models });
        *self.status.lock().unwrap_or_else(PoisonError::into_inner) =
            ModelsStatus { loaded, errors };
    }

    /// Every `model.watch_interval_secs`, picks up new or changed files.
    pub async fn watch(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let interval = self.settings.watch_interval;
        if interval.is_zero() {
            return;
        }
        let mut tick = tokio::time::interval(interval.max(Duration::from_secs(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                _ = tick.tick() => {
                    let handle = self.clone();
                    // Reading a model file is blocking work: off the async threads.
                    let _ = tokio::task::spawn_blocking(move || handle.reload_if_changed()).await;
                }
            }
        }
    }
}
