//! `--import FILE`: a darkstat-rs state file or a darkstat 3 export,
//! told apart by their magic, turned into the statistics document that
//! `Accounts::restore` takes.
//!
//! From a darkstat export come the hosts (bytes in/out, MAC, last seen,
//! protocols, the four port tables with SYNs) and the graphs. darkstat
//! keeps no per-host packet counts and no totals, so those start at zero;
//! host names are not imported (webd resolves names itself).

use std::net::IpAddr;

use common::model::{
    GraphBar, Graphs, HostProtoStats, HostStats, PortStats, Snapshot, TcpPortStats,
    DOCUMENT_VERSION, GRAPH_PERIODS,
};
use common::net::MacAddr;

use super::darkstat::{self, DarkstatExport};
use super::state;

#[derive(Debug, thiserror::Error)]
pub enum ImportFileError {
    #[error(transparent)]
    State(#[from] state::StateError),
    #[error("darkstat export: {0}")]
    Darkstat(#[from] darkstat::ImportError),
    #[error("neither a darkstat-rs state file nor a darkstat export (unknown magic)")]
    Unknown,
}

const DARKSTAT_MAGIC: [u8; 4] = [0xda, 0x31, 0x41, 0x59];

/// Decodes an import file's bytes. `now` dates a darkstat export whose
/// graphs carry no time.
pub fn decode(bytes: &[u8], now: u64) -> Result<Snapshot, ImportFileError> {
    if bytes.starts_with(&state::MAGIC) {
        return Ok(state::decode(bytes)?);
    }
    if bytes.starts_with(&DARKSTAT_MAGIC) {
        return Ok(from_darkstat(&darkstat::parse(bytes)?, now));
    }
    Err(ImportFileError::Unknown)
}

fn host(h: &darkstat::ImportedHost) -> HostStats {
    HostStats {
        ip: match h.ip {
            IpAddr::V6(a) => a.to_canonical(),
            v4 => v4,
        },
        mac: h.mac.map(MacAddr),
        hostname: None,
        bytes_in: h.bytes_in,
        bytes_out: h.bytes_out,
        packets_in: 0,
        packets_out: 0,
        last_seen: h.last_seen,
        tcp_local: h
            .tcp_local
            .iter()
            .map(|&(port, syn, i, o)| tcp(port, syn, i, o))
            .collect(),
        tcp_remote: h
            .tcp_remote
            .iter()
            .map(|&(port, syn, i, o)| tcp(port, syn, i, o))
            .collect(),
        udp_local: h
            .udp_local
            .iter()
            .map(|&(port, i, o)| udp(port, i, o))
            .collect(),
        udp_remote: h
            .udp_remote
            .iter()
            .map(|&(port, i, o)| udp(port, i, o))
            .collect(),
        protocols: h
            .protocols
            .iter()
            .map(|&(proto, i, o)| HostProtoStats {
                proto,
                bytes_in: i,
                bytes_out: o,
                packets_in: 0,
                packets_out: 0,
            })
            .collect(),
    }
}

fn tcp(port: u16, syn: u64, bytes_in: u64, bytes_out: u64) -> TcpPortStats {
    TcpPortStats {
        port,
        bytes_in,
        bytes_out,
        packets_in: 0,
        packets_out: 0,
        syn,
    }
}

fn udp(port: u16, bytes_in: u64, bytes_out: u64) -> PortStats {
    PortStats {
        port,
        bytes_in,
        bytes_out,
        packets_in: 0,
        packets_out: 0,
    }
}

/// Our graphs are UTC periods; darkstat's are local-time ones. Each dated
/// darkstat bar goes into the UTC period its start falls in.
fn graphs(e: &DarkstatExport) -> Graphs {
    let Some(g) = &e.graphs else {
        return Graphs::default();
    };
    let Some(dated) = g.utc_offset().and_then(|off| g.dated_bars(off)) else {
        return Graphs::default();
    };
    let mut series: [Vec<GraphBar>; 4] = Default::default();
    for ((bars, out), period) in dated.iter().zip(series.iter_mut()).zip(GRAPH_PERIODS) {
        for &(start, bytes_in, bytes_out) in bars {
            let t = start / period * period;
            match out.iter_mut().find(|b| b.t == t) {
                Some(b) => {
                    b.bytes_in += bytes_in;
                    b.bytes_out += bytes_out;
                }
                None => out.push(GraphBar {
                    t,
                    bytes_in,
                    bytes_out,
                    packets_in: 0,
                    packets_out: 0,
                }),
            }
        }
    }
    let [seconds, minutes, hours, days] = series;
    Graphs {
        seconds,
        minutes,
        hours,
        days,
    }
}

fn from_darkstat(e: &DarkstatExport, now: u64) -> Snapshot {
    let last = e.graphs.as_ref().map_or(0, |g| g.last_time);
    let stamp = if last > 0 { last } else { now };
    Snapshot {
        version: DOCUMENT_VERSION,
        since: stamp,
        now: stamp,
        hosts: e.hosts.iter().map(host).collect(),
        graphs: graphs(e),
        ..Snapshot::default()
    }
}
