//! The four traffic graphs (`counting.md` §5): rolling windows of 60 × 1 s,
//! 60 × 1 min, 24 × 1 h and 31 × 1 day in UTC epoch time, driven by packet
//! timestamps so that a capture file replays its own history.
//!
//! Each series is a ring indexed by period number modulo its length; a slot
//! remembers which period it holds, so a slot left over from an earlier lap
//! reads as zero and nothing has to be rotated when time jumps.

use common::model::{GraphBar, Graphs as GraphsDoc, GRAPH_BARS, GRAPH_PERIODS};

#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
struct Slot {
    period: u64,
    bytes_in: u64,
    bytes_out: u64,
    packets_in: u64,
    packets_out: u64,
}

#[derive(Clone, Debug)]
struct Series {
    seconds_per_bar: u64,
    slots: Vec<Slot>,
}

/// Traffic direction across the local boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    In,
    Out,
}

impl Series {
    fn new(bars: usize, seconds_per_bar: u64) -> Self {
        Series {
            seconds_per_bar,
            slots: vec![Slot::default(); bars],
        }
    }

    #[inline]
    fn add(&mut self, ts: u64, dir: Direction, len: u64) {
        let period = ts / self.seconds_per_bar;
        let n = self.slots.len() as u64;
        let slot = &mut self.slots[(period % n) as usize];
        if slot.period != period {
            if slot.period > period {
                // a late packet whose bar has already scrolled away
                return;
            }
            *slot = Slot {
                period,
                ..Slot::default()
            };
        }
        match dir {
            Direction::In => {
                slot.bytes_in += len;
                slot.packets_in += 1;
            }
            Direction::Out => {
                slot.bytes_out += len;
                slot.packets_out += 1;
            }
        }
    }

    /// The bars of the window ending at `now`, oldest first.
    fn bars(&self, now: u64) -> Vec<GraphBar> {
        let n = self.slots.len() as u64;
        let last = now / self.seconds_per_bar;
        (0..n)
            .map(|i| {
                let period = (last + i + 1).saturating_sub(n);
                let s = self.slots[(period % n) as usize];
                let t = period * self.seconds_per_bar;
                if s.period == period && last + 1 >= n - i {
                    GraphBar {
                        t,
                        bytes_in: s.bytes_in,
                        bytes_out: s.bytes_out,
                        packets_in: s.packets_in,
                        packets_out: s.packets_out,
                    }
                } else {
                    GraphBar {
                        t,
                        ..GraphBar::default()
                    }
                }
            })
            .collect()
    }
}

#[derive(Clone, Debug)]
pub struct Graphs {
    series: [Series; 4],
}

impl Default for Graphs {
    fn default() -> Self {
        Graphs {
            series: std::array::from_fn(|i| Series::new(GRAPH_BARS[i], GRAPH_PERIODS[i])),
        }
    }
}

impl Graphs {
    #[inline]
    pub fn add(&mut self, ts: u64, dir: Direction, len: u64) {
        for s in &mut self.series {
            s.add(ts, dir, len);
        }
    }

    /// Puts saved bars back into their slots (bars older than a slot's
    /// current period are ignored, as a late packet would be).
    pub fn restore(&mut self, doc: &GraphsDoc) {
        for (series, bars) in self.series.iter_mut().zip(doc.series()) {
            for b in bars {
                let period = b.t / series.seconds_per_bar;
                let n = series.slots.len() as u64;
                let slot = &mut series.slots[(period % n) as usize];
                if slot.period <= period {
                    *slot = Slot {
                        period,
                        bytes_in: b.bytes_in,
                        bytes_out: b.bytes_out,
                        packets_in: b.packets_in,
                        packets_out: b.packets_out,
                    };
                }
            }
        }
    }

    pub fn snapshot(&self, now: u64) -> GraphsDoc {
        let [s, m, h, d] = &self.series;
        GraphsDoc {
            seconds: s.bars(now),
            minutes: m.bars(now),
            hours: h.bars(now),
            days: d.bars(now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_the_window_ending_now_oldest_first() {
        let mut g = Graphs::default();
        g.add(1_000, Direction::In, 10);
        g.add(1_000, Direction::Out, 5);
        g.add(1_059, Direction::In, 7);
        let doc = g.snapshot(1_059);
        assert_eq!(doc.seconds.len(), 60);
        assert_eq!(doc.minutes.len(), 60);
        assert_eq!(doc.hours.len(), 24);
        assert_eq!(doc.days.len(), 31);
        assert_eq!(doc.seconds[0].t, 1_000);
        assert_eq!((doc.seconds[0].bytes_in, doc.seconds[0].bytes_out), (10, 5));
        assert_eq!(doc.seconds[59].t, 1_059);
        assert_eq!(doc.seconds[59].packets_in, 1);
        // 1000 and 1059 are in minute 16 (960..1020) and 17 (1020..1080)
        assert_eq!(doc.minutes[59].t, 1_020);
        assert_eq!(doc.minutes[59].bytes_in, 7);
        assert_eq!(doc.minutes[58].bytes_in, 10);
        assert_eq!(doc.hours[23].bytes_in, 17);
        assert_eq!(doc.days[30].t, 0);
    }

    #[test]
    fn old_bars_scroll_out_and_read_as_zero() {
        let mut g = Graphs::default();
        g.add(1_000, Direction::In, 10);
        let doc = g.snapshot(1_060);
        assert!(doc.seconds.iter().all(|b| b.bytes_in == 0));
        assert_eq!(doc.seconds[0].t, 1_001);
        // the slot is reused 60 s later
        g.add(1_060, Direction::Out, 3);
        let doc = g.snapshot(1_060);
        assert_eq!(doc.seconds[59].bytes_out, 3);
        assert_eq!(doc.seconds.iter().map(|b| b.bytes_in).sum::<u64>(), 0);
    }

    #[test]
    fn late_packet_for_a_scrolled_bar_is_not_graphed() {
        let mut g = Graphs::default();
        g.add(2_000, Direction::In, 1);
        g.add(1_940, Direction::In, 100); // same slot, 60 s older
        let doc = g.snapshot(2_000);
        assert_eq!(doc.seconds[59].bytes_in, 1);
        // but it still counts in the minute it belongs to
        assert_eq!(doc.minutes[58].bytes_in, 100);
    }

    #[test]
    fn early_times_do_not_underflow() {
        let g = Graphs::default();
        let doc = g.snapshot(5);
        assert_eq!(doc.seconds[59].t, 5);
        assert_eq!(doc.seconds[0].t, 0);
    }
}
