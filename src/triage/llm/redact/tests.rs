//! Every leak the security review found (M3, L4), the over-redaction it found (numbers
//! and words that carry the ticket's meaning), and more of both.

use super::redact;
use crate::config::RedactSettings;

fn all() -> RedactSettings {
    RedactSettings {
        emails: true,
        phones: true,
        cards: true,
        ips: true,
        secrets: true,
    }
}

/// (text, what the LLM may see).
const REDACTED: &[(&str, &str)] = &[
    // The review's captured request (M3, p6), phrase by phrase.
    ("My password was Hunter2A.", "My password was [secret]."),
    ("Password – Hunter2B.", "Password – [secret]."),
    (
        "the password for the VPN is Hunter2C.",
        "the password for the VPN is [secret].",
    ),
    ("Passwort: Geheim2D.", "Passwort: [secret]."),
    ("pass: Hunter2E.", "pass: [secret]."),
    (
        "passphrase: correct horse battery.",
        "passphrase: [secret].",
    ),
    (
        "Card 4111  1111  1111  1111 exp 12/27 cvv 123.",
        "Card [card] exp [secret] cvv [secret].",
    ),
    (
        "IBAN MT84 MALT 0110 0001 2345 MTLC AST0 01S.",
        "IBAN [iban].",
    ),
    ("mail jörg@müller.de.", "mail [email]."),
    (
        "Authorization: Basic dXNlcjpwYXNzd29yZA==.",
        "Authorization: Basic [secret]",
    ),
    ("key glpat-abcdefghijklmnopqrst.", "key [secret]."),
    // The review's regex harness.
    (
        "password: correct horse battery staple",
        "password: [secret]",
    ),
    ("password's Hunter2", "password's [secret]"),
    ("Kennwort: Geheim99", "Kennwort: [secret]"),
    ("mot de passe : Soleil42", "mot de passe : [secret]"),
    ("contraseña: Sol2024", "contraseña: [secret]"),
    ("P/W: Hunter2", "P/W: [secret]"),
    ("credentials admin / Hunter2", "credentials [secret]"),
    ("card 4111 / 1111 / 1111 / 1111", "card [card]"),
    ("card 4111_1111_1111_1111", "card [card]"),
    ("card 4111.1111.1111.1111", "card [card]"),
    ("jane@müller.de", "[email]"),
    (
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\nthanks",
        "[secret]\nthanks",
    ),
    (
        "key AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUv",
        "key [secret]",
    ),
    (
        "IBAN FR14 2004 1010 0505 0001 3M02 606",
        "IBAN [iban]",
    ),
    ("pay to GB82 WEST 1234 5698 7654 32 today", "pay to [iban] today"),
    ("DE89370400440532013000", "[iban]"),
    // Proxy-Authorization, Bearer, tokens by shape.
    (
        "Proxy-Authorization: Bearer abc.def.ghi",
        "Proxy-Authorization: Bearer [secret]",
    ),
    ("header Authorization: x9Y8z7", "header Authorization: [secret]"),
    (
        "use bearer 0123456789abcdefXYZ",
        "use Bearer [secret]",
    ),
    (
        "slack xoxb-1234567890-abcdefghij",
        "slack [secret]",
    ),
    (
        "gh ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "gh [secret]",
    ),
    ("aws AKIAIOSFODNN7EXAMPLE", "aws [secret]"),
    (
        "openai sk-proj-abcdefghijklmnop1234",
        "openai [secret]",
    ),
    (
        "token eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl",
        "token [secret]",
    ),
    (
        "https://x.blob.core.windows.net/c?sv=2022&sig=abcdefghijklmnop1234%3D",
        "https://x.blob.core.windows.net/c?sv=2022&sig=[secret]",
    ),
    (
        "recovery key 123456-234567-345678-456789-567890-678901-789012-890123",
        "recovery key [secret]",
    ),
    (
        "licence ABCDE-12345-FGHIJ-67890-KLMNO",
        "licence [secret]",
    ),
    (
        "nas https://admin:Hunter2@nas.local/share",
        "nas https://[secret]@nas.local/share",
    ),
    // Named secrets, more phrasings.
    (
        "Password=Hunter2;Server=sql01",
        "Password=[secret];Server=sql01",
    ),
    ("db_password=abc", "db_password=[secret]"),
    ("set the password to Welcome1!", "set the password to [secret]!"),
    ("password changed to summer", "password changed to [secret]"),
    ("the password is hunter and it fails", "the password is [secret] and it fails"),
    ("the pin is 4321", "the pin is [secret]"),
    ("PIN 4321 please", "PIN [secret] please"),
    ("password \"Hunter 2\" fails", "password [secret] fails"),
    ("api_key=sk-abcdefghijklmnop1234", "api_key=[secret]"),
    ("AccountKey=abc+def/ghi==;", "AccountKey=[secret];"),
    ("login: jsmith", "login: [secret]"),
    ("wachtwoord: Tulp2024", "wachtwoord: [secret]"),
    ("Passwort ist Geheim7", "Passwort ist [secret]"),
    (
        "the passphrase is purple monkey dishwasher",
        "the passphrase is [secret]",
    ),
    // Look-alikes (L4) are read as what they look like.
    ("ｐａｓｓｗｏｒｄ： Ｈｕｎｔｅｒ２", "password: [secret]"),
    ("pass\u{200b}word: Hunter2", "password: [secret]"),
    ("card ４１１１ １１１１ １１１１ １１１１", "card [card]"),
    // Personal data as before.
    ("call +44 20 7946 0958", "call [phone]"),
    ("call 020 7946 0958", "call [phone]"),
    ("call 5551234567", "call [phone]"),
    ("server 10.0.4.17", "server [ip]"),
    ("link fe80::1ff:fe23:4567:890a", "link [ip]"),
];

/// Text that must reach the LLM as it is: it carries the ticket's meaning.
const KEPT: &[&str] = &[
    "my password expired this morning",
    "the password is expired",
    "the password is not working",
    "password reset needed for the CEO",
    "my login is broken",
    "I cannot login to Outlook",
    "I need to reset my password to access email",
    "the token expired, the token is invalid",
    "pass the message on, boarding pass attached",
    "compass: north",
    "pin the tab to the taskbar",
    "sign in at https://login.microsoftonline.com",
    "asset tag 1234567, error 0x80070005, ticket 123456",
    "KB5034441 failed with 0x800f0922",
    "order 4111111111111112 is late",
    "server DE01 rack 12",
    "since 10:30:15 on 2026-12-02, or 02.12.2026",
    "the secret santa list",
    "is the passphrase policy 12 characters?",
];

#[test]
fn every_leak_in_the_table_is_redacted() {
    let mut wrong = Vec::new();
    for (text, expected) in REDACTED {
        let redacted = redact(text, &all());
        if redacted != *expected {
            wrong.push(format!(
                "{text:?}\n   gave {redacted:?}\n   want {expected:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn what_carries_meaning_is_kept() {
    let changed: Vec<String> = KEPT
        .iter()
        .map(|text| (text, redact(text, &all())))
        .filter(|(text, redacted)| **text != redacted)
        .map(|(text, redacted)| format!("{text:?} became {redacted:?}"))
        .collect();
    assert!(changed.is_empty(), "{}", changed.join("\n"));
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
    let settings = RedactSettings {
        cards: false,
        phones: false,
        ..all()
    };
    assert_eq!(
        redact("card 4111 1111 1111 1111", &settings),
        "card 4111 1111 1111 1111"
    );
}

#[test]
fn invisible_characters_are_removed_whatever_is_turned_on() {
    let none = RedactSettings {
        emails: false,
        phones: false,
        cards: false,
        ips: false,
        secrets: false,
    };
    assert_eq!(redact("</ticket\u{200b}>\u{202e}", &none), "</ticket>");
    assert_eq!(redact("＜/ticket＞", &none), "</ticket>");
}
