//! The statistics document of `spec/json.md`.
//!
//! Field names are the contract: the JSON written by `capd --dump-json`, the
//! body of webd's `/api/v1/stats` and the capd → webd channel all use these
//! types, so a page can never show a number the API does not. Fields may be
//! added, none renamed. Counters are `u64` and only ever grow (except on an
//! explicit reset).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::net::{LocalNet, MacAddr};

/// Version of this document's shape (`"version"` in the JSON).
pub const DOCUMENT_VERSION: u32 = 1;

/// Bars per graph series, oldest first: 60 s, 60 min, 24 h, 31 days.
pub const GRAPH_BARS: [usize; 4] = [60, 60, 24, 31];
/// Length of one bar of each series, in seconds.
pub const GRAPH_PERIODS: [u64; 4] = [1, 60, 3600, 86400];

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub version: u32,
    /// Start of measurement (Unix seconds).
    pub since: u64,
    /// Time of the snapshot (Unix seconds): the latest packet's time when a
    /// capture file is replayed, the wall clock when capturing live.
    pub now: u64,
    pub totals: Totals,
    pub hosts: Vec<HostStats>,
    pub ports: GlobalPorts,
    pub protocols: Vec<ProtoStats>,
    pub graphs: Graphs,
    /// Capture interfaces (or the capture file) and their statistics.
    #[serde(default)]
    pub interfaces: Vec<InterfaceStats>,
    /// The networks counted as local (`-l` plus interface addresses).
    #[serde(default)]
    pub local_networks: Vec<LocalNet>,
    /// How much the bounded tables have thrown away.
    #[serde(default)]
    pub evictions: Evictions,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counter {
    pub packets: u64,
    pub bytes: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Decoded IP packets and their IP bytes (`spec/counting.md` §2).
    pub packets: u64,
    pub bytes: u64,
    /// Frames that are not IP: packets and wire bytes.
    pub non_ip: Counter,
    pub malformed: Malformed,
    pub capture: CaptureCounts,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Malformed {
    pub packets: u64,
    pub by_reason: MalformedReasons,
}

/// Why a frame that claimed IP was not counted (`spec/counting.md` §1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MalformedReasons {
    /// The fixed IPv4 (20 bytes) or IPv6 (40 bytes) header is not captured.
    pub short_ip_header: u64,
    /// The version nibble is neither 4 nor 6.
    pub bad_ip_version: u64,
    /// IPv4 IHL below 5.
    pub bad_ipv4_ihl: u64,
    /// IPv4 total length (not 0) below IHL * 4.
    pub bad_ipv4_total_length: u64,
}

/// The capture's own counts (libpcap's `pcap_stats`, or records read from a
/// file in `received`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureCounts {
    pub received: u64,
    pub dropped: u64,
    pub if_dropped: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceStats {
    /// Interface name, or the capture file's path.
    pub name: String,
    /// pcap link type (DLT) number.
    pub linktype: u32,
    pub capture: CaptureCounts,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evictions {
    /// Hosts removed because the host table reached `--hosts-max`.
    pub hosts: u64,
    /// Port entries removed because a port table reached `--ports-max`.
    pub ports: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostStats {
    pub ip: IpAddr,
    pub mac: Option<MacAddr>,
    /// Filled in by webd's reverse DNS; capd never knows names.
    pub hostname: Option<String>,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub packets_in: u64,
    pub packets_out: u64,
    /// Time of the last packet the host sent (Unix seconds); `null` before
    /// it sent any.
    pub last_seen: Option<u64>,
    pub tcp_local: Vec<TcpPortStats>,
    pub tcp_remote: Vec<TcpPortStats>,
    pub udp_local: Vec<PortStats>,
    pub udp_remote: Vec<PortStats>,
    pub protocols: Vec<HostProtoStats>,
}

impl HostStats {
    /// A host with no traffic, no name and empty tables.
    pub fn new(ip: IpAddr) -> Self {
        HostStats {
            ip,
            mac: None,
            hostname: None,
            bytes_in: 0,
            bytes_out: 0,
            packets_in: 0,
            packets_out: 0,
            last_seen: None,
            tcp_local: Vec::new(),
            tcp_remote: Vec::new(),
            udp_local: Vec::new(),
            udp_remote: Vec::new(),
            protocols: Vec::new(),
        }
    }

    pub fn bytes_total(&self) -> u64 {
        self.bytes_in.saturating_add(self.bytes_out)
    }
    pub fn packets_total(&self) -> u64 {
        self.packets_in.saturating_add(self.packets_out)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpPortStats {
    pub port: u16,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub packets_in: u64,
    pub packets_out: u64,
    pub syn: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortStats {
    pub port: u16,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub packets_in: u64,
    pub packets_out: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostProtoStats {
    pub proto: u8,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub packets_in: u64,
    pub packets_out: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalPorts {
    pub tcp: Vec<PortStats>,
    pub udp: Vec<PortStats>,
}

/// One row of the global protocols table: `in` crosses into the local
/// network, `out` leaves it, `other` is local-local or remote-remote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtoStats {
    pub proto: u8,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub bytes_other: u64,
    pub packets_in: u64,
    pub packets_out: u64,
    pub packets_other: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Graphs {
    pub seconds: Vec<GraphBar>,
    pub minutes: Vec<GraphBar>,
    pub hours: Vec<GraphBar>,
    pub days: Vec<GraphBar>,
}

impl Graphs {
    /// The four series in the order of [`GRAPH_BARS`].
    pub fn series(&self) -> [&[GraphBar]; 4] {
        [&self.seconds, &self.minutes, &self.hours, &self.days]
    }
}

/// One bar: traffic that crossed the local boundary during
/// `[t, t + period)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphBar {
    pub t: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub packets_in: u64,
    pub packets_out: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_uses_the_spec_names_and_text_forms() {
        let ip = "::ffff:10.0.0.1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .to_canonical();
        let h = HostStats {
            mac: Some(MacAddr([2, 0, 0, 0, 0, 0x0a])),
            bytes_in: 1,
            bytes_out: 2,
            packets_in: 3,
            packets_out: 4,
            last_seen: Some(5),
            ..HostStats::new(ip)
        };
        let v = serde_json::to_value(&h).unwrap();
        assert_eq!(v["ip"], "10.0.0.1");
        assert_eq!(v["mac"], "02:00:00:00:00:0a");
        assert!(v["hostname"].is_null());
        assert_eq!(v["packets_out"], 4);
        let back: HostStats = serde_json::from_value(v).unwrap();
        assert_eq!(back, h);
    }
}
