//! feed: the one-way channel from darkstat-capd. Connects to capd's Unix
//! socket, reads size-checked frames (`common::ipc`), rebuilds the current
//! [`Snapshot`] and publishes it to the request handlers through a
//! `tokio::sync::watch` channel. Reconnects by itself when capd goes away.
//!
//! The feed runs on a thread of its own (a resync of a million hosts is
//! seconds of work that must not hold up an HTTP worker) and never writes
//! to the socket. A snapshot is built once per update capd sends
//! (`assemble`), and a published snapshot is never changed.

mod assemble;

use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::ipc::{FrameDecoder, FrameError, SessionError, UpdateBuilder};
use common::model::Snapshot;
use tokio::sync::watch;

pub use assemble::{AssembleError, Assembler};

/// What the pages know about capd at one moment. Handlers clone the `Arc`
/// out of the watch channel and never wait on the feed.
#[derive(Clone, Debug, Default)]
pub struct FeedState {
    /// The latest complete statistics, if any arrived yet.
    pub snapshot: Option<Arc<Snapshot>>,
    /// Whether the connection to capd is up right now.
    pub connected: bool,
    /// When the last update arrived.
    pub updated_at: Option<SystemTime>,
    /// Since when capd has been unreachable (`None` while connected).
    pub down_since: Option<SystemTime>,
    /// Why the last connection attempt or read failed (for the log and the
    /// banner; never contains bytes from the socket).
    pub last_error: Option<String>,
}

/// The receiving end handlers read from.
pub type FeedRx = tokio::sync::watch::Receiver<Arc<FeedState>>;

/// How the feed waits and retries.
#[derive(Clone, Debug)]
pub struct FeedOptions {
    /// First pause before reconnecting; doubles up to `backoff_max`.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// capd sends something at least every second (`Keepalive`); silence
    /// this long means it is stuck, and counts as down.
    pub read_timeout: Duration,
    /// Whole snapshots kept for reuse (see `assemble`).
    pub buffers: usize,
}

impl Default for FeedOptions {
    fn default() -> Self {
        FeedOptions {
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(2),
            read_timeout: Duration::from_secs(5),
            buffers: 3,
        }
    }
}

/// Runs the feed until every receiver of `tx` is gone. The work happens
/// on a thread of its own; this future only waits for it to end.
pub async fn run(path: PathBuf, tx: watch::Sender<Arc<FeedState>>) {
    run_with(path, tx, FeedOptions::default()).await
}

pub async fn run_with(path: PathBuf, tx: watch::Sender<Arc<FeedState>>, opts: FeedOptions) {
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let spawned = std::thread::Builder::new()
        .name("feed".into())
        .spawn(move || {
            run_blocking(&path, &tx, &opts);
            let _ = done_tx.send(());
        });
    match spawned {
        Ok(_) => {
            let _ = done_rx.await;
        }
        Err(e) => eprintln!("darkstat-webd: feed: cannot start its thread: {e}"),
    }
}

/// The feed loop on the calling thread; returns when every receiver of
/// `tx` is gone.
pub fn run_blocking(path: &Path, tx: &watch::Sender<Arc<FeedState>>, opts: &FeedOptions) {
    let mut feed = Feed {
        tx,
        opts,
        assembler: Assembler::new(opts.buffers),
        logged_down: false,
    };
    let mut backoff = opts.backoff_min;
    while !tx.is_closed() {
        let err = match UnixStream::connect(path) {
            Ok(s) => match feed.session(s) {
                Ok(()) => return,
                Err(e) => {
                    if e.had_updates {
                        backoff = opts.backoff_min;
                    }
                    e.reason
                }
            },
            Err(e) => format!("cannot connect to {}: {e}", path.display()),
        };
        feed.down(err);
        sleep_unless_closed(tx, backoff);
        backoff = (backoff * 2).min(opts.backoff_max);
    }
}

fn sleep_unless_closed(tx: &watch::Sender<Arc<FeedState>>, d: Duration) {
    let step = Duration::from_millis(100);
    let mut left = d;
    while !left.is_zero() && !tx.is_closed() {
        let s = left.min(step);
        std::thread::sleep(s);
        left -= s;
    }
}

struct SessionEnd {
    reason: String,
    /// The session delivered data (so capd is healthy: retry quickly).
    had_updates: bool,
}

#[derive(Debug, thiserror::Error)]
enum StreamError {
    #[error("{0}")]
    Frame(#[from] FrameError),
    #[error("{0}")]
    Session(#[from] SessionError),
    #[error("{0}")]
    Assemble(#[from] AssembleError),
}

struct Feed<'a> {
    tx: &'a watch::Sender<Arc<FeedState>>,
    opts: &'a FeedOptions,
    assembler: Assembler,
    logged_down: bool,
}

impl Feed<'_> {
    /// Reads one connection until it fails (or nobody listens any more).
    fn session(&mut self, mut s: UnixStream) -> Result<(), SessionEnd> {
        let mut had_updates = false;
        let end = |reason: String, had_updates| SessionEnd {
            reason,
            had_updates,
        };
        s.set_read_timeout(Some(self.opts.read_timeout))
            .map_err(|e| end(format!("socket: {e}"), false))?;
        let mut dec = FrameDecoder::new();
        let mut builder = UpdateBuilder::new();
        let mut buf = vec![0u8; 256 << 10];
        loop {
            if self.tx.is_closed() {
                return Ok(());
            }
            let n = match s.read(&mut buf) {
                Ok(0) => return Err(end("capd closed the connection".into(), had_updates)),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    let secs = self.opts.read_timeout.as_secs_f64();
                    return Err(end(format!("no data from capd for {secs} s"), had_updates));
                }
                Err(e) => return Err(end(format!("reading from capd: {e}"), had_updates)),
            };
            let r = self.take(&mut dec, &mut builder, &buf[..n], &mut had_updates);
            if let Err(e) = r {
                return Err(end(format!("bad data from capd: {e}"), had_updates));
            }
        }
    }

    /// Feeds bytes, applies every update they complete, publishes.
    fn take(
        &mut self,
        dec: &mut FrameDecoder,
        builder: &mut UpdateBuilder,
        bytes: &[u8],
        had_updates: &mut bool,
    ) -> Result<(), StreamError> {
        dec.feed(bytes)?;
        while let Some(msg) = dec.next_message()? {
            if let Some(update) = builder.push(msg)? {
                let snap = self.assembler.commit(update)?;
                *had_updates = true;
                self.up(snap);
            }
        }
        Ok(())
    }

    fn up(&mut self, snap: Arc<Snapshot>) {
        if self.logged_down {
            eprintln!("darkstat-webd: feed: connected to capd");
            self.logged_down = false;
        }
        self.tx.send_replace(Arc::new(FeedState {
            snapshot: Some(snap),
            connected: true,
            updated_at: Some(SystemTime::now()),
            down_since: None,
            last_error: None,
        }));
    }

    /// Keeps the last snapshot (pages may show it under the banner).
    fn down(&mut self, reason: String) {
        let old = self.tx.borrow().clone();
        if !old.connected && old.down_since.is_some() && old.last_error.as_ref() == Some(&reason) {
            // the same failure again: no news for the handlers
            return;
        }
        if !self.logged_down {
            eprintln!("darkstat-webd: feed: capd not reachable: {reason}");
            self.logged_down = true;
        }
        self.tx.send_replace(Arc::new(FeedState {
            snapshot: old.snapshot.clone(),
            connected: false,
            updated_at: old.updated_at,
            down_since: Some(old.down_since.unwrap_or_else(SystemTime::now)),
            last_error: Some(reason),
        }));
    }
}
