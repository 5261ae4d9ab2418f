//! Request authentication, compared in constant time: the webhook's Basic auth and/or token
//! ([`WebhookAuth`]), and the bearer token of the admin API ([`bearer_matches`]).

use axum::http::{header, HeaderMap, HeaderName};
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::WebhookSettings;

/// The credentials a delivery must present.
pub struct WebhookAuth {
    /// `user:password`, as Basic auth carries it after base64 decoding.
    basic: Option<SecretString>,
    token: Option<SecretString>,
    token_header: HeaderName,
    allow_unauthenticated: bool,
}

impl WebhookAuth {
    pub fn from_settings(settings: &WebhookSettings) -> WebhookAuth {
        let basic = match (&settings.username, &settings.password) {
            (Some(user), Some(password)) => Some(SecretString::from(format!(
                "{user}:{}",
                password.expose_secret()
            ))),
            _ => None,
        };
        WebhookAuth {
            basic,
            token: settings.token.clone(),
            token_header: HeaderName::try_from(settings.token_header.as_str())
                .expect("validated with the settings"),
            allow_unauthenticated: settings.allow_unauthenticated,
        }
    }

    /// True when the request carries any configured credential (or none is required).
    pub fn verify(&self, headers: &HeaderMap) -> bool {
        if self.basic.is_none() && self.token.is_none() {
            return self.allow_unauthenticated;
        }
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::trim);
        let basic_ok = match (
            &self.basic,
            authorization.and_then(|a| scheme_value(a, "basic")),
        ) {
            (Some(expected), Some(encoded)) => base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .is_ok_and(|given| equal(&given, expected.expose_secret().as_bytes())),
            _ => false,
        };
        let token_ok = self.token.as_ref().is_some_and(|expected| {
            let bearer = authorization.and_then(|a| scheme_value(a, "bearer"));
            let custom = headers
                .get(&self.token_header)
                .and_then(|v| v.to_str().ok())
                .map(str::trim);
            [bearer, custom]
                .into_iter()
                .flatten()
                .any(|given| equal(given.as_bytes(), expected.expose_secret().as_bytes()))
        });
        basic_ok | token_ok
    }
}

/// True when the request carries `Authorization: Bearer <expected>` (the admin API).
pub fn bearer_matches(headers: &HeaderMap, expected: &SecretString) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|a| scheme_value(a.trim(), "bearer"))
        .is_some_and(|given| equal(given.as_bytes(), expected.expose_secret().as_bytes()))
}

/// The value after `scheme ` in an Authorization header (scheme case-insensitive).
fn scheme_value<'a>(authorization: &'a str, scheme: &str) -> Option<&'a str> {
    let (given, value) = authorization.split_once(' ')?;
    given.eq_ignore_ascii_case(scheme).then(|| value.trim())
}

/// Constant time, also in the length: digests of equal length are compared.
pub(crate) fn equal(given: &[u8], expected: &[u8]) -> bool {
    Sha256::digest(given)
        .ct_eq(&Sha256::digest(expected))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn auth(user: Option<&str>, token: Option<&str>, open: bool) -> WebhookAuth {
        WebhookAuth {
            basic: user.map(|u| SecretString::from(format!("{u}:pw"))),
            token: token.map(SecretString::from),
            token_header: HeaderName::from_static("x-halo-triage-token"),
            allow_unauthenticated: open,
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn basic(credentials: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        )
    }

    #[test]
    fn basic_auth_must_match_user_and_password() {
        let auth = auth(Some("halo"), None, false);
        assert!(auth.verify(&headers(&[("authorization", &basic("halo:pw"))])));
        assert!(auth.verify(&headers(&[(
            "authorization",
            &basic("halo:pw").replace("Basic", "basic")
        )])));
        assert!(!auth.verify(&headers(&[("authorization", &basic("halo:px"))])));
        assert!(!auth.verify(&headers(&[("authorization", "Basic !!notbase64")])));
        assert!(!auth.verify(&headers(&[])));
    }

    #[test]
    fn a_token_is_accepted_as_bearer_or_in_the_custom_header() {
        let auth = auth(None, Some("t0k"), false);
        assert!(auth.verify(&headers(&[("authorization", "Bearer t0k")])));
        assert!(auth.verify(&headers(&[("x-halo-triage-token", "t0k")])));
        assert!(!auth.verify(&headers(&[("authorization", "Bearer t0")])));
        assert!(!auth.verify(&headers(&[("authorization", &basic("halo:pw"))])));
    }

    #[test]
    fn without_credentials_only_an_explicit_opt_in_lets_requests_through() {
        assert!(auth(None, None, true).verify(&headers(&[])));
        assert!(!auth(None, None, false).verify(&headers(&[])));
        assert!(!auth(Some("halo"), None, true).verify(&headers(&[])));
    }
}
