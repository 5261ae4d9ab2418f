//! Redaction: every text sent to the LLM passes through here first. Emails, phone
//! numbers, card numbers, IP addresses and obvious secrets become placeholders.

use std::sync::LazyLock;

use regex::Regex;

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

/// Secrets first (they may contain anything), then cards before phones (both are digits).
static SECRETS: LazyLock<Vec<Pattern>> = LazyLock::new(|| {
    vec![
        pattern(
            r"(?i)\b(password|passwd|pwd|pw|passcode|pin|secret|api[_ -]?key|token|access[_ -]?key|client[_ -]?secret)\b(\s*(?:is\b)?\s*[:=]?\s*)[^\s,;]+",
            "$1$2[secret]",
        ),
        pattern(r"\beyJ[\w-]+\.[\w-]+\.[\w-]+", "[secret]"),
        pattern(r"\bgithub_pat_\w+", "[secret]"),
        pattern(r"(?i)\bbearer\s+[a-z0-9._~+/=-]{16,}", "Bearer [secret]"),
        pattern(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", "[secret]"),
        pattern(
            r"\b(?:sk|pk|ghp|gho|xox[bp])[-_][A-Za-z0-9_-]{16,}\b",
            "[secret]",
        ),
        pattern(r"\b[A-Fa-f0-9]{32,}\b", "[secret]"),
    ]
});
static EMAILS: LazyLock<Pattern> =
    LazyLock::new(|| pattern(r"(?i)\b[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}\b", "[email]"));
static CARDS: LazyLock<Pattern> = LazyLock::new(|| pattern(r"\b(?:\d[ -]?){12,18}\d\b", "[card]"));
static PHONES: LazyLock<Pattern> = LazyLock::new(|| {
    pattern(
        r"(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,5}\)[\s.-]?)?\d{2,5}(?:[\s.-]?\d{2,5}){2,4}\b",
        "[phone]",
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

/// Replaces what `settings` turns on; the result is what the LLM may see.
pub fn redact(text: &str, settings: &RedactSettings) -> String {
    let mut text = text.to_string();
    let mut apply = |p: &Pattern| {
        text = p.regex.replace_all(&text, p.placeholder).into_owned();
    };
    if settings.secrets {
        SECRETS.iter().for_each(&mut apply);
    }
    if settings.emails {
        apply(&EMAILS);
    }
    if settings.ips {
        IPS.iter().for_each(&mut apply);
    }
    if settings.cards {
        apply(&CARDS);
    }
    if settings.phones {
        apply(&PHONES);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> RedactSettings {
        RedactSettings {
            emails: true,
            phones: true,
            cards: true,
            ips: true,
            secrets: true,
        }
    }

    #[test]
    fn personal_data_and_secrets_are_replaced() {
        let text = "Call me on +44 20 7946 0958 or mail jane.doe@globex.example. \
                    Card 4111 1111 1111 1111. Server 10.0.4.17 and fe80::1ff:fe23:4567:890a. \
                    My password: Hunter2! and api_key=sk-abcdefghijklmnop1234. \
                    My password is: Tr0ub4dor, pw Sesame1; token eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl \
                    and github_pat_11ABCDEFG0123456789. \
                    Ticket 41234 on floor 2 at 10:30:15.";
        let redacted = redact(text, &all());
        for leaked in [
            "7946",
            "jane.doe",
            "4111",
            "10.0.4.17",
            "fe80",
            "Hunter2",
            "sk-abcdef",
        ] {
            assert!(!redacted.contains(leaked), "{leaked} leaked: {redacted}");
        }
        for kept in [
            "[phone]",
            "[email]",
            "[card]",
            "[ip]",
            "password: [secret]",
            "Ticket 41234 on floor 2 at 10:30:15",
        ] {
            assert!(redacted.contains(kept), "{kept} missing: {redacted}");
        }
    }

    #[test]
    fn each_kind_can_be_turned_off() {
        let settings = RedactSettings {
            emails: false,
            ..all()
        };
        assert_eq!(
            redact("jane@globex.example", &settings),
            "jane@globex.example"
        );
    }
}
