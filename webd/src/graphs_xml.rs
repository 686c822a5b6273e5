//! graphs_xml: `/graphs.xml` in darkstat 3's format, for existing
//! scrapers: totals as attributes (`tp` packets, `tb` bytes, `pc`
//! captured, `pd` dropped, `rf` running time) and one `<e p i o/>` per bar,
//! oldest first, `p` being the bar's second, minute, hour or day of month
//! (UTC).

use std::fmt::Write;

use common::model::Snapshot;

use crate::clock;
use crate::units::duration;

pub const CONTENT_TYPE: &str = "text/xml; charset=utf-8";

pub fn render(s: &Snapshot) -> String {
    let mut out = String::with_capacity(8192);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    let _ = writeln!(
        out,
        "<graphs tp=\"{}\" tb=\"{}\" pc=\"{}\" pd=\"{}\" rf=\"{}\">",
        s.totals.packets,
        s.totals.bytes,
        s.totals.capture.received,
        s.totals.capture.dropped,
        duration(s.now.saturating_sub(s.since))
    );
    let names = ["seconds", "minutes", "hours", "days"];
    for (i, bars) in s.graphs.series().iter().enumerate() {
        let _ = writeln!(out, "<{}>", names[i]);
        for b in bars.iter() {
            let p = match i {
                0 => b.t % 60,
                1 => b.t / 60 % 60,
                2 => b.t / 3600 % 24,
                _ => u64::from(clock::civil(b.t).day),
            };
            let _ = writeln!(
                out,
                "<e p=\"{p}\" i=\"{}\" o=\"{}\"/>",
                b.bytes_in, b.bytes_out
            );
        }
        let _ = writeln!(out, "</{}>", names[i]);
    }
    out.push_str("</graphs>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::model::{GraphBar, Graphs};

    #[test]
    fn darkstat_layout() {
        let s = Snapshot {
            since: 1_700_000_000,
            now: 1_700_000_298,
            graphs: Graphs {
                seconds: vec![GraphBar {
                    t: 1_700_000_051,
                    bytes_in: 3204,
                    bytes_out: 154,
                    ..Default::default()
                }],
                days: vec![GraphBar {
                    t: 1_699_920_000,
                    ..Default::default()
                }],
                ..Default::default()
            },
            ..Default::default()
        };
        let x = render(&s);
        assert!(x.contains("rf=\"4 mins, 58 secs\""), "{x}");
        assert!(x.contains("<seconds>\n<e p=\"11\" i=\"3204\" o=\"154\"/>\n</seconds>"));
        assert!(x.contains("<days>\n<e p=\"14\" i=\"0\" o=\"0\"/>\n</days>"));
    }
}
