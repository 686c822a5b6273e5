//! The captured interfaces' addresses as the kernel reports them, kept
//! up to date from rtnetlink datagrams (sans-IO: the bytes are handed in).
//!
//! Two sources feed it: notifications (`RTM_NEWADDR` / `RTM_DELADDR` sent
//! to the address multicast groups) and dumps (the answer to our own
//! `RTM_GETADDR`, a multipart reply ended by `NLMSG_DONE`). A dump replaces
//! the whole set when it ends, which is how a lost notification (a buffer
//! overrun) is repaired. The socket is subscribed before the dump is asked
//! for and the kernel queues both in the order things happened, so a
//! notification that arrives during a dump is applied to the set being
//! built as well as to the current one: nothing that changes meanwhile is
//! lost or resurrected.

use std::net::IpAddr;

use super::netlink::{self, Body, Header, IfAddr, NLM_F_DUMP_INTR};

/// Which interfaces' addresses count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The `any` pseudo-interface: every interface.
    All,
    /// These interface indexes.
    Indexes(Vec<u32>),
}

impl Scope {
    fn covers(&self, index: u32) -> bool {
        match self {
            Scope::All => true,
            Scope::Indexes(v) => v.contains(&index),
        }
    }
}

/// How a dump of ours ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DumpEnd {
    /// `NLMSG_DONE`; `consistent` is false when the kernel flagged that
    /// addresses changed while it was being made (ask again).
    Complete { consistent: bool },
    /// `NLMSG_ERROR` with this (negative) errno.
    Failed(i32),
}

/// What handling one datagram did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Handled {
    /// The set of addresses changed.
    pub changed: bool,
    /// Our dump ended in this datagram.
    pub dump: Option<DumpEnd>,
    /// The kernel said messages were lost (`NLMSG_OVERRUN`).
    pub overrun: bool,
}

/// (interface index, address, prefix): the kernel's own identity of an
/// address, so that the same address on two interfaces, or twice with
/// two prefixes, goes away only when its last copy does.
type Entry = (u32, IpAddr, u8);

struct Dump {
    seq: u32,
    port: u32,
    found: Vec<Entry>,
    interrupted: bool,
}

pub struct AddrTable {
    scope: Scope,
    /// Sorted, without duplicates.
    current: Vec<Entry>,
    dump: Option<Dump>,
}

fn entry(a: &IfAddr) -> Entry {
    (a.index, a.addr, a.prefix)
}

fn insert(v: &mut Vec<Entry>, e: Entry) -> bool {
    match v.binary_search(&e) {
        Ok(_) => false,
        Err(at) => {
            v.insert(at, e);
            true
        }
    }
}

fn remove(v: &mut Vec<Entry>, e: &Entry) -> bool {
    match v.binary_search(e) {
        Ok(at) => {
            v.remove(at);
            true
        }
        Err(_) => false,
    }
}

impl AddrTable {
    pub fn new(scope: Scope) -> Self {
        AddrTable {
            scope,
            current: Vec::new(),
            dump: None,
        }
    }

    /// Our dump request `seq` was sent from the socket bound to `port`:
    /// its replies carry both.
    pub fn begin_dump(&mut self, seq: u32, port: u32) {
        self.dump = Some(Dump {
            seq,
            port,
            found: Vec::new(),
            interrupted: false,
        });
    }

    pub fn dumping(&self) -> bool {
        self.dump.is_some()
    }

    /// Forgets a dump whose reply will never come (the request failed).
    pub fn abandon_dump(&mut self) {
        self.dump = None;
    }

    /// The distinct addresses of the interfaces in scope, sorted.
    pub fn addresses(&self) -> Vec<IpAddr> {
        let mut v: Vec<IpAddr> = self.current.iter().map(|&(_, a, _)| a).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    fn ours(&self, h: &Header) -> bool {
        self.dump
            .as_ref()
            .is_some_and(|d| d.seq == h.seq && d.port == h.pid)
    }

    /// Applies one datagram. Damaged messages are reported to `warn` and
    /// skipped.
    pub fn handle(&mut self, datagram: &[u8], warn: &mut dyn FnMut(&str)) -> Handled {
        let mut out = Handled::default();
        for m in netlink::messages(datagram) {
            let (h, body) = match m {
                Ok(m) => m,
                Err(e) => {
                    warn(&format!("ignoring a netlink address message: {e}"));
                    continue;
                }
            };
            let ours = self.ours(&h);
            if ours && h.flags & NLM_F_DUMP_INTR != 0 {
                if let Some(d) = self.dump.as_mut() {
                    d.interrupted = true;
                }
            }
            match body {
                Body::NewAddr(a) if self.scope.covers(a.index) => {
                    if let Some(d) = self.dump.as_mut() {
                        insert(&mut d.found, entry(&a));
                    }
                    if !ours {
                        out.changed |= insert(&mut self.current, entry(&a));
                    }
                }
                Body::DelAddr(a) if self.scope.covers(a.index) => {
                    if let Some(d) = self.dump.as_mut() {
                        remove(&mut d.found, &entry(&a));
                    }
                    out.changed |= remove(&mut self.current, &entry(&a));
                }
                Body::Done if ours => {
                    if let Some(d) = self.dump.take() {
                        if d.found != self.current {
                            self.current = d.found;
                            out.changed = true;
                        }
                        out.dump = Some(DumpEnd::Complete {
                            consistent: !d.interrupted,
                        });
                    }
                }
                Body::Error(e) if ours && e != 0 => {
                    self.dump = None;
                    out.dump = Some(DumpEnd::Failed(e));
                }
                Body::Overrun => out.overrun = true,
                _ => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::netlink::build::*;
    use super::super::netlink::{RTM_DELADDR, RTM_NEWADDR};
    use super::*;
    use netlink::NLM_F_MULTI;

    const PORT: u32 = 4242;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn addrs(t: &AddrTable) -> Vec<IpAddr> {
        t.addresses()
    }

    fn feed(t: &mut AddrTable, d: &[u8]) -> (Handled, Vec<String>) {
        let mut w = Vec::new();
        let h = t.handle(d, &mut |m: &str| w.push(m.to_owned()));
        (h, w)
    }

    fn dump_part(seq: u32, index: u32, a: &str) -> Vec<u8> {
        let mut m = addr_msg(RTM_NEWADDR, NLM_F_MULTI, seq, index, ip(a));
        m[12..16].copy_from_slice(&PORT.to_ne_bytes());
        m
    }

    #[test]
    fn notifications_follow_the_interfaces_in_scope() {
        let mut t = AddrTable::new(Scope::Indexes(vec![2, 5]));
        let (h, w) = feed(&mut t, &addr_msg(RTM_NEWADDR, 0, 0, 2, ip("10.0.0.1")));
        assert!(h.changed && w.is_empty());
        // another interface: ignored
        let (h, _) = feed(&mut t, &addr_msg(RTM_NEWADDR, 0, 0, 3, ip("10.0.0.3")));
        assert!(!h.changed);
        let (h, _) = feed(&mut t, &addr_msg(RTM_NEWADDR, 0, 0, 5, ip("2001:db8::5")));
        assert!(h.changed);
        // again: no change
        let (h, _) = feed(&mut t, &addr_msg(RTM_NEWADDR, 0, 0, 5, ip("2001:db8::5")));
        assert!(!h.changed);
        assert_eq!(addrs(&t), [ip("10.0.0.1"), ip("2001:db8::5")]);
        let (h, _) = feed(&mut t, &addr_msg(RTM_DELADDR, 0, 0, 2, ip("10.0.0.1")));
        assert!(h.changed);
        assert_eq!(addrs(&t), [ip("2001:db8::5")]);
        // deleting what is not there changes nothing
        let (h, _) = feed(&mut t, &addr_msg(RTM_DELADDR, 0, 0, 2, ip("10.0.0.1")));
        assert!(!h.changed);
    }

    #[test]
    fn any_follows_every_interface_and_an_address_on_two_stays_until_both_go() {
        let mut t = AddrTable::new(Scope::All);
        feed(&mut t, &addr_msg(RTM_NEWADDR, 0, 0, 1, ip("10.9.9.9")));
        feed(&mut t, &addr_msg(RTM_NEWADDR, 0, 0, 7, ip("10.9.9.9")));
        assert_eq!(addrs(&t), [ip("10.9.9.9")]);
        feed(&mut t, &addr_msg(RTM_DELADDR, 0, 0, 1, ip("10.9.9.9")));
        assert_eq!(addrs(&t), [ip("10.9.9.9")]);
        feed(&mut t, &addr_msg(RTM_DELADDR, 0, 0, 7, ip("10.9.9.9")));
        assert!(addrs(&t).is_empty());
    }

    #[test]
    fn a_dump_replaces_the_set_when_it_ends() {
        let mut t = AddrTable::new(Scope::All);
        feed(&mut t, &addr_msg(RTM_NEWADDR, 0, 0, 1, ip("10.0.0.1")));
        t.begin_dump(9, PORT);
        // the dump no longer has 10.0.0.1 (its removal was lost)
        let mut d = dump_part(9, 1, "127.0.0.1");
        d.extend(dump_part(9, 2, "fe80::2"));
        let (h, _) = feed(&mut t, &d);
        assert!(!h.changed && h.dump.is_none() && t.dumping());
        assert_eq!(addrs(&t), [ip("10.0.0.1")], "unchanged until the end");
        let (h, w) = feed(&mut t, &done(9, PORT));
        assert!(w.is_empty());
        assert!(h.changed);
        assert_eq!(h.dump, Some(DumpEnd::Complete { consistent: true }));
        assert!(!t.dumping());
        assert_eq!(addrs(&t), [ip("127.0.0.1"), ip("fe80::2")]);
    }

    #[test]
    fn notifications_during_a_dump_are_kept() {
        let mut t = AddrTable::new(Scope::All);
        t.begin_dump(3, PORT);
        let mut d = dump_part(3, 1, "10.0.0.1");
        d.extend(dump_part(3, 1, "10.0.0.2"));
        // between two parts: 10.0.0.1 goes, 10.0.0.3 comes
        d.extend(addr_msg(RTM_DELADDR, 0, 77, 1, ip("10.0.0.1")));
        d.extend(addr_msg(RTM_NEWADDR, 0, 78, 1, ip("10.0.0.3")));
        feed(&mut t, &d);
        // the new address counts at once, before the dump ends
        assert_eq!(addrs(&t), [ip("10.0.0.3")]);
        let mut d = dump_part(3, 1, "10.0.0.3"); // the later part has it too
        d.extend(done(3, PORT));
        let (h, _) = feed(&mut t, &d);
        assert!(h.changed);
        assert_eq!(addrs(&t), [ip("10.0.0.2"), ip("10.0.0.3")]);
    }

    #[test]
    fn a_done_or_error_of_someone_else_is_not_ours() {
        let mut t = AddrTable::new(Scope::All);
        t.begin_dump(3, PORT);
        // another socket's dump (another port), another sequence number
        let (h, _) = feed(&mut t, &done(3, PORT + 1));
        assert!(h.dump.is_none() && t.dumping());
        let (h, _) = feed(&mut t, &done(4, PORT));
        assert!(h.dump.is_none() && t.dumping());
        let (h, _) = feed(&mut t, &error(4, PORT, libc::EBUSY));
        assert!(h.dump.is_none() && t.dumping());
        let (h, _) = feed(&mut t, &error(3, PORT, libc::EBUSY));
        assert_eq!(h.dump, Some(DumpEnd::Failed(-libc::EBUSY)));
        assert!(!t.dumping());
    }

    #[test]
    fn an_interrupted_dump_asks_for_another() {
        let mut t = AddrTable::new(Scope::All);
        t.begin_dump(1, PORT);
        let mut d = dump_part(1, 1, "10.0.0.1");
        d[6..8].copy_from_slice(&(NLM_F_MULTI | NLM_F_DUMP_INTR).to_ne_bytes());
        d.extend(done(1, PORT));
        let (h, _) = feed(&mut t, &d);
        assert_eq!(h.dump, Some(DumpEnd::Complete { consistent: false }));
        assert_eq!(addrs(&t), [ip("10.0.0.1")]);
    }

    #[test]
    fn garbage_is_reported_and_the_rest_still_applies() {
        let mut t = AddrTable::new(Scope::All);
        let mut d = msg(RTM_NEWADDR, 0, 0, 0, &[2, 24]);
        d.extend(addr_msg(RTM_NEWADDR, 0, 0, 1, ip("10.0.0.1")));
        d.extend(msg(netlink::NLMSG_OVERRUN, 0, 0, 0, &[]));
        d.extend_from_slice(&[1, 2, 3]);
        let (h, w) = feed(&mut t, &d);
        assert!(h.changed && h.overrun);
        assert_eq!(w.len(), 2, "{w:?}");
        assert_eq!(addrs(&t), [ip("10.0.0.1")]);
    }
}
