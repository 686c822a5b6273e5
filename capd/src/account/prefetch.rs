//! Software prefetching for the capture loop. Accounting a packet is a
//! chain of dependent cache misses: the host index slot, then the host,
//! then its port slots. Done one packet at a time the CPU waits for each
//! in turn (~100 ns apiece once the tables outgrow the caches). So packets
//! go through a short [`Pipeline`]: each stage runs a few packets after the
//! previous one, when what it needs has arrived, and starts loading what
//! the next stage needs:
//!
//! 1. on arrival: hash both addresses, prefetch their index slots;
//! 2. [`HOSTS_AT`] packets later: read the index slots, guess both hosts'
//!    positions, prefetch the hosts;
//! 3. [`ENTRIES_AT`] packets later: read the hosts' table pointers,
//!    prefetch the port and protocol slots;
//! 4. [`DEPTH`] packets later: account the packet, everything in cache.
//!
//! Prefetching is only a hint and the guesses are checked when the packet
//! is accounted: a wrong guess (a host inserted or evicted in between)
//! costs time, never a wrong counter. Packets are accounted exactly in
//! arrival order.

use super::entries::Kind;
use super::hosts::{Host, NO_HOST};
use super::worker::Share;
use super::{kinds, HostPart};
use crate::decode::PacketSummary;

/// Packets in flight: how many the loop decodes ahead of the one it
/// accounts.
pub const DEPTH: usize = 16;
/// Age at which the hosts are prefetched.
const HOSTS_AT: usize = 5;
/// Age at which the hosts' tables are prefetched.
const ENTRIES_AT: usize = 10;

/// Asks the CPU to start loading the cache line at `p`.
#[inline(always)]
pub(super) fn line<T>(p: &T) {
    line_at((p as *const T).cast::<u8>());
}

/// Starts loading the first and the last cache line of `x`: all of a
/// value of at most 64 bytes, or of one of 96 bytes at a multiple of 32.
#[inline(always)]
pub(super) fn lines<T>(x: &T) {
    let first = (x as *const T).cast::<u8>();
    line_at(first);
    line_at(first.wrapping_add(std::mem::size_of::<T>() - 1));
}

/// Asks the CPU to start loading the cache line holding address `p`; any
/// address is allowed, it is never dereferenced.
#[inline(always)]
pub(super) fn line_at(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 is a hint that never faults and never writes,
    // whatever the address.
    unsafe {
        core::arch::x86_64::_mm_prefetch(p.cast::<i8>(), core::arch::x86_64::_MM_HINT_T0)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// A packet waiting in the pipeline, with what the stages found out.
#[derive(Clone, Copy)]
struct InFlight {
    p: PacketSummary,
    ts: u64,
    /// Hashes of source and destination.
    hash: [u64; 2],
    /// Guessed positions of source and destination host.
    guess: [u32; 2],
    /// Whether source and destination are counted here (see [`Share`]).
    mine: [bool; 2],
}

const IDLE: InFlight = InFlight {
    p: PacketSummary::EMPTY,
    ts: 0,
    hash: [0; 2],
    guess: [NO_HOST; 2],
    mine: [false; 2],
};

/// The IP packets between decoding and counting them per host (see the
/// module text); everything else about a packet is counted when it is
/// decoded ([`super::GlobalPart`]).
pub struct Pipeline {
    share: Share,
    ring: [InFlight; DEPTH],
    /// Packets pushed so far; packet `n` lives in `ring[n % DEPTH]`.
    pushed: usize,
    /// Packets accounted so far.
    done: usize,
}

impl Default for Pipeline {
    fn default() -> Self {
        Pipeline::new(Share::All)
    }
}

impl Pipeline {
    /// A pipeline that counts the hosts of `share` only.
    pub fn new(share: Share) -> Self {
        Pipeline {
            share,
            ring: [IDLE; DEPTH],
            pushed: 0,
            done: 0,
        }
    }

    /// Counts every host from now on (the table is whole again). Packets
    /// already in flight keep the sides they had.
    pub fn count_all(&mut self) {
        self.share = Share::All;
    }

    /// Adds an IP packet (unless neither of its hosts is in this
    /// pipeline's share); counts the one pushed [`DEPTH`] packets earlier,
    /// if any.
    #[inline]
    pub fn push(&mut self, hosts: &mut HostPart<'_>, p: PacketSummary, ts: u64) {
        let hash = [hosts.hash(p.src), hosts.hash(p.dst)];
        self.push_hashed(hosts, p, ts, hash);
    }

    /// [`Pipeline::push`] with the addresses' hashes already computed
    /// (`HostPart::hash` of source and destination).
    #[inline]
    pub fn push_hashed(
        &mut self,
        hosts: &mut HostPart<'_>,
        p: PacketSummary,
        ts: u64,
        hash: [u64; 2],
    ) {
        let mine = hash.map(|h| self.share.owns(h));
        if mine == [false; 2] {
            return;
        }
        let n = self.pushed;
        if n - self.done == DEPTH {
            self.account_oldest(hosts);
        }
        for (h, _) in hash.iter().zip(mine).filter(|&(_, m)| m) {
            hosts.hosts.prefetch_index(*h);
        }
        self.ring[n % DEPTH] = InFlight {
            p,
            ts,
            hash,
            guess: [NO_HOST; 2],
            mine,
        };
        self.pushed = n + 1;
        if n >= HOSTS_AT && n - HOSTS_AT >= self.done {
            let q = &mut self.ring[(n - HOSTS_AT) % DEPTH];
            // a side counted elsewhere has no guess, so stage 3 skips it
            q.guess = [0, 1].map(|i| {
                if q.mine[i] {
                    hosts.hosts.candidate(q.hash[i])
                } else {
                    NO_HOST
                }
            });
            q.guess.iter().for_each(|&g| hosts.hosts.prefetch_host(g));
        }
        if n >= ENTRIES_AT && n - ENTRIES_AT >= self.done {
            let q = &self.ring[(n - ENTRIES_AT) % DEPTH];
            hosts.prefetch_entries(&q.p, q.guess);
        }
    }

    /// Counts every packet still in flight, in order (end of input, or
    /// before the counters are read).
    pub fn flush(&mut self, hosts: &mut HostPart<'_>) {
        while self.done < self.pushed {
            self.account_oldest(hosts);
        }
    }

    #[inline]
    fn account_oldest(&mut self, hosts: &mut HostPart<'_>) {
        let q = &self.ring[self.done % DEPTH];
        hosts.count(&q.p, q.ts, q.hash.map(Some), q.guess, q.mine);
        self.done += 1;
    }
}

impl HostPart<'_> {
    /// Stage 3: the protocol and port slots of both (guessed) hosts.
    #[inline]
    pub(super) fn prefetch_entries(&self, p: &PacketSummary, guess: [u32; 2]) {
        entries_of(p, guess.map(|g| self.hosts.at(g)));
    }
}

/// The protocol and port slots that counting `p` touches in its source's
/// and destination's tables (`hosts`, either unknown).
#[inline]
pub(super) fn entries_of(p: &PacketSummary, hosts: [Option<&Host>; 2]) {
    let proto = (Kind::Proto, u16::from(p.proto));
    let (local, remote) = kinds(p.proto);
    let ports = p.ports.map(|pt| [pt.src, pt.dst]);
    for (i, host) in hosts.into_iter().enumerate() {
        let Some(h) = host else { continue };
        match ports {
            // the source's local port is the packet's source port, the
            // destination's its destination port
            Some(pt) => h
                .entries
                .prefetch(&[proto, (local, pt[i]), (remote, pt[1 - i])]),
            None => h.entries.prefetch(&[proto]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_frames::frame;
    use super::*;
    use crate::account::{Accounts, Limits};
    use crate::decode::{self, Decoded, LinkType};
    use common::net::LocalNets;

    /// The pipeline must count exactly what packet-at-a-time accounting
    /// counts, also across evictions (which move hosts under the guesses)
    /// and with fewer packets than its depth.
    #[test]
    fn pipeline_counts_like_one_at_a_time() {
        let limits = Limits {
            hosts_max: 40,
            hosts_keep: 13,
            ports_max: 9,
            ports_keep: 4,
            highest_port: 65535,
        };
        let local = LocalNets::new(vec!["192.168.0.0/16".parse().unwrap()]);
        for n in [0usize, 1, 3, DEPTH - 1, DEPTH, DEPTH + 1, 5000] {
            let mut one = Accounts::new(limits, local.clone());
            let mut piped = Accounts::new(limits, local.clone());
            let mut pipe = Pipeline::default();
            for i in 0..n {
                let f = frame(
                    (i * 7 % 101) as u8,
                    (i * 13 % 67) as u8,
                    6,
                    1000 + (i % 23) as u16,
                    (i % 11) as u16,
                );
                let d = if i % 97 == 5 {
                    Decoded::NonIp
                } else {
                    decode::frame(LinkType::Ethernet, &f, 60)
                };
                let ts = 1_700_000_000 + i as u64 / 10;
                one.apply(&d, ts, 60);
                let (mut global, mut hosts) = piped.split();
                global.count(&d, ts, 60);
                if let Decoded::Ip(p) = d {
                    pipe.push(&mut hosts, p, ts);
                }
            }
            pipe.flush(&mut piped.split().1);
            let a = serde_json::to_value(one.snapshot(&[])).unwrap();
            let b = serde_json::to_value(piped.snapshot(&[])).unwrap();
            assert_eq!(a, b, "{n} packets");
        }
    }
}
