//! When a worker last showed it is alive, for `/readyz`.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use crate::clock::now_ms;

/// The last beat (unix ms), shared by every worker of this process.
#[derive(Clone, Default)]
pub struct Heartbeat(Arc<AtomicI64>);

impl Heartbeat {
    pub(super) fn beat(&self) {
        self.beat_at(now_ms());
    }

    /// Records a beat at `at_ms` (unix ms).
    pub fn beat_at(&self, at_ms: i64) {
        self.0.store(at_ms, Ordering::Relaxed);
    }

    /// Milliseconds since the last beat, `None` before the first.
    pub fn age_ms(&self) -> Option<i64> {
        let last = self.0.load(Ordering::Relaxed);
        (last > 0).then(|| now_ms() - last)
    }
}
