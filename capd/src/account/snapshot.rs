//! Accounts → the `spec/json.md` document (`common::model::Snapshot`).
//! Runs once per publication, never per packet.

use common::model::{
    Evictions, GlobalPorts, HostProtoStats, HostStats, Malformed, PortStats, ProtoStats, Snapshot,
    TcpPortStats, Totals, DOCUMENT_VERSION,
};
use common::net::{key_ip, MacAddr};

use super::entries::{Entry, Kind};
use super::hosts::Host;
use super::{Accounts, PortCounters, IN, OTHER, OUT};

impl Accounts {
    /// The whole statistics document at this moment. Capture counters and
    /// interfaces are the caller's to fill in.
    pub fn snapshot(&self) -> Snapshot {
        let since = self.since.unwrap_or(self.now);
        Snapshot {
            version: DOCUMENT_VERSION,
            since,
            now: self.now.max(since),
            totals: Totals {
                packets: self.packets,
                bytes: self.bytes,
                non_ip: self.non_ip,
                malformed: Malformed {
                    packets: self.malformed_packets(),
                    by_reason: self.malformed,
                },
                capture: Default::default(),
            },
            hosts: self.hosts.iter().map(host_stats).collect(),
            ports: GlobalPorts {
                tcp: global_ports(&self.tcp_ports),
                udp: global_ports(&self.udp_ports),
            },
            protocols: self
                .protocols
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
                .collect(),
            graphs: self.graphs.snapshot(self.now),
            interfaces: Vec::new(),
            local_networks: self.local.nets().to_vec(),
            evictions: Evictions {
                hosts: self.hosts.evicted(),
                ports: self.ports_evicted,
            },
        }
    }

    fn malformed_packets(&self) -> u64 {
        let m = &self.malformed;
        m.short_ip_header + m.bad_ip_version + m.bad_ipv4_ihl + m.bad_ipv4_total_length
    }

    /// Number of hosts in the table.
    pub fn host_count(&self) -> usize {
        self.hosts.len()
    }
}

fn global_ports(table: &[PortCounters]) -> Vec<PortStats> {
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
        .collect()
}

fn tcp_port((_, port, e): (u8, u16, &Entry)) -> TcpPortStats {
    TcpPortStats {
        port,
        bytes_in: e.bytes_in,
        bytes_out: e.bytes_out,
        packets_in: e.packets_in,
        packets_out: e.packets_out,
        syn: u64::from(e.syn),
    }
}

fn udp_port((_, port, e): (u8, u16, &Entry)) -> PortStats {
    PortStats {
        port,
        bytes_in: e.bytes_in,
        bytes_out: e.bytes_out,
        packets_in: e.packets_in,
        packets_out: e.packets_out,
    }
}

pub(super) fn host_stats(h: &Host) -> HostStats {
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
        last_seen: (h.packets_out > 0).then_some(h.last_seen),
        tcp_local: of(Kind::TcpLocal).map(tcp_port).collect(),
        tcp_remote: of(Kind::TcpRemote).map(tcp_port).collect(),
        udp_local: of(Kind::UdpLocal).map(udp_port).collect(),
        udp_remote: of(Kind::UdpRemote).map(udp_port).collect(),
        protocols: of(Kind::Proto)
            .map(|(_, n, e)| HostProtoStats {
                proto: n as u8,
                bytes_in: e.bytes_in,
                bytes_out: e.bytes_out,
                packets_in: e.packets_in,
                packets_out: e.packets_out,
            })
            .collect(),
    }
}
