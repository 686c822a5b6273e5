//! decode: one captured frame → a [`Decoded`] summary.
//!
//! Implements `spec/counting.md` §1, §2 and §4: link layers (`link`), the
//! IPv4/IPv6 headers and the IPv6 extension chain (`ip`), and the TCP/UDP
//! ports (`transport`). Every function here is total over arbitrary bytes:
//! lengths are checked before each read, nothing allocates, nothing reads the
//! clock, nothing panics (fuzzed by `fuzz/fuzz_targets/decode_*.rs`).

mod ip;
mod link;
mod transport;

pub use link::{null_family, LinkType};

/// What a frame turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// An IP packet to account.
    Ip(PacketSummary),
    /// Not IP (ARP, LLDP, an encapsulation we do not decode, a frame too
    /// short for its link header): counted in `non_ip` with its wire length.
    NonIp,
    /// Claimed IP but its header is unusable: counted in `malformed`.
    Malformed(MalformedReason),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MalformedReason {
    ShortIpHeader,
    BadIpVersion,
    BadIpv4Ihl,
    BadIpv4TotalLength,
}

/// TCP or UDP ports read from the first fragment (`counting.md` §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ports {
    pub src: u16,
    pub dst: u16,
    /// TCP only: SYN set and ACK clear.
    pub syn: bool,
}

/// The accounting-relevant facts of one IP packet. `Copy`, no references
/// into the frame: the capture buffer may be reused as soon as decode returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketSummary {
    /// Source and destination as 128-bit keys (`common::net::ip_key`):
    /// IPv4 and IPv4-mapped IPv6 share the `::ffff:0:0/96` space.
    pub src: u128,
    pub dst: u128,
    /// Bytes to count (`counting.md` §2).
    pub len: u64,
    /// Upper-layer protocol (end of the IPv6 extension chain).
    pub proto: u8,
    /// Present only for TCP/UDP first fragments whose ports were captured.
    pub ports: Option<Ports>,
    pub src_mac: Option<[u8; 6]>,
    pub dst_mac: Option<[u8; 6]>,
}

impl PacketSummary {
    /// A summary of nothing, for the idle slots of the counting pipelines.
    pub const EMPTY: PacketSummary = PacketSummary {
        src: 0,
        dst: 0,
        len: 0,
        proto: 0,
        ports: None,
        src_mac: None,
        dst_mac: None,
    };
}

/// Decodes one frame of link type `link`; `wire_len` is the length the frame
/// had on the wire (the pcap record's `len`), `frame` the captured bytes.
// Never inlined: inlined into the reading loop it made that loop a third
// slower, as the loop then spilled to the stack and reloaded what it had
// just stored (the reading thread alone on 10M packets: 1.01–1.09 s
// inlined, 0.77–0.81 s out of line).
#[inline(never)]
pub fn frame(link: LinkType, frame: &[u8], wire_len: u32) -> Decoded {
    let Some(l) = link::decode(link, frame) else {
        return Decoded::NonIp;
    };
    let wire_after = u64::from(wire_len).saturating_sub(l.offset as u64);
    match ip::decode(&frame[l.offset..], wire_after) {
        Ok(mut s) => {
            s.src_mac = l.src_mac;
            s.dst_mac = l.dst_mac;
            Decoded::Ip(s)
        }
        Err(r) => Decoded::Malformed(r),
    }
}

#[inline]
fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at + 2)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}
