//! darkstat-webd: the unprivileged web process.
//!
//! `feed` receives the statistics from darkstat-capd over a one-way Unix
//! socket; `dns` resolves the names of the hosts shown; the rest renders
//! pages, the JSON API and `/metrics` from the latest snapshot:
//!
//! * `cli` → `config`: the command line and the validated settings;
//! * `listeners` (bound, or passed by systemd) and `privdrop` (the user
//!   change and the sandbox), both used once by `main` at start-up;
//! * `server`: the actix app (`server::app`, also used by the tests), the
//!   HTTP limits and the warmer; `policy`: methods, sizes, security headers;
//! * `routes`: the URL map and thin handlers; `state`: what they share;
//! * `index`: per-snapshot sorted orders; `views`: pure view models;
//! * `templates` (Tera, embedded) and `rows` (hand-written table rows),
//!   assembled and streamed by `body`;
//! * `json`, `metrics`, `graphs_xml`: the machine-readable documents;
//! * `hostname` (names shown for hosts), `iana` (service and protocol
//!   names), `units` and `clock` (how numbers and times are written),
//!   `query` (query-string parsing), `assets`, `error`.
#![forbid(unsafe_code)]

pub mod assets;
pub mod body;
pub mod cli;
pub mod clock;
pub mod config;
pub mod dns;
pub mod error;
pub mod feed;
pub mod graphs_xml;
pub mod hostname;
pub mod iana;
pub mod index;
pub mod json;
pub mod listeners;
pub mod metrics;
pub mod policy;
pub mod privdrop;
pub mod query;
pub mod routes;
pub mod rows;
pub mod server;
pub mod state;
pub mod templates;
pub mod units;
pub mod views;
