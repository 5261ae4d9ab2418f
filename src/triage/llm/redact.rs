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

/// A secret's name, what stands between it and the value, and the value.
static NAMED_SECRET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(password|passwd|pwd|pw|passcode|pin|secret|api[_ -]?key|token|access[_ -]?key|client[_ -]?secret)\b(\s*(?:is\b)?\s*[:=]?\s*)([^\s,;]+)",
    )
    .expect("a valid built-in pattern")
});

/// Secrets first (they may contain anything), then cards before phones (both are digits).
static SECRETS: LazyLock<Vec<Pattern>> = LazyLock::new(|| {
    vec![
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
/// Digit groups that may be a phone number (see [`redact_phones`]).
static PHONES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,5}\)[\s.-]?)?\b\d{2,6}(?:[\s.-]\d{2,6}){1,4}\b|\b\d{10,15}\b",
    )
    .expect("a valid built-in pattern")
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
    let mut text = match settings.secrets {
        true => redact_named_secrets(text),
        false => text.to_string(),
    };
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
        text = redact_phones(&text);
    }
    text
}

/// A phone number has a country code, or seven digits or more in separated groups, or ten
/// or more in one: a bare shorter number (a ticket, an asset tag, an error code) is kept,
/// so the LLM still sees it and two tickets differing in it still read differently.
fn redact_phones(text: &str) -> String {
    PHONES
        .replace_all(text, |caps: &regex::Captures| {
            let found = &caps[0];
            let digits = found.chars().filter(char::is_ascii_digit).count();
            if found.starts_with('+') || digits >= 7 {
                "[phone]".to_string()
            } else {
                found.to_string()
            }
        })
        .into_owned()
}

/// `password: x`, `token=x`, `the pin is x` lose their value; `password Hunter2` too, but
/// `password expired` keeps its word: without `:`, `=` or "is" only a value that looks
/// like a secret (a digit, a symbol, a capital inside) is taken for one.
fn redact_named_secrets(text: &str) -> String {
    NAMED_SECRET
        .replace_all(text, |caps: &regex::Captures| {
            let (name, between, value) = (&caps[1], &caps[2], &caps[3]);
            let separated =
                between.contains([':', '=']) || between.to_ascii_lowercase().contains("is");
            let looks_secret = value.chars().any(|c| !c.is_alphabetic())
                || value.chars().skip(1).any(char::is_uppercase);
            if separated || looks_secret {
                format!("{name}{between}[secret]")
            } else {
                caps[0].to_string()
            }
        })
        .into_owned()
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

    #[test]
    fn redaction_keeps_what_is_not_personal_or_secret() {
        let cases = [
            (
                "my password expired this morning",
                "my password expired this morning",
            ),
            (
                "asset tag 1234567, error 0x80070005, ticket 123456",
                "asset tag 1234567, error 0x80070005, ticket 123456",
            ),
            ("password Hunter2A", "password [secret]"),
            ("the pin is 4321", "the pin is [secret]"),
            ("call 020 7946 0958", "call [phone]"),
            ("call 5551234567", "call [phone]"),
            ("call +44 20 7946 0958", "call [phone]"),
        ];
        for (text, expected) in cases {
            assert_eq!(redact(text, &all()), expected, "{text}");
        }
    }
}
