//! Vocabulary shared by `darkstat-capd` and `darkstat-webd`.
//!
//! `model` is the statistics document of `spec/json.md` (the same types are
//! written as JSON by `capd --dump-json`, served by webd's API and carried
//! over the capd → webd channel); `net` holds the small address types both
//! processes parse from their command lines; `ipc` frames the capd → webd
//! channel and rebuilds the snapshot from it. Nothing here does I/O.
#![forbid(unsafe_code)]

pub mod ipc;
pub mod model;
pub mod net;
