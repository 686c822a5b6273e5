//! Borrowed views of [`Accounts`] that serialize exactly like
//! `common::model::Snapshot`, without building it: `--dump-json` of a
//! million hosts then costs no second copy of the tables. A unit test
//! checks that both give the same JSON.

use std::net::IpAddr;

use common::model::{
    Evictions, Graphs, HostProtoStats, InterfaceStats, PortStats, ProtoStats, TcpPortStats, Totals,
};
use common::net::{key_ip, LocalNet, MacAddr};
use std::sync::mpsc;
use std::thread;

use serde::ser::{Error as _, Serialize, SerializeSeq, Serializer};

use super::entries::{Entry, Kind};
use super::hosts::{Host, HostTable};
use super::{Accounts, PortCounters};

#[derive(serde::Serialize)]
pub struct SnapshotView<'a> {
    version: u32,
    since: u64,
    now: u64,
    totals: Totals,
    hosts: HostsView<'a>,
    ports: GlobalPortsView<'a>,
    protocols: Vec<ProtoStats>,
    graphs: Graphs,
    interfaces: &'a [InterfaceStats],
    local_networks: &'a [LocalNet],
    evictions: Evictions,
}

/// The hosts; with `aside`, half of them are rendered to JSON text on a
/// second thread while this one writes the other half (only for
/// serde_json, which writes such text as it is).
struct HostsView<'a> {
    table: &'a HostTable,
    aside: bool,
}

/// Hosts per chunk handed between the two threads: small enough to bound
/// the text held in memory, large enough to make the hand-over cheap.
const CHUNK: usize = 256;

impl Serialize for HostsView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if !self.aside || self.table.len() <= CHUNK {
            return s.collect_seq(self.table.iter().map(HostView));
        }
        let hosts = self.table.as_slice();
        thread::scope(|sc| {
            let (tx, rx) = mpsc::sync_channel::<Rendered>(1);
            let renderer = thread::Builder::new()
                .name("dump".into())
                .spawn_scoped(sc, move || {
                    for chunk in hosts.chunks(CHUNK).skip(1).step_by(2) {
                        let text = chunk
                            .iter()
                            .map(|h| serde_json::value::to_raw_value(&HostView(h)))
                            .collect();
                        // fails once the writer gave up: stop too
                        if tx.send(text).is_err() {
                            break;
                        }
                    }
                });
            let mut seq = s.serialize_seq(Some(hosts.len()))?;
            if renderer.is_err() {
                // no second thread: all on this one
                for h in hosts {
                    seq.serialize_element(&HostView(h))?;
                }
                return seq.end();
            }
            for (i, chunk) in hosts.chunks(CHUNK).enumerate() {
                if i % 2 == 0 {
                    for h in chunk {
                        seq.serialize_element(&HostView(h))?;
                    }
                    continue;
                }
                let text = rx
                    .recv()
                    .map_err(|_| S::Error::custom("the dump thread stopped"))?
                    .map_err(S::Error::custom)?;
                for t in &text {
                    seq.serialize_element(t)?;
                }
            }
            seq.end()
        })
    }
}

/// A chunk of hosts as JSON text.
type Rendered = Result<Vec<Box<serde_json::value::RawValue>>, serde_json::Error>;

#[derive(serde::Serialize)]
struct GlobalPortsView<'a> {
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
        self.view_with(interfaces, false)
    }

    /// [`Accounts::view`] for serde_json only, rendering half of the hosts
    /// on a second thread (`--dump-json` of a large table).
    pub fn json_view<'a>(&'a self, interfaces: &'a [InterfaceStats]) -> SnapshotView<'a> {
        self.view_with(interfaces, true)
    }

    fn view_with<'a>(&'a self, interfaces: &'a [InterfaceStats], aside: bool) -> SnapshotView<'a> {
        SnapshotView {
            version: common::model::DOCUMENT_VERSION,
            since: self.since(),
            now: self.now(),
            totals: self.totals_with(interfaces),
            hosts: HostsView {
                table: &self.hosts,
                aside,
            },
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
