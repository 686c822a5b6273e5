//! The hand-over from the capture thread to the writer thread: one slot
//! holding the changes not yet collected, and a wake-up socket pair.
//!
//! The capture thread never waits here for more than the writer's `take`
//! (a pointer swap under the lock). When the writer is behind, the next
//! changes are merged into the waiting ones, so memory stays bounded by the
//! host table and nothing is lost; the writer then sends one update for
//! several ticks.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::account::Changes;

#[derive(Default)]
pub struct Counters {
    pub accepted: AtomicU64,
    pub refused: AtomicU64,
    pub dropped: AtomicU64,
    pub clients: AtomicU64,
    pub updates: AtomicU64,
    pub merged: AtomicU64,
    pub writer_cpu_ns: AtomicU64,
    pub last_resync_ns: AtomicU64,
    pub last_resync_bytes: AtomicU64,
    pub last_update_bytes: AtomicU64,
}

/// Checkpoints asked for and written (generations), and how the last one
/// went.
#[derive(Default)]
pub struct Checkpoints {
    pub wanted: u64,
    pub done: u64,
    pub last_error: Option<String>,
}

#[derive(Default)]
pub struct Shared {
    slot: Mutex<Option<Changes>>,
    pub checkpoints: Mutex<Checkpoints>,
    pub checkpoint_done: std::sync::Condvar,
    closed: AtomicBool,
    /// The writer lost step and needs every host again.
    reset_wanted: AtomicBool,
    pub counters: Counters,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Option<Changes>> {
        // A panic elsewhere must not take the capture thread with it.
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Capture thread: leaves `ch` for the writer.
    pub fn put(&self, ch: Changes) {
        let mut slot = self.lock();
        match slot.as_mut() {
            Some(waiting) => {
                waiting.merge(ch);
                self.counters.merged.fetch_add(1, Ordering::Relaxed);
            }
            None => *slot = Some(ch),
        }
    }

    /// Writer thread: the changes waiting, if any.
    pub fn take(&self) -> Option<Changes> {
        self.lock().take()
    }

    /// Writer thread: asks the capture thread for a full take.
    pub fn want_reset(&self) {
        self.reset_wanted.store(true, Ordering::Release);
    }

    /// Capture thread: whether a full take was asked for (once).
    pub fn reset_wanted(&self) -> bool {
        self.reset_wanted.swap(false, Ordering::AcqRel)
    }

    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

/// Both ends of the wake-up channel, non-blocking.
pub fn wake_pair() -> io::Result<(UnixStream, UnixStream)> {
    let (tx, rx) = UnixStream::pair()?;
    tx.set_nonblocking(true)?;
    rx.set_nonblocking(true)?;
    Ok((tx, rx))
}

/// Capture thread: a full buffer means a wake-up is already pending.
pub fn wake(tx: &UnixStream) {
    let _ = (&*tx).write(&[1]);
}

/// Writer thread: forgets pending wake-ups.
pub fn drain(rx: &UnixStream) {
    let mut buf = [0u8; 64];
    while let Ok(n) = (&*rx).read(&mut buf) {
        if n == 0 {
            break;
        }
    }
}
