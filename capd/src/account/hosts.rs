//! The host table: one [`Host`] per address, bounded by `--hosts-max`.
//!
//! Hosts live in a dense vector; an open-addressing index of 8-byte slots
//! (a 32-bit hash tag and the host's position) finds them. Small slots keep
//! a million hosts small, and because a slot's address follows from the
//! hash alone, the capture loop can prefetch it packets ahead (see
//! `account::prefetch`); the tag lets it guess the host's position without
//! touching the host. The hasher is seeded per process, so peers cannot
//! precompute colliding addresses.
//!
//! For the publisher (`account::delta`) the table remembers which hosts
//! changed since the last publication: a flag in the host and its position
//! in a list, set on the first touch per tick, so the per-packet cost is
//! one predictable branch. Evicted keys are listed once a publisher has
//! asked for them.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

use hashbrown::DefaultHashBuilder;

use super::entries::Entries;
use super::prefetch::{line, lines};
use super::slots;

/// The seeded hasher of a host table's addresses.
pub type HostHasher = DefaultHashBuilder;

// 32-byte aligned, so that a 96-byte host never straddles three lines.
#[repr(align(32))]
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
    /// For `flows`: the sequence number of the packet that set `mac`.
    pub(super) mac_seq: u32,
    /// For `flows`: flows of this host waiting to be counted, and
    /// [`DIRECT`] once its packets are counted one by one.
    pub(super) pending: u32,
    pub entries: Entries,
}

/// [`Host::pending`]'s flag of a host whose packets no flow combines.
pub(super) const DIRECT: u32 = 1 << 31;

// Two cache lines: `HostTable::prefetch_host` loads exactly those, and a
// million hosts take 96 MB (`entries::Large` keeps its counts out of the
// host for this).
const _: () = assert!(std::mem::size_of::<Host>() == 96);

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
            mac_seq: 0,
            pending: 0,
            entries: Entries::default(),
        }
    }

    pub fn bytes_total(&self) -> u64 {
        self.bytes_in.saturating_add(self.bytes_out)
    }
}

/// No host: what [`HostTable::candidate`] returns for an absent one.
pub const NO_HOST: u32 = u32::MAX;

/// The hosts' positions in an index of [`slots`], at most half full.
/// Nothing is ever removed: an eviction rebuilds the whole index.
struct Index {
    slots: Box<[u64]>,
    len: usize,
}

impl Index {
    fn new() -> Index {
        Index {
            slots: vec![0; 16].into_boxed_slice(),
            len: 0,
        }
    }

    #[inline]
    fn prefetch(&self, h: u64) {
        line(slots::start(&self.slots, h));
    }

    /// Positions whose tag matches `h`, in probe order, until an empty slot.
    #[inline]
    fn probe(&self, h: u64) -> impl Iterator<Item = usize> + '_ {
        slots::probe(&self.slots, h).map(|p| p as usize)
    }

    /// Adds a position for a key known to be absent; the caller has made
    /// room (`full`, `grow`).
    fn insert(&mut self, h: u64, pos: usize) {
        slots::insert(&mut self.slots, h, pos as u32);
        self.len += 1;
    }

    /// Whether one more position would make the index over half full.
    fn full(&self) -> bool {
        (self.len + 1) * 2 > self.slots.len()
    }

    /// Doubles the array and empties it. The tags are the high halves of
    /// the hashes and the start slot uses only low bits, so without the
    /// full hash the new start slot is unknown: the caller rebuilds from
    /// the hosts instead.
    fn grow(&mut self) {
        let cap = self.slots.len() * 2;
        self.slots = vec![0; cap].into_boxed_slice();
        self.len = 0;
    }

    fn clear(&mut self) {
        self.slots.fill(0);
        self.len = 0;
    }
}

pub struct HostTable {
    hosts: Vec<Host>,
    index: Index,
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
            index: Index::new(),
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

    /// Every host, in table order.
    pub fn as_slice(&self) -> &[Host] {
        &self.hosts
    }

    /// The seeded hash of an address, as the other methods take it.
    #[inline]
    pub fn hash(&self, key: u128) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The hasher behind [`HostTable::hash`], for a thread that hashes
    /// addresses ahead of the table (`worker::Feed`).
    pub fn hasher(&self) -> HostHasher {
        self.hasher
    }

    #[inline]
    fn find(&self, h: u64, key: u128) -> Option<usize> {
        self.index.probe(h).find(|&i| self.hosts[i].key == key)
    }

    /// The host with this address, without creating or marking it.
    #[cfg(test)]
    pub fn get(&self, key: u128) -> Option<&Host> {
        self.find(self.hash(key), key).map(|i| &self.hosts[i])
    }

    /// Prefetch stage 1: the index slot where the search for `h` starts.
    #[inline]
    pub fn prefetch_index(&self, h: u64) {
        self.index.prefetch(h);
    }

    /// Prefetch stage 2: the position of the first host whose tag matches
    /// `h` ([`NO_HOST`] if none), read from the index alone, so that the
    /// host can be prefetched before its key is compared. Only a guess:
    /// [`HostTable::get_or_insert_at`] checks it.
    #[inline]
    pub fn candidate(&self, h: u64) -> u32 {
        self.index.probe(h).next().map_or(NO_HOST, |i| i as u32)
    }

    /// Starts loading every cache line of the host at `pos`, if any.
    #[inline]
    pub fn prefetch_host(&self, pos: u32) {
        if let Some(host) = self.hosts.get(pos as usize) {
            // 96 bytes at a multiple of 32: exactly two lines
            lines(host);
        }
    }

    /// The host at `pos`, whoever it is (prefetch stage 3: its tables).
    #[inline]
    pub fn at(&self, pos: u32) -> Option<&Host> {
        self.hosts.get(pos as usize)
    }

    /// The host with this address, created if missing (after an eviction
    /// when the table is full). `None` when per-host accounting is off.
    pub fn get_or_insert(&mut self, key: u128) -> Option<&mut Host> {
        let h = self.hash(key);
        self.get_or_insert_at(key, Some(h), NO_HOST)
    }

    /// [`HostTable::get_or_insert`] with the hash (if already computed) and
    /// the position the host probably has (from [`HostTable::candidate`],
    /// or known); a wrong guess only costs the search it would have saved.
    #[inline]
    pub fn get_or_insert_at(&mut self, key: u128, h: Option<u64>, guess: u32) -> Option<&mut Host> {
        if self.max == 0 {
            return None;
        }
        let (pos, h) = match self.hosts.get(guess as usize) {
            Some(host) if host.key == key => (Some(guess as usize), 0),
            _ => {
                let h = h.unwrap_or_else(|| self.hash(key));
                (self.find(h, key), h)
            }
        };
        if let Some(i) = pos {
            let host = &mut self.hosts[i];
            if !host.changed {
                host.changed = true;
                self.changed.push(i as u32);
            }
            return Some(host);
        }
        self.insert(key, h)
    }

    /// Where the host with this address (hash `h`, probably at `guess`)
    /// is, if it is in the table.
    #[inline]
    pub fn position(&self, key: u128, h: u64, guess: u32) -> Option<u32> {
        match self.hosts.get(guess as usize) {
            Some(host) if host.key == key => Some(guess),
            _ => self.find(h, key).map(|i| i as u32),
        }
    }

    /// Whether adding `new` hosts would evict (the table is bounded and
    /// would be full before the last of them).
    pub fn would_evict(&self, new: usize) -> bool {
        new > 0 && self.max > 0 && self.hosts.len() + new > self.max
    }

    /// Adds a host known to be absent, where [`HostTable::would_evict`]
    /// said it would not evict; returns its position.
    pub fn insert_absent(&mut self, key: u128, h: u64) -> u32 {
        debug_assert!(self.find(h, key).is_none() && !self.would_evict(1));
        let _ = self.insert(key, h);
        (self.hosts.len() - 1) as u32
    }

    /// The host at `pos` (from [`HostTable::position`] or
    /// [`HostTable::insert_absent`], with no eviction since), marked as
    /// changed.
    #[inline]
    pub fn touch(&mut self, pos: u32) -> &mut Host {
        let host = &mut self.hosts[pos as usize];
        if !host.changed {
            host.changed = true;
            self.changed.push(pos);
        }
        host
    }

    /// The hosts before position `mid` and those from it on, for two
    /// threads to count into at once (see [`Half`]).
    pub fn halves(&mut self, mid: usize) -> [Half<'_>; 2] {
        let mid = mid.min(self.hosts.len());
        let (low, high) = self.hosts.split_at_mut(mid);
        [(low, 0), (high, mid)].map(|(hosts, start)| Half {
            hosts,
            start: start as u32,
            changed: Vec::new(),
        })
    }

    /// Lists the hosts that [`Half`]s marked changed.
    pub fn rejoin(&mut self, changed: [Vec<u32>; 2]) {
        for c in changed {
            self.changed.extend(c);
        }
    }

    /// Forgets every host's MAC sequence number (`flows`: the numbers
    /// start again from zero).
    pub fn clear_mac_seqs(&mut self) {
        for host in &mut self.hosts {
            host.mac_seq = 0;
        }
    }

    #[cold]
    fn insert(&mut self, key: u128, h: u64) -> Option<&mut Host> {
        if self.hosts.len() >= self.max {
            self.evict();
        }
        let at = self.hosts.len();
        self.hosts.push(Host::new(key));
        self.changed.push(at as u32);
        if self.index.full() {
            self.index.grow();
            self.reindex();
        }
        self.index.insert(h, at);
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
        self.relist_changed();
    }

    /// Moves every host whose hash fails `stays` into a new table with
    /// the same hasher, which never evicts on its own: while the two are
    /// counted apart (`account::worker`), the caller makes sure that
    /// together they stay within `max`, and [`HostTable::absorb`] joins
    /// them again before anything else reads them.
    pub fn split_off(&mut self, stays: impl Fn(u64) -> bool) -> HostTable {
        let (here, there): (Vec<Host>, Vec<Host>) = std::mem::take(&mut self.hosts)
            .into_iter()
            .partition(|h| stays(self.hasher.hash_one(h.key)));
        self.hosts = here;
        self.rebuild_index();
        self.relist_changed();
        let mut other = HostTable {
            hosts: there,
            index: Index::new(),
            hasher: self.hasher,
            max: usize::MAX,
            keep: 0,
            evicted: 0,
            changed: Vec::new(),
            removed: Vec::new(),
            track_removed: false,
            instance: 0,
        };
        while other.hosts.len() * 2 > other.index.slots.len() {
            other.index.grow();
        }
        other.rebuild_index();
        other.relist_changed();
        other
    }

    /// Takes back the hosts of a table made by [`HostTable::split_off`].
    pub fn absorb(&mut self, other: HostTable) {
        debug_assert!(other.removed.is_empty() && other.evicted == 0);
        let HostTable {
            hosts: mut theirs,
            index,
            ..
        } = other;
        // Into the vector and index with more room: growing the smaller
        // would hold both in memory at once (on a million hosts, about
        // 90 MB more peak RSS).
        if theirs.capacity() > self.hosts.capacity() {
            std::mem::swap(&mut self.hosts, &mut theirs);
        }
        self.hosts.append(&mut theirs);
        drop(theirs);
        if index.slots.len() > self.index.slots.len() {
            self.index = index;
        }
        while self.hosts.len() * 2 > self.index.slots.len() {
            self.index.grow();
        }
        self.rebuild_index();
        self.relist_changed();
    }

    /// Lists the positions of the hosts whose `changed` is set.
    fn relist_changed(&mut self) {
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
        self.reindex();
    }

    /// Puts every host into an empty index.
    fn reindex(&mut self) {
        for (i, host) in self.hosts.iter().enumerate() {
            self.index.insert(self.hasher.hash_one(host.key), i);
        }
    }
}

/// A range of a host table's hosts that one thread counts into while
/// another counts into the rest ([`HostTable::halves`]). A host it marks
/// changed is listed here, and in the table once the halves are rejoined
/// ([`HostTable::rejoin`]).
pub struct Half<'a> {
    hosts: &'a mut [Host],
    /// Position of `hosts[0]` in the table.
    start: u32,
    changed: Vec<u32>,
}

impl Half<'_> {
    /// The host at `pos`, if it is in this half.
    #[inline]
    pub fn at(&self, pos: u32) -> Option<&Host> {
        self.hosts.get(pos.checked_sub(self.start)? as usize)
    }

    /// The host at `pos`, marked changed, if it is in this half.
    #[inline]
    pub fn touch(&mut self, pos: u32) -> Option<&mut Host> {
        let host = self.hosts.get_mut(pos.checked_sub(self.start)? as usize)?;
        if !host.changed {
            host.changed = true;
            self.changed.push(pos);
        }
        Some(host)
    }

    /// The positions of the hosts this half marked changed.
    pub fn into_changed(self) -> Vec<u32> {
        self.changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl HostTable {
        /// Takes the changed hosts; how many there were.
        fn take_changed_count(&mut self) -> usize {
            let mut n = 0;
            self.take_changed(|_| n += 1);
            n
        }
    }

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

    /// A split keeps every host in exactly one part, by hash; both parts
    /// find theirs and take new ones; joining them loses nothing, whichever
    /// part is larger, and lists every changed host once.
    #[test]
    fn split_parts_find_their_hosts_and_join_whole() {
        let smaller: fn(u64) -> bool = |h| h % 7 < 2;
        let larger: fn(u64) -> bool = |h| h % 7 >= 2;
        let cases = [(0u128, 0u128), (1, 1), (300, 40), (300, 290), (5000, 1)];
        for ((n, take), low) in cases.into_iter().flat_map(|c| [(c, smaller), (c, larger)]) {
            let mut t = HostTable::new(100_000, 10);
            for k in 0..n {
                t.get_or_insert(k).unwrap().bytes_in = k as u64;
            }
            let mut taken = t.take_changed_count();
            assert_eq!(taken, n as usize);
            let mut other = t.split_off(low);
            assert_eq!(t.len() + other.len(), n as usize);
            for k in 0..n {
                let h = t.hash(k);
                let (here, there) = if low(h) { (&t, &other) } else { (&other, &t) };
                assert_eq!(here.get(k).map(|x| x.bytes_in), Some(k as u64), "{k}");
                assert!(there.get(k).is_none());
            }
            // new hosts in both parts, and an old one touched again
            for k in n..n + take {
                let part = if low(t.hash(k)) { &mut t } else { &mut other };
                part.get_or_insert(k).unwrap().bytes_in = k as u64;
            }
            if n > 0 {
                let part = if low(t.hash(0)) { &mut t } else { &mut other };
                part.get_or_insert(0).unwrap().bytes_out = 1;
            }
            t.absorb(other);
            assert_eq!(t.len(), (n + take) as usize);
            for k in 0..n + take {
                assert_eq!(t.get(k).map(|x| x.bytes_in), Some(k as u64), "{k}");
            }
            taken = t.take_changed_count();
            assert_eq!(taken, (take + u128::from(n > 0)) as usize);
            // and the whole table still inserts and evicts
            t.get_or_insert(u128::MAX).unwrap();
            assert_eq!(t.len(), (n + take + 1) as usize);
        }
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
