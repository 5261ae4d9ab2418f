//! Plain, comparable text: HTML to text, and the normalised form rules and sentiment
//! compare words in. A leaf: it knows no type of this crate.

/// Strips tags (and the content of `<style>` and `<script>`, and comments), decodes
/// entities, and puts a line break for block tags so words on either side never run
/// together. Linear in the input: every search consumes what it scans, or ends the text.
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
            rest = find_ignoring_case(rest, &format!("</{name}"))
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

/// Where `needle` (ASCII, lower case) first occurs in `haystack`, ASCII case ignored,
/// without copying the haystack.
fn find_ignoring_case(haystack: &str, needle: &str) -> Option<usize> {
    let needle = needle.as_bytes();
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle))
}

/// The longest entity looked for after `&`, `;` included (`&#x1F600;`).
const LONGEST_ENTITY: usize = 10;

/// Named entities Halo's editor produces, and numeric ones (`&#160;`, `&#x2019;`).
fn decode_entities(text: &str) -> String {
    let mut decoded = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        decoded.push_str(&rest[..amp]);
        rest = &rest[amp..];
        // Only the next few bytes are searched: a `&` with no `;` near it costs nothing.
        let entity = rest.as_bytes()[..rest.len().min(LONGEST_ENTITY + 1)]
            .iter()
            .position(|b| *b == b';')
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

/// Lower-cased, every run of white space (line breaks, no-break spaces) one space, trimmed:
/// the form ticket text and rule words are compared in. It runs over every ticket body for
/// every decision, so ASCII (nearly all of a ticket) takes a byte-at-a-time path and only
/// other characters are decoded.
pub fn comparable(text: &str) -> String {
    if !text.is_ascii() {
        return comparable_unicode(text);
    }
    let mut bytes = text.as_bytes().to_ascii_lowercase();
    // Squeeze white space in place: keep a space only between two words.
    let mut kept = 0;
    let mut after_word = false;
    for read in 0..bytes.len() {
        let byte = bytes[read];
        if is_ascii_space(byte) {
            if after_word {
                bytes[kept] = b' ';
                kept += 1;
            }
            after_word = false;
        } else {
            bytes[kept] = byte;
            kept += 1;
            after_word = true;
        }
    }
    if kept > 0 && bytes[kept - 1] == b' ' {
        kept -= 1;
    }
    bytes.truncate(kept);
    String::from_utf8(bytes).expect("ASCII in, ASCII out")
}

/// [`comparable`] for text with characters beyond ASCII.
fn comparable_unicode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split(char::is_whitespace).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        // Per word, so `str::to_lowercase` applies the final-sigma rule ("ΟΔΟΣ" → "οδος").
        out.push_str(&word.to_lowercase());
    }
    out
}

/// The ASCII characters `char::is_whitespace` accepts.
fn is_ascii_space(byte: u8) -> bool {
    matches!(byte, b'\t'..=b'\r' | b' ')
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
        assert_eq!(comparable("ΟΔΟΣ ΟΔΟΣ"), "οδος οδος");
        assert_eq!(comparable("a\u{0b}\u{0c}\rB\u{2003}É\u{3000}"), "a b é");
        assert_eq!(comparable(" \tAB  c\r\n"), "ab c");
        assert_eq!(comparable(" \t "), "");
    }
}
