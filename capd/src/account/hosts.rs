//! The host table: one [`Host`] per address, bounded by `--hosts-max`.
//!
//! Hosts live in a dense vector; a `HashTable<u32>` of indices finds them
//! (4 bytes per slot instead of a whole host, which is what keeps a
//! million hosts small). The hasher is seeded per process, so peers cannot
//! precompute colliding addresses.

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

use super::entries::Entries;

pub struct Host {
    /// Address key (`common::net::ip_key`).
    pub key: u128,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub packets_in: u64,
    pub packets_out: u64,
    /// Unix seconds of the last packet sent; 0 before any.
    pub last_seen: u64,
    pub mac: Option<[u8; 6]>,
    pub entries: Entries,
}

impl Host {
    fn new(key: u128) -> Self {
        Host {
            key,
            bytes_in: 0,
            bytes_out: 0,
            packets_in: 0,
            packets_out: 0,
            last_seen: 0,
            mac: None,
            entries: Entries::default(),
        }
    }

    pub fn bytes_total(&self) -> u64 {
        self.bytes_in.saturating_add(self.bytes_out)
    }
}

pub struct HostTable {
    hosts: Vec<Host>,
    index: HashTable<u32>,
    hasher: DefaultHashBuilder,
    max: usize,
    keep: usize,
    evicted: u64,
}

impl HostTable {
    /// `max` 0 keeps no hosts at all; `keep` must be below `max`.
    pub fn new(max: usize, keep: usize) -> Self {
        HostTable {
            hosts: Vec::new(),
            index: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
            max,
            keep: keep.min(max.saturating_sub(1)),
            evicted: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    /// Hosts removed by evictions so far.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    pub fn iter(&self) -> impl Iterator<Item = &Host> {
        self.hosts.iter()
    }

    /// The host with this address, without creating or marking it.
    #[inline]
    pub fn get(&self, key: u128) -> Option<&Host> {
        let h = self.hasher.hash_one(key);
        self.index
            .find(h, |&i| self.hosts[i as usize].key == key)
            .map(|&i| &self.hosts[i as usize])
    }

    /// The host with this address, created if missing (after an eviction
    /// when the table is full). `None` when per-host accounting is off.
    pub fn get_or_insert(&mut self, key: u128) -> Option<&mut Host> {
        if self.max == 0 {
            return None;
        }
        let h = self.hasher.hash_one(key);
        if let Some(&i) = self.index.find(h, |&i| self.hosts[i as usize].key == key) {
            return Some(&mut self.hosts[i as usize]);
        }
        if self.hosts.len() >= self.max {
            self.evict();
        }
        let at = self.hosts.len();
        self.hosts.push(Host::new(key));
        let (hosts, hasher) = (&self.hosts, &self.hasher);
        self.index
            .insert_unique(h, at as u32, |&i| hasher.hash_one(hosts[i as usize].key));
        Some(&mut self.hosts[at])
    }

    /// Keeps exactly `keep` hosts: the most bytes, then the most recently
    /// seen, then the lowest address (so the result never depends on table
    /// order).
    fn evict(&mut self) {
        let keep = self.keep;
        if self.hosts.len() <= keep {
            return;
        }
        let order = |a: &Host, b: &Host| {
            b.bytes_total()
                .cmp(&a.bytes_total())
                .then(b.last_seen.cmp(&a.last_seen))
                .then(a.key.cmp(&b.key))
        };
        if keep > 0 {
            self.hosts.select_nth_unstable_by(keep - 1, order);
        }
        self.evicted += (self.hosts.len() - keep) as u64;
        self.hosts.truncate(keep);
        self.rebuild_index();
    }

    fn rebuild_index(&mut self) {
        self.index.clear();
        let (hosts, hasher) = (&self.hosts, &self.hasher);
        for (i, host) in hosts.iter().enumerate() {
            self.index
                .insert_unique(hasher.hash_one(host.key), i as u32, |&j| {
                    hasher.hash_one(hosts[j as usize].key)
                });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_found_by_key() {
        let mut t = HostTable::new(100, 50);
        for k in 0..60u128 {
            t.get_or_insert(k).unwrap().bytes_in = k as u64;
        }
        for k in 0..60u128 {
            assert_eq!(t.get(k).unwrap().bytes_in, k as u64);
        }
        assert!(t.get(1000).is_none());
        assert_eq!(t.len(), 60);
    }

    #[test]
    fn eviction_keeps_exactly_keep_busiest_hosts() {
        let mut t = HostTable::new(10, 4);
        for k in 0..10u128 {
            // totals 0,1,2,3,4,0,1,2,3,4
            t.get_or_insert(k).unwrap().bytes_out = (k % 5) as u64;
        }
        t.get_or_insert(77).unwrap();
        assert_eq!(t.len(), 5);
        assert_eq!(t.evicted(), 6);
        let mut keys: Vec<u128> = t.iter().map(|h| h.key).collect();
        keys.sort();
        // 4 and 9 (4 bytes), then the two 3-byte hosts 3 and 8, then 77
        assert_eq!(keys, vec![3, 4, 8, 9, 77]);
        for k in [3u128, 4, 8, 9, 77] {
            assert!(t.get(k).is_some());
        }
        assert!(t.get(0).is_none());
    }

    #[test]
    fn ties_prefer_recent_then_lowest_address() {
        let mut t = HostTable::new(4, 2);
        for k in 0..4u128 {
            t.get_or_insert(k).unwrap().last_seen = if k == 3 { 9 } else { 1 };
        }
        t.get_or_insert(10);
        let mut keys: Vec<u128> = t.iter().map(|h| h.key).collect();
        keys.sort();
        assert_eq!(keys, vec![0, 3, 10]);
    }

    #[test]
    fn max_zero_disables_hosts() {
        let mut t = HostTable::new(0, 0);
        assert!(t.get_or_insert(1).is_none());
        assert_eq!(t.len(), 0);
    }
}
