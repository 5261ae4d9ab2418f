//! Requests on the wire: the shared rate budget (Halo counts requests per rolling five
//! minutes), the metrics of every request, reading Halo's JSON answers, and the backoff
//! between retries. Knows nothing of tokens or endpoints.

use std::collections::VecDeque;
use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::time::{Duration, Instant};

use backon::BackoffBuilder;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::{RequestBuilder, StatusCode};
use serde_json::Value;

use super::error::{error_message, HaloError};

const RATE_WINDOW: Duration = Duration::from_secs(300);

/// Asked right before a write goes out, after every wait: true while the write is still
/// the caller's to make (a worker renews its job's lease here). Owned, because a batch is
/// sent by another task than the job's.
pub type Fence =
    std::sync::Arc<dyn Fn() -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// A rate budget kept outside this process (the store), so that every process on it, the
/// replicas and a `learn` run beside them, stays within Halo's limit together.
pub trait SharedBudget: Send + Sync {
    /// Takes one request from a budget of a burst of `burst` and then one per `period`:
    /// `Ok(None)` when taken, `Ok(Some(wait))` when none is free until then.
    fn take(
        &self,
        period: Duration,
        burst: u32,
    ) -> Pin<Box<dyn Future<Output = Result<Option<Duration>, String>> + Send + '_>>;
}

/// The longest single sleep while waiting for the shared budget: another process may free
/// nothing, but this one looks again at least this often.
const SHARED_WAIT_STEP: Duration = Duration::from_secs(1);

/// How often and how long a failed request is retried.
#[derive(Debug, Clone)]
pub(super) struct RetryPolicy {
    pub max_retries: u32,
    pub retry_base: Duration,
    pub max_retry_wait: Duration,
}

pub(super) struct Transport {
    pub http: reqwest::Client,
    budget: DefaultDirectRateLimiter,
    requests_per_5min: u32,
    /// The budget of every process on the store, when the service shares one.
    shared: std::sync::OnceLock<std::sync::Arc<dyn SharedBudget>>,
    /// Held while waiting for the shared budget: each process has one waiter there, and its
    /// requests queue here in order (tokio's mutex is fair). Otherwise every waiter had the
    /// same chance at the next request, and a process with many workers sending alone
    /// starved one whose requests wait in a single batch.
    shared_turn: tokio::sync::Mutex<()>,
    /// When each request of the last five minutes went out, for the budget-left gauge.
    sent: std::sync::Mutex<VecDeque<Instant>>,
    retry: RetryPolicy,
}

impl Transport {
    pub fn new(
        timeout: Duration,
        requests_per_5min: u32,
        retry: RetryPolicy,
    ) -> Result<Transport, HaloError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            // A redirect would carry the client secret (a form body) or the token to
            // wherever it points: Halo's API never redirects, so a 3xx is an error.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("halo-triage/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| HaloError::Transport {
                endpoint: "client setup".into(),
                source,
            })?;
        Ok(Transport {
            http,
            budget: RateLimiter::direct(rate_quota(requests_per_5min)),
            requests_per_5min,
            shared: std::sync::OnceLock::new(),
            shared_turn: tokio::sync::Mutex::new(()),
            sent: Default::default(),
            retry,
        })
    }

    /// Waits for one request of the rate budget: this process's, then the shared one.
    pub(super) async fn take_budget(&self) {
        self.budget.until_ready().await;
        self.take_shared().await;
    }

    /// The steady time between two requests once the burst is spent (5 minutes over the
    /// budget): how long a batch may wait for more elements after its kind's last request.
    pub(super) fn period(&self) -> Duration {
        spread(self.requests_per_5min).0
    }

    /// Sends a request whose budget was taken, and reads the JSON answer.
    pub(super) async fn send(
        &self,
        request: RequestBuilder,
        endpoint: &str,
    ) -> Result<Value, HaloError> {
        self.count_sent();
        let sent = request.send().await;
        let status = match &sent {
            Ok(response) => response.status().as_str().to_string(),
            Err(_) => "error".to_string(),
        };
        crate::telemetry::metrics::halo_request(endpoint_label(endpoint), status);
        let response = sent.map_err(|source| HaloError::Transport {
            endpoint: endpoint.to_string(),
            source,
        })?;
        read_json(response, endpoint).await
    }

    /// Shares the budget with every process that uses `shared` (set once, at start).
    pub(super) fn share_budget(&self, shared: std::sync::Arc<dyn SharedBudget>) {
        let _ = self.shared.set(shared);
    }

    /// Waits for a request of the shared budget. When the store cannot say, the request
    /// goes on this process's own budget alone: a store outage must not stop Halo calls
    /// that the local budget still allows.
    async fn take_shared(&self) {
        let Some(shared) = self.shared.get() else {
            return;
        };
        let (period, burst) = spread(self.requests_per_5min);
        let _turn = self.shared_turn.lock().await;
        loop {
            match shared.take(period, burst).await {
                Ok(None) => return,
                Ok(Some(wait)) => tokio::time::sleep(wait.min(SHARED_WAIT_STEP)).await,
                Err(error) => {
                    tracing::warn!(%error, "the shared Halo rate budget cannot be read: this process's own budget applies");
                    return;
                }
            }
        }
    }

    /// Records one request in the rolling window Halo counts, and publishes what is left.
    fn count_sent(&self) {
        let left = self.requests_left_after(Some(Instant::now()));
        crate::telemetry::metrics::halo_budget_left(left);
    }

    /// Requests left in the rolling five minutes, and the budget (the console).
    pub(super) fn budget(&self) -> (usize, u32) {
        (self.requests_left_after(None), self.requests_per_5min)
    }

    /// Forgets requests older than the window, after recording one sent at `sent_at`.
    fn requests_left_after(&self, sent_at: Option<Instant>) -> usize {
        let now = Instant::now();
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        sent.extend(sent_at);
        while sent
            .front()
            .is_some_and(|at| now.duration_since(*at) > RATE_WINDOW)
        {
            sent.pop_front();
        }
        (self.requests_per_5min as usize).saturating_sub(sent.len())
    }

    pub(super) fn backoff(&self) -> impl Iterator<Item = Duration> {
        let options = &self.retry;
        backon::ExponentialBuilder::default()
            .with_min_delay(options.retry_base)
            .with_max_delay(options.max_retry_wait.max(options.retry_base))
            .with_max_times(options.max_retries as usize)
            .with_jitter()
            .build()
    }

    /// Sleeps before the next try, or gives the error back when it is final here.
    pub(super) async fn wait_before_retry(
        &self,
        delays: &mut impl Iterator<Item = Duration>,
        error: HaloError,
        endpoint: &str,
    ) -> Result<(), HaloError> {
        if !error.is_retryable() {
            return Err(error);
        }
        let Some(backoff) = delays.next() else {
            return Err(error);
        };
        let wait = match error.retry_after() {
            Some(wait) if wait > self.retry.max_retry_wait => return Err(error),
            Some(wait) => wait,
            None => backoff,
        };
        tracing::warn!(%endpoint, %error, wait_ms = wait.as_millis() as u64, "retrying Halo request");
        tokio::time::sleep(wait).await;
        Ok(())
    }
}

/// An endpoint as a metric label: numeric path segments become `{id}`, so one label covers
/// every ticket.
fn endpoint_label(endpoint: &str) -> String {
    endpoint
        .split('/')
        .map(|segment| {
            if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
                "{id}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Spread the budget: a burst of a tenth, the rest evenly over the window, so no rolling
/// five minutes ever sees more than `per_5min` requests. The period between requests after
/// the burst, and the burst.
fn spread(per_5min: u32) -> (Duration, u32) {
    let per_5min = per_5min.max(1);
    let burst = (per_5min / 10).max(1);
    let steady = (per_5min - burst).max(1);
    (RATE_WINDOW / steady, burst)
}

/// This process's budget, as governor keeps it.
fn rate_quota(per_5min: u32) -> Quota {
    let (period, burst) = spread(per_5min);
    Quota::with_period(period)
        .expect("the period is never zero")
        .allow_burst(NonZeroU32::new(burst).expect("burst is at least 1"))
}

async fn read_json(response: reqwest::Response, endpoint: &str) -> Result<Value, HaloError> {
    let status = response.status();
    let retry_after = retry_after(&response);
    let text = response
        .text()
        .await
        .map_err(|source| HaloError::Transport {
            endpoint: endpoint.to_string(),
            source,
        })?;
    if !status.is_success() {
        return Err(HaloError::Status {
            endpoint: endpoint.to_string(),
            status: status.as_u16(),
            message: error_message(&text),
            retry_after,
        });
    }
    if text.trim().is_empty() || status == StatusCode::NO_CONTENT {
        return Ok(Value::Null);
    }
    let value: Value = serde_json::from_str(&text).map_err(|e| HaloError::Decode {
        endpoint: endpoint.to_string(),
        message: format!("not JSON: {e}"),
    })?;
    if let Some(warning) = value.get("_warning").and_then(Value::as_str) {
        tracing::warn!(%endpoint, warning, "Halo returned a warning");
    }
    Ok(value)
}

/// `Retry-After` in seconds (the HTTP-date form is not used by Halo's API).
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?;
    let seconds: u64 = value.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// A shared budget that frees one request every 5 ms, whoever asks.
    struct OneEvery5Ms(std::sync::Mutex<Instant>);

    impl SharedBudget for OneEvery5Ms {
        fn take(
            &self,
            _: Duration,
            _: u32,
        ) -> Pin<Box<dyn Future<Output = Result<Option<Duration>, String>> + Send + '_>> {
            let mut next = self.0.lock().unwrap();
            let now = Instant::now();
            let answer = match now >= *next {
                true => {
                    *next = now + Duration::from_millis(5);
                    None
                }
                false => Some(*next - now),
            };
            Box::pin(std::future::ready(Ok(answer)))
        }
    }

    /// Requests `transport` gets from the shared budget in `window`, asking from `waiters`
    /// tasks at once.
    async fn granted(transport: Arc<Transport>, waiters: usize, window: Duration) -> usize {
        let end = Instant::now() + window;
        let tasks = (0..waiters).map(|_| {
            let transport = transport.clone();
            tokio::spawn(async move {
                let mut taken = 0;
                while Instant::now() < end {
                    transport.take_budget().await;
                    taken += 1;
                }
                taken
            })
        });
        let counts = futures_util::future::join_all(tasks).await;
        counts.into_iter().map(Result::unwrap).sum()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_process_with_one_waiter_gets_its_share_of_the_shared_budget_beside_one_with_many() {
        let shared: Arc<dyn SharedBudget> = Arc::new(OneEvery5Ms(Instant::now().into()));
        let retry = RetryPolicy {
            max_retries: 0,
            retry_base: Duration::from_millis(1),
            max_retry_wait: Duration::from_millis(1),
        };
        // The process's own budget is lifted: only the shared one binds.
        let process = || {
            let transport = Transport::new(Duration::from_secs(1), 10_000_000, retry.clone());
            let transport = Arc::new(transport.unwrap());
            transport.share_budget(shared.clone());
            transport
        };
        let window = Duration::from_millis(600);
        let (batched, single) = tokio::join!(
            granted(process(), 1, window),
            granted(process(), 16, window)
        );
        let share = batched as f64 / (batched + single) as f64;
        // Without a turn per process, one waiter among seventeen got about a seventeenth
        // (7%); with it, 28-50% here, whatever else the machine runs.
        assert!(share > 0.15, "{batched} against {single}");
    }

    #[test]
    fn endpoint_labels_do_not_carry_ids() {
        assert_eq!(
            endpoint_label("GET /api/Tickets/41234"),
            "GET /api/Tickets/{id}"
        );
        assert_eq!(endpoint_label("POST /api/Actions"), "POST /api/Actions");
    }

    #[test]
    fn the_rate_quota_never_exceeds_the_window_budget() {
        for per_5min in [1, 10, 250, 300] {
            let quota = rate_quota(per_5min);
            let burst = quota.burst_size().get();
            let steady = RATE_WINDOW.as_secs_f64() / quota.replenish_interval().as_secs_f64();
            assert!(
                f64::from(burst) + steady <= f64::from(per_5min) + 1.0,
                "{per_5min}: burst {burst} + steady {steady}"
            );
        }
    }
}
