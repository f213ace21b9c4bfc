//! The clock and the date formats: every "now" and every date string of the
//! crate comes from here, so that there is one reading of the clock and one
//! calendar computation.
//!
//! Times are seconds since the Unix epoch, in UTC; there are no time zones.
//! Formats: RFC 2822 (deb-changelog(5) and the `Date` of a Release file),
//! ISO 8601 / RFC 3339 (JUnit reports), `ymd_hm` and `ymd` (what people
//! read in our listings). HTTP dates stay with the `httpdate` crate: its
//! IMF-fixdate format and its parser of the three HTTP formats are exactly
//! what RFC 9110 §5.6.7 asks for, and nothing else needs them.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch now (0 if the clock is before it).
pub fn unix_now() -> u64 {
    unix_secs(SystemTime::now())
}

/// Nanoseconds since the Unix epoch now (0 before it, `u64::MAX` after 2554):
/// for names that must differ between two calls, not for dates.
pub fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Whole seconds since the Unix epoch of `time` (0 for a time before it).
pub fn unix_secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A Unix time held unsigned (records, key dates) as the signed seconds the
/// formats take; beyond `i64::MAX` it saturates.
pub fn signed(secs: u64) -> i64 {
    i64::try_from(secs).unwrap_or(i64::MAX)
}

/// `Tue, 01 Jan 2024 00:00:00 +0000` (RFC 2822, UTC), as deb-changelog(5)
/// and Release files write dates.
pub fn rfc2822(time: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let Civil {
        days,
        year,
        month,
        day,
        secs,
    } = Civil::of(time);
    // 1970-01-01 was a Thursday; rem_euclid keeps days before it positive.
    let weekday = DAYS[days.rem_euclid(7) as usize];
    format!(
        "{weekday}, {day:02} {} {year:04} {:02}:{:02}:{:02} +0000",
        MONTHS[(month - 1) as usize],
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// `2024-01-01T00:00:00Z` (ISO 8601 and RFC 3339, UTC), as JUnit reports
/// show times.
pub fn iso8601(time: i64) -> String {
    let c = Civil::of(time);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year,
        c.month,
        c.day,
        c.secs / 3600,
        c.secs / 60 % 60,
        c.secs % 60
    )
}

/// `2024-01-01 00:00` (UTC), as `dpkg-deb --contents` shows times.
pub fn ymd_hm(time: i64) -> String {
    let c = Civil::of(time);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        c.year,
        c.month,
        c.day,
        c.secs / 3600,
        c.secs / 60 % 60
    )
}

/// `2024-01-01` (UTC).
pub fn ymd(time: i64) -> String {
    let c = Civil::of(time);
    format!("{:04}-{:02}-{:02}", c.year, c.month, c.day)
}

/// A Unix time split into its day (since the epoch), its calendar date and
/// the seconds into that day.
struct Civil {
    days: i64,
    year: i64,
    month: i64,
    day: i64,
    secs: i64,
}

impl Civil {
    /// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian, UTC;
    /// <https://howardhinnant.github.io/date_algorithms.html#civil_from_days>).
    fn of(time: i64) -> Self {
        let days = time.div_euclid(86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        Self {
            days,
            year: yoe + era * 400 + i64::from(month <= 2),
            month,
            day,
            secs: time.rem_euclid(86_400),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::time::Duration;

    /// Each row checked against `date -u -d @T` (GNU date).
    #[test]
    fn formats_known_times() {
        let rows: [(i64, &str, &str, &str); 7] = [
            // The epoch.
            (
                0,
                "Thu, 01 Jan 1970 00:00:00 +0000",
                "1970-01-01T00:00:00Z",
                "1970-01-01 00:00",
            ),
            // The second before it.
            (
                -1,
                "Wed, 31 Dec 1969 23:59:59 +0000",
                "1969-12-31T23:59:59Z",
                "1969-12-31 23:59",
            ),
            // 29 February of a leap year divisible by 400.
            (
                951_782_400,
                "Tue, 29 Feb 2000 00:00:00 +0000",
                "2000-02-29T00:00:00Z",
                "2000-02-29 00:00",
            ),
            // The day after 28 February in 2100, not a leap year.
            (
                4_107_542_400,
                "Mon, 01 Mar 2100 00:00:00 +0000",
                "2100-03-01T00:00:00Z",
                "2100-03-01 00:00",
            ),
            // 29 February 2024 and the last second of that leap year.
            (
                1_709_164_800,
                "Thu, 29 Feb 2024 00:00:00 +0000",
                "2024-02-29T00:00:00Z",
                "2024-02-29 00:00",
            ),
            (
                1_735_689_599,
                "Tue, 31 Dec 2024 23:59:59 +0000",
                "2024-12-31T23:59:59Z",
                "2024-12-31 23:59",
            ),
            (
                1_700_000_000,
                "Tue, 14 Nov 2023 22:13:20 +0000",
                "2023-11-14T22:13:20Z",
                "2023-11-14 22:13",
            ),
        ];
        for (time, rfc, iso, short) in rows {
            assert_eq!(
                (rfc2822(time), iso8601(time), ymd_hm(time), ymd(time)),
                (
                    rfc.to_owned(),
                    iso.to_owned(),
                    short.to_owned(),
                    short[..10].to_owned()
                ),
                "{time}"
            );
        }
    }

    #[test]
    fn clocks_read_seconds_since_the_epoch() {
        assert_eq!(unix_secs(UNIX_EPOCH), 0);
        assert_eq!(unix_secs(UNIX_EPOCH - Duration::from_secs(5)), 0);
        assert_eq!(unix_secs(UNIX_EPOCH + Duration::from_millis(2_500)), 2);
        // After 2023-11-14 and within a second of the nanosecond clock.
        let now = unix_now();
        assert!(now > 1_700_000_000, "{now}");
        assert!(unix_nanos() / 1_000_000_000 >= now);
        assert_eq!(signed(7), 7);
        assert_eq!(signed(u64::MAX), i64::MAX);
        // Saturated times still format (no overflow in the calendar).
        assert!(rfc2822(i64::MAX).ends_with("+0000"));
    }
}

/// Seconds since the epoch of a UTC date and time (proleptic Gregorian;
/// Howard Hinnant's `days_from_civil`).
pub fn from_civil(year: i64, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second)
}

#[cfg(test)]
mod civil_tests {
    #[test]
    fn civil_dates_give_their_epoch_seconds() {
        assert_eq!(super::from_civil(1970, 1, 1, 0, 0, 0), 0);
        assert_eq!(super::from_civil(2000, 2, 29, 12, 0, 1), 951_825_601);
        assert_eq!(super::from_civil(1980, 1, 1, 0, 0, 0), 315_532_800);
    }
}
