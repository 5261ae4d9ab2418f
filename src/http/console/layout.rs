//! The frame every console page shares: the head, the navigation with the sign-out form,
//! the headers that keep pages from being framed, cached or scripted, and the small
//! formats the pages write numbers and times in.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

/// The pages in the navigation: path and name.
const PAGES: [(&str, &str); 6] = [
    ("/ui", "Overview"),
    ("/ui/decisions", "Decisions"),
    ("/ui/dead-letters", "Dead letters"),
    ("/ui/agreement", "Agreement"),
    ("/ui/rules", "Rules"),
    ("/ui/model", "Model"),
];

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · halo-triage" }
            link rel="stylesheet" href="/ui/console.css";
        }
    }
}

/// The hidden field every form of the console carries: the session's CSRF token.
pub fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

/// A signed-in page: `current` is its path in the navigation; `csrf` is the session's
/// token, for the sign-out form.
pub fn page(csrf: &str, current: &str, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#content" { "Skip to the content" }
                header {
                    nav aria-label="Console" {
                        span.brand { "halo-triage" }
                        ul {
                            @for (path, name) in PAGES {
                                li {
                                    @if path == current {
                                        a href=(path) aria-current="page" { (name) }
                                    } @else {
                                        a href=(path) { (name) }
                                    }
                                }
                            }
                        }
                        form method="post" action="/ui/sign-out" {
                            (csrf_field(csrf))
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main id="content" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    Html(markup.into_string()).into_response()
}

/// A page outside the session: the sign-in form, or an error.
pub fn bare(status: StatusCode, title: &str, message: &str) -> Response {
    standalone(status, title, html! { p { (message) } })
}

pub fn standalone(status: StatusCode, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body.standalone {
                main id="content" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    (status, Html(markup.into_string())).into_response()
}

/// No framing, no scripts, nothing fetched from elsewhere, nothing cached: the pages show
/// ticket data and carry the session's CSRF token.
pub async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let set = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in set {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// A unix-ms time as `2026-12-04 18:51:50 UTC`.
pub fn when(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|at| at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

/// A share as a percentage, or a dash when there is nothing to divide.
pub fn percent(share: Option<f64>) -> String {
    share.map_or("–".into(), |s| format!("{:.1}%", 100.0 * s))
}
