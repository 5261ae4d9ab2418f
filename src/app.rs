//! The service: built from settings ([`App::build`]: store, rules, Halo, pipeline, workers,
//! routes, listener), then run until a signal ([`App::run_until_stopped`]).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::{ConfigError, Database, Mode, ServerSettings, Settings};
use crate::halo::Lookups;
use crate::http::{Health, Throttle};
use crate::pipeline::{Halo, Pipeline};
use crate::report::LatestReport;
use crate::store::{ServingLock, Store, StoreError};
use crate::tasks::housekeeping;
use crate::tasks::model_watch::ModelsHandle;
use crate::tasks::readback::ReadBackTask;
use crate::tasks::reconcile::Reconciler;
use crate::tasks::rules_watch::RulesHandle;
use crate::triage::llm::{Llm, LlmError};
use crate::triage::RulesError;
use crate::wake::Wake;
use crate::worker::{Outage, Worker};

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Rules(#[from] RulesError),
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the HTTP server failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// The whole service, bound and ready to run.
pub struct App {
    listener: TcpListener,
    /// The operator's listener and routes, when `admin.listen` is set.
    admin: Option<(TcpListener, Router)>,
    /// The connection limits and timeouts.
    server: ServerSettings,
    router: Router,
    store: Store,
    worker: Worker,
    wake: Wake,
    concurrency: usize,
    /// How long jobs in flight may take to finish at shutdown.
    grace: Duration,
    rules: Arc<RulesHandle>,
    models: Arc<ModelsHandle>,
    /// Present when Halo credentials are configured.
    reconciler: Option<Reconciler>,
    /// Present when Halo credentials are configured.
    read_back: Option<ReadBackTask>,
    retention: Duration,
    /// On SQLite, held while the service runs: `migrate-store` refuses a store in use.
    _serving: Option<ServingLock>,
}

impl App {
    /// Validates settings, opens and migrates the store, loads the rules, binds the port.
    pub async fn build(settings: Settings) -> Result<App, AppError> {
        settings.validate_for_serving()?;
        let mode = settings.effective_mode();
        if mode == Mode::Shadow {
            if settings.mode == Mode::Live {
                tracing::warn!(
                    "SHADOW MODE: mode = \"live\" but Halo credentials (halo.base_url, \
                     halo.client_id, halo.client_secret) are missing; nothing will be written to Halo"
                );
            } else {
                tracing::warn!("SHADOW MODE: decisions are recorded, nothing is written to Halo");
            }
        }
        // Installed before anything records a metric.
        crate::telemetry::metrics::handle();
        let store = Store::connect(&settings.store).await?;
        let serving = match &settings.store.database {
            Database::Sqlite(path) => Some(ServingLock::shared(path)?),
            Database::Postgres(_) => None,
        };
        tracing::info!(store = %settings.store.database.display(), "store opened");
        let rules = RulesHandle::load(&settings.rules)?;
        tracing::info!(rules = rules.status().rules, path = %settings.rules.path.display(), "rules loaded");
        let models = ModelsHandle::load(&settings.model);
        let halo = settings.halo_client()?.map(|client| {
            // Every process on the store (replicas, `learn`) stays within one budget.
            client.share_budget(Arc::new(store.clone()));
            Halo {
                lookups: Lookups::new(client.clone(), settings.halo.lookup_ttl),
                client,
            }
        });
        let halo_client = halo.as_ref().map(|halo| halo.client.clone());
        let wake = Wake::default();
        let reconciler = halo.as_ref().map(|halo| {
            Reconciler::new(
                store.clone(),
                halo.client.clone(),
                settings.reconcile.clone(),
                wake.clone(),
            )
        });
        let latest_report = Arc::new(LatestReport::default());
        let read_back = halo.as_ref().map(|halo| {
            ReadBackTask::new(
                store.clone(),
                halo.client.clone(),
                settings.report.clone(),
                models.clone(),
                latest_report.clone(),
            )
        });
        if settings.admin.token.is_some()
            && (read_back.is_none() || settings.report.interval.is_zero())
        {
            // No read-back pass will count the agreement report for the console: count it
            // once now (0.1-0.3 s at 400,000 comparisons), not on the page's first view.
            latest_report
                .recount(&store, &settings.report, &models.current())
                .await?;
        }
        let worker_settings = &settings.worker;
        let outage = Outage::new(
            worker_settings.outage_after_failures,
            worker_settings.outage_pause,
            worker_settings.outage_max_pause,
        );
        let pipeline = Pipeline {
            store: store.clone(),
            halo,
            rules: rules.clone(),
            mode,
            lease: worker_settings.lease,
            act: settings.act.clone(),
            ack: settings.ack.clone(),
            templates: settings.ack.templates()?,
            llm: settings
                .llm
                .enabled
                .then(|| Llm::new(&settings.llm))
                .transpose()?,
            models: models.clone(),
            model_settings: settings.model.clone(),
        };
        let worker = Worker::new(worker_settings.clone(), outage.clone(), pipeline);
        let concurrency = worker_settings.concurrency;
        let heartbeat = (concurrency > 0).then(|| worker.heartbeat());
        let health = Health {
            store: store.clone(),
            rules: rules.clone(),
            models: models.clone(),
            heartbeat,
            // A worker is stuck when it has neither looked for work nor renewed its job's
            // lease for longer than a lease lasts.
            stale_after: worker_settings.lease + worker_settings.poll_interval * 2,
            outage,
        };
        let throttle = Arc::new(Throttle::new(settings.server.auth_failures_per_minute));
        let router = crate::ingest::router(
            &settings.webhook,
            settings.server.request_body_timeout,
            throttle.clone(),
            store.clone(),
            wake.clone(),
        );
        let (health_routes, operator_routes) = crate::http::routers(
            &settings,
            store.clone(),
            wake.clone(),
            health,
            throttle,
            halo_client,
            latest_report,
        );
        let mut router = router.merge(health_routes);
        crate::http::raise_open_file_limit();
        let admin = match settings.admin_listen_addr()? {
            Some(addr) => Some((bind(addr).await?, operator_routes)),
            None => {
                router = router.merge(operator_routes);
                None
            }
        };
        let listener = bind(settings.listen_addr()?).await?;
        Ok(App {
            listener,
            admin,
            server: settings.server.clone(),
            router,
            store,
            worker,
            wake,
            concurrency,
            grace: settings.worker.shutdown_grace,
            rules,
            models,
            reconciler,
            read_back,
            retention: settings.store.retention,
            _serving: serving,
        })
    }

    /// The operator's address (`admin.listen`), when it has its own.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().map(|(listener, _)| {
            listener
                .local_addr()
                .expect("a bound listener has an address")
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The rules in force, and their reload.
    pub fn rules(&self) -> &Arc<RulesHandle> {
        &self.rules
    }

    /// The reconciler, when Halo credentials are configured (it runs every
    /// `reconcile.interval_secs` while serving; tests and tools run passes themselves).
    pub fn reconciler(&self) -> Option<&Reconciler> {
        self.reconciler.as_ref()
    }

    /// The read-back, when Halo credentials are configured (it runs every
    /// `report.interval_secs` while serving; tests run passes themselves).
    pub fn read_back(&self) -> Option<&ReadBackTask> {
        self.read_back.as_ref()
    }

    /// The job step function, for driving jobs one at a time (tests, tools).
    pub fn worker(&self) -> &Worker {
        &self.worker
    }

    /// Serves until SIGINT or SIGTERM, then shuts down gracefully (see [`App::run_until`]).
    pub async fn run_until_stopped(self) -> Result<(), AppError> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `shutdown` completes. Then no delivery and no job is taken any more,
    /// jobs in flight get `worker.shutdown_grace_secs` to finish, and those still running
    /// after that are stopped and put back in the queue.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), AppError> {
        let (stop, stopped) = watch::channel(false);
        let mut workers = JoinSet::new();
        for _ in 0..self.concurrency {
            workers.spawn(self.worker.clone().run(self.wake.clone(), stopped.clone()));
        }
        workers.spawn(self.rules.clone().watcher(stopped.clone()));
        workers.spawn(self.models.clone().watch(stopped.clone()));
        if let Some(reconciler) = self.reconciler.clone() {
            workers.spawn(reconciler.run(stopped.clone()));
        }
        if let Some(read_back) = self.read_back.clone() {
            workers.spawn(read_back.run(stopped.clone()));
        }
        workers.spawn(housekeeping::run(
            self.store.clone(),
            self.retention,
            stopped.clone(),
        ));
        tracing::info!(addr = %self.local_addr(), workers = self.concurrency, "halo-triage listening");
        // The signal stops the HTTP server and the workers at the same moment, and the
        // grace period starts then for both: a slow client cannot hold the exit up.
        let until_stopped = |mut stopped: watch::Receiver<bool>| async move {
            let _ = stopped.wait_for(|stopped| *stopped).await;
        };
        let main = crate::http::serve(
            self.listener,
            self.router,
            self.server.clone(),
            until_stopped(stopped.clone()),
        );
        let operator = self.admin.map(|(listener, router)| {
            crate::http::serve(
                listener,
                router,
                self.server,
                until_stopped(stopped.clone()),
            )
        });
        let mut server = tokio::spawn(async move {
            match operator {
                Some(operator) => drop(tokio::join!(main, operator)),
                None => main.await,
            }
        });
        let ended_early = tokio::select! {
            _ = shutdown => None,
            served = &mut server => Some(served),
        };
        tracing::info!("shutting down: no new deliveries or jobs");
        let _ = stop.send(true);
        let deadline = tokio::time::Instant::now() + self.grace;
        let served = match ended_early {
            Some(served) => served,
            None => match tokio::time::timeout_at(deadline, &mut server).await {
                Ok(served) => served,
                Err(_) => {
                    server.abort();
                    tracing::warn!(
                        "connections still open at the end of the grace period were closed"
                    );
                    Ok(())
                }
            },
        };
        let finished = tokio::time::timeout_at(deadline, async {
            while workers.join_next().await.is_some() {}
        })
        .await;
        if finished.is_err() {
            workers.shutdown().await;
            match self.worker.release_in_flight().await {
                Ok(released) => tracing::warn!(
                    released,
                    grace_secs = self.grace.as_secs(),
                    "jobs still running after the grace period were stopped and queued again"
                ),
                Err(error) => {
                    tracing::error!(%error, "cannot queue the stopped jobs again; their leases will expire")
                }
            }
        }
        tracing::info!("halo-triage stopped");
        served.map_err(|panic| AppError::Serve(std::io::Error::other(panic)))
    }
}

/// SIGINT or SIGTERM. The handlers are installed when this is called, not when the future
/// is first polled, so a signal right after "listening" is never the default (killing)
/// action.
fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt()).expect("installing the SIGINT handler");
        let mut terminate =
            signal(SignalKind::terminate()).expect("installing the SIGTERM handler");
        async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, AppError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| AppError::Bind { addr, source })
}
