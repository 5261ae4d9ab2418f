//! Redaction: every text sent to the LLM passes through here first. The text is
//! normalised (NFKC, invisible format and control characters removed) so look-alikes
//! cannot hide a secret or a delimiter; then secrets, payment data, emails, IP addresses
//! and phone numbers become placeholders. What is hidden is what a person would call
//! secret or personal: ticket numbers, asset tags, error codes and words such as
//! "expired" stay, so the model still reads them and two tickets differing in them still
//! read differently.

mod named_secret;
mod numbers;
#[cfg(test)]
mod tests;

use std::sync::LazyLock;

use regex::{Captures, Regex};
use unicode_normalization::UnicodeNormalization;

use crate::config::RedactSettings;

struct Pattern {
    regex: Regex,
    placeholder: &'static str,
}

fn pattern(regex: &str, placeholder: &'static str) -> Pattern {
    Pattern {
        regex: Regex::new(regex).expect("a valid built-in pattern"),
        placeholder,
    }
}

/// Zero-width and other format characters (`\p{Cf}`: ZWSP, ZWJ, bidi controls, soft
/// hyphen) and control characters other than line breaks and tabs.
static INVISIBLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[[\p{Cf}\p{Cc}]&&[^\n\t]]").expect("a valid built-in pattern"));

/// Whole blocks and shapes that are secret whatever surrounds them, most specific first.
static SECRETS: LazyLock<Vec<Pattern>> = LazyLock::new(|| {
    vec![
        // A PEM block to its END line; without one, the base64 lines that follow.
        pattern(
            r"-----BEGIN [A-Z0-9 ]{0,40}-----(?:(?s:.*?)-----END [A-Z0-9 ]{0,40}-----|[A-Za-z0-9+/=:\s-]*)",
            "[secret]",
        ),
        // Credentials in a URL: scheme://user:password@host.
        pattern(
            r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/@:]+:[^\s/@]+@",
            "${1}[secret]@",
        ),
        pattern(r"\beyJ[\w-]+\.[\w-]+\.[\w-]+", "[secret]"),
        pattern(r"\bgithub_pat_\w+", "[secret]"),
        pattern(r"\bgh[pousr]_[A-Za-z0-9]{20,}", "[secret]"),
        pattern(r"\bglpat-[\w-]{20,}", "[secret]"),
        pattern(r"\bAIza[\w-]{30,}", "[secret]"),
        pattern(r"\bxox[abposr]-[\w-]{10,}", "[secret]"),
        pattern(r"\bnpm_[A-Za-z0-9]{30,}", "[secret]"),
        pattern(r"\bSG\.[\w-]{16,}\.[\w-]{16,}", "[secret]"),
        pattern(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", "[secret]"),
        pattern(r"\b(?:sk|pk|rk)[-_][\w-]{16,}", "[secret]"),
        // An Azure SAS signature.
        pattern(r"(?i)\bsig=[A-Za-z0-9%+/=]{16,}", "sig=[secret]"),
        // A BitLocker recovery key, then a Windows product key.
        pattern(r"\b[0-9]{6}(?:-[0-9]{6}){7}\b", "[secret]"),
        pattern(r"\b[A-Z0-9]{5}(?:-[A-Z0-9]{5}){4}\b", "[secret]"),
        pattern(r"\b[A-Fa-f0-9]{32,}\b", "[secret]"),
    ]
});

/// `Authorization: Basic …`, `Proxy-Authorization: Bearer …`: the scheme stays.
static AUTHORIZATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b((?:proxy-)?authorization\s*:\s*)(?:(basic|bearer|digest|negotiate|ntlm|token|apikey)\s+)?[^\s,;]+",
    )
    .expect("a valid built-in pattern")
});
static BEARER: LazyLock<Pattern> =
    LazyLock::new(|| pattern(r"(?i)\bbearer\s+[a-z0-9._~+/=-]{16,}", "Bearer [secret]"));

/// A card's security code and expiry date, named.
static CARD_DETAILS: LazyLock<Vec<Pattern>> = LazyLock::new(|| {
    vec![
        pattern(
            r"(?i)\b(cvv2?|cvc2?|csc|cvn|security code)(\s*[:=]?\s*)[0-9]{3,4}\b",
            "$1$2[secret]",
        ),
        pattern(
            r"(?i)\b(exp(?:iry|iration)?(?:\s+date)?|valid\s+(?:thru|through|until))(\s*[:=.]?\s*)(?:0?[1-9]|1[0-2])\s*[/-]\s*(?:[0-9]{4}|[0-9]{2})\b",
            "$1$2[secret]",
        ),
    ]
});

/// Emails in any script: `jörg@müller.de` as well as `jane@globex.example`.
static EMAILS: LazyLock<Pattern> = LazyLock::new(|| {
    pattern(
        r"[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.\p{L}{2,}",
        "[email]",
    )
});

static IPS: LazyLock<Vec<Pattern>> = LazyLock::new(|| {
    vec![
        pattern(
            r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b",
            "[ip]",
        ),
        // IPv6, full (six groups or more, so times like 10:30:15 stay) or compressed (::).
        pattern(r"(?i)\b(?:[0-9a-f]{1,4}:){5,7}[0-9a-f]{1,4}\b", "[ip]"),
        pattern(
            r"(?i)\b[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*)?\b",
            "[ip]",
        ),
    ]
});

/// Replaces what `settings` turns on; the result is what the LLM may see. Secrets go
/// first (they may contain anything), then payment data before emails, IPs and phones
/// (all of them digits).
pub fn redact(text: &str, settings: &RedactSettings) -> String {
    let mut text = normalise(text);
    let apply = |text: &mut String, p: &Pattern| {
        *text = p.regex.replace_all(text, p.placeholder).into_owned();
    };
    if settings.secrets {
        SECRETS.iter().for_each(|p| apply(&mut text, p));
        text = AUTHORIZATION
            .replace_all(&text, |caps: &Captures| match caps.get(2) {
                Some(scheme) => format!("{}{} [secret]", &caps[1], scheme.as_str()),
                None => format!("{}[secret]", &caps[1]),
            })
            .into_owned();
        apply(&mut text, &BEARER);
        text = named_secret::redact(&text);
    }
    if settings.cards {
        CARD_DETAILS.iter().for_each(|p| apply(&mut text, p));
        text = numbers::redact_ibans(&text);
        text = numbers::redact_cards(&text);
    }
    if settings.emails {
        apply(&mut text, &EMAILS);
    }
    if settings.ips {
        IPS.iter().for_each(|p| apply(&mut text, p));
    }
    if settings.phones {
        text = numbers::redact_phones(&text);
    }
    text
}

/// NFKC (full-width and other compatibility forms become their plain letters, digits and
/// brackets), without invisible characters: what reaches the model reads as it looks, so
/// neither a secret nor a prompt delimiter can hide behind a look-alike.
fn normalise(text: &str) -> String {
    let text: String = text.nfkc().collect();
    INVISIBLE.replace_all(&text, "").into_owned()
}
