//! IPv4 and IPv6: addresses, the length to count (`counting.md` §2), the
//! upper-layer protocol (§4, through the IPv6 extension chain) and whether
//! the ports may be read.

use super::{be16, transport, MalformedReason, PacketSummary};

const V4_MAPPED: u128 = 0xffff_0000_0000;
const IPV4_HEADER: usize = 20;
const IPV6_HEADER: usize = 40;

const NH_HOP_BY_HOP: u8 = 0;
const NH_ROUTING: u8 = 43;
const NH_FRAGMENT: u8 = 44;
const NH_AH: u8 = 51;
const NH_NO_NEXT: u8 = 59;
const NH_DEST_OPTS: u8 = 60;
const NH_MOBILITY: u8 = 135;
const NH_HIP: u8 = 139;
const NH_SHIM6: u8 = 140;
const OPT_PAD1: u8 = 0;
const OPT_JUMBO: u8 = 0xc2;

/// `p` starts at the IP header; `wire_after` is the frame's wire length
/// minus its link header (what the datagram can at most have been).
#[inline(always)] // into `decode::frame`, see there
pub(super) fn decode(p: &[u8], wire_after: u64) -> Result<PacketSummary, MalformedReason> {
    match p.first().map(|b| b >> 4) {
        Some(4) => v4(p, wire_after),
        Some(6) => v6(p, wire_after),
        Some(_) => Err(MalformedReason::BadIpVersion),
        None => Err(MalformedReason::ShortIpHeader),
    }
}

fn v4(p: &[u8], wire_after: u64) -> Result<PacketSummary, MalformedReason> {
    let h: &[u8; IPV4_HEADER] = p
        .get(..IPV4_HEADER)
        .and_then(|s| s.try_into().ok())
        .ok_or(MalformedReason::ShortIpHeader)?;
    let ihl = usize::from(h[0] & 0x0f) * 4;
    if ihl < IPV4_HEADER {
        return Err(MalformedReason::BadIpv4Ihl);
    }
    let total = u64::from(u16::from_be_bytes([h[2], h[3]]));
    if total != 0 && total < ihl as u64 {
        return Err(MalformedReason::BadIpv4TotalLength);
    }
    // Total length 0: segmentation offload; count what was on the wire.
    let len = if total == 0 {
        wire_after
    } else {
        total.min(wire_after)
    };
    let proto = h[9];
    let frag_offset = u16::from_be_bytes([h[6], h[7]]) & 0x1fff;
    let src = V4_MAPPED | u128::from(u32::from_be_bytes([h[12], h[13], h[14], h[15]]));
    let dst = V4_MAPPED | u128::from(u32::from_be_bytes([h[16], h[17], h[18], h[19]]));
    // Options cut off by the snaplen only cost the ports.
    let ports = if frag_offset == 0 && ihl <= p.len() {
        transport::ports(p, ihl, proto, len)
    } else {
        None
    };
    Ok(PacketSummary {
        src,
        dst,
        len,
        proto,
        ports,
        src_mac: None,
        dst_mac: None,
    })
}

fn v6(p: &[u8], wire_after: u64) -> Result<PacketSummary, MalformedReason> {
    let h: &[u8; IPV6_HEADER] = p
        .get(..IPV6_HEADER)
        .and_then(|s| s.try_into().ok())
        .ok_or(MalformedReason::ShortIpHeader)?;
    let payload = u64::from(u16::from_be_bytes([h[4], h[5]]));
    let first_nh = h[6];
    let len = if payload != 0 {
        (payload + IPV6_HEADER as u64).min(wire_after)
    } else if let Some(jumbo) = jumbo_payload(p, first_nh) {
        (u64::from(jumbo) + IPV6_HEADER as u64).min(wire_after)
    } else if first_nh == NH_NO_NEXT {
        (IPV6_HEADER as u64).min(wire_after)
    } else {
        // offload capture (BIG TCP without the option, GSO): the wire bytes
        wire_after
    };
    let src = u128::from_be_bytes(h[8..24].try_into().unwrap_or([0; 16]));
    let dst = u128::from_be_bytes(h[24..40].try_into().unwrap_or([0; 16]));
    let chain = walk_extensions(p, first_nh);
    let ports = match chain.upper_layer_at {
        Some(at) => transport::ports(p, at, chain.proto, len),
        None => None,
    };
    Ok(PacketSummary {
        src,
        dst,
        len,
        proto: chain.proto,
        ports,
        src_mac: None,
        dst_mac: None,
    })
}

struct Chain {
    /// The protocol to account: the first non-extension Next Header, the
    /// Fragment header's Next Header for a non-first fragment, or the type
    /// of the extension header the capture ends in.
    proto: u8,
    /// Offset of the upper-layer header, when it may carry ports (first
    /// fragment, chain fully captured).
    upper_layer_at: Option<usize>,
}

fn is_extension(nh: u8) -> bool {
    matches!(
        nh,
        NH_HOP_BY_HOP
            | NH_ROUTING
            | NH_FRAGMENT
            | NH_DEST_OPTS
            | NH_AH
            | NH_MOBILITY
            | NH_HIP
            | NH_SHIM6
    )
}

/// Walks the extension chain within the captured bytes. Each step advances
/// by at least 8 bytes of a finite slice, so the walk is bounded.
fn walk_extensions(p: &[u8], first: u8) -> Chain {
    let mut nh = first;
    let mut at = IPV6_HEADER;
    while is_extension(nh) {
        let hlen = if nh == NH_FRAGMENT {
            Some(8)
        } else {
            p.get(at + 1).map(|&n| {
                if nh == NH_AH {
                    (usize::from(n) + 2) * 4
                } else {
                    (usize::from(n) + 1) * 8
                }
            })
        };
        // A header counts as read only when all of its bytes were captured.
        let Some(hlen) = hlen.filter(|&l| at + l <= p.len()) else {
            return Chain {
                proto: nh,
                upper_layer_at: None,
            };
        };
        let next = p[at];
        if nh == NH_FRAGMENT {
            let offset = be16(p, at + 2).unwrap_or(0) >> 3;
            if offset != 0 {
                return Chain {
                    proto: next,
                    upper_layer_at: None,
                };
            }
        }
        nh = next;
        at += hlen;
    }
    Chain {
        proto: nh,
        upper_layer_at: Some(at),
    }
}

/// The Jumbo Payload option's value, looked for only in a Hop-by-Hop header
/// right after the fixed header and only in its captured bytes.
fn jumbo_payload(p: &[u8], first_nh: u8) -> Option<u32> {
    if first_nh != NH_HOP_BY_HOP {
        return None;
    }
    let start = IPV6_HEADER;
    let hdr_len = (usize::from(*p.get(start + 1)?) + 1) * 8;
    let end = (start + hdr_len).min(p.len());
    let mut o = start + 2;
    while o < end {
        let t = p[o];
        if t == OPT_PAD1 {
            o += 1;
            continue;
        }
        let olen = usize::from(*p.get(o + 1).filter(|_| o + 2 <= end)?);
        if t == OPT_JUMBO && olen == 4 && o + 6 <= end {
            return Some(u32::from_be_bytes(p[o + 2..o + 6].try_into().ok()?));
        }
        o += 2 + olen;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Ports;

    fn v4_header(total: u16, proto: u8, frag: u16) -> Vec<u8> {
        let t = total.to_be_bytes();
        let f = frag.to_be_bytes();
        vec![
            0x45, 0, t[0], t[1], 0, 1, f[0], f[1], 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ]
    }

    fn v6_header(payload: u16, nh: u8) -> Vec<u8> {
        let pl = payload.to_be_bytes();
        let mut h = vec![0x60, 0, 0, 0, pl[0], pl[1], nh, 64];
        h.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        h.extend_from_slice(&[0; 11]);
        h.push(1);
        h.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        h.extend_from_slice(&[0; 11]);
        h.push(2);
        h
    }

    fn udp(sp: u16, dp: u16) -> Vec<u8> {
        let mut u = sp.to_be_bytes().to_vec();
        u.extend_from_slice(&dp.to_be_bytes());
        u.extend_from_slice(&[0, 8, 0, 0]);
        u
    }

    #[test]
    fn ipv4_udp_ports_and_length() {
        let mut p = v4_header(28, 17, 0);
        p.extend(udp(1234, 53));
        let s = decode(&p, 28).unwrap();
        assert_eq!(s.src, V4_MAPPED | 0x0a00_0001);
        assert_eq!(s.dst, V4_MAPPED | 0x0a00_0002);
        assert_eq!((s.len, s.proto), (28, 17));
        assert_eq!(
            s.ports,
            Some(Ports {
                src: 1234,
                dst: 53,
                syn: false
            })
        );
    }

    #[test]
    fn ipv4_length_clamped_and_offload() {
        let p = v4_header(1500, 1, 0);
        assert_eq!(decode(&p, 60).unwrap().len, 60);
        let p = v4_header(0, 1, 0);
        assert_eq!(decode(&p, 9000).unwrap().len, 9000);
        // snaplen truncation does not change len
        assert_eq!(decode(&p[..20], 9000).unwrap().len, 9000);
    }

    #[test]
    fn ipv4_malformed_reasons() {
        let p = v4_header(28, 17, 0);
        assert_eq!(decode(&p[..19], 28), Err(MalformedReason::ShortIpHeader));
        assert_eq!(decode(&[], 28), Err(MalformedReason::ShortIpHeader));
        let mut bad = p.clone();
        bad[0] = 0x44;
        assert_eq!(decode(&bad, 28), Err(MalformedReason::BadIpv4Ihl));
        let mut bad = p.clone();
        bad[0] = 0x46;
        bad[3] = 20;
        assert_eq!(decode(&bad, 28), Err(MalformedReason::BadIpv4TotalLength));
        let mut bad = p.clone();
        bad[0] = 0x55;
        assert_eq!(decode(&bad, 28), Err(MalformedReason::BadIpVersion));
    }

    #[test]
    fn ipv4_options_shift_ports_and_cut_options_cost_only_ports() {
        let mut p = v4_header(32, 17, 0);
        p[0] = 0x46;
        p.extend_from_slice(&[1, 1, 1, 0]); // NOP NOP NOP EOL
        p.extend(udp(7, 9));
        let s = decode(&p, 32).unwrap();
        assert_eq!(s.ports.map(|x| (x.src, x.dst)), Some((7, 9)));
        let s = decode(&p[..22], 32).unwrap();
        assert_eq!((s.len, s.proto, s.ports), (32, 17, None));
    }

    #[test]
    fn ipv4_fragments_only_first_has_ports() {
        let mut p = v4_header(28, 17, 0x2000); // MF, offset 0
        p.extend(udp(1, 2));
        assert!(decode(&p, 28).unwrap().ports.is_some());
        let mut p = v4_header(28, 17, 0x0001); // offset 8
        p.extend(udp(1, 2));
        assert!(decode(&p, 28).unwrap().ports.is_none());
    }

    #[test]
    fn ipv6_in_v4_link_is_ipv6() {
        let p = v6_header(0, 59);
        let s = decode(&p, 40).unwrap();
        assert_eq!((s.len, s.proto), (40, 59));
        assert_eq!(s.src >> 96, 0x2001_0db8);
    }

    #[test]
    fn ipv6_short_header() {
        let p = v6_header(8, 17);
        assert_eq!(decode(&p[..39], 48), Err(MalformedReason::ShortIpHeader));
    }

    #[test]
    fn ipv6_payload_length_rules() {
        let mut p = v6_header(8, 17);
        p.extend(udp(5, 6));
        assert_eq!(decode(&p, 48).unwrap().len, 48);
        assert_eq!(decode(&p, 44).unwrap().len, 44); // clamped
        let mut p = v6_header(0, 17);
        p.extend(udp(5, 6));
        assert_eq!(decode(&p, 1000).unwrap().len, 1000); // offload: wire bytes
        let p = v6_header(0, 59);
        assert_eq!(decode(&p, 46).unwrap().len, 40); // padded frame
    }

    #[test]
    fn ipv6_jumbogram() {
        let mut p = v6_header(0, 0);
        // hop-by-hop: next 6 (TCP), len 0, PadN(0)? no: Jumbo option then pad
        p.extend_from_slice(&[6, 0, OPT_JUMBO, 4, 0x00, 0x01, 0x00, 0x00]);
        assert_eq!(decode(&p, 70_000).unwrap().len, 65_536 + 40);
        assert_eq!(decode(&p, 1_000).unwrap().len, 1_000);
        // Pad1 before the option is skipped
        let mut p = v6_header(0, 0);
        p.extend_from_slice(&[6, 1, OPT_PAD1, OPT_PAD1, OPT_JUMBO, 4, 0, 1, 0, 0]);
        p.extend_from_slice(&[1, 0, 0, 0, 0, 0]);
        assert_eq!(decode(&p, 70_000).unwrap().len, 65_576);
        // option not captured: wire bytes
        assert_eq!(decode(&p[..44], 70_000).unwrap().len, 70_000);
    }

    #[test]
    fn ipv6_extension_chain_to_transport() {
        let mut p = v6_header(32, 0);
        p.extend_from_slice(&[43, 0, 1, 4, 0, 0, 0, 0]); // HBH → routing
        p.extend_from_slice(&[17, 0, 0, 0, 0, 0, 0, 0]); // routing → UDP
        p.extend(udp(546, 547));
        let s = decode(&p, 72).unwrap();
        assert_eq!(s.proto, 17);
        assert_eq!(s.ports.map(|x| (x.src, x.dst)), Some((546, 547)));
    }

    #[test]
    fn ipv6_ah_length_unit_is_four_bytes() {
        let mut p = v6_header(20, 51);
        p.extend_from_slice(&[17, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1]); // AH (1+2)*4 = 12
        p.extend(udp(500, 500));
        let s = decode(&p, 60).unwrap();
        assert_eq!((s.proto, s.ports.map(|x| x.dst)), (17, Some(500)));
    }

    #[test]
    fn ipv6_chain_cut_short_names_the_unread_header() {
        let p = v6_header(8, 0);
        assert_eq!(decode(&p, 48).unwrap().proto, 0);
        let mut p = v6_header(16, 0);
        p.extend_from_slice(&[43, 0, 1, 4, 0, 0, 0, 0]);
        p.extend_from_slice(&[6, 1, 0, 0]); // routing header claims 16 bytes
        let s = decode(&p, 56).unwrap();
        assert_eq!((s.proto, s.ports), (43, None));
    }

    #[test]
    fn ipv6_non_first_fragment_ends_walk() {
        let mut p = v6_header(16, 44);
        p.extend_from_slice(&[17, 0, 0x00, 0x08, 0, 0, 0, 1]); // offset 1 (×8)
        p.extend(udp(1, 2));
        let s = decode(&p, 56).unwrap();
        assert_eq!((s.proto, s.ports), (17, None));
        let mut p = v6_header(16, 44);
        p.extend_from_slice(&[17, 0, 0x00, 0x01, 0, 0, 0, 1]); // offset 0, M
        p.extend(udp(1, 2));
        assert!(decode(&p, 56).unwrap().ports.is_some());
    }

    #[test]
    fn ipv6_ports_must_lie_within_len() {
        let mut p = v6_header(8, 60);
        p.extend_from_slice(&[17, 0, 1, 4, 0, 0, 0, 0]); // dst opts
        p.extend(udp(1, 2)); // captured, but beyond payload length 8
        let s = decode(&p, 100).unwrap();
        assert_eq!((s.len, s.proto, s.ports), (48, 17, None));
    }
}
