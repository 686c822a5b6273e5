/// Bytes per table entry: key, then counters.
const PROTO_ENTRY: usize = 1 + 8 + 8;
const TCP_ENTRY: usize = 2 + 8 + 8 + 8;
const UDP_ENTRY: usize = 2 + 8 + 8;

use super::graphs::{day_of_month, DAY};
use super::*;

/// A host record as darkstat lays it out, with raw field values.
#[derive(Clone)]
struct Rec {
    version: u8,
    ip: IpAddr,
    last_seen: u64,
    mac: [u8; 6],
    name: Vec<u8>,
    bytes_in: u64,
    bytes_out: u64,
    protocols: Vec<(u8, u64, u64)>,
    tcp: Vec<(u16, u64, u64, u64)>,
    udp: Vec<(u16, u64, u64)>,
    tcp_remote: Vec<(u16, u64, u64, u64)>,
    udp_remote: Vec<(u16, u64, u64)>,
}

fn rec(version: u8, ip: &str) -> Rec {
    Rec {
        version,
        ip: ip.parse().unwrap(),
        last_seen: 1_700_000_000,
        mac: [0x02, 0, 0, 0xaa, 0xbb, 0xcc],
        name: b"host.example".to_vec(),
        bytes_in: 1000,
        bytes_out: 2000,
        protocols: vec![(6, 900, 1800), (17, 100, 200)],
        tcp: vec![(80, 3, 500, 1000), (22, 0, 400, 800)],
        udp: vec![(53, 100, 200)],
        tcp_remote: vec![(443, 2, 300, 600)],
        udp_remote: vec![(123, 10, 20)],
    }
}

impl Rec {
    fn bytes(&self) -> Vec<u8> {
        let mut b = vec![b'H', b'S', b'T', self.version];
        match self.ip {
            IpAddr::V4(a) if self.version < 3 => b.extend(a.octets()),
            IpAddr::V4(a) => {
                b.push(4);
                b.extend(a.octets());
            }
            IpAddr::V6(a) => {
                b.push(6);
                b.extend(a.octets());
            }
        }
        if self.version >= 2 {
            b.extend(self.last_seen.to_be_bytes());
        }
        b.extend(self.mac);
        b.push(self.name.len() as u8);
        b.extend(&self.name);
        b.extend(self.bytes_in.to_be_bytes());
        b.extend(self.bytes_out.to_be_bytes());
        b.push(b'P');
        b.push(self.protocols.len() as u8);
        for &(p, i, o) in &self.protocols {
            b.push(p);
            b.extend(i.to_be_bytes());
            b.extend(o.to_be_bytes());
        }
        let tcp = |b: &mut Vec<u8>, tag: u8, t: &[(u16, u64, u64, u64)]| {
            b.push(tag);
            b.extend((t.len() as u16).to_be_bytes());
            for &(p, s, i, o) in t {
                b.extend(p.to_be_bytes());
                b.extend(s.to_be_bytes());
                b.extend(i.to_be_bytes());
                b.extend(o.to_be_bytes());
            }
        };
        let udp = |b: &mut Vec<u8>, tag: u8, t: &[(u16, u64, u64)]| {
            b.push(tag);
            b.extend((t.len() as u16).to_be_bytes());
            for &(p, i, o) in t {
                b.extend(p.to_be_bytes());
                b.extend(i.to_be_bytes());
                b.extend(o.to_be_bytes());
            }
        };
        tcp(&mut b, b'T', &self.tcp);
        udp(&mut b, b'U', &self.udp);
        if self.version == 4 {
            tcp(&mut b, b't', &self.tcp_remote);
            udp(&mut b, b'u', &self.udp_remote);
        }
        b
    }

    /// What parse() must make of this record.
    fn expected(&self) -> ImportedHost {
        ImportedHost {
            ip: self.ip,
            mac: Some(self.mac).filter(|m| *m != [0; 6]),
            hostname: Some(String::from_utf8(self.name.clone()).unwrap()).filter(|n| !n.is_empty()),
            last_seen: (self.version >= 2).then_some(self.last_seen),
            bytes_in: self.bytes_in,
            bytes_out: self.bytes_out,
            protocols: self.protocols.clone(),
            tcp_local: self.tcp.clone(),
            udp_local: self.udp.clone(),
            tcp_remote: if self.version == 4 {
                self.tcp_remote.clone()
            } else {
                vec![]
            },
            udp_remote: if self.version == 4 {
                self.udp_remote.clone()
            } else {
                vec![]
            },
        }
    }
}

/// Graph section with bar i of graph g = (1000 g + i, 2000 g + i).
fn graph_section(last_time: u64, pos: [u8; 4]) -> Vec<u8> {
    let mut b = GRAPH_TAG.to_vec();
    b.extend(last_time.to_be_bytes());
    for (g, (&(_, n, _), p)) in GRAPHS.iter().zip(pos).enumerate() {
        b.push(n);
        b.push(p);
        for i in 0..u64::from(n) {
            b.extend((1000 * g as u64 + i).to_be_bytes());
            b.extend((2000 * g as u64 + i).to_be_bytes());
        }
    }
    b
}

fn file(records: &[Vec<u8>], graphs: Option<Vec<u8>>) -> Vec<u8> {
    let mut b = FILE_MAGIC.to_vec();
    b.extend(HOSTS_TAG);
    b.extend((records.len() as u32).to_be_bytes());
    for r in records {
        b.extend(r);
    }
    b.extend(graphs.unwrap_or_default());
    b
}

fn one(r: &Rec) -> ImportedHost {
    let x = parse(&file(&[r.bytes()], Some(graph_section(0, [0; 4])))).unwrap();
    assert_eq!(x.hosts.len(), 1);
    x.hosts.into_iter().next().unwrap()
}

#[test]
fn every_record_version_parses() {
    for version in 1..=4u8 {
        let r = rec(version, "192.0.2.7");
        let h = one(&r);
        assert_eq!(h, r.expected(), "v{version}");
    }
    // v1 has neither last_seen nor remote tables; v4 has both
    let v1 = one(&rec(1, "192.0.2.7"));
    assert_eq!(v1.last_seen, None);
    assert!(v1.tcp_remote.is_empty() && v1.udp_remote.is_empty());
    let v4 = one(&rec(4, "192.0.2.7"));
    assert_eq!(v4.last_seen, Some(1_700_000_000));
    assert_eq!(v4.tcp_remote, vec![(443, 2, 300, 600)]);
    assert_eq!(v4.udp_remote, vec![(123, 10, 20)]);
    assert_eq!(v4.mac, Some([0x02, 0, 0, 0xaa, 0xbb, 0xcc]));
    assert_eq!(v4.hostname.as_deref(), Some("host.example"));
}

#[test]
fn ipv6_records_from_v3_on() {
    for version in 3..=4u8 {
        let r = rec(version, "2001:db8::1");
        assert_eq!(one(&r), r.expected());
    }
    // v1/v2 have no family byte: the address is 4 bytes of IPv4
    let v2 = rec(2, "198.51.100.1").bytes();
    assert_eq!(&v2[4..8], &[198, 51, 100, 1]);
    assert_eq!(&v2[8..16], &1_700_000_000u64.to_be_bytes());
}

#[test]
fn versions_mix_in_one_file() {
    let recs = [
        rec(1, "10.0.0.1"),
        rec(4, "2001:db8::2"),
        rec(2, "10.0.0.3"),
        rec(3, "2001:db8::4"),
        rec(4, "10.0.0.5"),
    ];
    let bytes: Vec<Vec<u8>> = recs.iter().map(Rec::bytes).collect();
    let x = parse(&file(&bytes, Some(graph_section(0, [0; 4])))).unwrap();
    let want: Vec<ImportedHost> = recs.iter().map(Rec::expected).collect();
    assert_eq!(x.hosts, want);
}

#[test]
fn empty_tables_and_zero_hosts() {
    let mut r = rec(4, "10.0.0.1");
    r.protocols.clear();
    r.tcp.clear();
    r.udp.clear();
    r.tcp_remote.clear();
    r.udp_remote.clear();
    assert_eq!(one(&r), r.expected());
    let mut v1 = rec(1, "10.0.0.1");
    v1.protocols.clear();
    v1.tcp.clear();
    v1.udp.clear();
    v1.name.clear();
    assert_eq!(v1.bytes().len(), MIN_HOST_RECORD);
    let x = parse(&file(&[], Some(graph_section(5, [5, 0, 0, 0])))).unwrap();
    assert!(x.hosts.is_empty());
    assert_eq!(x.graphs.unwrap().last_time, 5);
}

#[test]
fn all_zero_mac_is_none() {
    let mut r = rec(4, "10.0.0.1");
    r.mac = [0; 6];
    assert_eq!(one(&r).mac, None);
    r.mac = [0, 0, 0, 0, 0, 1];
    assert_eq!(one(&r).mac, Some([0, 0, 0, 0, 0, 1]));
}

#[test]
fn hostnames_are_validated() {
    let mut r = rec(4, "10.0.0.1");
    let cases: [(&[u8], Option<&str>); 12] = [
        (b"", None),
        (b"(none)", None),
        (b"(link-local)", None),
        (b"(site-local)", None),
        (b"(multicast)", None),
        (b"ok.example", Some("ok.example")),
        (b"(nonesuch)", Some("(nonesuch)")),
        (b"a b", Some("a b")),
        (b"bad\x1b[31m", None),
        (b"tab\there", None),
        (b"del\x7f", None),
        ("caf\u{e9}.example".as_bytes(), None),
    ];
    for (raw, want) in cases {
        r.name = raw.to_vec();
        assert_eq!(one(&r).hostname.as_deref(), want, "{raw:?}");
    }
    r.name = vec![b'x'; 255];
    assert_eq!(one(&r).hostname.map(|n| n.len()), Some(255));
}

#[test]
fn never_seen_is_none() {
    let mut r = rec(4, "10.0.0.1");
    // darkstat 3.0.719 writes "never" as the boot time; such a host sent nothing
    r.bytes_out = 0;
    r.last_seen = 1_795_777_091;
    assert_eq!(one(&r).last_seen, None);
    r.bytes_out = 40;
    assert_eq!(one(&r).last_seen, Some(1_795_777_091));
    r.last_seen = 0;
    assert_eq!(one(&r).last_seen, None);
    r.version = 2;
    r.last_seen = 7;
    assert_eq!(one(&r).last_seen, Some(7));
}

#[test]
fn file_ending_after_the_hosts_has_no_graphs() {
    let x = parse(&file(&[rec(4, "10.0.0.1").bytes()], None)).unwrap();
    assert_eq!(x.hosts.len(), 1);
    assert_eq!(x.graphs, None);
}

#[test]
fn graph_section_is_read_by_absolute_index() {
    let x = parse(&file(&[], Some(graph_section(1234, [3, 59, 23, 30])))).unwrap();
    let g = x.graphs.unwrap();
    assert_eq!(g.last_time, 1234);
    for (k, s) in g.series.iter().enumerate() {
        assert_eq!(s.bars.len(), usize::from(GRAPHS[k].1));
        for (i, &bar) in s.bars.iter().enumerate() {
            assert_eq!(
                bar,
                (1000 * k as u64 + i as u64, 2000 * k as u64 + i as u64)
            );
        }
    }
    assert_eq!(g.series.each_ref().map(|s| s.pos), [3, 59, 23, 30]);
}

fn err(bytes: &[u8]) -> ImportError {
    parse(bytes).unwrap_err()
}

#[test]
fn bad_magic() {
    let mut b = file(&[], Some(graph_section(0, [0; 4])));
    b[3] = 0x58;
    assert_eq!(
        err(&b),
        ImportError::BadMagic {
            offset: 0,
            found: [0xDA, 0x31, 0x41, 0x58]
        }
    );
    assert!(matches!(
        err(&[]),
        ImportError::Truncated {
            offset: 0,
            needed: 4,
            available: 0,
            ..
        }
    ));
    assert!(matches!(
        err(&[0xDA, 0x31]),
        ImportError::Truncated {
            offset: 0,
            available: 2,
            ..
        }
    ));
}

#[test]
fn unknown_sections() {
    let mut b = file(&[], Some(graph_section(0, [0; 4])));
    b[7] = 0x02; // hosts section v2
    assert!(matches!(
        err(&b),
        ImportError::UnknownSection {
            offset: 4,
            found: [0xDA, b'H', b'S', 2],
            ..
        }
    ));
    // the graph section where the hosts section belongs
    let mut b = FILE_MAGIC.to_vec();
    b.extend(graph_section(0, [0; 4]));
    assert!(matches!(
        err(&b),
        ImportError::UnknownSection { offset: 4, .. }
    ));
    // something else where the graph section belongs
    let host = rec(4, "10.0.0.1").bytes();
    let mut b = file(std::slice::from_ref(&host), Some(graph_section(0, [0; 4])));
    let at = 12 + host.len();
    b[at + 1] = b'X';
    match err(&b) {
        ImportError::UnknownSection {
            offset,
            found,
            expected,
        } => {
            assert_eq!(offset, at);
            assert_eq!(found, [0xDA, b'X', b'R', 1]);
            assert!(expected.contains("graph"));
        }
        e => panic!("{e}"),
    }
}

#[test]
fn unknown_host_record_versions() {
    for bad in [
        [b'H', b'S', b'T', 0],
        [b'H', b'S', b'T', 5],
        [b'H', b'S', b'X', 4],
        [0; 4],
    ] {
        let mut r = rec(4, "10.0.0.1").bytes();
        r[..4].copy_from_slice(&bad);
        let e = err(&file(&[r], Some(graph_section(0, [0; 4]))));
        assert_eq!(
            e,
            ImportError::UnknownHostVersion {
                offset: 12,
                found: bad
            }
        );
    }
}

#[test]
fn bad_address_family() {
    let mut r = rec(3, "10.0.0.1").bytes();
    r[4] = 5;
    assert_eq!(
        err(&file(&[r], None)),
        ImportError::BadFamily {
            offset: 16,
            found: 5
        }
    );
}

/// Offsets of the five table tags ('P' 'T' 'U' 't' 'u') in a v4 record
/// that has `rec`'s tables (2 protocols, 2 TCP ports, 1 of each other).
fn table_tags(r: &Rec) -> [usize; 5] {
    let p = 4 + 5 + 8 + 6 + 1 + r.name.len() + 16;
    let t = p + 2 + 2 * PROTO_ENTRY;
    let u = t + 3 + 2 * TCP_ENTRY;
    let tr = u + 3 + UDP_ENTRY;
    let ur = tr + 3 + TCP_ENTRY;
    [p, t, u, tr, ur]
}

#[test]
fn bad_table_tags() {
    let r = rec(4, "10.0.0.1");
    let raw = r.bytes();
    let [p, t, u, tr, ur] = table_tags(&r);
    for (at, tag) in [(p, b'P'), (t, b'T'), (u, b'U'), (tr, b't'), (ur, b'u')] {
        assert_eq!(raw[at], tag);
        let mut bad = raw.clone();
        bad[at] = b'Q';
        assert_eq!(
            err(&file(&[bad], None)),
            ImportError::BadTableTag {
                offset: 12 + at,
                expected: tag,
                found: b'Q'
            }
        );
    }
    // a v3 record has no remote tables: the next record follows 'U' directly
    let v3 = rec(3, "10.0.0.2").bytes();
    let mut b = file(&[v3], None);
    b[11] = 2; // claims a second host: what follows must be a record header
    b.extend(raw);
    assert_eq!(parse(&b).unwrap().hosts.len(), 2);
}

#[test]
fn every_truncation_is_an_error() {
    let recs = [
        rec(4, "10.0.0.1").bytes(),
        rec(1, "10.0.0.2").bytes(),
        rec(3, "2001:db8::3").bytes(),
    ];
    let full = file(&recs, Some(graph_section(1_795_780_079, [59, 32, 17, 26])));
    let hosts_end = 12 + recs.iter().map(Vec::len).sum::<usize>();
    assert_eq!(full.len(), hosts_end + 2820);
    for len in 0..full.len() {
        let got = parse(&full[..len]);
        if len == hosts_end {
            assert_eq!(got.unwrap().graphs, None);
            continue;
        }
        match got {
            Err(ImportError::Truncated {
                offset,
                needed,
                available,
                ..
            }) => {
                assert!(offset <= len, "len {len}: offset {offset}");
                assert_eq!(available, len - offset, "len {len}");
                assert!(needed > available, "len {len}");
            }
            Err(ImportError::CountTooLarge { offset, .. }) => assert!(offset < len),
            other => panic!("prefix of {len} bytes: {other:?}"),
        }
    }
    assert!(parse(&full).is_ok());
}

#[test]
fn truncated_graph_section_is_an_error() {
    // darkstat's import fails on it and resets everything
    let mut b = file(
        &[rec(4, "10.0.0.1").bytes()],
        Some(graph_section(0, [0; 4])),
    );
    b.truncate(b.len() - 1);
    assert!(matches!(
        err(&b),
        ImportError::Truncated {
            what: "graph bar",
            needed: 8,
            available: 7,
            ..
        }
    ));
    let end_of_hosts = b.len() + 1 - 2820;
    b.truncate(end_of_hosts + 2);
    assert!(matches!(
        err(&b),
        ImportError::Truncated {
            what: "graph section tag",
            ..
        }
    ));
}

#[test]
fn counts_too_large_for_the_bytes_left() {
    let e = err(&file(&[], None)[..8]
        .iter()
        .copied()
        .chain(u32::MAX.to_be_bytes())
        .collect::<Vec<_>>());
    assert_eq!(
        e,
        ImportError::CountTooLarge {
            offset: 8,
            what: "host",
            count: u64::from(u32::MAX),
            needed: u64::from(u32::MAX) * MIN_HOST_RECORD as u64,
            available: 0
        }
    );
    // one host claimed, 37 bytes follow: not even a v1 record fits
    let mut b = file(&[], None);
    b[11] = 1;
    b.extend([0u8; MIN_HOST_RECORD - 1]);
    assert!(matches!(
        err(&b),
        ImportError::CountTooLarge {
            offset: 8,
            count: 1,
            ..
        }
    ));

    let r = rec(4, "10.0.0.1");
    let raw = r.bytes();
    let [p, t, u, tr, ur] = table_tags(&r);
    for (count_at, what, wide) in [
        (p + 1, "IP protocol", false),
        (t + 1, "local TCP port", true),
        (u + 1, "local UDP port", true),
        (tr + 1, "remote TCP port", true),
        (ur + 1, "remote UDP port", true),
    ] {
        let mut bad = raw.clone();
        if wide {
            bad[count_at..count_at + 2].copy_from_slice(&u16::MAX.to_be_bytes());
        } else {
            bad[count_at] = u8::MAX;
        }
        match err(&file(&[bad], Some(graph_section(0, [0; 4])))) {
            ImportError::CountTooLarge {
                offset,
                what: w,
                needed,
                available,
                ..
            } => {
                assert_eq!((offset, w), (12 + count_at, what));
                assert!(needed > available as u64);
            }
            e => panic!("{what}: {e}"),
        }
    }
}

#[test]
fn bad_graph_shapes() {
    let hosts_end = 12;
    let mut b = file(&[], Some(graph_section(0, [0; 4])));
    let minutes = hosts_end + 4 + 8 + 2 + 60 * 16;
    b[minutes] = 59;
    assert_eq!(
        err(&b),
        ImportError::BadBarCount {
            offset: minutes,
            graph: "minutes",
            found: 59,
            expected: 60
        }
    );
    let days = hosts_end + 4 + 8 + 2 * (2 + 60 * 16) + 2 + 24 * 16;
    let mut b = file(&[], Some(graph_section(0, [0, 0, 0, 31])));
    assert_eq!(
        err(&b),
        ImportError::BadPosition {
            offset: days + 1,
            graph: "days",
            pos: 31,
            n_bars: 31
        }
    );
    b[days + 1] = 30;
    assert!(parse(&b).is_ok());
    let b = file(&[], Some(graph_section(0, [60, 0, 0, 0])));
    assert!(matches!(
        err(&b),
        ImportError::BadPosition {
            graph: "seconds",
            pos: 60,
            ..
        }
    ));
}

#[test]
fn trailing_garbage() {
    let mut b = file(
        &[rec(2, "10.0.0.1").bytes()],
        Some(graph_section(0, [0; 4])),
    );
    let len = b.len();
    b.extend([0, 0, 0]);
    assert_eq!(
        err(&b),
        ImportError::TrailingBytes {
            offset: len,
            count: 3
        }
    );
}

#[test]
fn duplicates_are_rejected() {
    let a = rec(4, "10.0.0.1").bytes();
    let b = rec(1, "10.0.0.1").bytes();
    assert_eq!(
        err(&file(&[a.clone(), b], None)),
        ImportError::DuplicateHost {
            offset: 12 + a.len(),
            ip: "10.0.0.1".parse().unwrap()
        }
    );
    // the same address as IPv4 and as IPv4-mapped IPv6 are two hosts to darkstat
    let c = rec(4, "::ffff:10.0.0.1").bytes();
    assert_eq!(parse(&file(&[a, c], None)).unwrap().hosts.len(), 2);

    // (table, key) of the duplicate key error a host record gives
    let duplicate = |r: Rec| match err(&file(&[r.bytes()], None)) {
        ImportError::DuplicateKey { table, key, .. } => (table, key),
        other => panic!("not a duplicate key: {other}"),
    };
    let mut r = rec(4, "10.0.0.1");
    r.udp_remote = vec![(123, 1, 1), (5353, 1, 1), (123, 2, 2)];
    assert_eq!(duplicate(r), ("remote UDP port", 123));
    let mut r = rec(4, "10.0.0.1");
    r.protocols = vec![(6, 1, 1), (6, 1, 1)];
    assert_eq!(duplicate(r), ("IP protocol", 6));
    // the same port in different tables, or in the next host, is fine
    let mut r = rec(4, "10.0.0.1");
    r.tcp = vec![(80, 0, 1, 1)];
    r.udp = vec![(80, 1, 1)];
    r.tcp_remote = vec![(80, 0, 1, 1)];
    r.udp_remote = vec![(80, 1, 1)];
    let mut s = r.clone();
    s.ip = "10.0.0.2".parse().unwrap();
    assert_eq!(
        parse(&file(&[r.bytes(), s.bytes()], None))
            .unwrap()
            .hosts
            .len(),
        2
    );
}

#[test]
fn no_panic_on_corrupted_bytes() {
    let recs = [
        rec(4, "10.0.0.1").bytes(),
        rec(2, "10.0.0.2").bytes(),
        rec(3, "::1").bytes(),
    ];
    let full = file(&recs, Some(graph_section(1_795_780_079, [59, 32, 17, 26])));
    for i in 0..full.len() {
        for v in [0x00, 0x01, 0x7f, 0xff] {
            let mut b = full.clone();
            b[i] = v;
            if let Ok(x) = parse(&b) {
                if let Some(g) = x.graphs {
                    if let Some(off) = g.utc_offset() {
                        assert!(g.dated_bars(off).is_some());
                    }
                }
            }
        }
    }
}

// ---- dating the graphs ----

/// Days from 1970-01-01 of a proleptic Gregorian date, by counting (an
/// independent check of `day_of_month`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_len = |y: i64, m: i64| match m {
        2 if leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    let mut days = 0;
    for yy in 1970..y {
        days += if leap(yy) { 366 } else { 365 };
    }
    for mm in 1..m {
        days += month_len(y, mm);
    }
    days + d - 1
}

/// Graphs as darkstat would leave them at UTC time `t` in a zone `off`
/// seconds east.
fn graphs_at(t: u64, off: i64) -> ImportedGraphs {
    let local = t as i64 + off;
    let pos = [
        local.rem_euclid(60),
        local.div_euclid(60).rem_euclid(60),
        local.div_euclid(3600).rem_euclid(24),
        day_of_month(local.div_euclid(DAY)) - 1,
    ];
    let bytes = file(&[], Some(graph_section(t, pos.map(|p| p as u8))));
    parse(&bytes).unwrap().graphs.unwrap()
}

fn utc(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> u64 {
    (days_from_civil(y, mo, d) * DAY + h * 3600 + mi * 60 + s) as u64
}

#[test]
fn day_of_month_matches_counting() {
    for (y, m, d) in [
        (1970, 1, 1),
        (2000, 2, 29),
        (2026, 2, 28),
        (2026, 3, 1),
        (2026, 12, 31),
        (2100, 3, 1),
    ] {
        assert_eq!(day_of_month(days_from_civil(y, m, d)), d, "{y}-{m}-{d}");
    }
    assert_eq!(days_from_civil(2026, 11, 27) * DAY, 1_795_737_600);
}

#[test]
fn utc_offset_is_read_from_the_positions() {
    let t = utc(2026, 11, 27, 11, 47, 59);
    for off in [
        0, 20_700, -36_000, 46_800, -39_600, 19_800, -12_600, 50_400, -43_200, 45_900,
    ] {
        assert_eq!(
            graphs_at(t, off).utc_offset(),
            Some(off as i32),
            "offset {off}"
        );
    }
    // never rotated (-r mode): positions all 0, last_time 0
    assert_eq!(graphs_at(0, 0).last_time, 0);
    assert_eq!(graphs_at(0, 0).utc_offset(), None);
    // a seconds position that no whole-minute zone gives
    let mut g = graphs_at(t, 0);
    g.series[0].pos = 58;
    assert_eq!(g.utc_offset(), None);
    // a day position that fits neither candidate day
    let mut g = graphs_at(t, 0);
    g.series[3].pos = 3;
    assert_eq!(g.utc_offset(), None);
}

#[test]
fn seconds_minutes_hours_dating() {
    // 2026-11-27 17:32:59 at +05:45, as in the live fixture
    let t = 1_795_780_079;
    let off = 20_700;
    let g = graphs_at(t, off);
    assert_eq!(g.series.each_ref().map(|s| s.pos), [59, 32, 17, 26]);
    let d = g.dated_bars(off as i32).unwrap();
    for (k, (series, &(_, n, p))) in d.iter().zip(&GRAPHS).take(3).enumerate() {
        assert_eq!(series.len(), usize::from(n));
        let pos = u64::from(g.series[k].pos);
        for (age_rev, &(start, bytes_in, bytes_out)) in series.iter().enumerate() {
            // oldest first: the bar after pos, ..., pos itself
            let i = (pos + 1 + age_rev as u64) % u64::from(n);
            assert_eq!(
                (bytes_in, bytes_out),
                (1000 * k as u64 + i, 2000 * k as u64 + i)
            );
            let age = u64::from(n) - 1 - age_rev as u64;
            assert!(start <= t && t - start < (age + 1) * p);
        }
    }
    // the current bars: this second, 17:32 and 17:00 local
    assert_eq!(d[0].last().unwrap().0, t);
    assert_eq!(d[1].last().unwrap().0, t - 59);
    assert_eq!(d[2].last().unwrap().0, 1_795_778_100); // 11:15 UTC
    assert_eq!(d[2].first().unwrap().0, 1_795_778_100 - 23 * 3600);
    assert_eq!(d[1].first().unwrap().0, t - 59 - 59 * 60);
    // the wrong zone does not fit the positions
    assert_eq!(g.dated_bars(0), None);
    assert_eq!(g.dated_bars(20_760), None);
    assert_eq!(graphs_at(0, 0).dated_bars(0), None);
}

fn day_starts(t: u64, off: i64) -> Vec<u64> {
    let g = graphs_at(t, off);
    let d = g.dated_bars(off as i32).unwrap();
    let days = &d[3];
    // bar index = day of month - 1, so its bytes tell which bar it was
    for &(start, bytes_in, _) in days {
        let local_day = (start as i64 + off) / DAY;
        assert_eq!((start as i64 + off) % DAY, 0, "starts at local midnight");
        assert_eq!(bytes_in, 3000 + day_of_month(local_day) as u64 - 1);
    }
    days.iter().map(|b| b.0).collect()
}

fn consecutive_days(first: (i64, i64, i64), n: usize, off: i64) -> Vec<u64> {
    let d0 = days_from_civil(first.0, first.1, first.2);
    (0..n as i64)
        .map(|k| ((d0 + k) * DAY - off) as u64)
        .collect()
}

#[test]
fn days_after_a_31_day_month() {
    let t = utc(2026, 11, 27, 11, 47, 59);
    assert_eq!(day_starts(t, 0), consecutive_days((2026, 10, 28), 31, 0));
    // +05:45: local midnight is 18:15 UTC the day before
    assert_eq!(
        day_starts(t, 20_700),
        consecutive_days((2026, 10, 28), 31, 20_700)
    );
    // 2026-11-27 02:00 UTC is still the 26th at -10:00
    let t = utc(2026, 11, 27, 2, 0, 0);
    assert_eq!(
        day_starts(t, -36_000),
        consecutive_days((2026, 10, 27), 31, -36_000)
    );
}

#[test]
fn days_after_a_30_day_month() {
    // going from Nov 30 to Dec 1 zeroed the bar of the 31st
    let t = utc(2026, 12, 5, 8, 0, 0);
    assert_eq!(day_starts(t, 0), consecutive_days((2026, 11, 6), 30, 0));
}

#[test]
fn days_after_february() {
    // Feb 28 -> Mar 1 zeroed the bars of the 29th, 30th and 31st
    let t = utc(2026, 3, 2, 12, 0, 0);
    assert_eq!(day_starts(t, 0), consecutive_days((2026, 2, 3), 28, 0));
    // leap year: Feb 29 -> Mar 1 zeroed the 30th and 31st
    let t = utc(2028, 3, 2, 12, 0, 0);
    assert_eq!(day_starts(t, 0), consecutive_days((2028, 2, 3), 29, 0));
    // on Mar 30 the bar of the 31st is still the one zeroed on Mar 1
    let t = utc(2026, 3, 30, 12, 0, 0);
    assert_eq!(day_starts(t, 0), consecutive_days((2026, 3, 1), 30, 0));
    let t = utc(2026, 3, 31, 12, 0, 0);
    assert_eq!(day_starts(t, 0), consecutive_days((2026, 3, 1), 31, 0));
}

#[test]
fn days_match_a_replay_of_darkstats_advance() {
    // graph_db.c: advance() walks pos forward, zeroing each bar it
    // enters; that day's traffic then lands on bar pos. Stamp each bar
    // with the day it was written on and check every dating against it.
    let first = days_from_civil(2023, 1, 1);
    let mut ring = [(0u64, 0u64); 31];
    let mut pos = (day_of_month(first) - 1) as usize;
    ring[pos] = (first as u64 + 1, 0);
    for today in first + 1..days_from_civil(2030, 1, 1) {
        let to = (day_of_month(today) - 1) as usize;
        while pos != to {
            pos = (pos + 1) % 31;
            ring[pos] = (0, 0);
        }
        ring[pos] = (today as u64 + 1, 0);
        if today - first < 62 {
            continue; // let the replay fill the ring first
        }
        let t = (today * DAY + 43_200) as u64;
        let mut g = graphs_at(t, 0);
        g.series[3].bars = ring.to_vec();
        let d = g.dated_bars(0).unwrap();
        let nonzero = ring.iter().filter(|b| b.0 != 0).count();
        assert_eq!(d[3].len(), nonzero, "day {today}");
        for &(start, stamp, _) in &d[3] {
            assert_eq!(stamp, start / DAY as u64 + 1, "day {today}");
        }
        assert_eq!(d[3].last().unwrap().0, (today * DAY) as u64);
    }
}

#[test]
fn bars_before_1970_are_left_out() {
    let g = graphs_at(30, 0);
    let d = g.dated_bars(0).unwrap();
    assert_eq!(d[0].len(), 31);
    assert_eq!(d[0].first().unwrap().0, 0);
    assert_eq!(d[1].len(), 1);
    assert_eq!(d[3], vec![(0, 3000, 6000)]);
}
