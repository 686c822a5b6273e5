//! persist: what survives a restart. `state` is darkstat-rs's own state
//! file (written by the publisher thread, read at start); `darkstat` reads
//! darkstat 3's `--export` files, and `import` turns either into the
//! document `Accounts::restore` takes, so darkstat users keep their
//! history.

pub mod darkstat;
pub mod import;
pub mod state;
