//! Timestamp parsing: local PBX time with a configured offset, to UTC.

use time::macros::format_description;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Resolves the configured offset, or explains why it is invalid.
pub(crate) fn offset(secs: i32) -> Result<UtcOffset, String> {
    UtcOffset::from_whole_seconds(secs).map_err(|_| format!("invalid utc_offset_secs {secs}"))
}

/// Attaches `offset` to a local time and converts it to UTC without panicking. Years outside
/// 0000–9999 (`-2025-03-01` parses as year −2025) are refused: RFC 3339 cannot write them, so
/// such a record could not be serialised (found by fuzzing, `fuzz/regressions/voice_logs/`).
fn to_utc(local: PrimitiveDateTime, offset: UtcOffset) -> Result<OffsetDateTime, String> {
    local
        .assume_offset(offset)
        .checked_to_offset(UtcOffset::UTC)
        .filter(|t| (0..=9999).contains(&t.year()))
        .ok_or_else(|| "timestamp out of range".to_string())
}

/// Parses `YYYY-MM-DD HH:MM:SS` (Asterisk and FreeSWITCH) as local time.
pub(crate) fn parse_iso_local(
    s: &str,
    offset: UtcOffset,
    what: &str,
) -> Result<OffsetDateTime, String> {
    let fmt = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let t = s.trim();
    let local = PrimitiveDateTime::parse(t, fmt)
        .map_err(|_| format!("invalid {what} date: {:?}", crate::lines::truncate(t)))?;
    to_utc(local, offset)
}

/// Like [`parse_iso_local`] but an empty field yields `None`.
pub(crate) fn parse_iso_local_opt(
    s: &str,
    offset: UtcOffset,
    what: &str,
) -> Result<Option<OffsetDateTime>, String> {
    if s.trim().is_empty() {
        Ok(None)
    } else {
        parse_iso_local(s, offset, what).map(Some)
    }
}

/// Parses HylaFAX `MM/DD/YY HH:MM` (a 4-digit year and trailing `:SS` are
/// tolerated). Two-digit years below 70 are 20xx, others 19xx.
pub(crate) fn parse_hylafax_local(s: &str, offset: UtcOffset) -> Result<OffsetDateTime, String> {
    let bad = || format!("invalid date: {:?}", crate::lines::truncate(s.trim()));
    let (date, clock) = s.trim().split_once(' ').ok_or_else(bad)?;
    let mut d = date.split('/');
    let (Some(mm), Some(dd), Some(yy), None) = (d.next(), d.next(), d.next(), d.next()) else {
        return Err(bad());
    };
    let mut c = clock.trim().split(':');
    let (Some(h), Some(mi)) = (c.next(), c.next()) else {
        return Err(bad());
    };
    let sec = c.next();
    if c.next().is_some() {
        return Err(bad());
    }
    let num = |v: &str, max_len: usize| -> Result<u16, String> {
        if v.is_empty() || v.len() > max_len || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        v.parse::<u16>().map_err(|_| bad())
    };
    let year = match yy.len() {
        2 => {
            let y = num(yy, 2)?;
            if y < 70 {
                2000 + y
            } else {
                1900 + y
            }
        }
        4 => num(yy, 4)?,
        _ => return Err(bad()),
    };
    let month = u8::try_from(num(mm, 2)?)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or_else(bad)?;
    let day = u8::try_from(num(dd, 2)?).map_err(|_| bad())?;
    let hour = u8::try_from(num(h, 2)?).map_err(|_| bad())?;
    let minute = u8::try_from(num(mi, 2)?).map_err(|_| bad())?;
    let second = match sec {
        Some(v) => u8::try_from(num(v, 2)?).map_err(|_| bad())?,
        None => 0,
    };
    let date = Date::from_calendar_date(i32::from(year), month, day).map_err(|_| bad())?;
    let time = Time::from_hms(hour, minute, second).map_err(|_| bad())?;
    to_utc(PrimitiveDateTime::new(date, time), offset)
}

/// Adds whole seconds without panicking on overflow.
pub(crate) fn plus_secs(t: OffsetDateTime, secs: u32) -> Option<OffsetDateTime> {
    t.checked_add(time::Duration::seconds(i64::from(secs)))
        .filter(|t| t.year() <= 9999)
}
