//! The graph section of a darkstat export, and dating its rings: which
//! wall-clock period each bar held.

use super::cursor::Reader;
use super::{ImportError, ImportedGraphs, ImportedSeries, GRAPHS};

pub(super) fn graph_section(r: &mut Reader<'_>) -> Result<ImportedGraphs, ImportError> {
    let last_time = r.u64("graph last_time")?;
    let mut series: [ImportedSeries; 4] = Default::default();
    for (slot, &(graph, expected, _)) in series.iter_mut().zip(GRAPHS.iter()) {
        let offset = r.pos;
        let n_bars = r.u8("graph bar count")?;
        if n_bars != expected {
            return Err(ImportError::BadBarCount {
                offset,
                graph,
                found: n_bars,
                expected,
            });
        }
        let offset = r.pos;
        let pos = r.u8("graph position")?;
        if pos >= n_bars {
            return Err(ImportError::BadPosition {
                offset,
                graph,
                pos,
                n_bars,
            });
        }
        // n_bars ≤ 60 here, so this allocation is fixed-size
        let mut bars = Vec::with_capacity(usize::from(n_bars));
        for _ in 0..n_bars {
            bars.push((r.u64("graph bar")?, r.u64("graph bar")?));
        }
        *slot = ImportedSeries { pos, bars };
    }
    Ok(ImportedGraphs { last_time, series })
}

/// Latest `last_time` that is dated (about year 36812); keeps the
/// arithmetic below far from overflow.
const MAX_DATED_TIME: u64 = 1 << 40;
/// Widest UTC offset considered when inferring one (real zones span
/// −12:00 to +14:00).
const MAX_UTC_OFFSET: i64 = 15 * 3600;
pub(super) const DAY: i64 = 86_400;

/// Dating darkstat's rings.
///
/// darkstat indexes its rings by *local* wall-clock fields of `localtime()`:
/// second `tm_sec`, minute `tm_min`, hour `tm_hour`, day `tm_mday − 1`.
/// `pos` is the bar of `last_time`, and each rotation walks `pos` forward to
/// the new index, zeroing every bar it enters (`graph_db.c: advance`). So:
///
/// * seconds, minutes, hours (bar length `p`): the bar at age
///   `a = (pos − i) mod n` holds the local period `a` periods before the one
///   containing `last_time`. Its start in UTC is
///   `floor((last_time + off) / p) · p − off − a · p`.
/// * days: bar `i` holds day-of-month `i + 1`. Walking back from the local
///   date of `last_time`, bar `i` holds the most recent date whose
///   day-of-month is `i + 1`, unless a later month end skipped over it: going
///   from day 28/29/30 of a short month to the 1st, darkstat's advance
///   zeroes the bars for the missing days (and after a 30-day month the bar
///   of the 31st) and they are left empty. Those bars have no date and are
///   left out, so the days series has 28 to 31 bars. A bar starts at local
///   midnight, `days_since_epoch(local date) · 86400 − off` in UTC.
///
/// `off` is one fixed offset, the one at `last_time`. Across a DST change
/// the bars before it are off by the DST step (darkstat's own ring cannot
/// tell them apart either; its fall-back even zeroes the hours ring). The
/// days mapping also assumes darkstat advanced day by day: a darkstat
/// stopped before a month end and restarted exactly a lap of indices later
/// keeps a stale day bar (its `advance()` sees no movement), which is then
/// dated as the current day.
impl ImportedGraphs {
    /// The UTC offset (seconds east) darkstat's zone had at `last_time`, read
    /// from where the four rings stand: the time of day of the
    /// seconds/minutes/hours positions gives it modulo one day, and the
    /// day-of-month position picks the one candidate within ±15 h (whole
    /// minutes, as every zone since 1972). `None`
    /// when the graphs never rotated (`last_time` 0, the `-r` case), or
    /// when no offset fits all four positions (an inconsistent file).
    pub fn utc_offset(&self) -> Option<i32> {
        let t = self.dated_time()?;
        let [s, m, h, _] = self.positions();
        let time_of_day = h * 3600 + m * 60 + s;
        let off = (time_of_day - t).rem_euclid(DAY);
        [off, off - DAY]
            .into_iter()
            .filter(|c| c.abs() <= MAX_UTC_OFFSET && c % 60 == 0)
            .find(|&c| self.fits(t, c))
            .and_then(|c| i32::try_from(c).ok())
    }

    /// The bars with their start times, oldest first, as
    /// `(UTC start time, bytes in, bytes out)`: 60 seconds, 60 minutes, 24
    /// hours and 28 to 31 days (see the mapping above). `utc_offset` is
    /// darkstat's zone's offset, seconds east (normally
    /// [`ImportedGraphs::utc_offset`]). `None` when the graphs never rotated
    /// or the positions do not match `last_time` in that offset. Bars that
    /// would start before 1970 are left out.
    pub fn dated_bars(&self, utc_offset: i32) -> Option<[Vec<(u64, u64, u64)>; 4]> {
        let t = self.dated_time()?;
        let off = i64::from(utc_offset);
        if off.abs() > MAX_UTC_OFFSET || !self.fits(t, off) {
            return None;
        }
        let local = t + off;
        let mut out: [Vec<(u64, u64, u64)>; 4] = Default::default();
        for ((dated, series), &(_, n, secs)) in out.iter_mut().zip(&self.series).zip(&GRAPHS[..3]) {
            let (n, p) = (i64::from(n), secs as i64);
            let current = local.div_euclid(p) * p - off;
            for age in (0..n).rev() {
                let i = (i64::from(series.pos) - age).rem_euclid(n);
                push_dated(dated, current - age * p, series.bars.get(i as usize));
            }
        }
        let days = &self.series[3];
        for (day, i) in day_owners(local.div_euclid(DAY)) {
            push_dated(&mut out[3], day * DAY - off, days.bars.get(i));
        }
        Some(out)
    }

    fn dated_time(&self) -> Option<i64> {
        (self.last_time != 0 && self.last_time <= MAX_DATED_TIME).then_some(self.last_time as i64)
    }

    fn positions(&self) -> [i64; 4] {
        self.series.each_ref().map(|s| i64::from(s.pos))
    }

    /// Whether darkstat, at `t` in a zone `off` seconds east, would stand
    /// where the four rings stand.
    fn fits(&self, t: i64, off: i64) -> bool {
        let local = t + off;
        let expected = [
            local.rem_euclid(60),
            local.div_euclid(60).rem_euclid(60),
            local.div_euclid(3600).rem_euclid(24),
            day_of_month(local.div_euclid(DAY)) - 1,
        ];
        expected == self.positions()
    }
}

fn push_dated(out: &mut Vec<(u64, u64, u64)>, start: i64, bar: Option<&(u64, u64)>) {
    if let (Ok(start), Some(&(bytes_in, bytes_out))) = (u64::try_from(start), bar) {
        out.push((start, bytes_in, bytes_out));
    }
}

/// The local day (days since 1970-01-01) each day bar holds, oldest first,
/// as `(day, bar index)`, replaying darkstat's day-by-day advance backwards
/// from `today`: the most recent event on a bar decides what it holds.
fn day_owners(today: i64) -> Vec<(i64, usize)> {
    // None: not decided yet; Some(None): zeroed in passing at a month end
    let mut owner: [Option<Option<i64>>; 31] = [None; 31];
    let index = |day: i64| (day_of_month(day) - 1) as usize;
    let mut claim = |i: usize, what: Option<i64>| {
        if let Some(slot @ None) = owner.get_mut(i) {
            *slot = Some(what);
        }
    };
    claim(index(today), Some(today));
    // two laps always settle every bar; the bound only guards the loop
    for day in (today - 62..today).rev() {
        // going from `day` to `day + 1` zeroed the bars strictly between
        // their indices; bar index(day + 1) was decided one step earlier
        let (from, to) = (index(day), index(day + 1));
        let mut i = (from + 1) % 31;
        while i != to {
            claim(i, None);
            i = (i + 1) % 31;
        }
        claim(from, Some(day));
    }
    let mut days: Vec<(i64, usize)> = owner
        .iter()
        .enumerate()
        .filter_map(|(i, o)| Some(((*o)??, i)))
        .collect();
    days.sort_unstable();
    days
}

/// Day of the month (1–31) of a day counted from 1970-01-01 (proleptic
/// Gregorian; H. Hinnant's `civil_from_days`).
pub(super) fn day_of_month(days: i64) -> i64 {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    doy - (153 * mp + 2) / 5 + 1
}
