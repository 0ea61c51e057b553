//! The crate's single error type.

use thiserror::Error;

/// Why a piece of text could not be turned into one of this crate's
/// validated types.
///
/// One variant per failure so callers can map them to precise API errors;
/// the `Display` text is short, lowercase and safe to show to end users.
/// The enum is `#[non_exhaustive]` so new checks can be added later without
/// breaking downstream `match`es.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Error)]
#[non_exhaustive]
pub enum TextError {
    /// The email address is empty (or only whitespace).
    #[error("email address is empty")]
    EmailEmpty,
    /// The email address contains no `@`.
    #[error("email address has no '@'")]
    EmailMissingAt,
    /// The email address contains more than one `@`.
    #[error("email address has more than one '@'")]
    EmailMultipleAt,
    /// Nothing before the `@`.
    #[error("email address has an empty local part (before '@')")]
    EmailEmptyLocalPart,
    /// Nothing after the `@`.
    #[error("email address has an empty domain (after '@')")]
    EmailEmptyDomain,
    /// Whitespace, a control character or an invisible formatting
    /// character inside the address.
    #[error("email address contains an invalid character {ch:?}")]
    EmailInvalidChar {
        /// The offending character.
        ch: char,
    },
    /// The domain has no dot (`user@localhost`).
    #[error("email domain has no '.'")]
    EmailDomainWithoutDot,
    /// The domain has an empty label (leading, trailing or doubled dot).
    #[error("email domain has an empty label (leading, trailing or doubled '.')")]
    EmailEmptyDomainLabel,
    /// The normalised address is longer than 254 bytes.
    #[error("email address is too long ({len} bytes, at most {max})")]
    EmailTooLong {
        /// Length of the normalised address in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The phone number contains no digits at all.
    #[error("phone number has no digits")]
    PhoneNoDigits,
    /// A character that is neither a digit, a leading `+`, nor an accepted
    /// separator (space, `-`, `.`, `(`, `)`, `/`).
    #[error("phone number contains an invalid character {ch:?}")]
    PhoneInvalidChar {
        /// The offending character.
        ch: char,
    },
    /// More digits than any phone number can have.
    #[error("phone number is too long ({digits} digits, at most {max})")]
    PhoneTooLong {
        /// Number of digits found.
        digits: usize,
        /// The limit.
        max: usize,
    },
    /// The default region is not a known ISO 3166 alpha-2 code.
    #[error("unknown phone region {0:?} (expected an ISO 3166 alpha-2 code such as \"IR\")")]
    PhoneUnknownRegion(String),
    /// The number could not be parsed (for instance a national number with
    /// no region to interpret it in, or an unknown country calling code).
    #[error("phone number could not be parsed: {0}")]
    PhoneUnparsable(String),
    /// The number parsed but is not a valid number for its region.
    #[error("phone number is not a valid number")]
    PhoneInvalid,
}
