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

use caps::{CapSet, Capability};
use nix::unistd::{self, Gid, Uid, User};

pub use seccomp::{allowed_syscalls, Allowed};

/// The user webd becomes when started as root.
pub const DEFAULT_USER: &str = "darkstat-rs-web";

/// Users that other daemons share: a compromised webd running as one of
/// them could touch those daemons' processes and files.
pub const SHARED_USERS: [&str; 2] = ["nobody", "daemon"];

#[derive(Debug, thiserror::Error)]
pub enum PrivError {
    #[error("the darkstat-capd that started webd (pid {0}) is gone")]
    ParentGone(i32),
    #[error("user {0:?} does not exist: create it with `systemd-sysusers systemd/darkstat-rs.sysusers.conf` (installed as /usr/lib/sysusers.d/darkstat-rs.conf), or `useradd --system --no-create-home --shell /usr/sbin/nologin {0}`, or choose another with --user")]
    NoSuchUser(String),
    #[error("refusing to run as {0:?}: other daemons share it; use a dedicated user (default {DEFAULT_USER})")]
    SharedUser(String),
    #[error("refusing to run as {0:?}: it has uid 0")]
    RootUser(String),
    #[error("cannot look up user {user:?}: {source}")]
    Lookup { user: String, source: nix::Error },
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
    let target = if was_root { Some(lookup(user)?) } else { None };

    // Needs CAP_SETPCAP, which root has and a systemd-started webd does
    // not (its unit's CapabilityBoundingSet= is already empty).
    let drop_bounding =
        caps::has_cap(None, CapSet::Effective, Capability::CAP_SETPCAP).unwrap_or(false);
    if drop_bounding {
        for cap in caps::all() {
            caps::drop(None, CapSet::Bounding, cap).map_err(|source| PrivError::Caps {
                step: "bounding set",
                source,
            })?;
        }
    }

    if let Some((uid, gid)) = target {
        let step = |step, r: nix::Result<()>| r.map_err(|source| PrivError::Drop { step, source });
        step("setgroups", unistd::setgroups(&[gid]))?;
        step("setresgid", unistd::setresgid(gid, gid, gid))?;
        step("setresuid", unistd::setresuid(uid, uid, uid))?;
    }

    // Only sets that still hold something are written: capset is refused
    // by the systemd unit's system call filter (~@privileged), and there
    // every set is already empty.
    for (set, step) in [
        (CapSet::Ambient, "ambient"),
        (CapSet::Inheritable, "inheritable"),
        (CapSet::Effective, "effective"),
        (CapSet::Permitted, "permitted"),
    ] {
        let held = caps::read(None, set).map_err(|source| PrivError::Caps { step, source })?;
        if !held.is_empty() {
            caps::clear(None, set).map_err(|source| PrivError::Caps { step, source })?;
        }
    }

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

    nix::sys::prctl::set_no_new_privs().map_err(|source| PrivError::Drop {
        step: "no_new_privs",
        source,
    })?;

    let landlock = landlock_rules::restrict()?;

    verify(target, drop_bounding)?;
    // The filter allows neither getuid nor getgid.
    let (uid, gid) = target.unwrap_or_else(|| (unistd::getuid(), unistd::getgid()));
    seccomp::install()?;

    Ok(Dropped {
        uid: uid.as_raw(),
        gid: gid.as_raw(),
        was_root,
        landlock,
    })
}

/// The uid and gid of `user`, which must be a dedicated, existing,
/// non-root user.
fn lookup(user: &str) -> Result<(Uid, Gid), PrivError> {
    if SHARED_USERS.contains(&user) {
        return Err(PrivError::SharedUser(user.into()));
    }
    let u = User::from_name(user)
        .map_err(|source| PrivError::Lookup {
            user: user.into(),
            source,
        })?
        .ok_or_else(|| PrivError::NoSuchUser(user.into()))?;
    if u.uid.is_root() {
        return Err(PrivError::RootUser(user.into()));
    }
    Ok((u.uid, u.gid))
}

/// Checks from inside that the drop stuck: the ids are the target's, no
/// supplementary group but its own, no capability in any set, no way
/// back to uid 0, NO_NEW_PRIVS set.
fn verify(target: Option<(Uid, Gid)>, dropped_bounding: bool) -> Result<(), PrivError> {
    let fail = |m: String| Err(PrivError::Verify(m));
    let mut sets = vec![
        CapSet::Effective,
        CapSet::Permitted,
        CapSet::Inheritable,
        CapSet::Ambient,
    ];
    if dropped_bounding {
        sets.push(CapSet::Bounding);
    }
    for set in sets {
        let held = caps::read(None, set).map_err(|e| PrivError::Verify(e.to_string()))?;
        if !held.is_empty() {
            return fail(format!("{set:?} capabilities left: {held:?}"));
        }
    }
    let uids = unistd::getresuid().map_err(|e| PrivError::Verify(e.to_string()))?;
    let gids = unistd::getresgid().map_err(|e| PrivError::Verify(e.to_string()))?;
    let uids = [uids.real, uids.effective, uids.saved];
    let gids = [gids.real, gids.effective, gids.saved];
    if uids.iter().any(|u| u.is_root()) {
        return fail(format!("a uid is still 0: {uids:?}"));
    }
    if let Some((uid, gid)) = target {
        if uids.iter().any(|&u| u != uid) || gids.iter().any(|&g| g != gid) {
            return fail(format!("ids are {uids:?} / {gids:?}, not {uid} / {gid}"));
        }
        let groups = unistd::getgroups().map_err(|e| PrivError::Verify(e.to_string()))?;
        if groups.iter().any(|&g| g != gid) {
            return fail(format!("supplementary groups left: {groups:?}"));
        }
    }
    if unistd::setuid(Uid::from_raw(0)).is_ok() || unistd::seteuid(Uid::from_raw(0)).is_ok() {
        return fail("setuid(0) succeeded".into());
    }
    if target.is_some() && unistd::setgid(Gid::from_raw(0)).is_ok() {
        return fail("setgid(0) succeeded".into());
    }
    match nix::sys::prctl::get_no_new_privs() {
        Ok(true) => Ok(()),
        Ok(false) => fail("no_new_privs is not set".into()),
        Err(e) => fail(format!("cannot read no_new_privs: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_and_root_users_are_refused() {
        for u in SHARED_USERS {
            assert!(matches!(lookup(u), Err(PrivError::SharedUser(_))));
        }
        assert!(matches!(lookup("root"), Err(PrivError::RootUser(_))));
        let e = lookup("darkstat-rs-no-such-user-xyz").unwrap_err();
        assert!(matches!(e, PrivError::NoSuchUser(_)));
        let text = e.to_string();
        assert!(text.contains("useradd --system") && text.contains("sysusers"));
    }

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
