//! Search across what was said: conversation subjects, every message's text (email bodies,
//! chat messages, call and fax summaries, internal notes) and customers. Queries are folded in
//! Rust exactly as the stored text was (`switchboard_text::search_fold`: Persian/Arabic letter
//! forms, digits, ZWNJ), then matched word by word by the backend's own full-text engine
//! (`store::fulltext`).

pub mod rank;
pub mod routes;

pub use routes::router;

/// At most this many words of a query are matched.
const MAX_TERMS: usize = 16;

/// The words of a query, folded: letters and digits only, each at most once.
pub fn terms(q: &str) -> Vec<String> {
    let folded = switchboard_text::search_fold(q);
    let mut out: Vec<String> = Vec::new();
    for word in folded.split(|c: char| !c.is_alphanumeric()) {
        if !word.is_empty() && !out.iter().any(|w| w == word) && out.len() < MAX_TERMS {
            out.push(word.to_string());
        }
    }
    out
}

/// Spans (byte ranges) of the words of `text`: runs of letters, digits and the joiners and
/// marks that folding removes, so «نمی‌کند» is one word as it is once folded.
fn words(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let in_word = c.is_alphanumeric() || is_joiner_or_mark(c);
        match (in_word, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans
}

fn is_joiner_or_mark(c: char) -> bool {
    matches!(
        c,
        '\u{200C}' | '\u{200D}' | '\u{064B}'..='\u{065F}' | '\u{0670}'
    )
}

/// How many characters of context a snippet keeps before its first match, and in all.
const BEFORE: usize = 60;
const WIDTH: usize = 200;

/// A short piece of `text` around its first word matching `terms`, HTML-escaped, with every
/// matching word wrapped in `<mark>`. Falls back to the text's beginning.
pub fn snippet(text: &str, terms: &[String]) -> String {
    let spans = words(text);
    let is_hit = |&(s, e): &(usize, usize)| {
        let folded = switchboard_text::search_fold(&text[s..e]);
        terms.contains(&folded)
    };
    let first = spans.iter().find(|s| is_hit(s)).map(|s| s.0).unwrap_or(0);
    let start = back_chars(text, first, BEFORE);
    let end = forward_chars(text, start, WIDTH);
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let mut at = start;
    for span in spans.iter().filter(|(s, e)| *s >= start && *e <= end) {
        if is_hit(span) {
            out.push_str(&escape(&text[at..span.0]));
            out.push_str("<mark>");
            out.push_str(&escape(&text[span.0..span.1]));
            out.push_str("</mark>");
            at = span.1;
        }
    }
    out.push_str(&escape(&text[at..end]));
    if end < text.len() {
        out.push('…');
    }
    out
}

/// The byte index `n` characters before `from` (moved on to a word start where possible).
fn back_chars(text: &str, from: usize, n: usize) -> usize {
    let start = text[..from]
        .char_indices()
        .rev()
        .nth(n.saturating_sub(1))
        .map(|(i, _)| i)
        .unwrap_or(0);
    if start == 0 {
        return 0;
    }
    match text[start..from].find(char::is_whitespace) {
        Some(ws) => start + ws + 1,
        None => start,
    }
}

/// The byte index `n` characters after `from` (or the end).
fn forward_chars(text: &str, from: usize, n: usize) -> usize {
    text[from..]
        .char_indices()
        .nth(n)
        .map(|(i, _)| from + i)
        .unwrap_or(text.len())
}

/// HTML-escaped, on one line.
fn escape(s: &str) -> String {
    switchboard_mail::escape_html(s).replace(['\n', '\r', '\t'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_folded_words() {
        assert_eq!(terms("كد رهگيري: ۴۴۷۸۱۲!"), vec!["کد", "رهگیری", "447812"]);
        assert_eq!(terms("نمی\u{200C}کند"), vec!["نمیکند"]);
        assert_eq!(terms("a a  b"), vec!["a", "b"]);
        assert!(terms(" -- ").is_empty());
    }

    #[test]
    fn snippet_marks_the_words_in_their_original_spelling() {
        let s = snippet("سلام، كد رهگيري من ۴۴۷۸۱۲ است <b>", &terms("کد 447812"));
        assert_eq!(
            s,
            "سلام، <mark>كد</mark> رهگيري من <mark>۴۴۷۸۱۲</mark> است &lt;b&gt;"
        );
        // A word containing the term is not a match.
        assert_eq!(snippet("tracking", &terms("track")), "tracking");
    }

    #[test]
    fn snippet_cuts_around_the_first_match() {
        let text = format!("{} needle {}", "hay ".repeat(100), "straw ".repeat(100));
        let s = snippet(&text, &terms("needle"));
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("<mark>needle</mark>"), "{s}");
        assert!(s.chars().count() < WIDTH + 20, "{s}");
    }
}
