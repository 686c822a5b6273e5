//! privdrop: after the capture handles, the publishing socket and the
//! output files are open, give up everything else, in this order:
//! chroot (if asked), the capability bounding set, supplementary groups,
//! gid, uid, every remaining capability set, NO_NEW_PRIVS, Landlock, then
//! verify that it stuck, then seccomp. Called while the process is still
//! single-threaded, so every later thread inherits the result.

mod landlock_rules;
mod seccomp;

use std::path::PathBuf;

use caps::CapSet;
use nix::unistd::{self, Gid, Uid, User};

pub use seccomp::allowed_syscalls;

#[derive(Debug, thiserror::Error)]
pub enum PrivError {
    #[error("user {0:?} does not exist: create it (systemd-sysusers systemd/darkstat-rs.conf, or useradd --system {0}) or choose another with --user")]
    NoSuchUser(String),
    #[error("refusing to run as {0:?}: it is shared with other daemons; use a dedicated user (default darkstat-rs)")]
    SharedUser(String),
    #[error("cannot look up user {user:?}: {source}")]
    Lookup { user: String, source: nix::Error },
    #[error("cannot chroot to {dir}: {source}")]
    Chroot { dir: String, source: nix::Error },
    #[error("cannot drop privileges ({step}): {source}")]
    Drop {
        step: &'static str,
        source: nix::Error,
    },
    #[error("cannot drop capabilities ({step}): {source}")]
    Caps {
        step: &'static str,
        source: caps::errors::CapsError,
    },
    #[error("cannot set up Landlock: {0}")]
    Landlock(String),
    #[error("cannot install the seccomp filter: {0}")]
    Seccomp(String),
    #[error("privileges were not dropped: {0}")]
    Verify(String),
}

/// What to drop to.
#[derive(Clone, Debug, Default)]
pub struct Sandbox {
    /// The user to become when running as root.
    pub user: String,
    /// `--chroot DIR`.
    pub chroot: Option<PathBuf>,
    /// Directories that stay readable and writable (state, output);
    /// everything else on the file system becomes inaccessible.
    pub writable: Vec<PathBuf>,
    /// Directories that stay readable (libpcap reads the interface drop
    /// counters from /sys/class/net/IFACE/statistics).
    pub readable: Vec<PathBuf>,
}

/// What was achieved, for the log.
#[derive(Clone, Debug)]
pub struct Dropped {
    pub uid: u32,
    pub gid: u32,
    /// "Landlock ABI N, fully enforced", or why not.
    pub landlock: String,
}

/// Users that other daemons share: running as them would let a compromised
/// capd touch those daemons' processes and files.
const SHARED_USERS: [&str; 2] = ["nobody", "daemon"];

/// Drops privileges as described in the module docs. Must be called before
/// any thread is started.
pub fn enter(sb: &Sandbox) -> Result<Dropped, PrivError> {
    let was_root = unistd::geteuid().is_root();
    let target = if was_root {
        if SHARED_USERS.contains(&sb.user.as_str()) {
            return Err(PrivError::SharedUser(sb.user.clone()));
        }
        let u = User::from_name(&sb.user)
            .map_err(|source| PrivError::Lookup {
                user: sb.user.clone(),
                source,
            })?
            .ok_or_else(|| PrivError::NoSuchUser(sb.user.clone()))?;
        if u.uid.is_root() {
            return Err(PrivError::Verify(format!("user {:?} has uid 0", sb.user)));
        }
        Some((u.uid, u.gid))
    } else {
        None
    };

    if let Some(dir) = &sb.chroot {
        let err = |source| PrivError::Chroot {
            dir: dir.display().to_string(),
            source,
        };
        unistd::chdir(dir).map_err(err)?;
        unistd::chroot(".").map_err(err)?;
        unistd::chdir("/").map_err(err)?;
    }

    // The bounding set needs CAP_SETPCAP, which only the root case has;
    // started unprivileged with ambient CAP_NET_RAW, the unit's
    // CapabilityBoundingSet already limits it.
    if was_root {
        for cap in caps::all() {
            caps::drop(None, CapSet::Bounding, cap).map_err(|source| PrivError::Caps {
                step: "bounding set",
                source,
            })?;
        }
    }

    if let Some((uid, gid)) = target {
        let drop = |step, r: nix::Result<()>| r.map_err(|source| PrivError::Drop { step, source });
        drop("setgroups", unistd::setgroups(&[gid]))?;
        drop("setresgid", unistd::setresgid(gid, gid, gid))?;
        drop("setresuid", unistd::setresuid(uid, uid, uid))?;
    }

    for (set, step) in [
        (CapSet::Ambient, "ambient"),
        (CapSet::Inheritable, "inheritable"),
        (CapSet::Effective, "effective"),
        (CapSet::Permitted, "permitted"),
    ] {
        caps::clear(None, set).map_err(|source| PrivError::Caps { step, source })?;
    }

    nix::sys::prctl::set_no_new_privs().map_err(|source| PrivError::Drop {
        step: "no_new_privs",
        source,
    })?;

    let landlock = landlock_rules::restrict(&sb.writable, &sb.readable)?;

    verify(was_root)?;
    seccomp::install()?;

    let (uid, gid) = target.unwrap_or((unistd::getuid(), unistd::getgid()));
    Ok(Dropped {
        uid: uid.as_raw(),
        gid: gid.as_raw(),
        landlock,
    })
}

/// Checks that the drop stuck: no capability in any set, and (when we
/// were root) no way back to uid 0.
fn verify(was_root: bool) -> Result<(), PrivError> {
    for set in [
        CapSet::Effective,
        CapSet::Permitted,
        CapSet::Inheritable,
        CapSet::Ambient,
    ] {
        let held = caps::read(None, set).map_err(|e| PrivError::Verify(e.to_string()))?;
        if !held.is_empty() {
            return Err(PrivError::Verify(format!(
                "{set:?} capabilities left: {held:?}"
            )));
        }
    }
    if was_root {
        if unistd::setuid(Uid::from_raw(0)).is_ok() || unistd::setgid(Gid::from_raw(0)).is_ok() {
            return Err(PrivError::Verify("setuid(0) succeeded".into()));
        }
        if unistd::geteuid().is_root() || unistd::getegid().as_raw() == 0 {
            return Err(PrivError::Verify("still running as uid or gid 0".into()));
        }
    }
    Ok(())
}

/// Test-only actions run inside the sandbox (feature `test-hooks`, never in
/// a release build): each prints what happened and exits.
#[cfg(feature = "test-hooks")]
pub fn test_hook(hook: &str, captures: &[crate::capture::live::LiveCapture]) {
    use std::io::Write;
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
        ("open", path) => {
            let r = std::fs::File::open(path);
            let _ = writeln!(
                out,
                "open {path}: {}",
                match &r {
                    Ok(_) => "succeeded".to_string(),
                    Err(e) => format!("failed: {e}"),
                }
            );
            std::process::exit(if r.is_ok() { 3 } else { 0 });
        }
        _ => {
            let _ = writeln!(out, "unknown test hook {hook:?}");
            std::process::exit(4);
        }
    }
}
