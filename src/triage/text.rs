//! Plain, comparable text from Halo's ticket bodies.

use std::borrow::Cow;

use crate::halo::model::Ticket;

/// Strips tags (and the content of `<style>` and `<script>`, and comments), decodes
/// entities, and puts a line break for block tags so words on either side never run
/// together.
pub fn html_to_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        rest = &rest[open..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        let Some(close) = rest.find('>') else {
            break;
        };
        let tag = rest[1..close].trim_start_matches('/').to_ascii_lowercase();
        let name = tag
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("");
        rest = &rest[close + 1..];
        if matches!(name, "style" | "script") && !rest.is_empty() {
            let end_tag = format!("</{name}");
            let lower = rest.to_ascii_lowercase();
            rest = lower
                .find(&end_tag)
                .and_then(|end| rest[end..].find('>').map(|gt| &rest[end + gt + 1..]))
                .unwrap_or("");
            continue;
        }
        if matches!(
            name,
            "br" | "p" | "div" | "li" | "tr" | "h1" | "h2" | "h3" | "h4" | "td"
        ) {
            text.push('\n');
        }
    }
    text.push_str(rest);
    decode_entities(&text)
}

/// Named entities Halo's editor produces, and numeric ones (`&#160;`, `&#x2019;`).
fn decode_entities(text: &str) -> String {
    let mut decoded = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        decoded.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let entity = rest
            .find(';')
            .filter(|end| *end <= 10)
            .map(|end| &rest[1..end]);
        let plain = entity.and_then(|name| match name {
            "nbsp" => Some(' '),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "amp" => Some('&'),
            numeric => {
                let number = numeric.strip_prefix('#')?;
                let code = match number.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                    None => number.parse().ok()?,
                };
                char::from_u32(code)
            }
        });
        match (entity, plain) {
            (Some(name), Some(c)) => {
                decoded.push(c);
                rest = &rest[name.len() + 2..];
            }
            _ => {
                decoded.push('&');
                rest = &rest[1..];
            }
        }
    }
    decoded.push_str(rest);
    decoded
}

/// A ticket's details as plain text: the plain `details`, else `details_html` stripped.
pub fn plain_details(ticket: &Ticket) -> Cow<'_, str> {
    match (&ticket.details, &ticket.details_html) {
        (Some(plain), _) if !plain.trim().is_empty() => Cow::Borrowed(plain),
        (_, Some(html)) => Cow::Owned(html_to_text(html)),
        _ => Cow::Borrowed(""),
    }
}

/// Lower-cased, every run of white space (line breaks, no-break spaces) one space, trimmed:
/// the form ticket text and rule words are compared in.
pub fn comparable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text
        .split(|c: char| c.is_whitespace())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&word.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_go_and_blocks_separate_words() {
        assert_eq!(
            html_to_text("<p>Printer&nbsp;down</p><p>Call <b>me</b> &amp; Bob</p>"),
            "\nPrinter down\n\nCall me & Bob\n"
        );
        assert_eq!(html_to_text("a < b"), "a < b");
    }

    #[test]
    fn styles_scripts_comments_and_numeric_entities() {
        let html = "<style>p { color: red }</style><!-- hidden --><p>locked&#160;out</p>\
                    <script>alert('x')</script>it&#x2019;s &copy;";
        assert_eq!(html_to_text(html), "\nlocked\u{a0}out\nit\u{2019}s &copy;");
    }

    #[test]
    fn comparable_text_folds_case_and_space() {
        assert_eq!(comparable("  Locked\u{a0}\n OUT  now "), "locked out now");
        assert_eq!(comparable("İstanbul"), "i\u{307}stanbul");
    }
}
