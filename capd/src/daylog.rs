//! daylog: `--daylog FILE` in darkstat's format (one line per day of
//! traffic crossing the local boundary). Unlike darkstat, a line is written
//! at every day boundary even when nothing arrived, and days are UTC days
//! (the sandbox reads no time-zone files). The file is opened before the
//! privilege drop and only appended to afterwards.
//!
//! ```text
//! # logging started at 2026-11-27 09:21:35 +0000 (1795771295)
//! 2026-11-27 00:00:00 +0000|1795737600|336|972|4|6
//! # logging stopped at 2026-11-27 09:21:45 +0000 (1795771305)
//! ```
//! Data line: period start (text and Unix time) | bytes in | bytes out |
//! packets in | packets out.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

const DAY: u64 = 86_400;

/// `YYYY-MM-DD HH:MM:SS +0000` for a Unix time (UTC).
pub fn utc_text(t: u64) -> String {
    let days = (t / DAY) as i64;
    let secs = t % DAY;
    // civil-from-days (H. Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} +0000",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

pub struct Daylog {
    file: File,
    /// Start of the period being counted.
    start: u64,
    /// Boundary counters at the period's start (bytes in/out, packets in/out).
    base: [u64; 4],
    last: [u64; 4],
}

impl Daylog {
    /// Opens (creates, mode 0600) FILE for appending. Call before the
    /// privilege drop.
    pub fn open(path: &Path) -> io::Result<File> {
        OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
    }

    pub fn start(mut file: File, now: u64, counters: [u64; 4]) -> io::Result<Daylog> {
        writeln!(file, "# logging started at {} ({now})", utc_text(now))?;
        Ok(Daylog {
            file,
            start: now,
            base: counters,
            last: counters,
        })
    }

    fn line(&mut self, counters: [u64; 4]) -> io::Result<()> {
        let d: Vec<u64> = counters
            .iter()
            .zip(&self.base)
            .map(|(c, b)| c.wrapping_sub(*b))
            .collect();
        writeln!(
            self.file,
            "{}|{}|{}|{}|{}|{}",
            utc_text(self.start),
            self.start,
            d[0],
            d[1],
            d[2],
            d[3]
        )
    }

    /// Called once a tick with the cumulative boundary counters: writes the
    /// line of every day that ended, even an empty one.
    pub fn tick(&mut self, now: u64, counters: [u64; 4]) -> io::Result<()> {
        if counters.iter().zip(&self.last).any(|(c, l)| c < l) {
            // the counters were reset (SIGUSR1): what was counted before
            // the reset belongs to this period too
            for (base, last) in self.base.iter_mut().zip(self.last) {
                let carried = last.wrapping_sub(*base);
                *base = 0u64.wrapping_sub(carried);
            }
        }
        while now / DAY > self.start / DAY {
            let boundary = (self.start / DAY + 1) * DAY;
            self.line(counters)?;
            self.start = boundary;
            self.base = counters;
        }
        self.last = counters;
        Ok(())
    }

    /// The partial last period and the closing comment.
    pub fn stop(mut self, now: u64, counters: [u64; 4]) -> io::Result<()> {
        self.tick(now, counters)?;
        self.line(counters)?;
        writeln!(self.file, "# logging stopped at {} ({now})", utc_text(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc_text(0), "1970-01-01 00:00:00 +0000");
        assert_eq!(utc_text(1_795_771_295), "2026-11-27 09:21:35 +0000");
        assert_eq!(utc_text(951_782_400), "2000-02-29 00:00:00 +0000");
    }

    #[test]
    fn a_line_per_day_boundary_even_without_traffic() {
        let p = std::env::temp_dir().join(format!("capd-daylog-{}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        let t0 = 1_795_771_295; // 2026-11-27 09:21:35
        let mut d = Daylog::start(Daylog::open(&p).unwrap(), t0, [0; 4]).unwrap();
        d.tick(t0 + 10, [100, 50, 2, 1]).unwrap();
        // two days later: two boundaries passed
        d.tick(t0 + 2 * DAY, [300, 50, 4, 1]).unwrap();
        d.stop(t0 + 2 * DAY + 5, [310, 60, 5, 2]).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "# logging started at 2026-11-27 09:21:35 +0000 (1795771295)"
        );
        assert_eq!(lines[1], "2026-11-27 09:21:35 +0000|1795771295|300|50|4|1");
        assert_eq!(lines[2], "2026-11-28 00:00:00 +0000|1795824000|0|0|0|0");
        assert_eq!(lines[3], "2026-11-29 00:00:00 +0000|1795910400|10|10|1|1");
        assert!(lines[4].starts_with("# logging stopped at 2026-11-29"));
    }
}
