//! privdrop: webd gives up every privilege once, at start-up, after the
//! listening sockets are open and resolv.conf is read, and before any
//! thread or request exists. In this order: the capability bounding set
//! (when it may), supplementary groups, gid and uid (when started as
//! root), every remaining capability set, NO_NEW_PRIVS, Landlock (no file
//! access at all, no TCP bind or connect, abstract UNIX sockets and
//! signals scoped to webd), a check that all of it stuck, then the seccomp
//! allow-list.
//!
//! It must never run once a second thread exists: capabilities and
//! Landlock apply to the calling thread only, and every thread started
//! afterwards (actix workers, the feed, tokio's blocking pool) inherits
//! them from this one. [`enter`] refuses to run otherwise.

mod landlock_rules;
mod seccomp;
#[cfg(feature = "test-hooks")]
pub mod test_hooks;

use nix::unistd;
use sandbox::{capabilities, user, verify};

pub use sandbox::user::SHARED_USERS;
pub use seccomp::{allowed_syscalls, Allowed};

/// The user webd becomes when started as root.
pub const DEFAULT_USER: &str = "darkstat-rs-web";

#[derive(Debug, thiserror::Error)]
pub enum PrivError {
    #[error("the darkstat-capd that started webd (pid {0}) is gone")]
    ParentGone(i32),
    #[error("started with real/effective/saved uid {real}/{effective}/{saved}: start webd either as root or as an unprivileged user, not set-uid")]
    MixedIds {
        real: u32,
        effective: u32,
        saved: u32,
    },
    #[error("{0} threads are running: the privilege drop must happen before any thread starts")]
    Threads(usize),
    #[error("cannot count this process's threads: {0}")]
    CountThreads(std::io::Error),
    #[error("cannot drop privileges ({step}): {source}")]
    Drop {
        step: &'static str,
        source: nix::Error,
    },
    #[error(transparent)]
    Sandbox(#[from] sandbox::Error),
}

/// What the drop achieved, for the start-up log line.
#[derive(Clone, Debug)]
pub struct Dropped {
    pub uid: u32,
    pub gid: u32,
    /// Whether webd was root and changed user.
    pub was_root: bool,
    /// "Landlock ABI V7, fully enforced", or how much less.
    pub landlock: String,
}

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let how = if self.was_root {
            "privileges dropped to"
        } else {
            "not started as root, running as"
        };
        write!(
            f,
            "{how} uid {} gid {}; no capabilities; no_new_privs; {}; seccomp on",
            self.uid, self.gid, self.landlock
        )
    }
}

/// Drops privileges as described in the module docs. `user` is the user
/// to become when running as root; it is ignored otherwise.
///
/// `parent`: with `--exit-with-parent`, the pid of the darkstat-capd that
/// started us; webd asks the kernel for SIGTERM when it dies (set after the
/// uid change, which would clear it) and refuses to start if it already did.
pub fn enter(user: &str, parent: Option<i32>) -> Result<Dropped, PrivError> {
    let threads = std::fs::read_dir("/proc/self/task")
        .map_err(PrivError::CountThreads)?
        .count();
    if threads != 1 {
        return Err(PrivError::Threads(threads));
    }

    let ids = unistd::getresuid().map_err(|source| PrivError::Drop {
        step: "getresuid",
        source,
    })?;
    let was_root = ids.effective.is_root();
    if !was_root && (ids.real.is_root() || ids.saved.is_root()) {
        // A saved uid 0 is a way back to root that setresuid would keep.
        return Err(PrivError::MixedIds {
            real: ids.real.as_raw(),
            effective: ids.effective.as_raw(),
            saved: ids.saved.as_raw(),
        });
    }
    let target = if was_root {
        Some(user::lookup(user)?)
    } else {
        None
    };

    // Needs CAP_SETPCAP, which root has and a systemd-started webd does
    // not (its unit's CapabilityBoundingSet= is already empty).
    let drop_bounding = capabilities::may_drop_bounding_set();
    if drop_bounding {
        capabilities::drop_bounding_set()?;
    }
    if let Some(target) = target {
        user::become_user(target)?;
    }
    capabilities::clear()?;

    if let Some(ppid) = parent {
        nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM).map_err(|source| {
            PrivError::Drop {
                step: "pdeathsig",
                source,
            }
        })?;
        if unistd::getppid().as_raw() != ppid {
            return Err(PrivError::ParentGone(ppid));
        }
    }

    capabilities::set_no_new_privs()?;

    let landlock = landlock_rules::restrict()?;

    verify::verify(verify::Expected {
        target,
        bounding_set_dropped: drop_bounding,
    })?;
    // The filter allows neither getuid nor getgid.
    let (uid, gid) =
        target.map_or_else(|| (unistd::getuid(), unistd::getgid()), |t| (t.uid, t.gid));
    seccomp::install()?;

    Ok(Dropped {
        uid: uid.as_raw(),
        gid: gid.as_raw(),
        was_root,
        landlock,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_line_names_everything_the_tests_look_for() {
        let d = Dropped {
            uid: 990,
            gid: 990,
            was_root: true,
            landlock: "Landlock ABI V7, fully enforced".into(),
        };
        let line = d.to_string();
        assert!(line.contains("uid 990 gid 990"));
        assert!(line.contains("Landlock ABI V7"));
        assert!(line.ends_with("seccomp on"));
    }
}
