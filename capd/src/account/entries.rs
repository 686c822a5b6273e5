//! One host's port and protocol tables, kept in a single compact vector.
//!
//! Most hosts on a busy gateway are seen a few times and have one or two
//! ports and one protocol; four hash maps per host would cost more than the
//! host itself. So all five tables share one `Vec<Entry>`, keyed by
//! (table, number), searched linearly while small and through a hash index
//! once they grow past [`INDEX_AT`] entries.

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

/// Counters of one port or protocol of one host.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Entry {
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
}

fn key(kind: Kind, number: u16) -> u32 {
    (u32::from(kind as u8) << 16) | u32::from(number)
}

fn key_kind(key: u32) -> u8 {
    (key >> 16) as u8
}

/// Entries past which a host's tables move into an open-addressing table.
/// Below it the keys are kept apart from the counters, so a linear search
/// reads only 4 bytes an entry.
const LARGE_AT: usize = 32;

/// A slot of the large table: key and counters together, so a lookup
/// touches one cache line, not an index, a key array and a value array.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    /// `EMPTY`, or the key.
    key: u32,
    entry: Entry,
}

/// Keys are (kind << 16 | number) with kind ≤ 4, so this is never a key.
const EMPTY: u32 = u32::MAX;

/// Linear probing over a power-of-two array, at most 3/4 full. The keys
/// of one host are at most 4 × 65536 + 256, chosen by its peers; the
/// multiplicative hash spreads consecutive ports and probing stays short.
struct Large {
    slots: Box<[Slot]>,
    len: usize,
    /// Entries per port table, so that a full table is noticed without a
    /// scan.
    counts: [u32; 4],
}

#[inline]
fn slot_of(key: u32, mask: usize) -> usize {
    // Fibonacci hashing: the high bits of the product are the well-mixed ones.
    ((u64::from(key).wrapping_mul(0x9e37_79b9_7f4a_7c15)) >> 32) as usize & mask
}

impl Large {
    fn with_capacity(n: usize) -> Large {
        let cap = (n * 4 / 3 + 1).next_power_of_two().max(64);
        Large {
            slots: vec![
                Slot {
                    key: EMPTY,
                    entry: Entry::default()
                };
                cap
            ]
            .into_boxed_slice(),
            len: 0,
            counts: [0; 4],
        }
    }

    #[inline]
    fn find(&self, key: u32) -> Option<usize> {
        let mask = self.slots.len() - 1;
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

    /// Inserts a key known to be absent; returns its slot.
    fn insert(&mut self, key: u32, entry: Entry) -> usize {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            let mut bigger = Large::with_capacity(self.slots.len());
            for s in self.slots.iter().filter(|s| s.key != EMPTY) {
                bigger.insert(s.key, s.entry);
            }
            *self = bigger;
        }
        let mask = self.slots.len() - 1;
        let mut i = slot_of(key, mask);
        while self.slots[i].key != EMPTY {
            i = (i + 1) & mask;
        }
        self.slots[i] = Slot { key, entry };
        self.len += 1;
        if let Some(c) = self.counts.get_mut(usize::from(key_kind(key))) {
            *c += 1;
        }
        i
    }
}

/// One host's five tables.
enum Store {
    Small { keys: Vec<u32>, vals: Vec<Entry> },
    Large(Box<Large>),
}

pub struct Entries {
    store: Store,
}

impl Default for Entries {
    fn default() -> Self {
        Entries {
            store: Store::Small {
                keys: Vec::new(),
                vals: Vec::new(),
            },
        }
    }
}

/// Iterator over a host's entries, whichever way they are stored.
pub enum EntryIter<'a> {
    Small(std::iter::Zip<std::slice::Iter<'a, u32>, std::slice::Iter<'a, Entry>>),
    Large(std::slice::Iter<'a, Slot>),
}

impl<'a> Iterator for EntryIter<'a> {
    type Item = (u8, u16, &'a Entry);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            EntryIter::Small(it) => it.next().map(|(&k, v)| (key_kind(k), k as u16, v)),
            EntryIter::Large(it) => it
                .find(|s| s.key != EMPTY)
                .map(|s| (key_kind(s.key), s.key as u16, &s.entry)),
        }
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
            Store::Small { keys, vals } => EntryIter::Small(keys.iter().zip(vals.iter())),
            Store::Large(l) => EntryIter::Large(l.slots.iter()),
        }
    }

    /// Starts loading the line that holds (kind, number), if it is there.
    #[inline]
    pub fn prefetch(&self, kind: Kind, number: u16) {
        match &self.store {
            Store::Small { keys, vals } => {
                if let (Some(k), Some(v)) = (keys.first(), vals.first()) {
                    super::prefetch::line(k);
                    super::prefetch::line(v);
                }
            }
            Store::Large(l) => {
                let mask = l.slots.len() - 1;
                super::prefetch::line(&l.slots[slot_of(key(kind, number), mask)]);
            }
        }
    }

    /// Number of entries in one port table.
    pub fn count(&self, kind: Kind) -> usize {
        match &self.store {
            Store::Small { keys, .. } => {
                keys.iter().filter(|&&k| key_kind(k) == kind as u8).count()
            }
            Store::Large(l) => l.counts[kind as usize] as usize,
        }
    }

    /// The entry for (kind, number), created if missing. A port table that
    /// is full (`max` entries) is first cut to its `keep` busiest entries;
    /// returns the entry and how many entries were evicted.
    #[inline]
    pub fn get(&mut self, kind: Kind, number: u16, max: usize, keep: usize) -> (&mut Entry, u64) {
        let k = key(kind, number);
        let found = match &self.store {
            Store::Small { keys, .. } => keys.iter().position(|&e| e == k),
            Store::Large(l) => l.find(k),
        };
        let Some(i) = found else {
            return self.insert(k, kind, max, keep);
        };
        match &mut self.store {
            Store::Small { vals, .. } => (&mut vals[i], 0),
            Store::Large(l) => (&mut l.slots[i].entry, 0),
        }
    }

    #[cold]
    fn insert(&mut self, k: u32, kind: Kind, max: usize, keep: usize) -> (&mut Entry, u64) {
        let mut evicted = 0;
        if kind != Kind::Proto && self.count(kind) >= max {
            evicted = self.evict(kind, keep);
        }
        if let Store::Small { keys, vals } = &mut self.store {
            if keys.len() >= LARGE_AT {
                let mut l = Large::with_capacity(keys.len() * 2);
                for (&key, &v) in keys.iter().zip(vals.iter()) {
                    l.insert(key, v);
                }
                self.store = Store::Large(Box::new(l));
            }
        }
        match &mut self.store {
            Store::Small { keys, vals } => {
                grow(keys);
                grow(vals);
                keys.push(k);
                vals.push(Entry::default());
                let at = vals.len() - 1;
                (&mut vals[at], evicted)
            }
            Store::Large(l) => {
                let at = l.insert(k, Entry::default());
                (&mut l.slots[at].entry, evicted)
            }
        }
    }

    /// Cuts one port table to its `keep` busiest entries (by total bytes,
    /// then packets, then lowest port: deterministic). Returns the number
    /// removed.
    fn evict(&mut self, kind: Kind, keep: usize) -> u64 {
        let mine_kind = kind as u8;
        let all: Vec<(u32, Entry)> = self
            .iter()
            .map(|(kd, n, e)| ((u32::from(kd) << 16) | u32::from(n), *e))
            .collect();
        let (mut mine, others): (Vec<_>, Vec<_>) = all
            .into_iter()
            .partition(|(k, _)| key_kind(*k) == mine_kind);
        if mine.len() <= keep {
            return 0;
        }
        let removed = (mine.len() - keep) as u64;
        let order = |a: &(u32, Entry), b: &(u32, Entry)| {
            b.1.bytes_total()
                .cmp(&a.1.bytes_total())
                .then(b.1.packets_total().cmp(&a.1.packets_total()))
                .then(a.0.cmp(&b.0))
        };
        if keep > 0 {
            mine.select_nth_unstable_by(keep - 1, order);
        }
        mine.truncate(keep);
        let total = others.len() + mine.len();
        self.store = if total > LARGE_AT {
            let mut l = Large::with_capacity(total);
            for (k, v) in others.into_iter().chain(mine) {
                l.insert(k, v);
            }
            Store::Large(Box::new(l))
        } else {
            let (keys, vals) = others.into_iter().chain(mine).unzip();
            Store::Small { keys, vals }
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
