//! account: decoded packets → counters (`counting.md` §3–§6).
//!
//! [`Accounts`] owns every counter and is only ever touched by the capture
//! thread, so the per-packet path takes no lock. Time is passed in (the
//! packet's timestamp), never read here, which makes replaying a file
//! deterministic. Bounded tables evict hosts and ports; totals, the global
//! tables and the graphs never change because of an eviction.

mod combine;
mod delta;
mod entries;
mod flows;
mod flush;
mod graphs;
mod hosts;
mod json;
mod prefetch;
mod restore;
mod slots;
mod snapshot;
#[cfg(test)]
mod test_frames;
mod view;
pub mod worker;

use common::model::{Counter, MalformedReasons};
use common::net::LocalNets;

use crate::decode::{Decoded, MalformedReason, PacketSummary, Ports};
pub use combine::Combiner;
pub use delta::{ChangeTracker, Changes};
pub use entries::Kind;
pub use graphs::Direction;
use graphs::Graphs;
use hosts::HostTable;
pub use prefetch::Pipeline;
pub use view::SnapshotView;

const TCP: u8 = 6;

/// Table limits (darkstat's options and meanings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Hosts that trigger an eviction; 0 disables per-host accounting.
    pub hosts_max: usize,
    /// Hosts left after an eviction.
    pub hosts_keep: usize,
    /// Entries per port table of a host that trigger an eviction; 0
    /// disables per-host port accounting.
    pub ports_max: usize,
    pub ports_keep: usize,
    /// Ports above this are not put in any port table.
    pub highest_port: u16,
}

/// Counters of one port in the global tables.
#[derive(Clone, Copy, Debug, Default)]
struct PortCounters {
    bytes_in: u64,
    bytes_out: u64,
    packets_in: u64,
    packets_out: u64,
}

/// Counters of one protocol in the global table.
#[derive(Clone, Copy, Debug, Default)]
struct ProtoCounters {
    bytes: [u64; 3],
    packets: [u64; 3],
}

/// in / out / other index into [`ProtoCounters`].
const IN: usize = 0;
const OUT: usize = 1;
const OTHER: usize = 2;

pub struct Accounts {
    limits: Limits,
    local: LocalNets,
    /// Time of the first packet (or of the start of a live capture).
    since: Option<u64>,
    /// Latest packet time seen.
    now: u64,
    packets: u64,
    bytes: u64,
    non_ip: Counter,
    malformed: MalformedReasons,
    hosts: HostTable,
    /// Port-table entries evicted.
    ports_evicted: u64,
    tcp_ports: Box<[PortCounters]>,
    udp_ports: Box<[PortCounters]>,
    protocols: Box<[ProtoCounters; 256]>,
    graphs: Graphs,
    /// Bytes in, bytes out, packets in, packets out across the local
    /// boundary since the start (or the last reset), for --daylog.
    boundary: [u64; 4],
}

impl Accounts {
    pub fn new(limits: Limits, local: LocalNets) -> Self {
        Accounts {
            limits,
            local,
            since: None,
            now: 0,
            packets: 0,
            bytes: 0,
            non_ip: Counter::default(),
            malformed: MalformedReasons::default(),
            hosts: HostTable::new(limits.hosts_max, limits.hosts_keep),
            ports_evicted: 0,
            tcp_ports: vec![PortCounters::default(); 65536].into_boxed_slice(),
            udp_ports: vec![PortCounters::default(); 65536].into_boxed_slice(),
            protocols: Box::new([ProtoCounters::default(); 256]),
            graphs: Graphs::default(),
            boundary: [0; 4],
        }
    }

    /// Sets the start of measurement (live capture: the wall clock at
    /// start) unless a restored state already has one.
    pub fn set_since(&mut self, t: u64) {
        self.since.get_or_insert(t);
    }

    /// Traffic across the local boundary so far: bytes in, bytes out,
    /// packets in, packets out.
    pub fn boundary_totals(&self) -> [u64; 4] {
        self.boundary
    }

    /// The limits and local networks this table was made with (a reset
    /// makes a new, empty one with the same).
    pub fn empty_like(&self) -> Accounts {
        Accounts::new(self.limits, self.local.clone())
    }

    /// Replaces the local networks (live capture: an interface address
    /// came or went). Packets from now on are judged by the new set;
    /// nothing already counted changes.
    pub fn set_local(&mut self, local: LocalNets) {
        self.local = local;
    }

    /// Advances "now" without a packet (live capture: the clock ticks even
    /// when the link is quiet).
    pub fn set_now(&mut self, t: u64) {
        self.now = self.now.max(t);
    }

    /// Accounts one decoded frame seen at `ts` (Unix seconds) with
    /// `wire_len` bytes on the wire.
    #[inline]
    pub fn apply(&mut self, d: &Decoded, ts: u64, wire_len: u32) {
        let (mut global, mut hosts) = self.split();
        global.count(d, ts, wire_len);
        if let Decoded::Ip(p) = d {
            hosts.count(p, ts, [None; 2], [hosts::NO_HOST; 2], [true; 2]);
        }
    }

    /// The table apart from the rest, so that one thread can count what is
    /// per host while another counts everything else (`worker`): the two
    /// parts share no counter, and the order of packets within each part
    /// is all that matters.
    pub fn split(&mut self) -> (GlobalPart<'_>, HostPart<'_>) {
        let Accounts {
            limits,
            local,
            since,
            now,
            packets,
            bytes,
            non_ip,
            malformed,
            hosts,
            ports_evicted,
            tcp_ports,
            udp_ports,
            protocols,
            graphs,
            boundary,
        } = self;
        (
            GlobalPart {
                highest_port: limits.highest_port,
                local,
                since,
                now,
                packets,
                bytes,
                non_ip,
                malformed,
                tcp_ports,
                udp_ports,
                protocols,
                graphs,
                boundary,
                late: None,
            },
            HostPart {
                limits: *limits,
                hosts,
                ports_evicted,
            },
        )
    }
}

/// Everything a frame adds outside the host table: times, totals, the
/// non-IP and malformed counters, protocols, the global port tables, the
/// graphs. See [`Accounts::split`].
pub struct GlobalPart<'a> {
    highest_port: u16,
    local: &'a LocalNets,
    since: &'a mut Option<u64>,
    now: &'a mut u64,
    packets: &'a mut u64,
    bytes: &'a mut u64,
    non_ip: &'a mut Counter,
    malformed: &'a mut MalformedReasons,
    tcp_ports: &'a mut [PortCounters],
    udp_ports: &'a mut [PortCounters],
    protocols: &'a mut [ProtoCounters; 256],
    graphs: &'a mut Graphs,
    boundary: &'a mut [u64; 4],
    /// The global port slots of the last TCP or UDP packet, counted one
    /// packet late (see [`GlobalPart::ports`]); settled when the part is
    /// dropped, before anything can read the tables.
    late: Option<LatePorts>,
}

/// A packet's additions to the global port tables, not yet made.
#[derive(Clone, Copy)]
struct LatePorts {
    tcp: bool,
    /// Ports at or below `--highest-port`, or `NOT_COUNTED`.
    src: u32,
    dst: u32,
    len: u64,
}

const NOT_COUNTED: u32 = u32::MAX;

impl Drop for GlobalPart<'_> {
    fn drop(&mut self) {
        self.settle_late();
    }
}

impl GlobalPart<'_> {
    /// Counts a decoded frame.
    #[inline]
    pub fn count(&mut self, d: &Decoded, ts: u64, wire_len: u32) {
        self.since.get_or_insert(ts);
        *self.now = (*self.now).max(ts);
        match d {
            Decoded::Ip(p) => self.ip(p, ts),
            Decoded::NonIp => self.non_ip(wire_len),
            Decoded::Malformed(r) => {
                let m = &mut *self.malformed;
                let c = match r {
                    MalformedReason::ShortIpHeader => &mut m.short_ip_header,
                    MalformedReason::BadIpVersion => &mut m.bad_ip_version,
                    MalformedReason::BadIpv4Ihl => &mut m.bad_ipv4_ihl,
                    MalformedReason::BadIpv4TotalLength => &mut m.bad_ipv4_total_length,
                };
                *c += 1;
            }
        }
    }

    /// Counts a frame on an interface whose link type we do not decode:
    /// non-IP, but its time still moves the clock.
    pub fn count_foreign(&mut self, ts: u64, wire_len: u32) {
        *self.now = (*self.now).max(ts);
        self.non_ip(wire_len);
    }

    fn non_ip(&mut self, wire_len: u32) {
        self.non_ip.packets += 1;
        self.non_ip.bytes += u64::from(wire_len);
    }

    #[inline]
    fn ip(&mut self, p: &PacketSummary, ts: u64) {
        let len = p.len;
        *self.packets += 1;
        *self.bytes += len;

        let src_local = self.local.is_local(p.src);
        let dst_local = self.local.is_local(p.dst);
        let dir = match (src_local, dst_local) {
            (false, true) => IN,
            (true, false) => OUT,
            _ => OTHER,
        };
        let proto = &mut self.protocols[usize::from(p.proto)];
        proto.bytes[dir] += len;
        proto.packets[dir] += 1;
        match dir {
            IN => {
                self.graphs.add(ts, Direction::In, len);
                self.boundary[0] += len;
                self.boundary[2] += 1;
            }
            OUT => {
                self.graphs.add(ts, Direction::Out, len);
                self.boundary[1] += len;
                self.boundary[3] += 1;
            }
            _ => {}
        }
        // the decoder gives ports for TCP and UDP only
        if let Some(pt) = p.ports {
            self.ports(p.proto == TCP, pt.src, pt.dst, len);
        }
    }

    /// Counts a packet's ports one packet late. The two port tables are
    /// 2 MiB each and a client port is random, so its slot is rarely in
    /// the cache: starting to load it now and adding to it when the next
    /// packet comes (or when this part is dropped) hides that wait behind
    /// reading and decoding the next packet. The order of additions to
    /// one counter does not change, so neither does any sum.
    #[inline]
    fn ports(&mut self, tcp: bool, src: u16, dst: u16, len: u64) {
        let hi = self.highest_port;
        let table: &[PortCounters] = if tcp { self.tcp_ports } else { self.udp_ports };
        let pick = |port: u16| {
            if port <= hi {
                prefetch::line(&table[usize::from(port)]);
                u32::from(port)
            } else {
                NOT_COUNTED
            }
        };
        let now = LatePorts {
            tcp,
            src: pick(src),
            dst: pick(dst),
            len,
        };
        if let Some(before) = self.late.replace(now) {
            self.settle(before);
        }
    }

    /// Makes the additions still counted late.
    fn settle_late(&mut self) {
        if let Some(l) = self.late.take() {
            self.settle(l);
        }
    }

    #[inline]
    fn settle(&mut self, l: LatePorts) {
        let table = if l.tcp {
            &mut *self.tcp_ports
        } else {
            &mut *self.udp_ports
        };
        if let Some(c) = table.get_mut(l.dst as usize) {
            c.bytes_in += l.len;
            c.packets_in += 1;
        }
        if let Some(c) = table.get_mut(l.src as usize) {
            c.bytes_out += l.len;
            c.packets_out += 1;
        }
    }
}

/// The host table and its eviction counter. See [`Accounts::split`].
pub struct HostPart<'a> {
    limits: Limits,
    hosts: &'a mut HostTable,
    ports_evicted: &'a mut u64,
}

impl HostPart<'_> {
    /// The seeded hash of an address (`HostTable::hash`).
    #[inline]
    pub fn hash(&self, key: u128) -> u64 {
        self.hosts.hash(key)
    }

    /// Takes back the hosts of a part split off for another thread
    /// (`worker`), and the port entries it evicted.
    fn absorb(&mut self, part: HostTable, ports_evicted: u64) {
        self.hosts.absorb(part);
        *self.ports_evicted += ports_evicted;
    }

    /// Counts an IP packet for its source and destination hosts, given the
    /// addresses' hashes and the hosts' guessed positions
    /// (`prefetch::Pipeline`; [`hosts::NO_HOST`] when there is no guess).
    /// Only the sides set in `mine` (source, destination) are counted: a
    /// table split between two threads (`worker`) counts each side where
    /// its host lives.
    #[inline]
    pub fn count(
        &mut self,
        p: &PacketSummary,
        ts: u64,
        hash: [Option<u64>; 2],
        guess: [u32; 2],
        mine: [bool; 2],
    ) {
        // The source first, then the destination: for a host talking to
        // itself the destination's MAC is the one that stays (§7).
        let limits = self.limits;
        let sent = Amount::one(p);
        let mut evicted = 0;
        let src = if mine[0] {
            self.hosts.get_or_insert_at(p.src, hash[0], guess[0])
        } else {
            None
        };
        if let Some(s) = src {
            s.last_seen = s.last_seen.max(ts);
            if p.src_mac.is_some() {
                s.mac = p.src_mac;
            }
            evicted += add_sent(&limits, s, sent, p.proto, p.ports);
        }
        let dst = if mine[1] {
            self.hosts.get_or_insert_at(p.dst, hash[1], guess[1])
        } else {
            None
        };
        if let Some(d) = dst {
            if p.dst_mac.is_some() {
                d.mac = p.dst_mac;
            }
            evicted += add_received(&limits, d, sent, p.proto, p.ports);
        }
        *self.ports_evicted += evicted;
    }
}

/// What one packet, or the combined packets of one flow direction
/// (`flows`), add to their two hosts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Amount {
    pub bytes: u64,
    pub packets: u64,
    /// TCP packets with SYN set and ACK clear.
    pub syns: u32,
}

impl Amount {
    /// What packet `p` adds.
    #[inline]
    pub fn one(p: &PacketSummary) -> Amount {
        Amount {
            bytes: p.len,
            packets: 1,
            syns: u32::from(p.ports.is_some_and(|pt| pt.syn)),
        }
    }
}

/// Adds to the sender `s` of `a` (protocol `proto`, ports `ports` as the
/// packets had them): its totals, its protocol entry, its local port
/// `ports.src` and the remote port `ports.dst`. Returns the port entries
/// evicted. The destination's side is [`add_received`]; the two are the
/// whole of §3–§4 for a host, apart from `last_seen` and the MAC, whose
/// rules the callers keep.
#[inline]
fn add_sent(
    limits: &Limits,
    s: &mut hosts::Host,
    a: Amount,
    proto: u8,
    ports: Option<Ports>,
) -> u64 {
    s.bytes_out += a.bytes;
    s.packets_out += a.packets;
    let e = &mut s.entries;
    let (pe, _) = e.get(Kind::Proto, u16::from(proto), usize::MAX, 0);
    pe.bytes_out += a.bytes;
    pe.packets_out += a.packets;
    let mut evicted = 0;
    if let (Some(pt), true) = (ports, limits.ports_max > 0) {
        let (local, remote) = kinds(proto);
        let hi = limits.highest_port;
        if pt.src <= hi {
            let (c, ev) = e.get(local, pt.src, limits.ports_max, limits.ports_keep);
            c.bytes_out += a.bytes;
            c.packets_out += a.packets;
            evicted += ev;
        }
        if pt.dst <= hi {
            let (c, ev) = e.get(remote, pt.dst, limits.ports_max, limits.ports_keep);
            c.bytes_in += a.bytes;
            c.packets_in += a.packets;
            c.syn = c.syn.saturating_add(a.syns);
            evicted += ev;
        }
    }
    evicted
}

/// Adds to the receiver `d` of `a`: the mirror of [`add_sent`] (its local
/// port is `ports.dst`, the remote one `ports.src`).
#[inline]
fn add_received(
    limits: &Limits,
    d: &mut hosts::Host,
    a: Amount,
    proto: u8,
    ports: Option<Ports>,
) -> u64 {
    d.bytes_in += a.bytes;
    d.packets_in += a.packets;
    let e = &mut d.entries;
    let (pe, _) = e.get(Kind::Proto, u16::from(proto), usize::MAX, 0);
    pe.bytes_in += a.bytes;
    pe.packets_in += a.packets;
    let mut evicted = 0;
    if let (Some(pt), true) = (ports, limits.ports_max > 0) {
        let (local, remote) = kinds(proto);
        let hi = limits.highest_port;
        if pt.dst <= hi {
            let (c, ev) = e.get(local, pt.dst, limits.ports_max, limits.ports_keep);
            c.bytes_in += a.bytes;
            c.packets_in += a.packets;
            c.syn = c.syn.saturating_add(a.syns);
            evicted += ev;
        }
        if pt.src <= hi {
            let (c, ev) = e.get(remote, pt.src, limits.ports_max, limits.ports_keep);
            c.bytes_out += a.bytes;
            c.packets_out += a.packets;
            evicted += ev;
        }
    }
    evicted
}

/// The (local, remote) port tables of a transport protocol.
fn kinds(proto: u8) -> (Kind, Kind) {
    if proto == TCP {
        (Kind::TcpLocal, Kind::TcpRemote)
    } else {
        (Kind::UdpLocal, Kind::UdpRemote)
    }
}

#[cfg(test)]
mod tests {
    use super::test_frames::frame;
    use super::*;
    use crate::decode::{self, LinkType};
    use common::model::{CaptureCounts, InterfaceStats};

    const N: u16 = 300;

    fn accounts() -> Accounts {
        let limits = Limits {
            hosts_max: 100,
            hosts_keep: 50,
            ports_max: 10,
            ports_keep: 5,
            highest_port: 65535,
        };
        let local = LocalNets::new(vec!["192.168.0.0/16".parse().unwrap()]);
        let mut a = Accounts::new(limits, local);
        for i in 0..N {
            let proto = if i % 3 == 0 { 17 } else { 6 };
            let f = frame((i % 7) as u8, (i % 5) as u8, proto, 1000 + i, 80 + i % 4);
            let d = decode::frame(LinkType::Ethernet, &f, 60);
            a.apply(&d, 1_700_000_000 + u64::from(i), 60);
        }
        a.apply(&Decoded::NonIp, 1_700_000_100, 60);
        a
    }

    #[test]
    fn view_serializes_exactly_like_the_snapshot() {
        let a = accounts();
        let ifs = [InterfaceStats {
            name: "eth0".into(),
            linktype: 1,
            capture: CaptureCounts {
                received: 301,
                dropped: 2,
                if_dropped: 1,
            },
        }];
        let owned = serde_json::to_value(a.snapshot(&ifs)).unwrap();
        let mut text = Vec::new();
        a.view(&ifs).write_json(&mut text).unwrap();
        let view: serde_json::Value = serde_json::from_slice(&text).unwrap();
        assert_eq!(owned, view);
        assert_eq!(owned["totals"]["capture"]["dropped"], 2);
        assert!(a.snapshot(&ifs).evictions.ports > 0);
    }

    #[test]
    fn evictions_never_change_totals_or_protocols() {
        let a = accounts();
        let s = a.snapshot(&[]);
        assert_eq!(s.totals.packets, u64::from(N));
        assert_eq!(s.totals.bytes, u64::from(N) * 40);
        let sum: u64 = s
            .protocols
            .iter()
            .map(|p| p.bytes_in + p.bytes_out + p.bytes_other)
            .sum();
        assert_eq!(sum, u64::from(N) * 40);
        let tcp_port_in: u64 = s.ports.tcp.iter().map(|p| p.bytes_in).sum();
        let udp_port_in: u64 = s.ports.udp.iter().map(|p| p.bytes_in).sum();
        assert_eq!(tcp_port_in + udp_port_in, u64::from(N) * 40);
        // every packet leaves the local network
        let out: u64 = s.graphs.minutes.iter().map(|b| b.bytes_out).sum();
        assert_eq!(out, u64::from(N) * 40);
        for h in &s.hosts {
            assert!(h.tcp_local.len() <= 10 && h.tcp_remote.len() <= 10);
        }
    }
}
