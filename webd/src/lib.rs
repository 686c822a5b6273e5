//! darkstat-webd: the unprivileged web process.
//!
//! It will receive `common::model::Snapshot`s from darkstat-capd over a
//! one-way Unix socket and render the overview, hosts, ports, protocols and
//! graphs pages, the JSON API and `/metrics`. Until then the crate only
//! pins the shared model it will serve, so that a change to the document
//! that breaks webd's side shows up at compile time.
#![forbid(unsafe_code)]

pub use common::model::Snapshot;
