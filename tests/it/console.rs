//! The console (`/ui`) over plain HTTP: sign-in, sessions, CSRF, throttling and every
//! page, against the real app with its own store. `console_browser.rs` drives it in a
//! real browser.

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use reqwest::{Response, StatusCode};
use sha2::{Digest, Sha256};

use crate::admin::{app_with_a_dead_job, ADMIN_TOKEN};
use crate::common::{mount_halo, spawn_with, TestApp};

/// Every page behind the sign-in: path and its heading.
const PAGES: [(&str, &str); 6] = [
    ("/ui", "Overview"),
    ("/ui/decisions", "Decisions"),
    ("/ui/dead-letters", "Dead letters"),
    ("/ui/agreement", "Agreement"),
    ("/ui/rules", "Rules"),
    ("/ui/model", "Model"),
];

/// A browser without a browser: keeps the session cookie and the CSRF token, and never
/// follows redirects (the tests look at them).
pub(crate) struct Operator {
    http: reqwest::Client,
    base: String,
    pub cookie: String,
    pub csrf: String,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

pub(crate) fn location(response: &Response) -> &str {
    response.headers()[LOCATION].to_str().unwrap()
}

async fn sign_in_as(app: &TestApp, token: &str) -> Response {
    client()
        .post(app.url("/ui/sign-in"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
}

impl Operator {
    /// Signs in with the admin token and reads the CSRF token off the overview.
    pub(crate) async fn sign_in(app: &TestApp, token: &str) -> Operator {
        let response = sign_in_as(app, token).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&response), "/ui");
        let set = response.headers()[SET_COOKIE].to_str().unwrap();
        let cookie = set.split(';').next().unwrap().to_string();
        let mut operator = Operator {
            http: client(),
            base: app.url(""),
            cookie,
            csrf: String::new(),
        };
        let (status, page) = operator.get("/ui").await;
        assert_eq!(status, 200, "{page}");
        let found = regex::Regex::new(r#"name="csrf" value="([^"]+)""#).unwrap();
        operator.csrf = found.captures(&page).expect("a CSRF field")[1].to_string();
        operator
    }

    pub(crate) async fn request(&self, path: &str) -> Response {
        self.http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn get(&self, path: &str) -> (u16, String) {
        let response = self.request(path).await;
        (response.status().as_u16(), response.text().await.unwrap())
    }

    pub(crate) async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// A POST carrying this session's CSRF token.
    pub(crate) async fn submit(&self, path: &str) -> Response {
        self.post(path, &[("csrf", &self.csrf)]).await
    }
}

/// Page text without tags or runs of spaces, for asserting on what a reader sees.
pub(crate) fn text(page: &str) -> String {
    let tags = regex::Regex::new(r"<[^>]*>").unwrap();
    let spaces = regex::Regex::new(r"\s+").unwrap();
    let text = tags.replace_all(page, " ");
    let text = text
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    spaces.replace_all(&text, " ").to_string()
}

#[tokio::test]
async fn nothing_of_the_console_is_served_without_a_session() {
    let (_halo, app) = app_with_a_dead_job().await;
    let anonymous = client();
    for (path, _) in PAGES.iter().chain(&[("/ui/decisions/1", "")]) {
        let response = anonymous.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&response), "/ui/sign-in", "{path}");
    }
    // A replay without a session does nothing.
    let replay = anonymous
        .post(app.url("/ui/dead-letters/1/replay"))
        .form(&[("csrf", "anything")])
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.job_row(1).await.status, "dead");
    // A made-up cookie is no session.
    let forged = anonymous
        .get(app.url("/ui"))
        .header(COOKIE, "halo_triage_session=made-up")
        .send()
        .await
        .unwrap();
    assert_eq!(location(&forged), "/ui/sign-in?ended");
    // The sign-in page and the style sheet are public, and the headers hold on both.
    let page = anonymous.get(app.url("/ui/sign-in")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(page.text().await.unwrap().contains(r#"type="password""#));
    let css = anonymous
        .get(app.url("/ui/console.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    assert!(css.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
}

#[tokio::test]
async fn without_an_admin_token_there_is_no_console() {
    let app = spawn_with(None, &[]).await;
    let response = client().get(app.url("/ui")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        sign_in_as(&app, "anything").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_sign_in_sets_a_strict_cookie_and_every_page_answers() {
    let (_halo, app) = app_with_a_dead_job().await;
    let response = sign_in_as(&app, ADMIN_TOKEN).await;
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/ui", "Max-Age=43200"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "served over plain http");
    // The store keeps the digest of the cookie, never the cookie.
    let value = cookie.split(';').next().unwrap();
    let value = value.strip_prefix("halo_triage_session=").unwrap();
    assert!(value.len() >= 43, "256 random bits: {value}");
    let digest: String = Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let stored: Vec<String> = sqlx::query_scalar("SELECT id_hash FROM console_sessions")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    assert_eq!(stored, vec![digest]);

    // Behind https (the proxy says so), the cookie is Secure.
    let secure = client()
        .post(app.url("/ui/sign-in"))
        .header("x-forwarded-proto", "https")
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert!(secure.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("; Secure"));

    let operator = Operator::sign_in(&app, ADMIN_TOKEN).await;
    for (path, heading) in PAGES {
        let response = operator.request(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
        let page = response.text().await.unwrap();
        assert!(
            page.contains(&format!("<h1>{heading}</h1>")),
            "{path}: {page}"
        );
        assert!(
            page.contains(&format!(r#"href="{path}" aria-current="page""#)),
            "{path} is marked in the navigation"
        );
        assert!(!page.contains("<script"), "{path} runs no script");
    }
}

#[tokio::test]
async fn failed_sign_ins_are_refused_and_throttled_with_the_admin_api() {
    let halo = wiremock::MockServer::start().await;
    mount_halo(&halo).await;
    let app = spawn_with(
        Some(&halo),
        &[
            ("ADMIN__TOKEN", ADMIN_TOKEN),
            ("SERVER__AUTH_FAILURES_PER_MINUTE", "3"),
        ],
    )
    .await;
    // A form that cannot be read is refused without counting as a guess.
    let unreadable = client()
        .post(app.url("/ui/sign-in"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("password=nope")
        .send()
        .await
        .unwrap();
    assert_eq!(unreadable.status(), StatusCode::BAD_REQUEST);
    for _ in 0..3 {
        let wrong = sign_in_as(&app, "a-wrong-guess").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        assert!(wrong.headers().get(SET_COOKIE).is_none());
        assert!(wrong
            .text()
            .await
            .unwrap()
            .contains("That is not the admin token."));
    }
    // Throttled now, even with the right token, and so is the admin API.
    assert_eq!(
        sign_in_as(&app, ADMIN_TOKEN).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let admin = app
        .http
        .get(app.url("/admin/jobs"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.count("SELECT COUNT(*) FROM console_sessions").await, 0);
}

#[tokio::test]
async fn a_replay_needs_the_session_s_csrf_token() {
    let (halo, app) = app_with_a_dead_job().await;
    let operator = Operator::sign_in(&app, ADMIN_TOKEN).await;
    let other = Operator::sign_in(&app, ADMIN_TOKEN).await;
    assert_ne!(operator.csrf, other.csrf, "one token per session");
    for form in [
        vec![],
        vec![("csrf", "guessed")],
        vec![("csrf", &other.csrf[..])],
    ] {
        let refused = operator.post("/ui/dead-letters/1/replay", &form).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{form:?}");
        assert!(refused
            .text()
            .await
            .unwrap()
            .contains("did not come from your console session"));
        let refused = operator.post("/ui/dead-letters/replay-all", &form).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(app.job_row(1).await.status, "dead");

    let (_, page) = operator.get("/ui/dead-letters").await;
    let page = text(&page);
    assert!(page.contains("1 job ran out of attempts."), "{page}");
    assert!(page.contains("Database unavailable"), "the error: {page}");

    let replayed = operator.submit("/ui/dead-letters/1/replay").await;
    assert_eq!(replayed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&replayed),
        "/ui/dead-letters?job=1&result=replayed"
    );
    assert_eq!(app.job_row(1).await.status, "queued");
    let (_, page) = operator.get(location(&replayed)).await;
    let page = text(&page);
    assert!(
        page.contains("Job 1 is queued again: a worker takes it up now."),
        "{page}"
    );
    assert!(page.contains("No dead letters."), "{page}");

    // A job that is not dead, a job that does not exist, nothing left to replay.
    let again = operator.submit("/ui/dead-letters/1/replay").await;
    let (_, page) = operator.get(location(&again)).await;
    assert!(text(&page).contains("Job 1 is queued: only dead jobs are replayed."));
    let missing = operator.submit("/ui/dead-letters/99/replay").await;
    let (_, page) = operator.get(location(&missing)).await;
    assert!(text(&page).contains("There is no job 99."));
    let all = operator.submit("/ui/dead-letters/replay-all").await;
    assert_eq!(location(&all), "/ui/dead-letters?replayed=0");
    let (_, page) = operator.get(location(&all)).await;
    assert!(text(&page).contains("There was no dead job to replay."));

    // Halo is healthy again: the replayed job is done, its ticket updated once.
    halo.reset().await;
    mount_halo(&halo).await;
    app.drain().await;
    assert_eq!(app.job_row(1).await.status, "done");
    assert_eq!(
        crate::common::received(&halo, "POST", "/api/Tickets")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn signing_out_ends_the_session_and_an_ended_session_lets_nobody_in() {
    let (_halo, app) = app_with_a_dead_job().await;
    let operator = Operator::sign_in(&app, ADMIN_TOKEN).await;
    let forged = operator.post("/ui/sign-out", &[("csrf", "guessed")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(operator.get("/ui").await.0, 200, "still signed in");

    let out = operator.submit("/ui/sign-out").await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&out), "/ui/sign-in?signed_out");
    assert!(out.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(app.count("SELECT COUNT(*) FROM console_sessions").await, 0);
    // The old cookie, replayed, is refused.
    let refused = operator.request("/ui/decisions").await;
    assert_eq!(location(&refused), "/ui/sign-in?ended");
    let (_, page) = operator.get("/ui/sign-in?signed_out").await;
    assert!(page.contains("You are signed out."));

    // A session past its time is refused too.
    let late = Operator::sign_in(&app, ADMIN_TOKEN).await;
    sqlx::query("UPDATE console_sessions SET expires_at = 1")
        .execute(app.store.pool())
        .await
        .unwrap();
    let refused = late.request("/ui").await;
    assert_eq!(location(&refused), "/ui/sign-in?ended");
    let (_, page) = late.get("/ui/sign-in?ended").await;
    assert!(page.contains("Your session has ended"));
}
