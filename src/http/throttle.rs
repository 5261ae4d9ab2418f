//! 401 throttling, shared by the webhook, the admin API and the console's sign-in: an address that failed
//! authentication `server.auth_failures_per_minute` times within a minute gets 429 for
//! every request until that minute is over, so tokens cannot be guessed at line rate.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at most; past that, windows that ended are forgotten first.
const MAX_ADDRESSES: usize = 10_000;

pub struct Throttle {
    failures_allowed: u32,
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Throttle {
    pub fn new(failures_per_minute: u32) -> Throttle {
        Throttle {
            failures_allowed: failures_per_minute,
            failures: Mutex::default(),
        }
    }

    /// 429 for a request from an address that failed too often, else `None`. Requests
    /// without a known peer (in-process tests) are never throttled.
    pub fn refuse(&self, request: &Request) -> Option<Response> {
        let ip = peer(request)?;
        let failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let (since, count) = failures.get(&ip)?;
        let left = WINDOW.checked_sub(since.elapsed())?;
        if *count < self.failures_allowed {
            return None;
        }
        let retry_after = (left.as_secs() + 1).to_string();
        tracing::warn!(%ip, "request refused: too many failed authentications");
        Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, retry_after)],
                "too many failed authentications from this address",
            )
                .into_response(),
        )
    }

    /// Counts one failed authentication of `request`'s address.
    pub fn failed(&self, request: &Request) {
        self.failed_from(peer(request));
    }

    /// Counts one failed authentication from `ip` (see [`peer`]).
    pub fn failed_from(&self, ip: Option<IpAddr>) {
        let Some(ip) = ip else {
            return;
        };
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if failures.len() >= MAX_ADDRESSES {
            failures.retain(|_, (since, _)| since.elapsed() < WINDOW);
        }
        if failures.len() >= MAX_ADDRESSES {
            // Still full of live windows: an address flood. Start over rather than grow.
            failures.clear();
        }
        let entry = failures.entry(ip).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= WINDOW {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }
}

/// The address a request came from (none in in-process tests), for
/// [`Throttle::failed_from`] once the request has been consumed (a form read).
pub fn peer(request: &Request) -> Option<IpAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}
