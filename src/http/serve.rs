//! The accept loop: HTTP/1.1 over hyper with the timeouts and the connection cap that
//! `axum::serve` does not set. A connection must send its headers (and a kept-alive one
//! its next request) within `server.header_read_timeout_secs`; at most
//! `server.max_connections` are open at once, the rest wait in the listen queue. At the
//! stop signal the listener closes and open connections finish their requests.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_service::Service;

use crate::config::ServerSettings;

/// How long to wait after an accept error (e.g. no file descriptor left) before the next.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// Serves `router` on `listener` until `stop` completes, then waits for the requests in
/// flight (the caller bounds that wait).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: ServerSettings,
    stop: impl Future<Output = ()>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout);
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    let graceful = GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            _ = &mut stop => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "cannot accept a connection; retrying shortly");
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        // Each request carries the peer's address (for the 401 throttle).
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let mut router = router.clone();
            async move { router.call(request).await }
        });
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that goes away or times out is no error of ours.
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Raises the open-file soft limit to the hard one, so the connection cap, not the OS,
/// is what bounds connections (a systemd service starts at 1024).
pub fn raise_open_file_limit() {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
        let raised = unsafe {
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && {
                let before = limit.rlim_cur;
                limit.rlim_cur = limit.rlim_max;
                before == limit.rlim_max || libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0
            }
        };
        if raised {
            tracing::debug!(open_files = limit.rlim_cur, "open-file limit");
        } else {
            tracing::warn!("cannot raise the open-file limit; the OS default stays");
        }
    }
}
