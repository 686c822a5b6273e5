//! fake_server (tests only): builds DNS responses byte by byte and serves
//! them from a UDP socket on 127.0.0.1, answering each PTR query the way
//! the test told it to — good names, hostile names, errors, silence, late
//! or spoofed replies. It never listens anywhere but loopback.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::UdpSocket;

use super::wire::{WireName, CLASS_IN, TYPE_CNAME, TYPE_PTR};

/// A name in wire form from raw labels, root label included.
pub(crate) fn wire_name(labels: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in labels {
        out.push(u8::try_from(l.len()).expect("test label length"));
        out.extend_from_slice(l);
    }
    out.push(0);
    out
}

/// `WireName` to wire bytes with the root label.
pub(crate) fn qname_wire(n: &WireName) -> Vec<u8> {
    let labels: Vec<&[u8]> = n.labels().collect();
    wire_name(&labels)
}

/// One resource record; `owner` and `rdata` are raw wire bytes.
pub(crate) struct Rr {
    pub owner: Vec<u8>,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    pub rdata: Vec<u8>,
}

/// Pointer to the question name at offset 12.
pub(crate) const QPTR: [u8; 2] = [0xc0, 12];

pub(crate) fn ptr_rr(owner: Vec<u8>, target: Vec<u8>, ttl: u32) -> Rr {
    Rr {
        owner,
        rtype: TYPE_PTR,
        class: CLASS_IN,
        ttl,
        rdata: target,
    }
}

/// A response: header, the question (if given, as wire name + PTR/IN) and
/// the answer records.
pub(crate) fn response(id: u16, flags: u16, question: Option<&[u8]>, answers: &[Rr]) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&flags.to_be_bytes());
    m.extend_from_slice(&u16::from(question.is_some()).to_be_bytes());
    m.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    if let Some(q) = question {
        m.extend_from_slice(q);
        m.extend_from_slice(&TYPE_PTR.to_be_bytes());
        m.extend_from_slice(&CLASS_IN.to_be_bytes());
    }
    for rr in answers {
        m.extend_from_slice(&rr.owner);
        m.extend_from_slice(&rr.rtype.to_be_bytes());
        m.extend_from_slice(&rr.class.to_be_bytes());
        m.extend_from_slice(&rr.ttl.to_be_bytes());
        m.extend_from_slice(&(rr.rdata.len() as u16).to_be_bytes());
        m.extend_from_slice(&rr.rdata);
    }
    m
}

/// QR, RD, RA and an RCODE.
pub(crate) fn flags(rcode: u16) -> u16 {
    0x8180 | rcode
}

/// How the fake server answers the PTR query for one address.
#[derive(Clone, Debug)]
pub(crate) enum Reply {
    /// A PTR with these raw labels and TTL.
    Ptr(Vec<Vec<u8>>, u32),
    /// RFC 2317 style: a CNAME to `<last octet>.0/25.<zone>` holding the PTR.
    CnamePtr(Vec<Vec<u8>>, u32),
    NxDomain,
    ServFail,
    /// No answer at all.
    Silent,
    /// The reply, after a delay.
    Late(Duration, Box<Reply>),
    /// First a datagram with another ID carrying `spoof`, then the reply.
    Spoofed(Vec<Vec<u8>>, Box<Reply>),
}

fn build(id: u16, q: &[u8], reply: &Reply) -> Option<Vec<u8>> {
    let labels = |l: &[Vec<u8>]| {
        let l: Vec<&[u8]> = l.iter().map(Vec::as_slice).collect();
        wire_name(&l)
    };
    Some(match reply {
        Reply::Ptr(l, ttl) => response(
            id,
            flags(0),
            Some(q),
            &[ptr_rr(QPTR.to_vec(), labels(l), *ttl)],
        ),
        Reply::CnamePtr(l, ttl) => {
            let first = usize::from(q[0]) + 1;
            let mut alias = q[..first].to_vec();
            alias.push(4);
            alias.extend_from_slice(b"0/25");
            alias.extend_from_slice(&q[first..]);
            let cname = Rr {
                owner: QPTR.to_vec(),
                rtype: TYPE_CNAME,
                class: CLASS_IN,
                ttl: *ttl,
                rdata: alias.clone(),
            };
            let ptr = ptr_rr(alias, labels(l), *ttl);
            response(id, flags(0), Some(q), &[cname, ptr])
        }
        Reply::NxDomain => response(id, flags(3), Some(q), &[]),
        Reply::ServFail => response(id, flags(2), Some(q), &[]),
        Reply::Silent | Reply::Late(..) | Reply::Spoofed(..) => return None,
    })
}

/// Server state shared with the test: the replies by address and the
/// number of queries seen per address.
#[derive(Default)]
pub(crate) struct Script {
    replies: HashMap<Vec<u8>, Reply>,
    queries: HashMap<Vec<u8>, u32>,
    outstanding: u32,
    max_outstanding: u32,
}

#[derive(Clone)]
pub(crate) struct FakeServer {
    pub addr: SocketAddr,
    script: Arc<Mutex<Script>>,
}

impl FakeServer {
    /// Binds 127.0.0.1:0 and serves until the runtime ends.
    pub(crate) async fn start() -> FakeServer {
        let sock = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
        let addr = sock.local_addr().expect("local_addr");
        let script = Arc::new(Mutex::new(Script::default()));
        let (s, st) = (Arc::clone(&sock), Arc::clone(&script));
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            loop {
                let Ok((n, peer)) = s.recv_from(&mut buf).await else {
                    return;
                };
                serve_one(&s, &st, &buf[..n], peer).await;
            }
        });
        FakeServer { addr, script }
    }

    pub(crate) fn set(&self, ip: IpAddr, reply: Reply) {
        let key = qname_wire(&WireName::reverse(ip));
        self.script.lock().unwrap().replies.insert(key, reply);
    }

    pub(crate) fn queries(&self, ip: IpAddr) -> u32 {
        let key = qname_wire(&WireName::reverse(ip));
        let s = self.script.lock().unwrap();
        s.queries.get(&key).copied().unwrap_or(0)
    }

    /// Most queries received but not yet answered at one time (silent
    /// queries never count as answered).
    pub(crate) fn max_outstanding(&self) -> u32 {
        self.script.lock().unwrap().max_outstanding
    }
}

async fn serve_one(sock: &Arc<UdpSocket>, script: &Arc<Mutex<Script>>, q: &[u8], peer: SocketAddr) {
    // Our own queries: header, uncompressed name, type, class.
    let Some(id) = q.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]])) else {
        return;
    };
    let Some(end) = q.get(12..).and_then(|n| n.iter().position(|&b| b == 0)) else {
        return;
    };
    let qname = q[12..12 + end + 1].to_vec();
    let reply = {
        let mut s = script.lock().unwrap();
        *s.queries.entry(qname.to_ascii_lowercase()).or_default() += 1;
        s.outstanding += 1;
        s.max_outstanding = s.max_outstanding.max(s.outstanding);
        s.replies
            .get(&qname.to_ascii_lowercase())
            .cloned()
            .unwrap_or(Reply::NxDomain)
    };
    let sock = Arc::clone(sock);
    let script = Arc::clone(script);
    tokio::spawn(async move {
        let mut reply = reply;
        loop {
            match reply {
                Reply::Late(d, inner) => {
                    tokio::time::sleep(d).await;
                    reply = *inner;
                }
                Reply::Spoofed(spoof, inner) => {
                    let fake = build(id.wrapping_add(1), &qname, &Reply::Ptr(spoof, 86400));
                    if let Some(m) = fake {
                        let _ = sock.send_to(&m, peer).await;
                    }
                    reply = *inner;
                }
                other => {
                    if let Some(m) = build(id, &qname, &other) {
                        script.lock().unwrap().outstanding -= 1;
                        let _ = sock.send_to(&m, peer).await;
                    }
                    return;
                }
            }
        }
    });
}
