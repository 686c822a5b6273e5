//! views::host: everything about one host — name, MAC, last seen, totals,
//! its four port tables (rows written by `rows`) and its protocols.

use std::cmp::Reverse;
use std::sync::Arc;

use common::model::HostStats;
use serde::Serialize;

use crate::clock;
use crate::hostname::Hostnames;
use crate::iana::{self, Transport};
use crate::rows::PortLine;
use crate::units::{duration, thousands};

#[derive(Serialize, Debug, Clone)]
pub struct Counts {
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub bytes_total: u64,
    pub packets_in: u64,
    pub packets_out: u64,
    pub packets_total: u64,
}

#[derive(Serialize, Debug, Clone)]
pub struct PortTableView {
    pub title: &'static str,
    pub id: &'static str,
    pub rows: usize,
    pub count_text: String,
    pub syn: bool,
}

#[derive(Serialize, Debug, Clone)]
pub struct HostProtoRow {
    pub proto: u8,
    pub name: &'static str,
    pub description: &'static str,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub bytes_total: u64,
    pub packets_total: u64,
}

#[derive(Serialize, Debug, Clone)]
pub struct HostView {
    pub ip: String,
    /// Set when the address in the URL was not written canonically.
    pub asked_as: String,
    pub name: String,
    pub name_note: bool,
    pub mac: String,
    pub show_mac: bool,
    pub show_last_seen: bool,
    pub last_seen: String,
    pub counts: Counts,
    pub tables: Vec<PortTableView>,
    pub protocols: Vec<HostProtoRow>,
}

/// A host's port table lines, busiest first (ties by port).
pub struct PortTables {
    pub tables: Vec<(Arc<[PortLine]>, Transport)>,
}

pub const TABLES: [(&str, &str, Transport, bool); 4] = [
    ("TCP ports on this host", "tcp-local", Transport::Tcp, true),
    (
        "TCP ports on remote hosts",
        "tcp-remote",
        Transport::Tcp,
        true,
    ),
    ("UDP ports on this host", "udp-local", Transport::Udp, false),
    (
        "UDP ports on remote hosts",
        "udp-remote",
        Transport::Udp,
        false,
    ),
];

fn busiest_first(mut v: Vec<PortLine>) -> Arc<[PortLine]> {
    v.sort_unstable_by_key(|l| (Reverse(l.bytes_total()), l.port));
    v.into()
}

pub fn port_tables(h: &HostStats) -> PortTables {
    let lines = [
        h.tcp_local.iter().map(PortLine::from).collect(),
        h.tcp_remote.iter().map(PortLine::from).collect(),
        h.udp_local.iter().map(PortLine::from).collect(),
        h.udp_remote.iter().map(PortLine::from).collect(),
    ];
    PortTables {
        tables: lines
            .into_iter()
            .zip(TABLES)
            .map(|(l, (_, _, t, _))| (busiest_first(l), t))
            .collect(),
    }
}

pub struct HostOptions {
    pub show_mac: bool,
    pub show_last_seen: bool,
    pub now: u64,
}

pub fn view(
    h: &HostStats,
    asked: &str,
    names: &Hostnames,
    tables: &PortTables,
    o: &HostOptions,
) -> HostView {
    let ip = h.ip.to_string();
    let name = names.shown(h);
    let last_seen = match h.last_seen {
        None => "(never)".to_string(),
        Some(t) if t > o.now => format!("{} (in the future)", clock::utc(t)),
        Some(t) => format!("{} ({} ago)", clock::utc(t), duration(o.now - t)),
    };
    let mut protocols: Vec<HostProtoRow> = h
        .protocols
        .iter()
        .map(|p| HostProtoRow {
            proto: p.proto,
            name: iana::protocol(p.proto).unwrap_or(""),
            description: iana::protocol_description(p.proto).unwrap_or(""),
            bytes_in: p.bytes_in,
            bytes_out: p.bytes_out,
            bytes_total: p.bytes_in.saturating_add(p.bytes_out),
            packets_total: p.packets_in.saturating_add(p.packets_out),
        })
        .collect();
    protocols.sort_unstable_by_key(|p| p.proto);
    HostView {
        asked_as: if asked == ip {
            String::new()
        } else {
            asked.chars().take(64).collect()
        },
        ip,
        name: name.text().to_string(),
        name_note: name.class().is_some(),
        mac: h.mac.map(|m| m.to_string()).unwrap_or_default(),
        show_mac: o.show_mac,
        show_last_seen: o.show_last_seen,
        last_seen,
        counts: Counts {
            bytes_in: h.bytes_in,
            bytes_out: h.bytes_out,
            bytes_total: h.bytes_total(),
            packets_in: h.packets_in,
            packets_out: h.packets_out,
            packets_total: h.packets_total(),
        },
        tables: TABLES
            .iter()
            .zip(&tables.tables)
            .map(|((title, id, _, syn), (lines, _))| PortTableView {
                title,
                id,
                rows: lines.len(),
                count_text: format!("({} entries)", thousands(lines.len() as u64)),
                syn: *syn,
            })
            .collect(),
        protocols,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::model::{HostProtoStats, PortStats, TcpPortStats};

    #[test]
    fn detail_sorts_tables_and_names_protocols() {
        let h = HostStats {
            bytes_in: 10,
            bytes_out: 20,
            packets_in: 1,
            packets_out: 2,
            last_seen: Some(90),
            tcp_local: vec![
                TcpPortStats {
                    port: 22,
                    bytes_in: 5,
                    syn: 1,
                    ..Default::default()
                },
                TcpPortStats {
                    port: 80,
                    bytes_in: 50,
                    ..Default::default()
                },
            ],
            udp_local: vec![PortStats {
                port: 53,
                ..Default::default()
            }],
            protocols: vec![
                HostProtoStats {
                    proto: 17,
                    ..Default::default()
                },
                HostProtoStats {
                    proto: 6,
                    bytes_in: 55,
                    ..Default::default()
                },
            ],
            ..HostStats::new("192.168.1.5".parse().unwrap())
        };
        let t = port_tables(&h);
        assert_eq!(t.tables[0].0[0].port, 80);
        assert_eq!(t.tables[0].0[1].syn, Some(1));
        assert_eq!(t.tables[2].0[0].syn, None);
        let v = view(
            &h,
            "::ffff:192.168.1.5",
            &Hostnames::without_dns(),
            &t,
            &HostOptions {
                show_mac: true,
                show_last_seen: true,
                now: 100,
            },
        );
        assert_eq!(v.asked_as, "::ffff:192.168.1.5");
        assert_eq!(v.protocols[0].name, "TCP");
        assert_eq!(v.protocols[1].name, "UDP");
        assert_eq!(v.counts.bytes_total, 30);
        assert!(v.last_seen.ends_with("(10 secs ago)"));
        assert_eq!(v.tables[0].rows, 2);
        assert!(v.tables[0].syn && !v.tables[2].syn);
    }
}
