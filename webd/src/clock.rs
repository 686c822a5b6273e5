//! clock: Unix seconds as UTC calendar text. webd may run in a chroot
//! without a time zone database, so every time on the pages is UTC and this
//! module needs no files and no locale.

/// A broken-down UTC time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    /// 1–12.
    pub month: u32,
    /// 1–31.
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
pub fn civil(unix: u64) -> Civil {
    let secs = unix % 86_400;
    let z = (unix / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        hour: (secs / 3600) as u32,
        minute: (secs / 60 % 60) as u32,
        second: (secs % 60) as u32,
    }
}

/// `"2023-11-14 22:13:20 UTC"`.
pub fn utc(unix: u64) -> String {
    let c = civil(unix);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// `"22:13:20"`.
pub fn hms(unix: u64) -> String {
    let c = civil(unix);
    format!("{:02}:{:02}:{:02}", c.hour, c.minute, c.second)
}

/// `"22:13"`.
pub fn hm(unix: u64) -> String {
    let c = civil(unix);
    format!("{:02}:{:02}", c.hour, c.minute)
}

/// `"14 Nov"`.
pub fn day_month(unix: u64) -> String {
    let c = civil(unix);
    format!("{} {}", c.day, MONTHS[(c.month - 1) as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(4_102_444_799), "2099-12-31 23:59:59 UTC");
        assert_eq!(hms(1_700_000_000), "22:13:20");
        assert_eq!(hm(1_700_000_000), "22:13");
        assert_eq!(day_month(1_700_000_000), "14 Nov");
        // Far future values must not panic.
        let _ = utc(u64::MAX);
    }

    #[test]
    fn every_day_of_a_leap_year_advances_by_one() {
        let start = 1_704_067_200; // 2024-01-01
        let mut prev = civil(start);
        assert_eq!((prev.year, prev.month, prev.day), (2024, 1, 1));
        for d in 1..366u64 {
            let c = civil(start + d * 86_400);
            let same_month = c.month == prev.month && c.day == prev.day + 1;
            let next_month = c.day == 1 && (c.month == prev.month + 1 || c.month == 1);
            assert!(same_month || next_month, "{prev:?} -> {c:?}");
            prev = c;
        }
        assert_eq!((prev.year, prev.month, prev.day), (2024, 12, 31));
    }
}
