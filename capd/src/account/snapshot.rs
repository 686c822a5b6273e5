//! Accounts → the `spec/json.md` document (`common::model::Snapshot`).
//! Runs once per publication, never per packet.

use common::model::{
    Evictions, GlobalPorts, HostStats, InterfaceStats, Malformed, PortStats, ProtoStats, Snapshot,
    Totals, DOCUMENT_VERSION,
};
use common::net::{key_ip, MacAddr};

use super::entries::Kind;
use super::hosts::Host;
use super::view::{proto_row, tcp_row, udp_row};
use super::{Accounts, PortCounters, IN, OTHER, OUT};

impl Accounts {
    /// The whole statistics document at this moment, owned (for the
    /// publisher); capture counters are summed from `interfaces`.
    pub fn snapshot(&self, interfaces: &[InterfaceStats]) -> Snapshot {
        Snapshot {
            version: DOCUMENT_VERSION,
            since: self.since(),
            now: self.now(),
            totals: self.totals_with(interfaces),
            hosts: self.hosts.iter().map(host_stats).collect(),
            ports: GlobalPorts {
                tcp: global_port_rows(&self.tcp_ports).collect(),
                udp: global_port_rows(&self.udp_ports).collect(),
            },
            protocols: self.protocol_rows(),
            graphs: self.graphs.snapshot(self.now()),
            interfaces: interfaces.to_vec(),
            local_networks: self.local.nets().to_vec(),
            evictions: self.evictions(),
        }
    }

    pub(super) fn since(&self) -> u64 {
        self.since.unwrap_or(self.now)
    }

    pub(super) fn now(&self) -> u64 {
        self.now.max(self.since())
    }

    /// Totals, with the capture counters summed over `interfaces`.
    pub(super) fn totals_with(&self, interfaces: &[InterfaceStats]) -> Totals {
        let mut t = self.totals();
        for i in interfaces {
            t.capture.received += i.capture.received;
            t.capture.dropped += i.capture.dropped;
            t.capture.if_dropped += i.capture.if_dropped;
        }
        t
    }

    fn totals(&self) -> Totals {
        let m = &self.malformed;
        Totals {
            packets: self.packets,
            bytes: self.bytes,
            non_ip: self.non_ip,
            malformed: Malformed {
                packets: m.short_ip_header
                    + m.bad_ip_version
                    + m.bad_ipv4_ihl
                    + m.bad_ipv4_total_length,
                by_reason: self.malformed,
            },
            capture: Default::default(),
        }
    }

    pub(super) fn evictions(&self) -> Evictions {
        Evictions {
            hosts: self.hosts.evicted(),
            ports: self.ports_evicted,
        }
    }

    pub(super) fn protocol_rows(&self) -> Vec<ProtoStats> {
        self.protocols
            .iter()
            .enumerate()
            .filter(|(_, c)| c.packets.iter().any(|&p| p > 0))
            .map(|(n, c)| ProtoStats {
                proto: n as u8,
                bytes_in: c.bytes[IN],
                bytes_out: c.bytes[OUT],
                bytes_other: c.bytes[OTHER],
                packets_in: c.packets[IN],
                packets_out: c.packets[OUT],
                packets_other: c.packets[OTHER],
            })
            .collect()
    }

    /// One line for `--verbose`.
    pub fn summary(&self) -> String {
        let t = self.totals();
        format!(
            "{} IP packets, {} bytes, {} hosts, {} non-IP frames, {} malformed",
            t.packets,
            t.bytes,
            self.hosts.len(),
            t.non_ip.packets,
            t.malformed.packets
        )
    }

    /// Number of hosts in the table.
    pub fn host_count(&self) -> usize {
        self.hosts.len()
    }
}

/// The rows of a global port table that saw traffic.
pub(super) fn global_port_rows(table: &[PortCounters]) -> impl Iterator<Item = PortStats> + '_ {
    table
        .iter()
        .enumerate()
        .filter(|(_, c)| c.packets_in > 0 || c.packets_out > 0)
        .map(|(port, c)| PortStats {
            port: port as u16,
            bytes_in: c.bytes_in,
            bytes_out: c.bytes_out,
            packets_in: c.packets_in,
            packets_out: c.packets_out,
        })
}

/// `null` until the host has sent a packet. A host imported from darkstat
/// has bytes but no packet counts; its last_seen is kept when it has one.
pub(super) fn last_seen(h: &Host) -> Option<u64> {
    (h.packets_out > 0 || (h.bytes_out > 0 && h.last_seen > 0)).then_some(h.last_seen)
}

fn host_stats(h: &Host) -> HostStats {
    let of = |k: Kind| {
        h.entries
            .iter()
            .filter(move |(kind, _, _)| *kind == k as u8)
    };
    HostStats {
        ip: key_ip(h.key),
        mac: h.mac.map(MacAddr),
        hostname: None,
        bytes_in: h.bytes_in,
        bytes_out: h.bytes_out,
        packets_in: h.packets_in,
        packets_out: h.packets_out,
        last_seen: last_seen(h),
        tcp_local: of(Kind::TcpLocal).map(tcp_row).collect(),
        tcp_remote: of(Kind::TcpRemote).map(tcp_row).collect(),
        udp_local: of(Kind::UdpLocal).map(udp_row).collect(),
        udp_remote: of(Kind::UdpRemote).map(udp_row).collect(),
        protocols: of(Kind::Proto).map(proto_row).collect(),
    }
}
