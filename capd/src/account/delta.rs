//! delta: what changed in [`Accounts`] since the last publication, taken
//! on the capture thread once per tick and handed to the publisher.
//!
//! Taking costs time in proportion to what changed, plus one pass over the
//! two 65536-row global port tables: hosts changed since the last take are
//! copied as plain numbers (no per-host allocation, no encoding: that is
//! the publisher thread's work), evicted keys are moved out, and the small
//! tables are copied whole into a [`Tick`]. The first take from a table (or
//! from a table that replaced the previous one, as a reset does) copies
//! every host and says `reset`.
//!
//! This module must never do I/O or block: it runs on the capture thread.

use common::ipc::{encode_host_view, EncodeError, HostRecord, PortRows, Tick, Update};
use common::model::{InterfaceStats, PortStats};
use common::net::{key_ip, MacAddr};
use hashbrown::HashSet;
use serde::ser::{Serialize, SerializeSeq, SerializeStruct, Serializer};

use super::entries::{Entry, Kind};
use super::hosts::Host;
use super::view::{proto_row, tcp_row, udp_row};
use super::{Accounts, PortCounters};

/// What the capture thread remembers between two takes.
pub struct ChangeTracker {
    /// The host table the last take came from.
    instance: Option<u64>,
    seq: u64,
    /// `packets_in + packets_out` of every global port row at the last take:
    /// a row changed exactly when this sum did (every change adds a packet).
    tcp_seen: Box<[u64]>,
    udp_seen: Box<[u64]>,
}

impl Default for ChangeTracker {
    fn default() -> Self {
        ChangeTracker {
            instance: None,
            seq: 0,
            tcp_seen: vec![0; 65536].into_boxed_slice(),
            udp_seen: vec![0; 65536].into_boxed_slice(),
        }
    }
}

impl ChangeTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next take a reset with every host (for a receiver that
    /// lost step).
    pub fn invalidate(&mut self) {
        self.instance = None;
    }
}

/// A host as copied off the table.
#[derive(Clone, Copy, Debug)]
struct RawHost {
    key: u128,
    bytes_in: u64,
    bytes_out: u64,
    packets_in: u64,
    packets_out: u64,
    last_seen: Option<u64>,
    mac: Option<[u8; 6]>,
    /// This host's rows in `Changes::entries`.
    first: usize,
    count: usize,
}

/// One port or protocol row of a host, in the host's own order.
#[derive(Clone, Copy, Debug)]
struct RawEntry {
    kind: u8,
    number: u16,
    entry: Entry,
}

/// The changes of one tick (or of several, merged while the publisher was
/// busy). Meaning, in order: `reset` forgets everything, `removed` hosts go,
/// the changed hosts replace what was known of them, the port rows replace
/// theirs, and the tick's tables replace theirs.
#[derive(Debug)]
pub struct Changes {
    reset: bool,
    removed: Vec<u128>,
    hosts: Vec<RawHost>,
    entries: Vec<RawEntry>,
    ports: PortRows,
    tick: Tick,
}

impl Accounts {
    /// Takes what changed since the last call with this tracker; see the
    /// module documentation. `interfaces` gives the capture counters.
    pub fn take_changes(
        &mut self,
        t: &mut ChangeTracker,
        interfaces: &[InterfaceStats],
    ) -> Changes {
        let reset = t.instance != Some(self.hosts.instance());
        let mut ch = Changes {
            reset,
            removed: Vec::new(),
            hosts: Vec::new(),
            entries: Vec::new(),
            ports: PortRows::default(),
            tick: Tick::default(),
        };
        if reset {
            t.instance = Some(self.hosts.instance());
            t.tcp_seen.fill(0);
            t.udp_seen.fill(0);
            ch.hosts.reserve(self.hosts.len());
            self.hosts.take_all(|h| ch.push_host(h));
        } else {
            self.hosts.take_removed(&mut ch.removed);
            self.hosts.take_changed(|h| ch.push_host(h));
        }
        ch.ports.tcp = changed_rows(&self.tcp_ports, &mut t.tcp_seen);
        ch.ports.udp = changed_rows(&self.udp_ports, &mut t.udp_seen);
        t.seq += 1;
        let now = self.now();
        ch.tick = Tick {
            seq: t.seq,
            since: self.since(),
            now,
            totals: self.totals_with(interfaces),
            protocols: self.protocol_rows(),
            graphs: self.graphs.snapshot(now),
            interfaces: interfaces.to_vec(),
            local_networks: self.local.nets().to_vec(),
            evictions: self.evictions(),
            host_count: self.hosts.len() as u64,
        };
        ch
    }
}

fn changed_rows(table: &[PortCounters], seen: &mut [u64]) -> Vec<PortStats> {
    let mut rows = Vec::new();
    for (port, (c, s)) in table.iter().zip(seen.iter_mut()).enumerate() {
        let sum = c.packets_in.wrapping_add(c.packets_out);
        if sum != *s {
            *s = sum;
            rows.push(PortStats {
                port: port as u16,
                bytes_in: c.bytes_in,
                bytes_out: c.bytes_out,
                packets_in: c.packets_in,
                packets_out: c.packets_out,
            });
        }
    }
    rows
}

impl Changes {
    fn push_host(&mut self, h: &Host) {
        let first = self.entries.len();
        self.entries
            .extend(h.entries.iter().map(|(kind, number, &entry)| RawEntry {
                kind,
                number,
                entry,
            }));
        self.hosts.push(RawHost {
            key: h.key,
            bytes_in: h.bytes_in,
            bytes_out: h.bytes_out,
            packets_in: h.packets_in,
            packets_out: h.packets_out,
            last_seen: super::snapshot::last_seen(h),
            mac: h.mac,
            first,
            count: self.entries.len() - first,
        });
    }

    /// Whether the receiver must forget everything first.
    pub fn is_reset(&self) -> bool {
        self.reset
    }

    /// Keys (`common::net::ip_key`) of the hosts that left the table. May
    /// name hosts the receiver never heard of (added and evicted between
    /// two takes) and hosts that came back (they are in [`Self::hosts`]).
    pub fn removed(&self) -> &[u128] {
        &self.removed
    }

    /// Number of changed hosts.
    pub fn host_len(&self) -> usize {
        self.hosts.len()
    }

    /// The changed hosts, as their key and their record, built exactly as
    /// `Accounts::snapshot` builds `HostStats`.
    pub fn hosts(&self) -> impl Iterator<Item = (u128, HostRecord)> + '_ {
        self.hosts.iter().map(|h| (h.key, self.record(h)))
    }

    fn record(&self, h: &RawHost) -> HostRecord {
        let rows = &self.entries[h.first..h.first + h.count];
        let of = |k: Kind| {
            rows.iter()
                .filter(move |r| r.kind == k as u8)
                .map(|r| (r.kind, r.number, &r.entry))
        };
        HostRecord {
            ip: key_ip(h.key),
            mac: h.mac.map(MacAddr),
            bytes_in: h.bytes_in,
            bytes_out: h.bytes_out,
            packets_in: h.packets_in,
            packets_out: h.packets_out,
            last_seen: h.last_seen,
            tcp_local: of(Kind::TcpLocal).map(tcp_row).collect(),
            tcp_remote: of(Kind::TcpRemote).map(tcp_row).collect(),
            udp_local: of(Kind::UdpLocal).map(udp_row).collect(),
            udp_remote: of(Kind::UdpRemote).map(udp_row).collect(),
            protocols: of(Kind::Proto).map(proto_row).collect(),
        }
    }

    /// Appends the encoding of changed host `i` (as `common::ipc` encodes a
    /// `HostRecord`) to `out`, without building the record; returns the
    /// host's key.
    pub fn encode_host(&self, i: usize, out: &mut Vec<u8>) -> Result<u128, EncodeError> {
        let h = &self.hosts[i];
        let rows = &self.entries[h.first..h.first + h.count];
        encode_host_view(&RecordView { h, rows }, out)?;
        Ok(h.key)
    }

    /// Changed rows of the global port tables.
    pub fn ports(&self) -> &PortRows {
        &self.ports
    }

    /// The small tables, whole.
    pub fn tick(&self) -> &Tick {
        &self.tick
    }

    /// Folds a later take into this one, so that applying the result equals
    /// applying `self`, then `newer`. Used when the publisher has not yet
    /// collected `self`: nothing may be lost, since only changes are sent.
    pub fn merge(&mut self, newer: Changes) {
        if newer.reset {
            *self = newer;
            return;
        }
        // Hosts of `self` that `newer` removes or replaces are dropped;
        // the removals stay, since the receiver may know those hosts.
        let superseded: HashSet<u128> = newer
            .removed
            .iter()
            .copied()
            .chain(newer.hosts.iter().map(|h| h.key))
            .collect();
        let old_hosts = std::mem::take(&mut self.hosts);
        let old_entries = std::mem::take(&mut self.entries);
        for h in old_hosts
            .into_iter()
            .filter(|h| !superseded.contains(&h.key))
        {
            let first = self.entries.len();
            self.entries
                .extend_from_slice(&old_entries[h.first..h.first + h.count]);
            self.hosts.push(RawHost { first, ..h });
        }
        let base = self.entries.len();
        self.entries.extend_from_slice(&newer.entries);
        self.hosts.extend(newer.hosts.iter().map(|h| RawHost {
            first: base + h.first,
            ..*h
        }));
        self.removed.extend_from_slice(&newer.removed);
        merge_rows(&mut self.ports.tcp, newer.ports.tcp);
        merge_rows(&mut self.ports.udp, newer.ports.udp);
        self.tick = newer.tick;
    }

    /// The same changes as a `common::ipc::Update` (what a receiver of the
    /// frames built from them ends up with).
    pub fn to_update(&self) -> Update {
        Update {
            reset: self.reset,
            removed: self.removed.iter().map(|&k| key_ip(k)).collect(),
            hosts: self.hosts().map(|(_, r)| r.into()).collect(),
            ports: self.ports.clone(),
            tick: self.tick.clone(),
        }
    }
}

/// Serializes as `HostRecord` (field for field, in its order).
struct RecordView<'a> {
    h: &'a RawHost,
    rows: &'a [RawEntry],
}

impl Serialize for RecordView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let h = self.h;
        let rows = |kind| Rows(self.rows, kind);
        let mut st = s.serialize_struct("HostRecord", 12)?;
        st.serialize_field("ip", &key_ip(h.key))?;
        st.serialize_field("mac", &h.mac.map(MacAddr))?;
        st.serialize_field("bytes_in", &h.bytes_in)?;
        st.serialize_field("bytes_out", &h.bytes_out)?;
        st.serialize_field("packets_in", &h.packets_in)?;
        st.serialize_field("packets_out", &h.packets_out)?;
        st.serialize_field("last_seen", &h.last_seen)?;
        st.serialize_field("tcp_local", &rows(Kind::TcpLocal))?;
        st.serialize_field("tcp_remote", &rows(Kind::TcpRemote))?;
        st.serialize_field("udp_local", &rows(Kind::UdpLocal))?;
        st.serialize_field("udp_remote", &rows(Kind::UdpRemote))?;
        st.serialize_field("protocols", &rows(Kind::Proto))?;
        st.end()
    }
}

/// One table of a host, as the vector `HostRecord` has.
struct Rows<'a>(&'a [RawEntry], Kind);

impl Serialize for Rows<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let kind = self.1;
        let mine = || {
            self.0
                .iter()
                .filter(move |r| r.kind == kind as u8)
                .map(|r| (r.kind, r.number, &r.entry))
        };
        let mut seq = s.serialize_seq(Some(mine().count()))?;
        for row in mine() {
            match kind {
                Kind::TcpLocal | Kind::TcpRemote => seq.serialize_element(&tcp_row(row))?,
                Kind::UdpLocal | Kind::UdpRemote => seq.serialize_element(&udp_row(row))?,
                Kind::Proto => seq.serialize_element(&proto_row(row))?,
            }
        }
        seq.end()
    }
}

/// Both sorted by port; the newer row wins.
fn merge_rows(rows: &mut Vec<PortStats>, newer: Vec<PortStats>) {
    if newer.is_empty() {
        return;
    }
    let old = std::mem::take(rows);
    let mut a = old.into_iter().peekable();
    let mut b = newer.into_iter().peekable();
    loop {
        let pick_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => x.port < y.port,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        if pick_a {
            rows.extend(a.next());
        } else {
            let y = b.next();
            if let (Some(x), Some(y)) = (a.peek(), &y) {
                if x.port == y.port {
                    a.next();
                }
            }
            rows.extend(y);
        }
    }
}

#[cfg(test)]
mod tests {
    use common::ipc::Replica;
    use common::model::{CaptureCounts, Snapshot};
    use common::net::LocalNets;

    use super::*;
    use crate::account::Limits;
    use crate::decode::{self, LinkType};

    /// Ethernet + IPv4 + TCP/UDP between 10.<a>.<b>.<c> style addresses.
    fn frame(src: u32, dst: u32, proto: u8, sport: u16, dport: u16, syn: bool) -> Vec<u8> {
        let mut f = vec![
            2, 0, 0, 0, 0, dst as u8, 2, 0, 0, 0, 0, src as u8, 0x08, 0x00,
        ];
        f.extend_from_slice(&[0x45, 0, 0, 40, 0, 0, 0, 0, 64, proto, 0, 0]);
        f.extend_from_slice(&(0x0a00_0000 | src).to_be_bytes());
        f.extend_from_slice(&(0xc0a8_0000 | dst).to_be_bytes());
        f.extend_from_slice(&sport.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        let flags = if syn { 0x02 } else { 0x10 };
        f.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, flags, 0, 0, 0, 0, 0, 0]);
        f
    }

    fn accounts(hosts_max: usize) -> Accounts {
        let limits = Limits {
            hosts_max,
            hosts_keep: hosts_max / 2,
            ports_max: 8,
            ports_keep: 4,
            highest_port: 65535,
        };
        Accounts::new(
            limits,
            LocalNets::new(vec!["192.168.0.0/16".parse().unwrap()]),
        )
    }

    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % n
        }
    }

    fn traffic(a: &mut Accounts, rng: &mut Rng, t: u64, packets: usize, spread: u64) {
        for _ in 0..packets {
            let src = rng.below(spread) as u32;
            let dst = rng.below(spread) as u32;
            let proto = if rng.below(3) == 0 { 17 } else { 6 };
            let sport = 1024 + rng.below(40) as u16;
            let dport = rng.below(30) as u16;
            let f = frame(src, dst, proto, sport, dport, rng.below(4) == 0);
            let d = decode::frame(LinkType::Ethernet, &f, 60);
            a.apply(&d, t, 60);
        }
    }

    fn ifaces(t: u64) -> Vec<InterfaceStats> {
        vec![InterfaceStats {
            name: "eth0".into(),
            linktype: 1,
            capture: CaptureCounts {
                received: t,
                dropped: 1,
                if_dropped: 0,
            },
        }]
    }

    fn sorted(s: &Snapshot) -> Snapshot {
        let mut s = s.clone();
        s.hosts.sort_by_key(|h| common::net::ip_key(h.ip));
        s
    }

    #[test]
    fn applied_changes_equal_the_snapshot_every_tick_through_evictions() {
        let mut a = accounts(64);
        let mut t = ChangeTracker::new();
        let mut r = Replica::new();
        let mut rng = Rng(7);
        let mut evictions_seen = 0;
        for tick in 0..60u64 {
            let ts = 1_700_000_000 + tick;
            let n = rng.below(200) as usize;
            traffic(&mut a, &mut rng, ts, n, 100 + tick * 5);
            let ifs = ifaces(tick);
            let ch = a.take_changes(&mut t, &ifs);
            assert_eq!(ch.is_reset(), tick == 0);
            r.apply(&ch.to_update()).unwrap();
            assert_eq!(
                sorted(r.snapshot()),
                sorted(&a.snapshot(&ifs)),
                "tick {tick}"
            );
            evictions_seen = a.snapshot(&ifs).evictions.hosts;
        }
        assert!(evictions_seen > 0, "the test must go through evictions");
    }

    #[test]
    fn quiet_ticks_carry_no_hosts_or_ports() {
        let mut a = accounts(1000);
        let mut t = ChangeTracker::new();
        let mut rng = Rng(1);
        traffic(&mut a, &mut rng, 100, 500, 50);
        let first = a.take_changes(&mut t, &[]);
        assert!(first.host_len() > 0 && !first.ports().tcp.is_empty());
        a.set_now(101);
        let quiet = a.take_changes(&mut t, &[]);
        assert!(!quiet.is_reset());
        assert_eq!(quiet.host_len(), 0);
        assert!(quiet.removed().is_empty());
        assert!(quiet.ports().tcp.is_empty() && quiet.ports().udp.is_empty());
        assert_eq!(quiet.tick().now, 101);
        assert_eq!(quiet.tick().seq, first.tick().seq + 1);
        // one packet: its two hosts and its two port rows
        let f = frame(1, 2, 6, 2000, 80, false);
        a.apply(&decode::frame(LinkType::Ethernet, &f, 60), 102, 60);
        let one = a.take_changes(&mut t, &[]);
        assert_eq!(one.host_len(), 2);
        let ports: Vec<u16> = one.ports().tcp.iter().map(|p| p.port).collect();
        assert_eq!(ports, vec![80, 2000]);
    }

    #[test]
    fn merged_changes_equal_the_changes_applied_in_turn() {
        let mut a = accounts(40);
        let mut t = ChangeTracker::new();
        let mut rng = Rng(99);
        let mut step = Replica::new();
        let mut merged_r = Replica::new();
        let mut pending: Option<Changes> = None;
        for tick in 0..80u64 {
            let n = rng.below(150) as usize;
            traffic(&mut a, &mut rng, 1_000 + tick, n, 90);
            let ch = a.take_changes(&mut t, &[]);
            step.apply(&ch.to_update()).unwrap();
            match &mut pending {
                Some(p) => p.merge(ch),
                None => pending = Some(ch),
            }
            // the publisher collects only every few ticks
            if rng.below(4) == 0 {
                let p = pending.take().unwrap();
                merged_r.apply(&p.to_update()).unwrap();
                assert_eq!(sorted(merged_r.snapshot()), sorted(step.snapshot()));
            }
        }
        assert_eq!(sorted(step.snapshot()), sorted(&a.snapshot(&[])));
    }

    #[test]
    fn a_new_table_is_a_reset_with_every_host() {
        let mut a = accounts(1000);
        let mut t = ChangeTracker::new();
        let mut rng = Rng(5);
        traffic(&mut a, &mut rng, 10, 300, 60);
        let mut r = Replica::new();
        r.apply(&a.take_changes(&mut t, &[]).to_update()).unwrap();
        // what a statistics reset does: a fresh table
        let mut b = accounts(1000);
        traffic(&mut b, &mut rng, 20, 20, 60);
        let ch = b.take_changes(&mut t, &[]);
        assert!(ch.is_reset());
        // a pending older change merged with a reset is the reset
        let mut old = a.take_changes(&mut t, &[]);
        assert!(old.is_reset(), "switching back is a reset too");
        old.merge(ch);
        assert!(old.is_reset());
        r.apply(&old.to_update()).unwrap();
        assert_eq!(sorted(r.snapshot()), sorted(&b.snapshot(&[])));
    }

    #[test]
    fn hosts_encode_exactly_as_their_records() {
        let mut a = accounts(10_000);
        let mut t = ChangeTracker::new();
        let mut rng = Rng(17);
        traffic(&mut a, &mut rng, 10, 3_000, 300);
        // a host talking to itself, and one with many ports
        let f = frame(1, 1, 6, 1, 1, true);
        a.apply(&decode::frame(LinkType::Ethernet, &f, 60), 11, 60);
        for p in 0..40 {
            let f = frame(7, 8, 17, 5000 + p, 53, false);
            a.apply(&decode::frame(LinkType::Ethernet, &f, 60), 11, 60);
        }
        let ch = a.take_changes(&mut t, &[]);
        assert!(ch.host_len() > 300);
        for (i, (key, record)) in ch.hosts().enumerate() {
            let mut want = Vec::new();
            common::ipc::encode_host_record(&record, &mut want).unwrap();
            let mut got = Vec::new();
            assert_eq!(ch.encode_host(i, &mut got).unwrap(), key);
            assert_eq!(got, want, "host {}", record.ip);
        }
    }

    #[test]
    fn merged_port_rows_keep_the_newest_and_stay_sorted() {
        let row = |port, packets_in| PortStats {
            port,
            packets_in,
            ..PortStats::default()
        };
        let mut rows = vec![row(1, 1), row(5, 1), row(9, 1)];
        merge_rows(&mut rows, vec![row(0, 2), row(5, 2), row(10, 2)]);
        let got: Vec<(u16, u64)> = rows.iter().map(|r| (r.port, r.packets_in)).collect();
        assert_eq!(got, vec![(0, 2), (1, 1), (5, 2), (9, 1), (10, 2)]);
    }
}
