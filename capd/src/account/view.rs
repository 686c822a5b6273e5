//! A borrowed view of [`Accounts`]: the statistics document of
//! `common::model::Snapshot` without building it, so that `--dump-json`
//! of a million hosts costs no second copy of the tables.
//! `account::json` writes it; a unit test there checks that the bytes are
//! those of the `Snapshot`.

use common::model::{
    Evictions, Graphs, HostProtoStats, InterfaceStats, PortStats, ProtoStats, TcpPortStats, Totals,
};
use common::net::LocalNet;

use super::entries::Entry;
use super::hosts::HostTable;
use super::{Accounts, PortCounters};

/// The parts of the document, in its order.
pub struct SnapshotView<'a> {
    pub(super) version: u32,
    pub(super) since: u64,
    pub(super) now: u64,
    pub(super) totals: Totals,
    pub(super) hosts: &'a HostTable,
    pub(super) ports: GlobalPortsView<'a>,
    pub(super) protocols: Vec<ProtoStats>,
    pub(super) graphs: Graphs,
    pub(super) interfaces: &'a [InterfaceStats],
    pub(super) local_networks: &'a [LocalNet],
    pub(super) evictions: Evictions,
}

/// The global port tables (`account::json` writes their rows by hand).
pub(super) struct GlobalPortsView<'a> {
    pub(super) tcp: &'a [PortCounters],
    pub(super) udp: &'a [PortCounters],
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
    /// The statistics document as a borrowed view (`--dump-json`).
    pub fn view<'a>(&'a self, interfaces: &'a [InterfaceStats]) -> SnapshotView<'a> {
        SnapshotView {
            version: common::model::DOCUMENT_VERSION,
            since: self.since(),
            now: self.now(),
            totals: self.totals_with(interfaces),
            hosts: &self.hosts,
            ports: GlobalPortsView {
                tcp: &self.tcp_ports,
                udp: &self.udp_ports,
            },
            protocols: self.protocol_rows(),
            graphs: self.graphs.snapshot(self.now()),
            interfaces,
            local_networks: self.local.nets(),
            evictions: self.evictions(),
        }
    }
}
