//! Text normalisation for Switchboard.
//!
//! Pure, allocation-light helpers that the server uses wherever user-typed
//! text is stored, compared or displayed:
//!
//! * [`fold_digits`] turns Persian and Arabic-Indic digits into ASCII digits.
//! * [`search_fold`] builds the normalised *search form* of a name or text, so
//!   that Arabic and Persian spellings of the same word (علي / علی) match.
//! * [`EmailAddress`] and [`PhoneNumber`] are validated, canonical contact
//!   identifiers (lowercased email; E.164 phone number).
//! * [`phone_search_prefix`] turns a partly typed number (`۰۹۱۲`) into the start of the
//!   E.164 numbers it may be (`+98912`).
//! * [`detect_direction`] picks the text direction for `dir` attributes.
//!
//! The crate has no I/O and no global state; every function is deterministic.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod direction;
mod email;
mod error;
mod fold;
mod phone;
mod phone_prefix;

pub use direction::{detect_direction, Direction};
pub use email::EmailAddress;
pub use error::TextError;
pub use fold::{fold_digits, search_fold};
pub use phone::PhoneNumber;
pub use phone_prefix::phone_search_prefix;
