//! Capabilities: the bounding set (what exec could ever grant again), the
//! effective, permitted, inheritable and ambient sets, and NO_NEW_PRIVS,
//! which keeps exec from granting anything through set-uid or file
//! capabilities.

use caps::{CapSet, Capability};

use crate::Error;

/// The sets a process holds capabilities in, with the step name errors
/// carry. Ambient first: it may only hold what inheritable and permitted
/// hold, so it goes before them.
const SETS: [(CapSet, &str); 4] = [
    (CapSet::Ambient, "ambient"),
    (CapSet::Inheritable, "inheritable"),
    (CapSet::Effective, "effective"),
    (CapSet::Permitted, "permitted"),
];

/// Whether the bounding set may be changed: that needs CAP_SETPCAP, which
/// root has and a daemon started unprivileged by systemd does not (its
/// unit's CapabilityBoundingSet= limits it already).
pub fn may_drop_bounding_set() -> bool {
    caps::has_cap(None, CapSet::Effective, Capability::CAP_SETPCAP).unwrap_or(false)
}

/// Removes every capability from the bounding set.
pub fn drop_bounding_set() -> Result<(), Error> {
    for cap in caps::all() {
        caps::drop(None, CapSet::Bounding, cap).map_err(|source| Error::Caps {
            step: "bounding set",
            source,
        })?;
    }
    Ok(())
}

/// Empties the ambient, inheritable, effective and permitted sets. Only
/// sets that still hold something are written: capset is refused by a
/// systemd unit's system call filter (~@privileged), and there every set
/// may already be empty.
pub fn clear() -> Result<(), Error> {
    for (set, step) in SETS {
        let held = caps::read(None, set).map_err(|source| Error::Caps { step, source })?;
        if !held.is_empty() {
            caps::clear(None, set).map_err(|source| Error::Caps { step, source })?;
        }
    }
    Ok(())
}

/// Sets NO_NEW_PRIVS (Landlock and unprivileged seccomp need it).
pub fn set_no_new_privs() -> Result<(), Error> {
    nix::sys::prctl::set_no_new_privs().map_err(|source| Error::Drop {
        step: "no_new_privs",
        source,
    })
}

/// The capabilities left in `set`.
pub(crate) fn held(set: CapSet) -> Result<caps::CapsHashSet, Error> {
    caps::read(None, set).map_err(|e| Error::Verify(e.to_string()))
}

/// Every set [`clear`] empties.
pub(crate) fn sets() -> impl Iterator<Item = CapSet> {
    SETS.into_iter().map(|(set, _)| set)
}
