//! Landlock: webd needs no file at all after start-up (templates, assets
//! and the IANA tables are compiled in, times are UTC, resolv.conf was
//! read before), so every file-system right is handled and none granted.
//! TCP bind and connect are handled with no port allowed (the listening
//! sockets exist already), and abstract UNIX sockets and signals are
//! scoped to webd itself. Best effort: an older kernel enforces what it
//! can, and the start-up log says which ABI level was reached.
//!
//! Things that still try to read a file after the drop fail with EACCES
//! and cope: glibc's malloc reads /proc/sys/vm/overcommit_memory when it
//! first shrinks a thread heap (and then releases memory with madvise
//! instead). Connecting to capd's socket by path is not a file access that
//! ABI V7 controls.

use landlock::{Access, AccessFs, AccessNet, Ruleset, RulesetAttr, Scope, ABI};

/// The ABI this sandbox was written and tested against. Raising it changes
/// what is handled: V9 adds `ResolveUnix` (connecting to capd's socket
/// would then need a rule for its directory) and V10 UDP rights (the DNS
/// client would need BindUdp on port 0 and ConnectSendUdp to the name
/// servers' ports).
const ABI_PINNED: ABI = ABI::V7;

pub(super) fn restrict() -> Result<String, sandbox::Error> {
    let ruleset = Ruleset::default()
        .handle_access(AccessFs::from_all(ABI_PINNED))?
        .handle_access(AccessNet::from_all(ABI_PINNED))?
        .scope(Scope::from_all(ABI_PINNED))?
        .create()?;
    sandbox::ruleset::enforce(ruleset)
}
