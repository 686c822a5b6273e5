//! The seccomp allow-list: the system calls capd makes after start-up
//! (capture loop, publisher thread, output files, signals, memory), and
//! nothing else. Any other call kills the process (SIGSYS). Creating
//! sockets, executing programs, changing ids or mounting are all absent.

use sandbox::seccomp::{allow_list, eq, rule, unconditional};
use seccompiler::BpfProgram;

/// Calls allowed with any arguments.
pub fn allowed_syscalls() -> &'static [(i64, &'static str)] {
    &[
        // I/O on descriptors opened before the drop, and output files
        // (Landlock limits which paths open at all)
        (libc::SYS_read, "read"),
        (libc::SYS_write, "write"),
        (libc::SYS_readv, "readv"),
        (libc::SYS_writev, "writev"),
        (libc::SYS_pread64, "pread64"),
        (libc::SYS_pwrite64, "pwrite64"),
        (libc::SYS_lseek, "lseek"),
        (libc::SYS_close, "close"),
        (libc::SYS_fstat, "fstat"),
        (libc::SYS_newfstatat, "newfstatat"),
        (libc::SYS_statx, "statx"),
        (libc::SYS_openat, "openat"),
        (libc::SYS_rename, "rename"),
        (libc::SYS_renameat, "renameat"),
        (libc::SYS_renameat2, "renameat2"),
        (libc::SYS_unlink, "unlink"),
        (libc::SYS_unlinkat, "unlinkat"),
        (libc::SYS_fsync, "fsync"),
        (libc::SYS_fdatasync, "fdatasync"),
        (libc::SYS_fcntl, "fcntl"),
        (libc::SYS_ioctl, "ioctl"),
        // capture and publishing on existing sockets
        (libc::SYS_poll, "poll"),
        (libc::SYS_ppoll, "ppoll"),
        (libc::SYS_getsockopt, "getsockopt"),
        // libpcap asks which interface a capture socket is bound to when
        // the interface goes away, to say so
        (libc::SYS_getsockname, "getsockname"),
        (libc::SYS_recvfrom, "recvfrom"),
        (libc::SYS_recvmsg, "recvmsg"),
        (libc::SYS_sendto, "sendto"),
        (libc::SYS_sendmsg, "sendmsg"),
        (libc::SYS_accept, "accept"),
        (libc::SYS_accept4, "accept4"),
        (libc::SYS_shutdown, "shutdown"),
        (libc::SYS_connect, "connect"),
        // memory
        (libc::SYS_brk, "brk"),
        (libc::SYS_mmap, "mmap"),
        (libc::SYS_munmap, "munmap"),
        (libc::SYS_mremap, "mremap"),
        (libc::SYS_mprotect, "mprotect"),
        (libc::SYS_madvise, "madvise"),
        // threads (the publisher) and their synchronisation
        (libc::SYS_clone, "clone"),
        (libc::SYS_clone3, "clone3"),
        (libc::SYS_futex, "futex"),
        (libc::SYS_set_robust_list, "set_robust_list"),
        (libc::SYS_rseq, "rseq"),
        (libc::SYS_sched_yield, "sched_yield"),
        (libc::SYS_sched_getaffinity, "sched_getaffinity"),
        (libc::SYS_prctl, "prctl"),
        (libc::SYS_gettid, "gettid"),
        (libc::SYS_getpid, "getpid"),
        (libc::SYS_getuid, "getuid"),
        (libc::SYS_geteuid, "geteuid"),
        (libc::SYS_getgid, "getgid"),
        (libc::SYS_getegid, "getegid"),
        (libc::SYS_getrandom, "getrandom"),
        // signals, the webd child, time
        (libc::SYS_rt_sigaction, "rt_sigaction"),
        (libc::SYS_rt_sigprocmask, "rt_sigprocmask"),
        (libc::SYS_rt_sigreturn, "rt_sigreturn"),
        (libc::SYS_sigaltstack, "sigaltstack"),
        (libc::SYS_tgkill, "tgkill"),
        (libc::SYS_kill, "kill"),
        (libc::SYS_wait4, "wait4"),
        (libc::SYS_waitid, "waitid"),
        (libc::SYS_restart_syscall, "restart_syscall"),
        (libc::SYS_clock_gettime, "clock_gettime"),
        (libc::SYS_clock_nanosleep, "clock_nanosleep"),
        (libc::SYS_nanosleep, "nanosleep"),
        (libc::SYS_gettimeofday, "gettimeofday"),
        (libc::SYS_exit, "exit"),
        (libc::SYS_exit_group, "exit_group"),
    ]
}

fn filter() -> Result<BpfProgram, sandbox::Error> {
    let mut rules = unconditional(allowed_syscalls());
    // setsockopt only to attach or detach a socket filter, which
    // SO_LOCK_FILTER then refuses: the lock, not this rule, is what keeps
    // the capture filter in place (two layers).
    let sol_socket = libc::SOL_SOCKET as u64;
    let on = |optname: libc::c_int| rule(vec![eq(1, sol_socket)?, eq(2, optname as u64)?]);
    rules.insert(
        libc::SYS_setsockopt,
        vec![on(libc::SO_ATTACH_FILTER)?, on(libc::SO_DETACH_FILTER)?],
    );
    allow_list(rules)
}

pub(super) fn install() -> Result<(), sandbox::Error> {
    sandbox::seccomp::install(&[filter()?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_compiles_and_leaves_out_dangerous_calls() {
        let f = filter().unwrap();
        assert!(!f.is_empty());
        let names: Vec<&str> = allowed_syscalls().iter().map(|&(_, n)| n).collect();
        for forbidden in [
            "socket", "execve", "setuid", "ptrace", "mount", "bind", "listen", "chroot",
        ] {
            assert!(
                !names.contains(&forbidden),
                "{forbidden} must not be allowed"
            );
        }
    }
}
