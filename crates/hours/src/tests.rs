//! Hand-computed cases. Tehran is UTC+03:30 all year (no daylight saving since 2022); Berlin is
//! UTC+01:00 (CET) and UTC+02:00 (CEST) from 2027-03-28 02:00 local to 2027-10-31 03:00 local.
//! 2027-03-24 is a Wednesday.

use super::*;

const H: i64 = 3_600_000;
const MIN: i64 = 60_000;

fn at(rfc3339: &str) -> i64 {
    rfc3339.parse::<Timestamp>().unwrap().as_millisecond()
}

fn r(open: &str, close: &str) -> [String; 2] {
    [open.to_string(), close.to_string()]
}

fn cal(tz: &str, weekly: Weekly, holidays: &[&str]) -> Calendar {
    Calendar::new(&Spec {
        time_zone: tz.into(),
        weekly,
        holidays: holidays.iter().map(|h| h.to_string()).collect(),
    })
    .unwrap()
}

/// Saturday–Wednesday 08:00–17:00, Thursday 08:00–13:00, Friday closed; 2027-03-21 a holiday.
fn tehran() -> Calendar {
    let day = || vec![r("08:00", "17:00")];
    let weekly = Weekly {
        saturday: day(),
        sunday: day(),
        monday: day(),
        tuesday: day(),
        wednesday: day(),
        thursday: vec![r("08:00", "13:00")],
        friday: vec![],
    };
    cal("Asia/Tehran", weekly, &["2027-03-21"])
}

#[test]
fn tehran_opens_by_local_weekday_and_time() {
    let c = tehran();
    // Wednesday 16:00 Tehran = 12:30 UTC: open; 17:00 (close) is not.
    assert!(c.is_open(at("2027-03-24T12:30:00Z")));
    assert!(!c.is_open(at("2027-03-24T13:30:00Z")));
    assert!(c.is_open(at("2027-03-24T13:29:59.999Z")));
    // 07:59 closed, 08:00 open.
    assert!(!c.is_open(at("2027-03-24T04:29:00Z")));
    assert!(c.is_open(at("2027-03-24T04:30:00Z")));
    // Thursday half day: 12:59 open, 13:00 closed.
    assert!(c.is_open(at("2027-03-25T09:29:00Z")));
    assert!(!c.is_open(at("2027-03-25T09:30:00Z")));
    // Friday 10:00 closed.
    assert!(!c.is_open(at("2027-03-26T06:30:00Z")));
    // Sunday 2027-03-21 10:00 is a holiday; Monday 10:00 is open.
    assert!(!c.is_open(at("2027-03-21T06:30:00Z")));
    assert!(c.is_open(at("2027-03-22T06:30:00Z")));
}

#[test]
fn sla_due_skips_the_weekend() {
    let c = tehran();
    let wed_1600 = at("2027-03-24T12:30:00Z");
    // 1 h on Wednesday (16–17) + 1 h on Thursday from 08:00 → Thursday 09:00 (05:30 UTC).
    assert_eq!(
        c.add_business_ms(wed_1600, 2 * H),
        at("2027-03-25T05:30:00Z")
    );
    // Ending exactly at closing time stays on Wednesday.
    assert_eq!(c.add_business_ms(wed_1600, H), at("2027-03-24T13:30:00Z"));
    // 7 h: Wednesday 1 h + Thursday 5 h, Friday closed, Saturday 1 h → Saturday 09:00.
    assert_eq!(
        c.add_business_ms(wed_1600, 7 * H),
        at("2027-03-27T05:30:00Z")
    );
    // Starting on Friday: the clock starts Saturday 08:00; 30 min → 08:30 (05:00 UTC).
    assert_eq!(
        c.add_business_ms(at("2027-03-26T06:30:00Z"), 30 * MIN),
        at("2027-03-27T05:00:00Z")
    );
    assert_eq!(c.add_business_ms(wed_1600, 0), wed_1600);
}

#[test]
fn thursday_and_friday_closed_is_due_saturday() {
    let day = || vec![r("08:00", "17:00")];
    let weekly = Weekly {
        saturday: day(),
        sunday: day(),
        monday: day(),
        tuesday: day(),
        wednesday: day(),
        ..Weekly::default()
    };
    let c = cal("Asia/Tehran", weekly, &[]);
    // Wednesday 16:00 + 2 h → Saturday 09:00 Tehran = 05:30 UTC.
    assert_eq!(
        c.add_business_ms(at("2027-03-24T12:30:00Z"), 2 * H),
        at("2027-03-27T05:30:00Z")
    );
}

#[test]
fn business_time_between_instants() {
    let c = tehran();
    let wed_1600 = at("2027-03-24T12:30:00Z");
    // Wednesday 16:00 → Saturday 09:00: 1 + 5 + 0 + 1 = 7 h.
    assert_eq!(c.business_ms(wed_1600, at("2027-03-27T05:30:00Z")), 7 * H);
    // Saturday 16:00 → Monday 09:00 over the Sunday holiday: 1 + 0 + 1 = 2 h.
    assert_eq!(
        c.business_ms(at("2027-03-20T12:30:00Z"), at("2027-03-22T05:30:00Z")),
        2 * H
    );
    // A whole week from Saturday 00:00 Tehran: 5 × 9 h + 5 h = 50 h.
    assert_eq!(
        c.business_ms(at("2027-03-26T20:30:00Z"), at("2027-04-02T20:30:00Z")),
        50 * H
    );
    // Inside one range, and nothing outside hours.
    assert_eq!(c.business_ms(wed_1600, wed_1600 + 10 * MIN), 10 * MIN);
    assert_eq!(
        c.business_ms(at("2027-03-26T06:30:00Z"), at("2027-03-26T10:30:00Z")),
        0
    );
    assert_eq!(c.business_ms(wed_1600, wed_1600 - H), 0);
}

#[test]
fn next_open_finds_the_next_range() {
    let c = tehran();
    // Thursday 14:00 → Saturday 08:00 (04:30 UTC).
    assert_eq!(
        c.next_open(at("2027-03-25T10:30:00Z")),
        at("2027-03-27T04:30:00Z")
    );
    // Saturday 17:30 → Sunday is a holiday → Monday 08:00.
    assert_eq!(
        c.next_open(at("2027-03-20T14:00:00Z")),
        at("2027-03-22T04:30:00Z")
    );
    let open = at("2027-03-24T12:30:00Z");
    assert_eq!(c.next_open(open), open);
}

#[test]
fn night_shift_counts_across_midnight() {
    let night = || vec![r("00:00", "04:00"), r("20:00", "24:00")];
    let weekly = Weekly {
        saturday: night(),
        sunday: night(),
        monday: night(),
        tuesday: night(),
        wednesday: night(),
        thursday: night(),
        friday: night(),
    };
    let c = cal("Asia/Tehran", weekly, &[]);
    // Wednesday 23:00 Tehran = 19:30 UTC; + 2 h → Thursday 01:00 (21:30 UTC Wednesday).
    let wed_2300 = at("2027-03-24T19:30:00Z");
    assert_eq!(
        c.add_business_ms(wed_2300, 2 * H),
        at("2027-03-24T21:30:00Z")
    );
    // + 5 h: 1 h before midnight, 4 h after → Thursday 04:00 = 00:30 UTC.
    assert_eq!(
        c.add_business_ms(wed_2300, 5 * H),
        at("2027-03-25T00:30:00Z")
    );
    // + 6 h: then closed until Thursday 20:00 → 21:00 Thursday = 17:30 UTC.
    assert_eq!(
        c.add_business_ms(wed_2300, 6 * H),
        at("2027-03-25T17:30:00Z")
    );
    // Wednesday 22:00 → Thursday 03:00: 5 h without a gap at midnight.
    assert_eq!(
        c.business_ms(at("2027-03-24T18:30:00Z"), at("2027-03-24T23:30:00Z")),
        5 * H
    );
    assert!(c.is_open(at("2027-03-24T20:30:00Z")));
    assert!(!c.is_open(at("2027-03-25T00:30:00Z")));
}

fn berlin_office() -> Calendar {
    let day = || vec![r("09:00", "17:00")];
    let weekly = Weekly {
        monday: day(),
        tuesday: day(),
        wednesday: day(),
        thursday: day(),
        friday: day(),
        ..Weekly::default()
    };
    cal("Europe/Berlin", weekly, &[])
}

#[test]
fn berlin_office_hours_follow_the_march_change() {
    let c = berlin_office();
    // Friday 2027-03-26 09:00 CET = 08:00 UTC; Monday 2027-03-29 09:00 CEST = 07:00 UTC.
    assert!(!c.is_open(at("2027-03-26T07:30:00Z")));
    assert!(c.is_open(at("2027-03-26T08:00:00Z")));
    assert!(c.is_open(at("2027-03-29T07:30:00Z")));
    assert!(!c.is_open(at("2027-03-29T06:59:00Z")));
    // Friday 16:00 CET + 2 h → 1 h Friday, Monday 09:00 CEST + 1 h = 08:00 UTC.
    assert_eq!(
        c.add_business_ms(at("2027-03-26T15:00:00Z"), 2 * H),
        at("2027-03-29T08:00:00Z")
    );
    assert_eq!(
        c.next_open(at("2027-03-26T16:00:00Z")),
        at("2027-03-29T07:00:00Z")
    );
    // Friday 09:00 CET → Monday 17:00 CEST: 8 h + 8 h.
    assert_eq!(
        c.business_ms(at("2027-03-26T08:00:00Z"), at("2027-03-29T15:00:00Z")),
        16 * H
    );
}

#[test]
fn berlin_sundays_last_23_and_25_hours() {
    let weekly = Weekly {
        sunday: vec![r("00:00", "24:00")],
        ..Weekly::default()
    };
    let c = cal("Europe/Berlin", weekly, &[]);
    // 2027-03-28 00:00 CET = 03-27 23:00 UTC; 03-29 00:00 CEST = 03-28 22:00 UTC.
    assert_eq!(
        c.business_ms(at("2027-03-27T00:00:00Z"), at("2027-03-30T00:00:00Z")),
        23 * H
    );
    // Three hours of business time from Sunday's midnight end at 04:00 CEST = 02:00 UTC.
    assert_eq!(
        c.add_business_ms(at("2027-03-27T23:00:00Z"), 3 * H),
        at("2027-03-28T02:00:00Z")
    );
    // 2027-10-31 00:00 CEST = 10-30 22:00 UTC; 11-01 00:00 CET = 10-31 23:00 UTC: 25 h.
    assert_eq!(
        c.business_ms(at("2027-10-30T00:00:00Z"), at("2027-11-02T00:00:00Z")),
        25 * H
    );
    // A range over the spring gap: 01:00 CET (00:00 UTC) to 04:00 CEST (02:00 UTC).
    let over = Weekly {
        sunday: vec![r("01:00", "04:00")],
        ..Weekly::default()
    };
    let g = cal("Europe/Berlin", over, &[]);
    assert_eq!(
        g.business_ms(at("2027-03-27T12:00:00Z"), at("2027-03-28T12:00:00Z")),
        2 * H
    );
    // A range opening inside the gap: 02:30 does not exist and becomes 03:30 CEST (01:30 UTC).
    let inside = Weekly {
        sunday: vec![r("02:30", "04:00")],
        ..Weekly::default()
    };
    let g = cal("Europe/Berlin", inside, &[]);
    assert_eq!(
        g.next_open(at("2027-03-27T12:00:00Z")),
        at("2027-03-28T01:30:00Z")
    );
    assert_eq!(
        g.business_ms(at("2027-03-27T12:00:00Z"), at("2027-03-28T12:00:00Z")),
        30 * MIN
    );
}

#[test]
fn adding_then_measuring_gives_back_the_amount() {
    let c = tehran();
    let start = at("2027-03-19T09:17:00Z");
    for ms in [MIN, 3 * H, 9 * H, 40 * H, 200 * H + 7 * MIN] {
        let due = c.add_business_ms(start, ms);
        assert_eq!(c.business_ms(start, due), ms, "{ms}");
        assert!(c.is_open(due - 1), "{ms}");
    }
}

#[test]
fn bad_calendars_are_refused_with_a_code() {
    let spec = |tz: &str, holidays: &[&str]| Spec {
        time_zone: tz.into(),
        weekly: Weekly {
            monday: vec![r("09:00", "17:00")],
            ..Weekly::default()
        },
        holidays: holidays.iter().map(|h| h.to_string()).collect(),
    };
    let code = |s: Spec| Calendar::new(&s).unwrap_err().code();
    assert_eq!(code(spec("Mars/Olympus", &[])), "unknown_time_zone");
    assert_eq!(code(spec("UTC", &["2027-02-30"])), "invalid_date");
    assert_eq!(code(spec("UTC", &["21/03/2027"])), "invalid_date");
    assert_eq!(code(spec("UTC", &["20270321"])), "invalid_date");
    let mut empty = spec("UTC", &[]);
    empty.weekly.monday.clear();
    assert_eq!(code(empty), "no_open_hours");
    let mut overlap = spec("UTC", &[]);
    overlap.weekly.friday = vec![r("10:00", "12:00"), r("11:00", "13:00")];
    assert_eq!(code(overlap), "overlapping_ranges");
}

#[test]
fn the_normal_form_sorts_ranges_and_holidays() {
    let weekly = Weekly {
        saturday: vec![r("14:00", "18:00"), r("08:00", "12:00")],
        ..Weekly::default()
    };
    let c = cal(
        "Asia/Tehran",
        weekly,
        &["2027-03-22", "2027-03-21", "2027-03-22"],
    );
    let s = c.spec();
    assert_eq!(s.time_zone, "Asia/Tehran");
    assert_eq!(
        s.weekly.saturday,
        vec![r("08:00", "12:00"), r("14:00", "18:00")]
    );
    assert!(s.weekly.friday.is_empty());
    assert_eq!(s.holidays, vec!["2027-03-21", "2027-03-22"]);
}
