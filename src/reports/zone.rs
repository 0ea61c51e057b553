//! Local days and hours of a report's time zone (IANA names, the database bundled with jiff).

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// A time zone reports cut days and hours in.
#[derive(Clone, Debug)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl Zone {
    /// The zone of an IANA name (`Asia/Tehran`, `UTC`); `None` when unknown.
    pub fn named(name: &str) -> Option<Zone> {
        TimeZone::get(name.trim()).ok().map(|tz| Zone {
            name: name.trim().to_string(),
            tz,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn zoned(&self, ms: i64) -> jiff::Zoned {
        Timestamp::from_millisecond(ms)
            .unwrap_or(Timestamp::UNIX_EPOCH)
            .to_zoned(self.tz.clone())
    }

    /// The local date of an instant.
    pub fn day_of(&self, ms: i64) -> Date {
        self.zoned(ms).date()
    }

    /// The local hour (0–23) of an instant.
    pub fn hour_of(&self, ms: i64) -> i64 {
        i64::from(self.zoned(ms).hour())
    }

    /// The first instant (Unix ms) of a local date.
    pub fn start_of(&self, day: Date) -> i64 {
        day.to_zoned(self.tz.clone())
            .map(|z| z.timestamp().as_millisecond())
            .unwrap_or(0)
    }
}

/// `YYYY-MM-DD`.
pub fn day_key(day: Date) -> String {
    day.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tehran_days_start_at_half_past_eight_the_evening_before_in_utc() {
        let z = Zone::named("Asia/Tehran").unwrap();
        let day: Date = "2026-03-01".parse().unwrap();
        let start: Timestamp = "2026-02-28T20:30:00Z".parse().unwrap();
        assert_eq!(z.start_of(day), start.as_millisecond());
        assert_eq!(
            z.day_of(start.as_millisecond() - 1).to_string(),
            "2026-02-28"
        );
        assert_eq!(z.day_of(start.as_millisecond()).to_string(), "2026-03-01");
        assert_eq!(z.hour_of(start.as_millisecond() + 3_600_000), 1);
        assert!(Zone::named("Mars/Olympus").is_none());
    }
}
