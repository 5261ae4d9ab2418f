//! Plain text from Halo's HTML ticket bodies, for matching.

/// Strips tags, decodes the common entities and collapses blank runs; block tags become
/// line breaks so words on either side never run together.
pub fn html_to_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            rest = &rest[open..];
            break;
        };
        let tag = rest[open + 1..open + close]
            .trim_start_matches('/')
            .to_ascii_lowercase();
        let name = tag
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("");
        if matches!(
            name,
            "br" | "p" | "div" | "li" | "tr" | "h1" | "h2" | "h3" | "h4" | "td"
        ) {
            text.push('\n');
        }
        rest = &rest[open + close + 1..];
    }
    text.push_str(rest);
    decode_entities(&text)
}

fn decode_entities(text: &str) -> String {
    const ENTITIES: [(&str, &str); 7] = [
        ("&nbsp;", " "),
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", "\""),
        ("&#39;", "'"),
        ("&apos;", "'"),
        ("&amp;", "&"),
    ];
    let mut decoded = text.to_string();
    for (entity, plain) in ENTITIES {
        if decoded.contains(entity) {
            decoded = decoded.replace(entity, plain);
        }
    }
    decoded
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
}
