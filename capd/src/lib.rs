//! darkstat-capd: the capture daemon.
//!
//! A frame goes `capture` (pcap handle or capture file) → `decode` (link,
//! IP, transport; a `Copy` summary) → `account` (host, port, protocol
//! tables, graphs) → published as a `common::model::Snapshot` (`dump` for
//! `--dump-json`). `cli` and `config` turn the command line into a
//! validated [`config::Config`]; `run` wires the stages together.

pub mod account;
pub mod capture;
pub mod cli;
pub mod config;
pub mod daylog;
pub mod decode;
pub mod dump;
pub mod launch;
pub mod localaddrs;
pub mod log;
pub mod notify;
pub mod persist;
pub mod pidfile;
pub mod privdrop;
pub mod publish;
pub mod run;
