//! One host's port and protocol tables, kept in a single compact vector.
//!
//! Most hosts on a busy gateway are seen a few times and have one or two
//! ports and one protocol; four hash maps per host would cost more than the
//! host itself. So all five tables share one `Vec<Entry>`, keyed by
//! (table, number), searched linearly while small and through a hash index
//! once they grow past [`INDEX_AT`] entries.

use hashbrown::HashTable;

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

impl Kind {
    pub const PORT_KINDS: [Kind; 4] = [
        Kind::TcpLocal,
        Kind::TcpRemote,
        Kind::UdpLocal,
        Kind::UdpRemote,
    ];
}

/// Counters of one port or protocol of one host.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    key: u32,
    /// Connection attempts (TCP only); saturates rather than wraps.
    pub syn: u32,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub packets_in: u64,
    pub packets_out: u64,
}

impl Entry {
    fn new(key: u32) -> Self {
        Entry {
            key,
            ..Entry::default()
        }
    }
    pub fn kind(&self) -> u8 {
        (self.key >> 16) as u8
    }
    /// The port or protocol number.
    pub fn number(&self) -> u16 {
        self.key as u16
    }
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

/// Entries past which lookups go through a hash index.
const INDEX_AT: usize = 24;

#[derive(Default)]
struct Index {
    slots: HashTable<u32>,
    /// Entries per port table, so that a full table is noticed without a scan.
    counts: [u32; 4],
}

#[derive(Default)]
pub struct Entries {
    items: Vec<Entry>,
    index: Option<Box<Index>>,
}

fn hash(key: u32) -> u64 {
    // Fibonacci hashing spreads (kind, port) keys; the index holds at most
    // 4 * 65536 + 256 keys of one host, chosen by the peers of that host,
    // and each bucket probe is bounded by hashbrown's group probing.
    u64::from(key).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

impl Entries {
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.items.iter()
    }

    fn find(&self, k: u32) -> Option<usize> {
        match &self.index {
            Some(ix) => ix
                .slots
                .find(hash(k), |&i| self.items[i as usize].key == k)
                .map(|&i| i as usize),
            None => self.items.iter().position(|e| e.key == k),
        }
    }

    /// Number of entries in one port table.
    pub fn count(&self, kind: Kind) -> usize {
        match &self.index {
            Some(ix) => ix.counts[kind as usize] as usize,
            None => self.items.iter().filter(|e| e.kind() == kind as u8).count(),
        }
    }

    /// The entry for (kind, number), created if missing. A port table that
    /// is full (`max` entries) is first cut to its `keep` busiest entries;
    /// returns the entry and how many entries were evicted.
    pub fn get(&mut self, kind: Kind, number: u16, max: usize, keep: usize) -> (&mut Entry, u64) {
        let k = key(kind, number);
        if let Some(i) = self.find(k) {
            return (&mut self.items[i], 0);
        }
        let mut evicted = 0;
        if kind != Kind::Proto && self.count(kind) >= max {
            evicted = self.evict(kind, keep);
        }
        if self.items.len() == self.items.capacity() {
            // grow by half, not double: most hosts stay tiny
            let extra = (self.items.len() / 2).max(1);
            self.items.reserve_exact(extra);
        }
        let at = self.items.len();
        self.items.push(Entry::new(k));
        match &mut self.index {
            Some(ix) => {
                ix.slots
                    .insert_unique(hash(k), at as u32, |&i| hash(self.items[i as usize].key));
                if kind != Kind::Proto {
                    ix.counts[kind as usize] += 1;
                }
            }
            None if self.items.len() > INDEX_AT => self.build_index(),
            None => {}
        }
        (&mut self.items[at], evicted)
    }

    fn build_index(&mut self) {
        let mut ix = Index::default();
        ix.slots.reserve(self.items.len(), |_| 0);
        for (i, e) in self.items.iter().enumerate() {
            ix.slots
                .insert_unique(hash(e.key), i as u32, |&j| hash(self.items[j as usize].key));
            if let Some(c) = ix.counts.get_mut(usize::from(e.kind())) {
                *c += 1;
            }
        }
        self.index = Some(Box::new(ix));
    }

    /// Cuts one port table to its `keep` busiest entries (by total bytes,
    /// then packets, then lowest port: deterministic). Returns the number
    /// removed.
    fn evict(&mut self, kind: Kind, keep: usize) -> u64 {
        let mut mine: Vec<Entry> = self
            .items
            .iter()
            .filter(|e| e.kind() == kind as u8)
            .copied()
            .collect();
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
        self.items.retain(|e| e.kind() != kind as u8);
        self.items.extend(mine);
        self.index = None;
        if self.items.len() > INDEX_AT {
            self.build_index();
        }
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
            .filter(|e| e.kind() == Kind::UdpRemote as u8)
            .map(|e| e.number())
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
        let mut left: Vec<u16> = t.iter().map(|e| e.number()).collect();
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
