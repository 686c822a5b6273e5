//! localaddrs: which addresses are local (`counting.md` §5) while capd
//! runs: every `-l` network, which never goes away, plus each captured
//! interface's own addresses (every interface's for `any`), followed as
//! they are added and removed.
//!
//! An interface address counts as that one host address (/32 or /128),
//! not as its whole subnet: the same meaning capd gave the addresses it
//! read at start before it followed them; give `-l` for a subnet.
//!
//! [`AddrWatch::open`] makes a NETLINK_ROUTE socket subscribed to the IPv4
//! and IPv6 address groups while capd is still privileged (the sandbox has
//! no socket(2) or bind(2)); afterwards only recvmsg(2) and sendto(2) on
//! it are needed. Subscribing first and dumping second means no change
//! falls between the two. The live loop polls the socket with the capture
//! handles and calls [`AddrWatch::update`] when it is readable, before it
//! reads packets, so packets captured after a change are judged by it.
//! Counters already counted never change.

pub mod netlink;
pub mod table;

use std::io::IoSliceMut;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use common::net::{LocalNet, LocalNets};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    bind, getsockname, recvmsg, sendto, setsockopt, socket, sockopt, AddressFamily, MsgFlags,
    NetlinkAddr, SockFlag, SockProtocol, SockType,
};

pub use table::Scope;
use table::{AddrTable, DumpEnd};

#[derive(Debug, thiserror::Error)]
pub enum AddrWatchError {
    #[error("cannot open a netlink socket to follow interface addresses: {0}")]
    Socket(Errno),
    #[error("cannot subscribe to interface address changes: {0}")]
    Bind(Errno),
    #[error("cannot find the index of interface {name} ({source}): its addresses are not local")]
    Index { name: String, source: Errno },
}

/// `RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR` (`linux/rtnetlink.h`).
const GROUPS: u32 = 0x10 | 0x100;
/// The largest datagram the kernel sends a reader with a buffer this big
/// is 32 KiB (a dump part); anything longer than the buffer is detected
/// (MSG_TRUNC) and repaired by a new dump.
const BUF: usize = 64 << 10;
/// Datagrams read per call, so that a flood of address changes cannot keep
/// the loop from the packets; the rest waits for the next call.
const READS_PER_CALL: usize = 256;
/// A new dump is asked for at most this often (a failing one is retried).
const DUMP_EVERY: Duration = Duration::from_secs(1);
/// Warnings about bad netlink data logged before going quiet.
const MAX_WARNINGS: u32 = 20;

/// The interface-address follower (see the module docs).
pub struct AddrWatch {
    fd: OwnedFd,
    /// Our netlink port: the kernel's replies to our dump carry it.
    port: u32,
    table: AddrTable,
    /// The `-l` networks.
    base: LocalNets,
    buf: Box<[u8]>,
    seq: u32,
    /// A dump is needed (start, an overrun, an interrupted or failed
    /// dump) and has not been asked for yet.
    want_dump: bool,
    last_dump: Option<Instant>,
    warnings: u32,
    log: Box<dyn FnMut(&str)>,
    /// Where changes of the local networks are told (`--verbose`).
    info: Box<dyn FnMut(&str)>,
}

impl AddrWatch {
    /// Resolves the interfaces and subscribes to address changes. Call
    /// before the privilege drop, after the captures are open (so the
    /// interfaces exist). `any` among `interfaces` means every interface.
    /// Warnings go to `log`, changes of the local networks to `info`.
    pub fn open(
        interfaces: &[&str],
        base: LocalNets,
        mut log: Box<dyn FnMut(&str)>,
        info: Box<dyn FnMut(&str)>,
    ) -> Result<AddrWatch, AddrWatchError> {
        let scope = if interfaces.contains(&"any") {
            Scope::All
        } else {
            let mut v = Vec::with_capacity(interfaces.len());
            for &name in interfaces {
                match nix::net::if_::if_nametoindex(name) {
                    Ok(i) => v.push(i),
                    // a libpcap device that is not a network interface
                    // has no addresses to follow; capturing goes on
                    Err(source) => log(&AddrWatchError::Index {
                        name: name.to_owned(),
                        source,
                    }
                    .to_string()),
                }
            }
            Scope::Indexes(v)
        };
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkRoute,
        )
        .map_err(AddrWatchError::Socket)?;
        // A larger buffer makes overruns rarer; rmem_max caps it and a
        // refusal only means more resyncs, so the result is ignored.
        let _ = setsockopt(&fd, sockopt::RcvBuf, &(1 << 20));
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, GROUPS)).map_err(AddrWatchError::Bind)?;
        let port = getsockname::<NetlinkAddr>(fd.as_raw_fd())
            .map_err(AddrWatchError::Bind)?
            .pid();
        Ok(AddrWatch {
            fd,
            port,
            table: AddrTable::new(scope),
            base,
            buf: vec![0u8; BUF].into_boxed_slice(),
            seq: 0,
            want_dump: true,
            last_dump: None,
            warnings: 0,
            log,
            info,
        })
    }

    /// The socket, for poll.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The local networks now: every `-l`, then each interface address as
    /// a host network.
    pub fn local(&self) -> LocalNets {
        let mut l = self.base.clone();
        for a in self.table.addresses() {
            let bits = if a.is_ipv4() { 32 } else { 128 };
            if let Ok(n) = LocalNet::new(a, bits) {
                l.push(n);
            }
        }
        l
    }

    /// The first dump: waits until it is complete (or `timeout` passes,
    /// with a warning; it then completes later in the loop) and returns
    /// the local networks. Call after the privilege drop: the kernel's
    /// bytes are parsed only inside the sandbox.
    pub fn start(&mut self, timeout: Duration) -> LocalNets {
        let deadline = Instant::now() + timeout;
        self.update();
        while self.table.dumping() || self.want_dump {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                self.warn(
                    "interface addresses not known yet: until they are, only -l networks are local",
                );
                break;
            }
            let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
            let mut p = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
            match poll(&mut p, PollTimeout::from(ms)) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => {
                    self.warn(&format!("cannot wait for interface addresses: {e}"));
                    break;
                }
            }
            self.update();
        }
        self.local()
    }

    /// Reads what the kernel sent (never blocks); returns the new local
    /// networks when they changed.
    pub fn update(&mut self) -> Option<LocalNets> {
        let mut changed = false;
        for _ in 0..READS_PER_CALL {
            let got = {
                let mut iov = [IoSliceMut::new(&mut self.buf)];
                recvmsg::<NetlinkAddr>(
                    self.fd.as_raw_fd(),
                    &mut iov,
                    None,
                    MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_TRUNC,
                )
                .map(|r| {
                    (
                        r.bytes,
                        r.flags.contains(MsgFlags::MSG_TRUNC),
                        r.address.map(|a| a.pid()),
                    )
                })
            };
            match got {
                Ok((0, _, _)) => break,
                Ok((_, true, _)) => {
                    self.warn(
                        "a netlink datagram did not fit the buffer: re-reading all addresses",
                    );
                    self.want_dump = true;
                }
                // Only the kernel (port 0) speaks for the addresses; a
                // datagram from another socket is dropped unread.
                Ok((_, false, from)) if from != Some(0) => {
                    self.warn(&format!(
                        "ignoring a netlink datagram from port {from:?}, not the kernel"
                    ));
                }
                Ok((n, false, _)) => changed |= self.handle(n),
                Err(Errno::EAGAIN) => break,
                Err(Errno::EINTR) => {}
                Err(Errno::ENOBUFS) => {
                    // notifications were dropped: what we hold may be stale
                    self.warn("missed interface address changes (netlink buffer overrun): re-reading all addresses");
                    self.want_dump = true;
                }
                Err(e) => {
                    self.warn(&format!("cannot read interface address changes: {e}"));
                    break;
                }
            }
        }
        self.maybe_dump();
        if !changed {
            return None;
        }
        let local = self.local();
        let text: Vec<String> = local.nets().iter().map(|n| n.to_string()).collect();
        (self.info)(&format!("local networks now: {}", text.join(" ")));
        Some(local)
    }

    fn handle(&mut self, n: usize) -> bool {
        let mut warnings = Vec::new();
        let h = self
            .table
            .handle(&self.buf[..n.min(self.buf.len())], &mut |m: &str| {
                warnings.push(m.to_owned())
            });
        for w in warnings {
            self.warn(&w);
        }
        if h.overrun {
            self.want_dump = true;
        }
        match h.dump {
            Some(DumpEnd::Complete { consistent: false }) => self.want_dump = true,
            Some(DumpEnd::Failed(e)) => {
                self.warn(&format!(
                    "reading the interface addresses failed: {}",
                    Errno::from_raw(e.saturating_neg())
                ));
                self.want_dump = true;
            }
            _ => {}
        }
        h.changed
    }

    /// Asks for a dump when one is needed, none is running and the last
    /// was long enough ago.
    fn maybe_dump(&mut self) {
        if !self.want_dump
            || self.table.dumping()
            || self.last_dump.is_some_and(|t| t.elapsed() < DUMP_EVERY)
        {
            return;
        }
        self.seq = self.seq.wrapping_add(1);
        self.last_dump = Some(Instant::now());
        let req = netlink::dump_request(self.seq);
        match sendto(
            self.fd.as_raw_fd(),
            &req,
            &NetlinkAddr::new(0, 0),
            MsgFlags::MSG_DONTWAIT,
        ) {
            Ok(_) => {
                self.want_dump = false;
                self.table.begin_dump(self.seq, self.port);
            }
            Err(e) => self.warn(&format!("cannot ask for the interface addresses: {e}")),
        }
    }

    /// Logs, up to a limit: bad data repeats, and the log must not fill.
    fn warn(&mut self, msg: &str) {
        self.warnings = self.warnings.saturating_add(1);
        if self.warnings < MAX_WARNINGS {
            (self.log)(msg);
        } else if self.warnings == MAX_WARNINGS {
            (self.log)(&format!(
                "{msg} (further interface-address warnings are not logged)"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::io::Write;
    use std::process::{Command, Stdio};
    use std::rc::Rc;

    use super::*;

    /// A network namespace made for one test, removed on drop.
    struct Netns(String);

    impl Netns {
        fn new(tag: &str) -> Netns {
            let name = format!("dsnl{tag}{}", std::process::id() % 100_000);
            let ok = |args: &[&str]| {
                let st = Command::new("ip").args(args).status().unwrap();
                assert!(st.success(), "ip {args:?}");
            };
            ok(&["netns", "add", &name]);
            let ns = Netns(name);
            ok(&["-n", &ns.0, "link", "set", "lo", "up"]);
            ns
        }

        /// Moves the calling thread (only it) into the namespace.
        fn enter(&self) {
            let f = std::fs::File::open(format!("/run/netns/{}", self.0)).unwrap();
            // SAFETY: `f` is an open namespace file for the whole call;
            // setns changes only this thread's network namespace.
            let r = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(r, 0, "setns: {}", std::io::Error::last_os_error());
        }
    }

    impl Drop for Netns {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
        }
    }

    #[test]
    fn an_overrun_is_repaired_by_a_new_dump() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: needs root for a network namespace (CI runs as root)");
            return;
        }
        let ns = Netns::new("o");
        let name = ns.0.clone();
        // a thread of its own: setns moves only it; the namespace is
        // removed when the thread is done with it, even on failure
        std::thread::spawn(move || {
            ns.enter();
            let warnings = Rc::new(RefCell::new(Vec::<String>::new()));
            let w = Rc::clone(&warnings);
            let mut watch = AddrWatch::open(
                &["lo"],
                LocalNets::new(vec!["192.0.2.0/24".parse().unwrap()]),
                Box::new(move |m: &str| w.borrow_mut().push(m.to_owned())),
                Box::new(|_: &str| {}),
            )
            .unwrap();
            let first = watch.start(Duration::from_secs(5));
            let text: Vec<String> = first.nets().iter().map(|n| n.to_string()).collect();
            assert_eq!(text, ["192.0.2.0/24", "127.0.0.1/32", "::1/128"]);
            // the smallest receive buffer, then far more notifications
            // than fit, unread: the kernel drops some and says ENOBUFS
            setsockopt(&watch.fd, sockopt::RcvBuf, &0).unwrap();
            let batch: String = (0..300)
                .map(|i| format!("addr add 10.99.{}.{}/32 dev lo\n", i / 250, i % 250 + 1))
                .collect();
            let mut ip = Command::new("ip")
                .args(["-n", &name, "-batch", "-"])
                .stdin(Stdio::piped())
                .spawn()
                .unwrap();
            ip.stdin
                .take()
                .unwrap()
                .write_all(batch.as_bytes())
                .unwrap();
            assert!(ip.wait().unwrap().success());
            let t0 = Instant::now();
            let mut last = first;
            while last.nets().len() != 3 + 300 && t0.elapsed() < Duration::from_secs(10) {
                if let Some(l) = watch.update() {
                    last = l;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let w = warnings.borrow();
            assert!(
                w.iter().any(|m| m.contains("overrun")),
                "no overrun happened: {w:?}"
            );
            assert_eq!(last.nets().len(), 3 + 300, "{w:?}");
            assert!(last.nets().contains(&"10.99.1.50/32".parse().unwrap()));
            assert!(last.nets().contains(&"192.0.2.0/24".parse().unwrap()));
        })
        .join()
        .unwrap();
    }
}
