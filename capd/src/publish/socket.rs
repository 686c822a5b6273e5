//! The publishing socket: creating it safely and telling who is on the
//! other end (`SO_PEERCRED`).
//!
//! This module never reads from a peer: who the peer is comes from the
//! kernel, not from anything it sends.

use std::fs;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use super::PublishError;

/// Mode of the socket: capd's user and the web group may connect.
pub const SOCKET_MODE: u32 = 0o660;

/// The peer of a connection, as the kernel saw it at `connect()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerCred {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

/// Who may read the statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerPolicy {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

impl PeerPolicy {
    /// root, capd's own effective user (`own_uid`: a process of that user
    /// can read capd's memory anyway), the configured web user, or a
    /// process whose effective group is the configured web group.
    pub fn allows(&self, peer: PeerCred, own_uid: u32) -> bool {
        peer.uid == 0
            || peer.uid == own_uid
            || Some(peer.uid) == self.uid
            || Some(peer.gid) == self.gid
    }
}

/// capd's effective user id now (it changes when privileges are dropped).
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The credentials of the process at the other end of `s`.
pub fn peer_cred(s: &UnixStream) -> io::Result<PeerCred> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are live locals of the sizes the kernel is
    // told; the fd is owned by `s` for the duration of the call.
    let rc = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    if len as usize != std::mem::size_of::<libc::ucred>() {
        return Err(io::Error::other("short SO_PEERCRED answer"));
    }
    Ok(PeerCred {
        pid: cred.pid,
        uid: cred.uid,
        gid: cred.gid,
    })
}

/// The bound socket and how to recognise its file later (to remove it on
/// exit only if it is still ours).
pub struct Bound {
    pub listener: UnixListener,
    pub path: PathBuf,
    pub dev: u64,
    pub ino: u64,
}

/// Creates the listening socket at `path` with mode 0660; as root, gives it
/// to `uid`/`gid` (the group when given, else the user). An existing socket
/// is replaced if nobody listens on it; any other existing file is left
/// alone and is an error.
pub fn bind(path: &Path, uid: Option<u32>, gid: Option<u32>) -> Result<Bound, PublishError> {
    let err = |what: &'static str| {
        let path = path.to_owned();
        move |source| PublishError::Socket { what, path, source }
    };
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => {
            if UnixStream::connect(path).is_ok() {
                return Err(PublishError::InUse(path.to_owned()));
            }
            match fs::remove_file(path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(err("remove the stale socket")(e))
                }
                _ => {}
            }
        }
        Ok(_) => return Err(PublishError::NotASocket(path.to_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(err("inspect")(e)),
    }
    let listener = UnixListener::bind(path).map_err(err("bind"))?;
    // Until the chmod the socket has the umask's mode; a peer that gets in
    // meanwhile still faces the SO_PEERCRED check.
    fs::set_permissions(path, fs::Permissions::from_mode(SOCKET_MODE))
        .map_err(err("set the mode of"))?;
    if effective_uid() == 0 {
        let (owner, group) = match gid {
            Some(g) => (None, Some(g)),
            None => (uid, None),
        };
        if owner.is_some() || group.is_some() {
            std::os::unix::fs::chown(path, owner, group).map_err(err("change the owner of"))?;
        }
    }
    listener.set_nonblocking(true).map_err(err("configure"))?;
    let m = fs::symlink_metadata(path).map_err(err("inspect"))?;
    Ok(Bound {
        listener,
        path: path.to_owned(),
        dev: m.dev(),
        ino: m.ino(),
    })
}

/// Removes the socket file if it is still the one `bind` made.
pub fn unlink_if_ours(path: &Path, dev: u64, ino: u64) {
    if let Ok(m) = fs::symlink_metadata(path) {
        if m.dev() == dev && m.ino() == ino {
            let _ = fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cred(uid: u32, gid: u32) -> PeerCred {
        PeerCred { pid: 1, uid, gid }
    }

    #[test]
    fn policy_allows_root_self_and_the_web_user_or_group_only() {
        let p = PeerPolicy {
            uid: Some(33),
            gid: Some(44),
        };
        assert!(p.allows(cred(0, 0), 1000));
        assert!(p.allows(cred(1000, 1000), 1000));
        assert!(p.allows(cred(33, 1), 1000));
        assert!(p.allows(cred(2, 44), 1000));
        assert!(!p.allows(cred(65534, 65534), 1000));
        assert!(
            !p.allows(cred(44, 33), 1000),
            "uid and gid are not mixed up"
        );
        let none = PeerPolicy {
            uid: None,
            gid: None,
        };
        assert!(!none.allows(cred(33, 44), 1000));
        assert!(none.allows(cred(0, 5), 1000));
    }

    #[test]
    fn peer_cred_reports_this_process() {
        let (a, _b) = UnixStream::pair().unwrap();
        let c = peer_cred(&a).unwrap();
        assert_eq!(c.pid as u32, std::process::id());
        assert_eq!(c.uid, effective_uid());
    }
}
