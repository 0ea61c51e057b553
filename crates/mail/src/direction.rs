//! The writing direction and language of an HTML email.
//!
//! Sanitising works on a fragment, so `dir` and `lang` written on `<html>` or `<body>` (as
//! Outlook and Gmail do for Persian mail) would be lost with those tags. [`wrap`] reads them from
//! the original markup and puts them on a wrapper `<div>`; without a `dir`, a body whose first
//! strong letter is right-to-left gets `dir="rtl"`, so punctuation lands at the right end.

/// `(dir, lang)` from the first `<body>` tag, then the `<html>` tag, of the original markup.
pub fn document_dir_lang(html: &str) -> (Option<String>, Option<String>) {
    let mut dir = None;
    let mut lang = None;
    for tag in ["body", "html"] {
        if let Some(attrs) = opening_tag(html, tag) {
            dir = dir.or_else(|| attribute(attrs, "dir").and_then(clean_dir));
            lang = lang.or_else(|| attribute(attrs, "lang").and_then(clean_lang));
        }
    }
    (dir, lang)
}

/// Wraps sanitised HTML in a `<div>` carrying the document's `dir`/`lang` (or `dir="rtl"` when
/// the text reads right to left); returns it unchanged when there is nothing to carry.
pub fn wrap(original: &str, sanitized: String) -> String {
    let (dir, lang) = document_dir_lang(original);
    let dir = dir.or_else(|| crate::is_rtl(&visible_text(&sanitized)).then(|| "rtl".to_string()));
    if dir.is_none() && lang.is_none() {
        return sanitized;
    }
    let mut out = String::with_capacity(sanitized.len() + 40);
    out.push_str("<div");
    if let Some(d) = dir {
        out.push_str(&format!(" dir=\"{d}\""));
    }
    if let Some(l) = lang {
        out.push_str(&format!(" lang=\"{l}\""));
    }
    out.push('>');
    out.push_str(&sanitized);
    out.push_str("</div>");
    out
}

/// The attribute text of the first `<name …>` tag (case-insensitive), without the brackets.
fn opening_tag<'a>(html: &'a str, name: &str) -> Option<&'a str> {
    let lower = html.to_ascii_lowercase();
    let needle = format!("<{name}");
    let mut from = 0;
    while let Some(pos) = lower[from..].find(&needle) {
        let start = from + pos + needle.len();
        let next = lower.as_bytes().get(start).copied();
        if matches!(next, Some(b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/')) {
            let end = tag_end(&html[start..])?;
            return Some(&html[start..start + end]);
        }
        from = start;
    }
    None
}

/// Offset of the `>` closing a tag, honouring quoted values.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

/// The value of `name` among a tag's attributes (quoted either way or bare).
fn attribute<'a>(attrs: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = attrs;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '/');
        if rest.is_empty() {
            return None;
        }
        let name_end = rest
            .find(|c: char| c.is_ascii_whitespace() || c == '=')
            .unwrap_or(rest.len());
        let key = &rest[..name_end];
        rest = rest[name_end..].trim_start();
        let mut value = "";
        if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (v, tail) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let body = &after[1..];
                    let close = body.find(q).unwrap_or(body.len());
                    (&body[..close], body.get(close + 1..).unwrap_or(""))
                }
                _ => {
                    let end = after
                        .find(|c: char| c.is_ascii_whitespace())
                        .unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            value = v;
            rest = tail;
        }
        if key.eq_ignore_ascii_case(name) {
            return Some(value);
        }
    }
}

fn clean_dir(v: &str) -> Option<String> {
    let v = v.trim().to_ascii_lowercase();
    matches!(v.as_str(), "rtl" | "ltr" | "auto").then_some(v)
}

fn clean_lang(v: &str) -> Option<String> {
    let v = v.trim();
    let ok =
        !v.is_empty() && v.len() <= 35 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    ok.then(|| v.to_string())
}

/// The text outside tags of serialised HTML (entities left as they are: only letters matter).
fn visible_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_and_lang_of_body_or_html_are_found_with_any_quoting() {
        let html = r#"<HTML lang='fa-IR'><head><title>x</title></head><Body class="a" DIR=rtl>سلام</Body></HTML>"#;
        assert_eq!(
            document_dir_lang(html),
            (Some("rtl".into()), Some("fa-IR".into()))
        );
        assert_eq!(document_dir_lang("<bodyx dir=rtl>"), (None, None));
        assert_eq!(
            document_dir_lang(r#"<body dir="sideways" lang="fa&quot;>">"#),
            (None, None)
        );
    }

    #[test]
    fn persian_text_without_dir_is_wrapped_right_to_left() {
        assert_eq!(
            wrap("<p>سلام، خوبید؟</p>", "<p>سلام، خوبید؟</p>".into()),
            r#"<div dir="rtl"><p>سلام، خوبید؟</p></div>"#
        );
        assert_eq!(wrap("<p>Hello</p>", "<p>Hello</p>".into()), "<p>Hello</p>");
        assert_eq!(
            wrap(
                r#"<body dir="ltr" lang="en">۱۲ Hello</body>"#,
                "۱۲ Hello".into()
            ),
            r#"<div dir="ltr" lang="en">۱۲ Hello</div>"#
        );
    }
}
