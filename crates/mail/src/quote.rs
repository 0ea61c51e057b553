//! Folding away quoted history in replies.

use ammonia::Builder;
use std::sync::OnceLock;

/// Line endings of an attribution ("On … wrote:"), compared after removing
/// spaces before the colon and lowercasing.
const WROTE_SUFFIXES: &[&str] = &[
    "wrote:",
    "writes:",
    "aécrit:",
    "schrieb:",
    "escribió:",
    "نوشت:",
    "نوشته:",
    "نوشتند:",
    "كتب:",
    "کتب:",
    "yazdı:",
    "scrisse:",
    "escreveu:",
];

/// Line beginnings of an attribution header.
const ATTRIBUTION_PREFIXES: &[&str] = &["on ", "le ", "am ", "el ", "em ", "در ", "في ", "فی "];

/// Outlook-style header block: a "From:" line followed closely by "Sent:".
const FROM_LABELS: &[&str] = &["from:", "از:", "de:", "von:", "من:"];
const SENT_LABELS: &[&str] = &[
    "sent:",
    "date:",
    "ارسال شده:",
    "ارسال:",
    "تاریخ:",
    "envoyé:",
    "gesendet:",
    "enviado:",
];

/// Removes quoted history from a plain-text body:
/// * lines starting with `>`;
/// * attribution lines ("On … wrote:", «در … نوشت:», and a few other
///   languages), together with the quoted block that follows them; when
///   no `>` lines follow, everything after the attribution is dropped;
/// * everything from an Outlook `-----Original Message-----` separator or a
///   `From: … Sent: …` header block onwards.
///
/// Replies written below or between quotes are kept. When nothing would be
/// left, the original text is returned trimmed.
pub fn fold_quotes(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = clean(lines[i]);
        if line.starts_with('>') {
            i += 1;
            continue;
        }
        if let Some(span) = attribution_span(&lines, i) {
            let next = lines[i + span..]
                .iter()
                .map(|l| clean(l))
                .find(|l| !l.is_empty());
            if next.is_none_or(|l| l.starts_with('>')) {
                i += span;
                continue;
            }
            let first = clean(lines[i]).to_lowercase();
            if ATTRIBUTION_PREFIXES.iter().any(|p| first.starts_with(p)) {
                break;
            }
        }
        if is_original_message_separator(&line) || is_outlook_header(&lines, i) {
            break;
        }
        out.push(lines[i]);
        i += 1;
    }
    while out.last().is_some_and(|l| is_filler(&clean(l))) {
        out.pop();
    }
    let folded = out.join("\n").trim().to_string();
    if folded.is_empty() {
        text.trim().to_string()
    } else {
        folded
    }
}

/// Trims and removes bidi control marks (Gmail wraps Persian attributions
/// in U+202B … U+202C).
fn clean(line: &str) -> String {
    line.chars()
        .filter(|c| !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
        .collect::<String>()
        .trim()
        .to_string()
}

fn is_filler(line: &str) -> bool {
    line.chars()
        .all(|c| c == '_' || c == '-' || c.is_whitespace())
}

fn ends_with_wrote(line: &str) -> bool {
    let compact: String = line
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    line.chars().count() <= 300 && WROTE_SUFFIXES.iter().any(|s| compact.ends_with(s))
}

/// Number of lines (1 or 2) of an attribution starting at `i`.
fn attribution_span(lines: &[&str], i: usize) -> Option<usize> {
    let line = clean(lines[i]);
    if line.is_empty() {
        return None;
    }
    if ends_with_wrote(&line) {
        return Some(1);
    }
    let lower = line.to_lowercase();
    let next = lines.get(i + 1).map(|l| clean(l)).unwrap_or_default();
    (ATTRIBUTION_PREFIXES.iter().any(|p| lower.starts_with(p)) && ends_with_wrote(&next))
        .then_some(2)
}

fn is_original_message_separator(line: &str) -> bool {
    let lower = line.to_lowercase();
    lower.starts_with("-----")
        && [
            "original message",
            "پیام اصلی",
            "ursprüngliche nachricht",
            "message d'origine",
        ]
        .iter()
        .any(|m| lower.contains(m))
}

/// Label of a header-like line, lowercased, with `*` (bold in text
/// conversions) and spaces before the colon removed.
fn label(line: &str) -> String {
    let l = clean(line).trim_start_matches('*').to_lowercase();
    match l.split_once(':') {
        Some((name, _)) if name.chars().count() <= 20 => {
            format!("{}:", name.trim().trim_end_matches('*').trim())
        }
        _ => String::new(),
    }
}

fn is_outlook_header(lines: &[&str], i: usize) -> bool {
    if !FROM_LABELS.contains(&label(lines[i]).as_str()) {
        return false;
    }
    lines[i + 1..]
        .iter()
        .take(4)
        .any(|l| SENT_LABELS.contains(&label(l).as_str()))
}

/// Removes `<blockquote>` elements (Gmail, Apple Mail, Thunderbird quote
/// their history in them) from HTML before text extraction.
pub(crate) fn strip_html_quotes(html: &str) -> String {
    static BUILDER: OnceLock<Builder<'static>> = OnceLock::new();
    BUILDER
        .get_or_init(|| {
            let mut b = Builder::default();
            let mut attributes = b.clone_tag_attributes();
            attributes.remove("blockquote");
            b.rm_tags(["blockquote"])
                .tag_attributes(attributes)
                .add_clean_content_tags(["blockquote"]);
            b
        })
        .clean(html)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bottom_posted_replies_are_kept() {
        let text = "On Mon, 1 Jan 2024, Ali <ali@example.com> wrote:\n> question?\n\nmy answer";
        assert_eq!(fold_quotes(text), "my answer");
    }

    #[test]
    fn a_wrapped_two_line_attribution_is_recognised() {
        let text = "Thanks!\n\nOn Mon, Jan 1, 2024 at 10:00 AM Support Team <support@example.com>\nwrote:\n> old";
        assert_eq!(fold_quotes(text), "Thanks!");
    }

    #[test]
    fn a_fully_quoted_text_is_returned_as_is() {
        assert_eq!(fold_quotes("> only quote\n"), "> only quote");
    }
}
