//! The machinery of a privilege drop, shared by darkstat-capd and
//! darkstat-webd. Each daemon keeps its own policy (which paths Landlock
//! leaves, which system calls seccomp allows) and its own order of steps
//! in its `privdrop` module; this crate only does each step and says
//! precisely what failed:
//!
//! * `user`: look up the dedicated user (refusing shared and root ones)
//!   and become it (groups, gid, uid);
//! * `capabilities`: the bounding set, every other set, NO_NEW_PRIVS;
//! * `ruleset`: enforce a Landlock ruleset and describe what the kernel
//!   enforced;
//! * `verify`: check from inside that the drop stuck;
//! * `seccomp`: build and install seccomp filters from an allow-list.
//!
//! Every step acts on the calling thread (and, for seccomp, on every
//! thread), so the daemons call them before any other thread exists.
#![forbid(unsafe_code)]

pub mod capabilities;
mod error;
pub mod ruleset;
pub mod seccomp;
#[cfg(feature = "test-hooks")]
pub mod test_hooks;
pub mod user;
pub mod verify;

pub use error::Error;
