//! views::graphs: the four traffic graphs as drawing instructions for the
//! server-rendered SVG (bar rectangles, axis ticks, tooltips) plus the
//! min/avg/max legend. Pure: snapshot in, geometry and text out.
//!
//! Rates are computed over the part of each bar's period that was actually
//! measured (between `since` and `now`), so the bar in progress and the
//! bars before measurement started do not drag averages down — the
//! confusion of darkstat issue #28.

use common::model::{GraphBar, Snapshot, GRAPH_BARS, GRAPH_PERIODS};
use serde::Serialize;

use crate::clock;
use crate::units::{rate, thousands};

/// SVG canvas size (the SVG scales with the page; these are its units).
const WIDTH: f64 = 520.0;
const HEIGHT: f64 = 230.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 6.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 26.0;

#[derive(Serialize, Debug, Clone)]
pub struct GraphView {
    pub id: &'static str,
    pub title: &'static str,
    pub width: String,
    pub height: String,
    pub plot_x: String,
    pub plot_y: String,
    pub plot_w: String,
    pub plot_h: String,
    pub base_y: String,
    pub bars: Vec<BarView>,
    pub y_ticks: Vec<Tick>,
    pub x_ticks: Vec<Tick>,
    pub legend_in: Legend,
    pub legend_out: Legend,
    /// "1.2 MiB in, 300 KiB out over the 42 s measured in this window".
    pub summary: String,
    /// False when no bar of this window was measured.
    pub measured: bool,
}

#[derive(Serialize, Debug, Clone)]
pub struct BarView {
    pub x: String,
    pub w: String,
    pub in_y: String,
    pub in_h: String,
    pub out_y: String,
    pub out_h: String,
    /// The tooltip (`<title>`): exact bytes and packets, and rates.
    pub tip: String,
}

#[derive(Serialize, Debug, Clone)]
pub struct Tick {
    /// Position along the axis (y for the rate axis, x for time).
    pub at: String,
    pub label: String,
}

#[derive(Serialize, Debug, Clone, Default, PartialEq)]
pub struct Legend {
    pub min: String,
    pub avg: String,
    pub max: String,
}

const META: [(&str, &str); 4] = [
    ("seconds", "last 60 seconds"),
    ("minutes", "last 60 minutes"),
    ("hours", "last 24 hours"),
    ("days", "last 31 days"),
];

fn f(v: f64) -> String {
    format!("{v:.1}")
}

/// Measured seconds of a bar: its period clipped to `[since, now + 1)`.
fn measured_secs(bar: &GraphBar, period: u64, since: u64, now: u64) -> u64 {
    let start = bar.t.max(since);
    let end = bar.t.saturating_add(period).min(now.saturating_add(1));
    end.saturating_sub(start)
}

/// Statistics of rates over the measured bars, as the legend shows them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateStats {
    pub min: f64,
    pub avg: f64,
    pub max: f64,
}

/// min and max of the per-bar rates, and the average rate over the whole
/// measured time (total bytes / measured seconds), of the bars in `bars`
/// that were measured at all. `None` if none was.
pub fn rate_stats(
    bars: &[GraphBar],
    period: u64,
    since: u64,
    now: u64,
    pick: impl Fn(&GraphBar) -> u64,
) -> Option<RateStats> {
    let mut min = f64::INFINITY;
    let mut max = 0f64;
    let mut bytes = 0u128;
    let mut secs = 0u64;
    for b in bars {
        let m = measured_secs(b, period, since, now);
        if m == 0 {
            continue;
        }
        let r = pick(b) as f64 / m as f64;
        min = min.min(r);
        max = max.max(r);
        bytes += u128::from(pick(b));
        secs += m;
    }
    (secs > 0).then(|| RateStats {
        min,
        avg: bytes as f64 / secs as f64,
        max,
    })
}

/// A "nice" axis maximum ≥ `v` and its number of intervals, in units of
/// `1024^k`: 1, 2 or 5 × 10^j of that unit.
fn nice_scale(v: f64) -> (f64, u32, usize) {
    let v = if v.is_finite() && v > 0.0 { v } else { 1.0 };
    let mut k = 0usize;
    let mut x = v;
    while x > 1000.0 && k < 6 {
        x /= 1024.0;
        k += 1;
    }
    let mut decade = 1.0;
    while decade * 10.0 < x {
        decade *= 10.0;
    }
    while decade > x && decade > 1e-3 {
        decade /= 10.0;
    }
    let (m, n) = if x <= decade {
        (1.0, 5)
    } else if x <= 2.0 * decade {
        (2.0, 4)
    } else if x <= 5.0 * decade {
        (5.0, 5)
    } else {
        (10.0, 5)
    };
    (m * decade * 1024f64.powi(k as i32), n, k)
}

fn tick_label(v: f64, k: usize) -> String {
    const P: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    if v == 0.0 {
        return "0".into();
    }
    let x = v / 1024f64.powi(k as i32);
    let s = if (x - x.round()).abs() < 1e-9 {
        format!("{x:.0}")
    } else if (x * 10.0 - (x * 10.0).round()).abs() < 1e-9 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    };
    format!("{s} {}B/s", P[k])
}

fn bar_label(series: usize, t: u64) -> String {
    match series {
        0 => clock::hms(t),
        1 => clock::hm(t),
        2 => format!("{}–{}", clock::hm(t), clock::hm(t.saturating_add(3600))),
        _ => clock::day_month(t),
    }
}

fn is_tick(series: usize, t: u64) -> bool {
    match series {
        0 => t.is_multiple_of(10),
        1 => (t / 60).is_multiple_of(10),
        2 => (t / 3600).is_multiple_of(6),
        _ => (t / 86_400).is_multiple_of(7),
    }
}

fn tick_text(series: usize, t: u64) -> String {
    match series {
        0 => clock::hms(t),
        1 | 2 => clock::hm(t),
        _ => clock::day_month(t),
    }
}

/// The four graphs of a snapshot.
pub fn graphs(snap: &Snapshot) -> Vec<GraphView> {
    snap.graphs
        .series()
        .iter()
        .enumerate()
        .map(|(i, bars)| graph(i, bars, snap.since, snap.now))
        .collect()
}

fn graph(series: usize, bars: &[GraphBar], since: u64, now: u64) -> GraphView {
    let period = GRAPH_PERIODS[series];
    let slots = GRAPH_BARS[series].max(bars.len()).max(1);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let base_y = TOP + plot_h;

    let rates: Vec<Option<(f64, f64, u64)>> = bars
        .iter()
        .map(|b| {
            let m = measured_secs(b, period, since, now);
            (m > 0).then(|| {
                (
                    b.bytes_in as f64 / m as f64,
                    b.bytes_out as f64 / m as f64,
                    m,
                )
            })
        })
        .collect();
    let peak = rates
        .iter()
        .flatten()
        .map(|(i, o, _)| i + o)
        .fold(0f64, f64::max);
    let (scale_max, intervals, k) = nice_scale(peak);

    let slot_w = plot_w / slots as f64;
    let gap = if slot_w >= 4.0 { 1.0 } else { 0.0 };
    let mut out = Vec::with_capacity(bars.len());
    let mut x_ticks = Vec::new();
    // Bars are right-aligned: the newest is at the right edge.
    let offset = slots - bars.len();
    for (j, (b, r)) in bars.iter().zip(&rates).enumerate() {
        let x = LEFT + (offset + j) as f64 * slot_w;
        if is_tick(series, b.t) {
            x_ticks.push(Tick {
                at: f(x + slot_w / 2.0),
                label: tick_text(series, b.t),
            });
        }
        let label = bar_label(series, b.t);
        let (in_h, out_h, tip) = match r {
            Some((ri, ro, m)) => {
                let ih = ri / scale_max * plot_h;
                let oh = ro / scale_max * plot_h;
                let partial = if *m < period {
                    format!(" (over the {m} s measured of this {period} s bar)")
                } else {
                    String::new()
                };
                (
                    ih,
                    oh,
                    format!(
                        "{label}: {} bytes in ({} packets), {} bytes out ({} packets); \
                         {} in, {} out{partial}",
                        thousands(b.bytes_in),
                        thousands(b.packets_in),
                        thousands(b.bytes_out),
                        thousands(b.packets_out),
                        rate(*ri),
                        rate(*ro),
                    ),
                )
            }
            None => (0.0, 0.0, format!("{label}: not measured")),
        };
        out.push(BarView {
            x: f(x + gap / 2.0),
            w: f((slot_w - gap).max(0.5)),
            in_y: f(base_y - in_h),
            in_h: f(in_h),
            out_y: f(base_y - in_h - out_h),
            out_h: f(out_h),
            tip,
        });
    }
    let y_ticks = (0..=intervals)
        .map(|n| {
            let v = scale_max * f64::from(n) / f64::from(intervals);
            Tick {
                at: f(base_y - plot_h * f64::from(n) / f64::from(intervals)),
                label: tick_label(v, k),
            }
        })
        .collect();
    let legend = |pick: fn(&GraphBar) -> u64| match rate_stats(bars, period, since, now, pick) {
        Some(s) => Legend {
            min: rate(s.min),
            avg: rate(s.avg),
            max: rate(s.max),
        },
        None => Legend {
            min: "–".into(),
            avg: "–".into(),
            max: "–".into(),
        },
    };
    let measured: u64 = rates.iter().flatten().map(|(_, _, m)| m).sum();
    let bytes_in: u64 = bars.iter().map(|b| b.bytes_in).fold(0, u64::saturating_add);
    let bytes_out: u64 = bars
        .iter()
        .map(|b| b.bytes_out)
        .fold(0, u64::saturating_add);
    let summary = if measured == 0 {
        "Nothing measured in this window yet.".to_string()
    } else {
        format!(
            "{} bytes in, {} bytes out over the {} measured in this window.",
            thousands(bytes_in),
            thousands(bytes_out),
            crate::units::duration(measured)
        )
    };
    GraphView {
        id: META[series].0,
        title: META[series].1,
        width: f(WIDTH),
        height: f(HEIGHT),
        plot_x: f(LEFT),
        plot_y: f(TOP),
        plot_w: f(plot_w),
        plot_h: f(plot_h),
        base_y: f(base_y),
        bars: out,
        y_ticks,
        x_ticks,
        legend_in: legend(|b| b.bytes_in),
        legend_out: legend(|b| b.bytes_out),
        summary,
        measured: measured > 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(t: u64, i: u64, o: u64) -> GraphBar {
        GraphBar {
            t,
            bytes_in: i,
            bytes_out: o,
            packets_in: 1,
            packets_out: 1,
        }
    }

    #[test]
    fn averages_only_count_measured_time() {
        // 60 one-second bars, 100 bytes in each of the last 10.
        let now = 1000;
        let bars: Vec<GraphBar> = (0..60)
            .map(|k| {
                let t = now - 59 + k;
                bar(t, if t > 990 { 100 } else { 0 }, 0)
            })
            .collect();
        // Measuring started 10 s before the end.
        let s = rate_stats(&bars, 1, 991, now, |b| b.bytes_in).unwrap();
        assert_eq!(s.avg, 100.0);
        assert_eq!(s.min, 100.0);
        assert_eq!(s.max, 100.0);
        // Zero-traffic but measured bars count for min and avg.
        let s = rate_stats(&bars, 1, 981, now, |b| b.bytes_in).unwrap();
        assert_eq!(s.min, 0.0);
        assert_eq!(s.avg, 50.0);
        assert!(rate_stats(&bars, 1, 2000, now, |b| b.bytes_in).is_none());
    }

    #[test]
    fn partial_bars_use_their_measured_part() {
        // An hour bar of which 600 s were measured, 6000 bytes → 10 B/s.
        let b = [bar(3600, 6000, 0)];
        let s = rate_stats(&b, 3600, 3600, 3600 + 599, |b| b.bytes_in).unwrap();
        assert_eq!(s.avg, 10.0);
    }

    #[test]
    fn nice_scales() {
        assert_eq!(nice_scale(0.0), (1.0, 5, 0));
        assert_eq!(nice_scale(700.0), (1000.0, 5, 0));
        assert_eq!(nice_scale(1500.0), (2048.0, 4, 1));
        assert_eq!(nice_scale(3.0 * 1024.0 * 1024.0), (5.0 * 1048576.0, 5, 2));
        assert_eq!(tick_label(512.0, 1), "0.5 KiB/s");
        assert_eq!(tick_label(2048.0, 1), "2 KiB/s");
        assert_eq!(tick_label(0.0, 1), "0");
        for v in [0.3, 1.0, 99.0, 1e3, 1e5, 3e7, 5e9, 1e15] {
            let (m, _, _) = nice_scale(v);
            assert!(m >= v, "{v} -> {m}");
            assert!(m <= v * 10.0 + 1.0, "{v} -> {m}");
        }
    }

    #[test]
    fn geometry_stacks_out_on_in_and_stays_inside_the_plot() {
        let now = 1_700_000_059;
        let bars: Vec<GraphBar> = (0..60).map(|k| bar(now - 59 + k, 1000 * k, 500)).collect();
        let g = graph(0, &bars, now - 59, now);
        assert_eq!(g.bars.len(), 60);
        assert!(g.measured);
        let base: f64 = g.base_y.parse().unwrap();
        for b in &g.bars {
            let in_y: f64 = b.in_y.parse().unwrap();
            let in_h: f64 = b.in_h.parse().unwrap();
            let out_y: f64 = b.out_y.parse().unwrap();
            let out_h: f64 = b.out_h.parse().unwrap();
            assert!((in_y + in_h - base).abs() < 0.11);
            assert!((out_y + out_h - in_y).abs() < 0.11);
            assert!(out_y >= TOP - 0.1);
        }
        let last = g.bars.last().unwrap();
        assert!(
            last.tip.contains("59,000 bytes in (1 packets)"),
            "{}",
            last.tip
        );
        assert!(g.x_ticks.len() >= 5);
        assert_eq!(g.y_ticks.first().unwrap().label, "0");
        assert_eq!(g.legend_out.avg, "500 B/s");
    }
}
