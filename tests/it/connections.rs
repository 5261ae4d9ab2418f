//! Connections are bounded: headers (and a kept-alive connection's next request) must
//! arrive within `server.header_read_timeout_secs`, an authenticated body within
//! `server.request_body_timeout_secs`, at most `server.max_connections` are served at
//! once, and slow clients hold up neither `/healthz` nor a real delivery.

use std::os::unix::process::CommandExt;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{binary, fixture, spawn_with, Served, TestApp, TOKEN};

/// Far longer than any timeout under test; only a hang reaches it.
const HANG: Duration = Duration::from_secs(10);

/// Reads until the server closes the connection; what it sent before closing.
async fn until_closed(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let read = tokio::time::timeout(HANG, stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server kept the connection open");
    String::from_utf8_lossy(&answer).into_owned()
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.addr).await.unwrap()
}

#[tokio::test]
async fn slow_or_idle_connections_are_closed_after_the_header_timeout() {
    let app = spawn_with(None, &[("SERVER__HEADER_READ_TIMEOUT_SECS", "1")]).await;
    let mut partial = connect(&app).await;
    partial
        .write_all(b"POST /hooks/halo HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut idle = connect(&app).await;
    until_closed(&mut partial).await;
    until_closed(&mut idle).await;
    // A kept-alive connection that starts no next request is closed too.
    let mut kept = connect(&app).await;
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = until_closed(&mut kept).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn many_slow_unauthenticated_clients_hold_up_neither_health_nor_deliveries() {
    let app = spawn_with(None, &[]).await;
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut stream = connect(&app).await;
        stream
            .write_all(b"POST /hooks/halo HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(stream);
    }
    let health = app.http.get(app.url("/healthz")).timeout(HANG).send().await;
    assert!(health.unwrap().status().is_success());
    let delivery = tokio::time::timeout(HANG, app.deliver(fixture("webhook-new-ticket-full.json")));
    assert_eq!(delivery.await.unwrap().status(), 202);
    drop(slow);
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_one() {
    let app = spawn_with(None, &[("SERVER__MAX_CONNECTIONS", "2")]).await;
    let held = [connect(&app).await, connect(&app).await];
    // Both are accepted and served (they are idle), so a third waits in the queue.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let waiting = tokio::spawn({
        let url = app.url("/healthz");
        async move { reqwest::get(url).await.unwrap().status() }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "a third connection was served past the cap"
    );
    drop(held);
    let status = tokio::time::timeout(HANG, waiting).await.unwrap().unwrap();
    assert!(status.is_success());
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_408_and_stores_nothing() {
    let app = spawn_with(None, &[("SERVER__REQUEST_BODY_TIMEOUT_SECS", "1")]).await;
    let mut stream = connect(&app).await;
    let head = format!(
        "POST /hooks/halo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"event\":"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0; 512];
    let read = tokio::time::timeout(HANG, stream.read(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer[..read.expect("no answer").unwrap()]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(app.count("SELECT COUNT(*) FROM deliveries").await, 0);
}

#[test]
fn the_open_file_soft_limit_is_raised_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = binary();
    command
        .env("HALO_TRIAGE__WEBHOOK__TOKEN", TOKEN)
        .env("HALO_TRIAGE__SERVER__LISTEN", "127.0.0.1:0")
        .env("HALO_TRIAGE__STORE__PATH", dir.path().join("limits.db"));
    // Started with a soft limit of 256, as a systemd unit might (its default is 1024).
    // SAFETY: only getrlimit and setrlimit, which are async-signal-safe, run between fork
    // and exec.
    unsafe {
        command.pre_exec(|| {
            let mut limit = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
            limit.rlim_cur = 256.min(limit.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
            Ok(())
        });
    }
    let served = Served::start(&mut command);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", served.pid())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    // "Max open files  <soft>  <hard>  files"
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        fields[3], fields[4],
        "soft limit raised to the hard one: {line}"
    );
}

#[tokio::test]
async fn repeated_failed_authentications_from_one_address_are_throttled() {
    let admin_token = "admin-token-for-throttling-0123";
    let app = spawn_with(
        None,
        &[
            ("SERVER__AUTH_FAILURES_PER_MINUTE", "5"),
            ("ADMIN__TOKEN", admin_token),
        ],
    )
    .await;
    let guess = |token: &'static str| {
        app.http
            .post(app.url("/hooks/halo"))
            .bearer_auth(token)
            .body("{}")
            .send()
    };
    for _ in 0..5 {
        assert_eq!(guess("a-wrong-guess").await.unwrap().status(), 401);
    }
    let throttled = guess("another-guess").await.unwrap();
    assert_eq!(throttled.status(), 429);
    assert!(throttled.headers().contains_key("retry-after"));
    // The right token does not get through either while the address is throttled, and the
    // admin API shares the count.
    assert_eq!(guess(TOKEN).await.unwrap().status(), 429);
    let admin = app
        .http
        .get(app.url("/admin/jobs"))
        .bearer_auth(admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 429);
    assert_eq!(app.count("SELECT COUNT(*) FROM deliveries").await, 0);
}
