//! Property tests of `capd::decode::frame` against `spec/counting.md` §1, §2,
//! §4 and §7.
//!
//! Each case is a generated stack (link header, IPv4 or IPv6 with options /
//! an extension-header chain, TCP/UDP/other, payload), cut at a random
//! captured length and given a random wire length at least the captured one.
//! The expected `Decoded` is computed from the generation parameters (what
//! was put where), never by parsing the bytes, and compared whole: `len`,
//! `proto`, ports and SYN, addresses and MACs.

use capd::decode::{self, Decoded, LinkType, MalformedReason, PacketSummary, Ports};
use proptest::prelude::*;
use proptest::sample::{select, Index};

const CASES: u32 = 256;

// ---------------------------------------------------------------------------
// Link layers.

#[derive(Clone, Debug)]
enum Link {
    Ethernet {
        dst: [u8; 6],
        src: [u8; 6],
        /// (TPID, TCI) of each tag, outermost first.
        tags: Vec<(u16, u16)>,
        pppoe: bool,
        /// Ethertype / PPP protocol says IPv6 (the version nibble decides
        /// anyway).
        says_v6: bool,
        /// Padding / FCS after the datagram.
        trailer: Vec<u8>,
    },
    Sll {
        hatype: u16,
        halen: u16,
        addr: [u8; 8],
        says_v6: bool,
    },
    Sll2 {
        hatype: u16,
        halen: u8,
        addr: [u8; 8],
        says_v6: bool,
    },
    Null {
        dlt: u32,
        family: u32,
        big_endian: bool,
    },
    Ppp {
        address_control: bool,
        says_v6: bool,
    },
    PppHdlc {
        says_v6: bool,
    },
    Raw {
        dlt: u32,
    },
}

/// A link header as built: its bytes, the MACs the spec says it carries.
struct LinkHeader {
    link: LinkType,
    bytes: Vec<u8>,
    trailer: Vec<u8>,
    src_mac: Option<[u8; 6]>,
    dst_mac: Option<[u8; 6]>,
}

fn ethertype(v6: bool) -> [u8; 2] {
    if v6 {
        [0x86, 0xdd]
    } else {
        [0x08, 0x00]
    }
}

fn ppp_proto(v6: bool) -> [u8; 2] {
    if v6 {
        [0x00, 0x57]
    } else {
        [0x00, 0x21]
    }
}

impl Link {
    fn build(&self, dgram_len: usize) -> LinkHeader {
        let dlt = match self {
            Link::Ethernet { .. } => 1,
            Link::Sll { .. } => 113,
            Link::Sll2 { .. } => 276,
            Link::Null { dlt, .. } | Link::Raw { dlt } => *dlt,
            Link::Ppp { .. } => 9,
            Link::PppHdlc { .. } => 50,
        };
        let link = LinkType::from_dlt(dlt).expect("supported DLT");
        let mut b = Vec::new();
        let (mut src_mac, mut dst_mac, mut trailer) = (None, None, Vec::new());
        match self {
            Link::Ethernet {
                dst,
                src,
                tags,
                pppoe,
                says_v6,
                trailer: t,
            } => {
                b.extend_from_slice(dst);
                b.extend_from_slice(src);
                for (tpid, tci) in tags {
                    b.extend_from_slice(&tpid.to_be_bytes());
                    b.extend_from_slice(&tci.to_be_bytes());
                }
                if *pppoe {
                    b.extend_from_slice(&[0x88, 0x64, 0x11, 0x00, 0x12, 0x34]);
                    b.extend_from_slice(&((dgram_len + 2) as u16).to_be_bytes());
                    b.extend_from_slice(&ppp_proto(*says_v6));
                } else {
                    b.extend_from_slice(&ethertype(*says_v6));
                }
                src_mac = Some(*src);
                dst_mac = Some(*dst);
                trailer = t.clone();
            }
            Link::Sll {
                hatype,
                halen,
                addr,
                says_v6,
            } => {
                b.extend_from_slice(&[0, 0]); // packet type
                b.extend_from_slice(&hatype.to_be_bytes());
                b.extend_from_slice(&halen.to_be_bytes());
                b.extend_from_slice(addr);
                b.extend_from_slice(&ethertype(*says_v6));
                if *hatype == 1 && *halen == 6 {
                    src_mac = Some(addr[..6].try_into().unwrap());
                }
            }
            Link::Sll2 {
                hatype,
                halen,
                addr,
                says_v6,
            } => {
                b.extend_from_slice(&ethertype(*says_v6));
                b.extend_from_slice(&[0, 0]); // reserved
                b.extend_from_slice(&7u32.to_be_bytes()); // ifindex
                b.extend_from_slice(&hatype.to_be_bytes());
                b.push(4); // packet type: outgoing
                b.push(*halen);
                b.extend_from_slice(addr);
                if *hatype == 1 && *halen == 6 {
                    src_mac = Some(addr[..6].try_into().unwrap());
                }
            }
            Link::Null {
                family, big_endian, ..
            } => {
                if *big_endian {
                    b.extend_from_slice(&family.to_be_bytes());
                } else {
                    b.extend_from_slice(&family.to_le_bytes());
                }
            }
            Link::Ppp {
                address_control,
                says_v6,
            } => {
                if *address_control {
                    b.extend_from_slice(&[0xff, 0x03]);
                }
                b.extend_from_slice(&ppp_proto(*says_v6));
            }
            Link::PppHdlc { says_v6 } => {
                b.extend_from_slice(&[0xff, 0x03]);
                b.extend_from_slice(&ppp_proto(*says_v6));
            }
            Link::Raw { .. } => {}
        }
        LinkHeader {
            link,
            bytes: b,
            trailer,
            src_mac,
            dst_mac,
        }
    }
}

fn link_strategy() -> impl Strategy<Value = Link> {
    let tpid = select(vec![0x8100u16, 0x88a8, 0x9100]);
    let hatype =
        prop_oneof![3 => Just(1u16), 1 => select(vec![772u16, 512, 778, 65534]), 1 => any::<u16>()];
    prop_oneof![
        3 => (
            any::<[u8; 6]>(),
            any::<[u8; 6]>(),
            prop::collection::vec((tpid, any::<u16>()), 0..=4),
            any::<bool>(),
            any::<bool>(),
            prop::collection::vec(any::<u8>(), 0..=8),
        )
            .prop_map(|(dst, src, tags, pppoe, says_v6, trailer)| Link::Ethernet {
                dst,
                src,
                tags,
                pppoe,
                says_v6,
                trailer,
            }),
        1 => (
            hatype.clone(),
            prop_oneof![3 => Just(6u16), 1 => select(vec![0u16, 4, 8, 0x0106])],
            any::<[u8; 8]>(),
            any::<bool>(),
        )
            .prop_map(|(hatype, halen, addr, says_v6)| Link::Sll {
                hatype,
                halen,
                addr,
                says_v6,
            }),
        1 => (
            hatype,
            prop_oneof![3 => Just(6u8), 1 => select(vec![0u8, 4, 8, 255])],
            any::<[u8; 8]>(),
            any::<bool>(),
        )
            .prop_map(|(hatype, halen, addr, says_v6)| Link::Sll2 {
                hatype,
                halen,
                addr,
                says_v6,
            }),
        1 => (
            select(vec![0u32, 108]),
            select(vec![2u32, 10, 24, 28, 30]),
            any::<bool>(),
        )
            .prop_map(|(dlt, family, big_endian)| Link::Null {
                dlt,
                family,
                big_endian,
            }),
        1 => (any::<bool>(), any::<bool>()).prop_map(|(address_control, says_v6)| Link::Ppp {
            address_control,
            says_v6,
        }),
        1 => any::<bool>().prop_map(|says_v6| Link::PppHdlc { says_v6 }),
        1 => select(vec![12u32, 14, 101, 228, 229]).prop_map(|dlt| Link::Raw { dlt }),
    ]
}

// ---------------------------------------------------------------------------
// Transport.

#[derive(Clone, Debug)]
enum Transport {
    Tcp { sp: u16, dp: u16, flags: u8 },
    Udp { sp: u16, dp: u16 },
    Other { proto: u8 },
}

impl Transport {
    fn proto(&self) -> u8 {
        match self {
            Transport::Tcp { .. } => 6,
            Transport::Udp { .. } => 17,
            Transport::Other { proto } => *proto,
        }
    }

    fn bytes(&self) -> Vec<u8> {
        match self {
            Transport::Tcp { sp, dp, flags } => {
                let mut t = vec![0u8; 20];
                t[0..2].copy_from_slice(&sp.to_be_bytes());
                t[2..4].copy_from_slice(&dp.to_be_bytes());
                t[4..8].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
                t[12] = 0x50;
                t[13] = *flags;
                t
            }
            Transport::Udp { sp, dp } => {
                let mut t = sp.to_be_bytes().to_vec();
                t.extend_from_slice(&dp.to_be_bytes());
                t.extend_from_slice(&[0, 8, 0, 0]);
                t
            }
            Transport::Other { .. } => Vec::new(),
        }
    }

    /// Bytes from the start of the transport header the ports need
    /// (`counting.md` §4: 4 port bytes; TCP also the flags byte at 13).
    fn port_bytes(&self) -> Option<usize> {
        match self {
            Transport::Tcp { .. } => Some(14),
            Transport::Udp { .. } => Some(4),
            Transport::Other { .. } => None,
        }
    }

    fn ports(&self) -> Option<Ports> {
        match *self {
            Transport::Tcp { sp, dp, flags } => Some(Ports {
                src: sp,
                dst: dp,
                syn: flags & 0x02 != 0 && flags & 0x10 == 0,
            }),
            Transport::Udp { sp, dp } => Some(Ports {
                src: sp,
                dst: dp,
                syn: false,
            }),
            Transport::Other { .. } => None,
        }
    }
}

/// Upper-layer protocols that are not IPv6 extension headers.
const OTHER_PROTOS: [u8; 13] = [1, 2, 4, 41, 47, 50, 58, 59, 89, 103, 112, 132, 255];

fn transport_strategy(others: Vec<u8>) -> impl Strategy<Value = Transport> {
    // flags: bias towards SYN / SYN+ACK / ACK, plus anything
    let flags = prop_oneof![
        select(vec![0x02u8, 0x12, 0x10, 0x02 | 0x08, 0x18]),
        any::<u8>()
    ];
    prop_oneof![
        2 => (any::<u16>(), any::<u16>(), flags).prop_map(|(sp, dp, flags)| Transport::Tcp { sp, dp, flags }),
        2 => (any::<u16>(), any::<u16>()).prop_map(|(sp, dp)| Transport::Udp { sp, dp }),
        1 => select(others).prop_map(|proto| Transport::Other { proto }),
    ]
}

// ---------------------------------------------------------------------------
// Capture: truncation and wire length.

#[derive(Clone, Debug)]
enum Wire {
    /// The frame's full length (nothing lied, snaplen cut only).
    Full,
    /// Between the captured and the full length (length fields that lie).
    Short(Index),
    /// Longer than the frame (offload captures, lying lengths).
    Longer(u32),
    Max,
}

#[derive(Clone, Debug)]
struct Capture {
    /// `None`: the whole frame was captured.
    cut: Option<Index>,
    wire: Wire,
}

fn capture_strategy() -> impl Strategy<Value = Capture> {
    (
        prop_oneof![1 => Just(None), 1 => any::<Index>().prop_map(Some)],
        prop_oneof![
            3 => Just(Wire::Full),
            1 => any::<Index>().prop_map(Wire::Short),
            2 => (0u32..100_000).prop_map(Wire::Longer),
            1 => Just(Wire::Max),
        ],
    )
        .prop_map(|(cut, wire)| Capture { cut, wire })
}

impl Capture {
    /// (captured length, wire length) of a frame of `full` bytes.
    fn apply(&self, full: usize) -> (usize, u32) {
        let cut = self.cut.as_ref().map_or(full, |i| i.index(full + 1));
        let wire = match &self.wire {
            Wire::Full => full as u32,
            Wire::Short(i) => (cut + i.index(full - cut + 1)) as u32,
            Wire::Longer(x) => full as u32 + x,
            Wire::Max => u32::MAX,
        };
        (cut, wire)
    }
}

// ---------------------------------------------------------------------------
// IP.

/// How a length field (IPv4 total length, IPv6 payload length) is filled.
#[derive(Clone, Debug)]
enum LenField {
    Exact,
    Zero,
    Value(u16),
}

fn len_field_strategy() -> impl Strategy<Value = LenField> {
    prop_oneof![
        4 => Just(LenField::Exact),
        1 => Just(LenField::Zero),
        1 => any::<u16>().prop_map(LenField::Value),
        1 => (1u16..80).prop_map(LenField::Value),
    ]
}

fn bad_version_strategy() -> impl Strategy<Value = Option<u8>> {
    prop_oneof![
        12 => Just(None),
        1 => select(vec![0u8, 1, 2, 3, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15]).prop_map(Some),
    ]
}

#[derive(Clone, Debug)]
struct V4 {
    bad_version: Option<u8>,
    ihl: u8,
    option_byte: u8,
    total: LenField,
    flags: u8,
    frag_offset: u16,
    src: [u8; 4],
    dst: [u8; 4],
    transport: Transport,
    payload: Vec<u8>,
}

fn v4_strategy() -> impl Strategy<Value = V4> {
    let mut others: Vec<u8> = (0..=255).filter(|p| *p != 6 && *p != 17).collect();
    others.retain(|p| p % 7 == 0 || OTHER_PROTOS.contains(p) || [0, 43, 44, 51, 60].contains(p));
    (
        bad_version_strategy(),
        prop_oneof![8 => 5u8..=15, 1 => 0u8..5],
        any::<u8>(),
        len_field_strategy(),
        0u8..8,
        prop_oneof![3 => Just(0u16), 1 => 1u16..8192],
        any::<[u8; 4]>(),
        any::<[u8; 4]>(),
        transport_strategy(others),
        prop::collection::vec(any::<u8>(), 0..48),
    )
        .prop_map(
            |(
                bad_version,
                ihl,
                option_byte,
                total,
                flags,
                frag_offset,
                src,
                dst,
                transport,
                payload,
            )| V4 {
                bad_version,
                ihl,
                option_byte,
                total,
                flags,
                frag_offset,
                src,
                dst,
                transport,
                payload,
            },
        )
}

/// IPv6 extension headers.
#[derive(Clone, Debug)]
enum Ext {
    /// Hop-by-Hop (0), Destination Options (60): PadN-filled options;
    /// length (units + 1) × 8.
    Options { nh: u8, units: u8 },
    /// Routing (43), Mobility (135), HIP (139), Shim6 (140): arbitrary
    /// content; length (units + 1) × 8.
    Opaque { nh: u8, units: u8, fill: u8 },
    /// AH (51): length (units + 2) × 4.
    Ah { units: u8, fill: u8 },
    /// Fragment (44): 8 bytes.
    Fragment { offset: u16, more: bool },
    /// A Hop-by-Hop header carrying a Jumbo Payload option after `pad1`
    /// Pad1 options (only ever generated first in the chain).
    Jumbo { value: u32, pad1: u8 },
}

impl Ext {
    fn nh(&self) -> u8 {
        match self {
            Ext::Options { nh, .. } | Ext::Opaque { nh, .. } => *nh,
            Ext::Ah { .. } => 51,
            Ext::Fragment { .. } => 44,
            Ext::Jumbo { .. } => 0,
        }
    }

    fn bytes(&self, next: u8) -> Vec<u8> {
        match *self {
            Ext::Options { units, .. } => {
                let len = (usize::from(units) + 1) * 8;
                let mut b = vec![next, units, 1, (len - 4) as u8];
                b.resize(len, 0);
                b
            }
            Ext::Opaque { units, fill, .. } => {
                let mut b = vec![next, units];
                b.resize((usize::from(units) + 1) * 8, fill);
                b
            }
            Ext::Ah { units, fill } => {
                let mut b = vec![next, units];
                b.resize((usize::from(units) + 2) * 4, fill);
                b
            }
            Ext::Fragment { offset, more } => {
                let f = (offset << 3) | u16::from(more);
                let f = f.to_be_bytes();
                vec![next, 0, f[0], f[1], 0x12, 0x34, 0x56, 0x78]
            }
            Ext::Jumbo { value, pad1 } => {
                let mut b = vec![next, 0];
                b.extend(std::iter::repeat_n(0u8, usize::from(pad1)));
                b.extend_from_slice(&[0xc2, 4]);
                b.extend_from_slice(&value.to_be_bytes());
                if b.len() > 8 {
                    let pad = 16 - b.len();
                    b.extend_from_slice(&[1, (pad - 2) as u8]);
                    b.resize(16, 0);
                    b[1] = 1;
                }
                b
            }
        }
    }

    /// Offset of the end of the Jumbo option's value inside the header.
    fn jumbo_end(&self) -> Option<(usize, u32)> {
        match *self {
            Ext::Jumbo { value, pad1 } => Some((2 + usize::from(pad1) + 6, value)),
            _ => None,
        }
    }
}

fn ext_strategy() -> impl Strategy<Value = Ext> {
    prop_oneof![
        2 => (select(vec![0u8, 60]), 0u8..4).prop_map(|(nh, units)| Ext::Options { nh, units }),
        2 => (select(vec![43u8, 135, 139, 140]), 0u8..4, any::<u8>())
            .prop_map(|(nh, units, fill)| Ext::Opaque { nh, units, fill }),
        1 => (0u8..7, any::<u8>()).prop_map(|(units, fill)| Ext::Ah { units, fill }),
        2 => (prop_oneof![2 => Just(0u16), 1 => 1u16..8192], any::<bool>())
            .prop_map(|(offset, more)| Ext::Fragment { offset, more }),
    ]
}

#[derive(Clone, Debug)]
struct V6 {
    bad_version: Option<u8>,
    payload_len: LenField,
    exts: Vec<Ext>,
    src: [u8; 16],
    dst: [u8; 16],
    transport: Transport,
    payload: Vec<u8>,
}

fn v6_strategy() -> impl Strategy<Value = V6> {
    let jumbo = prop_oneof![
        3 => Just(None),
        1 => (jumbo_value(), 0u8..3).prop_map(|(value, pad1)| Some(Ext::Jumbo { value, pad1 })),
    ];
    (
        bad_version_strategy(),
        prop_oneof![2 => len_field_strategy(), 1 => Just(LenField::Zero)],
        jumbo,
        prop::collection::vec(ext_strategy(), 0..6),
        prop_oneof![3 => any::<[u8; 16]>(), 1 => any::<[u8; 4]>().prop_map(|a| {
            // IPv4-mapped
            let mut m = [0u8; 16];
            m[10] = 0xff;
            m[11] = 0xff;
            m[12..].copy_from_slice(&a);
            m
        })],
        any::<[u8; 16]>(),
        transport_strategy(OTHER_PROTOS.to_vec()),
        prop::collection::vec(any::<u8>(), 0..48),
    )
        .prop_map(
            |(bad_version, payload_len, jumbo, mut exts, src, dst, transport, payload)| {
                if let Some(j) = jumbo {
                    exts.insert(0, j);
                }
                V6 {
                    bad_version,
                    payload_len,
                    exts,
                    src,
                    dst,
                    transport,
                    payload,
                }
            },
        )
}

fn jumbo_value() -> impl Strategy<Value = u32> {
    prop_oneof![any::<u32>(), 0u32..3000]
}

/// IPv6 with payload length 0 (§2): a Jumbo option first in the chain or
/// not, no extension headers and No Next Header (59) more often.
fn v6_payload_zero_strategy() -> impl Strategy<Value = V6> {
    (
        v6_strategy(),
        prop_oneof![Just(None), (jumbo_value(), 0u8..3).prop_map(Some)],
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(mut ip, jumbo, no_exts, no_next)| {
            ip.payload_len = LenField::Zero;
            ip.exts.retain(|e| !matches!(e, Ext::Jumbo { .. }));
            if no_exts {
                ip.exts.clear();
            }
            if let Some((value, pad1)) = jumbo {
                ip.exts.insert(0, Ext::Jumbo { value, pad1 });
            }
            if no_next {
                ip.transport = Transport::Other { proto: 59 };
            }
            ip
        })
}

// ---------------------------------------------------------------------------
// Building a frame and its expected decoding.

struct Case {
    link: LinkType,
    frame: Vec<u8>,
    wire_len: u32,
    expected: Decoded,
}

fn finish(
    l: LinkHeader,
    dgram: Vec<u8>,
    capture: &Capture,
    expect_ip: impl FnOnce(usize, u64) -> Result<PacketSummary, MalformedReason>,
) -> Case {
    let off = l.bytes.len();
    let mut frame = l.bytes;
    frame.extend_from_slice(&dgram);
    frame.extend_from_slice(&l.trailer);
    let (cut, wire_len) = capture.apply(frame.len());
    frame.truncate(cut);
    let expected = if cut < off {
        // The link header itself was not captured whole.
        Decoded::NonIp
    } else {
        // §2: "pcap wire length - link header length", never below 0.
        let wire_after = u64::from(wire_len).saturating_sub(off as u64);
        match expect_ip(cut - off, wire_after) {
            Ok(mut s) => {
                s.src_mac = l.src_mac;
                s.dst_mac = l.dst_mac;
                Decoded::Ip(s)
            }
            Err(r) => Decoded::Malformed(r),
        }
    };
    Case {
        link: l.link,
        frame,
        wire_len,
        expected,
    }
}

fn v4_case(link: &Link, ip: &V4, capture: &Capture) -> Case {
    let hlen = usize::from(ip.ihl) * 4;
    let tbytes = ip.transport.bytes();
    let header_bytes = hlen.max(20);
    let dgram_len = header_bytes + tbytes.len() + ip.payload.len();
    let total: u16 = match ip.total {
        LenField::Exact => dgram_len as u16,
        LenField::Zero => 0,
        LenField::Value(v) => v,
    };
    let version = ip.bad_version.unwrap_or(4);
    let frag = (u16::from(ip.flags) << 13) | ip.frag_offset;
    let mut d = vec![(version << 4) | ip.ihl, 0];
    d.extend_from_slice(&total.to_be_bytes());
    d.extend_from_slice(&[0xab, 0xcd]);
    d.extend_from_slice(&frag.to_be_bytes());
    d.extend_from_slice(&[64, ip.transport.proto(), 0, 0]);
    d.extend_from_slice(&ip.src);
    d.extend_from_slice(&ip.dst);
    d.resize(header_bytes, ip.option_byte);
    d.extend_from_slice(&tbytes);
    d.extend_from_slice(&ip.payload);

    let l = link.build(d.len());
    finish(l, d, capture, |captured, wire_after| {
        if captured == 0 {
            return Err(MalformedReason::ShortIpHeader);
        }
        if ip.bad_version.is_some() {
            return Err(MalformedReason::BadIpVersion);
        }
        if captured < 20 {
            return Err(MalformedReason::ShortIpHeader);
        }
        if hlen < 20 {
            return Err(MalformedReason::BadIpv4Ihl);
        }
        if total != 0 && usize::from(total) < hlen {
            return Err(MalformedReason::BadIpv4TotalLength);
        }
        let len = if total == 0 {
            wire_after
        } else {
            u64::from(total).min(wire_after)
        };
        let ports = match ip.transport.port_bytes() {
            Some(need)
                if ip.frag_offset == 0
                    && hlen + need <= captured
                    && (hlen + need) as u64 <= len =>
            {
                ip.transport.ports()
            }
            _ => None,
        };
        Ok(PacketSummary {
            src: 0xffff_0000_0000 | u128::from(u32::from_be_bytes(ip.src)),
            dst: 0xffff_0000_0000 | u128::from(u32::from_be_bytes(ip.dst)),
            len,
            proto: ip.transport.proto(),
            ports,
            src_mac: None,
            dst_mac: None,
        })
    })
}

fn v6_case(link: &Link, ip: &V6, capture: &Capture) -> Case {
    let upper = ip.transport.proto();
    let nh0 = ip.exts.first().map_or(upper, Ext::nh);
    // Extension headers with their offsets from the IP header.
    let mut chain = Vec::new();
    let mut at = 40;
    for (i, e) in ip.exts.iter().enumerate() {
        let next = ip.exts.get(i + 1).map_or(upper, Ext::nh);
        let b = e.bytes(next);
        chain.push((at, b.len(), e, next));
        at += b.len();
    }
    let transport_at = at;
    let tbytes = ip.transport.bytes();
    let dgram_len = transport_at + tbytes.len() + ip.payload.len();
    let payload_len: u16 = match ip.payload_len {
        LenField::Exact => (dgram_len - 40) as u16,
        LenField::Zero => 0,
        LenField::Value(v) => v,
    };
    let version = ip.bad_version.unwrap_or(6);
    let mut d = vec![version << 4, 0, 0, 1];
    d.extend_from_slice(&payload_len.to_be_bytes());
    d.extend_from_slice(&[nh0, 64]);
    d.extend_from_slice(&ip.src);
    d.extend_from_slice(&ip.dst);
    for (i, e) in ip.exts.iter().enumerate() {
        d.extend_from_slice(&e.bytes(ip.exts.get(i + 1).map_or(upper, Ext::nh)));
    }
    d.extend_from_slice(&tbytes);
    d.extend_from_slice(&ip.payload);
    assert_eq!(d.len(), dgram_len);

    let l = link.build(d.len());
    finish(l, d, capture, |captured, wire_after| {
        if captured == 0 {
            return Err(MalformedReason::ShortIpHeader);
        }
        if ip.bad_version.is_some() {
            return Err(MalformedReason::BadIpVersion);
        }
        if captured < 40 {
            return Err(MalformedReason::ShortIpHeader);
        }
        // §2 and §7: the Jumbo option counts when its bytes were captured
        // (in a Hop-by-Hop header right after the fixed header).
        let jumbo = ip
            .exts
            .first()
            .and_then(Ext::jumbo_end)
            .filter(|(end, _)| 40 + end <= captured)
            .map(|(_, v)| v);
        let len = if payload_len != 0 {
            (u64::from(payload_len) + 40).min(wire_after)
        } else if let Some(j) = jumbo {
            (u64::from(j) + 40).min(wire_after)
        } else if nh0 == 59 {
            40u64.min(wire_after)
        } else {
            wire_after
        };
        // §4, §7: walk the chain through the captured bytes.
        let mut proto = upper;
        let mut ports_possible = true;
        for &(at, hlen, e, next) in &chain {
            if at + hlen > captured {
                proto = e.nh();
                ports_possible = false;
                break;
            }
            if let Ext::Fragment { offset, .. } = e {
                if *offset != 0 {
                    proto = next;
                    ports_possible = false;
                    break;
                }
            }
        }
        let ports = match ip.transport.port_bytes() {
            Some(need)
                if ports_possible
                    && transport_at + need <= captured
                    && (transport_at + need) as u64 <= len =>
            {
                ip.transport.ports()
            }
            _ => None,
        };
        Ok(PacketSummary {
            src: u128::from_be_bytes(ip.src),
            dst: u128::from_be_bytes(ip.dst),
            len,
            proto,
            ports,
            src_mac: None,
            dst_mac: None,
        })
    })
}

fn check(case: Case) -> Result<(), TestCaseError> {
    let got = decode::frame(case.link, &case.frame, case.wire_len);
    prop_assert_eq!(
        got,
        case.expected,
        "link {:?}, wire_len {}, frame {:02x?}",
        case.link,
        case.wire_len,
        case.frame
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn ipv4_stacks(link in link_strategy(), ip in v4_strategy(), capture in capture_strategy()) {
        check(v4_case(&link, &ip, &capture))?;
    }

    #[test]
    fn ipv6_stacks(link in link_strategy(), ip in v6_strategy(), capture in capture_strategy()) {
        check(v6_case(&link, &ip, &capture))?;
    }

    #[test]
    fn ipv6_payload_length_zero(link in link_strategy(), ip in v6_payload_zero_strategy(), capture in capture_strategy()) {
        check(v6_case(&link, &ip, &capture))?;
    }

    /// Ethernet with tags, IPv6 with extension headers, TCP: the stacks the
    /// spec spends most words on, with more cases of their own.
    #[test]
    fn ethernet_vlan_ipv6_chains(
        tags in prop::collection::vec((select(vec![0x8100u16, 0x88a8, 0x9100]), any::<u16>()), 0..=4),
        pppoe in any::<bool>(),
        ip in v6_strategy(),
        capture in capture_strategy(),
    ) {
        let link = Link::Ethernet {
            dst: [0x02, 0, 0, 0, 0, 2],
            src: [0x02, 0, 0, 0, 0, 1],
            tags,
            pppoe,
            says_v6: true,
            trailer: vec![0; 4],
        };
        check(v6_case(&link, &ip, &capture))?;
    }

    /// Link headers that do not carry IP: non-IP, whatever follows.
    #[test]
    fn non_ip_link_headers(
        which in 0usize..7,
        tags in prop::collection::vec((select(vec![0x8100u16, 0x88a8, 0x9100]), any::<u16>()), 0..=3),
        et in any::<u16>().prop_filter("not IP, a tag or PPPoE", |e| ![0x0800, 0x86dd, 0x8100, 0x88a8, 0x9100, 0x8864].contains(e)),
        ppp in any::<u16>().prop_filter("not IP", |p| *p != 0x21 && *p != 0x57),
        fam in any::<u32>().prop_filter("not a NULL family", |f| {
            let fams = [2, 10, 24, 28, 30];
            !fams.contains(f) && !fams.contains(&f.swap_bytes())
        }),
        rest in prop::collection::vec(any::<u8>(), 0..80),
        wire_extra in 0u32..2000,
    ) {
        let mut f = Vec::new();
        let link = match which {
            0 | 1 => {
                f.extend_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]);
                for (tpid, tci) in &tags {
                    f.extend_from_slice(&tpid.to_be_bytes());
                    f.extend_from_slice(&tci.to_be_bytes());
                }
                if which == 0 {
                    f.extend_from_slice(&et.to_be_bytes());
                } else {
                    f.extend_from_slice(&[0x88, 0x64, 0x11, 0, 0, 1, 0, 40]);
                    f.extend_from_slice(&ppp.to_be_bytes());
                }
                LinkType::Ethernet
            }
            2 => {
                f.extend_from_slice(&[0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0]);
                f.extend_from_slice(&et.to_be_bytes());
                LinkType::LinuxSll
            }
            3 => {
                f.extend_from_slice(&et.to_be_bytes());
                f.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0]);
                LinkType::LinuxSll2
            }
            4 => {
                f.extend_from_slice(&fam.to_le_bytes());
                LinkType::Null
            }
            5 => {
                if ppp != 0xff03 {
                    f.extend_from_slice(&[0xff, 0x03]);
                }
                f.extend_from_slice(&ppp.to_be_bytes());
                LinkType::Ppp
            }
            _ => {
                // PPP-in-HDLC without FF 03, even with an IP protocol
                f.extend_from_slice(&[0x00, 0x21]);
                LinkType::PppHdlc
            }
        };
        // a perfectly good IPv4 header follows
        f.extend_from_slice(&[0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        f.extend_from_slice(&rest);
        let wire = f.len() as u32 + wire_extra;
        prop_assert_eq!(decode::frame(link, &f, wire), Decoded::NonIp);
    }
}

#[test]
fn only_the_listed_link_types_are_supported() {
    let supported = [0, 1, 9, 12, 14, 50, 101, 108, 113, 228, 229, 276];
    for dlt in (0..1024).chain([65535, 65536, u32::MAX]) {
        assert_eq!(
            LinkType::from_dlt(dlt).is_some(),
            supported.contains(&dlt),
            "DLT {dlt}"
        );
    }
}
