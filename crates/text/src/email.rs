//! Validated, normalised email addresses.

use std::fmt;
use std::str::FromStr;

use unicode_normalization::UnicodeNormalization;

use crate::TextError;

/// Maximum length of an address in bytes (RFC 5321 path limit minus the
/// angle brackets).
const MAX_EMAIL_LEN: usize = 254;

/// A validated, normalised email address.
///
/// Normalisation: surrounding whitespace trimmed, Unicode NFC, and the whole
/// address (local part *and* domain) lowercased, because support systems
/// treat addresses case-insensitively and customers type them inconsistently.
/// Two addresses that a person would consider the same therefore compare
/// equal, and the value can be used directly as a lookup key.
///
/// Validation is deliberately pragmatic rather than full RFC 5322: it rejects
/// what is certainly wrong (see [`EmailAddress::parse`]) and does not try to
/// support quoted local parts or comments.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Validates and normalises `s`.
    ///
    /// Rejects: an empty string; anything without exactly one `@`; an empty
    /// local part or domain; whitespace, control characters or invisible
    /// formatting characters (zero-width, bidi controls) anywhere inside; a
    /// domain without a dot or with an empty label (`a@.x`, `a@x..y`,
    /// `a@x.`); a normalised length above 254 bytes.
    ///
    /// ```
    /// use switchboard_text::EmailAddress;
    /// let e = EmailAddress::parse("  Ali.Rezaei@Example.COM ").unwrap();
    /// assert_eq!(e.as_str(), "ali.rezaei@example.com");
    /// assert!(EmailAddress::parse("no-at-sign").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self, TextError> {
        let trimmed = s.trim();
        if trimmed.is_empty() {
            return Err(TextError::EmailEmpty);
        }
        // Lowercasing can in rare cases produce decomposed sequences, so
        // recompose afterwards.
        let normalised: String = trimmed
            .nfc()
            .collect::<String>()
            .to_lowercase()
            .nfc()
            .collect();

        if let Some(ch) = normalised
            .chars()
            .find(|&c| c.is_whitespace() || c.is_control() || is_invisible_format(c))
        {
            return Err(TextError::EmailInvalidChar { ch });
        }

        let mut parts = normalised.split('@');
        let (local, domain) = match (parts.next(), parts.next(), parts.next()) {
            (Some(local), Some(domain), None) => (local, domain),
            (_, None, _) => return Err(TextError::EmailMissingAt),
            _ => return Err(TextError::EmailMultipleAt),
        };
        if local.is_empty() {
            return Err(TextError::EmailEmptyLocalPart);
        }
        if domain.is_empty() {
            return Err(TextError::EmailEmptyDomain);
        }
        if !domain.contains('.') {
            return Err(TextError::EmailDomainWithoutDot);
        }
        if domain.split('.').any(str::is_empty) {
            return Err(TextError::EmailEmptyDomainLabel);
        }
        if normalised.len() > MAX_EMAIL_LEN {
            return Err(TextError::EmailTooLong {
                len: normalised.len(),
                max: MAX_EMAIL_LEN,
            });
        }
        Ok(Self(normalised))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Consumes the value, returning the normalised address.
    pub fn into_string(self) -> String {
        self.0
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.0.split_once('@').map_or("", |(local, _)| local)
    }

    /// The part after the `@`.
    pub fn domain(&self) -> &str {
        self.0.split_once('@').map_or("", |(_, domain)| domain)
    }
}

/// Format characters (Unicode category Cf) that are invisible and would let
/// two different addresses look identical.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for EmailAddress {
    type Err = TextError;

    /// Same as [`EmailAddress::parse`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl From<EmailAddress> for String {
    fn from(e: EmailAddress) -> Self {
        e.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> String {
        EmailAddress::parse(s)
            .unwrap_or_else(|e| panic!("{s:?} rejected: {e}"))
            .into_string()
    }

    fn err(s: &str) -> TextError {
        EmailAddress::parse(s).expect_err(s)
    }

    #[test]
    fn email_is_trimmed_and_lowercased_in_both_parts() {
        assert_eq!(ok("  Ali.Rezaei@Example.COM\n"), "ali.rezaei@example.com");
        assert_eq!(ok("SUPPORT+Tag@Mail.Co.IR"), "support+tag@mail.co.ir");
    }

    #[test]
    fn email_is_nfc_normalised() {
        // "é" written as e + combining acute composes to U+00E9.
        assert_eq!(ok("Jose\u{0301}@example.com"), "jos\u{00E9}@example.com");
    }

    #[test]
    fn internationalised_email_is_accepted() {
        assert_eq!(ok("علی@مثال.ایران"), "علی@مثال.ایران");
    }

    #[test]
    fn email_accessors_return_the_normalised_form() {
        let e = EmailAddress::parse("A@B.com").unwrap();
        assert_eq!(e.as_str(), "a@b.com");
        assert_eq!(e.to_string(), "a@b.com");
        assert_eq!(e.local_part(), "a");
        assert_eq!(e.domain(), "b.com");
        assert_eq!(e, "a@B.COM".parse::<EmailAddress>().unwrap());
    }

    #[test]
    fn email_without_at_is_rejected() {
        assert_eq!(err("ali.example.com"), TextError::EmailMissingAt);
    }

    #[test]
    fn email_with_two_ats_is_rejected() {
        assert_eq!(err("a@b@example.com"), TextError::EmailMultipleAt);
    }

    #[test]
    fn empty_email_parts_are_rejected() {
        assert_eq!(err(""), TextError::EmailEmpty);
        assert_eq!(err("   "), TextError::EmailEmpty);
        assert_eq!(err("@example.com"), TextError::EmailEmptyLocalPart);
        assert_eq!(err("ali@"), TextError::EmailEmptyDomain);
    }

    #[test]
    fn email_with_whitespace_or_control_inside_is_rejected() {
        assert_eq!(
            err("ali rezaei@example.com"),
            TextError::EmailInvalidChar { ch: ' ' }
        );
        assert_eq!(
            err("ali@exa\tmple.com"),
            TextError::EmailInvalidChar { ch: '\t' }
        );
        assert_eq!(
            err("ali\u{0007}@example.com"),
            TextError::EmailInvalidChar { ch: '\u{0007}' }
        );
    }

    #[test]
    fn email_with_invisible_characters_is_rejected() {
        assert_eq!(
            err("ali\u{200C}@example.com"),
            TextError::EmailInvalidChar { ch: '\u{200C}' }
        );
        assert_eq!(
            err("ali@\u{202E}moc.example"),
            TextError::EmailInvalidChar { ch: '\u{202E}' }
        );
    }

    #[test]
    fn email_domain_without_dot_is_rejected() {
        assert_eq!(err("root@localhost"), TextError::EmailDomainWithoutDot);
    }

    #[test]
    fn email_domain_with_empty_label_is_rejected() {
        for s in ["a@.example.com", "a@example..com", "a@example.com."] {
            assert_eq!(err(s), TextError::EmailEmptyDomainLabel, "{s}");
        }
    }

    #[test]
    fn email_longer_than_254_bytes_is_rejected() {
        let local = "a".repeat(64);
        let domain_254 = format!("{}.com", "b".repeat(254 - 64 - 1 - 4));
        let exactly = format!("{local}@{domain_254}");
        assert_eq!(exactly.len(), 254);
        assert_eq!(ok(&exactly), exactly);
        let too_long = format!("{local}@b{domain_254}");
        assert_eq!(
            err(&too_long),
            TextError::EmailTooLong { len: 255, max: 254 }
        );
    }

    #[test]
    fn email_error_messages_are_readable() {
        assert_eq!(err("root@localhost").to_string(), "email domain has no '.'");
    }
}
