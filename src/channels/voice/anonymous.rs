//! Calls and faxes whose caller cannot be identified (number withheld, `anonymous`,
//! `restricted`, `unknown`, FreeSWITCH's `0000000000`, a HylaFAX TSI that is no number …).
//!
//! They are kept, on one shared customer profile named [`ANONYMOUS_NAME`], which owns the
//! reserved identity kind [`ANONYMOUS_KIND`] (value [`ANONYMOUS_VALUE`]); the identity API
//! accepts only `email`, `phone`, `visitor` and `external`, so no agent can claim it. Each such
//! entry is marked `"anonymous": true` in its meta and logged in a new resolved conversation:
//! it never joins another conversation (the callers are unrelated people) and a missed
//! anonymous call opens no callback (there is nobody to call back).

use super::contact::normalise_number;
use crate::customers;
use crate::store::{StoreResult, Tx};
use switchboard_voice::{digit_value, CallRecord, Direction};

pub use crate::customers::ANONYMOUS_KIND;
/// Identity value of the shared anonymous-caller profile.
pub const ANONYMOUS_VALUE: &str = "phone";
/// Name of the shared anonymous-caller profile.
pub const ANONYMOUS_NAME: &str = "Anonymous caller";
/// How an anonymous caller is named in conversation subjects.
pub const ANONYMOUS_SHOWN: &str = "an anonymous caller";

/// Who a record is with, as far as choosing the customer goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Party {
    /// A normalised number (E.164 where possible).
    Number(String),
    /// A caller who withheld their number, or whose number is unusable.
    Anonymous,
}

/// True for a logged number that identifies nobody: no digits at all (empty, `anonymous`,
/// `Restricted`, `unavailable`, `private` …) or only zeros (FreeSWITCH's `0000000000`).
pub fn is_withheld(raw: &str) -> bool {
    let mut digits = raw.chars().filter_map(digit_value).peekable();
    digits.peek().is_none() || digits.all(|d| d == 0)
}

/// The number a record is matched by: the caller for inbound calls (and unknown direction),
/// the called number for outbound ones.
pub fn customer_raw(rec: &CallRecord) -> &str {
    match rec.direction {
        Direction::Outbound => &rec.to,
        _ => &rec.from,
    }
}

/// Who the customer of `rec` is. An inbound caller whose number is withheld or unusable is
/// [`Party::Anonymous`]; an outbound call to such a number is an error (user-facing reason).
pub fn customer_party(rec: &CallRecord, region: &str) -> Result<Party, String> {
    party(
        customer_raw(rec),
        rec.direction == Direction::Outbound,
        region,
    )
}

/// [`customer_party`] of the number `raw`, called (`outbound`) or calling.
pub fn party(raw: &str, outbound: bool, region: &str) -> Result<Party, String> {
    let number = if is_withheld(raw) {
        None
    } else {
        normalise_number(raw, region)
    };
    match number {
        Some(n) => Ok(Party::Number(n)),
        None if outbound => Err(format!("no usable customer number ({raw:?})")),
        None => Ok(Party::Anonymous),
    }
}

/// The shared anonymous-caller profile, created on first use (safe against concurrent
/// creators, like any identity).
pub async fn anonymous_customer(tx: &mut Tx) -> StoreResult<String> {
    let (id, _) = customers::find_or_create(
        tx,
        ANONYMOUS_KIND,
        ANONYMOUS_VALUE,
        ANONYMOUS_VALUE,
        Some(ANONYMOUS_NAME),
    )
    .await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::is_withheld;

    #[test]
    fn withheld_numbers_are_recognised() {
        for raw in [
            "",
            "  ",
            "anonymous",
            "Anonymous",
            "restricted",
            "unknown",
            "unavailable",
            "private",
            "0000000000",
            "۰۰۰۰",
            "<unknown>",
        ] {
            assert!(is_withheld(raw), "{raw:?}");
        }
        for raw in ["09121234567", "۰۹۱۲۱۲۳۴۵۶۷", "101", "+98 21 8877 6655", "0"] {
            assert_eq!(is_withheld(raw), raw == "0", "{raw:?}");
        }
    }
}
