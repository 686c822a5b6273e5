//! Test-only actions run inside the sandbox (feature `test-hooks`, never in
//! a release build): each prints what happened and exits.

use std::io::Write;

use crate::capture::live::LiveCapture;

/// Runs `hook` and exits.
pub fn test_hook(hook: &str, captures: &[LiveCapture]) {
    let mut out = std::io::stdout();
    match hook.split_once('=').unwrap_or((hook, "")) {
        ("forbidden-syscall", _) => {
            // SAFETY: socket(2) with constant arguments touches no memory;
            // the seccomp filter is expected to kill the process here.
            let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
            let _ = writeln!(out, "socket() returned {fd}: not killed");
            std::process::exit(3);
        }
        ("reattach-filter", _) => {
            let Some(c) = captures.first() else {
                let _ = writeln!(out, "no capture");
                std::process::exit(4);
            };
            let insns = [libc::sock_filter {
                code: 0x06, // BPF_RET | BPF_K: accept everything
                jt: 0,
                jf: 0,
                k: 0xffff_ffff,
            }];
            let prog = libc::sock_fprog {
                len: 1,
                filter: insns.as_ptr() as *mut libc::sock_filter,
            };
            // SAFETY: `prog` and the instruction it points to outlive the
            // call, and the length is the struct's exact size.
            let r = unsafe {
                libc::setsockopt(
                    c.fd(),
                    libc::SOL_SOCKET,
                    libc::SO_ATTACH_FILTER,
                    (&prog as *const libc::sock_fprog).cast(),
                    std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
                )
            };
            let e = std::io::Error::last_os_error();
            let _ = writeln!(
                out,
                "reattach-filter: {}",
                if r == 0 {
                    "succeeded".to_string()
                } else {
                    format!("failed: {e}")
                }
            );
            std::process::exit(if r == 0 { 3 } else { 0 });
        }
        ("open", path) => std::process::exit(sandbox::test_hooks::open(path)),
        _ => {
            let _ = writeln!(out, "unknown test hook {hook:?}");
            std::process::exit(4);
        }
    }
}
