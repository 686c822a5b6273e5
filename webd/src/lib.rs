//! darkstat-webd: the unprivileged web process.
//!
//! `feed` receives the statistics from darkstat-capd over a one-way Unix
//! socket; `dns` resolves the names of the hosts shown; the rest renders
//! pages, the JSON API and `/metrics` from the latest snapshot.
#![forbid(unsafe_code)]

pub mod feed;
