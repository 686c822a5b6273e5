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

/// Entries past which lookups go through a hash index. The keys are kept
/// apart from the counters, so a linear search reads only 4 bytes an entry.
const INDEX_AT: usize = 32;

#[derive(Default)]
struct Index {
    slots: HashTable<u32>,
    /// Entries per port table, so that a full table is noticed without a scan.
    counts: [u32; 4],
}

#[derive(Default)]
pub struct Entries {
    keys: Vec<u32>,
    vals: Vec<Entry>,
    index: Option<Box<Index>>,
}

fn hash(key: u32) -> u64 {
    // Fibonacci hashing spreads (kind, number) keys; a host has at most
    // 4 * 65536 + 256 of them.
    u64::from(key).wrapping_mul(0x9e37_79b9_7f4a_7c15)
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
    pub fn iter(&self) -> impl Iterator<Item = (u8, u16, &Entry)> {
        self.keys
            .iter()
            .zip(&self.vals)
            .map(|(&k, v)| (key_kind(k), k as u16, v))
    }

    fn find(&self, k: u32) -> Option<usize> {
        match &self.index {
            Some(ix) => ix
                .slots
                .find(hash(k), |&i| self.keys[i as usize] == k)
                .map(|&i| i as usize),
            None => self.keys.iter().position(|&e| e == k),
        }
    }

    /// Number of entries in one port table.
    pub fn count(&self, kind: Kind) -> usize {
        match &self.index {
            Some(ix) => ix.counts[kind as usize] as usize,
            None => self
                .keys
                .iter()
                .filter(|&&k| key_kind(k) == kind as u8)
                .count(),
        }
    }

    /// The entry for (kind, number), created if missing. A port table that
    /// is full (`max` entries) is first cut to its `keep` busiest entries;
    /// returns the entry and how many entries were evicted.
    #[inline]
    pub fn get(&mut self, kind: Kind, number: u16, max: usize, keep: usize) -> (&mut Entry, u64) {
        let k = key(kind, number);
        if let Some(i) = self.find(k) {
            return (&mut self.vals[i], 0);
        }
        self.insert(k, kind, max, keep)
    }

    #[cold]
    fn insert(&mut self, k: u32, kind: Kind, max: usize, keep: usize) -> (&mut Entry, u64) {
        let mut evicted = 0;
        if kind != Kind::Proto && self.count(kind) >= max {
            evicted = self.evict(kind, keep);
        }
        grow(&mut self.keys);
        grow(&mut self.vals);
        let at = self.keys.len();
        self.keys.push(k);
        self.vals.push(Entry::default());
        match &mut self.index {
            Some(ix) => {
                let keys = &self.keys;
                ix.slots
                    .insert_unique(hash(k), at as u32, |&i| hash(keys[i as usize]));
                if kind != Kind::Proto {
                    ix.counts[kind as usize] += 1;
                }
            }
            None if self.keys.len() > INDEX_AT => self.build_index(),
            None => {}
        }
        (&mut self.vals[at], evicted)
    }

    fn build_index(&mut self) {
        let mut ix = Index::default();
        let keys = &self.keys;
        ix.slots.reserve(keys.len(), |&i| hash(keys[i as usize]));
        for (i, &k) in keys.iter().enumerate() {
            ix.slots
                .insert_unique(hash(k), i as u32, |&j| hash(keys[j as usize]));
            if let Some(c) = ix.counts.get_mut(usize::from(key_kind(k))) {
                *c += 1;
            }
        }
        self.index = Some(Box::new(ix));
    }

    /// Cuts one port table to its `keep` busiest entries (by total bytes,
    /// then packets, then lowest port: deterministic). Returns the number
    /// removed.
    fn evict(&mut self, kind: Kind, keep: usize) -> u64 {
        let mine_kind = kind as u8;
        let mut mine: Vec<(u32, Entry)> = self
            .keys
            .iter()
            .zip(&self.vals)
            .filter(|(&k, _)| key_kind(k) == mine_kind)
            .map(|(&k, &v)| (k, v))
            .collect();
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
        let mut w = 0;
        for r in 0..self.keys.len() {
            if key_kind(self.keys[r]) != mine_kind {
                self.keys[w] = self.keys[r];
                self.vals[w] = self.vals[r];
                w += 1;
            }
        }
        self.keys.truncate(w);
        self.vals.truncate(w);
        for (k, v) in mine {
            self.keys.push(k);
            self.vals.push(v);
        }
        self.index = None;
        if self.keys.len() > INDEX_AT {
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
