//! Signing in and out of the console, and the session every other page needs.
//!
//! - Sign-in takes the admin token in a form, compared in constant time; failures count
//!   in the throttle the admin API and the webhook share.
//! - The session cookie is random (256 bits), `HttpOnly`, `SameSite=Strict`, limited to
//!   `/ui`, `Secure` when the sign-in came over https (`X-Forwarded-Proto` from the proxy
//!   in front), and lasts `admin.session_hours`. The store keeps only its SHA-256.
//! - Each session has a CSRF token that every form carries and every POST must return.
//!
//! The cookie header is read by hand: one name in one header does not need a cookie crate.

use std::sync::Arc;

use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use base64::Engine;
use maud::{html, Markup};
use secrecy::ExposeSecret;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{layout, store_error};
use crate::clock::now_ms;
use crate::http::auth::equal;
use crate::http::Operator;

const COOKIE: &str = "halo_triage_session";

/// The signed-in operator's session, for the pages and their forms.
#[derive(Clone)]
pub struct Session {
    id_hash: String,
    csrf: String,
}

impl Session {
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// The hidden field every form of the console carries.
    pub fn csrf_field(&self) -> Markup {
        layout::csrf_field(&self.csrf)
    }

    /// True when a form sent back this session's CSRF token.
    fn csrf_matches(&self, given: &str) -> bool {
        equal(given.as_bytes(), self.csrf.as_bytes())
    }
}

/// 256 random bits, URL-safe.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random generator answers");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn digest(cookie: &str) -> String {
    Sha256::digest(cookie.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The session cookie's value, when the request carries one.
fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
}

/// Lets the request through with its [`Session`], or sends the browser to sign in.
pub async fn require(
    State(console): State<Arc<Operator>>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(id_hash) = cookie(request.headers()).map(digest) else {
        return Redirect::to("/ui/sign-in").into_response();
    };
    match console.store.console_session(&id_hash).await {
        Ok(Some(found)) => {
            request.extensions_mut().insert(Session {
                id_hash,
                csrf: found.csrf,
            });
            next.run(request).await
        }
        Ok(None) => Redirect::to("/ui/sign-in?ended").into_response(),
        Err(error) => store_error(error),
    }
}

fn sign_in_form(message: Option<&str>) -> Markup {
    html! {
        @if let Some(message) = message {
            p.error role="alert" { (message) }
        }
        form method="post" action="/ui/sign-in" {
            label for="token" { "Admin token" }
            input #token type="password" name="token" autocomplete="current-password" required autofocus;
            button type="submit" { "Sign in" }
        }
        p.hint { "The token is the service's " code { "admin.token" } "." }
    }
}

#[derive(Deserialize)]
pub struct SignInQuery {
    ended: Option<String>,
    signed_out: Option<String>,
}

pub async fn sign_in_page(
    axum::extract::Query(query): axum::extract::Query<SignInQuery>,
) -> Response {
    let message = if query.signed_out.is_some() {
        Some("You are signed out.")
    } else if query.ended.is_some() {
        Some("Your session has ended: sign in again.")
    } else {
        None
    };
    layout::standalone(StatusCode::OK, "Sign in", sign_in_form(message))
}

#[derive(Deserialize)]
struct SignIn {
    token: String,
}

/// Checks the token; on success starts a session and goes to the overview.
pub async fn sign_in(State(console): State<Arc<Operator>>, request: Request) -> Response {
    if let Some(refusal) = console.throttle.refuse(&request) {
        return refusal;
    }
    let secure = request
        .headers()
        .get("x-forwarded-proto")
        .is_some_and(|proto| proto.as_bytes().eq_ignore_ascii_case(b"https"));
    let peer = crate::http::throttle::peer(&request);
    let Ok(Form(form)) = Form::<SignIn>::from_request(request, &()).await else {
        return layout::standalone(
            StatusCode::BAD_REQUEST,
            "Sign in",
            sign_in_form(Some("The form could not be read: send it from this page.")),
        );
    };
    if !equal(
        form.token.trim().as_bytes(),
        console.token.expose_secret().as_bytes(),
    ) {
        console.throttle.failed_from(peer);
        tracing::warn!("console sign-in refused: wrong token");
        return layout::standalone(
            StatusCode::UNAUTHORIZED,
            "Sign in",
            sign_in_form(Some("That is not the admin token.")),
        );
    }
    let id = random_token();
    let expires_at = now_ms() + console.session.as_millis() as i64;
    if let Err(error) = console
        .store
        .start_console_session(&digest(&id), &random_token(), expires_at)
        .await
    {
        return store_error(error);
    }
    tracing::info!("console sign-in");
    let cookie = format!(
        "{COOKIE}={id}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age={}{}",
        console.session.as_secs(),
        if secure { "; Secure" } else { "" }
    );
    with_cookie(Redirect::to("/ui"), &cookie)
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// A form POST that carried its session's CSRF token: a handler that takes it as its
/// last argument runs only then, and every other POST gets [`forged`].
pub struct Checked(pub Session);

impl<S: Send + Sync> FromRequest<S> for Checked {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Checked, Response> {
        let session = request.extensions().get::<Session>().cloned();
        let form = Form::<CsrfForm>::from_request(request, state).await;
        match (session, form) {
            (Some(session), Ok(Form(form))) if session.csrf_matches(&form.csrf) => {
                Ok(Checked(session))
            }
            _ => Err(forged()),
        }
    }
}

/// Ends the session, here and in the browser.
pub async fn sign_out(State(console): State<Arc<Operator>>, Checked(session): Checked) -> Response {
    if let Err(error) = console.store.end_console_session(&session.id_hash).await {
        return store_error(error);
    }
    tracing::info!("console sign-out");
    with_cookie(
        Redirect::to("/ui/sign-in?signed_out"),
        &format!("{COOKIE}=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0"),
    )
}

fn with_cookie(redirect: Redirect, cookie: &str) -> Response {
    let mut response = redirect.into_response();
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// The answer to a POST without this session's CSRF token.
fn forged() -> Response {
    tracing::warn!("console form refused: missing or wrong CSRF token");
    layout::bare(
        StatusCode::FORBIDDEN,
        "Form refused",
        "This form did not come from your console session (or the session changed). \
         Go back, reload the page and send it again.",
    )
}
