//! Checks shared by the fuzz targets (`fuzz/fuzz_targets/*.rs`) and the
//! regression test (`capd/tests/fuzz_regressions.rs`, which includes this
//! file with `#[path]`), so a saved reproducer is judged exactly as the
//! fuzzer judged it.
//!
//! Two kinds of check:
//! * invariants that must hold for any input (`len <= wire_len`, ports only
//!   for TCP/UDP, MACs only where the link type has them, records no longer
//!   than the largest snapshot length, reading terminates, ...);
//! * a differential check against [`model_frame`], a small independent
//!   re-statement of `spec/counting.md` §1, §2, §4 and §7, written from the
//!   spec and not from `capd/src/decode`: any difference is a bug in one of
//!   the two, and the panic message shows both answers.
//!
//! Everything here panics on a violation (that is how libFuzzer and
//! `cargo test` learn about it).

use std::io::{self, Read};

use capd::capture::file::CaptureReader;
use capd::decode::{self, Decoded, LinkType, MalformedReason, PacketSummary, Ports};

/// libpcap's largest snapshot length (`counting.md`: records longer than
/// this are never handed to the decoder).
pub const MAX_SNAPLEN: usize = 262_144;

/// Bytes in front of the frame in a decode fuzz input: a mode byte and a
/// little-endian u32 that together give the wire length.
pub const FRAME_INPUT_HEADER: usize = 5;

/// Splits a decode fuzz input into `(frame, wire_len)`.
///
/// Layout: `mode: u8, v: u32 LE, frame...`. `mode % 4` picks the wire length:
/// 0 = the captured length; 1 = captured + `v % 65536` (snaplen-cut frames);
/// 2 = `v` as it is (may be below the captured length, as in a damaged
/// pcap record); 3 = captured + `v`, saturating (huge wire lengths).
/// Inputs shorter than the header are the frame itself with wire = captured.
pub fn split_frame_input(data: &[u8]) -> (&[u8], u32) {
    if data.len() < FRAME_INPUT_HEADER {
        return (data, data.len() as u32);
    }
    let mode = data[0];
    let v = u32::from_le_bytes([data[1], data[2], data[3], data[4]]);
    let frame = &data[FRAME_INPUT_HEADER..];
    let cap = frame.len() as u32;
    let wire = match mode % 4 {
        0 => cap,
        1 => cap.saturating_add(v % 65_536),
        2 => v,
        _ => cap.saturating_add(v),
    };
    (frame, wire)
}

/// Builds a decode fuzz input (the inverse of [`split_frame_input`] for
/// `wire_len >= frame.len()`).
pub fn frame_input(frame: &[u8], wire_len: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(FRAME_INPUT_HEADER + frame.len());
    v.push(2);
    v.extend_from_slice(&wire_len.to_le_bytes());
    v.extend_from_slice(frame);
    v
}

/// A decode fuzz target's whole body.
pub fn fuzz_frame(link: LinkType, data: &[u8]) {
    let (frame, wire_len) = split_frame_input(data);
    check_frame(link, frame, wire_len);
}

/// Decodes one frame and checks every invariant plus the model; returns what
/// `decode::frame` said.
pub fn check_frame(link: LinkType, frame: &[u8], wire_len: u32) -> Decoded {
    let got = decode::frame(link, frame, wire_len);
    if let Decoded::Ip(s) = &got {
        check_summary_invariants(link, frame, wire_len, s);
    }
    let want = model_frame(link, frame, wire_len);
    assert_eq!(
        got,
        want,
        "decode::frame disagrees with the spec model: link {link:?}, wire_len {wire_len}, \
         frame ({} bytes) {:02x?}",
        frame.len(),
        frame
    );
    got
}

/// The invariants of `counting.md` that hold whatever the frame.
pub fn check_summary_invariants(link: LinkType, frame: &[u8], wire_len: u32, s: &PacketSummary) {
    assert!(
        s.len <= u64::from(wire_len),
        "len {} > wire_len {wire_len}",
        s.len
    );
    if let Some(p) = s.ports {
        assert!(
            s.proto == 6 || s.proto == 17,
            "ports {p:?} on protocol {}",
            s.proto
        );
        assert!(!(p.syn && s.proto != 6), "SYN on protocol {}", s.proto);
        // The ports (and for TCP the flags byte) lie inside the datagram.
        let need = if s.proto == 6 { 14 } else { 4 };
        assert!(
            s.len >= need,
            "ports read from a datagram of {} bytes",
            s.len
        );
        assert!(
            frame.len() >= need as usize,
            "ports read from a frame of {} bytes",
            frame.len()
        );
    }
    match link {
        LinkType::Ethernet => {
            assert_eq!(
                s.dst_mac.as_ref(),
                frame.get(0..6).map(|m| m.try_into().unwrap()).as_ref()
            );
            assert_eq!(
                s.src_mac.as_ref(),
                frame.get(6..12).map(|m| m.try_into().unwrap()).as_ref()
            );
        }
        LinkType::LinuxSll | LinkType::LinuxSll2 => {
            assert_eq!(s.dst_mac, None, "cooked capture gave a destination MAC");
        }
        _ => {
            assert_eq!((s.src_mac, s.dst_mac), (None, None), "MAC on {link:?}");
        }
    }
}

// ---------------------------------------------------------------------------
// The spec model.

const V4_MAPPED: u128 = 0xffff_0000_0000;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn mac(b: &[u8], at: usize) -> Option<[u8; 6]> {
    b.get(at..at + 6).map(|m| m.try_into().unwrap())
}

/// Link header of `counting.md` §1: `(offset of the IP header, src MAC,
/// dst MAC)`, or `None` for a non-IP frame.
#[allow(clippy::type_complexity)]
pub fn model_link(link: LinkType, f: &[u8]) -> Option<(usize, Option<[u8; 6]>, Option<[u8; 6]>)> {
    let ip = |et: u16| et == 0x0800 || et == 0x86dd;
    let ppp_ip = |p: u16| p == 0x0021 || p == 0x0057;
    match link {
        LinkType::Ethernet => {
            if f.len() < 14 {
                return None;
            }
            let mut off = 14;
            let mut et = be16(f, 12)?;
            while matches!(et, 0x8100 | 0x88a8 | 0x9100) {
                // a tag: 2 bytes TCI, then the next ethertype
                et = be16(f, off + 2)?;
                off += 4;
            }
            if et == 0x8864 {
                // PPPoE: ver/type, code, session id, length, then PPP protocol
                if !ppp_ip(be16(f, off + 6)?) {
                    return None;
                }
                off += 8;
            } else if !ip(et) {
                return None;
            }
            Some((off, mac(f, 6), mac(f, 0)))
        }
        LinkType::LinuxSll => {
            if f.len() < 16 || !ip(be16(f, 14)?) {
                return None;
            }
            let m = if be16(f, 2)? == 1 && be16(f, 4)? == 6 {
                mac(f, 6)
            } else {
                None
            };
            Some((16, m, None))
        }
        LinkType::LinuxSll2 => {
            if f.len() < 20 || !ip(be16(f, 0)?) {
                return None;
            }
            let m = if be16(f, 8)? == 1 && f[11] == 6 {
                mac(f, 12)
            } else {
                None
            };
            Some((20, m, None))
        }
        LinkType::Raw => Some((0, None, None)),
        LinkType::Null => {
            let b: [u8; 4] = f.get(0..4)?.try_into().unwrap();
            let fams = [2u32, 10, 24, 28, 30];
            let ok = fams.contains(&u32::from_le_bytes(b)) || fams.contains(&u32::from_be_bytes(b));
            ok.then_some((4, None, None))
        }
        LinkType::Ppp | LinkType::PppHdlc => {
            let ac = f.starts_with(&[0xff, 0x03]);
            if link == LinkType::PppHdlc && !ac {
                return None;
            }
            let off = if ac { 2 } else { 0 };
            ppp_ip(be16(f, off)?).then_some((off + 2, None, None))
        }
    }
}

/// `counting.md` §1, §2, §4, §7 for one frame.
pub fn model_frame(link: LinkType, f: &[u8], wire_len: u32) -> Decoded {
    let Some((off, src_mac, dst_mac)) = model_link(link, f) else {
        return Decoded::NonIp;
    };
    let wire_after = u64::from(wire_len).saturating_sub(off as u64);
    let p = &f[off..];
    let r = match p.first().map(|b| b >> 4) {
        None => Err(MalformedReason::ShortIpHeader),
        Some(4) => model_v4(p, wire_after),
        Some(6) => model_v6(p, wire_after),
        Some(_) => Err(MalformedReason::BadIpVersion),
    };
    match r {
        Ok(mut s) => {
            s.src_mac = src_mac;
            s.dst_mac = dst_mac;
            Decoded::Ip(s)
        }
        Err(e) => Decoded::Malformed(e),
    }
}

/// Ports of a TCP/UDP header at `at`, when captured and within `len`.
fn model_ports(p: &[u8], at: usize, proto: u8, len: u64) -> Option<Ports> {
    let need = match proto {
        6 => at + 14,
        17 => at + 4,
        _ => return None,
    };
    if need > p.len() || need as u64 > len {
        return None;
    }
    let syn = proto == 6 && p[at + 13] & 0x02 != 0 && p[at + 13] & 0x10 == 0;
    Some(Ports {
        src: be16(p, at)?,
        dst: be16(p, at + 2)?,
        syn,
    })
}

fn model_v4(p: &[u8], wire_after: u64) -> Result<PacketSummary, MalformedReason> {
    if p.len() < 20 {
        return Err(MalformedReason::ShortIpHeader);
    }
    let ihl = usize::from(p[0] & 0xf) * 4;
    if ihl < 20 {
        return Err(MalformedReason::BadIpv4Ihl);
    }
    let total = u64::from(be16(p, 2).unwrap());
    if total != 0 && total < ihl as u64 {
        return Err(MalformedReason::BadIpv4TotalLength);
    }
    let len = if total == 0 {
        wire_after
    } else {
        total.min(wire_after)
    };
    let proto = p[9];
    let first_fragment = be16(p, 6).unwrap() & 0x1fff == 0;
    let addr =
        |at: usize| V4_MAPPED | u128::from(u32::from_be_bytes(p[at..at + 4].try_into().unwrap()));
    Ok(PacketSummary {
        src: addr(12),
        dst: addr(16),
        len,
        proto,
        ports: if first_fragment {
            model_ports(p, ihl, proto, len)
        } else {
            None
        },
        src_mac: None,
        dst_mac: None,
    })
}

fn model_v6(p: &[u8], wire_after: u64) -> Result<PacketSummary, MalformedReason> {
    if p.len() < 40 {
        return Err(MalformedReason::ShortIpHeader);
    }
    let payload = u64::from(be16(p, 4).unwrap());
    let nh0 = p[6];
    let len = if payload != 0 {
        (payload + 40).min(wire_after)
    } else if let Some(j) = model_jumbo(p, nh0) {
        (u64::from(j) + 40).min(wire_after)
    } else if nh0 == 59 {
        40u64.min(wire_after)
    } else {
        wire_after
    };
    // Walk the chain within the captured bytes.
    let mut nh = nh0;
    let mut at = 40usize;
    let mut ports_ok = true;
    loop {
        if !matches!(nh, 0 | 43 | 44 | 60 | 51 | 135 | 139 | 140) {
            break;
        }
        let hlen = match nh {
            44 => Some(8),
            51 => p.get(at + 1).map(|&n| (usize::from(n) + 2) * 4),
            _ => p.get(at + 1).map(|&n| (usize::from(n) + 1) * 8),
        };
        match hlen {
            Some(l) if at + l <= p.len() => {
                let next = p[at];
                if nh == 44 && be16(p, at + 2).unwrap() >> 3 != 0 {
                    // non-first fragment: its Next Header is the protocol
                    nh = next;
                    ports_ok = false;
                    break;
                }
                nh = next;
                at += l;
            }
            // the header that could not be read
            _ => {
                ports_ok = false;
                break;
            }
        }
    }
    let addr = |at: usize| u128::from_be_bytes(p[at..at + 16].try_into().unwrap());
    Ok(PacketSummary {
        src: addr(8),
        dst: addr(24),
        len,
        proto: nh,
        ports: if ports_ok {
            model_ports(p, at, nh, len)
        } else {
            None
        },
        src_mac: None,
        dst_mac: None,
    })
}

/// The Jumbo Payload option of a Hop-by-Hop header right after the fixed
/// header, looked for in its captured bytes only.
fn model_jumbo(p: &[u8], nh0: u8) -> Option<u32> {
    if nh0 != 0 {
        return None;
    }
    let hbh_end = 40 + (usize::from(*p.get(41)?) + 1) * 8;
    let opts = p.get(42..hbh_end.min(p.len()))?;
    let mut i = 0;
    while i < opts.len() {
        match opts[i] {
            0 => i += 1, // Pad1
            t => {
                let olen = usize::from(*opts.get(i + 1)?);
                if t == 0xc2 && olen == 4 {
                    if let Some(v) = opts.get(i + 2..i + 6) {
                        return Some(u32::from_be_bytes(v.try_into().unwrap()));
                    }
                }
                i += 2 + olen;
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Capture files.

/// One record, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedRecord {
    pub iface: u32,
    pub dlt: u32,
    pub ts: u64,
    pub wire_len: u32,
    pub data: Vec<u8>,
}

/// How reading a capture ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `open` refused the input (its message).
    Refused(String),
    /// Records, then `Ok(None)` (`None`) or a `Stop` (offset, reason,
    /// refuse).
    Read {
        records: Vec<OwnedRecord>,
        stop: Option<(u64, String, bool)>,
        link_types: Vec<u32>,
    },
}

/// A `Read` that hands out at most `chunk` bytes per call and sometimes
/// reports `Interrupted`, to exercise the reader's buffer refills.
pub struct Trickle<'a> {
    data: &'a [u8],
    chunk: usize,
    calls: usize,
}

impl<'a> Trickle<'a> {
    pub fn new(data: &'a [u8], chunk: usize) -> Self {
        Trickle {
            data,
            chunk: chunk.max(1),
            calls: 0,
        }
    }
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.calls % 5 == 4 {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let n = self.chunk.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Reads a whole capture, checking the per-record invariants, and decodes
/// every record of a supported link type through [`check_frame`].
pub fn read_capture<R: Read>(src: R, input_len: usize, decode_records: bool) -> Outcome {
    let mut r = match CaptureReader::open(src) {
        Ok(r) => r,
        Err(e) => return Outcome::Refused(e.to_string()),
    };
    let mut records = Vec::new();
    // Every record consumes at least 12 bytes of input (a pcap record header
    // is 16, the smallest pcapng block 12): more records than that means the
    // reader is not advancing.
    let bound = input_len / 12 + 1;
    let stop = loop {
        match r.next_record() {
            Ok(Some(rec)) => {
                assert!(
                    rec.data.len() <= MAX_SNAPLEN,
                    "record {} of {} bytes (dlt {}), above {MAX_SNAPLEN}",
                    records.len(),
                    rec.data.len(),
                    rec.dlt
                );
                if decode_records {
                    if let Some(link) = LinkType::from_dlt(rec.dlt) {
                        check_frame(link, rec.data, rec.wire_len);
                    }
                }
                records.push(OwnedRecord {
                    iface: rec.iface,
                    dlt: rec.dlt,
                    ts: rec.ts,
                    wire_len: rec.wire_len,
                    data: rec.data.to_vec(),
                });
                assert!(
                    records.len() <= bound,
                    "{} records from {input_len} bytes: reader not advancing",
                    records.len()
                );
            }
            Ok(None) => break None,
            Err(s) => {
                assert!(
                    s.offset <= input_len as u64,
                    "stop offset {} beyond the input ({input_len} bytes): {}",
                    s.offset,
                    s.reason
                );
                break Some((s.offset, s.reason, s.refuse));
            }
        }
    };
    assert_eq!(r.records(), records.len() as u64, "records() count");
    let link_types = r.link_types();
    if !r.is_pcapng() {
        assert_eq!(link_types.len(), 1, "classic pcap has one link type");
    }
    for rec in &records {
        assert!(
            link_types.contains(&rec.dlt),
            "record with dlt {} not among link_types() {link_types:?}",
            rec.dlt
        );
    }
    Outcome::Read {
        records,
        stop,
        link_types,
    }
}

/// The `capture_reader` fuzz target's whole body: read the input as a
/// capture file at once, then again through a trickling reader whose chunk
/// size comes from the input, and require the same outcome.
pub fn fuzz_capture(data: &[u8]) {
    let whole = read_capture(data, data.len(), true);
    let chunk = data.last().map_or(1, |&b| usize::from(b % 61) + 1);
    let trickled = read_capture(Trickle::new(data, chunk), data.len(), false);
    assert_eq!(
        whole, trickled,
        "reading in chunks of {chunk} bytes changed the outcome"
    );
}
