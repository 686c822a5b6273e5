//! The messages of the capd → webd channel and what a stream of them means.
//!
//! A connection is `Hello`, then a sequence of *updates*. An update is
//!
//! ```text
//!   [Reset] Removed* Hosts* Ports* Tick
//! ```
//!
//! and is applied atomically when its `Tick` arrives: `Reset` forgets every
//! host and port row, `Removed` drops hosts, `Hosts` adds or replaces whole
//! host records, `Ports` replaces global port rows, and `Tick` carries the
//! small tables (totals, protocols, graphs, ...) whole. After the `Tick`
//! the receiver holds exactly capd's statistics at that tick. The first
//! update of every connection starts with `Reset` (a full resync); later
//! ones carry only what changed. `Keepalive` may come between updates and
//! means nothing but "capd is alive".
//!
//! Everything is numbers, except the interface names of the capture
//! configuration in `Tick`: no text from captured packets is ever carried.
//! Variants are only ever appended (bincode encodes the variant index); any
//! change here bumps `PROTOCOL_VERSION`.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::model::{
    Evictions, Graphs, HostProtoStats, HostStats, InterfaceStats, PortStats, ProtoStats,
    TcpPortStats, Totals,
};
use crate::net::{LocalNet, MacAddr};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// First frame of every connection.
    Hello(Hello),
    /// Starts a full resync: forget all hosts and global port rows.
    Reset,
    /// Hosts no longer in capd's table (evicted).
    Removed(Vec<IpAddr>),
    /// Hosts added or changed: each record replaces the host's previous one.
    Hosts(Vec<HostRecord>),
    /// Global port rows that changed (whole rows).
    Ports(PortRows),
    /// Ends and commits an update.
    Tick(Box<Tick>),
    /// Sent when capd has had nothing to say for a while.
    Keepalive,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Same as the frame header's; kept here so a log line can show it.
    pub protocol_version: u16,
    /// capd's process id.
    pub pid: u32,
    /// Differs between two runs of capd (a restart means a new session).
    pub session: u64,
}

/// One host, as `common::model::HostStats` without the hostname (names are
/// webd's business, and capd never sends text from the wire).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostRecord {
    pub ip: IpAddr,
    pub mac: Option<MacAddr>,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub packets_in: u64,
    pub packets_out: u64,
    pub last_seen: Option<u64>,
    pub tcp_local: Vec<TcpPortStats>,
    pub tcp_remote: Vec<TcpPortStats>,
    pub udp_local: Vec<PortStats>,
    pub udp_remote: Vec<PortStats>,
    pub protocols: Vec<HostProtoStats>,
}

impl HostRecord {
    /// A host with no traffic and empty tables.
    pub fn new(ip: IpAddr) -> Self {
        HostRecord::from(&HostStats::new(ip))
    }
}

impl From<HostRecord> for HostStats {
    fn from(r: HostRecord) -> Self {
        HostStats {
            ip: r.ip,
            mac: r.mac,
            hostname: None,
            bytes_in: r.bytes_in,
            bytes_out: r.bytes_out,
            packets_in: r.packets_in,
            packets_out: r.packets_out,
            last_seen: r.last_seen,
            tcp_local: r.tcp_local,
            tcp_remote: r.tcp_remote,
            udp_local: r.udp_local,
            udp_remote: r.udp_remote,
            protocols: r.protocols,
        }
    }
}

impl From<&HostStats> for HostRecord {
    fn from(h: &HostStats) -> Self {
        HostRecord {
            ip: h.ip,
            mac: h.mac,
            bytes_in: h.bytes_in,
            bytes_out: h.bytes_out,
            packets_in: h.packets_in,
            packets_out: h.packets_out,
            last_seen: h.last_seen,
            tcp_local: h.tcp_local.clone(),
            tcp_remote: h.tcp_remote.clone(),
            udp_local: h.udp_local.clone(),
            udp_remote: h.udp_remote.clone(),
            protocols: h.protocols.clone(),
        }
    }
}

/// Rows of the global TCP and UDP port tables. A row whose packet counts
/// are both zero means "no such row".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRows {
    pub tcp: Vec<PortStats>,
    pub udp: Vec<PortStats>,
}

/// Everything of the statistics document but the hosts and the global port
/// tables: small, so sent whole with every update.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tick {
    /// capd's publication counter (informative: merged updates skip values).
    pub seq: u64,
    pub since: u64,
    pub now: u64,
    pub totals: Totals,
    pub protocols: Vec<ProtoStats>,
    pub graphs: Graphs,
    pub interfaces: Vec<InterfaceStats>,
    pub local_networks: Vec<LocalNet>,
    pub evictions: Evictions,
    /// Hosts capd holds after this update; the receiver checks its count.
    pub host_count: u64,
}
