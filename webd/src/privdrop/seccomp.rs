//! The seccomp allow-list: the system calls webd makes after start-up
//! (actix's acceptor and workers, tokio's blocking pool, the feed's
//! reconnects to capd, the DNS client's UDP sockets, signals and memory)
//! and nothing else; any other call kills the process (SIGSYS). Found with
//! `strace -f` on a busy webd (pages, wrk, reverse DNS against a fake
//! server, capd going away and coming back, SIGTERM) and checked by
//! tests/sandbox.rs.
//!
//! Where the arguments say what a call does, they are checked too: new
//! sockets only for the DNS client (UDP) and the feed (UNIX stream); no
//! executable memory; threads but never processes; ioctl, fcntl, prctl,
//! setsockopt and getsockopt only for the few requests webd makes.
//! Executing programs, listening, changing ids, ptrace, mounting,
//! namespaces, io_uring, BPF, keyrings and the like are all absent.

use nix::libc;
use sandbox::seccomp::{allow_list, eq, masked, refuse_with, rule, unconditional, Rules};
use seccompiler::BpfProgram;

/// How a system call gets through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allowed {
    /// With any arguments.
    Always,
    /// Only with the arguments described.
    Only(&'static str),
    /// Answered ENOSYS without running, so that glibc falls back to a
    /// call whose arguments can be checked (`clone3` → `clone`).
    Enosys,
}

/// Calls allowed with any arguments, by purpose.
fn unconditional_calls() -> Vec<(i64, &'static str)> {
    let mut v = vec![
        // I/O on descriptors that exist: HTTP connections, the feed, DNS
        // sockets, stderr.
        (libc::SYS_read, "read"),
        (libc::SYS_write, "write"),
        (libc::SYS_writev, "writev"),
        (libc::SYS_close, "close"),
        (libc::SYS_recvfrom, "recvfrom"),
        (libc::SYS_sendto, "sendto"),
        (libc::SYS_accept4, "accept4"),
        (libc::SYS_shutdown, "shutdown"),
        (libc::SYS_getsockname, "getsockname"),
        (libc::SYS_getpeername, "getpeername"),
        // The DNS client binds its UDP socket to port 0 and connects it to
        // a name server; the feed connects to capd's socket. What sockets
        // can exist is limited by the socket() rule below, and Landlock
        // refuses TCP bind and connect.
        (libc::SYS_bind, "bind"),
        (libc::SYS_connect, "connect"),
        // Landlock answers every open with EACCES; allowed here so that
        // code probing an optional file (glibc's malloc) fails softly.
        (libc::SYS_openat, "openat"),
        // memory
        (libc::SYS_brk, "brk"),
        (libc::SYS_munmap, "munmap"),
        (libc::SYS_mremap, "mremap"),
        (libc::SYS_madvise, "madvise"),
        // threads (tokio's blocking pool starts and ends them at any time)
        (libc::SYS_futex, "futex"),
        (libc::SYS_set_robust_list, "set_robust_list"),
        (libc::SYS_rseq, "rseq"),
        (libc::SYS_sched_getaffinity, "sched_getaffinity"),
        (libc::SYS_sched_yield, "sched_yield"),
        (libc::SYS_gettid, "gettid"),
        (libc::SYS_getpid, "getpid"),
        // --exit-with-parent polls it once a second
        (libc::SYS_getppid, "getppid"),
        (libc::SYS_exit, "exit"),
        (libc::SYS_exit_group, "exit_group"),
        // event loops
        (libc::SYS_epoll_create1, "epoll_create1"),
        (libc::SYS_epoll_ctl, "epoll_ctl"),
        (libc::SYS_epoll_pwait, "epoll_pwait"),
        (libc::SYS_eventfd2, "eventfd2"),
        // time
        (libc::SYS_clock_gettime, "clock_gettime"),
        (libc::SYS_clock_nanosleep, "clock_nanosleep"),
        (libc::SYS_nanosleep, "nanosleep"),
        // signals (SIGTERM/SIGINT handling, stack-overflow guards)
        (libc::SYS_rt_sigaction, "rt_sigaction"),
        (libc::SYS_rt_sigprocmask, "rt_sigprocmask"),
        (libc::SYS_rt_sigreturn, "rt_sigreturn"),
        (libc::SYS_sigaltstack, "sigaltstack"),
        (libc::SYS_restart_syscall, "restart_syscall"),
        // DNS query ids, hash seeds
        (libc::SYS_getrandom, "getrandom"),
    ];
    #[cfg(target_arch = "x86_64")]
    v.push((libc::SYS_epoll_wait, "epoll_wait"));
    v
}

/// Every call the filter lets through, by name, and how.
pub fn allowed_syscalls() -> Vec<(&'static str, Allowed)> {
    let mut v: Vec<(&'static str, Allowed)> = unconditional_calls()
        .into_iter()
        .map(|(_, n)| (n, Allowed::Always))
        .collect();
    v.extend([
        (
            "socket",
            Allowed::Only(
                "AF_INET/AF_INET6 SOCK_DGRAM (UDP) for DNS; AF_UNIX SOCK_STREAM for the feed",
            ),
        ),
        (
            "setsockopt",
            Allowed::Only("SO_RCVTIMEO/SO_SNDTIMEO (feed), TCP_NODELAY"),
        ),
        ("getsockopt", Allowed::Only("SOL_SOCKET options")),
        (
            "fcntl",
            Allowed::Only("F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC"),
        ),
        ("ioctl", Allowed::Only("FIONBIO")),
        ("mmap", Allowed::Only("without PROT_EXEC")),
        ("mprotect", Allowed::Only("without PROT_EXEC")),
        (
            "clone",
            Allowed::Only("with CLONE_THREAD: threads, never processes"),
        ),
        ("clone3", Allowed::Enosys),
        ("prctl", Allowed::Only("PR_SET_NAME (thread names)")),
        ("tgkill", Allowed::Only("to webd's own threads (abort)")),
    ]);
    v
}

fn conditional(rules: &mut Rules) -> Result<(), sandbox::Error> {
    let c = |v: libc::c_int| v as u64;
    // socket(domain, type, protocol): the type's low bits are the kind,
    // the rest SOCK_CLOEXEC/SOCK_NONBLOCK. Protocol 0 or UDP only, so no
    // ICMP "ping" sockets either.
    const SOCK_TYPE_MASK: u64 = 0xf;
    let mut socket = Vec::new();
    for domain in [libc::AF_INET, libc::AF_INET6] {
        for proto in [0, libc::IPPROTO_UDP] {
            socket.push(rule(vec![
                eq(0, c(domain))?,
                masked(1, SOCK_TYPE_MASK, c(libc::SOCK_DGRAM))?,
                eq(2, c(proto))?,
            ])?);
        }
    }
    socket.push(rule(vec![
        eq(0, c(libc::AF_UNIX))?,
        masked(1, SOCK_TYPE_MASK, c(libc::SOCK_STREAM))?,
        eq(2, 0)?,
    ])?);
    rules.insert(libc::SYS_socket, socket);

    let opt = |level: libc::c_int, name: libc::c_int| rule(vec![eq(1, c(level))?, eq(2, c(name))?]);
    rules.insert(
        libc::SYS_setsockopt,
        vec![
            opt(libc::SOL_SOCKET, libc::SO_RCVTIMEO)?,
            opt(libc::SOL_SOCKET, libc::SO_SNDTIMEO)?,
            opt(libc::IPPROTO_TCP, libc::TCP_NODELAY)?,
        ],
    );
    rules.insert(
        libc::SYS_getsockopt,
        vec![rule(vec![eq(1, c(libc::SOL_SOCKET))?])?],
    );

    let mut fcntl = Vec::new();
    for cmd in [
        libc::F_GETFD,
        libc::F_SETFD,
        libc::F_GETFL,
        libc::F_SETFL,
        libc::F_DUPFD_CLOEXEC,
    ] {
        fcntl.push(rule(vec![eq(1, c(cmd))?])?);
    }
    rules.insert(libc::SYS_fcntl, fcntl);
    // The request's type differs between C libraries (c_ulong, c_int).
    #[allow(clippy::unnecessary_cast)]
    let fionbio = libc::FIONBIO as u64;
    rules.insert(libc::SYS_ioctl, vec![rule(vec![eq(1, fionbio)?])?]);

    // No new executable memory: webd loads no code after start.
    let no_exec = || rule(vec![masked(2, c(libc::PROT_EXEC), 0)?]);
    rules.insert(libc::SYS_mmap, vec![no_exec()?]);
    rules.insert(libc::SYS_mprotect, vec![no_exec()?]);

    // Threads only: a clone without CLONE_THREAD is fork, vfork or
    // posix_spawn. clone3 passes its flags in memory a filter cannot read,
    // so it is let through here and answered ENOSYS by the second filter.
    rules.insert(
        libc::SYS_clone,
        vec![rule(vec![masked(
            0,
            c(libc::CLONE_THREAD),
            c(libc::CLONE_THREAD),
        )?])?],
    );
    rules.insert(libc::SYS_clone3, Vec::new());

    rules.insert(
        libc::SYS_prctl,
        vec![rule(vec![eq(0, c(libc::PR_SET_NAME))?])?],
    );
    // abort() signals its own thread; nothing else is ever signalled.
    rules.insert(
        libc::SYS_tgkill,
        vec![rule(vec![eq(0, u64::from(std::process::id()))?])?],
    );
    Ok(())
}

/// The allow-list: anything not in it kills the process.
fn filter() -> Result<BpfProgram, sandbox::Error> {
    let mut rules = unconditional(&unconditional_calls());
    conditional(&mut rules)?;
    allow_list(rules)
}

/// clone3 → ENOSYS, everything else passes on to the allow-list, which
/// would let clone3 through (its flags are in memory no filter can read).
fn clone3_enosys() -> Result<BpfProgram, sandbox::Error> {
    refuse_with(&[libc::SYS_clone3], libc::ENOSYS)
}

/// Installs both filters on every thread (there is only one when this
/// runs); the allow-list last, because it does not allow seccomp() itself.
pub(super) fn install() -> Result<(), sandbox::Error> {
    sandbox::seccomp::install(&[clone3_enosys()?, filter()?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_compile() {
        assert!(!filter().unwrap().is_empty());
        assert!(!clone3_enosys().unwrap().is_empty());
    }

    #[test]
    fn dangerous_calls_are_absent_and_sockets_restricted() {
        let all = allowed_syscalls();
        let names: Vec<&str> = all.iter().map(|&(n, _)| n).collect();
        for forbidden in [
            "execve",
            "execveat",
            "fork",
            "vfork",
            "ptrace",
            "setuid",
            "setresuid",
            "setgroups",
            "capset",
            "mount",
            "unshare",
            "setns",
            "chroot",
            "listen",
            "kill",
            "bpf",
            "io_uring_setup",
            "userfaultfd",
            "keyctl",
            "seccomp",
            "memfd_create",
            "open",
            "pidfd_getfd",
            "process_vm_readv",
            "perf_event_open",
            "init_module",
        ] {
            assert!(
                !names.contains(&forbidden),
                "{forbidden} must not be allowed"
            );
        }
        for restricted in ["socket", "clone", "mmap", "mprotect", "ioctl", "prctl"] {
            let how = all.iter().find(|&&(n, _)| n == restricted).unwrap().1;
            assert!(matches!(how, Allowed::Only(_)), "{restricted}: {how:?}");
        }
        // every name is listed once, and the rules cover exactly the list
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
        let mut rules = unconditional(&unconditional_calls());
        conditional(&mut rules).unwrap();
        assert_eq!(rules.len(), names.len());
    }
}
