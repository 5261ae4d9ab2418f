//! The console in a real browser: headless Chromium driven over WebDriver (Debian's
//! `chromium` and `chromium-driver`). An operator signs in, finds a decision by its
//! ticket and reads its reason, replays a dead job and sees it queued (and the store says
//! so), signs out and is refused. Without the browser the test says so and passes, except
//! under CI (`HALO_TRIAGE_CI` set), where it fails.
//!
//! With `HALO_TRIAGE_SCREENSHOTS` set to a folder, the decision and dead-letter pages it
//! passes are saved there as PNG: `HALO_TRIAGE_SCREENSHOTS=docs` takes the README's pictures.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::admin::{app_with_a_dead_job, ADMIN_TOKEN};

/// chromedriver, killed when the test ends however it ends.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The browser and its driver: `HALO_TRIAGE_CHROMIUM` and `HALO_TRIAGE_CHROMEDRIVER`, else
/// where Debian puts them.
fn programs() -> Option<(PathBuf, PathBuf)> {
    let program = |variable: &str, default: &str| {
        let path = PathBuf::from(std::env::var(variable).unwrap_or_else(|_| default.into()));
        path.exists().then_some(path)
    };
    Some((
        program("HALO_TRIAGE_CHROMIUM", "/usr/bin/chromium")?,
        program("HALO_TRIAGE_CHROMEDRIVER", "/usr/bin/chromedriver")?,
    ))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts chromedriver on loopback and a headless browser session through it.
async fn browser(
    chromium: &PathBuf,
    chromedriver: &PathBuf,
    profile: &std::path::Path,
) -> (Driver, Client) {
    let port = free_port();
    let driver = Driver(
        Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    let status = format!("http://127.0.0.1:{port}/status");
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::get(&status).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not answer on {port}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The flags Chromium needs as root in a container on a closed network.
    let capabilities = json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities.as_object().unwrap().clone())
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a browser session");
    (driver, client)
}

/// Saves the page as `name.png` when screenshots are asked for.
async fn screenshot(browser: &Client, name: &str) {
    if let Ok(folder) = std::env::var("HALO_TRIAGE_SCREENSHOTS") {
        let png = browser.screenshot().await.unwrap();
        std::fs::write(PathBuf::from(folder).join(format!("{name}.png")), png).unwrap();
    }
}

/// The text of the first element `css` selects once it reads `wanted`: a click starts a
/// navigation, and until the next page is in, the old one (or a node of it gone stale)
/// answers. Fails after 10 seconds with what it last read.
async fn until_text(browser: &Client, css: &str, wanted: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let read = match browser.find(Locator::Css(css)).await {
            Ok(element) => element.text().await.ok(),
            Err(_) => None,
        };
        if read.as_deref() == Some(wanted) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{css} reads {read:?}, not {wanted:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits for the page whose heading is `title`.
async fn arrive(browser: &Client, title: &str) {
    until_text(browser, "h1", title).await;
}

/// Clicks the element `locator` finds, again while the page is still coming in.
async fn click(browser: &Client, locator: Locator<'_>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let clicked = match browser.find(locator).await {
            Ok(element) => element.click().await,
            Err(error) => Err(error),
        };
        match clicked {
            Ok(()) => return,
            Err(error) if Instant::now() >= deadline => panic!("cannot click: {error}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

#[tokio::test]
async fn an_operator_finds_a_decision_replays_a_dead_job_and_signs_out() {
    let Some((chromium, chromedriver)) = programs() else {
        assert!(
            std::env::var_os("HALO_TRIAGE_CI").is_none(),
            "CI must run the browser test: install Debian's chromium and chromium-driver"
        );
        eprintln!(
            "SKIPPED: the browser test needs /usr/bin/chromium and /usr/bin/chromedriver \
             (apt-get install chromium chromium-driver)"
        );
        return;
    };
    let (_halo, app) = app_with_a_dead_job().await;
    let profile = tempfile::tempdir().unwrap();
    let (_driver, browser) = browser(&chromium, &chromedriver, profile.path()).await;

    // Any page sends the browser to the sign-in; the token takes it to the overview.
    browser.goto(&app.url("/ui/decisions")).await.unwrap();
    arrive(&browser, "Sign in").await;
    let token = browser.find(Locator::Id("token")).await.unwrap();
    token.send_keys(ADMIN_TOKEN).await.unwrap();
    click(&browser, Locator::Css("button[type=submit]")).await;
    arrive(&browser, "Overview").await;

    // Decisions: search by ticket, open the one found, read why.
    click(&browser, Locator::LinkText("Decisions")).await;
    arrive(&browser, "Decisions").await;
    let search = browser.form(Locator::Css("form.search")).await.unwrap();
    search.set_by_name("ticket", "41234").await.unwrap();
    search.submit().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !browser
        .current_url()
        .await
        .unwrap()
        .query()
        .is_some_and(|q| q.contains("ticket=41234"))
    {
        assert!(Instant::now() < deadline, "the search did not load");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    arrive(&browser, "Decisions").await;
    click(&browser, Locator::Css("tbody tr td a")).await;
    arrive(&browser, "Ticket #41234").await;
    let page = browser
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("rule 'password-and-lockout' matched: the text contains 'password'"),
        "{page}"
    );
    screenshot(&browser, "console-decision").await;

    // Dead letters: replay the job, see it queued, and the store agrees.
    click(&browser, Locator::LinkText("Dead letters")).await;
    arrive(&browser, "Dead letters").await;
    screenshot(&browser, "console-dead-letters").await;
    click(&browser, Locator::Css("button[aria-label='Replay job 1']")).await;
    until_text(
        &browser,
        "p.notice",
        "Job 1 is queued again: a worker takes it up now.",
    )
    .await;
    assert_eq!(app.job_row(1).await.status, "queued");

    // Signed out, the console is closed to this browser.
    click(&browser, Locator::Css("nav button[type=submit]")).await;
    arrive(&browser, "Sign in").await;
    until_text(&browser, "p.error", "You are signed out.").await;
    browser.goto(&app.url("/ui/dead-letters")).await.unwrap();
    arrive(&browser, "Sign in").await;
    assert!(browser
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with("/ui/sign-in"));
    assert_eq!(app.count("SELECT COUNT(*) FROM console_sessions").await, 0);
    browser.close().await.unwrap();
}
