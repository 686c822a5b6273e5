//! The flow table of [`super::combine`]: one direction of a flow (source,
//! destination, protocol, ports) per entry, with the sums of its packets
//! not yet counted into the host table.
//!
//! Entries live in a dense vector in the order they were made (so that a
//! flush counts them in that order); an open-addressing index of 8-byte
//! slots (a 32-bit hash tag and the entry's position) finds them, as the
//! host table's does, so the counting loop can prefetch a slot, then the
//! entry, packets ahead. The hash is seeded per process: peers cannot
//! choose addresses and ports that collide.

use std::hash::{BuildHasher, Hasher};

use super::prefetch::{line, lines};
use super::slots;
use super::Amount;
use crate::decode::{PacketSummary, Ports};

/// The flow's packets carry ports.
const PORTS: u8 = 1;
/// The source's side is combined here (else counted packet by packet).
pub const SRC: u8 = 2;
/// The destination's side is combined here.
pub const DST: u8 = 4;

/// One direction of a flow and what its packets add, not yet counted.
/// Laid out by hand: 96 bytes, key first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(32))]
pub struct Flow {
    pub src: u128,
    pub dst: u128,
    pub bytes: u64,
    pub packets: u64,
    /// Time of the latest packet.
    pub last_ts: u64,
    /// Positions of source and destination in the host table.
    pub at: [u32; 2],
    /// SYN packets (saturating).
    pub syns: u32,
    /// Sequence numbers of the latest packets that carried a source and a
    /// destination MAC (`Combiner`); 0 when none did.
    pub src_seq: u32,
    pub dst_seq: u32,
    sport: u16,
    dport: u16,
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub proto: u8,
    /// [`PORTS`], [`SRC`], [`DST`].
    pub flags: u8,
}

const _: () = assert!(std::mem::size_of::<Flow>() == 96);

impl Flow {
    /// The flow of `p`, between the hosts at `at`, combining the sides in
    /// `sides` ([`SRC`], [`DST`]), with nothing added yet.
    pub fn new(p: &PacketSummary, at: [u32; 2], sides: u8) -> Flow {
        let (sport, dport, ports) = match p.ports {
            Some(pt) => (pt.src, pt.dst, PORTS),
            None => (0, 0, 0),
        };
        Flow {
            src: p.src,
            dst: p.dst,
            at,
            sport,
            dport,
            proto: p.proto,
            flags: ports | (sides & (SRC | DST)),
            ..Flow::default()
        }
    }

    /// Whether `p` belongs to this flow (its SYN flag aside).
    #[inline]
    fn is(&self, p: &PacketSummary) -> bool {
        let ports = match p.ports {
            Some(pt) => self.flags & PORTS != 0 && self.sport == pt.src && self.dport == pt.dst,
            None => self.flags & PORTS == 0,
        };
        ports && self.src == p.src && self.dst == p.dst && self.proto == p.proto
    }

    /// The ports, as the flow's packets carry them (without SYN).
    pub fn ports(&self) -> Option<Ports> {
        (self.flags & PORTS != 0).then_some(Ports {
            src: self.sport,
            dst: self.dport,
            syn: false,
        })
    }

    /// What the flow's packets add to each of its two hosts.
    pub fn amount(&self) -> Amount {
        Amount {
            bytes: self.bytes,
            packets: self.packets,
            syns: self.syns,
        }
    }

    /// Adds packet `p` at time `ts`; `seq` orders its MACs among all
    /// packets (the destination's is `seq + 1`, so that on a host talking
    /// to itself the destination's MAC wins, as §7 says).
    #[inline]
    pub fn add(&mut self, p: &PacketSummary, ts: u64, seq: u32) {
        self.bytes += p.len;
        self.packets += 1;
        if p.ports.is_some_and(|pt| pt.syn) {
            self.syns = self.syns.saturating_add(1);
        }
        self.last_ts = self.last_ts.max(ts);
        if let Some(m) = p.src_mac {
            self.src_mac = m;
            self.src_seq = seq;
        }
        if let Some(m) = p.dst_mac {
            self.dst_mac = m;
            self.dst_seq = seq + 1;
        }
    }
}

/// No flow: what [`Flows::candidate`] returns for an absent one.
pub const NO_FLOW: u32 = u32::MAX;

/// Flows kept before the table is retired (`combine`): 6 MiB of entries,
/// twice (the retired table is counted while the next one fills), and
/// 1 MiB of index. Small in tests, so that they fill it.
pub const CAPACITY: usize = if cfg!(test) { 256 } else { 1 << 16 };

pub struct Flows {
    /// `tag << 32 | (position + 1)`, 0 for an empty slot; twice
    /// [`CAPACITY`], so at most half full.
    index: Box<[u64]>,
    flows: Vec<Flow>,
    /// An empty vector with room for a table, for the next [`Flows::take`].
    spare: Vec<Flow>,
    hasher: FlowHasher,
}

/// 64 × 64 → 128-bit multiply, folded: every input bit reaches every
/// output bit (foldhash's mixing step).
#[inline(always)]
fn fold(a: u64, b: u64) -> u64 {
    let m = u128::from(a) * u128::from(b);
    (m as u64) ^ ((m >> 64) as u64)
}

/// The seeded hash of a flow's key, shared with the reading thread
/// (`worker`), which hashes each packet's flow for the counting thread.
#[derive(Clone, Copy, Debug)]
pub struct FlowHasher([u64; 5]);

impl Default for FlowHasher {
    fn default() -> Self {
        // the per-process random source of the host table's hasher
        let random = hashbrown::DefaultHashBuilder::default();
        FlowHasher([1u64, 2, 3, 4, 5].map(|i| {
            let mut h = random.build_hasher();
            h.write_u64(i);
            h.finish()
        }))
    }
}

impl FlowHasher {
    /// The hash of `p`'s flow.
    #[inline]
    pub fn hash(&self, p: &PacketSummary) -> u64 {
        self.hash_of(p.src, p.dst, p.proto, p.ports.map(|pt| (pt.src, pt.dst)))
    }

    #[inline]
    fn hash_of(&self, src: u128, dst: u128, proto: u8, ports: Option<(u16, u16)>) -> u64 {
        let k = &self.0;
        let a = fold(src as u64 ^ k[0], (src >> 64) as u64 ^ k[1]);
        let b = fold(dst as u64 ^ k[2], (dst >> 64) as u64 ^ k[3]);
        let rest = match ports {
            Some((s, d)) => u64::from(s) | u64::from(d) << 16 | 1 << 40,
            None => 0,
        } | u64::from(proto) << 32;
        fold(a ^ rest ^ k[4], b ^ k[0])
    }
}

impl Flows {
    /// An empty table whose flows are hashed by `hasher`.
    pub fn new(hasher: FlowHasher) -> Self {
        Flows {
            index: vec![0; 2 * CAPACITY].into_boxed_slice(),
            flows: Vec::with_capacity(CAPACITY),
            spare: Vec::new(),
            hasher,
        }
    }

    #[cfg(test)]
    pub fn hasher(&self) -> &FlowHasher {
        &self.hasher
    }

    /// Prefetch stage 1: the index slot where the search for `h` starts.
    #[inline]
    pub fn prefetch_slot(&self, h: u64) {
        line(slots::start(&self.index, h));
    }

    /// Positions whose tag matches `h`, in probe order, until an empty slot.
    #[inline]
    fn probe(&self, h: u64) -> impl Iterator<Item = u32> + '_ {
        slots::probe(&self.index, h)
    }

    /// Prefetch stage 2: the position of the first flow whose tag matches
    /// `h` ([`NO_FLOW`] if none), a guess that [`Flows::find`] checks.
    #[inline]
    pub fn candidate(&self, h: u64) -> u32 {
        self.probe(h).next().unwrap_or(NO_FLOW)
    }

    /// Starts loading both lines of the flow at `pos`, if any.
    #[inline]
    pub fn prefetch_flow(&self, pos: u32) {
        if let Some(f) = self.flows.get(pos as usize) {
            lines(f);
        }
    }

    /// The position of `p`'s flow (hash `h`, probably at `guess`).
    #[inline]
    pub fn find(&self, h: u64, p: &PacketSummary, guess: u32) -> Option<u32> {
        if self.flows.get(guess as usize).is_some_and(|f| f.is(p)) {
            return Some(guess);
        }
        self.probe(h).find(|&i| self.flows[i as usize].is(p))
    }

    /// The flow at `pos`, if there is one (a guess from
    /// [`Flows::candidate`]: maybe not the packet's flow).
    #[inline]
    pub fn get(&self, pos: u32) -> Option<&Flow> {
        self.flows.get(pos as usize)
    }

    pub fn get_mut(&mut self, pos: u32) -> &mut Flow {
        &mut self.flows[pos as usize]
    }

    pub fn is_full(&self) -> bool {
        self.flows.len() >= CAPACITY
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    /// Adds a flow (hash `h`) known to be absent, while not full; returns
    /// its position.
    pub fn insert(&mut self, h: u64, flow: Flow) -> u32 {
        debug_assert!(!self.is_full());
        let pos = self.flows.len() as u32;
        self.flows.push(flow);
        slots::insert(&mut self.index, h, pos);
        pos
    }

    /// Every flow, in the order they were made.
    pub fn all(&self) -> &[Flow] {
        &self.flows
    }

    /// Forgets every flow (counted by the caller); the vector keeps its
    /// room.
    pub fn clear(&mut self) {
        self.clear_index();
        self.flows.clear();
    }

    /// Every flow, in the order they were made; the table is empty
    /// afterwards (with the room of the vector last given back).
    pub fn take(&mut self) -> Vec<Flow> {
        self.clear_index();
        let fresh = match self.spare.capacity() >= CAPACITY {
            true => std::mem::take(&mut self.spare),
            false => Vec::with_capacity(CAPACITY),
        };
        std::mem::replace(&mut self.flows, fresh)
    }

    /// Empties the index of the flows in the table.
    fn clear_index(&mut self) {
        if self.flows.len() * 8 >= self.index.len() {
            self.index.fill(0);
        } else {
            // a flush forced early (`combine`): clear only the slots in use
            for (pos, f) in self.flows.iter().enumerate() {
                let ports = f.ports().map(|p| (p.src, p.dst));
                let h = self.hasher.hash_of(f.src, f.dst, f.proto, ports);
                slots::remove(&mut self.index, h, pos as u32);
            }
        }
    }

    /// Returns a vector from [`Flows::take`], its flows counted, so that
    /// its room is reused.
    pub fn give_back(&mut self, mut flows: Vec<Flow>) {
        flows.clear();
        if flows.capacity() >= CAPACITY {
            self.spare = flows;
        }
    }
}
