//! The user to become: a dedicated one, looked up while /etc/passwd is
//! still readable, then taken on for good (groups, gid, uid).

use nix::unistd::{self, Gid, Uid, User};

use crate::Error;

/// Users that other daemons share: a compromised daemon running as one of
/// them could touch those daemons' processes and files.
pub const SHARED_USERS: [&str; 2] = ["nobody", "daemon"];

/// The ids a root-started daemon drops to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    pub uid: Uid,
    pub gid: Gid,
}

/// The uid and gid of `user`, which must be a dedicated, existing,
/// non-root user.
pub fn lookup(user: &str) -> Result<Target, Error> {
    if SHARED_USERS.contains(&user) {
        return Err(Error::SharedUser(user.into()));
    }
    let u = User::from_name(user)
        .map_err(|source| Error::Lookup {
            user: user.into(),
            source,
        })?
        .ok_or_else(|| Error::NoSuchUser(user.into()))?;
    if u.uid.is_root() {
        return Err(Error::RootUser(user.into()));
    }
    Ok(Target {
        uid: u.uid,
        gid: u.gid,
    })
}

/// Becomes `target`: the target's group as the only supplementary group,
/// then real, effective and saved gid, then uid (last, since changing the
/// gids needs the root uid).
pub fn become_user(target: Target) -> Result<(), Error> {
    let Target { uid, gid } = target;
    let step = |step, r: nix::Result<()>| r.map_err(|source| Error::Drop { step, source });
    step("setgroups", unistd::setgroups(&[gid]))?;
    step("setresgid", unistd::setresgid(gid, gid, gid))?;
    step("setresuid", unistd::setresuid(uid, uid, uid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_and_root_users_are_refused() {
        for u in SHARED_USERS {
            assert!(matches!(lookup(u), Err(Error::SharedUser(_))));
        }
        assert!(matches!(lookup("root"), Err(Error::RootUser(_))));
        let e = lookup("darkstat-rs-no-such-user-xyz").unwrap_err();
        assert!(matches!(e, Error::NoSuchUser(_)));
        let text = e.to_string();
        assert!(text.contains("useradd --system") && text.contains("sysusers"));
    }
}
