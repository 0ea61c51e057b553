//! Phone numbers normalised to E.164.

use std::fmt;

use phonenumber::country;

use crate::fold::fold_digits;
use crate::TextError;

/// Upper bound on the digits accepted in the input: E.164's 15 digits plus
/// room for a dialling prefix. Anything longer is not a phone number and is
/// rejected before reaching the parser.
const MAX_INPUT_DIGITS: usize = 17;

/// A phone number, normally in E.164 form (`+989121234567`).
///
/// Built by [`PhoneNumber::parse`], which only accepts numbers the
/// libphonenumber metadata considers valid, or by
/// [`PhoneNumber::parse_lenient`], which also keeps numbers it cannot
/// validate (PBX extensions, test numbers) as plain digits. Because the value
/// is canonical it can be used directly as a lookup key: every way a customer
/// may type the same number yields an equal value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

/// The input reduced to what matters: whether it started with `+`, and its
/// ASCII digits.
pub(crate) struct Cleaned {
    pub(crate) plus: bool,
    pub(crate) digits: String,
}

/// Characters a person may type between digit groups.
fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '.' | '(' | ')' | '/' | '\u{2010}'..='\u{2015}' | '\u{2212}'
        )
}

/// Invisible formatting characters that appear when numbers are copied out
/// of right-to-left text (bidi marks, isolates, zero-width characters).
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

pub(crate) fn clean(s: &str) -> Result<Cleaned, TextError> {
    let mut plus = false;
    let mut digits = String::new();
    for c in fold_digits(s).chars() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if !plus && digits.is_empty() => plus = true,
            c if is_separator(c) || is_invisible(c) => {}
            ch => return Err(TextError::PhoneInvalidChar { ch }),
        }
    }
    if digits.is_empty() {
        return Err(TextError::PhoneNoDigits);
    }
    if digits.len() > MAX_INPUT_DIGITS {
        return Err(TextError::PhoneTooLong {
            digits: digits.len(),
            max: MAX_INPUT_DIGITS,
        });
    }
    Ok(Cleaned { plus, digits })
}

/// Parses an ISO 3166 alpha-2 region; the empty string means "no default
/// region" (only international numbers can then be parsed).
pub(crate) fn region(default_region: &str) -> Result<Option<country::Id>, TextError> {
    let trimmed = default_region.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    trimmed
        .to_ascii_uppercase()
        .parse::<country::Id>()
        .map(Some)
        .map_err(|_| TextError::PhoneUnknownRegion(default_region.to_owned()))
}

/// Parses already-cleaned input strictly.
fn parse_strict(cleaned: &Cleaned, region: Option<country::Id>) -> Result<PhoneNumber, TextError> {
    // "00" is the international prefix almost everywhere; treat it as "+"
    // so that "0098…" works whatever the default region's own prefix is.
    let candidate = match (cleaned.plus, cleaned.digits.strip_prefix("00")) {
        (true, _) => format!("+{}", cleaned.digits),
        (false, Some(rest)) if !rest.is_empty() => format!("+{rest}"),
        (false, _) => cleaned.digits.clone(),
    };
    // Parsing and validating against the numbering plan (regular expressions) costs ~10 µs;
    // the same few numbers (callers, the site's own lines) come back again and again in call
    // logs, so each thread remembers its recent answers.
    let key = (candidate, region);
    if let Some(hit) = MEMO.with(|m| m.borrow().get(&key).cloned()) {
        return hit;
    }
    let result = parse_uncached(&key.0, region);
    MEMO.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= MEMO_CAPACITY {
            m.clear();
        }
        m.insert(key, result.clone());
    });
    result
}

/// Most answers [`MEMO`] keeps per thread before starting over.
const MEMO_CAPACITY: usize = 4096;

type MemoKey = (String, Option<country::Id>);

thread_local! {
    static MEMO: std::cell::RefCell<std::collections::HashMap<MemoKey, Result<PhoneNumber, TextError>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

fn parse_uncached(candidate: &str, region: Option<country::Id>) -> Result<PhoneNumber, TextError> {
    let number = phonenumber::parse(region, candidate)
        .map_err(|e| TextError::PhoneUnparsable(e.to_string()))?;
    if !number.is_valid() {
        return Err(TextError::PhoneInvalid);
    }
    Ok(PhoneNumber(
        number.format().mode(phonenumber::Mode::E164).to_string(),
    ))
}

impl PhoneNumber {
    /// Parses and validates a phone number, returning its E.164 form.
    ///
    /// Accepts Persian and Arabic-Indic digits, spaces, dashes, dots,
    /// slashes, parentheses and invisible bidi marks between digits, an
    /// optional leading `+` or `00` international prefix, and numbers in
    /// national format, interpreted in `default_region` (an ISO 3166 alpha-2
    /// code such as `"IR"`, case-insensitive; `""` for none).
    ///
    /// ```
    /// use switchboard_text::PhoneNumber;
    /// let p = PhoneNumber::parse("۰۹۱۲ ۱۲۳ ۴۵۶۷", "IR").unwrap();
    /// assert_eq!(p.as_str(), "+989121234567");
    /// ```
    ///
    /// # Errors
    /// [`TextError::PhoneInvalidChar`] for letters or other stray characters,
    /// [`TextError::PhoneNoDigits`], [`TextError::PhoneTooLong`],
    /// [`TextError::PhoneUnknownRegion`], [`TextError::PhoneUnparsable`] when
    /// the parser cannot make sense of it, and [`TextError::PhoneInvalid`]
    /// when it parses but is not a valid number.
    pub fn parse(s: &str, default_region: &str) -> Result<Self, TextError> {
        let region = region(default_region)?;
        parse_strict(&clean(s)?, region)
    }

    /// Like [`PhoneNumber::parse`], but a number that cannot be validated
    /// (short PBX extensions, test numbers) is kept as its digits, with a
    /// leading `+` only if the input had one (`"+1 555 0100"` → `"+15550100"`,
    /// `"۱۰۱"` → `"101"`).
    ///
    /// Still an error: no digits at all, letters or other stray characters,
    /// more than 17 digits, or an unknown `default_region` (a configuration
    /// mistake that should not be hidden).
    pub fn parse_lenient(s: &str, default_region: &str) -> Result<Self, TextError> {
        let region = region(default_region)?;
        let cleaned = clean(s)?;
        match parse_strict(&cleaned, region) {
            Ok(number) => Ok(number),
            Err(TextError::PhoneUnparsable(_) | TextError::PhoneInvalid) => {
                let mut out = String::with_capacity(cleaned.digits.len() + 1);
                if cleaned.plus {
                    out.push('+');
                }
                out.push_str(&cleaned.digits);
                Ok(Self(out))
            }
            Err(other) => Err(other),
        }
    }

    /// The normalised number (E.164, or digits for lenient fallbacks).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Consumes the value, returning the normalised number.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for PhoneNumber {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<PhoneNumber> for String {
    fn from(p: PhoneNumber) -> Self {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOBILE: &str = "+989121234567";

    fn ir(s: &str) -> String {
        PhoneNumber::parse(s, "IR")
            .unwrap_or_else(|e| panic!("{s:?} rejected: {e}"))
            .into_string()
    }

    #[test]
    fn persian_digit_phone_number_parses_to_e164() {
        assert_eq!(ir("۰۹۱۲۱۲۳۴۵۶۷"), MOBILE);
    }

    #[test]
    fn arabic_indic_digit_phone_number_parses_to_e164() {
        assert_eq!(ir("٠٩١٢١٢٣٤٥٦٧"), MOBILE);
    }

    #[test]
    fn international_format_with_spaces_parses() {
        assert_eq!(ir("+98 912 123 4567"), MOBILE);
    }

    #[test]
    fn double_zero_international_prefix_parses() {
        assert_eq!(ir("0098 912 123 4567"), MOBILE);
        // Even where the region's own international prefix is different.
        assert_eq!(
            PhoneNumber::parse("0098 912 123 4567", "US")
                .unwrap()
                .as_str(),
            MOBILE
        );
    }

    #[test]
    fn national_format_with_parentheses_and_dash_parses() {
        assert_eq!(ir("(0912) 123-4567"), MOBILE);
        assert_eq!(ir("0912 123 4567"), MOBILE);
        assert_eq!(ir("0912.123.4567"), MOBILE);
    }

    #[test]
    fn mixed_persian_digits_and_separators_parse() {
        assert_eq!(ir("  +۹۸ (۹۱۲) ۱۲۳-۴۵۶۷ "), MOBILE);
    }

    #[test]
    fn bidi_marks_copied_from_rtl_text_are_ignored() {
        assert_eq!(ir("\u{200E}+98 912 123 4567\u{200F}"), MOBILE);
        assert_eq!(ir("\u{2066}۰۹۱۲۱۲۳۴۵۶۷\u{2069}"), MOBILE);
    }

    #[test]
    fn tehran_landline_parses() {
        assert_eq!(ir("021 8888 1234"), "+982188881234");
    }

    #[test]
    fn us_number_parses_with_us_region() {
        let p = PhoneNumber::parse("(650) 253-0000", "US").unwrap();
        assert_eq!(p.as_str(), "+16502530000");
        assert_eq!(p.to_string(), "+16502530000");
    }

    #[test]
    fn region_code_is_case_insensitive() {
        assert_eq!(
            PhoneNumber::parse("09121234567", "ir").unwrap().as_str(),
            MOBILE
        );
    }

    #[test]
    fn international_number_parses_without_region() {
        assert_eq!(
            PhoneNumber::parse("+98 912 123 4567", "").unwrap().as_str(),
            MOBILE
        );
    }

    #[test]
    fn national_number_without_region_is_rejected() {
        assert!(matches!(
            PhoneNumber::parse("09121234567", ""),
            Err(TextError::PhoneUnparsable(_))
        ));
    }

    #[test]
    fn unknown_region_is_rejected() {
        assert_eq!(
            PhoneNumber::parse("09121234567", "XX"),
            Err(TextError::PhoneUnknownRegion("XX".into()))
        );
        assert_eq!(
            PhoneNumber::parse_lenient("101", "Iran"),
            Err(TextError::PhoneUnknownRegion("Iran".into()))
        );
    }

    #[test]
    fn garbage_phone_input_is_rejected() {
        assert_eq!(
            PhoneNumber::parse("call me", "IR"),
            Err(TextError::PhoneInvalidChar { ch: 'c' })
        );
        assert_eq!(PhoneNumber::parse("", "IR"), Err(TextError::PhoneNoDigits));
        assert_eq!(
            PhoneNumber::parse(" - ( ) ", "IR"),
            Err(TextError::PhoneNoDigits)
        );
        assert_eq!(
            PhoneNumber::parse("0912+1234567", "IR"),
            Err(TextError::PhoneInvalidChar { ch: '+' })
        );
        assert_eq!(
            PhoneNumber::parse("++989121234567", "IR"),
            Err(TextError::PhoneInvalidChar { ch: '+' })
        );
        assert_eq!(
            PhoneNumber::parse("123456789012345678", "IR"),
            Err(TextError::PhoneTooLong {
                digits: 18,
                max: 17
            })
        );
    }

    #[test]
    fn invalid_numbers_are_rejected_by_strict_parse() {
        for s in ["123", "0912", "+98 12", "0000000000", "+999 1234567"] {
            let r = PhoneNumber::parse(s, "IR");
            assert!(
                matches!(
                    r,
                    Err(TextError::PhoneInvalid | TextError::PhoneUnparsable(_))
                ),
                "{s:?} gave {r:?}"
            );
        }
    }

    #[test]
    fn lenient_parse_returns_e164_for_valid_numbers() {
        assert_eq!(
            PhoneNumber::parse_lenient("۰۹۱۲۱۲۳۴۵۶۷", "IR")
                .unwrap()
                .as_str(),
            MOBILE
        );
    }

    #[test]
    fn lenient_parse_keeps_short_extensions_as_digits() {
        assert_eq!(
            PhoneNumber::parse_lenient("۱۰۱", "IR").unwrap().as_str(),
            "101"
        );
        assert_eq!(
            PhoneNumber::parse_lenient(" 12-34 ", "IR")
                .unwrap()
                .as_str(),
            "1234"
        );
    }

    #[test]
    fn lenient_parse_keeps_leading_plus_only_if_given() {
        assert_eq!(
            PhoneNumber::parse_lenient("+999 123", "IR")
                .unwrap()
                .as_str(),
            "+999123"
        );
        assert_eq!(
            PhoneNumber::parse_lenient("0012", "IR").unwrap().as_str(),
            "0012"
        );
    }

    #[test]
    fn lenient_parse_still_rejects_input_without_digits_or_with_letters() {
        assert_eq!(
            PhoneNumber::parse_lenient("", "IR"),
            Err(TextError::PhoneNoDigits)
        );
        assert_eq!(
            PhoneNumber::parse_lenient("+", "IR"),
            Err(TextError::PhoneNoDigits)
        );
        assert_eq!(
            PhoneNumber::parse_lenient("ext 12", "IR"),
            Err(TextError::PhoneInvalidChar { ch: 'e' })
        );
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn phone_parsing_never_panics(s in "[+0-9۰-۹٠-٩ ()./-]{0,24}|\\PC{0,24}") {
                let _ = PhoneNumber::parse(&s, "IR");
                let _ = PhoneNumber::parse(&s, "US");
                if let Ok(p) = PhoneNumber::parse_lenient(&s, "IR") {
                    prop_assert!(!p.as_str().is_empty());
                }
            }
        }
    }
}
