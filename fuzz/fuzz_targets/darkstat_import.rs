//! `capd::persist::darkstat::parse` (darkstat's `--export` file, for
//! `--import`) on arbitrary bytes: nothing may panic, and whatever parses
//! must keep the documented promises: unique hosts and table keys, no
//! all-zero MAC, hostnames printable ASCII without darkstat's placeholders,
//! no last_seen for a host that never sent, rings of 60/60/24/31 bars with
//! `pos` inside; and when an offset is inferred, the dated bars fit it.
#![no_main]

use std::collections::HashSet;

use capd::persist::darkstat::{parse, ImportedGraphs};
use libfuzzer_sys::fuzz_target;

fn unique<K: std::hash::Hash + Eq>(keys: impl Iterator<Item = K>) -> bool {
    let mut seen = HashSet::new();
    keys.into_iter().all(|k| seen.insert(k))
}

fn check_graphs(g: &ImportedGraphs) {
    for (s, n) in g.series.iter().zip([60usize, 60, 24, 31]) {
        assert_eq!(s.bars.len(), n);
        assert!(usize::from(s.pos) < n);
    }
    let Some(off) = g.utc_offset() else {
        return;
    };
    assert!(g.last_time != 0);
    assert!(off % 60 == 0 && off.abs() <= 15 * 3600);
    let dated = g.dated_bars(off).expect("bars date with their own offset");
    for (k, (series, p)) in dated.iter().zip([1u64, 60, 3600, 86_400]).enumerate() {
        let ring = &g.series[k];
        if k < 3 {
            // oldest first: the bar after pos round to pos, one period
            // apart, the last one holding last_time; only bars before 1970
            // may be missing, at the old end
            let n = ring.bars.len();
            let rotated: Vec<(u64, u64)> = (1..=n)
                .map(|j| ring.bars[(usize::from(ring.pos) + j) % n])
                .collect();
            let got: Vec<(u64, u64)> = series.iter().map(|b| (b.1, b.2)).collect();
            assert!(rotated.ends_with(&got));
            assert!(got.len() == n || series.first().is_none_or(|b| b.0 < p));
            assert!(series.windows(2).all(|w| w[1].0 == w[0].0 + p));
            let last = series.last().expect("the current bar");
            assert!(last.0 <= g.last_time && g.last_time - last.0 < p);
        } else {
            // days 1..=28 always hold a date; only 29..=31 can be left out
            assert!(series.len() >= 28 || g.last_time < 32 * p);
            assert!(series
                .windows(2)
                .all(|w| w[1].0 > w[0].0 && (w[1].0 - w[0].0) % p == 0));
            for &(_, i, o) in series {
                assert!(ring.bars.contains(&(i, o)));
            }
        }
    }
    for other in [0, 3600, -18_000, 20_700] {
        if other != off {
            // positions fit at most one offset within ±15 h
            assert_eq!(g.dated_bars(other), None);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(export) = parse(data) else {
        return;
    };
    assert!(export.hosts.len() <= data.len() / 38);
    assert!(unique(export.hosts.iter().map(|h| h.ip)));
    for h in &export.hosts {
        assert_ne!(h.mac, Some([0; 6]));
        if let Some(name) = &h.hostname {
            assert!(!name.is_empty() && name.len() <= 255);
            assert!(name.bytes().all(|b| (0x20..=0x7e).contains(&b)));
            assert!(
                !["(none)", "(link-local)", "(site-local)", "(multicast)"].contains(&name.as_str())
            );
        }
        if h.last_seen.is_some() {
            assert_ne!(h.bytes_out, 0);
        }
        assert!(unique(h.protocols.iter().map(|e| e.0)));
        assert!(unique(h.tcp_local.iter().map(|e| e.0)));
        assert!(unique(h.udp_local.iter().map(|e| e.0)));
        assert!(unique(h.tcp_remote.iter().map(|e| e.0)));
        assert!(unique(h.udp_remote.iter().map(|e| e.0)));
    }
    if let Some(g) = &export.graphs {
        check_graphs(g);
    }
});
