//! One host's port and protocol tables, kept in a single compact vector.
//!
//! Most hosts on a busy gateway are seen a few times and have one or two
//! ports and one protocol; four hash maps per host would cost more than the
//! host itself. So all five tables share one vector of (key, counters)
//! slots, keyed by (table, number), searched linearly while small and moved
//! into an open-addressing table once they grow past [`LARGE_AT`] entries.
//! A small vector is a few cache lines the capture loop can prefetch whole.

/// Which table an entry belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    TcpLocal = 0,
    TcpRemote = 1,
    UdpLocal = 2,
    UdpRemote = 3,
    Proto = 4,
}

/// Counters of one port or protocol of one host, with the key that finds
/// it: the key fills what would be padding after `syn`, so an entry is 40
/// bytes and a lookup touches one or two cache lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Entry {
    /// (kind << 16 | number), or `EMPTY` in a free slot of a large table.
    key: u32,
    /// Connection attempts (TCP only); saturates rather than wraps.
    pub syn: u32,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub packets_in: u64,
    pub packets_out: u64,
}

impl Entry {
    pub fn bytes_total(&self) -> u64 {
        self.bytes_in.saturating_add(self.bytes_out)
    }
    pub fn packets_total(&self) -> u64 {
        self.packets_in.saturating_add(self.packets_out)
    }

    fn new(key: u32) -> Entry {
        Entry {
            key,
            ..Entry::default()
        }
    }

    fn kind(&self) -> u8 {
        key_kind(self.key)
    }

    fn number(&self) -> u16 {
        self.key as u16
    }
}

fn key(kind: Kind, number: u16) -> u32 {
    (u32::from(kind as u8) << 16) | u32::from(number)
}

fn key_kind(key: u32) -> u8 {
    (key >> 16) as u8
}

/// Entries past which a host's tables move into an open-addressing table:
/// up to here a linear search over at most 5 cache lines is as fast as a
/// hash, and the capture loop can prefetch them all.
const LARGE_AT: usize = 8;

/// Keys are (kind << 16 | number) with kind ≤ 4, so this is never a key.
const EMPTY: u32 = u32::MAX;
// nor is its kind one (`Entries::slots_by_kind` relies on it)
const _: () = assert!(EMPTY >> 16 > Kind::Proto as u32);

/// Starts loading both lines an entry may straddle.
#[inline(always)]
fn prefetch_entry(e: &Entry) {
    super::prefetch::lines(e);
}

/// Linear probing over a power-of-two array, at most half full, so that
/// the search for a new key (every new flow adds one) ends after one or
/// two slots. The keys of one host are at most 4 × 65536 + 256, chosen by
/// its peers; the multiplicative hash spreads consecutive ports. The
/// table's own counts live in one more slot after the table: a host holds
/// only the pointer, which keeps it at 96 bytes (two cache lines, and 16
/// bytes less per host on a table of a million).
struct Large {
    /// A power of two of slots, then the header (`Large::header`).
    slots: Box<[Entry]>,
}

#[inline]
fn slot_of(key: u32, mask: usize) -> usize {
    // Fibonacci hashing: the high bits of the product are the well-mixed ones.
    ((u64::from(key).wrapping_mul(0x9e37_79b9_7f4a_7c15)) >> 32) as usize & mask
}

impl Large {
    fn with_capacity(n: usize) -> Large {
        let cap = (n * 2).next_power_of_two().max(32);
        // the header starts with no entries; its key is never probed
        Large {
            slots: vec![Entry::new(EMPTY); cap + 1].into_boxed_slice(),
        }
    }

    /// Slots of the table proper.
    #[inline]
    fn cap(&self) -> usize {
        self.slots.len() - 1
    }

    #[inline]
    fn table(&self) -> &[Entry] {
        &self.slots[..self.cap()]
    }

    /// The header: the number of entries in `syn`, the entries per port
    /// table (so that a full table is noticed without a scan) two by two in
    /// `bytes_in` and `bytes_out`.
    fn header(&self) -> &Entry {
        &self.slots[self.cap()]
    }

    fn len(&self) -> usize {
        self.header().syn as usize
    }

    /// Entries in port table `kind` (0..4).
    fn count(&self, kind: usize) -> usize {
        let h = self.header();
        let pair = if kind < 2 { h.bytes_in } else { h.bytes_out };
        (pair >> (32 * (kind % 2)) & 0xffff_ffff) as usize
    }

    /// Counts one more entry, of `kind`.
    fn counted(&mut self, kind: u8) {
        let cap = self.cap();
        let h = &mut self.slots[cap];
        h.syn += 1;
        let one = 1u64 << (32 * (kind % 2));
        match kind {
            0 | 1 => h.bytes_in += one,
            2 | 3 => h.bytes_out += one,
            _ => {}
        }
    }

    #[inline]
    fn find(&self, key: u32) -> Option<usize> {
        let mask = self.cap() - 1;
        let mut i = slot_of(key, mask);
        loop {
            let k = self.slots[i].key;
            if k == key {
                return Some(i);
            }
            if k == EMPTY {
                return None;
            }
            i = (i + 1) & mask;
        }
    }

    /// Inserts an entry whose key is known to be absent; returns its slot.
    fn insert(&mut self, entry: Entry) -> usize {
        if (self.len() + 1) * 2 > self.cap() {
            let mut bigger = Large::with_capacity(self.cap());
            for e in self.table().iter().filter(|e| e.key != EMPTY) {
                bigger.insert(*e);
            }
            *self = bigger;
        }
        let mask = self.cap() - 1;
        let mut i = slot_of(entry.key, mask);
        while self.slots[i].key != EMPTY {
            i = (i + 1) & mask;
        }
        self.slots[i] = entry;
        self.counted(entry.kind());
        i
    }
}

/// One host's five tables.
enum Store {
    Small(Vec<Entry>),
    Large(Large),
}

pub struct Entries {
    store: Store,
}

impl Default for Entries {
    fn default() -> Self {
        Entries {
            store: Store::Small(Vec::new()),
        }
    }
}

/// Iterator over a host's entries, whichever way they are stored.
pub struct EntryIter<'a>(std::slice::Iter<'a, Entry>);

impl<'a> Iterator for EntryIter<'a> {
    type Item = (u8, u16, &'a Entry);

    fn next(&mut self) -> Option<Self::Item> {
        self.0
            .find(|e| e.key != EMPTY)
            .map(|e| (e.kind(), e.number(), e))
    }
}

/// Grows a vector by half, not double: most hosts stay tiny. A TCP/UDP
/// packet gives a new host three entries at once (protocol, local and
/// remote port), so the first allocation has room for three.
fn grow<T>(v: &mut Vec<T>) {
    if v.len() == v.capacity() {
        v.reserve_exact((v.len() / 2).max(3));
    }
}

impl Entries {
    /// (kind, number, counters) of every entry.
    pub fn iter(&self) -> EntryIter<'_> {
        match &self.store {
            Store::Small(v) => EntryIter(v.iter()),
            Store::Large(l) => EntryIter(l.table().iter()),
        }
    }

    /// Starts loading the lines a lookup of these (kind, number) pairs
    /// will read: all of a small table, the start slots of a large one.
    #[inline]
    pub fn prefetch(&self, wanted: &[(Kind, u16)]) {
        match &self.store {
            Store::Small(v) => {
                let bytes = std::mem::size_of_val(v.as_slice());
                let first = v.as_ptr().cast::<u8>();
                for off in (0..bytes).step_by(64) {
                    super::prefetch::line_at(first.wrapping_add(off));
                }
                if bytes > 0 {
                    super::prefetch::line_at(first.wrapping_add(bytes - 1));
                }
            }
            Store::Large(l) => {
                let mask = l.cap() - 1;
                for &(kind, number) in wanted {
                    prefetch_entry(&l.slots[slot_of(key(kind, number), mask)]);
                }
            }
        }
    }

    /// The slots of every entry by table: `by_kind[k]` is cleared and
    /// given the slots of table `k` (a [`Kind`]) in the order [`Entries::iter`]
    /// yields them; [`Entries::slot`] reads an entry back.
    pub fn slots_by_kind(&self, by_kind: &mut [Vec<u32>; 5]) {
        by_kind.iter_mut().for_each(Vec::clear);
        let slots = match &self.store {
            Store::Small(v) => v.as_slice(),
            Store::Large(l) => l.table(),
        };
        for (i, e) in slots.iter().enumerate() {
            // a free slot's kind is none of them
            if let Some(k) = by_kind.get_mut(usize::from(e.kind())) {
                k.push(i as u32);
            }
        }
    }

    /// The number and counters of the entry in `slot` (from
    /// [`Entries::slots_by_kind`]).
    #[inline]
    pub fn slot(&self, slot: u32) -> (u16, &Entry) {
        let e = match &self.store {
            Store::Small(v) => &v[slot as usize],
            Store::Large(l) => &l.table()[slot as usize],
        };
        (e.number(), e)
    }

    /// Number of entries in all five tables.
    pub fn len(&self) -> usize {
        match &self.store {
            Store::Small(v) => v.len(),
            Store::Large(l) => l.len(),
        }
    }

    /// Number of entries in one port table.
    pub fn count(&self, kind: Kind) -> usize {
        match &self.store {
            Store::Small(v) => v.iter().filter(|e| e.kind() == kind as u8).count(),
            Store::Large(l) => l.count(kind as usize),
        }
    }

    /// Entries in the fullest of the four port tables.
    pub fn fullest_port_table(&self) -> usize {
        match &self.store {
            Store::Small(v) => {
                let mut n = [0usize; 4];
                for e in v {
                    if let Some(c) = n.get_mut(usize::from(e.kind())) {
                        *c += 1;
                    }
                }
                n.into_iter().max().unwrap_or(0)
            }
            Store::Large(l) => (0..4).map(|k| l.count(k)).max().unwrap_or(0),
        }
    }

    /// The entry for (kind, number), created if missing. A port table that
    /// is full (`max` entries) is first cut to its `keep` busiest entries;
    /// returns the entry and how many entries were evicted.
    #[inline]
    pub fn get(&mut self, kind: Kind, number: u16, max: usize, keep: usize) -> (&mut Entry, u64) {
        let k = key(kind, number);
        let found = match &self.store {
            Store::Small(v) => v.iter().position(|e| e.key == k),
            Store::Large(l) => l.find(k),
        };
        let Some(i) = found else {
            return self.insert(k, kind, max, keep);
        };
        match &mut self.store {
            Store::Small(v) => (&mut v[i], 0),
            Store::Large(l) => (&mut l.slots[i], 0),
        }
    }

    #[cold]
    fn insert(&mut self, k: u32, kind: Kind, max: usize, keep: usize) -> (&mut Entry, u64) {
        let mut evicted = 0;
        if kind != Kind::Proto && self.count(kind) >= max {
            evicted = self.evict(kind, keep);
        }
        if let Store::Small(v) = &mut self.store {
            if v.len() >= LARGE_AT {
                let mut l = Large::with_capacity(v.len() * 2);
                for e in v.iter() {
                    l.insert(*e);
                }
                self.store = Store::Large(l);
            }
        }
        match &mut self.store {
            Store::Small(v) => {
                grow(v);
                v.push(Entry::new(k));
                let at = v.len() - 1;
                (&mut v[at], evicted)
            }
            Store::Large(l) => {
                let at = l.insert(Entry::new(k));
                (&mut l.slots[at], evicted)
            }
        }
    }

    /// Cuts one port table to its `keep` busiest entries (by total bytes,
    /// then packets, then lowest port: deterministic). Returns the number
    /// removed.
    fn evict(&mut self, kind: Kind, keep: usize) -> u64 {
        let mine_kind = kind as u8;
        let all: Vec<Entry> = self.iter().map(|(_, _, e)| *e).collect();
        let (mut mine, others): (Vec<Entry>, Vec<Entry>) =
            all.into_iter().partition(|e| e.kind() == mine_kind);
        if mine.len() <= keep {
            return 0;
        }
        let removed = (mine.len() - keep) as u64;
        let order = |a: &Entry, b: &Entry| {
            b.bytes_total()
                .cmp(&a.bytes_total())
                .then(b.packets_total().cmp(&a.packets_total()))
                .then(a.key.cmp(&b.key))
        };
        if keep > 0 {
            mine.select_nth_unstable_by(keep - 1, order);
        }
        mine.truncate(keep);
        let total = others.len() + mine.len();
        self.store = if total > LARGE_AT {
            let mut l = Large::with_capacity(total);
            for e in others.into_iter().chain(mine) {
                l.insert(e);
            }
            Store::Large(l)
        } else {
            Store::Small(others.into_iter().chain(mine).collect())
        };
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_found_again_small_and_indexed() {
        let mut t = Entries::default();
        for p in 0..200u16 {
            let (e, ev) = t.get(Kind::TcpLocal, p, 1000, 500);
            assert_eq!(ev, 0);
            e.bytes_in += u64::from(p);
        }
        t.get(Kind::Proto, 6, 0, 0).0.packets_in += 1;
        assert_eq!(t.count(Kind::TcpLocal), 200);
        assert_eq!(t.count(Kind::UdpLocal), 0);
        for p in 0..200u16 {
            assert_eq!(t.get(Kind::TcpLocal, p, 1000, 500).0.bytes_in, u64::from(p));
        }
        // the same number in another table is another entry
        assert_eq!(t.get(Kind::UdpLocal, 5, 1000, 500).0.bytes_in, 0);
        assert_eq!(t.iter().count(), 202);
    }

    /// A large table counts its entries per port table in its header, two
    /// counts to a word: each table's count stays its own.
    #[test]
    fn large_tables_count_each_port_table_apart() {
        let mut t = Entries::default();
        let kinds = [
            Kind::TcpLocal,
            Kind::TcpRemote,
            Kind::UdpLocal,
            Kind::UdpRemote,
        ];
        for (i, &kind) in kinds.iter().enumerate() {
            for p in 0..(100 * (i as u16 + 1)) {
                t.get(kind, p, 100_000, 50_000);
            }
        }
        t.get(Kind::Proto, 6, usize::MAX, 0);
        assert!(matches!(t.store, Store::Large(_)));
        for (i, &kind) in kinds.iter().enumerate() {
            assert_eq!(t.count(kind), 100 * (i + 1), "{kind:?}");
        }
        assert_eq!(t.iter().count(), 1000 + 1);
    }

    #[test]
    fn full_table_keeps_exactly_keep_busiest() {
        let mut t = Entries::default();
        for p in 0..10u16 {
            t.get(Kind::UdpRemote, p, 10, 4).0.bytes_out = u64::from(p % 5);
        }
        t.get(Kind::TcpLocal, 80, 10, 4).0.bytes_in = 1;
        let (_, evicted) = t.get(Kind::UdpRemote, 99, 10, 4);
        assert_eq!(evicted, 6);
        let mut left: Vec<u16> = t
            .iter()
            .filter(|(k, _, _)| *k == Kind::UdpRemote as u8)
            .map(|(_, n, _)| n)
            .collect();
        left.sort();
        // totals 4,4,3,3 → ports 4,9 (4 bytes) and 3,8 (3 bytes), plus 99
        assert_eq!(left, vec![3, 4, 8, 9, 99]);
        // other tables untouched
        assert_eq!(t.count(Kind::TcpLocal), 1);
    }

    #[test]
    fn ties_are_broken_by_lowest_port() {
        let mut t = Entries::default();
        for p in (0..40u16).rev() {
            t.get(Kind::TcpRemote, p, 40, 3);
        }
        let (_, evicted) = t.get(Kind::TcpRemote, 1000, 40, 3);
        assert_eq!(evicted, 37);
        let mut left: Vec<u16> = t.iter().map(|(_, n, _)| n).collect();
        left.sort();
        assert_eq!(left, vec![0, 1, 2, 1000]);
        assert_eq!(t.count(Kind::TcpRemote), 4);
    }

    #[test]
    fn max_zero_keeps_no_ports() {
        let mut t = Entries::default();
        let (_, ev) = t.get(Kind::TcpLocal, 1, 0, 0);
        assert_eq!(ev, 0);
        let (_, ev) = t.get(Kind::TcpLocal, 2, 0, 0);
        assert_eq!(ev, 1);
    }
}
