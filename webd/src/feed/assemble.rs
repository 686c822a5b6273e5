//! Turning updates into snapshots the handlers can hold without copying a
//! million hosts a second.
//!
//! A published `Arc<Snapshot>` is never changed. Instead a few replicas
//! (`common::ipc::Replica`) take turns: each update is applied to a replica
//! nobody else holds any more, after replaying the recent updates it
//! missed, so an update costs time in proportion to what changed. Only when
//! every replica is still held (by slow requests or by the index cache) is
//! the newest one copied whole.

use std::collections::VecDeque;
use std::sync::Arc;

use common::ipc::{Replica, ReplicaError, Update};
use common::model::Snapshot;

#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    #[error(transparent)]
    Replica(#[from] ReplicaError),
    #[error("an update other than a full resync after an error")]
    NeedsReset,
}

struct Slot {
    replica: Replica,
    /// Updates applied to it.
    version: u64,
}

pub struct Assembler {
    slots: Vec<Slot>,
    /// Updates applied to the newest replica so far.
    version: u64,
    /// The newest updates, newest first: `recent[k]` made version
    /// `version - k`.
    recent: VecDeque<Update>,
    buffers: usize,
    /// After an error only a full resync is accepted.
    needs_reset: bool,
    /// Updates that had to copy the whole snapshot.
    copies: u64,
}

impl Assembler {
    /// `buffers` replicas at most (at least 1). Each holds a whole
    /// snapshot; 3 lets the two snapshots webd's index cache keeps stay
    /// untouched.
    pub fn new(buffers: usize) -> Self {
        Assembler {
            slots: Vec::new(),
            version: 0,
            recent: VecDeque::new(),
            buffers: buffers.max(1),
            needs_reset: true,
            copies: 0,
        }
    }

    /// How many updates had to copy the whole snapshot.
    pub fn copies(&self) -> u64 {
        self.copies
    }

    /// Applies `u` and returns the snapshot after it. Snapshots returned
    /// before never change. After an error only an update with `reset`
    /// is accepted (the connection must be resynchronised).
    pub fn commit(&mut self, u: Update) -> Result<Arc<Snapshot>, AssembleError> {
        if self.needs_reset && !u.reset {
            return Err(AssembleError::NeedsReset);
        }
        let Some(mut r) = self.free_replica(u.reset) else {
            self.needs_reset = true;
            return Err(AssembleError::NeedsReset);
        };
        if let Err(e) = r.apply(&u) {
            self.needs_reset = true;
            return Err(e.into());
        }
        self.needs_reset = false;
        self.version += 1;
        let snap = Arc::clone(r.snapshot());
        self.slots.push(Slot {
            replica: r,
            version: self.version,
        });
        self.recent.push_front(u);
        self.recent.truncate(self.buffers);
        if self.slots.len() > self.buffers {
            self.slots.sort_by_key(|s| std::cmp::Reverse(s.version));
            self.slots.truncate(self.buffers);
        }
        Ok(snap)
    }

    /// A replica at the newest state (any state, for a `reset`) that
    /// nobody else holds, taken out of the pool.
    fn free_replica(&mut self, reset: bool) -> Option<Replica> {
        let oldest_reachable = self.version.saturating_sub(self.recent.len() as u64);
        let free = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| Arc::strong_count(s.replica.snapshot()) == 1)
            .filter(|(_, s)| reset || s.version >= oldest_reachable)
            .max_by_key(|(_, s)| s.version)
            .map(|(i, _)| i);
        if let Some(i) = free {
            let s = self.slots.swap_remove(i);
            let mut r = s.replica;
            if !reset {
                let missed = (self.version - s.version) as usize;
                for u in self.recent.range(..missed).rev() {
                    // applied to the newest replica already: cannot fail
                    r.apply(u).ok()?;
                }
            }
            return Some(r);
        }
        if reset {
            // nothing worth copying: everything is replaced
            return Some(Replica::new());
        }
        let newest = self.slots.iter().find(|s| s.version == self.version)?;
        // the copy itself happens at the first change (`Arc::make_mut`)
        self.copies += 1;
        Some(newest.replica.clone())
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use common::ipc::{HostRecord, Tick};
    use common::model::HostStats;

    use super::*;

    fn host(i: u32, bytes: u64) -> HostStats {
        HostRecord {
            bytes_in: bytes,
            packets_in: 1,
            ..HostRecord::new(IpAddr::V4(i.into()))
        }
        .into()
    }

    fn update(reset: bool, removed: &[u32], hosts: &[(u32, u64)], count: u64, now: u64) -> Update {
        Update {
            reset,
            removed: removed.iter().map(|&i| IpAddr::V4(i.into())).collect(),
            hosts: hosts.iter().map(|&(i, b)| host(i, b)).collect(),
            ports: Default::default(),
            tick: Tick {
                host_count: count,
                now,
                ..Tick::default()
            },
        }
    }

    fn bytes(s: &Snapshot) -> Vec<(IpAddr, u64)> {
        let mut v: Vec<_> = s.hosts.iter().map(|h| (h.ip, h.bytes_in)).collect();
        v.sort();
        v
    }

    /// Whatever the handlers hold, each snapshot equals the reference and
    /// no held snapshot changes.
    #[test]
    fn snapshots_are_right_and_never_change_once_published() {
        for buffers in 1..=4 {
            let mut a = Assembler::new(buffers);
            let mut reference = Replica::new();
            let mut held: Vec<(Arc<Snapshot>, Snapshot)> = Vec::new();
            let mut hosts: Vec<(u32, u64)> = Vec::new();
            for n in 0..40u64 {
                let reset = n == 0 || n == 25;
                if reset {
                    hosts.clear();
                }
                let i = (n % 7) as u32;
                let removed: Vec<u32> = if n % 5 == 4 { vec![i] } else { vec![] };
                hosts.retain(|(h, _)| !removed.contains(h));
                let new = ((n * 3 % 11) as u32, n);
                hosts.retain(|(h, _)| *h != new.0);
                hosts.push(new);
                let u = update(reset, &removed, &[new], hosts.len() as u64, n);
                reference.apply(&u).unwrap();
                let snap = a.commit(u).unwrap();
                assert_eq!(
                    bytes(&snap),
                    bytes(reference.snapshot()),
                    "buffers {buffers}, n {n}"
                );
                assert_eq!(snap.now, n);
                // hold some snapshots for a while, like slow requests
                if n % 3 == 0 {
                    held.push((Arc::clone(&snap), (*snap).clone()));
                }
                if held.len() > 2 {
                    held.remove(0);
                }
                for (arc, copy) in &held {
                    assert_eq!(**arc, *copy);
                }
            }
        }
    }

    #[test]
    fn updates_copy_nothing_while_two_snapshots_are_held() {
        let mut a = Assembler::new(3);
        let mut last: VecDeque<Arc<Snapshot>> = VecDeque::new();
        for n in 0..50u64 {
            let u = update(n == 0, &[], &[((n % 9) as u32, n)], (n + 1).min(9), n);
            last.push_front(a.commit(u).unwrap());
            // the index cache keeps the two newest snapshots
            last.truncate(2);
        }
        // the first updates fill the pool; after that nothing is copied
        assert_eq!(a.copies(), 2);
    }

    #[test]
    fn after_a_bad_update_only_a_resync_is_accepted() {
        let mut a = Assembler::new(3);
        assert!(matches!(
            a.commit(update(false, &[], &[(1, 1)], 1, 1)),
            Err(AssembleError::NeedsReset)
        ));
        let good = a.commit(update(true, &[], &[(1, 1)], 1, 1)).unwrap();
        assert!(matches!(
            a.commit(update(false, &[], &[(2, 2)], 5, 2)),
            Err(AssembleError::Replica(_))
        ));
        assert!(matches!(
            a.commit(update(false, &[], &[(3, 3)], 2, 3)),
            Err(AssembleError::NeedsReset)
        ));
        let copies = a.copies();
        let next = a.commit(update(true, &[], &[(3, 3)], 1, 3)).unwrap();
        assert_eq!(bytes(&good), vec![(IpAddr::V4(1.into()), 1)]);
        assert_eq!(bytes(&next), vec![(IpAddr::V4(3.into()), 3)]);
        // a resync never copies the old snapshot, even when it is held
        assert_eq!(a.copies(), copies);
    }
}
