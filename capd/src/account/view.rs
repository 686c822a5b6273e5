//! Borrowed views of [`Accounts`] that serialize exactly like
//! `common::model::Snapshot`, without building it: `--dump-json` of a
//! million hosts then costs no second copy of the tables. A unit test
//! checks that both give the same JSON.

use std::net::IpAddr;

use common::model::{
    Evictions, Graphs, HostProtoStats, InterfaceStats, PortStats, ProtoStats, TcpPortStats, Totals,
};
use common::net::{key_ip, LocalNet, MacAddr};
use serde::ser::{Serialize, Serializer};

use super::entries::{Entry, Kind};
use super::hosts::{Host, HostTable};
use super::{Accounts, PortCounters};

/// The fields in the document's order (`account::json` writes them in
/// the same order by hand).
#[derive(serde::Serialize)]
pub struct SnapshotView<'a> {
    pub(super) version: u32,
    pub(super) since: u64,
    pub(super) now: u64,
    pub(super) totals: Totals,
    pub(super) hosts: HostsView<'a>,
    pub(super) ports: GlobalPortsView<'a>,
    pub(super) protocols: Vec<ProtoStats>,
    pub(super) graphs: Graphs,
    pub(super) interfaces: &'a [InterfaceStats],
    pub(super) local_networks: &'a [LocalNet],
    pub(super) evictions: Evictions,
}

pub(super) struct HostsView<'a>(pub(super) &'a HostTable);

impl Serialize for HostsView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(HostView))
    }
}

#[derive(serde::Serialize)]
pub(super) struct GlobalPortsView<'a> {
    tcp: GlobalTableView<'a>,
    udp: GlobalTableView<'a>,
}

struct GlobalTableView<'a>(&'a [PortCounters]);

impl Serialize for GlobalTableView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(super::snapshot::global_port_rows(self.0))
    }
}

struct HostView<'a>(&'a Host);

#[derive(serde::Serialize)]
struct HostFields<'a> {
    ip: IpAddr,
    mac: Option<MacAddr>,
    hostname: Option<&'a str>,
    bytes_in: u64,
    bytes_out: u64,
    packets_in: u64,
    packets_out: u64,
    last_seen: Option<u64>,
    tcp_local: TableView<'a>,
    tcp_remote: TableView<'a>,
    udp_local: TableView<'a>,
    udp_remote: TableView<'a>,
    protocols: TableView<'a>,
}

impl Serialize for HostView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let h = self.0;
        // one pass over the entries, not one per table: a busy host's
        // large table has tens of thousands of slots
        let mut by_kind: [Vec<(u16, &Entry)>; 5] = Default::default();
        for (kind, number, e) in h.entries.iter() {
            if let Some(rows) = by_kind.get_mut(usize::from(kind)) {
                rows.push((number, e));
            }
        }
        let [tcp_local, tcp_remote, udp_local, udp_remote, protocols] = &by_kind;
        HostFields {
            ip: key_ip(h.key),
            mac: h.mac.map(MacAddr),
            hostname: None,
            bytes_in: h.bytes_in,
            bytes_out: h.bytes_out,
            packets_in: h.packets_in,
            packets_out: h.packets_out,
            last_seen: super::snapshot::last_seen(h),
            tcp_local: TableView(tcp_local, Kind::TcpLocal),
            tcp_remote: TableView(tcp_remote, Kind::TcpRemote),
            udp_local: TableView(udp_local, Kind::UdpLocal),
            udp_remote: TableView(udp_remote, Kind::UdpRemote),
            protocols: TableView(protocols, Kind::Proto),
        }
        .serialize(s)
    }
}

/// One table of a host: (number, counters) in table order.
struct TableView<'a>(&'a [(u16, &'a Entry)], Kind);

impl Serialize for TableView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let kind = self.1;
        let rows = self.0.iter().map(move |&(n, e)| (kind as u8, n, e));
        match kind {
            Kind::TcpLocal | Kind::TcpRemote => s.collect_seq(rows.map(tcp_row)),
            Kind::UdpLocal | Kind::UdpRemote => s.collect_seq(rows.map(udp_row)),
            Kind::Proto => s.collect_seq(rows.map(proto_row)),
        }
    }
}

pub(super) fn tcp_row((_, port, e): (u8, u16, &Entry)) -> TcpPortStats {
    TcpPortStats {
        port,
        bytes_in: e.bytes_in,
        bytes_out: e.bytes_out,
        packets_in: e.packets_in,
        packets_out: e.packets_out,
        syn: u64::from(e.syn),
    }
}

pub(super) fn udp_row((_, port, e): (u8, u16, &Entry)) -> PortStats {
    PortStats {
        port,
        bytes_in: e.bytes_in,
        bytes_out: e.bytes_out,
        packets_in: e.packets_in,
        packets_out: e.packets_out,
    }
}

pub(super) fn proto_row((_, n, e): (u8, u16, &Entry)) -> HostProtoStats {
    HostProtoStats {
        proto: n as u8,
        bytes_in: e.bytes_in,
        bytes_out: e.bytes_out,
        packets_in: e.packets_in,
        packets_out: e.packets_out,
    }
}

impl Accounts {
    /// The statistics document as a borrowed, serializable view.
    pub fn view<'a>(&'a self, interfaces: &'a [InterfaceStats]) -> SnapshotView<'a> {
        SnapshotView {
            version: common::model::DOCUMENT_VERSION,
            since: self.since(),
            now: self.now(),
            totals: self.totals_with(interfaces),
            hosts: HostsView(&self.hosts),
            ports: GlobalPortsView {
                tcp: GlobalTableView(&self.tcp_ports),
                udp: GlobalTableView(&self.udp_ports),
            },
            protocols: self.protocol_rows(),
            graphs: self.graphs.snapshot(self.now()),
            interfaces,
            local_networks: self.local.nets(),
            evictions: self.evictions(),
        }
    }
}
