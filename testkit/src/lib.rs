//! Helpers for the integration tests of both daemons (a dev-dependency
//! only: nothing here is in a release binary).

pub mod reproducers;
pub mod users;
