//! publish: the statistics, one way, to darkstat-webd over a Unix socket.
//!
//! [`Publisher::bind`] creates the socket (mode 0660, given to the web
//! group when running as root) before privileges are dropped;
//! [`Publisher::start`] starts the writer thread; the capture loop then
//! calls [`PublishHandle::publish`] once per tick. That call takes the
//! changes since the previous tick off the [`Accounts`] (cheap: see
//! `account::delta`) and leaves them in a slot for the writer thread, which
//! keeps its own copy of the statistics (`mirror`), turns the changes into
//! frames (`common::ipc`) and writes them to every reader; a new reader
//! gets a full resync from that copy.
//!
//! What this module must never do: read, parse or act on anything a reader
//! sends (readers are only accepted, checked with `SO_PEERCRED` and written
//! to); make the capture thread wait on a reader or on the writer (writes
//! never block; a reader that stops reading or falls too far behind is
//! disconnected and resyncs when it comes back; ticks the writer has not
//! collected yet are merged, not queued); carry text from captured packets.

mod handoff;
mod mirror;
mod socket;
mod writer;

use std::io;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use common::ipc::{Hello, PROTOCOL_VERSION};
use common::model::InterfaceStats;

use crate::account::{Accounts, ChangeTracker};
pub use mirror::Mirror;
pub use socket::{peer_cred, PeerCred, PeerPolicy, SOCKET_MODE};

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{0}: exists and is not a socket; not replacing it")]
    NotASocket(PathBuf),
    #[error("{0}: another process is listening on this socket")]
    InUse(PathBuf),
    #[error("cannot {what} {path}: {source}")]
    Socket {
        what: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("cannot start the publisher: {0}")]
    Start(io::Error),
}

/// Tuning of the writer thread; the defaults suit a daemon.
pub struct PublishOptions {
    /// A reader with bytes waiting that takes none for this long is
    /// disconnected.
    pub stall_timeout: Duration,
    /// A reader further behind than this (beyond its resync) is
    /// disconnected.
    pub max_backlog: usize,
    /// Readers at once; more are refused.
    pub max_clients: usize,
    /// A reader that was sent nothing for this long gets a `Keepalive`.
    pub keepalive: Duration,
    /// Longest sleep of the writer thread between checks.
    pub poll_interval: Duration,
    /// Where the writer thread's complaints go (rate-limited).
    pub log: Box<dyn Fn(&str) + Send>,
    /// Where checkpoints go (the state file); none when unset.
    pub checkpoint: Option<PathBuf>,
}

impl Default for PublishOptions {
    fn default() -> Self {
        PublishOptions {
            stall_timeout: Duration::from_secs(10),
            max_backlog: 64 << 20,
            max_clients: 4,
            keepalive: Duration::from_secs(1),
            checkpoint: None,
            poll_interval: Duration::from_millis(250),
            log: Box::new(|m| eprintln!("darkstat-capd: {m}")),
        }
    }
}

/// The bound socket, before the writer thread runs.
pub struct Publisher {
    bound: socket::Bound,
    policy: PeerPolicy,
    /// Made here, not in `start`: `start` may run under the seccomp filter,
    /// which has no `socketpair`.
    wake: (UnixStream, UnixStream),
}

impl Publisher {
    /// Creates the socket at `path`. Readers allowed: root, capd's own
    /// (effective) user, `allowed_uid`, and processes whose effective group
    /// is `allowed_gid`. Refuses to replace an existing file that is not a
    /// socket, or a socket someone listens on.
    pub fn bind(
        path: &Path,
        allowed_uid: Option<u32>,
        allowed_gid: Option<u32>,
    ) -> Result<Publisher, PublishError> {
        let bound = socket::bind(path, allowed_uid, allowed_gid)?;
        let wake = handoff::wake_pair().map_err(|source| PublishError::Socket {
            what: "make the wake-up pair for",
            path: path.to_owned(),
            source,
        })?;
        Ok(Publisher {
            bound,
            policy: PeerPolicy {
                uid: allowed_uid,
                gid: allowed_gid,
            },
            wake,
        })
    }

    pub fn path(&self) -> &Path {
        &self.bound.path
    }

    /// Starts the writer thread with the default options.
    pub fn start(self) -> Result<PublishHandle, PublishError> {
        self.start_with(PublishOptions::default())
    }

    /// Starts the writer thread. Needs no privilege and no new file
    /// descriptor: it may run after the sandbox is up.
    pub fn start_with(self, opts: PublishOptions) -> Result<PublishHandle, PublishError> {
        let (wake_tx, wake_rx) = self.wake;
        let shared = Arc::new(handoff::Shared::default());
        let hello = Hello {
            protocol_version: PROTOCOL_VERSION,
            pid: std::process::id(),
            session: session_id(),
        };
        let checkpoint_path = opts.checkpoint.clone();
        let w = writer::Writer::new(
            self.bound,
            wake_rx,
            Arc::clone(&shared),
            self.policy,
            opts,
            hello,
        )
        .map_err(|e| PublishError::Start(io::Error::other(e)))?;
        let thread = std::thread::Builder::new()
            .name("publish".into())
            .spawn(move || w.run())
            .map_err(PublishError::Start)?;
        Ok(PublishHandle {
            checkpoint_path,
            tracker: ChangeTracker::new(),
            shared,
            wake: wake_tx,
            thread: Some(thread),
        })
    }
}

/// Differs between runs: the clock and the address-space layout mixed by
/// the standard library's randomly keyed hasher.
fn session_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.write_u32(std::process::id());
    h.finish()
}

/// Counters of the publisher, for logs and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PublishStats {
    /// Readers connected now.
    pub clients: u64,
    pub accepted: u64,
    /// Connections refused (credentials, too many readers).
    pub refused: u64,
    /// Readers disconnected for not keeping up.
    pub dropped: u64,
    /// Updates the writer thread sent.
    pub updates: u64,
    /// Ticks folded into a waiting update because the writer was busy.
    pub merged: u64,
    /// CPU time the writer thread has used.
    pub writer_cpu: Duration,
    pub last_resync: Duration,
    pub last_resync_bytes: u64,
    pub last_update_bytes: u64,
}

/// The capture thread's end of the publisher. Dropping it stops the writer
/// thread and removes the socket.
pub struct PublishHandle {
    checkpoint_path: Option<PathBuf>,
    tracker: ChangeTracker,
    shared: Arc<handoff::Shared>,
    wake: UnixStream,
    thread: Option<JoinHandle<()>>,
}

impl PublishHandle {
    /// Publishes the state of `acct` now. Call once per tick from the
    /// thread that owns `acct`; returns without waiting on any reader.
    pub fn publish(&mut self, acct: &mut Accounts, interfaces: &[InterfaceStats]) {
        if self.shared.reset_wanted() {
            self.tracker.invalidate();
        }
        let ch = acct.take_changes(&mut self.tracker, interfaces);
        self.shared.put(ch);
        handoff::wake(&self.wake);
    }

    /// Publishes `acct` and asks the writer thread to save the state file
    /// from its copy; returns a ticket for [`Self::wait_checkpoint`]. The
    /// capture thread does not wait for the disk.
    pub fn checkpoint(&mut self, acct: &mut Accounts, interfaces: &[InterfaceStats]) -> u64 {
        self.publish(acct, interfaces);
        let ticket = {
            let mut c = self
                .shared
                .checkpoints
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            c.wanted += 1;
            c.wanted
        };
        handoff::wake(&self.wake);
        ticket
    }

    /// The state file checkpoints go to.
    pub fn checkpoint_path(&self) -> Option<&Path> {
        self.checkpoint_path.as_deref()
    }

    /// Waits until checkpoint `ticket` is written (or failed), at most
    /// `timeout`. Used at shutdown and before a reset.
    pub fn wait_checkpoint(&self, ticket: u64, timeout: Duration) -> Result<(), String> {
        let deadline = std::time::Instant::now() + timeout;
        let mut c = self
            .shared
            .checkpoints
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        while c.done < ticket {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(format!(
                    "checkpoint not written within {} s",
                    timeout.as_secs()
                ));
            }
            c = self
                .shared
                .checkpoint_done
                .wait_timeout(c, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        match &c.last_error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    pub fn stats(&self) -> PublishStats {
        let c = &self.shared.counters;
        let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        PublishStats {
            clients: get(&c.clients),
            accepted: get(&c.accepted),
            refused: get(&c.refused),
            dropped: get(&c.dropped),
            updates: get(&c.updates),
            merged: get(&c.merged),
            writer_cpu: Duration::from_nanos(get(&c.writer_cpu_ns)),
            last_resync: Duration::from_nanos(get(&c.last_resync_ns)),
            last_resync_bytes: get(&c.last_resync_bytes),
            last_update_bytes: get(&c.last_update_bytes),
        }
    }
}

impl Drop for PublishHandle {
    fn drop(&mut self) {
        self.shared.close();
        handoff::wake(&self.wake);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
