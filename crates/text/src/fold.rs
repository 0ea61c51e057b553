//! Digit folding and the search form of text.

use unicode_normalization::UnicodeNormalization;

/// Maps a Persian (U+06F0–U+06F9) or Arabic-Indic (U+0660–U+0669) digit to
/// its ASCII digit; any other character is returned unchanged.
fn fold_digit(c: char) -> char {
    let base = match c {
        '\u{06F0}'..='\u{06F9}' => 0x06F0,
        '\u{0660}'..='\u{0669}' => 0x0660,
        _ => return c,
    };
    // The subtraction is in 0..=9, so the result is always an ASCII digit.
    char::from(b'0' + (c as u32 - base) as u8)
}

/// Converts Persian (۰–۹, U+06F0..) and Arabic-Indic (٠–٩, U+0660..) digits
/// to ASCII `0`–`9`; every other character is left unchanged.
///
/// Persian users type numbers (phone numbers, ticket ids, amounts) with
/// whichever keyboard is active, so anything that is parsed or compared as a
/// number should pass through this first.
///
/// ```
/// assert_eq!(switchboard_text::fold_digits("تیکت ۱۲۳ / ٤٥"), "تیکت 123 / 45");
/// ```
pub fn fold_digits(s: &str) -> String {
    s.chars().map(fold_digit).collect()
}

/// Invisible characters that carry no searchable content: zero-width
/// (non-)joiners and spaces, bidi marks, embeddings, overrides and isolates,
/// the byte-order mark, plus the Arabic letter mark, word joiner / invisible
/// operators and the soft hyphen.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
            | '\u{061C}'
            | '\u{2060}'..='\u{2064}'
            | '\u{00AD}'
    )
}

/// Arabic combining marks that only change pronunciation: harakat and other
/// marks U+064B–U+065F, superscript alef U+0670, plus the honorific signs
/// U+0610–U+061A and Quranic annotation marks in U+06D6–U+06ED.
fn is_arabic_mark(c: char) -> bool {
    matches!(
        c,
        '\u{064B}'..='\u{065F}'
            | '\u{0670}'
            | '\u{0610}'..='\u{061A}'
            | '\u{06D6}'..='\u{06DC}'
            | '\u{06DF}'..='\u{06E4}'
            | '\u{06E7}'..='\u{06E8}'
            | '\u{06EA}'..='\u{06ED}'
    )
}

/// Folds Arabic letter forms to the Persian letters a Persian keyboard
/// produces, and Persian/Arabic-Indic digits to ASCII.
fn fold_letter(c: char) -> char {
    match c {
        '\u{064A}' | '\u{0649}' => '\u{06CC}',              // ي ى → ی
        '\u{0643}' => '\u{06A9}',                           // ك → ک
        '\u{0629}' | '\u{06C0}' => '\u{0647}',              // ة ۀ → ه
        '\u{0623}' | '\u{0625}' | '\u{0671}' => '\u{0627}', // أ إ ٱ → ا
        '\u{0624}' => '\u{0648}',                           // ؤ → و
        _ => fold_digit(c),
    }
}

/// Returns the normalised *search form* of a name or free text.
///
/// Store `search_fold(name)` next to the original and match
/// `search_fold(query)` as a substring of it: this makes «علی» find «علي» and
/// «کریمی» find «كريمي», whichever keyboard layout either side was typed on.
///
/// Steps, in order:
/// 1. Unicode NFKC, so Arabic presentation forms (ﻋﻠﻲ), full-width Latin and
///    similar compatibility characters become their plain letters, and
///    decomposed sequences such as `ا` + U+0654 compose into `أ`.
/// 2. Arabic letter forms fold to Persian: ي ى → ی, ك → ک, ة ۀ → ه,
///    أ إ ٱ → ا, ؤ → و.
/// 3. Removed: tatweel U+0640; Arabic diacritics (U+064B–U+065F, U+0670, and
///    the rarer Quranic/honorific marks); ZWNJ and other zero-width or bidi
///    control characters (U+200B–U+200F, U+202A–U+202E, U+2066–U+2069,
///    U+FEFF, U+061C, U+2060–U+2064, soft hyphen).
/// 4. Persian and Arabic-Indic digits fold to ASCII (see [`fold_digits`]).
/// 5. Runs of whitespace collapse to one ASCII space; the ends are trimmed.
/// 6. Unicode lowercasing, then NFKC again so that marks separated from their
///    base by a removed invisible character recompose.
///
/// The result is idempotent: `search_fold(&search_fold(s)) == search_fold(s)`.
///
/// ```
/// use switchboard_text::search_fold;
/// assert!(search_fold("علي كريمي").contains(&search_fold("علی")));
/// assert_eq!(search_fold("می‌خواهم"), search_fold("میخواهم"));
/// ```
pub fn search_fold(s: &str) -> String {
    let mut folded = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.nfkc() {
        if c == '\u{0640}' || is_invisible(c) || is_arabic_mark(c) {
            continue;
        }
        if c.is_whitespace() {
            // Only emit a space between two kept characters: this both
            // collapses runs and trims both ends.
            pending_space = !folded.is_empty();
            continue;
        }
        if pending_space {
            folded.push(' ');
            pending_space = false;
        }
        folded.push(fold_letter(c));
    }
    folded.to_lowercase().nfkc().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persian_digits_fold_to_ascii() {
        assert_eq!(fold_digits("۰۱۲۳۴۵۶۷۸۹"), "0123456789");
    }

    #[test]
    fn arabic_indic_digits_fold_to_ascii() {
        assert_eq!(fold_digits("٠١٢٣٤٥٦٧٨٩"), "0123456789");
    }

    #[test]
    fn fold_digits_leaves_everything_else_unchanged() {
        let s = "Order #42: سفارش شماره — ABC xyz ١٢ ۳۴ \u{200C}";
        assert_eq!(
            fold_digits(s),
            "Order #42: سفارش شماره — ABC xyz 12 34 \u{200C}"
        );
        assert_eq!(fold_digits(""), "");
    }

    #[test]
    fn fold_digits_does_not_touch_other_digit_systems() {
        // Devanagari and full-width digits are out of scope for fold_digits.
        assert_eq!(fold_digits("१२ １２"), "१२ １２");
    }

    #[test]
    fn search_fold_lowercases_latin_and_other_scripts() {
        assert_eq!(search_fold("HeLLo ÄÖ ΣΟΦΙΑ"), "hello äö σοφια");
    }

    #[test]
    fn arabic_yeh_and_alef_maksura_fold_to_farsi_yeh() {
        assert_eq!(search_fold("\u{064A}"), "\u{06CC}");
        assert_eq!(search_fold("\u{0649}"), "\u{06CC}");
        assert_eq!(search_fold("موسى"), "موسی");
    }

    #[test]
    fn arabic_kaf_folds_to_keheh() {
        assert_eq!(search_fold("\u{0643}"), "\u{06A9}");
        assert_eq!(search_fold("كتاب"), "کتاب");
    }

    #[test]
    fn teh_marbuta_and_heh_with_yeh_fold_to_heh() {
        assert_eq!(search_fold("\u{0629}"), "\u{0647}");
        assert_eq!(search_fold("\u{06C0}"), "\u{0647}");
        assert_eq!(search_fold("فاطمة"), "فاطمه");
        // Heh followed by a separate hamza above also becomes plain heh.
        assert_eq!(search_fold("خانهٔ"), "خانه");
        assert_eq!(search_fold("خانۀ"), "خانه");
    }

    #[test]
    fn hamza_and_wasla_alef_forms_fold_to_bare_alef() {
        assert_eq!(search_fold("\u{0623}"), "\u{0627}");
        assert_eq!(search_fold("\u{0625}"), "\u{0627}");
        assert_eq!(search_fold("\u{0671}"), "\u{0627}");
        assert_eq!(search_fold("أحمد"), "احمد");
        assert_eq!(search_fold("إبراهيم"), "ابراهیم");
    }

    #[test]
    fn decomposed_hamza_alef_folds_like_the_precomposed_letter() {
        // alef + combining hamza above == أ
        assert_eq!(search_fold("\u{0627}\u{0654}حمد"), "احمد");
    }

    #[test]
    fn waw_with_hamza_folds_to_waw() {
        assert_eq!(search_fold("\u{0624}"), "\u{0648}");
        assert_eq!(search_fold("مؤمن"), "مومن");
    }

    #[test]
    fn alef_with_madda_is_kept() {
        // Not in the folding rules: آ is a distinct letter in Persian.
        assert_eq!(search_fold("آب"), "آب");
        // A decomposed madda composes to the same letter instead of being lost.
        assert_eq!(search_fold("\u{0627}\u{0653}ب"), "آب");
    }

    #[test]
    fn tatweel_is_removed() {
        assert_eq!(search_fold("سـلـام"), "سلام");
    }

    #[test]
    fn arabic_diacritics_are_removed() {
        // fatha, damma, kasra, shadda, sukun, tanwin, superscript alef
        assert_eq!(search_fold("مُحَمَّد"), "محمد");
        assert_eq!(search_fold("كِتَابٌ"), "کتاب");
        assert_eq!(search_fold("اً"), "ا");
        assert_eq!(search_fold("هٰذا"), "هذا");
        for c in '\u{064B}'..='\u{065F}' {
            assert_eq!(
                search_fold(&format!("ب{c}")),
                "ب",
                "mark U+{:04X}",
                c as u32
            );
        }
    }

    #[test]
    fn zwnj_is_removed_so_spelling_with_and_without_it_matches() {
        assert_eq!(search_fold("می‌خواهم"), search_fold("میخواهم"));
        assert_eq!(search_fold("می\u{200C}خواهم"), "میخواهم");
    }

    #[test]
    fn zero_width_and_bidi_controls_are_removed() {
        let controls = [
            '\u{200B}', '\u{200C}', '\u{200D}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}',
            '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
            '\u{FEFF}', '\u{061C}', '\u{2060}', '\u{00AD}',
        ];
        for c in controls {
            assert_eq!(
                search_fold(&format!("a{c}b")),
                "ab",
                "control U+{:04X}",
                c as u32
            );
        }
    }

    #[test]
    fn digits_are_folded_in_the_search_form() {
        assert_eq!(search_fold("تیکت ۱۲۳"), "تیکت 123");
        assert_eq!(search_fold("٤٥٦"), "456");
    }

    #[test]
    fn whitespace_runs_collapse_to_one_space_and_ends_are_trimmed() {
        assert_eq!(search_fold("  علی \t\n  رضایی  "), "علی رضایی");
        assert_eq!(search_fold("a\u{00A0}\u{2003}b"), "a b");
        assert_eq!(search_fold("   "), "");
        assert_eq!(search_fold(""), "");
    }

    #[test]
    fn invisible_characters_between_spaces_do_not_leave_double_spaces() {
        assert_eq!(search_fold("a \u{200B} b"), "a b");
        assert_eq!(search_fold("\u{200F} a \u{200E}"), "a");
    }

    #[test]
    fn arabic_presentation_forms_fold_to_plain_letters() {
        // ﻋﻠﻲ written with presentation forms (as copied from some PDFs).
        assert_eq!(search_fold("\u{FECB}\u{FEE0}\u{FEF2}"), "علی");
    }

    #[test]
    fn persian_query_finds_arabic_spelling_of_ali() {
        let text = search_fold("علي");
        assert!(text.contains(&search_fold("علی")));
    }

    #[test]
    fn persian_query_finds_arabic_spelling_of_karimi() {
        let text = search_fold("آقای كريمي");
        assert!(text.contains(&search_fold("کریمی")));
    }

    #[test]
    fn mixed_persian_and_english_text_is_folded_consistently() {
        assert_eq!(
            search_fold("  Ticket ۴۲ from  علي‌رضا (Ali.REZA@Example.com) "),
            "ticket 42 from علیرضا (ali.reza@example.com)"
        );
    }

    #[test]
    fn removed_invisible_character_between_letter_and_accent_recomposes() {
        let once = search_fold("e\u{200B}\u{0301}");
        assert_eq!(once, "é");
        assert_eq!(search_fold(&once), once);
    }

    #[test]
    fn search_fold_is_idempotent_on_tricky_samples() {
        for s in [
            "ΣΑΣ",
            "İstanbul",
            "ǅemal",
            "ﷲ",
            "ﻻ",
            "a\u{200C}\u{0654}",
            "ي\u{0654}",
            "K\u{212A}",
            "ß ẞ",
        ] {
            let once = search_fold(s);
            assert_eq!(search_fold(&once), once, "input {s:?}");
        }
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        /// Strings biased towards the characters the folding rules touch.
        fn interesting_string() -> impl Strategy<Value = String> {
            proptest::collection::vec(
                prop_oneof![
                    any::<char>(),
                    proptest::char::range('\u{0600}', '\u{06FF}'),
                    proptest::char::range('\u{FB50}', '\u{FEFF}'),
                    proptest::char::range('\u{2000}', '\u{206F}'),
                    proptest::char::range('\u{0300}', '\u{036F}'),
                    proptest::char::range('A', 'z'),
                    Just(' '),
                ],
                0..40,
            )
            .prop_map(|cs| cs.into_iter().collect())
        }

        proptest! {
            #[test]
            fn search_fold_is_idempotent(s in interesting_string()) {
                let once = search_fold(&s);
                prop_assert_eq!(search_fold(&once), once);
            }

            #[test]
            fn search_fold_never_panics_on_arbitrary_strings(s in any::<String>()) {
                let out = search_fold(&s);
                prop_assert!(!out.starts_with(' ') && !out.ends_with(' '));
                prop_assert!(!out.contains("  "));
            }

            #[test]
            fn fold_digits_output_has_no_persian_or_arabic_digits(s in interesting_string()) {
                let out = fold_digits(&s);
                let has_eastern_digit = out
                    .chars()
                    .any(|c| matches!(c, '\u{0660}'..='\u{0669}' | '\u{06F0}'..='\u{06F9}'));
                prop_assert!(!has_eastern_digit);
                prop_assert_eq!(out.chars().count(), s.chars().count());
            }
        }
    }
}
