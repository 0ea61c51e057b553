//! The calendar as written in the API: weekly `["HH:MM", "HH:MM"]` ranges per day (Saturday
//! first), an IANA time zone and holidays as Gregorian ISO dates; parsing and validation.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Weekday names in the order the API and the console show them (Saturday-first week).
pub const DAYS: [&str; 7] = [
    "saturday",
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
];

/// Opening hours per weekday: `[open, close)` local times `"HH:MM"` (close may be `"24:00"`);
/// an empty or absent day is closed. A range may not cross midnight: split it over two days.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Weekly {
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(value_type = Vec<Vec<String>>))]
    pub saturday: Vec<[String; 2]>,
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(value_type = Vec<Vec<String>>))]
    pub sunday: Vec<[String; 2]>,
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(value_type = Vec<Vec<String>>))]
    pub monday: Vec<[String; 2]>,
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(value_type = Vec<Vec<String>>))]
    pub tuesday: Vec<[String; 2]>,
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(value_type = Vec<Vec<String>>))]
    pub wednesday: Vec<[String; 2]>,
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(value_type = Vec<Vec<String>>))]
    pub thursday: Vec<[String; 2]>,
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(value_type = Vec<Vec<String>>))]
    pub friday: Vec<[String; 2]>,
}

impl Weekly {
    /// The days Saturday first, each with its name.
    pub fn days(&self) -> [(&'static str, &Vec<[String; 2]>); 7] {
        [
            (DAYS[0], &self.saturday),
            (DAYS[1], &self.sunday),
            (DAYS[2], &self.monday),
            (DAYS[3], &self.tuesday),
            (DAYS[4], &self.wednesday),
            (DAYS[5], &self.thursday),
            (DAYS[6], &self.friday),
        ]
    }

    /// Build from ranges in minutes after midnight, Saturday first.
    pub(crate) fn from_minutes(days: &[Vec<(u16, u16)>; 7]) -> Weekly {
        let f = |i: usize| -> Vec<[String; 2]> {
            days[i]
                .iter()
                .map(|&(o, c)| [format_minute(o), format_minute(c)])
                .collect()
        };
        Weekly {
            saturday: f(0),
            sunday: f(1),
            monday: f(2),
            tuesday: f(3),
            wednesday: f(4),
            thursday: f(5),
            friday: f(6),
        }
    }
}

/// A whole calendar as the API reads and writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spec {
    /// IANA time zone name, e.g. `Asia/Tehran`.
    pub time_zone: String,
    pub weekly: Weekly,
    /// Closed days, Gregorian `YYYY-MM-DD` in the calendar's time zone.
    #[serde(default)]
    pub holidays: Vec<String>,
}

/// Why a calendar was refused; [`CalendarError::code`] is the API's machine code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalendarError {
    UnknownTimeZone(String),
    /// A time that is not `HH:MM` (00:00–23:59, or 24:00 as a closing time).
    InvalidTime {
        day: &'static str,
        value: String,
    },
    /// A range whose close is not after its open.
    InvalidRange {
        day: &'static str,
    },
    OverlappingRanges {
        day: &'static str,
    },
    InvalidDate(String),
    /// No day has any hours: the calendar would never open.
    NoOpenHours,
}

impl CalendarError {
    pub fn code(&self) -> &'static str {
        match self {
            CalendarError::UnknownTimeZone(_) => "unknown_time_zone",
            CalendarError::InvalidTime { .. } => "invalid_time",
            CalendarError::InvalidRange { .. } => "invalid_range",
            CalendarError::OverlappingRanges { .. } => "overlapping_ranges",
            CalendarError::InvalidDate(_) => "invalid_date",
            CalendarError::NoOpenHours => "no_open_hours",
        }
    }
}

impl fmt::Display for CalendarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CalendarError::UnknownTimeZone(z) => write!(
                f,
                "unknown time zone `{z}` (use an IANA name such as Asia/Tehran)"
            ),
            CalendarError::InvalidTime { day, value } => {
                write!(f, "{day}: `{value}` is not a time HH:MM (00:00–24:00)")
            }
            CalendarError::InvalidRange { day } => {
                write!(f, "{day}: each range closes after it opens (split ranges that cross midnight over two days)")
            }
            CalendarError::OverlappingRanges { day } => write!(f, "{day}: ranges overlap"),
            CalendarError::InvalidDate(d) => {
                write!(f, "holiday `{d}` is not a date YYYY-MM-DD")
            }
            CalendarError::NoOpenHours => write!(f, "at least one day needs opening hours"),
        }
    }
}

impl std::error::Error for CalendarError {}

/// `"HH:MM"` → minutes after midnight; `"24:00"` only when `closing`.
pub(crate) fn parse_minute(s: &str, closing: bool) -> Option<u16> {
    let b = s.as_bytes();
    if b.len() != 5 || b[2] != b':' || ![0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_digit()) {
        return None;
    }
    let h = u16::from(b[0] - b'0') * 10 + u16::from(b[1] - b'0');
    let m = u16::from(b[3] - b'0') * 10 + u16::from(b[4] - b'0');
    match (h, m) {
        (24, 0) if closing => Some(1440),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

pub(crate) fn format_minute(m: u16) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// One day's ranges, checked and sorted by opening time.
pub(crate) fn parse_day(
    day: &'static str,
    ranges: &[[String; 2]],
) -> Result<Vec<(u16, u16)>, CalendarError> {
    let bad = |v: &str| CalendarError::InvalidTime {
        day,
        value: v.to_string(),
    };
    let mut out = Vec::with_capacity(ranges.len());
    for [open, close] in ranges {
        let o = parse_minute(open, false).ok_or_else(|| bad(open))?;
        let c = parse_minute(close, true).ok_or_else(|| bad(close))?;
        if c <= o {
            return Err(CalendarError::InvalidRange { day });
        }
        out.push((o, c));
    }
    out.sort_unstable();
    if out.windows(2).any(|w| w[0].1 > w[1].0) {
        return Err(CalendarError::OverlappingRanges { day });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_strictly() {
        assert_eq!(parse_minute("08:30", false), Some(510));
        assert_eq!(parse_minute("00:00", false), Some(0));
        assert_eq!(parse_minute("23:59", false), Some(1439));
        assert_eq!(parse_minute("24:00", true), Some(1440));
        assert_eq!(parse_minute("24:00", false), None);
        assert_eq!(parse_minute("8:30", false), None);
        assert_eq!(parse_minute("08:60", false), None);
        assert_eq!(parse_minute("25:00", true), None);
        assert_eq!(parse_minute("08-30", false), None);
        assert_eq!(parse_minute("۰۸:۳۰", false), None);
        assert_eq!(format_minute(510), "08:30");
        assert_eq!(format_minute(1440), "24:00");
    }

    #[test]
    fn days_are_sorted_and_overlaps_refused() {
        let r = |a: &str, b: &str| [a.to_string(), b.to_string()];
        assert_eq!(
            parse_day("monday", &[r("13:00", "17:00"), r("08:00", "12:00")]).unwrap(),
            vec![(480, 720), (780, 1020)]
        );
        // Touching ranges are fine; overlapping ones are not.
        assert!(parse_day("monday", &[r("08:00", "12:00"), r("12:00", "13:00")]).is_ok());
        assert_eq!(
            parse_day("monday", &[r("08:00", "12:01"), r("12:00", "13:00")]),
            Err(CalendarError::OverlappingRanges { day: "monday" })
        );
        assert_eq!(
            parse_day("friday", &[r("22:00", "02:00")]),
            Err(CalendarError::InvalidRange { day: "friday" })
        );
        assert_eq!(
            parse_day("friday", &[r("09:00", "09:00")]),
            Err(CalendarError::InvalidRange { day: "friday" })
        );
        assert_eq!(
            parse_day("sunday", &[r("9", "10:00")]).unwrap_err().code(),
            "invalid_time"
        );
    }
}
