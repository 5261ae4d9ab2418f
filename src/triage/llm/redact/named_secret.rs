//! Secrets announced by their name: `password: x`, `the password for the VPN is x`,
//! `Passwort: x`, `passphrase: correct horse battery staple`, `credentials admin / x`.
//! The name and what stands between it and the value stay; the value goes. How sure the
//! reading is decides how much it takes: after `:` or `=` the value always goes; after
//! "is" or "to" it goes unless it is a word such as "expired"; right after the name only
//! a value that looks like a secret goes, so "password expired" keeps its meaning.

use std::sync::LazyLock;

use regex::Regex;

/// A secret's name, in the languages MSP customers write in. The start is checked by
/// hand (see [`redact`]) so that `db_password=` counts while "compass" does not.
static NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(pass[ -]?phrase|passwords?|passwort|passwd|passcode|pass|pwd|pw|p/w|pin|client[_ -]?secret|secret|api[_ -]?key|access[_ -]?key|account[_ -]?key|shared[_ -]?access[_ -]?key|token|credentials?|creds|login|kennwort|mot de passe|contrase(?:ñ|n)a|wachtwoord|l(?:ö|o)senord|passord|adgangskode|has(?:ł|l)o|senha|salasana)\b",
    )
    .expect("a valid built-in pattern")
});

/// "for the VPN is", "on the server:": up to four words saying what the secret is for,
/// then a separator (without one, the words are not taken for a clause).
static FOR_CLAUSE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:'s|’s)?\s+(?:for|on|of|at|to)(?:\s+[^\s:=,;.!?]+){1,4}?(\s*[:=]\s*|\s+(?:is|was|ist|est|es|er|är|jest)\b\s*[:=]?\s*)",
    )
    .expect("a valid built-in pattern")
});

/// What may stand right after a name: a sign (group 1), a verb (group 2), or a space or
/// a bare "to" ("the password to the portal", "set the password to Xy9!").
static SEPARATOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:'s|’s)?(?:(\s*(?::=|[:=])\s*|\s+[-–—]\s+)|(\s+(?:is|was|are|were|ist|war|est|es|er|är|jest)\b(?:\s+(?:now|still))?(?:\s+(?:set|changed|reset)\s+to)?\s*[:=]?\s*|\s+(?:set|changed|reset)\s+to\s+)|\s+(?:to\s+)?)",
    )
    .expect("a valid built-in pattern")
});

/// Words that end a value, or that are no value at all after "is" ("the password is
/// expired", "the pin is not working").
const NOT_A_VALUE: &[&str] = &[
    "a",
    "about",
    "above",
    "accepted",
    "after",
    "again",
    "also",
    "always",
    "an",
    "and",
    "are",
    "as",
    "at",
    "attached",
    "because",
    "before",
    "being",
    "below",
    "blank",
    "blocked",
    "broken",
    "but",
    "by",
    "can",
    "can't",
    "cannot",
    "case",
    "changed",
    "compromised",
    "correct",
    "could",
    "dear",
    "did",
    "didn't",
    "different",
    "disabled",
    "do",
    "does",
    "doesn't",
    "don't",
    "due",
    "empty",
    "expired",
    "fine",
    "for",
    "forgotten",
    "from",
    "had",
    "has",
    "have",
    "he",
    "hello",
    "here",
    "hi",
    "how",
    "however",
    "i",
    "i'm",
    "i've",
    "if",
    "in",
    "incorrect",
    "into",
    "invalid",
    "is",
    "it",
    "it's",
    "just",
    "known",
    "locked",
    "long",
    "lost",
    "missing",
    "my",
    "needed",
    "never",
    "no",
    "not",
    "now",
    "of",
    "off",
    "ok",
    "okay",
    "on",
    "only",
    "or",
    "our",
    "out",
    "over",
    "please",
    "regards",
    "rejected",
    "required",
    "reset",
    "right",
    "same",
    "saved",
    "sent",
    "set",
    "she",
    "short",
    "shown",
    "since",
    "so",
    "still",
    "stored",
    "strong",
    "stuck",
    "supposed",
    "thank",
    "thanks",
    "that",
    "the",
    "their",
    "then",
    "there",
    "they",
    "this",
    "to",
    "too",
    "under",
    "unknown",
    "until",
    "up",
    "valid",
    "was",
    "we",
    "weak",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "why",
    "will",
    "with",
    "won't",
    "would",
    "wrong",
    "you",
    "your",
];

/// How a name is read: a password-like name takes a value after "is"; an ambiguous one
/// ("pin", "token", "pass", "secret") only a value that looks like a secret; a phrase
/// takes several words; a login takes a `user / password` pair.
#[derive(Clone, Copy, PartialEq)]
enum Name {
    Password,
    Ambiguous,
    Phrase,
    Login,
}

fn name_kind(name: &str) -> Name {
    let name = name.to_lowercase();
    if name.contains("phrase") {
        Name::Phrase
    } else if matches!(name.as_str(), "pin" | "token" | "pass" | "secret") {
        Name::Ambiguous
    } else if name.starts_with("cred") || name == "login" {
        Name::Login
    } else {
        Name::Password
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Separator {
    /// `:`, `=`, a dash: what follows is the value.
    Sign,
    /// "is", "was", "set to": what follows is the value unless it is a plain word.
    Verb,
    /// Nothing but a space.
    Space,
}

/// Replaces the value after each secret's name with `[secret]`.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut cursor = 0;
    let mut from = 0;
    while let Some(found) = NAME.find_at(text, from) {
        from = found.end();
        let starts_a_word = text[..found.start()]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        if found.start() < cursor || !starts_a_word {
            continue;
        }
        let rest = &text[found.end()..];
        let Some((between, separator)) = separator(rest) else {
            continue;
        };
        let value_at = found.end() + between;
        let Some(len) = value_len(&text[value_at..], name_kind(found.as_str()), separator) else {
            continue;
        };
        out.push_str(&text[cursor..value_at]);
        out.push_str("[secret]");
        cursor = value_at + len;
        from = cursor;
    }
    out.push_str(&text[cursor..]);
    out
}

/// How many bytes stand between the name and its value, and what kind of separator.
fn separator(rest: &str) -> Option<(usize, Separator)> {
    if let Some(caps) = FOR_CLAUSE.captures(rest) {
        let kind = match caps[1].contains([':', '=']) {
            true => Separator::Sign,
            false => Separator::Verb,
        };
        return Some((caps[0].len(), kind));
    }
    let caps = SEPARATOR.captures(rest)?;
    let kind =
        if caps.get(1).is_some() || caps.get(2).is_some_and(|v| v.as_str().contains([':', '='])) {
            Separator::Sign
        } else if caps.get(2).is_some() {
            Separator::Verb
        } else {
            Separator::Space
        };
    Some((caps[0].len(), kind))
}

/// How many bytes of `rest` are the secret value, if it is one.
fn value_len(rest: &str, name: Name, separator: Separator) -> Option<usize> {
    let line = rest.split('\n').next().unwrap_or("");
    if let Some((open, close)) = quotes(line) {
        let inside = &line[open.len_utf8()..];
        let end = inside.find(close)?;
        return Some(open.len_utf8() + end + close.len_utf8());
    }
    let words = words(line);
    let (_, first) = *words.first()?;
    let first_word = bare(first);
    // Already redacted by shape (`token [secret]`).
    if first.starts_with('[') && first.contains(']') {
        return None;
    }
    let taken = match (separator, name) {
        (Separator::Sign, _) => true,
        (Separator::Verb, Name::Password | Name::Phrase) => !is_plain_word(first_word),
        _ => looks_secret(first_word) || is_pair(&words),
    };
    if !taken {
        return None;
    }
    // How many words the value spans: a pair, a passphrase of plain lowercase words, or
    // a phrase after its name; never past the end of a sentence or a word like "and".
    let mut last = 0;
    if is_pair(&words) {
        last = 2;
    } else if name == Name::Phrase || (separator != Separator::Space && is_diceware(first)) {
        while last + 1 < words.len().min(8) && !ends_sentence(words[last].1) {
            let next = words[last + 1].1;
            if NOT_A_VALUE.contains(&bare(next).to_lowercase().as_str())
                || (name != Name::Phrase && !is_diceware(next))
            {
                break;
            }
            last += 1;
        }
    }
    // A connection string goes on after `;`: `Password=x;Server=y` keeps the server.
    let (at, word) = words[last];
    let word = bare(word);
    Some(at + word.find(';').filter(|&i| i > 0).unwrap_or(word.len()))
}

/// The words of a line with their byte offsets.
fn words(line: &str) -> Vec<(usize, &str)> {
    let mut words = Vec::new();
    let mut start = None;
    for (at, c) in line.char_indices().chain([(line.len(), ' ')]) {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                words.push((s, &line[s..at]));
                start = None;
            }
            (false, None) => start = Some(at),
            _ => {}
        }
    }
    words
}

/// A word without the sentence punctuation after it.
fn bare(word: &str) -> &str {
    let trimmed = word.trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']']);
    if trimmed.is_empty() {
        word
    } else {
        trimmed
    }
}

fn ends_sentence(word: &str) -> bool {
    word.ends_with(['.', ',', ';', '!', '?'])
}

/// `admin / Hunter2`: a user and a password.
fn is_pair(words: &[(usize, &str)]) -> bool {
    words.len() >= 3 && words[1].1 == "/" && !NOT_A_VALUE.contains(&words[0].1)
}

/// A digit, a symbol, or a capital inside: `Hunter2`, `s3cr3t!`, `tRoub`.
fn looks_secret(word: &str) -> bool {
    word.chars().any(|c| !c.is_alphabetic()) || word.chars().skip(1).any(char::is_uppercase)
}

/// Lowercase letters only, as the words of a passphrase are.
fn is_diceware(word: &str) -> bool {
    let word = bare(word);
    !word.is_empty() && word.chars().all(|c| c.is_alphabetic() && c.is_lowercase())
}

/// A word that is not a value after "is": a common word, or one that reads as a state
/// ("expired", "expiring", "wrongly").
fn is_plain_word(word: &str) -> bool {
    let lower = word.to_lowercase();
    if looks_secret(word) {
        return false;
    }
    NOT_A_VALUE.contains(&lower.as_str())
        || ["ed", "ing", "ly"]
            .iter()
            .any(|end| lower.len() > 4 && lower.ends_with(end))
}

/// The quote a value opens with, and the one that closes it.
fn quotes(line: &str) -> Option<(char, char)> {
    let open = line.chars().next()?;
    let close = match open {
        '"' | '\'' | '`' => open,
        '“' => '”',
        '‘' => '’',
        '«' => '»',
        _ => return None,
    };
    Some((open, close))
}
