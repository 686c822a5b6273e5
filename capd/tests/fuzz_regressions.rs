//! Fuzz reproducers and hand-made hostile inputs, checked exactly as the
//! fuzz targets check them (`fuzz/src/checks.rs`, included below).
//!
//! Every file `capd/tests/regressions/<target>-<name>.bin` is run through the
//! fuzz target `<target>` (`decode_ethernet`, `decode_sll`, `decode_sll2`,
//! `decode_raw`, `decode_null`, `decode_ppp`, `decode_ppp_hdlc`,
//! `capture_reader`): a decode input is `mode: u8, v: u32 LE, frame`
//! (`split_frame_input`), a `capture_reader` input is a capture file. The
//! directory may be empty; the hand-made inputs below keep the test
//! meaningful.

#[allow(dead_code)]
#[path = "../../fuzz/src/checks.rs"]
mod checks;

use std::path::Path;

use capd::decode::{Decoded, LinkType, MalformedReason};
use checks::{check_frame, frame_input, fuzz_capture, read_capture, Outcome, MAX_SNAPLEN};

const TARGETS: [(&str, Option<LinkType>); 8] = [
    ("decode_ethernet", Some(LinkType::Ethernet)),
    ("decode_sll", Some(LinkType::LinuxSll)),
    ("decode_sll2", Some(LinkType::LinuxSll2)),
    ("decode_raw", Some(LinkType::Raw)),
    ("decode_null", Some(LinkType::Null)),
    ("decode_ppp", Some(LinkType::Ppp)),
    ("decode_ppp_hdlc", Some(LinkType::PppHdlc)),
    ("capture_reader", None),
];

/// Runs one input through the named target's checks.
fn run_target(target: &str, data: &[u8]) {
    let Some((_, link)) = TARGETS.iter().find(|(t, _)| *t == target) else {
        panic!("unknown fuzz target {target:?}");
    };
    match link {
        Some(link) => checks::fuzz_frame(*link, data),
        None => fuzz_capture(data),
    }
}

#[test]
fn saved_reproducers() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    testkit::reproducers::run_saved(&dir, run_target);
}

// ---------------------------------------------------------------------------
// Frame builders.

const DST: [u8; 6] = [2, 0, 0, 0, 0, 2];
const SRC: [u8; 6] = [2, 0, 0, 0, 0, 1];

fn ipv4(total: u16, proto: u8, payload: &[u8]) -> Vec<u8> {
    let t = total.to_be_bytes();
    let mut p = vec![
        0x45, 0, t[0], t[1], 0, 1, 0, 0, 64, proto, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2,
    ];
    p.extend_from_slice(payload);
    p
}

fn ipv6(payload_len: u16, nh: u8, rest: &[u8]) -> Vec<u8> {
    let pl = payload_len.to_be_bytes();
    let mut p = vec![0x60, 0, 0, 0, pl[0], pl[1], nh, 64];
    p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    p.extend_from_slice(rest);
    p
}

fn tcp_syn(sp: u16, dp: u16) -> Vec<u8> {
    let mut t = vec![0u8; 20];
    t[0..2].copy_from_slice(&sp.to_be_bytes());
    t[2..4].copy_from_slice(&dp.to_be_bytes());
    t[12] = 0x50;
    t[13] = 0x02;
    t
}

fn ip_of(d: Decoded) -> capd::decode::PacketSummary {
    match d {
        Decoded::Ip(s) => s,
        other => panic!("expected an IP packet, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Hand-made hostile frames, one group per decode target. Each goes through
// the fuzz target's checks (invariants + spec model) and, where the answer
// is worth pinning, an explicit expectation.

#[test]
fn ethernet_vlan_stack_filling_the_frame() {
    // 9000-byte jumbo frame of nothing but 802.1Q/802.1ad/9100 tags.
    let mut f = [DST, SRC].concat();
    let tpids = [[0x81, 0x00], [0x88, 0xa8], [0x91, 0x00]];
    let mut i = 0;
    while f.len() + 4 <= 9000 {
        f.extend_from_slice(&tpids[i % 3]);
        f.extend_from_slice(&[0, 1]);
        i += 1;
    }
    f.extend_from_slice(&tpids[0]);
    assert_eq!(check_frame(LinkType::Ethernet, &f, 9000), Decoded::NonIp);
    // The same stack that ends in IPv4 after the last tag: decoded.
    let mut g = f[..f.len() - 6].to_vec();
    g.extend_from_slice(&[0x08, 0x00]);
    let ip = ipv4(40, 6, &tcp_syn(1, 2));
    g.extend_from_slice(&ip);
    let s = ip_of(check_frame(LinkType::Ethernet, &g, g.len() as u32));
    assert_eq!(
        (s.len, s.proto, s.src_mac, s.dst_mac),
        (40, 6, Some(SRC), Some(DST))
    );
    assert!(s.ports.unwrap().syn);
    // Every truncation of it, with every wire length class.
    for cut in (0..g.len()).step_by(97).chain(g.len() - 60..g.len()) {
        for wire in [0, cut as u32, g.len() as u32, u32::MAX] {
            check_frame(LinkType::Ethernet, &g[..cut], wire);
        }
    }
    // PPPoE cut inside its header and PPPoE with a lying length.
    let mut p = [DST, SRC].concat();
    p.extend_from_slice(&[0x88, 0x64, 0x11, 0, 0, 1, 0xff, 0xff, 0x00, 0x21]);
    p.extend_from_slice(&ipv4(0, 17, &[0, 53, 0, 53]));
    for cut in 0..=p.len() {
        check_frame(LinkType::Ethernet, &p[..cut], u32::MAX);
    }
    let s = ip_of(check_frame(LinkType::Ethernet, &p, 100));
    assert_eq!(s.len, 100 - 22); // total length 0: wire bytes after the link header
}

#[test]
fn sll_header_only_and_odd_address_lengths() {
    let mut f = vec![0, 0, 0, 1, 0, 6];
    f.extend_from_slice(&SRC);
    f.extend_from_slice(&[0, 0, 0x08, 0x00]);
    assert_eq!(
        check_frame(LinkType::LinuxSll, &f, 16),
        Decoded::Malformed(MalformedReason::ShortIpHeader)
    );
    for halen in [0u8, 5, 7, 8, 255] {
        f[5] = halen;
        let mut g = f.clone();
        g.extend_from_slice(&ipv4(20, 1, &[]));
        let s = ip_of(check_frame(LinkType::LinuxSll, &g, u32::MAX));
        assert_eq!((s.src_mac, s.len), (None, 20));
    }
    // One byte short of the header, as a fuzz input with wire length 0.
    run_target("decode_sll", &frame_input(&f[..15], 0));
}

#[test]
fn sll2_ipv6_payload_zero_with_huge_wire_length() {
    let mut f = vec![0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6];
    f.extend_from_slice(&SRC);
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&ipv6(0, 6, &tcp_syn(443, 80)));
    let s = ip_of(check_frame(LinkType::LinuxSll2, &f, u32::MAX));
    assert_eq!(s.len, u64::from(u32::MAX) - 20);
    assert_eq!(s.src_mac, Some(SRC));
    let s = ip_of(check_frame(LinkType::LinuxSll2, &f, 10));
    assert_eq!((s.len, s.ports), (0, None));
}

#[test]
fn raw_ipv6_chain_of_200_hop_by_hop_headers() {
    let mut rest = Vec::new();
    for _ in 0..199 {
        rest.extend_from_slice(&[0, 0, 1, 4, 0, 0, 0, 0]); // HBH → HBH, PadN
    }
    rest.extend_from_slice(&[6, 0, 1, 4, 0, 0, 0, 0]); // HBH → TCP
    rest.extend_from_slice(&tcp_syn(1000, 22));
    let plen = rest.len() as u16;
    let p = ipv6(plen, 0, &rest);
    let s = ip_of(check_frame(LinkType::Raw, &p, p.len() as u32));
    assert_eq!(s.proto, 6);
    assert_eq!(
        s.ports.map(|x| (x.src, x.dst, x.syn)),
        Some((1000, 22, true))
    );
    // Cut inside the chain: the header that could not be read names proto.
    let s = ip_of(check_frame(
        LinkType::Raw,
        &p[..40 + 8 * 150 + 3],
        p.len() as u32,
    ));
    assert_eq!((s.proto, s.ports), (0, None));
    // The same chain of AH headers (4-byte units) and of fragment headers
    // with offset 0, cut at every byte near the end.
    let mut ah = Vec::new();
    for i in 0..200 {
        let next = if i == 199 { 17 } else { 51 };
        ah.extend_from_slice(&[next, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    }
    ah.extend_from_slice(&[0, 7, 0, 9, 0, 8, 0, 0]);
    let p = ipv6(ah.len() as u16, 51, &ah);
    let s = ip_of(check_frame(LinkType::Raw, &p, p.len() as u32));
    assert_eq!((s.proto, s.ports.map(|x| x.dst)), (17, Some(9)));
    for cut in p.len() - 30..p.len() {
        check_frame(LinkType::Raw, &p[..cut], p.len() as u32);
    }
    // A version nibble that is neither 4 nor 6, and an empty frame.
    assert_eq!(
        check_frame(LinkType::Raw, &[0xf5; 60], 60),
        Decoded::Malformed(MalformedReason::BadIpVersion)
    );
    assert_eq!(
        check_frame(LinkType::Raw, &[], 0),
        Decoded::Malformed(MalformedReason::ShortIpHeader)
    );
}

#[test]
fn null_ipv4_max_ihl_total_zero_wire_zero() {
    for fam in [2u32.to_be_bytes(), 2u32.to_le_bytes(), 30u32.to_be_bytes()] {
        let mut f = fam.to_vec();
        let mut ip = ipv4(0, 6, &[]);
        ip[0] = 0x4f; // IHL 15: 60-byte header, options all NOP
        ip.extend_from_slice(&[1; 40]);
        ip.extend_from_slice(&tcp_syn(5, 6));
        f.extend_from_slice(&ip);
        let s = ip_of(check_frame(LinkType::Null, &f, 0));
        assert_eq!((s.len, s.ports), (0, None));
        let s = ip_of(check_frame(LinkType::Null, &f, f.len() as u32));
        assert_eq!(s.ports.map(|p| p.dst), Some(6));
        // options cut by the snaplen: counted, no ports
        let s = ip_of(check_frame(LinkType::Null, &f[..4 + 30], 1000));
        assert_eq!((s.len, s.proto, s.ports), (996, 6, None));
    }
}

#[test]
fn ppp_address_control_without_protocol() {
    assert_eq!(check_frame(LinkType::Ppp, &[0xff, 0x03], 2), Decoded::NonIp);
    assert_eq!(
        check_frame(LinkType::Ppp, &[0xff, 0x03, 0x00], 3),
        Decoded::NonIp
    );
    assert_eq!(
        check_frame(LinkType::Ppp, &[0xff, 0x03, 0x00, 0x21], 4),
        Decoded::Malformed(MalformedReason::ShortIpHeader)
    );
    // Protocol 0x0021 (IPv4) carrying IPv6: the version nibble decides.
    let mut f = vec![0x00, 0x21];
    f.extend_from_slice(&ipv6(0, 59, &[]));
    let s = ip_of(check_frame(LinkType::Ppp, &f, 2000));
    assert_eq!((s.len, s.proto), (40, 59));
}

#[test]
fn ppp_hdlc_jumbo_payload_of_u32_max() {
    let mut f = vec![0xff, 0x03, 0x00, 0x57];
    // HBH: next TCP, length 0 (8 bytes), then the 6-byte Jumbo option.
    f.extend_from_slice(&ipv6(0, 0, &[6, 0, 0xc2, 4, 0xff, 0xff, 0xff, 0xff]));
    f.extend_from_slice(&tcp_syn(7, 8));
    let s = ip_of(check_frame(LinkType::PppHdlc, &f, u32::MAX));
    assert_eq!(s.len, u64::from(u32::MAX) - 4); // clamped to the wire bytes
    let s = ip_of(check_frame(LinkType::PppHdlc, &f, 1 << 20));
    assert_eq!((s.len, s.proto), ((1 << 20) - 4, 6));
    assert_eq!(
        check_frame(LinkType::PppHdlc, &f[2..], 1 << 20),
        Decoded::NonIp
    );
}

// ---------------------------------------------------------------------------
// Hand-made hostile capture files.

fn pcapng_block(btype: u32, body: &[u8]) -> Vec<u8> {
    let len = (12 + body.len().div_ceil(4) * 4) as u32;
    let mut b = btype.to_le_bytes().to_vec();
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(body);
    b.resize(len as usize - 4, 0);
    b.extend_from_slice(&len.to_le_bytes());
    b
}

fn shb() -> Vec<u8> {
    let mut body = vec![0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0];
    body.extend_from_slice(&[0xff; 8]); // section length unknown
    pcapng_block(0x0a0d_0d0a, &body)
}

fn idb(dlt: u16, snaplen: u32, opts: &[u8]) -> Vec<u8> {
    let mut body = dlt.to_le_bytes().to_vec();
    body.extend_from_slice(&[0, 0]);
    body.extend_from_slice(&snaplen.to_le_bytes());
    body.extend_from_slice(opts);
    pcapng_block(1, &body)
}

fn epb(iface: u32, ts: u64, caplen: u32, wire: u32, data: &[u8]) -> Vec<u8> {
    let mut body = iface.to_le_bytes().to_vec();
    body.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
    body.extend_from_slice(&(ts as u32).to_le_bytes());
    body.extend_from_slice(&caplen.to_le_bytes());
    body.extend_from_slice(&wire.to_le_bytes());
    body.extend_from_slice(data);
    pcapng_block(6, &body)
}

fn pcap_header(version: (u16, u16), snaplen: u32, dlt: u32) -> Vec<u8> {
    let mut h = 0xa1b2_c3d4u32.to_le_bytes().to_vec();
    h.extend_from_slice(&version.0.to_le_bytes());
    h.extend_from_slice(&version.1.to_le_bytes());
    h.extend_from_slice(&[0; 8]);
    h.extend_from_slice(&snaplen.to_le_bytes());
    h.extend_from_slice(&dlt.to_le_bytes());
    h
}

fn pcap_record(caplen: u32, wire: u32, data: &[u8]) -> Vec<u8> {
    let mut r = vec![0; 8];
    r.extend_from_slice(&caplen.to_le_bytes());
    r.extend_from_slice(&wire.to_le_bytes());
    r.extend_from_slice(data);
    r
}

fn read(data: &[u8]) -> Outcome {
    fuzz_capture(data);
    read_capture(data, data.len(), true)
}

fn eth_ipv4() -> Vec<u8> {
    let mut f = [DST, SRC].concat();
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(&ipv4(40, 6, &tcp_syn(1, 2)));
    f
}

#[test]
fn pcapng_block_length_0xffffffff() {
    // As the first block: refused at open.
    let mut f = shb();
    f[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(read(&f), Outcome::Refused(_)));
    // After an IDB and a packet: the packet stands, then a stop.
    let pkt = eth_ipv4();
    let mut f = [shb(), idb(1, 65535, &[]), epb(0, 0, 54, 54, &pkt)].concat();
    let at = f.len() as u64;
    f.extend_from_slice(&6u32.to_le_bytes());
    f.extend_from_slice(&u32::MAX.to_le_bytes());
    f.extend_from_slice(&[0; 24]);
    match read(&f) {
        Outcome::Read { records, stop, .. } => {
            assert_eq!(records.len(), 1);
            assert_eq!(stop.map(|s| (s.0, s.2)), Some((at, false)));
        }
        other => panic!("{other:?}"),
    }
    // Block lengths of 0, 11, 13 and 16 MiB + 4 after a good section start.
    for blen in [0u32, 11, 13, 16 * 1024 * 1024 + 4] {
        let mut f = [shb(), idb(1, 0, &[])].concat();
        f.extend_from_slice(&2u32.to_le_bytes());
        f.extend_from_slice(&blen.to_le_bytes());
        f.extend_from_slice(&[0; 16]);
        assert!(matches!(read(&f), Outcome::Read { stop: Some(_), .. }));
    }
}

#[test]
fn pcapng_many_empty_blocks_and_odd_timestamps() {
    // 20000 unknown 12-byte blocks then one packet: terminates, one record.
    let mut f = [shb(), idb(1, 0, &[9, 0, 1, 0, 0xff, 0, 0, 0, 0, 0, 0, 0])].concat();
    for _ in 0..20_000 {
        f.extend_from_slice(&pcapng_block(0x0bad, &[]));
    }
    // if_tsresol 2^127 and a timestamp of u64::MAX; then an if_tsoffset of
    // i64::MIN on a second interface.
    let mut tsoff = vec![14, 0, 8, 0];
    tsoff.extend_from_slice(&i64::MIN.to_le_bytes());
    f.extend_from_slice(&idb(113, 0, &tsoff));
    f.extend_from_slice(&epb(0, u64::MAX, 54, 54, &eth_ipv4()));
    f.extend_from_slice(&epb(1, u64::MAX, 0, 0, &[]));
    match read(&f) {
        Outcome::Read {
            records,
            stop,
            link_types,
        } => {
            assert_eq!(records.len(), 2);
            assert_eq!(stop, None);
            assert_eq!(link_types, vec![1, 113]);
        }
        other => panic!("{other:?}"),
    }
    // A packet before any interface description: refused.
    let f = [shb(), epb(0, 0, 54, 54, &eth_ipv4())].concat();
    match read(&f) {
        Outcome::Read { stop, .. } => assert!(stop.unwrap().2, "must be refused"),
        Outcome::Refused(_) => {}
    }
}

#[test]
fn pcap_impossible_and_swapped_record_lengths() {
    let pkt = eth_ipv4();
    // caplen 0xffffffff after one good record: one record, then a stop.
    let mut f = pcap_header((2, 4), 65535, 1);
    f.extend_from_slice(&pcap_record(54, 54, &pkt));
    f.extend_from_slice(&pcap_record(u32::MAX, 60, &pkt));
    match read(&f) {
        Outcome::Read { records, stop, .. } => {
            assert_eq!(records.len(), 1);
            assert_eq!(stop.map(|s| s.0), Some(24 + 16 + 54));
        }
        other => panic!("{other:?}"),
    }
    // Version 2.3: caplen and len swapped when caplen > len.
    let mut f = pcap_header((2, 3), 65535, 1);
    f.extend_from_slice(&pcap_record(1500, 54, &pkt));
    match read(&f) {
        Outcome::Read { records, stop, .. } => {
            assert_eq!(stop, None);
            assert_eq!((records[0].data.len(), records[0].wire_len), (54, 1500));
        }
        other => panic!("{other:?}"),
    }
    // caplen above the file's snaplen: cut to it; caplen exactly
    // MAX_SNAPLEN: read.
    let mut f = pcap_header((2, 4), 20, 1);
    f.extend_from_slice(&pcap_record(54, 54, &pkt));
    let big = vec![0u8; MAX_SNAPLEN];
    let mut g = pcap_header((2, 4), 0, 1);
    g.extend_from_slice(&pcap_record(MAX_SNAPLEN as u32, MAX_SNAPLEN as u32, &big));
    for (file, len) in [(f, 20), (g, MAX_SNAPLEN)] {
        match read(&file) {
            Outcome::Read { records, stop, .. } => {
                assert_eq!(stop, None);
                assert_eq!(records[0].data.len(), len);
            }
            other => panic!("{other:?}"),
        }
    }
    // Reserved link-type bits, archaic version, short header: refused.
    for f in [
        pcap_header((2, 4), 0, 0x0001_0001),
        pcap_header((1, 0), 0, 1),
        pcap_header((2, 4), 0, 1)[..23].to_vec(),
    ] {
        assert!(matches!(read(&f), Outcome::Refused(_)));
    }
}

/// Every record handed to the decoder is at most 262144 bytes, and a pcapng
/// packet block's capture length above its interface's snapshot length is
/// cut to it (as classic pcap records are cut to the file's): found by
/// review, the reader once returned an Enhanced Packet Block of any capture
/// length up to the 16 MiB block limit.
#[test]
fn pcapng_epb_capture_length_above_snaplen() {
    let caplen = MAX_SNAPLEN as u32 + 4;
    let mut data = eth_ipv4();
    data.resize(caplen as usize, 0);
    let small = eth_ipv4();
    for (snaplen, epb_caplen, data, want) in [
        (65535, caplen, &data, 65535),
        (0, caplen, &data, MAX_SNAPLEN),
        (20, 54, &small, 20),
        (54, 54, &small, 54),
    ] {
        let f = [
            shb(),
            idb(1, snaplen, &[]),
            epb(0, 0, epb_caplen, epb_caplen, data),
        ]
        .concat();
        match read(&f) {
            Outcome::Read { records, stop, .. } => {
                assert_eq!(stop, None);
                assert_eq!(records.len(), 1);
                assert_eq!(records[0].data.len(), want, "snaplen {snaplen}");
                assert_eq!(records[0].wire_len, epb_caplen);
            }
            other => panic!("{other:?}"),
        }
    }
}
