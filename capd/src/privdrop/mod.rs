//! privdrop: after the capture handles, the publishing socket and the
//! output files are open, give up everything else, in this order:
//! chroot (if asked), the capability bounding set, supplementary groups,
//! gid, uid, every remaining capability set, NO_NEW_PRIVS, Landlock, then
//! verify that it stuck, then seccomp. Called while the process is still
//! single-threaded, so every later thread inherits the result.

mod landlock_rules;
mod seccomp;
#[cfg(feature = "test-hooks")]
mod test_hooks;

use std::path::PathBuf;

use nix::unistd;
use sandbox::{capabilities, user, verify};

pub use seccomp::allowed_syscalls;
#[cfg(feature = "test-hooks")]
pub use test_hooks::test_hook;

#[derive(Debug, thiserror::Error)]
pub enum PrivError {
    #[error("cannot chroot to {dir}: {source}")]
    Chroot { dir: String, source: nix::Error },
    #[error(transparent)]
    Sandbox(#[from] sandbox::Error),
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
    /// "Landlock ABI V5, fully enforced", or why not.
    pub landlock: String,
}

/// Drops privileges as described in the module docs. Must be called before
/// any thread is started.
pub fn enter(sb: &Sandbox) -> Result<Dropped, PrivError> {
    let was_root = unistd::geteuid().is_root();
    let target = if was_root {
        Some(user::lookup(&sb.user)?)
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
        capabilities::drop_bounding_set()?;
    }
    if let Some(target) = target {
        user::become_user(target)?;
    }
    capabilities::clear()?;
    capabilities::set_no_new_privs()?;

    let landlock = landlock_rules::restrict(&sb.writable, &sb.readable)?;

    verify::verify(verify::Expected {
        target,
        bounding_set_dropped: was_root,
    })?;
    seccomp::install()?;

    let (uid, gid) =
        target.map_or_else(|| (unistd::getuid(), unistd::getgid()), |t| (t.uid, t.gid));
    Ok(Dropped {
        uid: uid.as_raw(),
        gid: gid.as_raw(),
        landlock,
    })
}
