//! Export files written by the real darkstat 3.0.719 (`tests/fixtures/darkstat`,
//! see its README) read with `capd::persist::darkstat`, checked against what
//! darkstat itself reported: the corpus oracle tables (an independent
//! decoder plus darkstat's own `--verbose` byte total) for the `-r` files,
//! and the live instance's `/hosts/` page and `/graphs.xml` for the live one.
//! The same hosts re-encoded as host records v1, v2 and v3 (darkstat 3 only
//! writes v4) must read back as the same hosts minus the fields those
//! versions lack.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use capd::persist::darkstat::{parse, DarkstatExport, ImportedHost};
use serde_json::Value;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/darkstat")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn oracle(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).expect("oracle JSON")
}

fn num(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} in {v}"))
}

fn mac_string(mac: Option<[u8; 6]>) -> String {
    let m = mac.unwrap_or([0; 6]);
    m.map(|b| format!("{b:02x}")).join(":")
}

/// `{key: value}` of one host in one oracle table, keys as numbers.
fn table(oracle: &Value, name: &str, ip: &IpAddr) -> BTreeMap<u64, Value> {
    let Some(t) = oracle[name].as_object() else {
        panic!("no table {name}");
    };
    let entry = t
        .iter()
        .find(|(k, _)| k.parse::<IpAddr>().ok() == Some(*ip));
    entry
        .map(|(_, v)| {
            v.as_object()
                .expect("table of a host")
                .iter()
                .map(|(k, v)| (k.parse().expect("numeric key"), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn check_against_oracle(export: &DarkstatExport, oracle: &Value) {
    assert_eq!(oracle["status"], "ok");
    let hosts = oracle["hosts"].as_object().expect("hosts");
    assert_eq!(export.hosts.len(), hosts.len());
    for h in &export.hosts {
        let (_, o) = hosts
            .iter()
            .find(|(k, _)| k.parse::<IpAddr>().ok() == Some(h.ip))
            .unwrap_or_else(|| panic!("{} not in the oracle", h.ip));
        assert_eq!(h.bytes_in, num(o, "bytes_in"), "{}", h.ip);
        assert_eq!(h.bytes_out, num(o, "bytes_out"), "{}", h.ip);
        assert_eq!(mac_string(h.mac), o["mac"].as_str().unwrap(), "{}", h.ip);
        // run with --no-dns: no names
        assert_eq!(h.hostname, None);

        let protos: BTreeMap<u64, (u64, u64)> = h
            .protocols
            .iter()
            .map(|&(p, i, o)| (u64::from(p), (i, o)))
            .collect();
        let want: BTreeMap<u64, (u64, u64)> = table(oracle, "ip_protos", &h.ip)
            .into_iter()
            .map(|(k, v)| (k, (num(&v, "bytes_in"), num(&v, "bytes_out"))))
            .collect();
        assert_eq!(protos, want, "{} protocols", h.ip);

        for (name, got) in [
            ("tcp_ports", &h.tcp_local),
            ("tcp_ports_remote", &h.tcp_remote),
        ] {
            let got: BTreeMap<u64, (u64, u64, u64)> = got
                .iter()
                .map(|&(p, s, i, o)| (u64::from(p), (s, i, o)))
                .collect();
            let want: BTreeMap<u64, (u64, u64, u64)> = table(oracle, name, &h.ip)
                .into_iter()
                .map(|(k, v)| {
                    (
                        k,
                        (num(&v, "syn"), num(&v, "bytes_in"), num(&v, "bytes_out")),
                    )
                })
                .collect();
            assert_eq!(got, want, "{} {name}", h.ip);
        }
        for (name, got) in [
            ("udp_ports", &h.udp_local),
            ("udp_ports_remote", &h.udp_remote),
        ] {
            let got: BTreeMap<u64, (u64, u64)> = got
                .iter()
                .map(|&(p, i, o)| (u64::from(p), (i, o)))
                .collect();
            let want: BTreeMap<u64, (u64, u64)> = table(oracle, name, &h.ip)
                .into_iter()
                .map(|(k, v)| (k, (num(&v, "bytes_in"), num(&v, "bytes_out"))))
                .collect();
            assert_eq!(got, want, "{} {name}", h.ip);
        }
    }
    // darkstat's own total: each accounted packet is one host's out and one host's in
    let total = num(oracle, "accounted_bytes");
    assert_eq!(export.hosts.iter().map(|h| h.bytes_out).sum::<u64>(), total);
    assert_eq!(export.hosts.iter().map(|h| h.bytes_in).sum::<u64>(), total);
}

/// `-r` mode: darkstat never rotated its graphs and graphed nothing (no
/// `-l`), and last_seen is the wall clock when it read the file.
fn check_read_mode_graphs(export: &DarkstatExport) {
    let g = export.graphs.as_ref().expect("graph section");
    assert_eq!(g.last_time, 0);
    for s in &g.series {
        assert_eq!(s.pos, 0);
        assert!(s.bars.iter().all(|&b| b == (0, 0)));
    }
    assert_eq!(g.utc_offset(), None);
    assert_eq!(g.dated_bars(0), None);
}

#[test]
fn synthetic_capture_matches_darkstats_tables() {
    let export = parse(&fixture("synth.db")).expect("synth.db");
    check_against_oracle(&export, &oracle("synth.oracle.json"));
    check_read_mode_graphs(&export);
    assert_eq!(export.hosts.len(), 50);
    assert!(export.hosts.iter().any(|h| h.ip.is_ipv6()));
    let syns: u64 = export
        .hosts
        .iter()
        .flat_map(|h| &h.tcp_local)
        .map(|p| p.1)
        .sum();
    let remote_syns: u64 = export
        .hosts
        .iter()
        .flat_map(|h| &h.tcp_remote)
        .map(|p| p.1)
        .sum();
    // gen_pcap made 162 SYNs; every one counted at both ends of its flow
    assert_eq!((syns, remote_syns), (162, 162));
    // hosts that only received have darkstat's "never" (the boot time) on
    // file; they come out as None, everyone else as one -r wall-clock time
    for h in &export.hosts {
        assert_eq!(h.last_seen.is_none(), h.bytes_out == 0, "{}", h.ip);
    }
    assert!(export.hosts.iter().any(|h| h.bytes_out == 0));
}

#[test]
fn corpus_capture_with_ipv6_and_syns_matches_darkstats_tables() {
    let export = parse(&fixture("cisco-fabric-path.db")).expect("cisco-fabric-path.db");
    check_against_oracle(&export, &oracle("cisco-fabric-path.oracle.json"));
    check_read_mode_graphs(&export);
    assert_eq!(export.hosts.iter().filter(|h| h.ip.is_ipv6()).count(), 16);
    let syns: u64 = export
        .hosts
        .iter()
        .flat_map(|h| &h.tcp_local)
        .map(|p| p.1)
        .sum();
    assert_eq!(syns, 16);
}

/// darkstat's `/hosts/?full=yes` of the live instance just before it
/// exported: ip, name as shown, MAC, in, out, last seen shown as "(never)".
const LIVE_HOSTS: [(&str, &str, &str, u64, u64, bool); 10] = [
    (
        "10.77.0.1",
        "(none)",
        "02:00:00:aa:00:01",
        1740,
        2652,
        false,
    ),
    (
        "192.0.2.9",
        "(none)",
        "02:00:00:bb:00:02",
        1616,
        1038,
        false,
    ),
    (
        "10.77.0.2",
        "peer.example.test",
        "02:00:00:bb:00:02",
        1036,
        780,
        false,
    ),
    ("fd77::2", "(none)", "02:00:00:bb:00:02", 708, 672, false),
    ("fd77::1", "(none)", "02:00:00:aa:00:01", 536, 636, false),
    (
        "fe80::ff:feaa:1",
        "(link-local)",
        "02:00:00:aa:00:01",
        64,
        128,
        false,
    ),
    ("ff02::2", "(multicast)", "33:33:00:00:00:02", 112, 0, true),
    (
        "255.255.255.255",
        "(none)",
        "ff:ff:ff:ff:ff:ff",
        78,
        0,
        true,
    ),
    (
        "ff02::1:ff00:1",
        "(multicast)",
        "33:33:ff:00:00:01",
        72,
        0,
        true,
    ),
    (
        "fe80::ff:febb:2",
        "(link-local)",
        "02:00:00:bb:00:02",
        0,
        56,
        false,
    ),
];

#[test]
fn live_export_matches_darkstats_pages() {
    let export = parse(&fixture("live.db")).expect("live.db");
    assert_eq!(export.hosts.len(), LIVE_HOSTS.len());
    let g = export.graphs.as_ref().expect("graph section");
    for (ip, name, mac, bytes_in, bytes_out, never) in LIVE_HOSTS {
        let ip: IpAddr = ip.parse().unwrap();
        let h = export.hosts.iter().find(|h| h.ip == ip).expect("host");
        assert_eq!((h.bytes_in, h.bytes_out), (bytes_in, bytes_out), "{ip}");
        assert_eq!(mac_string(h.mac), mac, "{ip}");
        let want_name = (!name.starts_with('(')).then_some(name);
        assert_eq!(h.hostname.as_deref(), want_name, "{ip}");
        match h.last_seen {
            None => assert!(never, "{ip}"),
            Some(t) => {
                assert!(!never, "{ip}");
                // within the few seconds the test traffic ran
                assert!(t <= g.last_time && g.last_time - t < 15, "{ip}: {t}");
            }
        }
    }

    // darkstat ran with TZ=Asia/Kathmandu (+05:45); at last_time it was
    // 2026-11-27 17:32:59 there
    assert_eq!(g.last_time, 1_795_780_079);
    assert_eq!(g.series.each_ref().map(|s| s.pos), [59, 32, 17, 26]);
    assert_eq!(g.utc_offset(), Some(20_700));
    // /graphs.xml: the only non-zero bars (p = bar label: index, days index + 1)
    let nonzero = |k: usize| -> Vec<(usize, (u64, u64))> {
        g.series[k]
            .bars
            .iter()
            .copied()
            .enumerate()
            .filter(|&(_, b)| b != (0, 0))
            .collect()
    };
    assert_eq!(
        nonzero(0),
        vec![(51, (0, 56)), (53, (1574, 2330)), (58, (64, 72))]
    );
    assert_eq!(nonzero(1), vec![(32, (1638, 2458))]);
    assert_eq!(nonzero(2), vec![(17, (1638, 2458))]);
    assert_eq!(nonzero(3), vec![(26, (1638, 2458))]);

    let dated = g.dated_bars(20_700).expect("dated");
    assert_eq!(dated.each_ref().map(Vec::len), [60, 60, 24, 31]);
    let nonzero_dated = |k: usize| -> Vec<(u64, u64, u64)> {
        dated[k]
            .iter()
            .copied()
            .filter(|b| (b.1, b.2) != (0, 0))
            .collect()
    };
    // seconds 17:32:51, :53 and :58 local
    assert_eq!(
        nonzero_dated(0),
        vec![
            (1_795_780_071, 0, 56),
            (1_795_780_073, 1574, 2330),
            (1_795_780_078, 64, 72)
        ]
    );
    // 17:32 local = 11:47 UTC; 17:00 local = 11:15 UTC; the 27th local
    // starts 2026-11-26 18:15 UTC
    assert_eq!(nonzero_dated(1), vec![(1_795_780_020, 1638, 2458)]);
    assert_eq!(nonzero_dated(2), vec![(1_795_778_100, 1638, 2458)]);
    assert_eq!(nonzero_dated(3), vec![(1_795_716_900, 1638, 2458)]);
    for series in &dated {
        assert!(series.windows(2).all(|w| w[0].0 < w[1].0), "oldest first");
    }
}

// ---- host records v1 to v3, rebuilt from the real data ----

fn encode_host(version: u8, h: &ImportedHost, never: u64) -> Vec<u8> {
    let mut b = vec![b'H', b'S', b'T', version];
    match h.ip {
        IpAddr::V4(a) if version < 3 => b.extend(a.octets()),
        IpAddr::V4(a) => {
            b.push(4);
            b.extend(a.octets());
        }
        IpAddr::V6(a) => {
            assert!(version >= 3, "v1 and v2 hold IPv4 only");
            b.push(6);
            b.extend(a.octets());
        }
    }
    if version >= 2 {
        b.extend(h.last_seen.unwrap_or(never).to_be_bytes());
    }
    b.extend(h.mac.unwrap_or([0; 6]));
    let name = h.hostname.as_deref().unwrap_or("").as_bytes();
    b.push(u8::try_from(name.len()).unwrap());
    b.extend(name);
    b.extend(h.bytes_in.to_be_bytes());
    b.extend(h.bytes_out.to_be_bytes());
    b.push(b'P');
    b.push(u8::try_from(h.protocols.len()).unwrap());
    for &(p, i, o) in &h.protocols {
        b.push(p);
        b.extend(i.to_be_bytes());
        b.extend(o.to_be_bytes());
    }
    let tcp = |tag: u8, t: &[(u16, u64, u64, u64)], b: &mut Vec<u8>| {
        b.push(tag);
        b.extend(u16::try_from(t.len()).unwrap().to_be_bytes());
        for &(p, s, i, o) in t {
            b.extend(p.to_be_bytes());
            for v in [s, i, o] {
                b.extend(v.to_be_bytes());
            }
        }
    };
    tcp(b'T', &h.tcp_local, &mut b);
    let udp = |tag: u8, t: &[(u16, u64, u64)], b: &mut Vec<u8>| {
        b.push(tag);
        b.extend(u16::try_from(t.len()).unwrap().to_be_bytes());
        for &(p, i, o) in t {
            b.extend(p.to_be_bytes());
            b.extend(i.to_be_bytes());
            b.extend(o.to_be_bytes());
        }
    };
    udp(b'U', &h.udp_local, &mut b);
    if version == 4 {
        tcp(b't', &h.tcp_remote, &mut b);
        udp(b'u', &h.udp_remote, &mut b);
    }
    b
}

/// What a record of `version` keeps of a v4 host.
fn downgrade(version: u8, h: &ImportedHost) -> ImportedHost {
    let mut h = h.clone();
    if version < 4 {
        h.tcp_remote.clear();
        h.udp_remote.clear();
    }
    if version < 2 {
        h.last_seen = None;
    }
    h
}

fn export_file(records: &[Vec<u8>], graph_section: &[u8]) -> Vec<u8> {
    let mut b = vec![0xDA, 0x31, 0x41, 0x59, 0xDA, b'H', b'S', 0x01];
    b.extend(u32::try_from(records.len()).unwrap().to_be_bytes());
    for r in records {
        b.extend(r);
    }
    b.extend(graph_section);
    b
}

#[test]
fn older_record_versions_read_as_the_same_hosts() {
    // darkstat 3.0.719's "never" on these files: the boot time of the machine
    const NEVER: u64 = 1_795_777_091;
    for name in ["synth.db", "cisco-fabric-path.db", "live.db"] {
        let raw = fixture(name);
        let original = parse(&raw).expect(name);
        let graph_section = &raw[raw.len() - 2820..];

        // v4 re-encoded gives back the very bytes darkstat wrote, but for
        // names darkstat had as placeholders ("(none)" ...), now dropped
        let v4: Vec<Vec<u8>> = original
            .hosts
            .iter()
            .map(|h| encode_host(4, h, NEVER))
            .collect();
        let again = parse(&export_file(&v4, graph_section)).unwrap();
        assert_eq!(again, original, "{name} v4");
        if name != "live.db" {
            assert_eq!(export_file(&v4, graph_section), raw, "{name} bytes");
        }

        for version in 1..=3u8 {
            let hosts: Vec<&ImportedHost> = original
                .hosts
                .iter()
                .filter(|h| version >= 3 || h.ip.is_ipv4())
                .collect();
            assert!(!hosts.is_empty());
            let records: Vec<Vec<u8>> = hosts
                .iter()
                .map(|h| encode_host(version, h, NEVER))
                .collect();
            let got = parse(&export_file(&records, graph_section)).expect("older version");
            let want: Vec<ImportedHost> = hosts.iter().map(|h| downgrade(version, h)).collect();
            assert_eq!(got.hosts, want, "{name} v{version}");
            assert_eq!(got.graphs, original.graphs);
        }

        // all four versions in one file, as a darkstat upgrade could leave it
        let mixed: Vec<(u8, &ImportedHost)> = original
            .hosts
            .iter()
            .enumerate()
            .map(|(k, h)| {
                let v = (k % 4) as u8 + 1;
                (if h.ip.is_ipv6() { v.max(3) } else { v }, h)
            })
            .collect();
        let records: Vec<Vec<u8>> = mixed
            .iter()
            .map(|&(v, h)| encode_host(v, h, NEVER))
            .collect();
        let got = parse(&export_file(&records, graph_section)).unwrap();
        let want: Vec<ImportedHost> = mixed.iter().map(|&(v, h)| downgrade(v, h)).collect();
        assert_eq!(got.hosts, want, "{name} mixed");
    }
}

#[test]
fn real_files_cut_short_or_extended_are_errors() {
    for name in ["synth.db", "cisco-fabric-path.db", "live.db"] {
        let raw = fixture(name);
        let hosts_end = raw.len() - 2820;
        for len in (0..raw.len())
            .step_by(7)
            .chain([hosts_end - 1, hosts_end + 1, raw.len() - 1])
        {
            let got = parse(&raw[..len]);
            if len == hosts_end {
                assert_eq!(got.unwrap().graphs, None);
            } else {
                assert!(got.is_err(), "{name} cut to {len}");
            }
        }
        assert_eq!(
            parse(&raw[..hosts_end]).unwrap().hosts,
            parse(&raw).unwrap().hosts
        );
        let mut longer = raw.clone();
        longer.push(0);
        assert!(parse(&longer).is_err());
    }
}
