//! The host table: one [`Host`] per address, bounded by `--hosts-max`.
//!
//! Hosts live in a dense vector; a `HashTable<u32>` of indices finds them
//! (4 bytes per slot instead of a whole host, which is what keeps a
//! million hosts small). The hasher is seeded per process, so peers cannot
//! precompute colliding addresses.
//!
//! For the publisher (`account::delta`) the table remembers which hosts
//! changed since the last publication: a flag in the host and its position
//! in a list, set on the first touch per tick, so the per-packet cost is
//! one predictable branch. Evicted keys are listed once a publisher has
//! asked for them.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

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
    /// Changed since the last publication (listed in `HostTable::changed`).
    pub changed: bool,
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
            changed: true,
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
    /// Positions of the hosts whose `changed` is set.
    changed: Vec<u32>,
    /// Keys evicted since the last `take_removed`, once `track_removed`.
    removed: Vec<u128>,
    track_removed: bool,
    /// Tells tables apart, so that a publisher notices a new one.
    instance: u64,
}

static INSTANCES: AtomicU64 = AtomicU64::new(1);

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
            changed: Vec::new(),
            removed: Vec::new(),
            track_removed: false,
            instance: INSTANCES.fetch_add(1, Ordering::Relaxed),
        }
    }

    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    /// Carries the eviction count of a restored document over, so that it
    /// never goes backwards across a restart.
    pub fn add_evicted(&mut self, n: u64) {
        self.evicted += n;
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
            let host = &mut self.hosts[i as usize];
            if !host.changed {
                host.changed = true;
                self.changed.push(i);
            }
            return Some(host);
        }
        if self.hosts.len() >= self.max {
            self.evict();
        }
        let at = self.hosts.len();
        self.hosts.push(Host::new(key));
        self.changed.push(at as u32);
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
        if self.track_removed {
            self.removed
                .extend(self.hosts[keep..].iter().map(|h| h.key));
        }
        self.hosts.truncate(keep);
        self.rebuild_index();
        // positions moved: list the changed survivors again
        self.changed.clear();
        for (i, host) in self.hosts.iter().enumerate() {
            if host.changed {
                self.changed.push(i as u32);
            }
        }
    }

    pub fn instance(&self) -> u64 {
        self.instance
    }

    /// Hands every host changed since the last call to `f`, and forgets
    /// that they changed.
    pub fn take_changed(&mut self, mut f: impl FnMut(&Host)) {
        for &i in &self.changed {
            let host = &mut self.hosts[i as usize];
            host.changed = false;
            f(host);
        }
        self.changed.clear();
    }

    /// Hands every host to `f` and forgets all changes and evictions so
    /// far; evicted keys are recorded from now on.
    pub fn take_all(&mut self, mut f: impl FnMut(&Host)) {
        for host in &mut self.hosts {
            host.changed = false;
            f(host);
        }
        self.changed.clear();
        self.removed.clear();
        self.track_removed = true;
    }

    /// Moves the keys evicted since the last call (or since `take_all`)
    /// into `out`.
    pub fn take_removed(&mut self, out: &mut Vec<u128>) {
        out.append(&mut self.removed);
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
    fn changes_are_listed_once_and_follow_hosts_through_evictions() {
        let mut t = HostTable::new(6, 3);
        for k in 0..5u128 {
            t.get_or_insert(k).unwrap().bytes_in = 10 * k as u64;
        }
        let mut seen = Vec::new();
        t.take_all(|h| seen.push(h.key));
        assert_eq!(seen.len(), 5);
        t.take_changed(|_| panic!("nothing changed since take_all"));
        // touched twice, listed once
        t.get_or_insert(1).unwrap().bytes_in += 1;
        t.get_or_insert(1).unwrap().bytes_in += 1;
        t.get_or_insert(4).unwrap().bytes_in += 1;
        // the 6th host fills the table, the 7th evicts down to 3: 4, 3 and
        // 2 stay (most bytes), then 7 is added
        t.get_or_insert(5).unwrap();
        t.get_or_insert(7).unwrap();
        let mut changed = Vec::new();
        t.take_changed(|h| changed.push((h.key, h.bytes_in)));
        changed.sort();
        assert_eq!(changed, vec![(4, 41), (7, 0)]);
        let mut removed = Vec::new();
        t.take_removed(&mut removed);
        removed.sort();
        assert_eq!(removed, vec![0, 1, 5]);
        t.take_removed(&mut removed);
        assert_eq!(removed.len(), 3, "taken once");
    }

    #[test]
    fn evictions_are_not_recorded_before_anyone_asks() {
        let mut t = HostTable::new(4, 2);
        for k in 0..20u128 {
            t.get_or_insert(k);
        }
        let mut removed = Vec::new();
        t.take_removed(&mut removed);
        assert!(removed.is_empty());
        assert_ne!(HostTable::new(4, 2).instance(), t.instance());
    }

    #[test]
    fn max_zero_disables_hosts() {
        let mut t = HostTable::new(0, 0);
        assert!(t.get_or_insert(1).is_none());
        assert_eq!(t.len(), 0);
    }
}
