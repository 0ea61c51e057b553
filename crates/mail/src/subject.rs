//! Subject-line helpers: conversation tokens and reply prefixes.

/// Reply/forward prefixes, lowercase, without the colon.
const PREFIXES: &[&str] = &[
    "re",
    "fw",
    "fwd",
    "aw",
    "wg",
    "sv",
    "vs",
    "antw",
    "tr",
    "rif",
    "ref",
    "res",
    "enc",
    "odp",
    "ynt",
    "رد",
    "پاسخ",
    "جواب",
    "بازارسال",
    "هدایت",
    "فوروارد",
];

/// Finds the conversation token `[#1234]` in a subject and returns `1234`.
///
/// The last well-formed token wins (a forwarded thread may carry an older
/// one first). Tokens that do not fit an `i64` are ignored.
pub fn conversation_token(subject: &str) -> Option<i64> {
    token_spans(subject).last().map(|&(_, _, n)| n)
}

/// `(start, end, number)` of every `[#digits]` token.
fn token_spans(subject: &str) -> Vec<(usize, usize, i64)> {
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(pos) = subject[from..].find("[#") {
        let start = from + pos;
        let digits_start = start + 2;
        let digits_len = subject[digits_start..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        let close = digits_start + digits_len;
        if digits_len > 0 && subject.as_bytes().get(close) == Some(&b']') {
            if let Ok(n) = subject[digits_start..close].parse::<i64>() {
                spans.push((start, close + 1, n));
            }
        }
        from = start + 2;
    }
    spans
}

/// Removes any number of leading reply/forward prefixes: `Re:`, `RE:`,
/// `Fwd:`, `AW:`, `SV:`, `Re[2]:`, `Re(3):`, Persian `پاسخ:`, `رد:`,
/// `هدایت:` …, including full-width and Arabic colons. Bracketed list tags
/// such as `[list]` before a prefix are kept.
pub fn strip_reply_prefixes(subject: &str) -> String {
    let mut s = subject.trim();
    while let Some(rest) = strip_one(s) {
        s = rest.trim_start();
    }
    s.trim().to_string()
}

fn strip_one(s: &str) -> Option<&str> {
    PREFIXES
        .iter()
        .find_map(|p| strip_prefix_ci(s, p).and_then(after_prefix))
}

/// Case-insensitive `strip_prefix`, comparing char by char so that byte
/// offsets always fall on char boundaries of `s`.
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let mut idx = 0;
    let mut chars = s.char_indices();
    for pc in prefix.chars() {
        let (_, c) = chars.next()?;
        if !c.to_lowercase().eq(pc.to_lowercase()) {
            return None;
        }
        idx += c.len_utf8();
    }
    Some(&s[idx..])
}

/// After a prefix word: optional `[n]`/`(n)` counter, optional spaces, then
/// a colon. Returns what follows the colon.
fn after_prefix(rest: &str) -> Option<&str> {
    let mut r = rest;
    for (open, close) in [('[', ']'), ('(', ')')] {
        if let Some(inner) = r.strip_prefix(open) {
            let end = inner.find(close)?;
            if end == 0 || !inner[..end].bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            r = &inner[end + close.len_utf8()..];
            break;
        }
    }
    let r = r.trim_start_matches([' ', '\u{a0}']);
    ["：", ":", "؛"]
        .iter()
        .find_map(|colon| r.strip_prefix(colon))
}

/// The subject with reply prefixes and every `[#n]` token removed, spaces
/// collapsed: what a conversation is titled.
pub fn base_subject(subject: &str) -> String {
    let mut without = String::with_capacity(subject.len());
    let mut last = 0;
    for (start, end, _) in token_spans(subject) {
        without.push_str(&subject[last..start]);
        without.push(' ');
        last = end;
    }
    without.push_str(&subject[last..]);
    let collapsed = without.split_whitespace().collect::<Vec<_>>().join(" ");
    strip_reply_prefixes(&collapsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_found_anywhere_and_the_last_one_wins() {
        assert_eq!(conversation_token("Re: help [#1234]"), Some(1234));
        assert_eq!(conversation_token("[#1] fwd [#22] x"), Some(22));
        assert_eq!(conversation_token("[#] [#12a] [# 3]"), None);
        assert_eq!(conversation_token("[#99999999999999999999]"), None);
        assert_eq!(conversation_token("[#[#7]"), Some(7));
    }

    #[test]
    fn prefixes_in_many_languages_are_stripped() {
        assert_eq!(strip_reply_prefixes("Re: RE: Fwd: hello"), "hello");
        assert_eq!(strip_reply_prefixes("AW: Re[2]: Re(3): x"), "x");
        assert_eq!(strip_reply_prefixes("پاسخ: رد: سفارش"), "سفارش");
        assert_eq!(strip_reply_prefixes("Re : spaced"), "spaced");
        assert_eq!(strip_reply_prefixes("Regarding: x"), "Regarding: x");
        assert_eq!(strip_reply_prefixes("Re:"), "");
        // Lowercasing changes byte lengths here; must not split a char.
        assert_eq!(strip_reply_prefixes("ẞİre: x"), "ẞİre: x");
        assert_eq!(strip_reply_prefixes("RE: İstanbul"), "İstanbul");
    }

    #[test]
    fn base_subject_drops_tokens_and_prefixes() {
        assert_eq!(base_subject("Re: Order late [#42]"), "Order late");
        assert_eq!(base_subject("[#42] Re: Order late"), "Order late");
    }
}
