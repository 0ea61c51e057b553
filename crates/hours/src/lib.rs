//! Business-hours calendars without I/O: weekly opening hours in an IANA time zone, with
//! holidays, and what SLA clocks and reports need from them on Unix milliseconds — whether it
//! is open, the business time between two instants, and the instant a given amount of business
//! time has passed.
//!
//! Hours are local (wall-clock) times, so a day's opening moves with daylight saving: on the
//! day clocks go forward an 08:00–17:00 day still opens at 08:00 local. Local times that do
//! not exist (in a spring-forward gap) or exist twice (in a fall-back fold) are resolved the
//! usual way (`jiff`'s "compatible" rule: a gap time moves forward by the gap, a fold time
//! takes the earlier instant). Time zones come from the IANA database bundled into `jiff`.

mod spec;

pub use spec::{CalendarError, Spec, Weekly, DAYS};

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use std::collections::BTreeSet;

/// A checked calendar, ready to answer questions about instants.
#[derive(Debug, Clone)]
pub struct Calendar {
    time_zone: String,
    tz: TimeZone,
    /// Ranges in minutes after local midnight, Saturday first, sorted, not overlapping.
    days: [Vec<(u16, u16)>; 7],
    holidays: BTreeSet<Date>,
}

impl Calendar {
    /// Check a calendar: a known time zone, valid non-overlapping ranges, at least one open
    /// day, and holidays that are ISO dates.
    pub fn new(spec: &Spec) -> Result<Calendar, CalendarError> {
        let tz = TimeZone::get(&spec.time_zone)
            .map_err(|_| CalendarError::UnknownTimeZone(spec.time_zone.clone()))?;
        let mut days: [Vec<(u16, u16)>; 7] = Default::default();
        for (i, (name, ranges)) in spec.weekly.days().into_iter().enumerate() {
            days[i] = spec::parse_day(name, ranges)?;
        }
        if days.iter().all(Vec::is_empty) {
            return Err(CalendarError::NoOpenHours);
        }
        let mut holidays = BTreeSet::new();
        for h in &spec.holidays {
            let d: Date = h
                .parse()
                .ok()
                .filter(|_| h.len() == 10)
                .ok_or_else(|| CalendarError::InvalidDate(h.clone()))?;
            holidays.insert(d);
        }
        Ok(Calendar {
            time_zone: spec.time_zone.clone(),
            tz,
            days,
            holidays,
        })
    }

    /// The calendar written back in its normal form: ranges sorted, holidays sorted once each.
    pub fn spec(&self) -> Spec {
        Spec {
            time_zone: self.time_zone.clone(),
            weekly: Weekly::from_minutes(&self.days),
            holidays: self.holidays.iter().map(|d| d.to_string()).collect(),
        }
    }

    /// Whether the calendar is open at `at_ms`.
    pub fn is_open(&self, at_ms: i64) -> bool {
        let d = self.local_date(at_ms);
        [d.yesterday().ok(), Some(d)]
            .into_iter()
            .flatten()
            .flat_map(|d| self.open_on(d))
            .any(|(s, e)| s <= at_ms && at_ms < e)
    }

    /// Business time in milliseconds between two instants (0 when `to_ms <= from_ms`).
    pub fn business_ms(&self, from_ms: i64, to_ms: i64) -> i64 {
        if to_ms <= from_ms {
            return 0;
        }
        let last = self.local_date(to_ms);
        let mut total = 0;
        let mut day = self.first_day(from_ms);
        while let Some(d) = day.filter(|d| *d <= last) {
            for (s, e) in self.open_on(d) {
                total += (e.min(to_ms) - s.max(from_ms)).max(0);
            }
            day = d.tomorrow().ok();
        }
        total
    }

    /// The instant at which `ms` of business time have passed since `from_ms` (an SLA due
    /// time); `from_ms` itself when `ms <= 0`.
    pub fn add_business_ms(&self, from_ms: i64, ms: i64) -> i64 {
        if ms <= 0 {
            return from_ms;
        }
        let mut left = ms;
        let mut day = self.first_day(from_ms);
        while let Some(d) = day {
            for (s, e) in self.open_on(d) {
                let s = s.max(from_ms);
                if e <= s {
                    continue;
                }
                if left <= e - s {
                    return s + left;
                }
                left -= e - s;
            }
            day = d.tomorrow().ok();
        }
        i64::MAX
    }

    /// `at_ms` when open then, otherwise the next instant the calendar opens.
    pub fn next_open(&self, at_ms: i64) -> i64 {
        let mut day = self.first_day(at_ms);
        while let Some(d) = day {
            if let Some((s, _)) = self.open_on(d).find(|&(_, e)| e > at_ms) {
                return s.max(at_ms);
            }
            day = d.tomorrow().ok();
        }
        i64::MAX
    }

    /// The IANA name the calendar was made with.
    pub fn time_zone(&self) -> &str {
        &self.time_zone
    }

    /// The local date at an instant (clamped to the years jiff supports).
    fn local_date(&self, ms: i64) -> Date {
        let ts = Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 {
            Timestamp::MIN
        } else {
            Timestamp::MAX
        });
        self.tz.to_datetime(ts).date()
    }

    /// The day before the local date of `ms`: its ranges end by local midnight, but in a
    /// zone whose offset changes around midnight one of them may still cover `ms`.
    fn first_day(&self, ms: i64) -> Option<Date> {
        let d = self.local_date(ms);
        Some(d.yesterday().unwrap_or(d))
    }

    /// A local date's open intervals as instants `[start, end)`; none on a holiday.
    fn open_on(&self, date: Date) -> impl Iterator<Item = (i64, i64)> + '_ {
        let ranges: &[(u16, u16)] = if self.holidays.contains(&date) {
            &[]
        } else {
            let sunday_zero = date.weekday().to_sunday_zero_offset() as usize;
            &self.days[(sunday_zero + 1) % 7]
        };
        ranges
            .iter()
            .filter_map(move |&(o, c)| Some((self.instant(date, o)?, self.instant(date, c)?)))
            .filter(|(s, e)| s < e)
    }

    /// The instant of a local date and minute after midnight (1440 = the next midnight).
    fn instant(&self, date: Date, minute: u16) -> Option<i64> {
        let (date, minute) = if minute >= 1440 {
            (date.tomorrow().ok()?, 0)
        } else {
            (date, minute)
        };
        let dt = date.at((minute / 60) as i8, (minute % 60) as i8, 0, 0);
        let ts = self.tz.to_timestamp(dt).ok()?;
        Some(ts.as_millisecond())
    }
}

/// Two calendars are equal when they have the same zone name, hours and holidays.
impl PartialEq for Calendar {
    fn eq(&self, other: &Self) -> bool {
        self.time_zone == other.time_zone
            && self.days == other.days
            && self.holidays == other.holidays
    }
}

#[cfg(test)]
mod tests;
