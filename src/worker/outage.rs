//! Halo outages: after `worker.outage_after_failures` jobs in a row fail because Halo is
//! unreachable (timeouts, connection errors, 429, 5xx), workers stop claiming jobs for a
//! pause that doubles while Halo stays down, instead of burning every job's attempts. When a
//! pause ends, one worker probes with one job while the others keep waiting; the first job
//! that gets through ends the outage. Deliveries are still accepted meanwhile.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

/// Shared by every worker and `/readyz`; cheap to clone.
#[derive(Clone)]
pub struct Outage {
    inner: Arc<Mutex<State>>,
    after_failures: u32,
    first_pause: Duration,
    max_pause: Duration,
}

#[derive(Default)]
struct State {
    failures_in_a_row: u32,
    /// The pause now in force (or last in force, while probing).
    pause: Option<Duration>,
    paused_until: Option<Instant>,
    /// When the one worker allowed to try after a pause took its job.
    probe_since: Option<Instant>,
    reason: Option<String>,
}

/// The outage as `/readyz` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutageStatus {
    pub degraded: bool,
    /// The last failure that counted towards the outage.
    pub reason: Option<String>,
    /// Seconds until workers try Halo again (0 while a job probes it).
    pub resumes_in_secs: u64,
}

impl Outage {
    pub fn new(after_failures: u32, first_pause: Duration, max_pause: Duration) -> Outage {
        Outage {
            inner: Arc::default(),
            after_failures: after_failures.max(1),
            first_pause,
            max_pause: max_pause.max(first_pause),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long a worker must wait before claiming a job; `None` when it may go on. After
    /// a pause only one caller gets `None` (the probe) until the probe's job settles, or
    /// until another pause's length has passed without news from it.
    pub fn wait(&self) -> Option<Duration> {
        let mut state = self.state();
        let until = state.paused_until?;
        let now = Instant::now();
        if let Some(left) = until.checked_duration_since(now) {
            return Some(left);
        }
        let pause = state.pause.unwrap_or(self.first_pause);
        match state.probe_since {
            Some(since) if now.duration_since(since) < pause => {
                Some(pause - now.duration_since(since))
            }
            _ => {
                state.probe_since = Some(now);
                None
            }
        }
    }

    /// A job failed because Halo could not be reached or was overloaded.
    pub fn halo_failed(&self, reason: &str) {
        let mut state = self.state();
        state.failures_in_a_row += 1;
        state.reason = Some(reason.to_string());
        if state.failures_in_a_row < self.after_failures {
            return;
        }
        let now = Instant::now();
        if state.paused_until.is_some_and(|until| until > now) {
            // A job claimed before the pause began: the pause already covers it.
            return;
        }
        let pause = match state.pause {
            None => self.first_pause,
            Some(pause) => (pause * 2).min(self.max_pause),
        };
        state.pause = Some(pause);
        state.paused_until = Some(now + pause);
        state.probe_since = None;
        crate::telemetry::metrics::halo_degraded(true);
        tracing::warn!(
            failures_in_a_row = state.failures_in_a_row,
            pause_secs = pause.as_secs(),
            %reason,
            "Halo looks down: workers pause before claiming more jobs"
        );
    }

    /// A job got through to Halo (or needed it not at all): any outage is over.
    pub fn halo_answered(&self) {
        let mut state = self.state();
        if state.pause.is_some() {
            tracing::info!("Halo answers again: workers resume");
            crate::telemetry::metrics::halo_degraded(false);
        }
        *state = State::default();
    }

    pub fn status(&self) -> OutageStatus {
        let state = self.state();
        let resumes_in = state
            .paused_until
            .and_then(|until| until.checked_duration_since(Instant::now()))
            .unwrap_or_default();
        OutageStatus {
            degraded: state.pause.is_some(),
            reason: state.reason.clone().filter(|_| state.pause.is_some()),
            resumes_in_secs: resumes_in.as_secs(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_failures_pause_longer_each_time_and_one_success_resumes() {
        let outage = Outage::new(2, Duration::from_secs(10), Duration::from_secs(25));
        outage.halo_failed("timeout");
        assert_eq!(outage.wait(), None, "one failure is not an outage");
        assert!(!outage.status().degraded);
        outage.halo_failed("503");
        let first = outage.wait().unwrap();
        assert!(first > Duration::from_secs(9) && first <= Duration::from_secs(10));
        let status = outage.status();
        assert!(status.degraded);
        assert_eq!(status.reason.as_deref(), Some("503"));
        // Jobs claimed before the pause fail during it: the pause does not grow for them.
        outage.halo_failed("503 from a job in flight");
        assert!(outage.wait().unwrap() <= Duration::from_secs(10));
        outage.halo_answered();
        assert_eq!(outage.wait(), None);
        assert_eq!(
            outage.status(),
            OutageStatus {
                degraded: false,
                reason: None,
                resumes_in_secs: 0
            }
        );
    }

    #[test]
    fn after_a_pause_one_worker_probes_and_a_failed_probe_doubles_the_pause() {
        let pause = Duration::from_millis(40);
        let outage = Outage::new(1, pause, Duration::from_millis(100));
        outage.halo_failed("timeout");
        assert!(outage.wait().is_some());
        std::thread::sleep(pause + Duration::from_millis(10));
        assert_eq!(outage.wait(), None, "the first worker probes");
        assert!(outage.wait().is_some(), "the others wait for the probe");
        outage.halo_failed("still down");
        let second = outage.wait().unwrap();
        assert!(second > Duration::from_millis(60), "doubled: {second:?}");
        std::thread::sleep(second + Duration::from_millis(10));
        assert_eq!(outage.wait(), None);
        outage.halo_failed("still down");
        assert!(
            outage.wait().unwrap() <= Duration::from_millis(100),
            "capped"
        );
    }
}
