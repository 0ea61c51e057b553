//! Base text direction detection.

/// The base direction of a piece of text, as used for HTML `dir`
/// attributes so that Persian messages render right-to-left and English ones
/// left-to-right inside the same conversation view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Left-to-right (Latin, Cyrillic, CJK, …).
    Ltr,
    /// Right-to-left (Persian, Arabic, Hebrew, Syriac, Thaana, …).
    Rtl,
    /// No strong directional character: digits, punctuation, emoji, empty.
    Neutral,
}

impl Direction {
    /// The value for an HTML `dir` attribute: `"ltr"`, `"rtl"`, or `"auto"`
    /// for [`Direction::Neutral`] (letting the browser decide).
    pub fn as_html_dir(&self) -> &'static str {
        match self {
            Direction::Ltr => "ltr",
            Direction::Rtl => "rtl",
            Direction::Neutral => "auto",
        }
    }
}

/// Scripts written right-to-left: Hebrew, Arabic, Syriac, Thaana, NKo,
/// Samaritan, Mandaic and the Arabic extension blocks, their presentation
/// forms, and the right-to-left scripts of the supplementary planes.
fn is_rtl_script(c: char) -> bool {
    matches!(
        c,
        '\u{0590}'..='\u{08FF}'
            | '\u{FB1D}'..='\u{FDFF}'
            | '\u{FE70}'..='\u{FEFE}'
            | '\u{10800}'..='\u{10FFF}'
            | '\u{1E800}'..='\u{1EFFF}'
    )
}

/// Hebrew points and Arabic harakat/Quranic marks: Unicode calls them
/// alphabetic, but for bidi they are non-spacing marks, not strong letters.
fn is_rtl_combining_mark(c: char) -> bool {
    matches!(
        c,
        '\u{0591}'..='\u{05BD}'
            | '\u{05BF}'
            | '\u{05C1}'..='\u{05C2}'
            | '\u{05C4}'..='\u{05C5}'
            | '\u{05C7}'
            | '\u{0610}'..='\u{061A}'
            | '\u{064B}'..='\u{065F}'
            | '\u{0670}'
            | '\u{06D6}'..='\u{06DC}'
            | '\u{06DF}'..='\u{06E4}'
            | '\u{06E7}'..='\u{06E8}'
            | '\u{06EA}'..='\u{06ED}'
    )
}

/// Classification of one character for "first strong character" detection.
enum Class {
    Strong(Direction),
    IsolateStart,
    IsolateEnd,
    Weak,
}

fn classify(c: char) -> Class {
    match c {
        // Explicit marks are strong characters themselves.
        '\u{200E}' => Class::Strong(Direction::Ltr), // LRM
        '\u{200F}' | '\u{061C}' => Class::Strong(Direction::Rtl), // RLM, ALM
        '\u{2066}'..='\u{2068}' => Class::IsolateStart,
        '\u{2069}' => Class::IsolateEnd,
        // Letters only: digits (including Persian ones), punctuation and
        // symbols inside the RTL blocks are not strong.
        c if is_rtl_combining_mark(c) => Class::Weak,
        c if c.is_alphabetic() && is_rtl_script(c) => Class::Strong(Direction::Rtl),
        c if c.is_alphabetic() => Class::Strong(Direction::Ltr),
        _ => Class::Weak,
    }
}

/// Detects the direction of `s` from its first strong directional
/// character, as the Unicode bidi algorithm does for a paragraph (rule P2):
/// a letter of a right-to-left script (or RLM/ALM) gives [`Direction::Rtl`],
/// any other letter (or LRM) gives [`Direction::Ltr`], and text with neither
/// gives [`Direction::Neutral`]. Digits and punctuation are skipped, so
/// "۱۲ سفارش" is RTL, and text inside directional isolates (U+2066–U+2069)
/// is ignored.
///
/// ```
/// use switchboard_text::{detect_direction, Direction};
/// assert_eq!(detect_direction("سلام"), Direction::Rtl);
/// assert_eq!(detect_direction("123 hello"), Direction::Ltr);
/// assert_eq!(detect_direction("123"), Direction::Neutral);
/// ```
pub fn detect_direction(s: &str) -> Direction {
    let mut isolate_depth: usize = 0;
    for c in s.chars() {
        match classify(c) {
            Class::IsolateStart => isolate_depth += 1,
            Class::IsolateEnd => isolate_depth = isolate_depth.saturating_sub(1),
            Class::Strong(d) if isolate_depth == 0 => return d,
            Class::Strong(_) | Class::Weak => {}
        }
    }
    Direction::Neutral
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persian_text_is_rtl() {
        assert_eq!(detect_direction("سلام، وقت بخیر"), Direction::Rtl);
        assert_eq!(detect_direction("می‌خواهم"), Direction::Rtl);
    }

    #[test]
    fn arabic_hebrew_syriac_and_thaana_are_rtl() {
        for s in ["مرحبا", "שלום", "ܫܠܡܐ", "ދިވެހި"] {
            assert_eq!(detect_direction(s), Direction::Rtl, "{s}");
        }
    }

    #[test]
    fn arabic_presentation_forms_are_rtl() {
        assert_eq!(detect_direction("\u{FECB}\u{FEE0}\u{FEF2}"), Direction::Rtl);
        assert_eq!(detect_direction("\u{FB56}"), Direction::Rtl);
    }

    #[test]
    fn english_text_is_ltr() {
        assert_eq!(detect_direction("Hello, world"), Direction::Ltr);
        assert_eq!(detect_direction("Привет"), Direction::Ltr);
    }

    #[test]
    fn first_strong_character_decides_mixed_text() {
        assert_eq!(detect_direction("Order سفارش"), Direction::Ltr);
        assert_eq!(detect_direction("سفارش Order"), Direction::Rtl);
    }

    #[test]
    fn leading_digits_and_punctuation_are_skipped() {
        assert_eq!(detect_direction("123 سفارش"), Direction::Rtl);
        assert_eq!(detect_direction("۱۲۳ - سفارش"), Direction::Rtl);
        assert_eq!(detect_direction("٤٥٦: order"), Direction::Ltr);
        assert_eq!(detect_direction("  (42) Hello"), Direction::Ltr);
    }

    #[test]
    fn text_without_letters_is_neutral() {
        assert_eq!(detect_direction(""), Direction::Neutral);
        assert_eq!(detect_direction("123 ۴۵۶ ٧٨٩ !?"), Direction::Neutral);
        assert_eq!(detect_direction("🙂👍"), Direction::Neutral);
    }

    #[test]
    fn combining_marks_are_not_strong() {
        assert_eq!(detect_direction("\u{064E}\u{05B8}"), Direction::Neutral);
        assert_eq!(detect_direction("\u{064E}abc"), Direction::Ltr);
    }

    #[test]
    fn explicit_marks_count_as_strong() {
        assert_eq!(detect_direction("\u{200F}123"), Direction::Rtl);
        assert_eq!(detect_direction("\u{200E}سلام"), Direction::Ltr);
    }

    #[test]
    fn isolated_text_is_skipped() {
        assert_eq!(detect_direction("\u{2068}John\u{2069} گفت"), Direction::Rtl);
    }

    #[test]
    fn html_dir_values() {
        assert_eq!(Direction::Ltr.as_html_dir(), "ltr");
        assert_eq!(Direction::Rtl.as_html_dir(), "rtl");
        assert_eq!(Direction::Neutral.as_html_dir(), "auto");
    }
}
