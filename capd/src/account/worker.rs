//! Counting a capture file on a second core: the calling thread reads,
//! filters, decodes and counts everything but the hosts
//! ([`GlobalPart`]); a scoped thread counts the hosts ([`HostPart`]).
//!
//! The counting thread starts by combining the packets of each flow
//! ([`Combiner`]): a packet then costs it one flow lookup, and both threads
//! take about as long as reading alone (BENCHMARKS.md). Combining pays
//! only while most packets belong to flows already seen and their hosts'
//! port tables are far from full; the counter checks that every
//! [`WINDOW`] packets. When it stops paying (small `--ports-max`, or
//! mostly new flows, as with a million hosts that send two packets each),
//! the counter counts packet by packet instead ([`Pipeline`]), for the
//! rest of the file.
//!
//! Counting packet by packet leaves the reading thread idle about a third
//! of the time, so then, while the table cannot fill up, the table is
//! split by address hash: the reading thread counts the hosts of its
//! [`Share`] itself (about a quarter of them), the other thread the rest.
//! A host lives in one part only, so each host still sees its packets in
//! order. An eviction must see the whole table at the very packet that
//! fills it, so before each batch the reader checks that the next one
//! cannot: every packet adds at most two hosts. When it could, the reader
//! hands its part over and the table is whole again (for the rest of the
//! file); at the end the parts are joined. So the result is exactly that
//! of one thread.
//!
//! IP packets cross in batches through a bounded channel (so a slow
//! counter holds the reader back instead of letting batches pile up), and
//! empty batches come back for reuse: no allocation per packet.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::sync::{Mutex, PoisonError};
use std::thread;

use super::flows::FlowHasher;
use super::hosts::{HostHasher, HostTable};
use super::prefetch::DEPTH;
use super::{Accounts, Combiner, GlobalPart, HostPart, Limits, Pipeline};
use crate::decode::{Decoded, PacketSummary};

/// Records per batch: big enough to make the channel cheap, small enough
/// (about 200 KiB) to stay in the caches on the way across. 2048 rather
/// than 1024 since flows are combined (alternating rounds: 1.51× and
/// 1.55× the floor against 1.54× and 1.66×; 512 was worse, 4096 no
/// better; BENCHMARKS.md).
const BATCH: usize = 2048;
/// Retired flows the counter drains at a time while no batch waits: few
/// enough that a batch that comes meanwhile waits a few microseconds.
const IDLE_DRAIN: usize = 32;
/// Batches in flight before the reader waits.
const IN_FLIGHT: usize = 4;
/// The reading thread's share of a split table, in 256ths of the hash
/// space (by the hash's top byte): with reading and decoding on top, this
/// evens out the two threads on the 50k-host benchmark capture
/// (BENCHMARKS.md).
const READER_SHARE: u64 = 64;
/// Packets over which the counter judges whether combining flows pays.
/// Small in tests, so that they see it judged.
pub(super) const WINDOW: u32 = if cfg!(test) { 512 } else { 1 << 16 };

/// Which hosts a [`Pipeline`] counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Share {
    /// The whole table.
    All,
    /// The reading thread's part of a split table.
    Reader,
    /// The counting thread's part of a split table.
    Counter,
}

impl Share {
    /// Whether the host with address hash `h` is counted here.
    #[inline]
    pub(super) fn owns(self, h: u64) -> bool {
        match self {
            Share::All => true,
            Share::Reader => h >> 56 < READER_SHARE,
            Share::Counter => h >> 56 >= READER_SHARE,
        }
    }
}

/// An IP packet for the host counter.
#[derive(Clone, Copy)]
struct Rec {
    p: PacketSummary,
    ts: u64,
}

/// A [`Rec`] with its addresses' hashes, as it crosses to the counting
/// thread: while the table is split the reader hashes both addresses
/// anyway (to know which sides are its own), so the counter does not hash
/// them again. While the counter combines flows, the first is the flow's
/// hash instead: the reading thread has time to spare then.
#[derive(Clone, Copy)]
struct Hashed {
    r: Rec,
    hash: [u64; 2],
}

/// What the reading thread sends the counting thread.
enum ToCounter<'a> {
    /// Packets, with their hashes if the flag says so.
    Batch(Vec<Hashed>, bool),
    /// The reader's part of the table, counted up to the batches already
    /// sent: the table must be whole from now on.
    Join(HostPart<'a>),
    /// The reader asks for its part of the table, counted up to the
    /// batches already sent (the counter no longer combines flows).
    Split,
}

/// How far the counting thread is, and what it does.
struct Progress {
    /// Hosts in its part (the whole table while it is not split), and
    /// packets taken from the channel.
    counted: Mutex<(usize, u64)>,
    /// The counter still combines flows (then batches need no hashes).
    combining: AtomicBool,
}

impl Progress {
    /// Hosts in the counter's part, and packets taken from the channel
    /// (up to [`DEPTH`] of them, or the combiner's depth, may still be in
    /// its pipeline).
    fn get(&self) -> (usize, u64) {
        // the counter only panics between batches, never inside the lock
        *self.counted.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set(&self, hosts: usize, packets: u64) {
        *self.counted.lock().unwrap_or_else(PoisonError::into_inner) = (hosts, packets);
    }
}

/// The reader's part of a split table.
struct ReaderPart<'a> {
    hosts: HostPart<'a>,
    pipe: Pipeline,
}

/// Hosts up to which the table may stay split. The reader's part has its
/// own vector and index, about 30 bytes per host of the whole table while
/// both exist; past this (about 8 MB) memory matters more than the time
/// the split saves. Small in tests, so that they reach it.
const SPLIT_HOSTS: usize = if cfg!(test) { 32_768 } else { 1 << 18 };

/// Whether a table of `hosts` hosts, with `pending` packets still to count
/// (each adds at most two), may stay split: no eviction can come, and it
/// stays within [`SPLIT_HOSTS`].
fn room(hosts: usize, pending: u64, limits: &Limits) -> bool {
    let pending = usize::try_from(pending).unwrap_or(usize::MAX);
    let most = hosts.saturating_add(pending.saturating_mul(2));
    limits.hosts_max > 0 && most <= limits.hosts_max.min(SPLIT_HOSTS)
}

/// Packets that may be in flight beyond those the reader has sent and the
/// counter has not yet taken: both pipelines, and the next batch.
const AHEAD: u64 = (2 * DEPTH + BATCH) as u64;

/// The reader's end: takes packets, counts its share of the hosts while
/// the table is split, hands the packets over in batches.
pub struct Feed<'a> {
    batch: Vec<Hashed>,
    tx: SyncSender<ToCounter<'a>>,
    spare: Receiver<Vec<Hashed>>,
    /// The host table's hasher (the same in both parts).
    hasher: HostHasher,
    /// The counter's flow hasher, while it combines flows.
    flow_hasher: FlowHasher,
    /// Whether packets are sent with their hashes: once the counter no
    /// longer combines flows.
    hashing: bool,
    /// The reader's part, while the table is split.
    mine: Option<ReaderPart<'a>>,
    /// Where the counter sends the reader's part after a `Split`.
    parts: Receiver<Option<HostPart<'a>>>,
    progress: &'a Progress,
    limits: Limits,
    /// Packets sent to the counting thread so far.
    sent: u64,
    /// Splits and joins so far, for the tests to see which ways were taken.
    #[cfg(test)]
    moves: (u32, u32),
}

impl Feed<'_> {
    /// Counts a decoded frame seen at `ts`: into `global`, and an IP
    /// packet's hosts aside (unless `--hosts-max 0` keeps none: then the
    /// counting thread has nothing to do).
    #[inline]
    pub fn count(&mut self, global: &mut GlobalPart<'_>, d: Decoded, ts: u64, wire_len: u32) {
        global.count(&d, ts, wire_len);
        if let (Decoded::Ip(p), true) = (d, self.limits.hosts_max > 0) {
            self.push(Rec { p, ts });
        }
    }

    #[inline]
    fn push(&mut self, r: Rec) {
        let hash = if self.hashing {
            [r.p.src, r.p.dst].map(|a| self.hasher.hash_one(a))
        } else {
            [self.flow_hasher.hash(&r.p), 0]
        };
        if let Some(m) = self.mine.as_mut() {
            m.pipe.push_hashed(&mut m.hosts, r.p, r.ts, hash);
        }
        self.batch.push(Hashed { r, hash });
        if self.batch.len() == BATCH {
            self.send();
            self.between_batches();
        }
    }

    fn send(&mut self) {
        let fresh = self
            .spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BATCH));
        let full = std::mem::replace(&mut self.batch, fresh);
        self.sent += full.len() as u64;
        // Fails only when the counting thread is gone, i.e. it panicked;
        // the join in `count_aside` reports that.
        let _ = self.tx.send(ToCounter::Batch(full, self.hashing));
    }

    /// Keeps the table split while the next batch cannot fill it; takes a
    /// part of it once the counter stops combining flows.
    fn between_batches(&mut self) {
        if self.mine.is_some() {
            if !self.room_for_next() {
                self.join();
            }
        } else if !self.hashing && !self.progress.combining.load(Ordering::Relaxed) {
            self.hashing = true;
            self.split();
        }
    }

    /// The number of packets sent that the counter may not have counted,
    /// and the hosts in its part.
    fn pending(&self) -> (usize, u64) {
        let (theirs, taken) = self.progress.get();
        (theirs, self.sent.saturating_sub(taken) + AHEAD)
    }

    /// Whether the two parts can count the next batch apart.
    fn room_for_next(&self) -> bool {
        let Some(m) = &self.mine else {
            return false;
        };
        let (theirs, pending) = self.pending();
        room(m.hosts.hosts.len() + theirs, pending, &self.limits)
    }

    /// Takes the reader's part of the table from the counter, if the
    /// table has room to be split.
    fn split(&mut self) {
        let (theirs, pending) = self.pending();
        if !room(theirs, pending, &self.limits) || self.tx.send(ToCounter::Split).is_err() {
            return;
        }
        // an error only when the counter is gone (it panicked)
        if let Ok(Some(hosts)) = self.parts.recv() {
            #[cfg(test)]
            {
                self.moves.0 += 1;
            }
            self.mine = Some(ReaderPart {
                hosts,
                pipe: Pipeline::new(Share::Reader),
            });
        }
    }

    /// Counts what is left of the reader's part, if the table is still
    /// split, and hands it over.
    fn join(&mut self) {
        if let Some(mut m) = self.mine.take() {
            #[cfg(test)]
            {
                self.moves.1 += 1;
            }
            m.pipe.flush(&mut m.hosts);
            let _ = self.tx.send(ToCounter::Join(m.hosts));
        }
    }
}

/// The counting thread's hosts: its part of a split table (with the port
/// entries it evicted), or the whole table.
enum Counting<'a> {
    Apart(HostTable, u64),
    Whole(HostPart<'a>),
}

/// The counting thread's part of a split table, as a [`HostPart`].
fn apart<'t>(limits: Limits, hosts: &'t mut HostTable, ports_evicted: &'t mut u64) -> HostPart<'t> {
    HostPart {
        limits,
        hosts,
        ports_evicted,
    }
}

/// The counting thread's end of [`count_aside`].
struct Counter<'a> {
    limits: Limits,
    hosts: Counting<'a>,
    /// While flows are combined (the table is whole then).
    combiner: Option<Combiner>,
    pipe: Pipeline,
    progress: &'a Progress,
    parts: SyncSender<Option<HostPart<'a>>>,
    /// Packets taken from the channel.
    taken: u64,
}

impl<'a> Counter<'a> {
    fn batch(&mut self, batch: &mut Vec<Hashed>, hashed: bool) {
        self.taken += batch.len() as u64;
        match &mut self.hosts {
            Counting::Apart(table, evicted) => {
                let mut part = apart(self.limits, table, evicted);
                for h in batch.drain(..) {
                    self.pipe.push_hashed(&mut part, h.r.p, h.r.ts, h.hash);
                }
            }
            Counting::Whole(part) => match self.combiner.as_mut() {
                Some(c) => {
                    for h in batch.iter() {
                        c.push(part, &h.r.p, h.r.ts, h.hash[0]);
                    }
                    batch.clear();
                    if c.judge() == Some(false) {
                        c.finish(part);
                        self.combiner = None;
                        self.progress.combining.store(false, Ordering::Relaxed);
                    }
                }
                None if hashed => {
                    for h in batch.drain(..) {
                        self.pipe.push_hashed(part, h.r.p, h.r.ts, h.hash);
                    }
                }
                None => {
                    // sent before the reader saw that this thread stopped
                    // combining: without the addresses' hashes
                    for h in batch.drain(..) {
                        self.pipe.push(part, h.r.p, h.r.ts);
                    }
                }
            },
        }
        let hosts = match &self.hosts {
            Counting::Apart(table, _) => table.len(),
            Counting::Whole(part) => part.hosts.len(),
        };
        self.progress.set(hosts, self.taken);
    }

    /// The table becomes whole again with the reader's part.
    fn join(&mut self, whole: HostPart<'a>) {
        let before = std::mem::replace(&mut self.hosts, Counting::Whole(whole));
        if let (Counting::Apart(mut table, mut evicted), Counting::Whole(part)) =
            (before, &mut self.hosts)
        {
            self.pipe
                .flush(&mut apart(self.limits, &mut table, &mut evicted));
            part.absorb(table, evicted);
        }
        self.pipe.count_all();
    }

    /// Keeps this thread's share of the (whole) table and sends the
    /// reader the rest, everything sent before counted; a table already
    /// split (never, as the reader asks once) is not split again.
    fn split(&mut self) {
        let Counting::Whole(part) = &mut self.hosts else {
            // the reader waits for an answer
            let _ = self.parts.send(None);
            return;
        };
        if let Some(mut c) = self.combiner.take() {
            c.finish(part);
        }
        self.pipe.flush(part);
        let mine = part.hosts.split_off(|h| Share::Reader.owns(h));
        let before = std::mem::replace(&mut self.hosts, Counting::Apart(mine, 0));
        if let Counting::Whole(theirs) = before {
            self.pipe = Pipeline::new(Share::Counter);
            if let Err(mpsc::SendError(Some(theirs))) = self.parts.send(Some(theirs)) {
                // the reader is gone: count everything here again
                self.join(theirs);
            }
        }
    }

    /// Does some of the work a flush left for later while no batch waits
    /// (see [`Combiner::drain`]); false when there is none.
    fn idle(&mut self) -> bool {
        match (&mut self.hosts, self.combiner.as_mut()) {
            (Counting::Whole(part), Some(c)) if c.draining() => {
                c.drain(part, IDLE_DRAIN);
                true
            }
            _ => false,
        }
    }

    /// Counts what is still in flight; returns the counter's part if the
    /// table is still split.
    fn finish(mut self) -> Finished {
        match &mut self.hosts {
            Counting::Apart(table, evicted) => {
                self.pipe.flush(&mut apart(self.limits, table, evicted));
            }
            Counting::Whole(part) => {
                if let Some(mut c) = self.combiner.take() {
                    c.finish(part);
                }
                self.pipe.flush(part);
            }
        }
        match self.hosts {
            Counting::Apart(table, evicted) => Some((table, evicted)),
            Counting::Whole(_) => None,
        }
    }
}

/// What the counting thread hands back: its part of a split table (with
/// the port entries it evicted).
type Finished = Option<(HostTable, u64)>;

fn count<'a>(
    mut counter: Counter<'a>,
    batches: Receiver<ToCounter<'a>>,
    spare: SyncSender<Vec<Hashed>>,
) -> Finished {
    loop {
        let msg = match batches.try_recv() {
            Ok(msg) => msg,
            Err(TryRecvError::Empty) if counter.idle() => continue,
            Err(TryRecvError::Empty) => match batches.recv() {
                Ok(msg) => msg,
                Err(_) => break,
            },
            Err(TryRecvError::Disconnected) => break,
        };
        match msg {
            ToCounter::Batch(mut batch, hashed) => {
                counter.batch(&mut batch, hashed);
                // the reader may have stopped taking spares; then it is dropped
                let _ = spare.try_send(batch);
            }
            ToCounter::Join(whole) => counter.join(whole),
            ToCounter::Split => counter.split(),
        }
    }
    counter.finish()
}

/// Runs `read` on this thread with the global part of `acct` and a
/// [`Feed`] whose packets are counted into the host part (on another
/// thread, and while the table is split partly on this one); returns what
/// `read` returned once every packet it fed is counted. Fails only when
/// the thread cannot be started.
pub fn count_aside<T>(
    acct: &mut Accounts,
    read: impl FnOnce(&mut GlobalPart<'_>, &mut Feed<'_>) -> T,
) -> std::io::Result<T> {
    let progress = Progress {
        counted: Mutex::new((0, 0)),
        combining: AtomicBool::new(true),
    };
    let (tx, rx) = mpsc::sync_channel::<ToCounter<'_>>(IN_FLIGHT);
    let (spare_tx, spare_rx) = mpsc::sync_channel::<Vec<Hashed>>(IN_FLIGHT + 1);
    let (parts_tx, parts_rx) = mpsc::sync_channel::<Option<HostPart<'_>>>(1);
    let (mut global, hosts) = acct.split();
    let limits = hosts.limits;
    let hasher = hosts.hosts.hasher();
    progress.set(hosts.hosts.len(), 0);
    let from_packets = hosts.hosts.len() == 0;
    let flow_hasher = FlowHasher::default();
    thread::scope(|s| {
        let progress = &progress;
        let counter = Counter {
            limits,
            hosts: Counting::Whole(hosts),
            combiner: Some(Combiner::new(from_packets, flow_hasher)),
            pipe: Pipeline::new(Share::All),
            progress,
            parts: parts_tx,
            taken: 0,
        };
        let counter = thread::Builder::new()
            .name("account".into())
            .spawn_scoped(s, move || count(counter, rx, spare_tx))?;
        let mut feed = Feed {
            batch: Vec::with_capacity(BATCH),
            tx,
            spare: spare_rx,
            hasher,
            flow_hasher,
            hashing: false,
            mine: None,
            parts: parts_rx,
            progress,
            limits,
            sent: 0,
            #[cfg(test)]
            moves: (0, 0),
        };
        let out = read(&mut global, &mut feed);
        if !feed.batch.is_empty() {
            feed.send();
        }
        let mine = feed.mine.take().map(|mut m| {
            m.pipe.flush(&mut m.hosts);
            m.hosts
        });
        drop(feed); // closes the channel: the counter ends after the last batch
        let theirs = match counter.join() {
            Ok(finished) => finished,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        // still split (the reader never handed its part over): join them
        if let (Some(mut mine), Some((table, evicted))) = (mine, theirs) {
            mine.absorb(table, evicted);
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_frames::frame;
    use super::*;
    use crate::account::Limits;
    use crate::decode::{self, Decoded, LinkType};
    use common::net::LocalNets;

    /// Limits with every port counted.
    fn limits(hosts_max: usize, hosts_keep: usize, ports_max: usize, ports_keep: usize) -> Limits {
        Limits {
            hosts_max,
            hosts_keep,
            ports_max,
            ports_keep,
            highest_port: 65535,
        }
    }

    /// (frame, or None for a frame of a link type not decoded; time)
    type Frames = Vec<(Option<Decoded>, u64)>;

    /// The snapshot as JSON, hosts sorted by address (the order of a list
    /// carries no meaning, and a split table joins in another order).
    fn document(acct: &Accounts) -> serde_json::Value {
        let mut v = serde_json::to_value(acct.snapshot(&[])).unwrap();
        if let Some(hosts) = v["hosts"].as_array_mut() {
            hosts.sort_by_key(|h| h["ip"].as_str().unwrap_or_default().to_owned());
        }
        v
    }

    /// How the counting went: whether the counter combined flows to the
    /// end, and how often the table was split and joined.
    #[derive(Debug, PartialEq, Eq)]
    struct Ways {
        combined: bool,
        splits: u32,
        joins: u32,
    }

    /// Counts `frames` in line and aside; both documents must be the same.
    fn check(limits: Limits, frames: &Frames) -> Ways {
        check_paced(limits, frames, usize::MAX)
    }

    /// [`check`], the reader pausing for a moment after every `pace`
    /// frames (so that the counter runs out of batches now and then).
    fn check_paced(limits: Limits, frames: &Frames, pace: usize) -> Ways {
        let local = LocalNets::new(vec!["192.168.0.0/16".parse().unwrap()]);
        let mut inline = Accounts::new(limits, local.clone());
        for &(d, ts) in frames {
            match d {
                Some(d) => inline.apply(&d, ts, 60),
                None => inline.split().0.count_foreign(ts, 99),
            }
        }
        let mut aside = Accounts::new(limits, local);
        let fed = count_aside(&mut aside, |global, feed| {
            for (i, &(d, ts)) in frames.iter().enumerate() {
                match d {
                    Some(d) => feed.count(global, d, ts, 60),
                    None => global.count_foreign(ts, 99),
                }
                if i % pace == pace - 1 {
                    thread::sleep(std::time::Duration::from_millis(2));
                }
            }
            let ways = Ways {
                combined: !feed.hashing,
                splits: feed.moves.0,
                joins: feed.moves.1,
            };
            (frames.len(), ways)
        })
        .unwrap();
        assert_eq!(fed.0, frames.len());
        assert_eq!(
            document(&inline),
            document(&aside),
            "{} records, {limits:?}",
            frames.len()
        );
        fed.1
    }

    /// `n` frames between 192.168.x.y and 10.0.x.y: about `hosts` local
    /// and as many remote hosts, TCP and UDP, and a foreign frame now and
    /// then.
    fn traffic(n: usize, hosts: usize) -> Frames {
        (0..n)
            .map(|i| {
                let ts = 1_700_000_000 + i as u64 / 50;
                if i % 301 == 7 {
                    return (None, ts);
                }
                let (s, d) = (i % hosts, (i * 7 + i / 3) % hosts);
                let proto = if i % 5 == 0 { 6 } else { 17 };
                let mut f = frame(s as u8, d as u8, proto, 1000 + (i % 13) as u16, 53);
                // the third bytes of source (192.168.s.s) and destination
                f[28] = (s >> 8) as u8;
                f[32] = (d >> 8) as u8;
                (Some(decode::frame(LinkType::Ethernet, &f, 60)), ts)
            })
            .collect()
    }

    /// Combining stopped, the table split, then joined again.
    const SPLIT_THEN_JOINED: Ways = Ways {
        combined: false,
        splits: 1,
        joins: 1,
    };

    /// Packets enough that the reader sees what the counter chose: it
    /// judges after two windows and a batch, and the reader may be six
    /// batches ahead.
    const LONG: usize = 2 * WINDOW as usize + 12 * BATCH;

    /// Few flows, room for every host and port: the counter combines
    /// flows to the end, with partial batches and foreign frames in
    /// between, and the table is never split.
    #[test]
    fn flows_are_combined_to_the_end_when_it_pays() {
        let limits = limits(100_000, 50_000, 65_536, 32_768);
        for n in [0usize, 1, BATCH - 1, BATCH * 3 + 7] {
            check(limits, &traffic(n, 3));
        }
        let ways = check(limits, &traffic(LONG, 3));
        assert_eq!(
            ways,
            Ways {
                combined: true,
                splits: 0,
                joins: 0
            }
        );
    }

    /// Runs of eight packets per flow over more flows than the flow table
    /// holds: combining pays, the table fills and is retired again and
    /// again, and retired flows are drained (while the counter waits for
    /// batches, or all at once when the next table is full) as new flows
    /// come.
    #[test]
    fn retired_flows_are_drained_while_new_ones_wait() {
        let limits = limits(100_000, 50_000, 65_536, 32_768);
        let frames: Frames = (0..LONG)
            .map(|i| {
                let k = i / 8;
                let (s, d) = (k % 97, (k * 7) % 89 + 100);
                let mut f = frame(s as u8, d as u8, 17, 1000 + (k % 13) as u16, 53);
                f[28] = 1;
                (
                    Some(decode::frame(LinkType::Ethernet, &f, 60)),
                    i as u64 / 50,
                )
            })
            .collect();
        let distinct = frames.len() / 8;
        assert!(distinct > 10 * super::super::flows::CAPACITY);
        // the reader pauses after every other batch: the counter drains
        // while it waits
        let ways = check_paced(limits, &frames, 2 * BATCH);
        assert!(ways.combined, "{ways:?}");
        assert_eq!(check(limits, &frames), ways);
    }

    /// `--hosts-max 0`: no host is kept, so no packet crosses to the
    /// counting thread, and everything else is counted as in line.
    #[test]
    fn without_hosts_nothing_is_sent() {
        let limits = limits(0, 0, 60, 30);
        let frames = traffic(3 * BATCH + 7, 97);
        check(limits, &frames);
        let mut acct = Accounts::new(limits, LocalNets::new(vec![]));
        let sent = count_aside(&mut acct, |global, feed| {
            for &(d, ts) in &frames {
                if let Some(d) = d {
                    feed.count(global, d, ts, 60);
                }
            }
            feed.sent + feed.batch.len() as u64
        })
        .unwrap();
        assert_eq!(sent, 0);
        let s = acct.snapshot(&[]);
        assert!(s.hosts.is_empty());
        assert!(s.totals.packets > 0 && !s.ports.udp.is_empty());
    }

    /// A table too small to split: the counting thread counts every host,
    /// with partial batches, foreign frames in between and evictions; it
    /// stops combining flows (most packets meet a full port table or
    /// evict) and counts packet by packet.
    #[test]
    fn counts_like_counting_in_line() {
        let limits = limits(50, 20, 8, 3);
        for n in [0usize, 1, BATCH - 1, BATCH, BATCH * 3 + 7] {
            let ways = check(limits, &traffic(n, 97));
            assert_eq!((ways.splits, ways.joins), (0, 0));
        }
        let ways = check(limits, &traffic(LONG, 97));
        assert_eq!(
            ways,
            Ways {
                combined: false,
                splits: 0,
                joins: 0
            }
        );
    }

    /// When combining stops paying and the table has room, it is split,
    /// stays split to the end, and the two parts are joined; port
    /// evictions happen in both parts.
    #[test]
    fn a_split_table_counts_like_one() {
        let limits = limits(1_000_000, 10, 4, 2);
        // 3000 hosts, and two for each of the at most 5 batches in flight,
        // stay within SPLIT_HOSTS (32,768 in tests)
        for n in [1usize, BATCH + 1, LONG] {
            let ways = check(limits, &traffic(n, 1500));
            if n == LONG {
                assert_eq!(
                    ways,
                    Ways {
                        combined: false,
                        splits: 1,
                        joins: 0
                    }
                );
            }
        }
        // some hosts' sides on each thread, as the pipelines' shares say
        let part = |s: Share| (0u64..1000).filter(|&h| s.owns(h << 54)).count();
        assert_eq!(part(Share::Reader) + part(Share::Counter), 1000);
        assert!((200..300).contains(&part(Share::Reader)));
    }

    /// A table that grows past SPLIT_HOSTS (with room to spare) is joined
    /// and counted whole from then on.
    #[test]
    fn a_large_table_is_joined() {
        let limits = limits(1_000_000, 10, 4, 2);
        assert!(room(0, AHEAD, &limits));
        assert!(room(SPLIT_HOSTS, 0, &limits) && !room(SPLIT_HOSTS + 1, 0, &limits));
        let ways = check(limits, &traffic(30 * BATCH, 20_000));
        assert_eq!(ways, SPLIT_THEN_JOINED);
    }

    /// A table that fills up is split, then whole again before any
    /// eviction, which then sees every host.
    #[test]
    fn a_table_that_fills_is_joined_before_evicting() {
        let limits = limits(40_000, 20_000, 8, 3);
        check(limits, &traffic(BATCH + 5, 25_000));
        // 50,000 hosts, two new ones per packet at first: split once the
        // counter stops combining (after the first batch, when up to 6
        // more may be in flight: 2 × 2,048 + 2 × 12,300 hosts at most,
        // within SPLIT_HOSTS), joined well before 40,000
        let ways = check(limits, &traffic(30 * BATCH, 25_000));
        assert_eq!(ways, SPLIT_THEN_JOINED);
    }
}
