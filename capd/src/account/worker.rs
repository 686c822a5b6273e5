//! Counting a capture file on a second core: the calling thread reads,
//! filters, decodes and counts everything but the hosts
//! ([`GlobalPart`]); a scoped thread counts the hosts ([`HostPart`]).
//! Counting hosts is bound by memory latency, reading by copying and
//! parsing, so on two cores the two overlap instead of adding up.
//!
//! IP packets cross in batches through a bounded channel (so a slow
//! counter holds the reader back instead of letting batches pile up), and
//! empty batches come back for reuse: no allocation per packet. Each part
//! is counted by one thread in the order packets were read, and the parts
//! share no counter, so the result is exactly that of one thread.

use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread;

use super::{Accounts, GlobalPart, HostPart, Pipeline};
use crate::decode::PacketSummary;

/// Records per batch: big enough to make the channel cheap, small enough
/// (about 100 KiB) to stay in the caches on the way across.
const BATCH: usize = 1024;
/// Batches in flight before the reader waits.
const IN_FLIGHT: usize = 4;

/// An IP packet for the host counter.
#[derive(Clone, Copy)]
pub struct Rec {
    pub p: PacketSummary,
    pub ts: u64,
}

/// The reader's end: takes packets, hands them over in batches.
pub struct Feed {
    batch: Vec<Rec>,
    tx: SyncSender<Vec<Rec>>,
    spare: Receiver<Vec<Rec>>,
}

impl Feed {
    #[inline]
    pub fn push(&mut self, r: Rec) {
        self.batch.push(r);
        if self.batch.len() == BATCH {
            self.send();
        }
    }

    fn send(&mut self) {
        let fresh = self
            .spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BATCH));
        let full = std::mem::replace(&mut self.batch, fresh);
        // Fails only when the counting thread is gone, i.e. it panicked;
        // the join below reports that.
        let _ = self.tx.send(full);
    }
}

fn count(mut hosts: HostPart<'_>, batches: Receiver<Vec<Rec>>, spare: SyncSender<Vec<Rec>>) {
    let mut pipe = Pipeline::default();
    for mut batch in batches {
        for r in batch.drain(..) {
            pipe.push(&mut hosts, r.p, r.ts);
        }
        // the reader may have stopped taking spares; then it is dropped
        let _ = spare.try_send(batch);
    }
    pipe.flush(&mut hosts);
}

/// Runs `read` on this thread with the global part of `acct` and a
/// [`Feed`] whose packets are counted into the host part on another;
/// returns what `read` returned once every packet it fed is counted.
/// Fails only when the thread cannot be started.
pub fn count_aside<T>(
    acct: &mut Accounts,
    read: impl FnOnce(&mut GlobalPart<'_>, &mut Feed) -> T,
) -> std::io::Result<T> {
    let (tx, rx) = mpsc::sync_channel::<Vec<Rec>>(IN_FLIGHT);
    let (spare_tx, spare_rx) = mpsc::sync_channel::<Vec<Rec>>(IN_FLIGHT + 1);
    let (mut global, hosts) = acct.split();
    thread::scope(|s| {
        let counter = thread::Builder::new()
            .name("account".into())
            .spawn_scoped(s, move || count(hosts, rx, spare_tx))?;
        let mut feed = Feed {
            batch: Vec::with_capacity(BATCH),
            tx,
            spare: spare_rx,
        };
        let out = read(&mut global, &mut feed);
        if !feed.batch.is_empty() {
            feed.send();
        }
        drop(feed); // closes the channel: the counter ends after the last batch
        if let Err(panic) = counter.join() {
            std::panic::resume_unwind(panic);
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

    /// Counting hosts aside gives exactly what counting in line gives,
    /// with partial batches, foreign frames in between and evictions.
    #[test]
    fn counts_like_counting_in_line() {
        let limits = Limits {
            hosts_max: 50,
            hosts_keep: 20,
            ports_max: 8,
            ports_keep: 3,
            highest_port: 65535,
        };
        let local = LocalNets::new(vec!["192.168.0.0/16".parse().unwrap()]);
        for n in [0usize, 1, BATCH - 1, BATCH, BATCH * 3 + 7] {
            // (frame or None for a foreign one, time)
            let frames: Vec<(Option<Decoded>, u64)> = (0..n)
                .map(|i| {
                    let ts = 1_700_000_000 + i as u64 / 50;
                    if i % 301 == 7 {
                        return (None, ts);
                    }
                    let f = frame((i % 97) as u8, (i % 89) as u8, 17, (i % 13) as u16, 53);
                    (Some(decode::frame(LinkType::Ethernet, &f, 60)), ts)
                })
                .collect();
            let mut inline = Accounts::new(limits, local.clone());
            for &(d, ts) in &frames {
                match d {
                    Some(d) => inline.apply(&d, ts, 60),
                    None => inline.split().0.count_foreign(ts, 99),
                }
            }
            let mut aside = Accounts::new(limits, local.clone());
            let fed = count_aside(&mut aside, |global, feed| {
                for &(d, ts) in &frames {
                    match d {
                        Some(d) => {
                            global.count(&d, ts, 60);
                            if let Decoded::Ip(p) = d {
                                feed.push(Rec { p, ts });
                            }
                        }
                        None => global.count_foreign(ts, 99),
                    }
                }
                frames.len()
            })
            .unwrap();
            assert_eq!(fed, n);
            let a = serde_json::to_value(inline.snapshot(&[])).unwrap();
            let b = serde_json::to_value(aside.snapshot(&[])).unwrap();
            assert_eq!(a, b, "{n} records");
        }
    }
}
