//! HTML sanitising with `ammonia`, plus image rewriting so that nothing
//! remote is fetched when the console renders a message.

use ammonia::{Builder, UrlRelative};
use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::OnceLock;

/// CSS properties kept in `style` attributes. Anything able to carry a URL
/// (`background`, `background-image`, `list-style`, `content`, …) is left
/// out, and values containing `url(` are dropped wholesale.
const STYLE_PROPERTIES: &[&str] = &[
    "color",
    "background-color",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-weight",
    "text-align",
    "text-decoration",
    "text-indent",
    "line-height",
    "direction",
    "unicode-bidi",
    "margin",
    "margin-top",
    "margin-bottom",
    "margin-left",
    "margin-right",
    "padding",
    "padding-top",
    "padding-bottom",
    "padding-left",
    "padding-right",
    "border",
    "border-top",
    "border-bottom",
    "border-left",
    "border-right",
    "border-color",
    "border-style",
    "border-width",
    "border-collapse",
    "width",
    "height",
    "max-width",
    "min-width",
    "vertical-align",
    "white-space",
    "display",
];

/// Classes and ids mail programs put on quoted history, kept so that the console can fold it:
/// Gmail, Yahoo and Thunderbird quote blocks, and Outlook's reply header (everything from
/// `divRplyFwdMsg` or `appendonsend` onwards is the quoted message).
const QUOTE_CLASSES: &[&str] = &[
    "gmail_quote",
    "gmail_quote_container",
    "gmail_attr",
    "yahoo_quoted",
    "moz-cite-prefix",
];
const QUOTE_IDS: &[&str] = &["divRplyFwdMsg", "appendonsend"];

fn builder() -> &'static Builder<'static> {
    static BUILDER: OnceLock<Builder<'static>> = OnceLock::new();
    BUILDER.get_or_init(|| {
        let mut b = Builder::default();
        b.add_tags(["font"])
            .add_generic_attributes(["style", "dir", "align", "bgcolor", "width", "height"])
            .add_tag_attributes("font", ["color", "face", "size"])
            .add_tag_attributes("td", ["colspan", "rowspan", "valign"])
            .add_tag_attributes("th", ["colspan", "rowspan", "valign"])
            .add_tag_attributes("table", ["cellpadding", "cellspacing", "border"])
            .add_tag_attributes("div", ["id"])
            .add_allowed_classes("div", QUOTE_CLASSES.iter().copied())
            .add_allowed_classes("blockquote", QUOTE_CLASSES.iter().copied())
            .url_schemes(HashSet::from(["http", "https", "mailto", "tel", "cid"]))
            .url_relative(UrlRelative::Deny)
            .link_rel(Some("noopener noreferrer nofollow"))
            .filter_style_properties(STYLE_PROPERTIES.iter().copied().collect())
            .attribute_filter(filter_attribute);
        b
    })
}

fn filter_attribute<'u>(element: &str, attribute: &str, value: &'u str) -> Option<Cow<'u, str>> {
    match (element, attribute) {
        (_, "style") => {
            // Read as a browser might tolerate it: spaces and control characters inside a
            // word such as `ur\x1fl(` are not what the dangerous words are looked for in.
            let lower: String = value
                .chars()
                .filter(|c| !c.is_ascii_whitespace() && !c.is_ascii_control())
                .collect::<String>()
                .to_ascii_lowercase();
            let dangerous = [
                "url(",
                "expression",
                "image-set",
                "@import",
                "\\",
                "behavior",
            ]
            .iter()
            .any(|bad| lower.contains(bad));
            (!dangerous).then_some(Cow::Borrowed(value))
        }
        ("div", "id") => QUOTE_IDS.contains(&value).then_some(Cow::Borrowed(value)),
        ("img", "src") => {
            let lower = value.trim().to_ascii_lowercase();
            let ok = ["http:", "https:", "cid:", "//"]
                .iter()
                .any(|s| lower.starts_with(s));
            ok.then_some(Cow::Borrowed(value))
        }
        _ => Some(Cow::Borrowed(value)),
    }
}

/// Sanitises an HTML body for display in the agent console.
///
/// Removes scripts, styles sheets, frames, objects, forms, event handlers
/// and non-web URL schemes (`javascript:`, `data:` …). Then:
/// * `<img src="http(s)://…">` becomes `<img data-remote-src="…">` so the
///   console loads it only when the agent asks;
/// * remote images 0–1 pixel wide or high (tracking pixels) are removed;
/// * `<img src="cid:XYZ">` becomes `<img data-cid="XYZ">`, for the console
///   to map onto the stored inline attachment with that `Content-ID`;
/// * the `dir` and `lang` of `<html>`/`<body>` (or `dir="rtl"` for text that
///   reads right to left) move onto a wrapping `<div>`;
/// * quote blocks keep the classes and ids that mark them (Gmail, Outlook,
///   Yahoo, Thunderbird), so the console can fold quoted history.
pub fn sanitize_html(html: &str) -> String {
    let clean = builder().clean(html).to_string();
    crate::direction::wrap(html, rewrite_images(clean.trim()))
}

/// Walks ammonia's serialised output (every `<` outside a tag is escaped,
/// attribute values are double-quoted with `"` escaped) and rewrites `img`
/// tags.
fn rewrite_images(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let tag_len = tag_length(&rest[lt..]);
        let tag = &rest[lt..lt + tag_len];
        if is_img(tag) {
            if let Some(new_tag) = rewrite_img(tag) {
                out.push_str(&new_tag);
            }
        } else {
            out.push_str(tag);
        }
        rest = &rest[lt + tag_len..];
    }
    out.push_str(rest);
    out
}

/// Length of the tag starting at `s[0] == '<'`, honouring quoted values.
fn tag_length(s: &str) -> usize {
    let mut in_quote = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            '"' => in_quote = !in_quote,
            '>' if !in_quote => return i + 1,
            _ => {}
        }
    }
    s.len()
}

fn is_img(tag: &str) -> bool {
    let b = tag.as_bytes();
    b.len() > 4 && b[1..4].eq_ignore_ascii_case(b"img") && matches!(b[4], b' ' | b'>' | b'/')
}

/// Parses `name="value"` pairs of a serialised tag.
fn attributes(tag: &str) -> Vec<(&str, Option<&str>)> {
    let inner = tag[4..].trim_end_matches('>').trim_end_matches('/');
    let mut attrs = Vec::new();
    let mut rest = inner.trim_start();
    while !rest.is_empty() {
        let name_end = rest.find(['=', ' ']).unwrap_or(rest.len());
        let name = &rest[..name_end];
        rest = &rest[name_end..];
        let mut value = None;
        if let Some(after_eq) = rest.strip_prefix("=\"") {
            let close = after_eq.find('"').unwrap_or(after_eq.len());
            value = Some(&after_eq[..close]);
            rest = after_eq.get(close + 1..).unwrap_or("");
        } else if let Some(after_eq) = rest.strip_prefix('=') {
            let end = after_eq.find(' ').unwrap_or(after_eq.len());
            value = Some(&after_eq[..end]);
            rest = &after_eq[end..];
        }
        if !name.is_empty() {
            attrs.push((name, value));
        }
        rest = rest.trim_start();
    }
    attrs
}

fn is_tiny(v: Option<&str>) -> bool {
    v.map(|s| s.trim().trim_end_matches("px").trim())
        .is_some_and(|s| s == "0" || s == "1")
}

/// A `cid:` reference names a Content-ID (RFC 2392: an addr-spec such as `logo@x`): printable
/// ASCII without spaces, quotes, angle brackets or a colon — so no value that reads as another
/// URL scheme (`cid:javascript:…`) survives into `data-cid`.
fn is_content_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'<' | b'>' | b':' | b'\\'))
}

/// Rewritten `img` tag, or `None` to drop it (tracking pixel).
fn rewrite_img(tag: &str) -> Option<String> {
    let attrs = attributes(tag);
    let get = |n: &str| attrs.iter().find(|(k, _)| *k == n).and_then(|(_, v)| *v);
    let src = get("src").unwrap_or_default().trim();
    let remote = !src.to_ascii_lowercase().starts_with("cid:") && !src.is_empty();
    if remote && (is_tiny(get("width")) || is_tiny(get("height"))) {
        return None;
    }
    let mut out = String::from("<img");
    for (name, value) in &attrs {
        let Some(value) = value else { continue };
        let name = match *name {
            "src" if remote => "data-remote-src",
            "src" if src.get(4..).is_some_and(is_content_id) => {
                out.push_str(&format!(" data-cid=\"{}\"", &src[4..]));
                continue;
            }
            "src" => continue,
            other => other,
        };
        out.push_str(&format!(" {name}=\"{value}\""));
    }
    out.push('>');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_images_are_deferred_and_cid_images_are_mapped() {
        let out = sanitize_html(
            r#"<p>x<img src="https://e.com/a.png" alt="a"><img src="cid:logo@x"></p>"#,
        );
        assert!(
            out.contains(r#"data-remote-src="https://e.com/a.png""#),
            "{out}"
        );
        assert!(out.contains(r#"data-cid="logo@x""#), "{out}");
        assert!(!out.contains(" src="), "{out}");
    }

    #[test]
    fn a_cid_reference_that_is_no_content_id_is_dropped() {
        let out = sanitize_html("<img src=\"cid:java\tscript:alert(1)\"><img src=\"cid:a b\">");
        assert!(!out.contains("data-cid"), "{out}");
        assert!(!out.contains("script"), "{out}");
    }

    #[test]
    fn a_greater_than_sign_inside_an_attribute_does_not_split_the_tag() {
        let out = sanitize_html(
            r#"<img alt="a>b" src="http://x.example/i.png"><a title="<img src=http://y>" href="https://ok.example/">ok</a>"#,
        );
        assert!(
            out.contains(r#"<img alt="a&gt;b" data-remote-src="http://x.example/i.png">"#),
            "{out}"
        );
        assert!(out.contains(r#"title="&lt;img src=http://y&gt;""#), "{out}");
    }

    #[test]
    fn a_persian_body_keeps_its_direction_and_language() {
        let out = sanitize_html(
            r#"<html><body dir="rtl" lang="fa"><p onclick="x()">سلام، سفارش کجاست؟</p></body></html>"#,
        );
        assert_eq!(
            out,
            r#"<div dir="rtl" lang="fa"><p>سلام، سفارش کجاست؟</p></div>"#
        );
        let out = sanitize_html("<p>سلام! <b>ممنون</b></p>");
        assert!(out.starts_with(r#"<div dir="rtl">"#), "{out}");
    }

    #[test]
    fn quote_markers_survive_and_other_classes_and_ids_do_not() {
        let out = sanitize_html(
            r#"<div class="x">a</div><div class="gmail_quote evil">q<blockquote class="gmail_quote" id="q">b</blockquote></div><div id="divRplyFwdMsg">From</div><div id="main">c</div>"#,
        );
        assert!(out.contains(r#"<div class="gmail_quote">"#), "{out}");
        assert!(out.contains(r#"<blockquote class="gmail_quote">"#), "{out}");
        assert!(out.contains(r#"<div id="divRplyFwdMsg">"#), "{out}");
        assert!(
            !out.contains("evil") && !out.contains("main") && !out.contains("\"x\""),
            "{out}"
        );
    }

    #[test]
    fn styles_hiding_url_behind_control_characters_are_removed() {
        let out = sanitize_html("<p style=\"color:red;background:ur\u{1f}l(x)\">a</p>");
        assert!(!out.contains("style"), "{out}");
    }

    #[test]
    fn styles_carrying_urls_are_removed() {
        let out = sanitize_html(
            r#"<p style="color: red; background-image: url(http://t/x)">a</p><p style="color:blue">b</p>"#,
        );
        assert!(!out.contains("url("), "{out}");
        assert!(out.contains("color:blue"), "{out}");
    }
}
