//! The check, from inside, that the drop stuck: the ids are the target's,
//! no supplementary group but its own, no capability in any set, no way
//! back to uid 0, NO_NEW_PRIVS set. Run after Landlock and before seccomp,
//! whose allow-lists forbid the calls it tries.

use caps::CapSet;
use nix::unistd::{self, Gid, Uid};

use crate::capabilities;
use crate::user::Target;
use crate::Error;

/// What the drop should have achieved.
#[derive(Clone, Copy, Debug)]
pub struct Expected {
    /// The user taken on, when the daemon was started as root.
    pub target: Option<Target>,
    /// Whether the bounding set was emptied too.
    pub bounding_set_dropped: bool,
}

/// Fails with [`Error::Verify`] naming the first thing that did not stick.
pub fn verify(expected: Expected) -> Result<(), Error> {
    let fail = |m: String| Err(Error::Verify(m));
    let bounding = expected.bounding_set_dropped.then_some(CapSet::Bounding);
    for set in capabilities::sets().chain(bounding) {
        let held = capabilities::held(set)?;
        if !held.is_empty() {
            return fail(format!("{set:?} capabilities left: {held:?}"));
        }
    }
    let verr = |e: nix::Error| Error::Verify(e.to_string());
    let uids = unistd::getresuid().map_err(verr)?;
    let gids = unistd::getresgid().map_err(verr)?;
    let uids = [uids.real, uids.effective, uids.saved];
    let gids = [gids.real, gids.effective, gids.saved];
    if uids.iter().any(|u| u.is_root()) {
        return fail(format!("a uid is still 0: {uids:?}"));
    }
    if let Some(Target { uid, gid }) = expected.target {
        if uids.iter().any(|&u| u != uid) || gids.iter().any(|&g| g != gid) {
            return fail(format!("ids are {uids:?} / {gids:?}, not {uid} / {gid}"));
        }
        let groups = unistd::getgroups().map_err(verr)?;
        if groups.iter().any(|&g| g != gid) {
            return fail(format!("supplementary groups left: {groups:?}"));
        }
    }
    if unistd::setuid(Uid::from_raw(0)).is_ok() || unistd::seteuid(Uid::from_raw(0)).is_ok() {
        return fail("setuid(0) succeeded".into());
    }
    if expected.target.is_some() && unistd::setgid(Gid::from_raw(0)).is_ok() {
        return fail("setgid(0) succeeded".into());
    }
    match nix::sys::prctl::get_no_new_privs() {
        Ok(true) => Ok(()),
        Ok(false) => fail("no_new_privs is not set".into()),
        Err(e) => fail(format!("cannot read no_new_privs: {e}")),
    }
}
