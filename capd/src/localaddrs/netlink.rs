//! A sans-IO reader of rtnetlink address messages (`RTM_NEWADDR`,
//! `RTM_DELADDR`, and the `NLMSG_DONE` / `NLMSG_ERROR` that end a dump).
//!
//! The bytes come from the kernel, but they are read as untrusted input
//! all the same: every length is checked against what is left, nothing
//! panics and nothing allocates, whatever the bytes. A message whose own
//! length is impossible ends the datagram (where the next one starts is
//! unknown); a message whose body is damaged is reported and skipped.
//!
//! Layouts (`linux/netlink.h`, `linux/if_addr.h`), in host byte order:
//! `nlmsghdr` = len u32, type u16, flags u16, seq u32, pid u32 (16 bytes);
//! `ifaddrmsg` = family u8, prefixlen u8, flags u8, scope u8, index u32
//! (8 bytes); then `rtattr`s = len u16, type u16, value, padded to 4.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const NLMSG_HDRLEN: usize = 16;
const IFADDRMSG_LEN: usize = 8;
const RTA_HDRLEN: usize = 4;

pub const NLMSG_NOOP: u16 = 1;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLMSG_OVERRUN: u16 = 4;
pub const RTM_NEWADDR: u16 = 20;
pub const RTM_DELADDR: u16 = 21;
pub const RTM_GETADDR: u16 = 22;

pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_MULTI: u16 = 0x2;
/// The dump changed under the kernel while it was being made.
pub const NLM_F_DUMP_INTR: u16 = 0x10;
/// `NLM_F_ROOT | NLM_F_MATCH`.
pub const NLM_F_DUMP: u16 = 0x300;

const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
/// `NLA_F_NESTED | NLA_F_NET_BYTEORDER` ride in the type's top bits.
const NLA_TYPE_MASK: u16 = 0x3fff;

pub const AF_INET: u8 = 2;
pub const AF_INET6: u8 = 10;

/// `NLMSG_ALIGN` / `RTA_ALIGN`: 4-byte padding.
fn align4(n: usize) -> usize {
    n.saturating_add(3) & !3
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_ne_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
}

/// A netlink message header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub len: u32,
    pub kind: u16,
    pub flags: u16,
    pub seq: u32,
    /// The port of the socket that asked (0 = the kernel itself).
    pub pid: u32,
}

/// An interface address, as `RTM_NEWADDR` / `RTM_DELADDR` carry it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IfAddr {
    pub index: u32,
    /// The interface's own address: `IFA_LOCAL` when present, else
    /// `IFA_ADDRESS` (on a point-to-point IPv4 link `IFA_ADDRESS` is the
    /// peer's; IPv6 carries its own address in `IFA_ADDRESS`), which is
    /// what getifaddrs(3) reports too.
    pub addr: IpAddr,
    pub prefix: u8,
}

/// What one message says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    NewAddr(IfAddr),
    DelAddr(IfAddr),
    /// The end of a dump.
    Done,
    /// An error (negative errno) or, with 0, an acknowledgement.
    Error(i32),
    /// `NLMSG_OVERRUN`: data was lost.
    Overrun,
    /// Anything else: other message types, other address families.
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("netlink message header cut short ({0} bytes left)")]
    ShortHeader(usize),
    #[error("netlink message length {len} is impossible ({left} bytes left)")]
    BadLength { len: u32, left: usize },
    #[error("address message body of {0} bytes is shorter than ifaddrmsg")]
    ShortIfAddr(usize),
    #[error("attribute length {len} is impossible at body offset {at}")]
    BadAttr { len: u16, at: usize },
    #[error("{len}-byte address attribute in a family {family} message")]
    AddrLength { family: u8, len: usize },
    #[error("address message of family {0} carries no address")]
    NoAddress(u8),
    #[error("error message cut short")]
    ShortError,
}

/// The messages of one datagram, in order.
pub struct Messages<'a> {
    rest: &'a [u8],
}

/// Iterates over the messages in `datagram`.
pub fn messages(datagram: &[u8]) -> Messages<'_> {
    Messages { rest: datagram }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<(Header, Body), ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let left = self.rest.len();
        let (Some(len), Some(kind), Some(flags), Some(seq), Some(pid)) = (
            u32_at(self.rest, 0),
            u16_at(self.rest, 4),
            u16_at(self.rest, 6),
            u32_at(self.rest, 8),
            u32_at(self.rest, 12),
        ) else {
            self.rest = &[];
            return Some(Err(ParseError::ShortHeader(left)));
        };
        let Some(msg) = usize::try_from(len)
            .ok()
            .filter(|&l| l >= NLMSG_HDRLEN && l <= left)
            .map(|l| &self.rest[..l])
        else {
            // where the next message starts is unknown: drop the rest
            self.rest = &[];
            return Some(Err(ParseError::BadLength { len, left }));
        };
        // the last message of a datagram may lack its padding
        let step = align4(msg.len()).min(left);
        self.rest = &self.rest[step..];
        let hdr = Header {
            len,
            kind,
            flags,
            seq,
            pid,
        };
        let body = &msg[NLMSG_HDRLEN..];
        Some(parse_body(kind, body).map(|b| (hdr, b)))
    }
}

fn parse_body(kind: u16, body: &[u8]) -> Result<Body, ParseError> {
    match kind {
        RTM_NEWADDR | RTM_DELADDR => Ok(match parse_ifaddr(body)? {
            Some(a) if kind == RTM_NEWADDR => Body::NewAddr(a),
            Some(a) => Body::DelAddr(a),
            None => Body::Other,
        }),
        NLMSG_DONE => Ok(Body::Done),
        NLMSG_ERROR => {
            let e = u32_at(body, 0).ok_or(ParseError::ShortError)?;
            Ok(Body::Error(e as i32))
        }
        NLMSG_OVERRUN => Ok(Body::Overrun),
        _ => Ok(Body::Other),
    }
}

/// `Ok(None)` for a family other than IPv4 and IPv6.
fn parse_ifaddr(body: &[u8]) -> Result<Option<IfAddr>, ParseError> {
    let (Some(&family), Some(&prefix), Some(index)) = (body.first(), body.get(1), u32_at(body, 4))
    else {
        return Err(ParseError::ShortIfAddr(body.len()));
    };
    if family != AF_INET && family != AF_INET6 {
        return Ok(None);
    }
    let mut local = None;
    let mut address = None;
    let mut at = IFADDRMSG_LEN;
    while at < body.len() {
        let len = u16_at(body, at)
            .zip(u16_at(body, at + 2))
            .filter(|&(l, _)| usize::from(l) >= RTA_HDRLEN && usize::from(l) <= body.len() - at);
        let Some((len, ty)) = len else {
            return Err(ParseError::BadAttr {
                len: u16_at(body, at).unwrap_or(0),
                at,
            });
        };
        let value = &body[at + RTA_HDRLEN..at + usize::from(len)];
        let slot = match ty & NLA_TYPE_MASK {
            IFA_LOCAL => Some(&mut local),
            IFA_ADDRESS => Some(&mut address),
            // unknown attributes (labels, flags, cache info, ...) are skipped
            _ => None,
        };
        if let Some(slot) = slot {
            *slot = Some(ip_of(family, value).ok_or(ParseError::AddrLength {
                family,
                len: value.len(),
            })?);
        }
        at = at.saturating_add(align4(usize::from(len)));
    }
    let addr = local.or(address).ok_or(ParseError::NoAddress(family))?;
    Ok(Some(IfAddr {
        index,
        addr,
        prefix,
    }))
}

fn ip_of(family: u8, v: &[u8]) -> Option<IpAddr> {
    match family {
        AF_INET => <[u8; 4]>::try_from(v)
            .ok()
            .map(|b| IpAddr::V4(Ipv4Addr::from(b))),
        AF_INET6 => <[u8; 16]>::try_from(v)
            .ok()
            .map(|b| IpAddr::V6(Ipv6Addr::from(b))),
        _ => None,
    }
}

/// The `RTM_GETADDR` dump request for every address of every family.
pub fn dump_request(seq: u32) -> [u8; NLMSG_HDRLEN + IFADDRMSG_LEN] {
    const LEN: usize = NLMSG_HDRLEN + IFADDRMSG_LEN;
    let mut m = [0u8; LEN];
    m[0..4].copy_from_slice(&(LEN as u32).to_ne_bytes());
    m[4..6].copy_from_slice(&RTM_GETADDR.to_ne_bytes());
    m[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    m[8..12].copy_from_slice(&seq.to_ne_bytes());
    // pid 0: the kernel fills in our port; ifaddrmsg all zero: AF_UNSPEC,
    // every interface
    m
}

/// Builders for byte-level messages, shared by the unit tests and the
/// table's tests.
#[cfg(test)]
pub(crate) mod build {
    use super::*;

    pub fn attr(ty: u16, value: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend_from_slice(&((RTA_HDRLEN + value.len()) as u16).to_ne_bytes());
        a.extend_from_slice(&ty.to_ne_bytes());
        a.extend_from_slice(value);
        a.resize(align4(a.len()), 0);
        a
    }

    pub fn msg(kind: u16, flags: u16, seq: u32, pid: u32, body: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&((NLMSG_HDRLEN + body.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&flags.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&pid.to_ne_bytes());
        m.extend_from_slice(body);
        m.resize(align4(m.len()), 0);
        m
    }

    pub fn ifaddr(family: u8, prefix: u8, index: u32, attrs: &[Vec<u8>]) -> Vec<u8> {
        let mut b = vec![family, prefix, 0, 0];
        b.extend_from_slice(&index.to_ne_bytes());
        for a in attrs {
            b.extend_from_slice(a);
        }
        b
    }

    /// An address message as the kernel sends it: IPv4 with IFA_ADDRESS
    /// and IFA_LOCAL (plus a label), IPv6 with IFA_ADDRESS only.
    pub fn addr_msg(kind: u16, flags: u16, seq: u32, index: u32, ip: IpAddr) -> Vec<u8> {
        let body = match ip {
            IpAddr::V4(a) => ifaddr(
                AF_INET,
                24,
                index,
                &[
                    attr(IFA_ADDRESS, &a.octets()),
                    attr(IFA_LOCAL, &a.octets()),
                    attr(3, b"eth0\0"),
                ],
            ),
            IpAddr::V6(a) => ifaddr(AF_INET6, 64, index, &[attr(IFA_ADDRESS, &a.octets())]),
        };
        msg(kind, flags, seq, 0, &body)
    }

    pub fn done(seq: u32, pid: u32) -> Vec<u8> {
        msg(NLMSG_DONE, NLM_F_MULTI, seq, pid, &0i32.to_ne_bytes())
    }

    pub fn error(seq: u32, pid: u32, errno: i32) -> Vec<u8> {
        let mut b = (-errno).to_ne_bytes().to_vec();
        b.extend_from_slice(&dump_request(seq)[..NLMSG_HDRLEN]);
        msg(NLMSG_ERROR, 0, seq, pid, &b)
    }
}

#[cfg(test)]
mod tests {
    use super::build::*;
    use super::*;

    fn all(bytes: &[u8]) -> Vec<Result<(Header, Body), ParseError>> {
        messages(bytes).collect()
    }

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv4_add_and_delete() {
        let mut d = addr_msg(RTM_NEWADDR, 0, 7, 3, v4("10.0.0.5"));
        d.extend(addr_msg(RTM_DELADDR, 0, 8, 3, v4("10.0.0.5")));
        let got = all(&d);
        assert_eq!(got.len(), 2);
        let (h, b) = got[0].unwrap();
        assert_eq!((h.kind, h.seq, h.pid), (RTM_NEWADDR, 7, 0));
        let a = IfAddr {
            index: 3,
            addr: v4("10.0.0.5"),
            prefix: 24,
        };
        assert_eq!(b, Body::NewAddr(a));
        assert_eq!(got[1].unwrap().1, Body::DelAddr(a));
    }

    #[test]
    fn ipv6_add_and_delete() {
        let ip: IpAddr = "2001:db8::7".parse().unwrap();
        let mut d = addr_msg(RTM_NEWADDR, 0, 1, 9, ip);
        d.extend(addr_msg(RTM_DELADDR, 0, 2, 9, ip));
        let got: Vec<Body> = messages(&d).map(|m| m.unwrap().1).collect();
        let a = IfAddr {
            index: 9,
            addr: ip,
            prefix: 64,
        };
        assert_eq!(got, [Body::NewAddr(a), Body::DelAddr(a)]);
    }

    #[test]
    fn point_to_point_uses_the_local_address_not_the_peer() {
        // IFA_ADDRESS (the peer) before IFA_LOCAL, as on a ppp link
        let body = ifaddr(
            AF_INET,
            32,
            4,
            &[
                attr(IFA_ADDRESS, &[10, 0, 0, 2]),
                attr(IFA_LOCAL, &[10, 0, 0, 1]),
            ],
        );
        let m = msg(RTM_NEWADDR, 0, 0, 0, &body);
        let Body::NewAddr(a) = all(&m)[0].unwrap().1 else {
            panic!()
        };
        assert_eq!(a.addr, v4("10.0.0.1"));
    }

    #[test]
    fn unknown_attributes_and_flag_bits_are_skipped() {
        let body = ifaddr(
            AF_INET,
            8,
            2,
            &[
                attr(200, &[1, 2, 3]),
                attr(8, &0u32.to_ne_bytes()),
                attr(IFA_LOCAL | 0x8000, &[192, 0, 2, 1]),
                attr(0x4000 | 77, &[]),
            ],
        );
        let m = msg(RTM_NEWADDR, 0, 0, 0, &body);
        let Body::NewAddr(a) = all(&m)[0].unwrap().1 else {
            panic!()
        };
        assert_eq!(a.addr, v4("192.0.2.1"));
    }

    #[test]
    fn other_families_and_message_types_are_other() {
        let body = ifaddr(17, 0, 1, &[attr(IFA_ADDRESS, &[1, 2, 3, 4, 5, 6])]);
        let mut d = msg(RTM_NEWADDR, 0, 0, 0, &body);
        d.extend(msg(16 /* RTM_NEWLINK */, 0, 0, 0, &[0; 16]));
        d.extend(msg(NLMSG_NOOP, 0, 0, 0, &[]));
        d.extend(msg(NLMSG_OVERRUN, 0, 0, 0, &[]));
        let got: Vec<Body> = messages(&d).map(|m| m.unwrap().1).collect();
        assert_eq!(got, [Body::Other, Body::Other, Body::Other, Body::Overrun]);
    }

    #[test]
    fn multipart_dump_ends_with_done() {
        let mut d = addr_msg(RTM_NEWADDR, NLM_F_MULTI, 5, 1, v4("127.0.0.1"));
        d.extend(addr_msg(RTM_NEWADDR, NLM_F_MULTI, 5, 2, v4("10.1.1.1")));
        d.extend(addr_msg(
            RTM_NEWADDR,
            NLM_F_MULTI,
            5,
            2,
            "fe80::1".parse().unwrap(),
        ));
        d.extend(done(5, 1234));
        let got = all(&d);
        assert_eq!(got.len(), 4);
        assert!(got[..3]
            .iter()
            .all(|m| m.unwrap().0.flags & NLM_F_MULTI != 0));
        assert_eq!(got[3].unwrap().1, Body::Done);
        assert_eq!(got[3].unwrap().0.pid, 1234);
    }

    #[test]
    fn error_message_carries_the_errno() {
        let got = all(&error(3, 99, libc::EBUSY));
        assert_eq!(got[0].unwrap().1, Body::Error(-libc::EBUSY));
        // an error body cut short
        let got = all(&msg(NLMSG_ERROR, 0, 3, 0, &[1, 2]));
        assert_eq!(got[0], Err(ParseError::ShortError));
    }

    #[test]
    fn truncated_header_stops_the_datagram() {
        let m = addr_msg(RTM_NEWADDR, 0, 0, 1, v4("10.0.0.1"));
        for cut in 1..NLMSG_HDRLEN {
            let got = all(&m[..cut]);
            assert_eq!(got, [Err(ParseError::ShortHeader(cut))]);
        }
    }

    #[test]
    fn wrong_lengths_are_errors_never_panics() {
        let good = addr_msg(RTM_NEWADDR, 0, 0, 1, v4("10.0.0.1"));
        // nlmsg_len beyond the datagram, below the header, zero
        for len in [good.len() as u32 + 4, 15, 0, u32::MAX] {
            let mut m = good.clone();
            m[0..4].copy_from_slice(&len.to_ne_bytes());
            assert!(
                matches!(all(&m)[..], [Err(ParseError::BadLength { .. })]),
                "{len}"
            );
        }
        // a message cut inside its body: nlmsg_len says more than there is
        for cut in NLMSG_HDRLEN..good.len() {
            let got = all(&good[..cut]);
            assert_eq!(got.len(), 1, "{cut}");
            assert!(got[0].is_err(), "{cut}");
        }
        // the header's length shortened: the body ends early
        for len in NLMSG_HDRLEN..good.len() {
            let mut m = good.clone();
            m[0..4].copy_from_slice(&(len as u32).to_ne_bytes());
            for r in messages(&m) {
                let _ = r; // whatever it says, it says it without panicking
            }
        }
        // attribute lengths 0..3 and past the end
        for bad in [0u16, 1, 3, 200] {
            let mut body = ifaddr(AF_INET, 24, 1, &[attr(IFA_LOCAL, &[10, 0, 0, 1])]);
            body[8..10].copy_from_slice(&bad.to_ne_bytes());
            let got = all(&msg(RTM_NEWADDR, 0, 0, 0, &body));
            assert!(
                matches!(got[0], Err(ParseError::BadAttr { .. })),
                "{bad}: {got:?}"
            );
        }
        // an address of the wrong size for the family
        let body = ifaddr(AF_INET6, 64, 1, &[attr(IFA_ADDRESS, &[10, 0, 0, 1])]);
        assert_eq!(
            all(&msg(RTM_NEWADDR, 0, 0, 0, &body))[0],
            Err(ParseError::AddrLength {
                family: AF_INET6,
                len: 4
            })
        );
        // no address at all; an ifaddrmsg cut short
        let body = ifaddr(AF_INET, 24, 1, &[]);
        assert_eq!(
            all(&msg(RTM_DELADDR, 0, 0, 0, &body))[0],
            Err(ParseError::NoAddress(AF_INET))
        );
        assert_eq!(
            all(&msg(RTM_DELADDR, 0, 0, 0, &[2, 24, 0]))[0],
            Err(ParseError::ShortIfAddr(3))
        );
    }

    #[test]
    fn a_damaged_body_does_not_hide_the_next_message() {
        let mut d = msg(RTM_NEWADDR, 0, 0, 0, &[2, 24, 0]);
        d.extend(addr_msg(RTM_NEWADDR, 0, 0, 1, v4("10.0.0.9")));
        let got = all(&d);
        assert!(got[0].is_err());
        assert!(matches!(got[1], Ok((_, Body::NewAddr(_)))));
    }

    #[test]
    fn last_message_without_padding() {
        let body = ifaddr(AF_INET, 24, 1, &[attr(IFA_LOCAL, &[10, 0, 0, 1])]);
        let mut m = msg(RTM_NEWADDR, 0, 0, 0, &body);
        m.extend(msg(NLMSG_DONE, 0, 0, 0, &[1])); // 17 bytes, padded to 20
        m.truncate(m.len() - 3);
        let got = all(&m);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].unwrap().1, Body::Done);
    }

    #[test]
    fn dump_request_bytes() {
        let r = dump_request(42);
        let got = all(&r);
        let (h, _) = got[0].unwrap();
        assert_eq!(
            (h.len, h.kind, h.flags, h.seq),
            (24, RTM_GETADDR, 0x301, 42)
        );
    }
}
