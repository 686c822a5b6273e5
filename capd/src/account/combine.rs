//! Counting the hosts of a capture file flow by flow: the packets of one
//! direction of a flow (same source, destination, protocol and ports) add
//! the same amounts to the same host counters and port entries, so their
//! sums are kept in a [`Flows`] table and counted into the host table
//! once, when it is flushed. A packet then costs one flow lookup instead
//! of two hosts and six port and protocol entries (BENCHMARKS.md).
//!
//! The result is exactly that of counting packet by packet. Sums and
//! maxima do not depend on when they are added; what does is kept in
//! order:
//! - **Host evictions** rank hosts by their counters at the packet that
//!   fills the table. Hosts are looked up (and added) when a flow is
//!   made, so the packet that would evict is known: everything is
//!   flushed first, and that packet is counted on its own.
//! - **Port evictions** rank a host's ports when a new one meets a full
//!   table. A flow adds at most one local and one remote port per port
//!   table to each host (two to a host talking to itself), so a flow is
//!   combined for a host only while the host's fullest port table plus its
//!   combined flows stay within `--ports-max`: then no eviction can come
//!   while they wait. Else the host turns *direct* (after a flush, so that
//!   nothing of it waits) and its packets are counted one by one from then
//!   on.
//! - **MACs**: the latest packet's wins. Flows note the sequence number of
//!   their latest MAC, hosts that of theirs, and a flush keeps the higher.
//! - **Order of new entries**: a flush counts flows in the order they were
//!   made, so a host's entries are created in the order of their first
//!   packets, as packet by packet.
//!
//! A full table is *retired*: a second table takes the new flows while
//! the retired flows are counted a few at a time, whenever the counting
//! thread would otherwise wait for packets (`worker`), and the rest when
//! the new table is full. Counting them all at once held the reading
//! thread up for the whole flush, about 16 ms each time on the benchmark
//! capture, longer than the batches in flight last (BENCHMARKS.md). A
//! retired flow is older than every flow of the table that replaced it,
//! so the order above holds; a host's `pending` counts its flows in both
//! tables, and each flow counted takes back only its own share. Every
//! other flush (before an eviction, before a host turns direct, at the
//! end before anyone reads the counters) counts both tables, retired
//! first; the one at the end on two threads (`flush`).

use super::flows::{Flow, FlowHasher, Flows, DST, NO_FLOW, SRC};
use super::hosts::{DIRECT, NO_HOST};
use super::worker::WINDOW;
use super::{flush, HostPart};
use crate::decode::PacketSummary;

/// Packets in flight. On arrival a packet's flow index slot is
/// prefetched; at [`FLOW_AT`] its flow entry, or when it has none (a new
/// flow, whose hosts must be looked up) the hosts' index slots; at
/// [`HOSTS_AT`] those hosts (or, for a known flow, the hosts it counts
/// one by one), at [`ENTRIES_AT`] the latter's port entries.
const DEPTH: usize = 32;
const FLOW_AT: usize = 8;
const HOSTS_AT: usize = 16;
const ENTRIES_AT: usize = 24;

/// The last sequence number before they start again (after a flush and
/// with every host's forgotten). Small in tests, so that they wrap.
const SEQ_LIMIT: u32 = if cfg!(test) { 5000 } else { u32::MAX - 4 };

#[derive(Clone, Copy)]
struct InFlight {
    p: PacketSummary,
    ts: u64,
    /// The flow's hash, and its guessed position.
    hash: u64,
    guess: u32,
    /// Whether the flow looked new at [`FLOW_AT`]; then the hashes of its
    /// hosts, and their guessed positions.
    new: bool,
    host_hash: [u64; 2],
    host_guess: [u32; 2],
}

const IDLE: InFlight = InFlight {
    p: PacketSummary::EMPTY,
    ts: 0,
    hash: 0,
    guess: NO_FLOW,
    new: false,
    host_hash: [0; 2],
    host_guess: [NO_HOST; 2],
};

/// The IP packets between decoding and counting them per host, combined
/// by flow (see the module text).
pub struct Combiner {
    flows: Flows,
    /// The flows of the last full table, counted from `drained` on a few
    /// at a time while the table fills again (so that the reading thread
    /// does not wait on a flush of them all; BENCHMARKS.md). Older than
    /// every flow in `flows`, so drained before those are counted.
    retired: Vec<Flow>,
    drained: usize,
    /// Every host in the table was counted from packets (it started
    /// empty): a host's packets then bound its port tables (`sides`).
    from_packets: bool,
    /// Some host is counted one by one (else no flow needs its hosts
    /// prefetched).
    any_direct: bool,
    ring: [InFlight; DEPTH],
    /// Packets pushed so far; packet `n` lives in `ring[n % DEPTH]`.
    pushed: usize,
    /// Packets counted (or combined) so far.
    done: usize,
    /// The last sequence number given to a packet (two per packet).
    seq: u32,
    /// Packets counted in the current [`WINDOW`], and how many of them
    /// took the slow way: the first of a flow, or counted one by one.
    window: u32,
    slow: u32,
    /// Whether the last whole window paid, not yet asked for.
    verdict: Option<bool>,
    /// Windows completed so far.
    windows: u64,
}

impl Combiner {
    /// A combiner for a host table that is empty (`from_packets`) or not,
    /// its flows hashed by `hasher`.
    pub fn new(from_packets: bool, hasher: FlowHasher) -> Self {
        Combiner {
            flows: Flows::new(hasher),
            retired: Vec::new(),
            drained: 0,
            from_packets,
            any_direct: false,
            ring: [IDLE; DEPTH],
            pushed: 0,
            done: 0,
            seq: 0,
            window: 0,
            slow: 0,
            verdict: None,
            windows: 0,
        }
    }

    /// Adds an IP packet whose flow has hash `hash` (from the
    /// [`FlowHasher`] it was made with); counts the one pushed [`DEPTH`]
    /// packets earlier.
    #[inline]
    pub fn push(&mut self, hosts: &mut HostPart<'_>, p: &PacketSummary, ts: u64, hash: u64) {
        let n = self.pushed;
        if n - self.done == DEPTH {
            self.count_oldest(hosts);
        }
        self.ring[n % DEPTH] = InFlight {
            p: *p,
            ts,
            hash,
            ..IDLE
        };
        self.pushed = n + 1;
        if hosts.limits.hosts_max == 0 {
            // no hosts: nothing to count here
            return;
        }
        self.flows.prefetch_slot(hash);
        if n >= FLOW_AT && n - FLOW_AT >= self.done {
            let q = &mut self.ring[(n - FLOW_AT) % DEPTH];
            q.guess = self.flows.candidate(q.hash);
            if q.guess == NO_FLOW {
                q.new = true;
                q.host_hash = [hosts.hash(q.p.src), hosts.hash(q.p.dst)];
                q.host_hash
                    .iter()
                    .for_each(|&h| hosts.hosts.prefetch_index(h));
            } else {
                self.flows.prefetch_flow(q.guess);
            }
        }
        if n >= HOSTS_AT && n - HOSTS_AT >= self.done {
            let q = &mut self.ring[(n - HOSTS_AT) % DEPTH];
            let guess = if q.new {
                Some(q.host_hash.map(|h| hosts.hosts.candidate(h)))
            } else if self.any_direct {
                // sides counted one by one: their hosts, then their entries
                self.flows.get(q.guess).map(|f| {
                    [(SRC, f.at[0]), (DST, f.at[1])].map(|(side, at)| match f.flags & side {
                        0 => at,
                        _ => NO_HOST,
                    })
                })
            } else {
                // a flow that combines both sides: nothing to load
                None
            };
            if let Some(g) = guess {
                q.host_guess = g;
                g.iter().for_each(|&g| hosts.hosts.prefetch_host(g));
            }
        }
        // only packets counted one by one have entries to load
        if n >= ENTRIES_AT && n - ENTRIES_AT >= self.done && self.any_direct {
            let q = &self.ring[(n - ENTRIES_AT) % DEPTH];
            if !q.new && q.host_guess != [NO_HOST; 2] {
                hosts.prefetch_entries(&q.p, q.host_guess);
            }
        }
    }

    /// [`Combiner::push`], hashing the flow here.
    #[cfg(test)]
    fn push_packet(&mut self, hosts: &mut HostPart<'_>, p: PacketSummary, ts: u64) {
        let hash = self.flows.hasher().hash(&p);
        self.push(hosts, &p, ts, hash);
    }

    /// Counts everything: the packets in flight, then every flow (on two
    /// threads when they are many, `flush`).
    pub fn finish(&mut self, hosts: &mut HostPart<'_>) {
        while self.done < self.pushed {
            self.count_oldest(hosts);
        }
        self.count_waiting(hosts, true);
    }

    /// Whether combining paid over the last [`WINDOW`] packets, once per
    /// window from the second on (in the first, every flow is new): it
    /// does while at most 2 in 5 packets take the slow way (a packet that
    /// does costs about what it costs without combining, plus the lookup
    /// that found no flow; BENCHMARKS.md).
    pub fn judge(&mut self) -> Option<bool> {
        self.verdict.take()
    }

    /// Counts a packet into the current window.
    #[inline]
    fn tally(&mut self, slow: bool) {
        self.window += 1;
        self.slow += u32::from(slow);
        if self.window == WINDOW {
            if self.windows > 0 {
                self.verdict = Some(self.slow <= WINDOW / 5 * 2);
            }
            self.windows += 1;
            self.window = 0;
            self.slow = 0;
        }
    }

    #[inline]
    fn count_oldest(&mut self, hosts: &mut HostPart<'_>) {
        // the packet stays in the ring (no copy) unless it starts a flow
        let i = self.done % DEPTH;
        self.done += 1;
        if hosts.limits.hosts_max == 0 {
            return;
        }
        if self.seq >= SEQ_LIMIT {
            self.flush(hosts);
            hosts.hosts.clear_mac_seqs();
            self.seq = 0;
        }
        self.seq += 2;
        let q = &self.ring[i];
        match self.flows.find(q.hash, &q.p, q.guess) {
            Some(pos) => {
                let f = self.flows.get_mut(pos);
                f.add(&q.p, q.ts, self.seq);
                let (flags, at) = (f.flags, f.at);
                let slow = flags & (SRC | DST) != SRC | DST;
                if slow {
                    one_by_one(hosts, &q.p, q.ts, at, [flags & SRC == 0, flags & DST == 0]);
                }
                self.tally(slow);
            }
            None => {
                let q = *q;
                self.start_flow(hosts, &q);
                self.tally(true);
            }
        }
    }

    /// The first packet of a flow (since the last flush): finds or adds
    /// its hosts, decides which sides are combined, makes the flow.
    #[cold]
    fn start_flow(&mut self, hosts: &mut HostPart<'_>, q: &InFlight) {
        let p = &q.p;
        let same = p.src == p.dst;
        let (hash, guess) = if q.new {
            (q.host_hash, q.host_guess)
        } else {
            ([hosts.hash(p.src), hosts.hash(p.dst)], [NO_HOST; 2])
        };
        let found = [
            hosts.hosts.position(p.src, hash[0], guess[0]),
            hosts.hosts.position(p.dst, hash[1], guess[1]),
        ];
        let new = usize::from(found[0].is_none()) + usize::from(found[1].is_none() && !same);
        if hosts.hosts.would_evict(new) {
            // the eviction must see every host's counters as they are now
            self.flush(hosts);
            hosts.count(p, q.ts, hash.map(Some), [NO_HOST; 2], [true; 2]);
            return;
        }
        let src = found[0].unwrap_or_else(|| hosts.hosts.insert_absent(p.src, hash[0]));
        let dst = match found[1] {
            Some(d) => d,
            None if same => src,
            None => hosts.hosts.insert_absent(p.dst, hash[1]),
        };
        let at = [src, dst];
        // entries a flow may add to a port table of each of its hosts
        let need = if same { 2 } else { 1 };
        let mut combined = self.sides(hosts, at, need);
        if combined.contains(&Side::GoDirect) {
            self.flush(hosts);
            for (i, side) in combined.iter_mut().enumerate() {
                if *side == Side::GoDirect {
                    hosts.hosts.touch(at[i]).pending |= DIRECT;
                    self.any_direct = true;
                    *side = Side::Direct;
                }
            }
            if same {
                combined = [Side::Direct; 2];
            }
        }
        // a flow even if both sides are direct: it keeps their positions
        let direct = combined.map(|s| s == Side::Direct);
        if self.flows.is_full() {
            self.retire_full(hosts);
        }
        let mut sides = 0;
        for (i, flag) in [(0, SRC), (1, DST)] {
            if !direct[i] {
                sides |= flag;
                hosts.hosts.touch(at[i]).pending += need;
            }
        }
        let pos = self.flows.insert(q.hash, Flow::new(p, at, sides));
        self.flows.get_mut(pos).add(p, q.ts, self.seq);
        if direct.contains(&true) {
            one_by_one(hosts, p, q.ts, at, direct);
        }
    }

    /// How each side of a new flow between the hosts at `at` is counted.
    fn sides(&self, hosts: &mut HostPart<'_>, at: [u32; 2], need: u32) -> [Side; 2] {
        let ports_max = hosts.limits.ports_max;
        at.map(|pos| {
            let h = hosts.hosts.touch(pos);
            if h.pending & DIRECT != 0 {
                return Side::Direct;
            }
            if ports_max == 0 {
                return Side::Combined;
            }
            let max = ports_max as u64;
            // every flow waiting may add an entry to the fullest table
            let waiting = u64::from(h.pending + need);
            // Each time a host was counted it got at most one entry per
            // port table, and each time it counted a packet or more. So
            // in a table that started empty its packets bound its fullest
            // table, and the table (a line that is rarely cached) need
            // not be read unless the bound is near the limit.
            let bound = match self.from_packets {
                true => h.packets_in.saturating_add(h.packets_out),
                false => u64::MAX,
            };
            let fullest = if bound.saturating_add(waiting) <= max {
                bound
            } else {
                h.entries.fullest_port_table() as u64
            };
            if fullest + waiting <= max {
                Side::Combined
            } else {
                Side::GoDirect
            }
        })
    }

    /// Counts every flow into the host table, in the order they were
    /// made: those of a retired table first, then the current ones; both
    /// tables are empty afterwards.
    fn flush(&mut self, hosts: &mut HostPart<'_>) {
        // on this thread: the reader still runs
        self.count_waiting(hosts, false);
    }

    /// [`Combiner::flush`], on two threads if `two_threads` and the flows
    /// are many (`flush::count_all`).
    fn count_waiting(&mut self, hosts: &mut HostPart<'_>, two_threads: bool) {
        let waiting = [&self.retired[self.drained..], self.flows.all()];
        let evicted = flush::count_all(&hosts.limits, &mut *hosts.hosts, waiting, two_threads);
        // none by construction (module text); counted all the same
        debug_assert_eq!(evicted, 0);
        *hosts.ports_evicted += evicted;
        self.retired.clear();
        self.drained = 0;
        self.flows.clear();
    }

    /// The flow table is full: its flows are retired, to be counted a few
    /// at a time while the next table fills ([`Combiner::drain`]), after
    /// what is left of the table retired before.
    fn retire_full(&mut self, hosts: &mut HostPart<'_>) {
        self.drain(hosts, usize::MAX);
        self.retire();
    }

    /// Moves the (non-empty) flow table into `retired`, which must be
    /// drained.
    fn retire(&mut self) {
        debug_assert!(!self.draining());
        let done = std::mem::take(&mut self.retired);
        self.flows.give_back(done);
        self.retired = self.flows.take();
        self.drained = 0;
    }

    /// Whether retired flows wait to be counted.
    pub fn draining(&self) -> bool {
        self.drained < self.retired.len()
    }

    /// Counts up to `n` retired flows into the host table, in the order
    /// they were made. A retired flow's hosts may have flows in the
    /// current table too: each flow counted takes back only its own share
    /// of their `pending`.
    pub fn drain(&mut self, hosts: &mut HostPart<'_>, n: usize) {
        let waiting = &self.retired[self.drained..];
        let n = n.min(waiting.len());
        let evicted = flush::count_flows(&hosts.limits, &mut *hosts.hosts, waiting, n);
        self.drained += n;
        if self.drained == self.retired.len() && n > 0 {
            self.retired.clear();
            self.drained = 0;
        }
        // none by construction (module text); counted all the same
        debug_assert_eq!(evicted, 0);
        *hosts.ports_evicted += evicted;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Combined,
    Direct,
    /// Must turn direct: a flush first.
    GoDirect,
}

/// Counts the `direct` sides of one packet at once, its hosts at `at`.
#[inline]
fn one_by_one(
    hosts: &mut HostPart<'_>,
    p: &PacketSummary,
    ts: u64,
    at: [u32; 2],
    direct: [bool; 2],
) {
    // the positions are right (no eviction since the flow was made); were
    // one not, the host would be searched by its hash, never added twice
    hosts.count(p, ts, [None; 2], at, direct);
}

#[cfg(test)]
mod tests {
    use super::super::flows::CAPACITY;
    use super::*;
    use crate::account::{Accounts, Limits};
    use crate::decode::{Decoded, Ports};
    use common::net::LocalNets;

    /// A small deterministic generator (xorshift).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// `n` packets among `hosts` addresses (IPv4 and IPv6, now and then a
    /// host talking to itself), TCP, UDP and ICMP, few enough ports that
    /// flows repeat, some TCP without ports, SYNs, and MACs that come,
    /// go and change within a flow.
    fn traffic(n: usize, hosts: u64, seed: u64) -> Vec<(PacketSummary, u64)> {
        let mut r = Rng(seed);
        let addr = |i: u64| {
            if i % 5 == 4 {
                0xfd00_u128 << 112 | u128::from(i)
            } else {
                0xffff_c0a8_0000_u128 | u128::from(i)
            }
        };
        let mac = |r: &mut Rng| match r.below(4) {
            0 => None,
            m => Some([2, 0, 0, 0, 0, m as u8]),
        };
        let mut ts = 1_700_000_000;
        (0..n)
            .map(|_| {
                ts += r.below(3);
                let src = addr(r.below(hosts));
                let dst = if r.below(50) == 0 {
                    src
                } else {
                    addr(r.below(hosts))
                };
                let proto = [6u8, 6, 17, 1][r.below(4) as usize];
                let ports = (proto != 1 && r.below(20) != 0).then(|| Ports {
                    src: [80, 443, 53, 40000, 40001][r.below(5) as usize],
                    dst: 1000 + r.below(7) as u16,
                    syn: proto == 6 && r.below(3) == 0,
                });
                let p = PacketSummary {
                    src,
                    dst,
                    len: 20 + r.below(1480),
                    proto,
                    ports,
                    src_mac: mac(&mut r),
                    dst_mac: mac(&mut r),
                };
                (p, ts)
            })
            .collect()
    }

    /// `n` packets of five flows, in turn.
    fn five_flows(n: usize) -> Vec<(PacketSummary, u64)> {
        let all = traffic(5, 40, 9);
        (0..n)
            .map(|i| (all[i % 5].0, 1_700_000_000 + i as u64))
            .collect()
    }

    fn local() -> LocalNets {
        LocalNets::new(vec!["192.168.0.0/16".parse().unwrap()])
    }

    /// Counts `packets` packet by packet and through a combiner; returns
    /// both documents.
    fn both(limits: Limits, packets: &[(PacketSummary, u64)]) -> [serde_json::Value; 2] {
        both_bounded(limits, packets, true)
    }

    /// [`both`], the combiner told whether the table started empty (else
    /// it reads the port tables' sizes).
    fn both_bounded(
        limits: Limits,
        packets: &[(PacketSummary, u64)],
        from_packets: bool,
    ) -> [serde_json::Value; 2] {
        let mut one = Accounts::new(limits, local());
        let mut combined = Accounts::new(limits, local());
        let mut c = Combiner::new(from_packets, FlowHasher::default());
        for (i, &(p, ts)) in packets.iter().enumerate() {
            one.apply(&Decoded::Ip(p), ts, 60);
            let (mut global, mut hosts) = combined.split();
            global.count(&Decoded::Ip(p), ts, 60);
            c.push_packet(&mut hosts, p, ts);
            // retired flows drained a few at a time, as when the counting
            // thread has nothing else to do, while new flows wait
            if i % 3 == 0 {
                c.drain(&mut hosts, i % 4);
            }
        }
        c.finish(&mut combined.split().1);
        [&one, &combined].map(|a| serde_json::to_value(a.snapshot(&[])).unwrap())
    }

    fn limits(hosts: (usize, usize), ports: (usize, usize), highest_port: u16) -> Limits {
        Limits {
            hosts_max: hosts.0,
            hosts_keep: hosts.1,
            ports_max: ports.0,
            ports_keep: ports.1,
            highest_port,
        }
    }

    /// Combined or not, every counter comes out the same (the hosts in the
    /// same order too): with room for everything (the flow table fills and
    /// is flushed many times, the MAC sequence numbers wrap), with port
    /// tables that fill (hosts turn direct), with a host table that fills
    /// (evictions), with both, with ports above `--highest-port`, and with
    /// no hosts at all.
    #[test]
    fn combining_counts_exactly_like_packet_by_packet() {
        let cases = [
            limits((100_000, 50_000), (65_536, 32_768), 65_535),
            limits((100_000, 50_000), (6, 3), 65_535),
            limits((30, 12), (65_536, 32_768), 65_535),
            limits((30, 12), (4, 1), 1000),
            limits((0, 0), (60, 30), 65_535),
        ];
        for (i, l) in cases.into_iter().enumerate() {
            for n in [0, 1, DEPTH - 1, DEPTH + 1, 3000] {
                for hosts in [3, 40, 200] {
                    let packets = traffic(n, hosts, 7 + i as u64 * 31 + hosts);
                    for from_packets in [true, false] {
                        let [a, b] = both_bounded(l, &packets, from_packets);
                        assert_eq!(a, b, "case {i}, {n} packets, {hosts} hosts");
                    }
                }
            }
        }
    }

    /// A host whose port table filled in an earlier flush: a new flow
    /// of it must see that (here by reading the table, or by its packets'
    /// bound), or the eviction its next new port causes would come at
    /// the flush, after later packets changed the ranking.
    #[test]
    fn a_port_table_filled_by_a_flush_is_seen() {
        let (h, x, g, y) = (
            0xffff_c0a8_0001_u128,
            0xffff_0a00_0001_u128,
            0xffff_c0a8_0002_u128,
            0xffff_0a00_0002_u128,
        );
        let p = |src, dst, sport, len| PacketSummary {
            src,
            dst,
            len,
            proto: 17,
            ports: Some(Ports {
                src: sport,
                dst: 53,
                syn: false,
            }),
            src_mac: None,
            dst_mac: None,
        };
        let mut packets = vec![p(h, x, 1000, 100), p(h, x, 2000, 50)];
        // g's fourth new port turns it direct: everything is flushed
        packets.extend((1..=4).map(|port| p(g, y, port, 10)));
        // h's third port fills its table; the fourth evicts down to the
        // busiest (1000, not 3000: it has 10 bytes then, 1010 later)
        packets.extend([p(h, x, 3000, 10), p(h, x, 4000, 5), p(h, x, 3000, 1000)]);
        let packets: Vec<_> = packets.into_iter().map(|p| (p, 1_700_000_000)).collect();
        let l = limits((100, 50), (3, 1), 65_535);
        for from_packets in [true, false] {
            let [a, b] = both_bounded(l, &packets, from_packets);
            assert_eq!(a, b, "{from_packets}");
        }
    }

    /// The latest MAC wins across flows of the same host, in either
    /// direction, and a packet without one leaves it as it was.
    #[test]
    fn the_latest_mac_wins_across_flows() {
        let (h, peer_a, peer_b) = (
            0xffff_c0a8_0001_u128,
            0xffff_0a00_0001_u128,
            0xffff_0a00_0002,
        );
        let p = |src, dst, sm: Option<u8>, dm: Option<u8>| PacketSummary {
            src,
            dst,
            len: 100,
            proto: 17,
            ports: Some(Ports {
                src: 53,
                dst: 53,
                syn: false,
            }),
            src_mac: sm.map(|m| [2, 0, 0, 0, 0, m]),
            dst_mac: dm.map(|m| [2, 0, 0, 0, 0, m]),
        };
        let packets: Vec<_> = [
            p(h, peer_a, Some(1), Some(9)),
            p(peer_b, h, Some(8), Some(2)),
            p(h, peer_a, Some(3), Some(9)),
            p(h, peer_a, None, None),
            p(peer_b, h, Some(8), None),
        ]
        .into_iter()
        .map(|p| (p, 1_700_000_000))
        .collect();
        let [a, b] = both(limits((100, 50), (60, 30), 65_535), &packets);
        assert_eq!(a, b);
        let host = |doc: &serde_json::Value, ip: &str| {
            doc["hosts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["ip"] == ip)
                .unwrap()["mac"]
                .clone()
        };
        assert_eq!(host(&b, "192.168.0.1"), "02:00:00:00:00:03");
        assert_eq!(host(&b, "10.0.0.2"), "02:00:00:00:00:08");
    }

    /// Packets of known flows are combined: the flow table holds one entry
    /// per flow direction until it is flushed, and a full table is
    /// flushed before the next new flow.
    #[test]
    fn flows_are_combined_until_flushed() {
        let l = limits((100_000, 50_000), (65_536, 32_768), 65_535);
        let mut acct = Accounts::new(l, local());
        let mut c = Combiner::new(true, FlowHasher::default());
        let packets = five_flows(2000);
        for &(p, ts) in &packets {
            c.push_packet(&mut acct.split().1, p, ts);
        }
        let distinct = {
            let mut keys: Vec<_> = packets
                .iter()
                .map(|(p, _)| (p.src, p.dst, p.proto, p.ports.map(|x| (x.src, x.dst))))
                .collect();
            keys.sort();
            keys.dedup();
            keys.len()
        };
        assert!(distinct < CAPACITY, "{distinct} flows");
        assert_eq!(c.flows.len(), distinct);
        c.finish(&mut acct.split().1);
        assert!(c.flows.is_empty());
        // more flows than fit: flushed on the way, all counted
        let many = traffic(3000, 200, 2);
        for &(p, ts) in &many {
            c.push_packet(&mut acct.split().1, p, ts);
        }
        assert!(c.flows.len() <= CAPACITY);
        c.finish(&mut acct.split().1);
        let s = acct.snapshot(&[]);
        let sent: u64 = s.hosts.iter().map(|h| h.packets_out).sum();
        assert_eq!(sent, 5000);
    }

    /// The verdict: paid while few packets take the slow way.
    #[test]
    fn combining_is_judged_per_window() {
        let l = limits((100_000, 50_000), (65_536, 32_768), 65_535);
        let mut acct = Accounts::new(l, local());
        let mut c = Combiner::new(true, FlowHasher::default());
        // five flows over and over: pays (the first window is not judged)
        for &(p, ts) in five_flows(WINDOW as usize + DEPTH).iter() {
            c.push_packet(&mut acct.split().1, p, ts);
        }
        assert_eq!(c.judge(), None);
        for &(p, ts) in five_flows(WINDOW as usize).iter() {
            c.push_packet(&mut acct.split().1, p, ts);
        }
        assert_eq!(c.judge(), Some(true));
        assert_eq!(c.judge(), None, "once per window");
        // every packet a new flow (new hosts): does not pay
        for i in 0..u64::from(WINDOW) {
            let mut p = traffic(1, 2, 4)[0].0;
            p.src = 0xffff_0b00_0000 | u128::from(i);
            c.push_packet(&mut acct.split().1, p, 1_700_000_000);
        }
        assert_eq!(c.judge(), Some(false));
    }
}
