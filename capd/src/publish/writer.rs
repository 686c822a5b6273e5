//! The writer thread: accepts readers, checks who they are, and writes the
//! frames of every update to each of them without ever waiting on one.
//!
//! Sockets are written with `MSG_DONTWAIT`; what does not fit stays in the
//! reader's own buffer. A reader that makes no progress for
//! `stall_timeout`, or falls further behind than `max_backlog`, is
//! disconnected (it resynchronises when it comes back). Readers are never
//! read from: `poll` only asks whether they can take more bytes, and the
//! kernel reports hang-ups on its own.

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::ipc::{encode_frame, Hello, Message};

use super::handoff::{self, Shared};
use super::mirror::Mirror;
use super::socket::{self, Bound, PeerCred, PeerPolicy};
use super::PublishOptions;

struct Client {
    stream: UnixStream,
    peer: PeerCred,
    out: Vec<u8>,
    /// Bytes of `out` already written.
    sent: usize,
    synced: bool,
    /// Bytes this reader may be behind beyond `max_backlog` (its resync).
    allowance: usize,
    last_progress: Instant,
    last_queued: Instant,
}

impl Client {
    fn pending(&self) -> usize {
        self.out.len() - self.sent
    }

    fn queue(&mut self, bytes: &[u8], now: Instant) {
        if self.pending() == 0 {
            // nothing was waiting, so the reader is not behind
            self.last_progress = now;
        }
        self.out.extend_from_slice(bytes);
        self.last_queued = now;
    }

    /// Writes what the socket takes. Err means the reader is gone.
    fn flush(&mut self, now: Instant) -> io::Result<()> {
        while self.sent < self.out.len() {
            match send(&self.stream, &self.out[self.sent..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.sent += n;
                    self.last_progress = now;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.sent == self.out.len() {
            self.out.clear();
            self.sent = 0;
            if self.out.capacity() > 4 << 20 {
                // a resync's buffer is not kept for the small updates
                self.out.shrink_to(1 << 20);
            }
        } else if self.sent > (1 << 20) && self.sent * 2 > self.out.len() {
            self.out.drain(..self.sent);
            self.sent = 0;
        }
        Ok(())
    }
}

/// A non-blocking send that cannot raise SIGPIPE.
fn send(s: &UnixStream, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is a live slice of `buf.len()` bytes and the fd is owned
    // by `s` for the duration of the call.
    let n = unsafe {
        libc::send(
            s.as_raw_fd(),
            buf.as_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

fn poll(fds: &mut [libc::pollfd], timeout: Duration) -> io::Result<()> {
    let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
    // SAFETY: `fds` is a live, exclusively borrowed slice of `fds.len()`
    // pollfd structures.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    Ok(())
}

/// CPU time used by the calling thread.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a live local the kernel writes one timespec into.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Logs at most one line per `every`, counting what it held back.
struct Throttle {
    every: Duration,
    last: Option<Instant>,
    held: u64,
}

impl Throttle {
    fn new(every: Duration) -> Self {
        Throttle {
            every,
            last: None,
            held: 0,
        }
    }

    fn log(&mut self, opts: &PublishOptions, now: Instant, msg: &str) {
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < self.every)
        {
            self.held += 1;
            return;
        }
        if self.held > 0 {
            (opts.log)(&format!("{msg} (and {} more like it)", self.held));
        } else {
            (opts.log)(msg);
        }
        self.held = 0;
        self.last = Some(now);
    }
}

pub struct Writer {
    listener: UnixListener,
    bound: (std::path::PathBuf, u64, u64),
    wake: UnixStream,
    shared: Arc<Shared>,
    policy: PeerPolicy,
    opts: PublishOptions,
    hello: Vec<u8>,
    mirror: Mirror,
    clients: Vec<Client>,
    frames: Vec<u8>,
    refusals: Throttle,
    drops: Throttle,
}

impl Writer {
    pub fn new(
        bound: Bound,
        wake: UnixStream,
        shared: Arc<Shared>,
        policy: PeerPolicy,
        opts: PublishOptions,
        hello: Hello,
    ) -> Result<Self, common::ipc::EncodeError> {
        let mut hello_frame = Vec::new();
        encode_frame(&Message::Hello(hello), &mut hello_frame)?;
        Ok(Writer {
            listener: bound.listener,
            bound: (bound.path, bound.dev, bound.ino),
            wake,
            shared,
            policy,
            opts,
            hello: hello_frame,
            mirror: Mirror::new(),
            clients: Vec::new(),
            frames: Vec::new(),
            refusals: Throttle::new(Duration::from_secs(10)),
            drops: Throttle::new(Duration::from_secs(10)),
        })
    }

    pub fn run(mut self) {
        let cpu0 = thread_cpu();
        let mut fds: Vec<libc::pollfd> = Vec::new();
        while !self.shared.is_closed() {
            fds.clear();
            fds.push(pollfd(self.wake.as_raw_fd(), libc::POLLIN));
            fds.push(pollfd(self.listener.as_raw_fd(), libc::POLLIN));
            for c in &self.clients {
                let ev = if c.pending() > 0 { libc::POLLOUT } else { 0 };
                fds.push(pollfd(c.stream.as_raw_fd(), ev));
            }
            if let Err(e) = poll(&mut fds, self.opts.poll_interval) {
                (self.opts.log)(&format!("publish: poll failed: {e}"));
                std::thread::sleep(self.opts.poll_interval);
            }
            let now = Instant::now();
            // Readers the kernel reports as gone, before anything is queued
            // for them.
            let hung: Vec<bool> = fds[2..]
                .iter()
                .map(|f| f.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0)
                .collect();
            let mut i = 0;
            self.clients.retain(|_| {
                i += 1;
                !hung[i - 1]
            });
            handoff::drain(&self.wake);
            self.update(now);
            self.checkpoint();
            self.accept(now);
            self.service(now);
            let c = &self.shared.counters;
            c.clients
                .store(self.clients.len() as u64, Ordering::Relaxed);
            c.writer_cpu_ns.store(
                thread_cpu().saturating_sub(cpu0).as_nanos() as u64,
                Ordering::Relaxed,
            );
        }
        let (path, dev, ino) = &self.bound;
        socket::unlink_if_ours(path, *dev, *ino);
    }

    /// Writes the state file when asked: the mirror's full resync, wrapped
    /// by `persist::state`. Runs here so the capture thread never waits.
    fn checkpoint(&mut self) {
        let wanted = {
            let c = self
                .shared
                .checkpoints
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if c.wanted == c.done {
                return;
            }
            c.wanted
        };
        let result = match &self.opts.checkpoint {
            None => Err("no state file configured".to_string()),
            Some(path) => {
                let mut payload = Vec::new();
                match self.mirror.resync(&mut payload) {
                    Ok(true) => crate::persist::state::write_atomic(
                        path,
                        &crate::persist::state::encode(&payload),
                    )
                    .map_err(|e| e.to_string()),
                    Ok(false) => Err("nothing published yet".to_string()),
                    Err(e) => Err(e.to_string()),
                }
            }
        };
        if let Err(e) = &result {
            (self.opts.log)(&format!("checkpoint failed: {e}"));
        }
        let mut c = self
            .shared
            .checkpoints
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        c.done = wanted;
        c.last_error = result.err();
        self.shared.checkpoint_done.notify_all();
    }

    /// Applies the waiting changes and queues their frames.
    fn update(&mut self, now: Instant) {
        let Some(ch) = self.shared.take() else {
            return;
        };
        self.frames.clear();
        if let Err(e) = self.mirror.apply(ch, &mut self.frames) {
            // The readers would go out of step: drop them (they come back
            // for a resync) and get every host again.
            (self.opts.log)(&format!("publish: update lost, starting over: {e}"));
            self.clients.clear();
            self.shared.want_reset();
            return;
        }
        let c = &self.shared.counters;
        c.updates.fetch_add(1, Ordering::Relaxed);
        c.last_update_bytes
            .store(self.frames.len() as u64, Ordering::Relaxed);
        for cl in self.clients.iter_mut().filter(|c| c.synced) {
            cl.queue(&self.frames, now);
        }
    }

    fn accept(&mut self, now: Instant) {
        loop {
            let stream = match self.listener.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // e.g. out of descriptors: try again at the next round
                    self.refusals
                        .log(&self.opts, now, &format!("publish: accept failed: {e}"));
                    return;
                }
            };
            let counters = &self.shared.counters;
            let peer = match socket::peer_cred(&stream) {
                Ok(p) => p,
                Err(e) => {
                    counters.refused.fetch_add(1, Ordering::Relaxed);
                    let msg = format!("publish: refused a reader: no credentials ({e})");
                    self.refusals.log(&self.opts, now, &msg);
                    continue;
                }
            };
            if !self.policy.allows(peer, socket::effective_uid()) {
                counters.refused.fetch_add(1, Ordering::Relaxed);
                let msg = format!(
                    "publish: refused a reader: pid {} uid {} gid {} is not allowed",
                    peer.pid, peer.uid, peer.gid
                );
                self.refusals.log(&self.opts, now, &msg);
                continue;
            }
            if self.clients.len() >= self.opts.max_clients {
                counters.refused.fetch_add(1, Ordering::Relaxed);
                let msg = format!(
                    "publish: refused a reader (pid {}): {} readers already",
                    peer.pid,
                    self.clients.len()
                );
                self.refusals.log(&self.opts, now, &msg);
                continue;
            }
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            counters.accepted.fetch_add(1, Ordering::Relaxed);
            let mut c = Client {
                stream,
                peer,
                out: Vec::new(),
                sent: 0,
                synced: false,
                allowance: 0,
                last_progress: now,
                last_queued: now,
            };
            c.queue(&self.hello, now);
            self.clients.push(c);
        }
    }

    /// Resyncs new readers, writes, and drops the stuck ones.
    fn service(&mut self, now: Instant) {
        let opts = &self.opts;
        let mirror = &self.mirror;
        let counters = &self.shared.counters;
        let drops = &mut self.drops;
        self.clients.retain_mut(|c| {
            if !c.synced && mirror.ready() {
                let t0 = Instant::now();
                // A fresh buffer of the right size: growing the small one
                // that holds the Hello costs far more (glibc's realloc).
                let mut buf = Vec::with_capacity(c.pending() + mirror.resync_size_hint());
                buf.extend_from_slice(&c.out[c.sent..]);
                let before = buf.len();
                match mirror.resync(&mut buf) {
                    Ok(true) => {
                        let bytes = buf.len() - before;
                        c.out = buf;
                        c.sent = 0;
                        c.synced = true;
                        c.allowance = bytes;
                        c.last_queued = now;
                        counters
                            .last_resync_ns
                            .store(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
                        counters
                            .last_resync_bytes
                            .store(bytes as u64, Ordering::Relaxed);
                    }
                    Ok(false) => {}
                    Err(e) => {
                        (opts.log)(&format!("publish: cannot encode a resync: {e}"));
                        return false;
                    }
                }
            }
            if c.pending() == 0 && now.duration_since(c.last_queued) >= opts.keepalive {
                let mut k = Vec::new();
                if encode_frame(&Message::Keepalive, &mut k).is_ok() {
                    c.queue(&k, now);
                }
            }
            if c.flush(now).is_err() {
                return false;
            }
            let why = if c.pending() > 0 && now.duration_since(c.last_progress) > opts.stall_timeout
            {
                "stopped reading"
            } else if c.pending() > c.allowance.saturating_add(opts.max_backlog) {
                "too far behind"
            } else {
                return true;
            };
            counters.dropped.fetch_add(1, Ordering::Relaxed);
            let msg = format!(
                "publish: disconnected reader pid {}: {why} ({} bytes waiting)",
                c.peer.pid,
                c.pending()
            );
            drops.log(opts, now, &msg);
            false
        });
    }
}

fn pollfd(fd: i32, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}
