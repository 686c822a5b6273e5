//! Byte-level tests of the capture-file reader: files built here, field by
//! field, in both byte orders, read back through `CaptureReader`.

use std::io::Cursor;

use super::*;

/// (iface, dlt, ts, wire_len, data) of a record, owned.
type Got = (u32, u32, u64, u32, Vec<u8>);

/// Every record of `bytes`, and how reading ended (`None`: cleanly).
fn read_all(bytes: &[u8]) -> (Vec<Got>, Option<Stop>) {
    let mut r = CaptureReader::open(Cursor::new(bytes.to_vec())).expect("opens");
    let mut got = Vec::new();
    loop {
        match r.next_record() {
            Ok(Some(rec)) => {
                got.push((rec.iface, rec.dlt, rec.ts, rec.wire_len, rec.data.to_vec()))
            }
            Ok(None) => return (got, None),
            Err(stop) => return (got, Some(stop)),
        }
    }
}

fn open_error(bytes: &[u8]) -> String {
    match CaptureReader::open(Cursor::new(bytes.to_vec())) {
        Ok(_) => panic!("opened"),
        Err(e) => e.to_string(),
    }
}

fn u16b(v: u16, big: bool) -> [u8; 2] {
    if big {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    }
}

fn u32b(v: u32, big: bool) -> [u8; 4] {
    if big {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    }
}

/// A classic pcap file: `magic` as written in the file's byte order.
fn pcap(
    magic: u32,
    big: bool,
    snaplen: u32,
    network: u32,
    records: &[(u32, u32, &[u8], u32)],
) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend(u32b(magic, big));
    f.extend(u16b(2, big));
    f.extend(u16b(4, big));
    f.extend([0; 8]); // thiszone, sigfigs
    f.extend(u32b(snaplen, big));
    f.extend(u32b(network, big));
    for &(sec, frac, data, wire) in records {
        f.extend(u32b(sec, big));
        f.extend(u32b(frac, big));
        f.extend(u32b(data.len() as u32, big));
        f.extend(u32b(wire, big));
        if magic == 0xa1b2_cd34 {
            f.extend([0; 8]); // ifindex, protocol, pkt_type, pad
        }
        f.extend_from_slice(data);
    }
    f
}

/// One pcapng block: type, body (padded here), repeated total length.
fn block(btype: u32, body: &[u8], big: bool) -> Vec<u8> {
    let mut body = body.to_vec();
    while !body.len().is_multiple_of(4) {
        body.push(0);
    }
    let len = (body.len() + 12) as u32;
    let mut b = Vec::new();
    b.extend(u32b(btype, big));
    b.extend(u32b(len, big));
    b.extend(body);
    b.extend(u32b(len, big));
    b
}

fn shb(big: bool) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend(u32b(0x1a2b_3c4d, big));
    body.extend(u16b(1, big));
    body.extend(u16b(0, big));
    body.extend([0xff; 8]); // section length unknown
    block(PCAPNG_SHB, &body, big)
}

/// An interface description block with the given options (code, value).
fn idb(dlt: u16, snaplen: u32, options: &[(u16, &[u8])], big: bool) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend(u16b(dlt, big));
    body.extend([0; 2]);
    body.extend(u32b(snaplen, big));
    for &(code, value) in options {
        body.extend(u16b(code, big));
        body.extend(u16b(value.len() as u16, big));
        body.extend_from_slice(value);
        while !body.len().is_multiple_of(4) {
            body.push(0);
        }
    }
    if !options.is_empty() {
        body.extend([0; 4]); // opt_endofopt
    }
    block(PCAPNG_IDB, &body, big)
}

fn epb(iface: u32, ts: u64, data: &[u8], wire: u32, big: bool) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend(u32b(iface, big));
    body.extend(u32b((ts >> 32) as u32, big));
    body.extend(u32b(ts as u32, big));
    body.extend(u32b(data.len() as u32, big));
    body.extend(u32b(wire, big));
    body.extend_from_slice(data);
    block(PCAPNG_EPB, &body, big)
}

const T: u32 = 1_700_000_000;

#[test]
fn classic_pcap_in_both_byte_orders_and_resolutions() {
    for big in [false, true] {
        for (magic, frac) in [(0xa1b2_c3d4u32, 999_999u32), (0xa1b2_3c4d, 999_999_999)] {
            let f = pcap(
                magic,
                big,
                65535,
                1,
                &[(T, frac, b"abcd", 60), (T + 5, 0, b"xy", 2)],
            );
            let (got, stop) = read_all(&f);
            assert_eq!(stop, None, "big {big} magic {magic:x}");
            assert_eq!(
                got,
                vec![
                    (0, 1, u64::from(T), 60, b"abcd".to_vec()),
                    (0, 1, u64::from(T) + 5, 2, b"xy".to_vec())
                ],
                "big {big} magic {magic:x}"
            );
        }
    }
}

#[test]
fn modified_pcap_records_have_a_longer_header() {
    let f = pcap(
        0xa1b2_cd34,
        false,
        65535,
        1,
        &[(T, 0, b"abc", 3), (T, 0, b"de", 2)],
    );
    let (got, stop) = read_all(&f);
    assert_eq!(stop, None);
    assert_eq!(
        got.iter().map(|g| g.4.clone()).collect::<Vec<_>>(),
        [b"abc".to_vec(), b"de".to_vec()]
    );
}

/// Files older than pcap 2.3 wrote the record's two lengths the other way
/// round; 2.3 files may have either order (libpcap: swap when the
/// "captured" length exceeds the "wire" one).
#[test]
fn old_pcap_versions_with_swapped_record_lengths() {
    let mut f = pcap(0xa1b2_c3d4, false, 65535, 1, &[(T, 0, b"abcd", 60)]);
    // the record as such a writer put it: wire length first
    let rec = 24 + 8;
    f[rec..rec + 4].copy_from_slice(&60u32.to_le_bytes());
    f[rec + 4..rec + 8].copy_from_slice(&4u32.to_le_bytes());
    for minor in [2u16, 3] {
        f[6..8].copy_from_slice(&minor.to_le_bytes());
        let (got, stop) = read_all(&f);
        assert_eq!(stop, None, "2.{minor}");
        assert_eq!(
            got,
            vec![(0, 1, u64::from(T), 60, b"abcd".to_vec())],
            "2.{minor}"
        );
    }
    // 2.3 in the usual order stays as it is
    let mut g = pcap(0xa1b2_c3d4, false, 65535, 1, &[(T, 0, b"abcd", 60)]);
    g[6..8].copy_from_slice(&3u16.to_le_bytes());
    assert_eq!(read_all(&g).0[0].3, 60);
}

#[test]
fn pcap_records_are_cut_to_the_snapshot_length() {
    let f = pcap(
        0xa1b2_c3d4,
        false,
        3,
        1,
        &[(T, 0, b"abcdef", 100), (T, 0, b"gh", 2)],
    );
    let (got, stop) = read_all(&f);
    assert_eq!(stop, None);
    assert_eq!(got[0].4, b"abc");
    assert_eq!(got[0].3, 100, "the wire length stays");
    assert_eq!(got[1].4, b"gh");
}

#[test]
fn pcap_link_type_keeps_its_low_bits_and_refuses_reserved_ones() {
    // FCS-length bits (0xf000_0000, 0x0400_0000) are not part of the type
    let f = pcap(0xa1b2_c3d4, false, 65535, 0x1400_0071, &[(T, 0, b"a", 1)]);
    assert_eq!(read_all(&f).0[0].1, 113);
    let f = pcap(0xa1b2_c3d4, false, 65535, 0x0001_0001, &[]);
    assert!(
        open_error(&f).contains("reserved bits"),
        "{}",
        open_error(&f)
    );
}

#[test]
fn pcap_cut_short_keeps_the_records_before_and_names_the_offset() {
    let f = pcap(
        0xa1b2_c3d4,
        true,
        65535,
        1,
        &[(T, 0, b"abcd", 4), (T, 0, b"efgh", 4)],
    );
    let first_end = 24 + 16 + 4;
    // inside the second record's data, then inside its header
    for cut in [f.len() - 1, first_end + 7] {
        let (got, stop) = read_all(&f[..cut]);
        assert_eq!(got.len(), 1, "cut at {cut}");
        let stop = stop.expect("a stop");
        assert_eq!(stop.offset, first_end as u64, "cut at {cut}");
        assert!(stop.reason.contains("cut short"), "{}", stop.reason);
        assert!(!stop.refuse);
    }
}

#[test]
fn pcap_record_longer_than_any_snapshot_is_a_stop() {
    let mut f = pcap(0xa1b2_c3d4, false, 65535, 1, &[(T, 0, b"ab", 2)]);
    f.extend(u32b(T, false));
    f.extend(u32b(0, false));
    f.extend(u32b(MAX_SNAPLEN + 1, false));
    f.extend(u32b(MAX_SNAPLEN + 1, false));
    let (got, stop) = read_all(&f);
    assert_eq!(got.len(), 1);
    assert!(stop.unwrap().reason.contains("larger than"));
}

#[test]
fn not_a_capture_is_refused_with_the_reason() {
    assert!(open_error(b"").contains("too short"));
    assert!(open_error(b"GET / HTTP/1.1\r\n").contains("neither pcap nor pcapng"));
    let mut f = pcap(0xa1b2_c3d4, false, 65535, 1, &[]);
    f[4] = 1; // version 1.4
    assert!(open_error(&f).contains("archaic"));
    assert!(open_error(&f[..20]).contains("truncated pcap file header"));
}

#[test]
fn pcapng_packet_blocks_in_both_byte_orders() {
    for big in [false, true] {
        let mut f = shb(big);
        f.extend(idb(1, 0, &[], big));
        let ts_us = u64::from(T) * 1_000_000 + 999_999;
        f.extend(epb(0, ts_us, b"hello", 80, big));
        // obsolete packet block: 16-bit interface, drops count
        let mut pb = Vec::new();
        pb.extend(u16b(0, big));
        pb.extend(u16b(7, big));
        pb.extend(u32b((ts_us >> 32) as u32, big));
        pb.extend(u32b(ts_us as u32, big));
        pb.extend(u32b(2, big));
        pb.extend(u32b(9, big));
        pb.extend(b"pb");
        f.extend(block(PCAPNG_PB, &pb, big));
        // simple packet block: wire length, then the (padded) data
        let mut spb = Vec::new();
        spb.extend(u32b(3, big));
        spb.extend(b"spb");
        f.extend(block(PCAPNG_SPB, &spb, big));
        // blocks of other types are skipped
        f.extend(block(0x0000_0005, &[0; 12], big));
        let (got, stop) = read_all(&f);
        assert_eq!(stop, None, "big {big}");
        assert_eq!(
            got,
            vec![
                (0, 1, u64::from(T), 80, b"hello".to_vec()),
                (0, 1, u64::from(T), 9, b"pb".to_vec()),
                (0, 1, 0, 3, b"spb".to_vec()),
            ],
            "big {big}"
        );
    }
}

#[test]
fn pcapng_timestamps_follow_tsresol_and_tsoffset() {
    let big = false;
    let mut f = shb(big);
    f.extend(idb(1, 0, &[(9, &[9])], big)); // nanoseconds
    f.extend(idb(1, 0, &[(9, &[0x80 | 20])], big)); // 2^-20 s
    let offset = 3600i64.to_le_bytes();
    f.extend(idb(1, 0, &[(14, &offset)], big)); // µs, +1 h
    f.extend(epb(
        0,
        u64::from(T) * 1_000_000_000 + 999_999_999,
        b"a",
        1,
        big,
    ));
    f.extend(epb(1, (u64::from(T) << 20) + (1 << 20) - 1, b"b", 1, big));
    f.extend(epb(2, u64::from(T) * 1_000_000, b"c", 1, big));
    let ts: Vec<u64> = read_all(&f).0.iter().map(|g| g.2).collect();
    assert_eq!(ts, [u64::from(T), u64::from(T), u64::from(T) + 3600]);
}

#[test]
fn pcapng_sections_and_interfaces_of_different_link_types() {
    // section 1 (little-endian): Ethernet and raw IPv4; section 2
    // (big-endian) starts its interface numbers again, with SLL2
    let mut f = shb(false);
    f.extend(idb(1, 0, &[], false));
    f.extend(idb(228, 0, &[], false));
    f.extend(epb(1, 0, b"v4", 2, false));
    f.extend(epb(0, 0, b"eth", 3, false));
    f.extend(shb(true));
    f.extend(idb(276, 2, &[], true));
    f.extend(epb(0, 0, b"sll2", 4, true));
    let mut r = CaptureReader::open(Cursor::new(f.clone())).unwrap();
    assert!(r.is_pcapng());
    let mut got = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        got.push((rec.iface, rec.dlt, rec.data.to_vec()));
    }
    assert_eq!(
        got,
        vec![
            (1, 228, b"v4".to_vec()),
            (0, 1, b"eth".to_vec()),
            (0, 276, b"sl".to_vec())
        ],
        "the last one cut to its interface's snapshot length"
    );
    assert_eq!(r.link_types(), [1, 228, 276]);
    assert_eq!(r.records(), 3);
}

#[test]
fn pcapng_interfaces_may_be_described_after_earlier_packets() {
    let mut f = shb(false);
    f.extend(idb(147, 0, &[], false)); // a link type we do not decode
    f.extend(epb(0, 0, b"x", 1, false));
    f.extend(idb(1, 0, &[], false));
    f.extend(epb(1, 0, b"y", 1, false));
    let (got, stop) = read_all(&f);
    assert_eq!(stop, None);
    assert_eq!(got.iter().map(|g| g.1).collect::<Vec<_>>(), [147, 1]);
}

#[test]
fn pcapng_bad_blocks_stop_or_refuse() {
    let good = {
        let mut f = shb(false);
        f.extend(idb(1, 0, &[], false));
        f.extend(epb(0, 0, b"ok", 2, false));
        f
    };
    // a packet on an interface nobody described: stop after what was read
    let mut f = good.clone();
    f.extend(epb(5, 0, b"no", 2, false));
    let (got, stop) = read_all(&f);
    assert_eq!(got.len(), 1);
    let stop = stop.unwrap();
    assert!(stop.reason.contains("interface 5"), "{}", stop.reason);
    assert!(!stop.refuse);
    assert_eq!(stop.offset, good.len() as u64);

    // header and trailer lengths that differ
    let mut f = good.clone();
    let mut bad = epb(0, 0, b"no", 2, false);
    let n = bad.len();
    bad[n - 4] ^= 4;
    f.extend(bad);
    let (got, stop) = read_all(&f);
    assert_eq!(got.len(), 1);
    assert!(stop.unwrap().reason.contains("trailer"));

    // a block cut short
    let mut f = good.clone();
    f.extend(&epb(0, 0, b"cut", 3, false)[..20]);
    let (got, stop) = read_all(&f);
    assert_eq!(got.len(), 1);
    assert!(stop.unwrap().reason.contains("cut short inside a block"));

    // a capture length beyond the block
    let mut f = good.clone();
    let mut bad = epb(0, 0, b"four", 4, false);
    bad[20..24].copy_from_slice(&u32b(400, false));
    f.extend(bad);
    let (_, stop) = read_all(&f);
    assert!(stop
        .unwrap()
        .reason
        .contains("shorter than its capture length"));

    // packets before any interface: the file as a whole is refused
    let mut f = shb(false);
    f.extend(epb(0, 0, b"early", 5, false));
    let (got, stop) = read_all(&f);
    assert!(got.is_empty());
    assert!(stop.unwrap().refuse);

    // not pcapng after all
    let mut f = shb(false);
    f[8..12].copy_from_slice(&[1, 2, 3, 4]);
    assert!(open_error(&f).contains("byte-order magic"));
}

/// A reader that hands out at most `n` bytes per call: every refill path
/// of the reader must give the same records as reading at once.
struct Trickle {
    data: Vec<u8>,
    at: usize,
    n: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = self.n.min(buf.len()).min(self.data.len() - self.at);
        buf[..k].copy_from_slice(&self.data[self.at..self.at + k]);
        self.at += k;
        Ok(k)
    }
}

#[test]
fn records_larger_than_the_buffer_and_tiny_reads() {
    let big_record = vec![0x5a; INITIAL_BUFFER + 1000];
    let wire = big_record.len() as u32;
    let f = pcap(
        0xa1b2_c3d4,
        false,
        0,
        1,
        &[(T, 0, &big_record, wire), (T, 0, b"after", 5)],
    );
    for n in [1, 7, 4096, usize::MAX] {
        let mut r = CaptureReader::open(Trickle {
            data: f.clone(),
            at: 0,
            n,
        })
        .unwrap();
        let a = r.next_record().unwrap().unwrap().data.to_vec();
        assert_eq!(a, big_record, "reads of {n}");
        assert_eq!(r.next_record().unwrap().unwrap().data, b"after");
        assert!(r.next_record().unwrap().is_none());
    }
}
