//! Parsing the fields of an order as they arrive from people and shops: amounts, currencies
//! and times. Errors are sentences for the import report and the API's 422 answers.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

/// Fixed-point scale of stored amounts: ten-thousandths (no currency has more decimals).
pub const AMOUNT_SCALE: i64 = 10_000;

/// An amount such as `1250000`, `-19.99` or `۱۲۵۰۰۰۰` (Persian or Arabic-Indic digits, `٫`
/// as the decimal mark) in ten-thousandths, exactly.
pub fn amount(raw: &str) -> Result<i64, String> {
    let folded = switchboard_text::fold_digits(raw.trim()).replace('٫', ".");
    let bad = || format!("`{raw}` is not an amount (digits, optional sign and up to 4 decimals)");
    let (negative, digits) = match folded.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, folded.strip_prefix('+').unwrap_or(&folded)),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || frac.len() > 4 || !all_digits(whole) || !all_digits(frac) {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let frac: i64 = format!("{frac:0<4}").parse().map_err(|_| bad())?;
    let value = whole
        .checked_mul(AMOUNT_SCALE)
        .and_then(|w| w.checked_add(frac))
        .ok_or_else(|| format!("`{raw}` is too large"))?;
    Ok(if negative { -value } else { value })
}

/// A JSON amount: a number or a string as in [`amount`].
pub fn json_amount(v: &serde_json::Value) -> Result<i64, String> {
    match v {
        serde_json::Value::String(s) => amount(s),
        serde_json::Value::Number(n) => amount(&n.to_string()),
        _ => Err("`amount` must be a number or a string".into()),
    }
}

/// A currency code: three letters (ISO 4217, or IRT for the toman), upper-cased.
pub fn currency(raw: &str) -> Result<String, String> {
    let c = raw.trim().to_ascii_uppercase();
    if c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(c)
    } else {
        Err(format!(
            "`{raw}` is not a currency code (three letters, e.g. IRR, IRT, USD)"
        ))
    }
}

/// A time as Unix milliseconds: RFC 3339, `YYYY-MM-DD HH:MM:SS` (UTC), `YYYY-MM-DD` or
/// `YYYYMMDD` (midnight UTC).
pub fn time(raw: &str) -> Result<i64, String> {
    let s = switchboard_text::fold_digits(raw.trim());
    let at = if let Ok(t) = OffsetDateTime::parse(&s, &Rfc3339) {
        Some(t)
    } else if let Ok(t) = PrimitiveDateTime::parse(
        &s,
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
    ) {
        Some(t.assume_utc())
    } else if let Ok(t) = PrimitiveDateTime::parse(
        &s,
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
    ) {
        Some(t.assume_utc())
    } else if let Ok(d) = Date::parse(&s, format_description!("[year]-[month]-[day]")) {
        Some(d.midnight().assume_utc())
    } else if let Ok(d) = Date::parse(&s, format_description!("[year repr:full][month][day]")) {
        Some(d.midnight().assume_utc())
    } else {
        None
    };
    let at = at.ok_or_else(|| format!("`{raw}` is not a date or time (RFC 3339 or YYYY-MM-DD)"))?;
    Ok((at.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// An order's external id: 1–200 characters without control characters.
pub fn external_id(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    if s.is_empty() || s.chars().count() > 200 || s.chars().any(char::is_control) {
        Err("`external_id` must be 1–200 characters".into())
    } else {
        Ok(s.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_in_ten_thousandths() {
        assert_eq!(amount("19.99"), Ok(199_900));
        assert_eq!(amount("-5"), Ok(-50_000));
        assert_eq!(amount("۱۲۵۰۰۰۰"), Ok(12_500_000_000));
        assert_eq!(amount("2٫5"), Ok(25_000));
        assert!(amount("1.23456").is_err());
        assert!(amount("12abc").is_err());
        assert!(amount("").is_err());
        assert!(amount("99999999999999999999").is_err());
    }

    #[test]
    fn times_in_the_accepted_forms() {
        assert_eq!(time("1970-01-02"), Ok(86_400_000));
        assert_eq!(time("19700102"), Ok(86_400_000));
        assert_eq!(time("1970-01-01T00:00:01Z"), Ok(1000));
        assert_eq!(time("1970-01-01 00:00:01"), Ok(1000));
        assert_eq!(time("1970-01-01T03:30:00+03:30"), Ok(0));
        assert!(time("yesterday").is_err());
    }

    #[test]
    fn currencies_are_three_letters() {
        assert_eq!(currency("irt"), Ok("IRT".into()));
        assert!(currency("rial").is_err());
    }
}
