//! The writer thread's copy of what the readers know: every host as its
//! encoded record, the global port rows and the last tick. Changes from the
//! capture thread are applied here and turned into the frames of one
//! update; a reader that connects gets a full resync built from this copy,
//! so the capture thread never encodes the whole table.
//!
//! Keeping hosts encoded (about 60 bytes for a typical host) makes the
//! copy small and a resync a matter of copying bytes. The mirror must
//! never drift from capd's table: it checks its host count against every
//! tick and, if they differ, refuses to serve until a reset arrives.

use common::ipc::{
    encode_frame, EncodeError, HostsFrameBuilder, Message, PortRows, Tick, HOSTS_BATCH_BYTES,
};
use common::model::PortStats;
use common::net::key_ip;
use hashbrown::HashMap;

use crate::account::Changes;

#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// A bug: the copy no longer matches capd's table. It forgets its
    /// state until the next reset.
    #[error("the publisher's copy holds {mirror} hosts, capd {capd}")]
    HostCount { capd: u64, mirror: u64 },
}

/// Addresses per `Removed` frame (17 bytes each at most).
const REMOVED_PER_FRAME: usize = 32 * 1024;

pub struct Mirror {
    hosts: HashMap<u128, Box<[u8]>>,
    /// Sum of the lengths of the encoded records.
    record_bytes: usize,
    tcp: Box<[PortStats]>,
    udp: Box<[PortStats]>,
    tick: Option<Tick>,
    scratch: Vec<u8>,
}

impl Default for Mirror {
    fn default() -> Self {
        let table = || {
            (0..=u16::MAX)
                .map(|port| PortStats {
                    port,
                    ..PortStats::default()
                })
                .collect::<Box<[PortStats]>>()
        };
        Mirror {
            hosts: HashMap::new(),
            record_bytes: 0,
            tcp: table(),
            udp: table(),
            tick: None,
            scratch: Vec::new(),
        }
    }
}

fn has_packets(p: &PortStats) -> bool {
    p.packets_in > 0 || p.packets_out > 0
}

impl Mirror {
    pub fn new() -> Self {
        Self::default()
    }

    /// Hosts held.
    pub fn host_count(&self) -> usize {
        self.hosts.len()
    }

    /// Memory held, roughly: the table, the records and the allocator's
    /// overhead of 16 bytes a record.
    pub fn approx_bytes(&self) -> usize {
        self.hosts.allocation_size() + self.record_bytes + 16 * self.hosts.len()
    }

    /// About the size of a resync (a little more, never much less).
    pub fn resync_size_hint(&self) -> usize {
        // a frame header, variant and count per batch of records; the port
        // rows; the tick
        let batches = self.record_bytes / HOSTS_BATCH_BYTES + 1;
        let ports = self
            .tcp
            .iter()
            .chain(self.udp.iter())
            .filter(|p| has_packets(p));
        self.record_bytes + batches * 24 + ports.count() * 40 + 16 * 1024
    }

    /// Whether a first update has arrived (before it there is nothing to
    /// resync from).
    pub fn ready(&self) -> bool {
        self.tick.is_some()
    }

    /// Applies `ch` and appends the frames of the update it makes to `out`.
    /// After an error the mirror is not [`ready`](Self::ready) until it
    /// receives a reset.
    pub fn apply(&mut self, ch: Changes, out: &mut Vec<u8>) -> Result<(), MirrorError> {
        let r = self.apply_inner(ch, out);
        if r.is_err() {
            self.tick = None;
        }
        r
    }

    fn apply_inner(&mut self, ch: Changes, out: &mut Vec<u8>) -> Result<(), MirrorError> {
        if !ch.is_reset() && self.tick.is_none() {
            // Out of step since an error: wait for the reset asked for.
            return Ok(());
        }
        if ch.is_reset() {
            self.hosts.clear();
            self.record_bytes = 0;
            for p in self.tcp.iter_mut().chain(self.udp.iter_mut()) {
                *p = PortStats {
                    port: p.port,
                    ..PortStats::default()
                };
            }
            encode_frame(&Message::Reset, out)?;
        }
        // Only hosts the readers know are worth a removal.
        let mut gone = Vec::new();
        for k in ch.removed() {
            if let Some(r) = self.hosts.remove(k) {
                self.record_bytes -= r.len();
                gone.push(key_ip(*k));
            }
        }
        for chunk in gone.chunks(REMOVED_PER_FRAME) {
            encode_frame(&Message::Removed(chunk.to_vec()), out)?;
        }
        let mut batch = HostsFrameBuilder::new();
        self.hosts.reserve(ch.host_len());
        for i in 0..ch.host_len() {
            self.scratch.clear();
            let key = ch.encode_host(i, &mut self.scratch)?;
            batch.push(&self.scratch, out)?;
            let rec = &self.scratch;
            match self.hosts.get_mut(&key) {
                Some(b) if b.len() == rec.len() => b.copy_from_slice(rec),
                Some(b) => {
                    self.record_bytes = self.record_bytes - b.len() + rec.len();
                    *b = rec.as_slice().into();
                }
                None => {
                    self.record_bytes += rec.len();
                    self.hosts.insert(key, rec.as_slice().into());
                }
            }
        }
        batch.flush(out)?;
        let ports = ch.ports();
        for r in &ports.tcp {
            self.tcp[usize::from(r.port)] = *r;
        }
        for r in &ports.udp {
            self.udp[usize::from(r.port)] = *r;
        }
        if !ports.tcp.is_empty() || !ports.udp.is_empty() {
            encode_frame(&Message::Ports(ports.clone()), out)?;
        }
        let tick = ch.tick().clone();
        if tick.host_count != self.hosts.len() as u64 {
            return Err(MirrorError::HostCount {
                capd: tick.host_count,
                mirror: self.hosts.len() as u64,
            });
        }
        encode_frame(&Message::Tick(Box::new(tick.clone())), out)?;
        self.tick = Some(tick);
        Ok(())
    }

    /// Appends a full resync to `out`: `Reset`, every host, every port row
    /// and the last tick. Returns false (and appends nothing) before the
    /// first update.
    pub fn resync(&self, out: &mut Vec<u8>) -> Result<bool, EncodeError> {
        let Some(tick) = &self.tick else {
            return Ok(false);
        };
        let start = out.len();
        let r = self.resync_into(tick, out);
        if r.is_err() {
            out.truncate(start);
        }
        r.map(|()| true)
    }

    fn resync_into(&self, tick: &Tick, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.reserve(self.resync_size_hint());
        encode_frame(&Message::Reset, out)?;
        let mut batch = HostsFrameBuilder::new();
        for record in self.hosts.values() {
            batch.push(record, out)?;
        }
        batch.flush(out)?;
        let rows = PortRows {
            tcp: self
                .tcp
                .iter()
                .filter(|p| has_packets(p))
                .copied()
                .collect(),
            udp: self
                .udp
                .iter()
                .filter(|p| has_packets(p))
                .copied()
                .collect(),
        };
        if !rows.tcp.is_empty() || !rows.udp.is_empty() {
            encode_frame(&Message::Ports(rows), out)?;
        }
        encode_frame(&Message::Tick(Box::new(tick.clone())), out)
    }
}

#[cfg(test)]
mod tests {
    use common::ipc::{FrameDecoder, Hello, Replica, UpdateBuilder};
    use common::model::Snapshot;
    use common::net::{ip_key, LocalNets};

    use super::*;
    use crate::account::{Accounts, ChangeTracker, Limits};
    use crate::decode::{self, LinkType};

    fn accounts() -> Accounts {
        let limits = Limits {
            hosts_max: 50,
            hosts_keep: 25,
            ports_max: 6,
            ports_keep: 3,
            highest_port: 65535,
        };
        Accounts::new(limits, LocalNets::new(vec!["10.0.0.0/8".parse().unwrap()]))
    }

    fn packet(a: &mut Accounts, src: u8, dst: u8, port: u16, ts: u64) {
        let mut f = vec![2, 0, 0, 0, 0, dst, 2, 0, 0, 0, 0, src, 0x08, 0x00];
        f.extend_from_slice(&[0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0]);
        f.extend_from_slice(&[10, 0, 0, src, 192, 0, 2, dst]);
        f.extend_from_slice(&port.to_be_bytes());
        f.extend_from_slice(&53u16.to_be_bytes());
        f.extend_from_slice(&[0, 8, 0, 0]);
        a.apply(&decode::frame(LinkType::Ethernet, &f, 60), ts, 60);
    }

    /// A reader of frames, as webd is.
    struct Reader {
        dec: FrameDecoder,
        b: UpdateBuilder,
        r: Replica,
    }

    impl Reader {
        fn new() -> Self {
            let mut b = UpdateBuilder::new();
            b.push(Message::Hello(Hello {
                protocol_version: common::ipc::PROTOCOL_VERSION,
                pid: 0,
                session: 0,
            }))
            .unwrap();
            Reader {
                dec: FrameDecoder::new(),
                b,
                r: Replica::new(),
            }
        }

        fn read(&mut self, bytes: &[u8]) -> Vec<Message> {
            self.dec.feed(bytes).unwrap();
            let mut seen = Vec::new();
            while let Some(m) = self.dec.next_message().unwrap() {
                seen.push(m.clone());
                if let Some(u) = self.b.push(m).unwrap() {
                    self.r.apply_owned(u).unwrap();
                }
            }
            seen
        }

        fn snapshot(&self) -> Snapshot {
            let mut s = (**self.r.snapshot()).clone();
            s.hosts.sort_by_key(|h| ip_key(h.ip));
            s
        }
    }

    fn sorted(mut s: Snapshot) -> Snapshot {
        s.hosts.sort_by_key(|h| ip_key(h.ip));
        s
    }

    #[test]
    fn a_resync_equals_the_stream_of_updates() {
        let mut a = accounts();
        let mut t = ChangeTracker::new();
        let mut m = Mirror::new();
        let mut follower = Reader::new();
        let mut out = Vec::new();
        assert!(!m.ready());
        assert!(!m.resync(&mut out).unwrap());
        for tick in 0..40u8 {
            for i in 0..30u8 {
                packet(
                    &mut a,
                    i.wrapping_mul(tick),
                    i ^ tick,
                    1000 + u16::from(i),
                    100,
                );
            }
            out.clear();
            m.apply(a.take_changes(&mut t, &[]), &mut out).unwrap();
            follower.read(&out);
            let want = sorted(a.snapshot(&[]));
            assert_eq!(follower.snapshot(), want);
            let mut late = Reader::new();
            let mut full = Vec::new();
            assert!(m.resync(&mut full).unwrap());
            late.read(&full);
            assert_eq!(late.snapshot(), want);
            assert_eq!(m.host_count(), want.hosts.len());
        }
        assert!(a.snapshot(&[]).evictions.hosts > 0);
    }

    #[test]
    fn removals_name_only_hosts_the_readers_know() {
        let mut a = accounts();
        let mut t = ChangeTracker::new();
        let mut m = Mirror::new();
        let mut out = Vec::new();
        packet(&mut a, 1, 1, 1, 100);
        m.apply(a.take_changes(&mut t, &[]), &mut out).unwrap();
        // 120 new hosts within one tick: several evictions, most of the
        // evicted never published
        for i in 0..60u8 {
            packet(&mut a, 100 + i, 100 + i, 1, 101);
        }
        out.clear();
        m.apply(a.take_changes(&mut t, &[]), &mut out).unwrap();
        assert!(a.snapshot(&[]).evictions.hosts > 50);
        let mut dec = FrameDecoder::new();
        dec.feed(&out).unwrap();
        let mut removed = Vec::new();
        while let Some(msg) = dec.next_message().unwrap() {
            if let Message::Removed(v) = msg {
                removed.extend(v);
            }
        }
        let known = ["10.0.0.1".parse().unwrap(), "192.0.2.1".parse().unwrap()];
        assert!(!removed.is_empty());
        assert!(removed.iter().all(|ip| known.contains(ip)), "{removed:?}");
    }

    #[test]
    fn a_lost_update_is_an_error_until_the_next_reset() {
        let mut a = accounts();
        let mut t = ChangeTracker::new();
        let mut m = Mirror::new();
        let mut out = Vec::new();
        packet(&mut a, 1, 1, 1, 100);
        m.apply(a.take_changes(&mut t, &[]), &mut out).unwrap();
        packet(&mut a, 2, 2, 1, 101);
        let _lost = a.take_changes(&mut t, &[]);
        packet(&mut a, 3, 3, 1, 102);
        assert!(matches!(
            m.apply(a.take_changes(&mut t, &[]), &mut out),
            Err(MirrorError::HostCount { .. })
        ));
        assert!(!m.ready());
        out.clear();
        packet(&mut a, 4, 4, 1, 103);
        m.apply(a.take_changes(&mut t, &[]), &mut out).unwrap();
        assert!(out.is_empty() && !m.ready(), "waits for the reset");
        t.invalidate();
        m.apply(a.take_changes(&mut t, &[]), &mut out).unwrap();
        assert!(m.ready());
        let mut r = Reader::new();
        r.read(&out);
        assert_eq!(r.snapshot(), sorted(a.snapshot(&[])));
    }
}
