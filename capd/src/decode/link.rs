//! Link layers of `counting.md` §1: where the IP header starts, and which
//! MAC addresses the frame carries.

use super::be16;

/// The pcap link types we decode. Anything else is refused at start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// BSD loopback (0, DLT_NULL) and OpenBSD loopback (108, DLT_LOOP): a
    /// 4-byte address family in either byte order.
    Null,
    Ethernet,
    /// PPP (9): optional FF 03, then a 2-byte protocol.
    Ppp,
    /// PPP in HDLC-like framing (50): FF 03 required.
    PppHdlc,
    /// Raw IP (12, 14, 101, 228, 229): the version nibble decides.
    Raw,
    LinuxSll,
    LinuxSll2,
}

impl LinkType {
    /// The link type of a pcap/pcapng link-type number, if we decode it.
    pub fn from_dlt(dlt: u32) -> Option<Self> {
        Some(match dlt {
            0 | 108 => LinkType::Null,
            1 => LinkType::Ethernet,
            9 => LinkType::Ppp,
            50 => LinkType::PppHdlc,
            12 | 14 | 101 | 228 | 229 => LinkType::Raw,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            _ => return None,
        })
    }

    /// Bytes of link header in front of the IP header in the common case;
    /// the live snaplen is computed from it.
    pub fn header_len(self) -> usize {
        match self {
            LinkType::Null => 4,
            // room for two VLAN tags and PPPoE
            LinkType::Ethernet => 14 + 8 + 8,
            LinkType::Ppp | LinkType::PppHdlc => 4,
            LinkType::Raw => 0,
            LinkType::LinuxSll => 16,
            LinkType::LinuxSll2 => 20,
        }
    }
}

/// Where the IP header starts and the MACs the frame carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Link {
    pub offset: usize,
    pub src_mac: Option<[u8; 6]>,
    pub dst_mac: Option<[u8; 6]>,
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
const VLAN_TPIDS: [u16; 3] = [0x8100, 0x88a8, 0x9100];
const PPP_IPV4: u16 = 0x0021;
const PPP_IPV6: u16 = 0x0057;
const ARPHRD_ETHER: u16 = 1;
/// BSD address families: AF_INET, and AF_INET6 as Linux, NetBSD/OpenBSD,
/// FreeBSD and Darwin number it.
const NULL_FAMILIES: [u32; 5] = [2, 10, 24, 28, 30];

/// `None`: the frame does not carry IP (counted as non-IP).
#[inline(always)] // into `decode::frame`, see there
pub(super) fn decode(link: LinkType, f: &[u8]) -> Option<Link> {
    match link {
        LinkType::Ethernet => ethernet(f),
        LinkType::LinuxSll => sll(f),
        LinkType::LinuxSll2 => sll2(f),
        LinkType::Raw => Some(Link {
            offset: 0,
            src_mac: None,
            dst_mac: None,
        }),
        LinkType::Null => null(f),
        LinkType::Ppp => ppp(f, false),
        LinkType::PppHdlc => ppp(f, true),
    }
}

fn mac_at(f: &[u8], at: usize) -> Option<[u8; 6]> {
    f.get(at..at + 6)?.try_into().ok()
}

fn plain(offset: usize) -> Option<Link> {
    Some(Link {
        offset,
        src_mac: None,
        dst_mac: None,
    })
}

fn ethernet(f: &[u8]) -> Option<Link> {
    let dst_mac = mac_at(f, 0)?;
    let src_mac = mac_at(f, 6)?;
    let mut ethertype = be16(f, 12)?;
    let mut off = 14;
    // Any depth of 802.1Q / 802.1ad tags; each step consumes 4 bytes of a
    // finite frame, so the loop ends.
    while VLAN_TPIDS.contains(&ethertype) {
        ethertype = be16(f, off + 2)?;
        off += 4;
    }
    match ethertype {
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => {}
        ETHERTYPE_PPPOE_SESSION => {
            // 6-byte PPPoE header, then the 2-byte PPP protocol.
            let proto = be16(f, off + 6)?;
            if proto != PPP_IPV4 && proto != PPP_IPV6 {
                return None;
            }
            off += 8;
        }
        _ => return None,
    }
    Some(Link {
        offset: off,
        src_mac: Some(src_mac),
        dst_mac: Some(dst_mac),
    })
}

/// Linux cooked v1: packet type, ARPHRD, address length, 8 address bytes,
/// protocol.
fn sll(f: &[u8]) -> Option<Link> {
    let proto = be16(f, 14)?;
    if proto != ETHERTYPE_IPV4 && proto != ETHERTYPE_IPV6 {
        return None;
    }
    let hatype = be16(f, 2)?;
    let halen = be16(f, 4)?;
    let src_mac = if hatype == ARPHRD_ETHER && halen == 6 {
        mac_at(f, 6)
    } else {
        None
    };
    Some(Link {
        offset: 16,
        src_mac,
        dst_mac: None,
    })
}

/// Linux cooked v2: protocol, reserved, ifindex, ARPHRD, packet type,
/// address length, 8 address bytes.
fn sll2(f: &[u8]) -> Option<Link> {
    if f.len() < 20 {
        return None;
    }
    let proto = be16(f, 0)?;
    if proto != ETHERTYPE_IPV4 && proto != ETHERTYPE_IPV6 {
        return None;
    }
    let hatype = be16(f, 8)?;
    let halen = f[11];
    let src_mac = if hatype == ARPHRD_ETHER && halen == 6 {
        mac_at(f, 12)
    } else {
        None
    };
    Some(Link {
        offset: 20,
        src_mac,
        dst_mac: None,
    })
}

fn null(f: &[u8]) -> Option<Link> {
    null_family(f)?;
    plain(4)
}

/// Which IP a loopback header's address family names, in either byte
/// order: `Some(false)` IPv4, `Some(true)` IPv6, `None` neither (or no
/// header).
pub fn null_family(f: &[u8]) -> Option<bool> {
    let fam: [u8; 4] = f.get(0..4)?.try_into().ok()?;
    let le = u32::from_le_bytes(fam);
    let be = u32::from_be_bytes(fam);
    if le == NULL_FAMILIES[0] || be == NULL_FAMILIES[0] {
        Some(false)
    } else if NULL_FAMILIES.contains(&le) || NULL_FAMILIES.contains(&be) {
        Some(true)
    } else {
        None
    }
}

fn ppp(f: &[u8], hdlc: bool) -> Option<Link> {
    let mut off = 0;
    if f.len() >= 2 && f[0] == 0xff && f[1] == 0x03 {
        off = 2;
    } else if hdlc {
        return None;
    }
    let proto = be16(f, off)?;
    if proto != PPP_IPV4 && proto != PPP_IPV6 {
        return None;
    }
    plain(off + 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const DST: [u8; 6] = [2, 0, 0, 0, 0, 2];

    fn eth(rest: &[u8]) -> Vec<u8> {
        let mut f = DST.to_vec();
        f.extend_from_slice(&SRC);
        f.extend_from_slice(rest);
        f
    }

    #[test]
    fn ethernet_ipv4_and_ipv6() {
        let l = decode(LinkType::Ethernet, &eth(&[0x08, 0x00, 0x45])).unwrap();
        assert_eq!(l.offset, 14);
        assert_eq!(l.src_mac, Some(SRC));
        assert_eq!(l.dst_mac, Some(DST));
        assert_eq!(
            decode(LinkType::Ethernet, &eth(&[0x86, 0xdd]))
                .unwrap()
                .offset,
            14
        );
    }

    #[test]
    fn ethernet_non_ip_and_short() {
        assert_eq!(decode(LinkType::Ethernet, &eth(&[0x08, 0x06])), None); // ARP
        assert_eq!(decode(LinkType::Ethernet, &eth(&[0x08])), None);
        assert_eq!(decode(LinkType::Ethernet, &[0u8; 11]), None);
        // 802.3 length field with LLC/SNAP is not decoded
        assert_eq!(
            decode(LinkType::Ethernet, &eth(&[0x00, 0x40, 0xaa, 0xaa])),
            None
        );
    }

    #[test]
    fn vlan_stack_of_any_depth() {
        let f = eth(&[
            0x88, 0xa8, 0, 10, 0x81, 0x00, 0, 20, 0x91, 0x00, 0, 30, 0x08, 0x00,
        ]);
        assert_eq!(decode(LinkType::Ethernet, &f).unwrap().offset, 26);
        // tag cut short: non-IP
        assert_eq!(
            decode(LinkType::Ethernet, &eth(&[0x81, 0x00, 0, 10, 0x08])),
            None
        );
    }

    #[test]
    fn pppoe_session_ipv4_ipv6_and_other() {
        let v4 = eth(&[0x88, 0x64, 0x11, 0, 0, 1, 0, 20, 0x00, 0x21]);
        assert_eq!(decode(LinkType::Ethernet, &v4).unwrap().offset, 22);
        let v6 = eth(&[
            0x81, 0x00, 0, 5, 0x88, 0x64, 0x11, 0, 0, 1, 0, 20, 0x00, 0x57,
        ]);
        assert_eq!(decode(LinkType::Ethernet, &v6).unwrap().offset, 26);
        let lcp = eth(&[0x88, 0x64, 0x11, 0, 0, 1, 0, 20, 0xc0, 0x21]);
        assert_eq!(decode(LinkType::Ethernet, &lcp), None);
        let short = eth(&[0x88, 0x64, 0x11, 0, 0, 1, 0, 20, 0x00]);
        assert_eq!(decode(LinkType::Ethernet, &short), None);
    }

    #[test]
    fn sll_mac_only_for_ethernet_hardware() {
        let mut f = vec![0, 0, 0, 1, 0, 6];
        f.extend_from_slice(&SRC);
        f.extend_from_slice(&[0, 0, 0x08, 0x00]);
        let l = decode(LinkType::LinuxSll, &f).unwrap();
        assert_eq!((l.offset, l.src_mac, l.dst_mac), (16, Some(SRC), None));
        f[3] = 0x04; // ARPHRD 772, loopback
        assert_eq!(decode(LinkType::LinuxSll, &f).unwrap().src_mac, None);
        f[3] = 1;
        f[5] = 4; // address length 4
        assert_eq!(decode(LinkType::LinuxSll, &f).unwrap().src_mac, None);
        f[14] = 0x08;
        f[15] = 0x06;
        assert_eq!(decode(LinkType::LinuxSll, &f), None);
        assert_eq!(decode(LinkType::LinuxSll, &f[..15]), None);
    }

    #[test]
    fn sll2_mac_and_protocol() {
        let mut f = vec![0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6];
        f.extend_from_slice(&SRC);
        f.extend_from_slice(&[0, 0]);
        let l = decode(LinkType::LinuxSll2, &f).unwrap();
        assert_eq!((l.offset, l.src_mac), (20, Some(SRC)));
        f[9] = 0x02; // ARPHRD 2
        assert_eq!(decode(LinkType::LinuxSll2, &f).unwrap().src_mac, None);
        assert_eq!(decode(LinkType::LinuxSll2, &f[..19]), None);
        f[1] = 0xde;
        assert_eq!(decode(LinkType::LinuxSll2, &f), None);
    }

    #[test]
    fn null_families_in_both_byte_orders() {
        for fam in NULL_FAMILIES {
            assert_eq!(
                decode(LinkType::Null, &fam.to_le_bytes()).unwrap().offset,
                4
            );
            assert_eq!(
                decode(LinkType::Null, &fam.to_be_bytes()).unwrap().offset,
                4
            );
        }
        assert_eq!(decode(LinkType::Null, &7u32.to_le_bytes()), None);
        assert_eq!(decode(LinkType::Null, &[2, 0, 0]), None);
    }

    #[test]
    fn ppp_address_control_optional_hdlc_required() {
        assert_eq!(
            decode(LinkType::Ppp, &[0xff, 0x03, 0x00, 0x21])
                .unwrap()
                .offset,
            4
        );
        assert_eq!(decode(LinkType::Ppp, &[0x00, 0x57]).unwrap().offset, 2);
        assert_eq!(decode(LinkType::Ppp, &[0xc0, 0x21]), None);
        assert_eq!(decode(LinkType::Ppp, &[0x00]), None);
        assert_eq!(
            decode(LinkType::PppHdlc, &[0xff, 0x03, 0x00, 0x21])
                .unwrap()
                .offset,
            4
        );
        assert_eq!(decode(LinkType::PppHdlc, &[0x00, 0x21]), None);
        assert_eq!(decode(LinkType::PppHdlc, &[0xff, 0x03, 0x00]), None);
    }

    #[test]
    fn dlt_numbers() {
        for d in [0, 1, 9, 12, 14, 50, 101, 108, 113, 228, 229, 276] {
            assert!(LinkType::from_dlt(d).is_some(), "{d}");
        }
        for d in [105, 127, 239, 274, 2, 65536 + 1] {
            assert!(LinkType::from_dlt(d).is_none(), "{d}");
        }
    }
}
