//! Counting a capture file on a second core: the calling thread reads,
//! filters and decodes; a scoped thread accounts. Accounting is bound by
//! memory latency and reading by copying and parsing, so on two cores the
//! two overlap instead of adding up.
//!
//! Records cross in batches through a bounded channel (so a slow counter
//! holds the reader back instead of letting batches pile up), and empty
//! batches come back for reuse: no allocation per packet. One thread
//! accounts, in the order records were read, so the counters are exactly
//! those of reading and counting in one thread.

use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread;

use super::{Accounts, Pipeline};
use crate::decode::Decoded;

/// Records per batch: big enough to make the channel cheap, small enough
/// (about 100 KiB) to stay in the caches on the way across.
const BATCH: usize = 1024;
/// Batches in flight before the reader waits.
const IN_FLIGHT: usize = 4;

/// One record read from the file.
#[derive(Clone, Copy)]
pub enum Rec {
    /// A frame of a link type we decode.
    Frame { d: Decoded, ts: u64, wire_len: u32 },
    /// A frame on an interface whose link type we do not decode: non-IP.
    Foreign { ts: u64, wire_len: u32 },
}

/// The reader's end: takes records, hands them over in batches.
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

fn count(acct: &mut Accounts, batches: Receiver<Vec<Rec>>, spare: SyncSender<Vec<Rec>>) {
    let mut pipe = Pipeline::default();
    for mut batch in batches {
        for r in batch.drain(..) {
            match r {
                Rec::Frame { d, ts, wire_len } => pipe.push(acct, d, ts, wire_len),
                Rec::Foreign { ts, wire_len } => {
                    // keep the order of packets: what is in flight goes first
                    pipe.flush(acct);
                    acct.set_now(ts);
                    acct.count_non_ip(wire_len);
                }
            }
        }
        // the reader may have stopped taking spares; then it is dropped
        let _ = spare.try_send(batch);
    }
    pipe.flush(acct);
}

/// Runs `read` on this thread with a [`Feed`] whose records are counted
/// into `acct` on another; returns what `read` returned once every record
/// it fed is counted. Fails only when the thread cannot be started.
pub fn count_aside<T>(
    acct: &mut Accounts,
    read: impl FnOnce(&mut Feed) -> T,
) -> std::io::Result<T> {
    let (tx, rx) = mpsc::sync_channel::<Vec<Rec>>(IN_FLIGHT);
    let (spare_tx, spare_rx) = mpsc::sync_channel::<Vec<Rec>>(IN_FLIGHT + 1);
    thread::scope(|s| {
        let counter = thread::Builder::new()
            .name("account".into())
            .spawn_scoped(s, move || count(acct, rx, spare_tx))?;
        let mut feed = Feed {
            batch: Vec::with_capacity(BATCH),
            tx,
            spare: spare_rx,
        };
        let out = read(&mut feed);
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
    use crate::decode::{self, LinkType};
    use common::net::LocalNets;

    /// Counting aside gives exactly what counting in line gives, with
    /// partial batches, foreign frames in between and evictions.
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
            let recs: Vec<Rec> = (0..n)
                .map(|i| {
                    let ts = 1_700_000_000 + i as u64 / 50;
                    if i % 301 == 7 {
                        return Rec::Foreign { ts, wire_len: 99 };
                    }
                    let f = frame((i % 97) as u8, (i % 89) as u8, 17, (i % 13) as u16, 53);
                    let d = decode::frame(LinkType::Ethernet, &f, 60);
                    Rec::Frame {
                        d,
                        ts,
                        wire_len: 60,
                    }
                })
                .collect();
            let mut inline = Accounts::new(limits, local.clone());
            for r in &recs {
                match *r {
                    Rec::Frame { d, ts, wire_len } => inline.apply(&d, ts, wire_len),
                    Rec::Foreign { ts, wire_len } => {
                        inline.set_now(ts);
                        inline.count_non_ip(wire_len);
                    }
                }
            }
            let mut aside = Accounts::new(limits, local.clone());
            let fed = count_aside(&mut aside, |feed| {
                recs.iter().for_each(|&r| feed.push(r));
                recs.len()
            })
            .unwrap();
            assert_eq!(fed, n);
            let a = serde_json::to_value(inline.snapshot(&[])).unwrap();
            let b = serde_json::to_value(aside.snapshot(&[])).unwrap();
            assert_eq!(a, b, "{n} records");
        }
    }
}
