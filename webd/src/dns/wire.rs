//! wire: the DNS messages of a PTR lookup — the query webd sends and the
//! parse of the answer it gets back (RFC 1035 §4).
//!
//! The answer is untrusted input from the network: every read is
//! bounds-checked, names are limited to 255 bytes and 63-byte labels,
//! compression pointers must point strictly backwards (so they cannot
//! loop), and a CNAME chain is followed for at most [`MAX_CNAME_HOPS`].
//! Nothing here may panic on any input, and nothing here decides whether a
//! name is fit to show — that is `name`'s job.

use std::net::IpAddr;

use thiserror::Error;

pub const TYPE_CNAME: u16 = 5;
pub const TYPE_PTR: u16 = 12;
pub const CLASS_IN: u16 = 1;
/// Wire length limit of a name, root label included (RFC 1035 §3.1).
pub const MAX_WIRE_NAME: usize = 255;
/// CNAMEs followed inside one answer (RFC 2317 classless delegation needs 1).
pub const MAX_CNAME_HOPS: usize = 8;

const HEADER_LEN: usize = 12;
const FLAG_QR: u16 = 0x8000;
const FLAG_TC: u16 = 0x0200;
const FLAG_RD: u16 = 0x0100;
const RCODE_NXDOMAIN: u8 = 3;

/// A domain name in uncompressed wire form: length-prefixed labels without
/// the terminating root label. Built only by this module, so it always
/// holds whole labels of 1–63 bytes and at most 254 bytes in total.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireName(Vec<u8>);

impl WireName {
    /// The reverse-lookup name of an address: `4.3.2.1.in-addr.arpa` or
    /// the 32 nibbles under `ip6.arpa`. IPv4-mapped IPv6 addresses are
    /// looked up under `in-addr.arpa`, as they are IPv4 hosts.
    pub fn reverse(ip: IpAddr) -> WireName {
        let mut n = WireName(Vec::with_capacity(72));
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match ip {
            IpAddr::V4(v4) => {
                for octet in v4.octets().iter().rev() {
                    n.push_label(octet.to_string().as_bytes());
                }
                n.push_label(b"in-addr");
            }
            IpAddr::V6(v6) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                for byte in v6.octets().iter().rev() {
                    n.push_label(&[HEX[usize::from(byte & 0xf)]]);
                    n.push_label(&[HEX[usize::from(byte >> 4)]]);
                }
                n.push_label(b"ip6");
            }
        }
        n.push_label(b"arpa");
        n
    }

    /// Labels as raw bytes; they may contain anything, including `.`.
    pub fn labels(&self) -> Labels<'_> {
        Labels(&self.0)
    }

    /// Name equality: ASCII case-insensitive (RFC 4343). Length bytes are
    /// below 64, so lowercasing them changes nothing.
    pub fn same_name(&self, other: &WireName) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }

    /// Only for names this module builds: labels are short and few.
    fn push_label(&mut self, label: &[u8]) {
        debug_assert!(!label.is_empty() && label.len() <= 63);
        // Lengths of the labels pushed by `reverse` are 1..=7.
        self.0.push(label.len() as u8);
        self.0.extend_from_slice(label);
    }
}

/// Iterator over the labels of a [`WireName`].
pub struct Labels<'a>(&'a [u8]);

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (&len, rest) = self.0.split_first()?;
        let (label, rest) = rest.split_at_checked(usize::from(len))?;
        self.0 = rest;
        Some(label)
    }
}

/// What a well-formed response to our query says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The first PTR for the queried name (after any CNAMEs), with the
    /// smallest TTL along the chain in seconds.
    Ptr { name: WireName, ttl: u32 },
    /// NOERROR without a PTR for the name.
    NoData,
    /// The name does not exist.
    NxDomain,
    /// SERVFAIL, REFUSED, FORMERR, NOTIMP or another error code.
    ServerError(u8),
    /// The answer did not fit (TC bit); webd does not retry over TCP.
    Truncated,
}

/// Why a datagram was not an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum WireError {
    /// Not a response to this query (other ID, not a response, other
    /// question): a stray or spoofed datagram, to be ignored.
    #[error("not a response to our query")]
    Mismatch,
    /// A response to our query that breaks the format.
    #[error("malformed answer: {0}")]
    Malformed(&'static str),
}

use WireError::{Malformed, Mismatch};

/// The query for `qname`'s PTR with recursion desired.
pub fn build_query(id: u16, qname: &WireName) -> Vec<u8> {
    let mut q = Vec::with_capacity(HEADER_LEN + qname.0.len() + 5);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&FLAG_RD.to_be_bytes());
    q.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // QD=1 AN=NS=AR=0
    q.extend_from_slice(&qname.0);
    q.push(0);
    q.extend_from_slice(&TYPE_PTR.to_be_bytes());
    q.extend_from_slice(&CLASS_IN.to_be_bytes());
    q
}

/// Parses a response to the query `(id, qname)`.
pub fn parse_answer(msg: &[u8], id: u16, qname: &WireName) -> Result<Answer, WireError> {
    let mut r = Reader { msg, pos: 0 };
    let got_id = r.u16().map_err(|_| Mismatch)?;
    let flags = r.u16().map_err(|_| Mismatch)?;
    if got_id != id || flags & FLAG_QR == 0 {
        return Err(Mismatch);
    }
    let qdcount = r.u16()?;
    let ancount = r.u16()?;
    r.u16()?; // NSCOUNT: authority records are not read.
    r.u16()?; // ARCOUNT: nor additional ones.
    if (flags >> 11) & 0xf != 0 {
        return Err(Malformed("opcode"));
    }
    let rcode = (flags & 0xf) as u8;
    match qdcount {
        1 => {
            let name = r.name()?;
            let (qtype, qclass) = (r.u16()?, r.u16()?);
            if !name.same_name(qname) || qtype != TYPE_PTR || qclass != CLASS_IN {
                return Err(Mismatch);
            }
        }
        // Servers may drop the question from an error response; the ID on
        // our fresh socket is all there is to match it. A negative answer
        // must show the question, since it gets cached.
        0 if rcode != 0 && rcode != RCODE_NXDOMAIN => return Ok(Answer::ServerError(rcode)),
        _ => return Err(Malformed("question count")),
    }
    match rcode {
        0 => {}
        RCODE_NXDOMAIN => return Ok(Answer::NxDomain),
        other => return Ok(Answer::ServerError(other)),
    }
    if flags & FLAG_TC != 0 {
        return Ok(Answer::Truncated);
    }
    let mut records = Vec::new();
    for _ in 0..ancount {
        let owner = r.name()?;
        let (rtype, rclass, ttl, rdlen) = (r.u16()?, r.u16()?, r.u32()?, r.u16()?);
        let rdata_end = r.pos + usize::from(rdlen);
        if rdata_end > msg.len() {
            return Err(Malformed("record data past the end"));
        }
        if rclass == CLASS_IN && (rtype == TYPE_PTR || rtype == TYPE_CNAME) {
            let target = r.name()?;
            if r.pos != rdata_end {
                return Err(Malformed("record data length"));
            }
            // RFC 2181 §8: a TTL with the top bit set is read as zero.
            let ttl = if ttl > i32::MAX as u32 { 0 } else { ttl };
            records.push(Record {
                owner,
                rtype,
                ttl,
                target,
            });
        }
        r.pos = rdata_end;
    }
    Ok(follow(&records, qname))
}

struct Record {
    owner: WireName,
    rtype: u16,
    ttl: u32,
    target: WireName,
}

/// The PTR for `qname`, through at most [`MAX_CNAME_HOPS`] CNAMEs.
fn follow(records: &[Record], qname: &WireName) -> Answer {
    let mut current = qname;
    let mut ttl = u32::MAX;
    for _ in 0..=MAX_CNAME_HOPS {
        let of = |t: u16| {
            records
                .iter()
                .find(|r| r.rtype == t && r.owner.same_name(current))
        };
        if let Some(ptr) = of(TYPE_PTR) {
            return Answer::Ptr {
                name: ptr.target.clone(),
                ttl: ttl.min(ptr.ttl),
            };
        }
        match of(TYPE_CNAME) {
            Some(cname) => {
                ttl = ttl.min(cname.ttl);
                current = &cname.target;
            }
            None => break,
        }
    }
    Answer::NoData
}

struct Reader<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let b = self
            .msg
            .get(self.pos..self.pos + N)
            .ok_or(Malformed("short message"))?;
        self.pos += N;
        // get() returned exactly N bytes.
        b.try_into().map_err(|_| Malformed("short message"))
    }

    fn u16(&mut self) -> Result<u16, WireError> {
        self.bytes().map(u16::from_be_bytes)
    }

    fn u32(&mut self) -> Result<u32, WireError> {
        self.bytes().map(u32::from_be_bytes)
    }

    /// Reads a possibly compressed name at the cursor and moves the cursor
    /// past it (past the first pointer, if any).
    fn name(&mut self) -> Result<WireName, WireError> {
        let msg = self.msg;
        let mut out = Vec::with_capacity(32);
        let mut pos = self.pos;
        // Every pointer must point below the start of the labels read
        // since the previous jump, so the walk always terminates.
        let mut limit = pos;
        let mut resume = None;
        loop {
            let len = *msg.get(pos).ok_or(Malformed("short name"))?;
            match len & 0xc0 {
                0x00 if len == 0 => {
                    self.pos = resume.unwrap_or(pos + 1);
                    return Ok(WireName(out));
                }
                0x00 => {
                    let len = usize::from(len);
                    let label = msg
                        .get(pos + 1..pos + 1 + len)
                        .ok_or(Malformed("short label"))?;
                    // +1 for the root label that ends the name.
                    if out.len() + 1 + len + 1 > MAX_WIRE_NAME {
                        return Err(Malformed("name longer than 255 bytes"));
                    }
                    out.push(len as u8);
                    out.extend_from_slice(label);
                    pos += 1 + len;
                }
                0xc0 => {
                    let low = *msg.get(pos + 1).ok_or(Malformed("short pointer"))?;
                    let target = usize::from(len & 0x3f) << 8 | usize::from(low);
                    if target >= limit || target < HEADER_LEN {
                        return Err(Malformed("compression pointer not backwards"));
                    }
                    resume.get_or_insert(pos + 2);
                    limit = target;
                    pos = target;
                }
                _ => return Err(Malformed("extended label type")),
            }
        }
    }
}

#[cfg(test)]
mod tests;
