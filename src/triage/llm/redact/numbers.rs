//! Numbers that are personal: IBANs (with their mod-97 check), card numbers with any
//! separator (with their Luhn check) and phone numbers. A check digit keeps serials,
//! asset tags and error codes that merely look like these.

use std::sync::LazyLock;

use regex::{Captures, Regex};

/// A country code, two check digits and 11 to 30 letters or digits, grouped or not.
static IBAN_CANDIDATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[A-Z]{2}[0-9]{2}(?:[ -]?[A-Z0-9]){11,30}\b").expect("a valid built-in pattern")
});
/// 13 to 19 digits with spaces, dots, slashes, underscores or dashes between them.
static CARD_CANDIDATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[0-9](?:[ \t./_-]{0,3}[0-9]){12,18}\b").expect("a valid built-in pattern")
});
/// Digit groups that may be a phone number (see [`redact_phones`]).
static PHONE_CANDIDATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,5}\)[\s.-]?)?\b\d{2,6}(?:[\s.-]\d{2,6}){1,4}\b|\b\d{10,15}\b",
    )
    .expect("a valid built-in pattern")
});

/// A date written with dashes or dots (`2026-12-02`, `02.12.2026`): digit groups, but no
/// phone number.
static DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:\d{4}[-.]\d{1,2}[-.]\d{1,2}|\d{1,2}[-.]\d{1,2}[-.]\d{4})$")
        .expect("a valid built-in pattern")
});

/// The longest start of `found` whose significant characters (those `keep` picks) number
/// at least `min` and pass `check`, as a byte length; `None` when no start does.
fn longest_valid_start(
    found: &str,
    keep: impl Fn(char) -> bool,
    min: usize,
    check: impl Fn(&[char]) -> bool,
) -> Option<usize> {
    let mut significant = Vec::new();
    let mut ends = Vec::new();
    for (at, c) in found.char_indices() {
        if keep(c) {
            significant.push(c);
            ends.push(at + c.len_utf8());
        }
    }
    (min..=significant.len())
        .rev()
        .find(|&n| check(&significant[..n]))
        .map(|n| ends[n - 1])
}

/// Replaces the valid start of each candidate with `placeholder`, keeping what follows.
fn redact_checked(
    text: &str,
    candidate: &Regex,
    placeholder: &str,
    valid_start: impl Fn(&str, &str) -> Option<usize>,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for found in candidate.find_iter(text) {
        if let Some(len) = valid_start(&text[..found.start()], found.as_str()) {
            out.push_str(&text[last..found.start()]);
            out.push_str(placeholder);
            last = found.start() + len;
        }
    }
    out.push_str(&text[last..]);
    out
}

/// An IBAN passes ISO 13616's mod-97 check, or follows the word "IBAN".
pub fn redact_ibans(text: &str) -> String {
    redact_checked(text, &IBAN_CANDIDATE, "[iban]", |before, found| {
        let named = before
            .trim_end_matches([' ', ':', '='])
            .to_lowercase()
            .ends_with("iban");
        longest_valid_start(found, |c| c.is_ascii_alphanumeric(), 15, iban_checks)
            .or(named.then_some(found.len()))
    })
}

/// A card number passes the Luhn check.
pub fn redact_cards(text: &str) -> String {
    redact_checked(text, &CARD_CANDIDATE, "[card]", |_, found| {
        longest_valid_start(found, |c| c.is_ascii_digit(), 13, luhn_checks)
    })
}

/// A phone number has a country code, or seven digits or more in separated groups, or ten
/// or more in one: a bare shorter number (a ticket, an asset tag, an error code) and a
/// date are kept.
pub fn redact_phones(text: &str) -> String {
    PHONE_CANDIDATE
        .replace_all(text, |caps: &Captures| {
            let found = &caps[0];
            let digits = found.chars().filter(char::is_ascii_digit).count();
            if (found.starts_with('+') || digits >= 7) && !DATE.is_match(found) {
                "[phone]".to_string()
            } else {
                found.to_string()
            }
        })
        .into_owned()
}

/// ISO 13616: the first four characters moved to the end, letters as 10 to 35, mod 97 is 1.
fn iban_checks(chars: &[char]) -> bool {
    if chars.len() > 34 {
        return false;
    }
    let rearranged = chars[4..].iter().chain(&chars[..4]);
    let mut remainder = 0u32;
    for c in rearranged {
        let Some(value) = c.to_digit(36) else {
            return false;
        };
        let (shift, value) = if value < 10 {
            (10, value)
        } else {
            (100, value)
        };
        remainder = (remainder * shift + value) % 97;
    }
    remainder == 1
}

fn luhn_checks(digits: &[char]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| match (i % 2 == 1, d * 2) {
            (true, doubled) if doubled > 9 => doubled - 9,
            (true, doubled) => doubled,
            (false, _) => d,
        })
        .sum();
    sum.is_multiple_of(10)
}
