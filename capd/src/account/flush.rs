//! Counting combined flows into their hosts (`combine`'s flushes): each
//! flow adds its sums to the sides it combines, in the order the flows
//! were made.
//!
//! The last flush of a file is counted by two threads at once: the
//! reading thread has nothing left to do then, and a flush of tens of
//! thousands of flows takes tens of milliseconds (17–20 ms on the
//! benchmark capture, BENCHMARKS.md). Counting a side touches only its
//! own host (its counters, MAC and port entries), so the table is split
//! by position: each thread takes every flow in order and counts the
//! sides whose hosts are in its half. A host's sides are then counted in
//! the same order as by one thread, and so come out the same.

use std::thread;

use super::flows::{Flow, DST, SRC};
use super::hosts::{Half, Host, HostTable, DIRECT};
use super::prefetch::lines;
use super::{add_received, add_sent, Limits};
use crate::decode::PacketSummary;

/// Flows ahead whose hosts a flush prefetches, and whose port entries.
const HOSTS_AHEAD: usize = 8;
const ENTRIES_AHEAD: usize = 4;
/// Flows from which a last flush is worth a second thread (small in
/// tests, so that they take that way).
const TWO_THREADS_AT: usize = if cfg!(test) { 16 } else { 4096 };

/// Where a flush finds the hosts of a flow's sides: the whole table, or
/// one [`Half`] of it (`None` for a host of the other half).
pub(super) trait FlowHosts {
    fn at(&self, pos: u32) -> Option<&Host>;
    fn touch(&mut self, pos: u32) -> Option<&mut Host>;
}

impl FlowHosts for HostTable {
    #[inline]
    fn at(&self, pos: u32) -> Option<&Host> {
        HostTable::at(self, pos)
    }

    #[inline]
    fn touch(&mut self, pos: u32) -> Option<&mut Host> {
        Some(HostTable::touch(self, pos))
    }
}

impl FlowHosts for Half<'_> {
    #[inline]
    fn at(&self, pos: u32) -> Option<&Host> {
        Half::at(self, pos)
    }

    #[inline]
    fn touch(&mut self, pos: u32) -> Option<&mut Host> {
        Half::touch(self, pos)
    }
}

/// Counts the first `n` of `flows` into `hosts` (the flows after them
/// are prefetched for the next call); returns the port entries evicted.
pub(super) fn count_flows<H: FlowHosts>(
    limits: &Limits,
    hosts: &mut H,
    flows: &[Flow],
    n: usize,
) -> u64 {
    let mut evicted = 0;
    for (i, f) in flows.iter().take(n).enumerate() {
        if let Some(ahead) = flows.get(i + HOSTS_AHEAD) {
            for &pos in &ahead.at {
                if let Some(h) = hosts.at(pos) {
                    lines(h);
                }
            }
        }
        if let Some(ahead) = flows.get(i + ENTRIES_AHEAD) {
            prefetch_entries(&*hosts, ahead);
        }
        evicted += count_flow(limits, hosts, f);
    }
    evicted
}

/// Counts every flow of `lists`, in order, into `table`; returns the port
/// entries evicted. With `two_threads` (the last flush of a file: the
/// reader has nothing left to do) and many flows, on this thread and a
/// second one (see the module text).
pub(super) fn count_all(
    limits: &Limits,
    table: &mut HostTable,
    lists: [&[Flow]; 2],
    two_threads: bool,
) -> u64 {
    let total: usize = lists.iter().map(|l| l.len()).sum();
    if !two_threads || total < TWO_THREADS_AT {
        return lists
            .iter()
            .map(|l| count_flows(limits, table, l, l.len()))
            .sum();
    }
    let [mut low, mut high] = table.halves(middle(lists, table.len()));
    let count = |half: &mut Half<'_>| -> u64 {
        lists
            .iter()
            .map(|l| count_flows(limits, half, l, l.len()))
            .sum()
    };
    let (mine, theirs) = thread::scope(|s| {
        let other = thread::Builder::new()
            .name("account-flush".into())
            .spawn_scoped(s, || count(&mut high));
        let mine = count(&mut low);
        let theirs = other.ok().map(|h| match h.join() {
            Ok(n) => n,
            Err(panic) => std::panic::resume_unwind(panic),
        });
        (mine, theirs)
    });
    // no second thread: the other half here too
    let theirs = theirs.unwrap_or_else(|| count(&mut high));
    let changed = [low.into_changed(), high.into_changed()];
    table.rejoin(changed);
    mine + theirs
}

/// The host position that splits the work of counting `lists` into two
/// about equal parts, in a table of `hosts` hosts. A host's first side
/// costs about what six further sides cost (its line and tables come
/// from memory: on the benchmark capture, whose busy hosts have thousands
/// of sides a flush and the others a few, 580 ns against 90 ns), so a
/// host weighs its sides plus six.
fn middle(lists: [&[Flow]; 2], hosts: usize) -> usize {
    let mut sides = vec![0u32; hosts];
    for f in lists.iter().flat_map(|l| l.iter()) {
        for (side, pos) in [(SRC, f.at[0]), (DST, f.at[1])] {
            if f.flags & side != 0 {
                if let Some(n) = sides.get_mut(pos as usize) {
                    *n += 1;
                }
            }
        }
    }
    let weight = |n: u32| match n {
        0 => 0,
        n => u64::from(n) + 6,
    };
    let total: u64 = sides.iter().map(|&n| weight(n)).sum();
    let mut below = 0;
    for (pos, &n) in sides.iter().enumerate() {
        if below * 2 >= total {
            return pos;
        }
        below += weight(n);
    }
    hosts
}

/// Counts the combined sides of `f` whose hosts `hosts` has.
#[inline]
fn count_flow<H: FlowHosts>(limits: &Limits, hosts: &mut H, f: &Flow) -> u64 {
    let a = f.amount();
    let ports = f.ports();
    // as `Combiner::start_flow` added to each combined side
    let need = if f.src == f.dst { 2 } else { 1 };
    let mut evicted = 0;
    if f.flags & SRC != 0 {
        if let Some(s) = hosts.touch(f.at[0]) {
            s.last_seen = s.last_seen.max(f.last_ts);
            settle(s, f.src_mac, f.src_seq, need);
            evicted += add_sent(limits, s, a, f.proto, ports);
        }
    }
    if f.flags & DST != 0 {
        if let Some(d) = hosts.touch(f.at[1]) {
            settle(d, f.dst_mac, f.dst_seq, need);
            evicted += add_received(limits, d, a, f.proto, ports);
        }
    }
    evicted
}

/// What a combined side takes from its flow besides the counts: the
/// flow's MAC for it if that is the later one (`seq`), and its flow's
/// share of `pending` back.
#[inline]
fn settle(h: &mut Host, mac: [u8; 6], seq: u32, need: u32) {
    if seq > h.mac_seq {
        h.mac = Some(mac);
        h.mac_seq = seq;
    }
    debug_assert!(h.pending & !DIRECT >= need);
    h.pending -= need;
}

/// The protocol and port slots counting `f` will touch, in the hosts
/// `hosts` has.
#[inline]
fn prefetch_entries<H: FlowHosts>(hosts: &H, f: &Flow) {
    let p = PacketSummary {
        src: f.src,
        dst: f.dst,
        proto: f.proto,
        ports: f.ports(),
        ..PacketSummary::EMPTY
    };
    super::prefetch::entries_of(&p, f.at.map(|pos| hosts.at(pos)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Ports;

    const LIMITS: Limits = Limits {
        hosts_max: 100_000,
        hosts_keep: 50_000,
        ports_max: 65_536,
        ports_keep: 32_768,
        highest_port: 65_535,
    };

    /// A table of `hosts` hosts and `n` flows among them (now and then a
    /// host talking to itself), each of a few packets with MACs, their
    /// sides waiting as `Combiner::start_flow` leaves them.
    fn table_and_flows(hosts: u32, n: usize) -> (HostTable, Vec<Flow>) {
        let mut table = HostTable::new(LIMITS.hosts_max, LIMITS.hosts_keep);
        let key = |i: u32| 0xffff_0a00_0000_u128 | u128::from(i);
        for i in 0..hosts {
            table.get_or_insert(key(i));
        }
        let mut r = 0x9e37_79b9_u64;
        let mut next = move |n: u32| {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            (r % u64::from(n)) as u32
        };
        let mut seq = 0;
        let flows = (0..n)
            .map(|_| {
                let (a, b) = (next(hosts), next(hosts));
                // a few busy hosts
                let a = if next(4) == 0 { a % 3 } else { a };
                let b = if next(10) == 0 { a } else { b };
                let p = PacketSummary {
                    src: key(a),
                    dst: key(b),
                    len: 60 + u64::from(next(1400)),
                    proto: [6, 17, 1][next(3) as usize],
                    ports: (next(5) > 0).then(|| Ports {
                        src: next(7) as u16,
                        dst: 1000 + next(40) as u16,
                        syn: next(3) == 0,
                    }),
                    src_mac: Some([2, 0, 0, 0, 0, next(9) as u8]),
                    dst_mac: (next(2) == 0).then_some([2, 0, 0, 0, 1, next(9) as u8]),
                };
                let mut f = Flow::new(&p, [a, b], SRC | DST);
                for _ in 0..=next(3) {
                    seq += 2;
                    f.add(&p, 1_700_000_000 + u64::from(seq), seq);
                }
                let need = if a == b { 2 } else { 1 };
                for pos in [a, b] {
                    table.touch(pos).pending += need;
                }
                f
            })
            .collect();
        // as after a publication: nothing listed as changed yet
        table.take_changed(|_| {});
        (table, flows)
    }

    /// Every host's counters, MAC, waiting sides and entries (in their
    /// order), by position.
    fn hosts(table: &HostTable) -> Vec<String> {
        (0..table.len() as u32)
            .map(|pos| {
                let h = table.at(pos).unwrap();
                let entries: Vec<_> = h.entries.iter().map(|(k, n, e)| (k, n, *e)).collect();
                format!(
                    "{} {} {} {} {} {} {:?} {} {} {entries:?}",
                    h.key,
                    h.bytes_in,
                    h.bytes_out,
                    h.packets_in,
                    h.packets_out,
                    h.last_seen,
                    h.mac,
                    h.mac_seq,
                    h.pending
                )
            })
            .collect()
    }

    /// The keys of the hosts listed as changed, each once.
    fn changed(table: &mut HostTable) -> Vec<u128> {
        let mut keys = Vec::new();
        table.take_changed(|h| keys.push(h.key));
        let listed = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), listed, "a host listed twice");
        keys
    }

    /// Split between two threads (by host position), the flows count
    /// exactly what one thread counts, in two lists or one, and every
    /// host touched is listed as changed once.
    #[test]
    fn two_threads_count_what_one_counts() {
        for n in [0, 1, TWO_THREADS_AT - 1, TWO_THREADS_AT, 500, 3000] {
            let (mut one, flows) = table_and_flows(200, n);
            let (mut two, _) = table_and_flows(200, n);
            let evicted = count_flows(&LIMITS, &mut one, &flows, flows.len());
            let (first, rest) = flows.split_at(n / 3);
            assert_eq!(count_all(&LIMITS, &mut two, [first, rest], true), evicted);
            assert_eq!(hosts(&one), hosts(&two), "{n} flows");
            assert_eq!(changed(&mut one), changed(&mut two), "{n} flows");
            // every waiting side was counted
            assert!((0..two.len() as u32).all(|pos| two.at(pos).unwrap().pending == 0));
        }
    }

    /// The split leaves about half of the work to each thread: as many
    /// sides when every host has one, fewer to the half of busy hosts.
    #[test]
    fn the_middle_splits_the_work_in_two() {
        let flow = |a: u32, b: u32| Flow::new(&PacketSummary::EMPTY, [a, b], SRC | DST);
        // 100 hosts, one side each (weight 7): half of them below
        let flows: Vec<Flow> = (0..50).map(|i| flow(2 * i, 2 * i + 1)).collect();
        assert_eq!(middle([&flows[..10], &flows[10..]], 100), 50);
        // host 0 has 100 sides (weight 106), hosts 1..=100 one each (7
        // each): host 0 and 43 others (407 of 806) below
        let flows: Vec<Flow> = (1..=100).map(|i| flow(0, i)).collect();
        assert_eq!(middle([&flows, &[]], 101), 44);
        // a side not combined is not counted here
        let mut f = flow(0, 1);
        f.flags &= !SRC;
        assert_eq!(middle([&[f], &[]], 2), 2);
        assert_eq!(middle([&[], &[]], 0), 0);
        assert_eq!(middle([&[], &[]], 5), 0);
    }
}
