//! The start of a phone number as a person types it, for prefix search.

use phonenumber::metadata::DATABASE;

use crate::phone::{clean, region};

/// Fewer digits than this are not searched as a phone number (too many numbers match).
const MIN_PREFIX_DIGITS: usize = 3;

/// What E.164 numbers typed as `s` start with, or `None` when `s` is not the start of a
/// phone number.
///
/// Persian and Arabic-Indic digits, spaces, dashes and bidi marks are accepted as by
/// [`crate::PhoneNumber::parse`]; a leading `+` or `00` is the international prefix, and a
/// leading national prefix (`0` in Iran) is replaced by the country code of
/// `default_region`. Digits without either prefix give `None`: they may be any part of a
/// number, which a substring search already finds.
///
/// ```
/// use switchboard_text::phone_search_prefix;
/// assert_eq!(phone_search_prefix("۰۹۱۲", "IR").as_deref(), Some("+98912"));
/// assert_eq!(phone_search_prefix("0912 345", "IR").as_deref(), Some("+98912345"));
/// assert_eq!(phone_search_prefix("0098 912", "IR").as_deref(), Some("+98912"));
/// assert_eq!(phone_search_prefix("912345", "IR"), None);
/// ```
pub fn phone_search_prefix(s: &str, default_region: &str) -> Option<String> {
    let cleaned = clean(s).ok()?;
    let digits = cleaned.digits.as_str();
    if digits.len() < MIN_PREFIX_DIGITS {
        return None;
    }
    if cleaned.plus {
        return Some(format!("+{digits}"));
    }
    if let Some(rest) = digits.strip_prefix("00").filter(|r| !r.is_empty()) {
        return Some(format!("+{rest}"));
    }
    let id = region(default_region).ok()??;
    let meta = DATABASE.by_id(id.as_ref())?;
    let rest = digits
        .strip_prefix(meta.national_prefix()?)
        .filter(|r| !r.is_empty())?;
    Some(format!("+{}{rest}", meta.country_code()))
}

#[cfg(test)]
mod tests {
    use super::phone_search_prefix as prefix;

    #[test]
    fn persian_digits_with_the_national_prefix_become_the_e164_start() {
        assert_eq!(prefix("۰۹۱۲۳۴۵", "IR").as_deref(), Some("+98912345"));
        assert_eq!(prefix("۰۹۱۲", "ir").as_deref(), Some("+98912"));
        assert_eq!(prefix("٠٩١٢", "IR").as_deref(), Some("+98912"));
    }

    #[test]
    fn ascii_digits_separators_and_bidi_marks_are_folded() {
        assert_eq!(prefix("0912345", "IR").as_deref(), Some("+98912345"));
        assert_eq!(prefix("0912-34 5", "IR").as_deref(), Some("+98912345"));
        assert_eq!(prefix("\u{200F}0912", "IR").as_deref(), Some("+98912"));
    }

    #[test]
    fn international_prefixes_are_kept_whatever_the_region() {
        assert_eq!(prefix("+98 912", "").as_deref(), Some("+98912"));
        assert_eq!(prefix("0044 20", "IR").as_deref(), Some("+4420"));
        assert_eq!(prefix("+1 555", "IR").as_deref(), Some("+1555"));
    }

    #[test]
    fn other_regions_use_their_own_national_prefix() {
        assert_eq!(prefix("020 7", "GB").as_deref(), Some("+44207"));
        // The US national prefix is 1.
        assert_eq!(prefix("1415", "US").as_deref(), Some("+1415"));
    }

    #[test]
    fn text_short_input_and_numbers_without_a_prefix_are_not_phone_prefixes() {
        assert_eq!(prefix("علی", "IR"), None);
        assert_eq!(prefix("09", "IR"), None);
        assert_eq!(prefix("912345", "IR"), None);
        assert_eq!(prefix("0912", ""), None);
        assert_eq!(prefix("0", "IR"), None);
        assert_eq!(prefix("0912", "XX"), None);
    }
}
