//! The service's clock: milliseconds since the Unix epoch, the time unit of every
//! timestamp column and of every age the service reports.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}
