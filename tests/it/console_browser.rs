//! The console in a real browser: headless Chromium driven over WebDriver (Debian's
//! `chromium` and `chromium-driver`). An operator signs in, finds a decision by its
//! ticket and reads its reason, replays a dead job and sees it queued (and the store says
//! so), signs out and is refused. Without the browser the test says so and passes, except
//! under CI (`HALO_TRIAGE_CI` set), where it fails.
//!
//! With `HALO_TRIAGE_SCREENSHOTS` set to a folder, the pages it passes are saved there as
//! PNG (the README's pictures come from it).

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

async fn heading(browser: &Client) -> String {
    browser
        .wait()
        .for_element(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
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
    assert_eq!(heading(&browser).await, "Sign in");
    screenshot(&browser, "console-sign-in").await;
    let token = browser.find(Locator::Id("token")).await.unwrap();
    token.send_keys(ADMIN_TOKEN).await.unwrap();
    browser
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(heading(&browser).await, "Overview");
    screenshot(&browser, "console-overview").await;

    // Decisions: search by ticket, open the one found, read why.
    browser
        .find(Locator::LinkText("Decisions"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(heading(&browser).await, "Decisions");
    let search = browser.form(Locator::Css("form.search")).await.unwrap();
    search.set_by_name("ticket", "41234").await.unwrap();
    search.submit().await.unwrap();
    let first = browser
        .wait()
        .for_element(Locator::Css("tbody tr td a"))
        .await
        .unwrap();
    first.click().await.unwrap();
    assert_eq!(heading(&browser).await, "Ticket #41234");
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
    browser
        .find(Locator::LinkText("Dead letters"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(heading(&browser).await, "Dead letters");
    screenshot(&browser, "console-dead-letters").await;
    browser
        .find(Locator::Css("button[aria-label='Replay job 1']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let notice = browser
        .wait()
        .for_element(Locator::Css("p.notice"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(notice, "Job 1 is queued again: a worker takes it up now.");
    assert_eq!(app.job_row(1).await.status, "queued");

    // Signed out, the console is closed to this browser.
    browser
        .find(Locator::Css("nav button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(heading(&browser).await, "Sign in");
    let said = browser.find(Locator::Css("p.error")).await.unwrap();
    assert_eq!(said.text().await.unwrap(), "You are signed out.");
    browser.goto(&app.url("/ui/dead-letters")).await.unwrap();
    assert_eq!(heading(&browser).await, "Sign in");
    assert!(browser
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with("/ui/sign-in"));
    assert_eq!(app.count("SELECT COUNT(*) FROM console_sessions").await, 0);
    browser.close().await.unwrap();
}
