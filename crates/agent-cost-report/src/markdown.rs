//! Text from commits (subjects, author names, model names) made safe for a Markdown table
//! cell, in pull-request comments and digests that bots post: it stays one cell and cannot add
//! links, images, emphasis, HTML or mentions, whoever wrote the commit.

/// `text` escaped for one cell of a GitHub- or GitLab-flavoured Markdown table: the
/// punctuation of links, images, emphasis, code and autolinks backslash-escaped, `<`, `>` and `&` as entities, line breaks as spaces, and
/// `@` followed by a zero-width space so that no one is mentioned.
pub fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '|' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '!' | '#' | '~' | ':' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '@' => out.push_str("@\u{200b}"),
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn links_images_mentions_and_html_stay_text() {
        assert_eq!(
            cell("![t](https://evil.example/p.png) @org/team <b>x</b> a|b"),
            "\\!\\[t\\]\\(https\\://evil.example/p.png\\) @\u{200b}org/team &lt;b&gt;x&lt;/b&gt; a\\|b"
        );
        assert_eq!(cell("Fix cart\ntotal"), "Fix cart total");
        assert_eq!(cell("plain words"), "plain words");
    }
}
