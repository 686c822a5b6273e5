//! The receiving side's meaning of the messages: [`UpdateBuilder`] gathers
//! the frames of one update and enforces the order of `message`'s grammar;
//! [`Replica`] applies updates to a [`Snapshot`] so that after each one it
//! equals what capd's `Accounts::snapshot()` gave at the same tick (up to
//! the order of the host list, which `spec/json.md` says carries no
//! meaning).
//!
//! Applying costs time in proportion to the update, not to the table: hosts
//! are found through an address → position index and removed by swapping
//! the last one into their place. Nothing here may panic on what a peer
//! sent, and a snapshot someone else holds is never changed (`Arc::make_mut`
//! copies it first).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use crate::model::{HostStats, PortStats, Snapshot, DOCUMENT_VERSION};
use crate::net::ip_key;

use super::message::{Hello, Message, PortRows, Tick};

/// Most hosts, removals and port rows one update may carry (a bound on what
/// a broken peer can make the reader hold, far above any host table).
pub const MAX_UPDATE_ITEMS: usize = 1 << 25;

/// One update, gathered from its frames up to its `Tick`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Update {
    /// Forget all hosts and global port rows first (a full resync).
    pub reset: bool,
    pub removed: Vec<IpAddr>,
    pub hosts: Vec<HostStats>,
    pub ports: PortRows,
    pub tick: Tick,
}

/// A stream that does not follow the grammar of `message`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("the stream does not start with Hello")]
    NoHello,
    #[error("a second Hello")]
    RepeatedHello,
    #[error("the first update of a connection is not a full resync")]
    NotSynced,
    #[error("Reset in the middle of an update")]
    LateReset,
    #[error("Removed after Hosts in one update")]
    LateRemoval,
    #[error("an update of more than {MAX_UPDATE_ITEMS} items")]
    TooLarge,
}

/// Gathers messages into [`Update`]s. After an error it must be dropped
/// with the connection.
#[derive(Debug, Default)]
pub struct UpdateBuilder {
    hello: Option<Hello>,
    synced: bool,
    pending: Option<Update>,
    /// Hosts frames seen in the pending update.
    had_hosts: bool,
    items: usize,
}

impl UpdateBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// capd's greeting, once received.
    pub fn hello(&self) -> Option<&Hello> {
        self.hello.as_ref()
    }

    /// Takes one message; returns the update it completes, if any.
    pub fn push(&mut self, msg: Message) -> Result<Option<Update>, SessionError> {
        if self.hello.is_none() {
            return match msg {
                Message::Hello(h) => {
                    self.hello = Some(h);
                    Ok(None)
                }
                _ => Err(SessionError::NoHello),
            };
        }
        match msg {
            Message::Hello(_) => Err(SessionError::RepeatedHello),
            Message::Keepalive => Ok(None),
            Message::Reset => {
                if self.pending.is_some() {
                    return Err(SessionError::LateReset);
                }
                self.pending = Some(Update {
                    reset: true,
                    ..Update::default()
                });
                Ok(None)
            }
            Message::Removed(ips) => {
                if self.had_hosts {
                    return Err(SessionError::LateRemoval);
                }
                self.count(ips.len())?;
                self.update()?.removed.extend(ips);
                Ok(None)
            }
            Message::Hosts(hosts) => {
                self.count(hosts.len())?;
                self.had_hosts = true;
                self.update()?
                    .hosts
                    .extend(hosts.into_iter().map(HostStats::from));
                Ok(None)
            }
            Message::Ports(rows) => {
                self.count(rows.tcp.len() + rows.udp.len())?;
                let p = &mut self.update()?.ports;
                p.tcp.extend(rows.tcp);
                p.udp.extend(rows.udp);
                Ok(None)
            }
            Message::Tick(t) => {
                self.update()?;
                let mut u = self.pending.take().unwrap_or_default();
                u.tick = *t;
                self.synced = true;
                self.had_hosts = false;
                self.items = 0;
                Ok(Some(u))
            }
        }
    }

    fn count(&mut self, n: usize) -> Result<(), SessionError> {
        self.items = self.items.saturating_add(n);
        if self.items > MAX_UPDATE_ITEMS {
            return Err(SessionError::TooLarge);
        }
        Ok(())
    }

    /// The update being gathered, started if this is its first message.
    fn update(&mut self) -> Result<&mut Update, SessionError> {
        if self.pending.is_none() && !self.synced {
            return Err(SessionError::NotSynced);
        }
        Ok(self.pending.get_or_insert_with(Update::default))
    }
}

/// The receiver had a different number of hosts than capd said it has:
/// frames were lost or the peer is broken. Resynchronise (reconnect).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("host count mismatch after an update: capd has {expected}, the replica {held}")]
pub struct ReplicaError {
    pub expected: u64,
    pub held: u64,
}

/// capd's statistics rebuilt from updates.
#[derive(Clone, Debug, Default)]
pub struct Replica {
    snap: Arc<Snapshot>,
    /// Address key → position in `snap.hosts`.
    index: HashMap<u128, usize>,
}

impl Replica {
    pub fn new() -> Self {
        Self::default()
    }

    /// The statistics as of the last update applied. While someone holds a
    /// clone of this `Arc`, the next update copies the snapshot instead of
    /// changing it in place.
    pub fn snapshot(&self) -> &Arc<Snapshot> {
        &self.snap
    }

    /// Applies an update, cloning the hosts it carries.
    pub fn apply(&mut self, u: &Update) -> Result<(), ReplicaError> {
        self.apply_parts(u.reset, &u.removed, u.hosts.iter().cloned(), &u.ports);
        let snap = Arc::make_mut(&mut self.snap);
        set_tick(snap, u.tick.clone());
        self.check(&u.tick)
    }

    /// Applies an update, moving the hosts out of it.
    pub fn apply_owned(&mut self, u: Update) -> Result<(), ReplicaError> {
        self.apply_parts(u.reset, &u.removed, u.hosts.into_iter(), &u.ports);
        let snap = Arc::make_mut(&mut self.snap);
        let count = u.tick.host_count;
        set_tick(snap, u.tick);
        if count as usize == self.snap.hosts.len() {
            Ok(())
        } else {
            Err(ReplicaError {
                expected: count,
                held: self.snap.hosts.len() as u64,
            })
        }
    }

    fn check(&self, t: &Tick) -> Result<(), ReplicaError> {
        let held = self.snap.hosts.len() as u64;
        if t.host_count == held {
            Ok(())
        } else {
            Err(ReplicaError {
                expected: t.host_count,
                held,
            })
        }
    }

    fn apply_parts(
        &mut self,
        reset: bool,
        removed: &[IpAddr],
        hosts: impl Iterator<Item = HostStats>,
        ports: &PortRows,
    ) {
        let snap = Arc::make_mut(&mut self.snap);
        let index = &mut self.index;
        if reset {
            snap.hosts.clear();
            snap.ports.tcp.clear();
            snap.ports.udp.clear();
            index.clear();
        }
        for &ip in removed {
            if let Some(at) = index.remove(&ip_key(ip)) {
                snap.hosts.swap_remove(at);
                if let Some(moved) = snap.hosts.get(at) {
                    index.insert(ip_key(moved.ip), at);
                }
            }
        }
        for h in hosts {
            let key = ip_key(h.ip);
            match index.get(&key) {
                Some(&at) => snap.hosts[at] = h,
                None => {
                    index.insert(key, snap.hosts.len());
                    snap.hosts.push(h);
                }
            }
        }
        upsert_rows(&mut snap.ports.tcp, &ports.tcp);
        upsert_rows(&mut snap.ports.udp, &ports.udp);
    }
}

/// Rows stay sorted by port, as capd lists them; an all-zero row removes
/// the port (capd lists only ports that saw packets).
fn upsert_rows(table: &mut Vec<PortStats>, rows: &[PortStats]) {
    for r in rows {
        let empty = r.packets_in == 0 && r.packets_out == 0;
        match table.binary_search_by_key(&r.port, |p| p.port) {
            Ok(at) if empty => {
                table.remove(at);
            }
            Ok(at) => table[at] = *r,
            Err(_) if empty => {}
            Err(at) => table.insert(at, *r),
        }
    }
}

fn set_tick(snap: &mut Snapshot, t: Tick) {
    snap.version = DOCUMENT_VERSION;
    snap.since = t.since;
    snap.now = t.now;
    snap.totals = t.totals;
    snap.protocols = t.protocols;
    snap.graphs = t.graphs;
    snap.interfaces = t.interfaces;
    snap.local_networks = t.local_networks;
    snap.evictions = t.evictions;
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::ipc::message::HostRecord;
    use crate::ipc::PROTOCOL_VERSION;

    fn hello() -> Message {
        Message::Hello(Hello {
            protocol_version: PROTOCOL_VERSION,
            pid: 1,
            session: 2,
        })
    }

    fn rec(ip: IpAddr, bytes: u64) -> HostRecord {
        HostRecord {
            bytes_in: bytes,
            packets_in: 1,
            ..HostRecord::new(ip)
        }
    }

    fn tick(host_count: u64) -> Message {
        Message::Tick(Box::new(Tick {
            host_count,
            now: 9,
            ..Tick::default()
        }))
    }

    fn ip(i: u32) -> IpAddr {
        IpAddr::V4(i.into())
    }

    fn row(port: u16, packets: u64) -> PortStats {
        PortStats {
            port,
            bytes_in: packets * 10,
            packets_in: packets,
            ..PortStats::default()
        }
    }

    #[test]
    fn the_grammar_is_enforced() {
        let mut b = UpdateBuilder::new();
        assert_eq!(b.push(Message::Reset), Err(SessionError::NoHello));
        let mut b = UpdateBuilder::new();
        b.push(hello()).unwrap();
        assert_eq!(b.push(hello()), Err(SessionError::RepeatedHello));
        let mut b = UpdateBuilder::new();
        b.push(hello()).unwrap();
        assert_eq!(b.push(Message::Keepalive), Ok(None));
        assert_eq!(
            b.push(Message::Hosts(vec![rec(ip(1), 1)])),
            Err(SessionError::NotSynced)
        );
        let mut b = UpdateBuilder::new();
        b.push(hello()).unwrap();
        assert_eq!(b.push(tick(0)), Err(SessionError::NotSynced));
        let mut b = UpdateBuilder::new();
        b.push(hello()).unwrap();
        b.push(Message::Reset).unwrap();
        b.push(Message::Hosts(vec![rec(ip(1), 1)])).unwrap();
        assert_eq!(b.push(Message::Reset), Err(SessionError::LateReset));
        let mut b = UpdateBuilder::new();
        b.push(hello()).unwrap();
        b.push(Message::Reset).unwrap();
        b.push(Message::Hosts(vec![rec(ip(1), 1)])).unwrap();
        assert_eq!(
            b.push(Message::Removed(vec![ip(1)])),
            Err(SessionError::LateRemoval)
        );
    }

    #[test]
    fn updates_end_at_their_tick() {
        let mut b = UpdateBuilder::new();
        b.push(hello()).unwrap();
        b.push(Message::Reset).unwrap();
        b.push(Message::Hosts(vec![rec(ip(1), 1)])).unwrap();
        b.push(Message::Hosts(vec![rec(ip(2), 2)])).unwrap();
        let u = b.push(tick(2)).unwrap().unwrap();
        assert!(u.reset);
        assert_eq!(u.hosts.len(), 2);
        // a later update without Reset, and one with nothing but its Tick
        b.push(Message::Removed(vec![ip(1)])).unwrap();
        let u = b.push(tick(1)).unwrap().unwrap();
        assert!(!u.reset);
        assert_eq!(u.removed, vec![ip(1)]);
        let u = b.push(tick(1)).unwrap().unwrap();
        assert_eq!(
            u,
            Update {
                tick: Tick {
                    host_count: 1,
                    now: 9,
                    ..Tick::default()
                },
                ..Update::default()
            }
        );
    }

    /// A replica against a map, through random updates.
    #[test]
    fn replica_tracks_a_reference_model() {
        let mut seed = 0x1234_5678_u64;
        let mut rnd = move |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let mut model: BTreeMap<u128, u64> = BTreeMap::new();
        let mut ports: BTreeMap<u16, u64> = BTreeMap::new();
        let mut r = Replica::new();
        let mut owned = Replica::new();
        for round in 0..300 {
            let reset = round % 97 == 0;
            if reset {
                model.clear();
                ports.clear();
            }
            let removed: Vec<IpAddr> = (0..rnd(20)).map(|_| ip(rnd(200) as u32)).collect();
            for a in &removed {
                model.remove(&ip_key(*a));
            }
            let hosts: Vec<HostStats> = (0..rnd(30))
                .map(|_| {
                    let h = rec(ip(rnd(200) as u32), rnd(1000));
                    model.insert(ip_key(h.ip), h.bytes_in);
                    h.into()
                })
                .collect();
            let tcp: Vec<PortStats> = (0..rnd(5))
                .map(|_| {
                    let p = row(rnd(50) as u16, rnd(3));
                    if p.packets_in == 0 {
                        ports.remove(&p.port);
                    } else {
                        ports.insert(p.port, p.packets_in);
                    }
                    p
                })
                .collect();
            let u = Update {
                reset,
                removed,
                hosts,
                ports: PortRows { tcp, udp: vec![] },
                tick: Tick {
                    host_count: model.len() as u64,
                    seq: round,
                    ..Tick::default()
                },
            };
            r.apply(&u).unwrap();
            owned.apply_owned(u).unwrap();
            let got: BTreeMap<u128, u64> = r
                .snapshot()
                .hosts
                .iter()
                .map(|h| (ip_key(h.ip), h.bytes_in))
                .collect();
            assert_eq!(got, model, "round {round}");
            let got_ports: Vec<(u16, u64)> = r
                .snapshot()
                .ports
                .tcp
                .iter()
                .map(|p| (p.port, p.packets_in))
                .collect();
            assert_eq!(got_ports, ports.clone().into_iter().collect::<Vec<_>>());
            assert_eq!(owned.snapshot(), r.snapshot());
        }
    }

    #[test]
    fn a_held_snapshot_is_never_changed() {
        let mut r = Replica::new();
        let u = Update {
            reset: true,
            hosts: vec![rec(ip(1), 1).into()],
            tick: Tick {
                host_count: 1,
                ..Tick::default()
            },
            ..Update::default()
        };
        r.apply(&u).unwrap();
        let held = Arc::clone(r.snapshot());
        let u2 = Update {
            removed: vec![ip(1)],
            hosts: vec![rec(ip(2), 2).into()],
            tick: Tick {
                host_count: 1,
                now: 5,
                ..Tick::default()
            },
            ..Update::default()
        };
        r.apply(&u2).unwrap();
        assert_eq!(held.hosts[0].ip, ip(1));
        assert_eq!(held.now, 0);
        assert_eq!(r.snapshot().hosts[0].ip, ip(2));
        assert_eq!(r.snapshot().now, 5);
    }

    #[test]
    fn a_wrong_host_count_is_reported() {
        let mut r = Replica::new();
        let u = Update {
            reset: true,
            hosts: vec![rec(ip(1), 1).into()],
            tick: Tick {
                host_count: 2,
                ..Tick::default()
            },
            ..Update::default()
        };
        assert_eq!(
            r.apply(&u),
            Err(ReplicaError {
                expected: 2,
                held: 1
            })
        );
    }
}
