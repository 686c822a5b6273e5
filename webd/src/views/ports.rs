//! views::ports: the global TCP and UDP port tables' parameters
//! (`sort=port|total`, `full=yes`, `proto=tcp|udp`) and the text around
//! them. Rows are written by `rows::PortRows`.

use std::sync::Arc;

use serde::Serialize;

use crate::iana::Transport;
use crate::index::{PortSort, PortTable, SnapshotIndex};
use crate::query::{QueryError, RawQuery, SelfLink};
use crate::rows::PortLine;
use crate::units::thousands;
use crate::views::Refresh;

/// Rows of each table without `full=yes` (the seed article's "top 25").
pub const TOP_ROWS: usize = 25;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Both,
    Tcp,
    Udp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortsParams {
    pub sort: PortSort,
    pub full: bool,
    pub which: Which,
    pub refresh: Refresh,
}

impl PortsParams {
    pub fn parse(raw: &RawQuery, default_refresh: u32) -> Result<Self, QueryError> {
        Ok(PortsParams {
            sort: raw
                .choice(
                    "sort",
                    &[("total", PortSort::Total), ("port", PortSort::Port)],
                )?
                .unwrap_or(PortSort::Total),
            full: raw.switch("full")?.unwrap_or(false),
            which: raw
                .choice("proto", &[("tcp", Which::Tcp), ("udp", Which::Udp)])?
                .unwrap_or(Which::Both),
            refresh: Refresh {
                explicit: raw.refresh()?,
                default: default_refresh,
            },
        })
    }

    pub fn link(&self) -> SelfLink {
        let mut l = SelfLink::new();
        if self.sort == PortSort::Port {
            l.set("sort", Some("port".into()));
        }
        if self.full {
            l.set("full", Some("yes".into()));
        }
        match self.which {
            Which::Tcp => l.set("proto", Some("tcp".into())),
            Which::Udp => l.set("proto", Some("udp".into())),
            Which::Both => l.set("proto", None),
        };
        l.set("refresh", self.refresh.param());
        l
    }
}

#[derive(Serialize, Debug, Clone)]
pub struct PortTableView {
    pub id: &'static str,
    pub title: String,
    pub rows: usize,
    pub count_text: String,
    pub only_href: String,
}

#[derive(Serialize, Debug, Clone)]
pub struct PortsView {
    pub tables: Vec<PortTableView>,
    pub by_port_href: String,
    pub by_total_href: String,
    pub by_port: bool,
    pub full: bool,
    pub full_href: String,
    pub top_href: String,
    pub both_href: String,
    pub both: bool,
}

/// The lines of one global table in display order, cut to what is shown.
pub fn lines(index: &SnapshotIndex, table: PortTable, p: &PortsParams) -> Arc<[PortLine]> {
    let rows = match table {
        PortTable::Tcp => &index.snapshot().ports.tcp,
        PortTable::Udp => &index.snapshot().ports.udp,
    };
    let order = index.port_order(table, p.sort);
    let n = if p.full {
        order.len()
    } else {
        order.len().min(TOP_ROWS)
    };
    order[..n]
        .iter()
        .map(|&i| PortLine::from(&rows[i as usize]))
        .collect()
}

/// The tables a request shows.
pub fn tables(p: &PortsParams) -> Vec<(PortTable, Transport)> {
    let mut v = Vec::new();
    if p.which != Which::Udp {
        v.push((PortTable::Tcp, Transport::Tcp));
    }
    if p.which != Which::Tcp {
        v.push((PortTable::Udp, Transport::Udp));
    }
    v
}

pub fn view(index: &SnapshotIndex, p: &PortsParams, shown: &[(PortTable, usize)]) -> PortsView {
    let link = p.link();
    let snap = index.snapshot();
    let tables = shown
        .iter()
        .map(|&(t, rows)| {
            let (id, name, total, proto) = match t {
                PortTable::Tcp => ("tcp", "TCP", snap.ports.tcp.len(), "tcp"),
                PortTable::Udp => ("udp", "UDP", snap.ports.udp.len(), "udp"),
            };
            let order = match p.sort {
                PortSort::Port => "by port number",
                PortSort::Total => "by total bytes",
            };
            let count_text = if rows == total {
                format!("(all {} ports)", thousands(total as u64))
            } else {
                format!("(top {} of {} ports)", rows, thousands(total as u64))
            };
            PortTableView {
                id,
                title: format!("{name} ports, {order}"),
                rows,
                count_text,
                only_href: link.with(&[("proto", Some(proto.into()))]).href(),
            }
        })
        .collect();
    PortsView {
        tables,
        by_port_href: link.with(&[("sort", Some("port".into()))]).href(),
        by_total_href: link.with(&[("sort", None)]).href(),
        by_port: p.sort == PortSort::Port,
        full: p.full,
        full_href: link.with(&[("full", Some("yes".into()))]).href(),
        top_href: link.with(&[("full", None)]).href(),
        both_href: link.with(&[("proto", None)]).href(),
        both: p.which == Which::Both,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::model::{PortStats, Snapshot};

    #[test]
    fn top_25_or_full_in_either_order() {
        let tcp = (0..100u16)
            .map(|i| PortStats {
                port: 1000 + i,
                bytes_in: u64::from(i % 7),
                ..Default::default()
            })
            .collect();
        let idx = SnapshotIndex::new(
            std::sync::Arc::new(Snapshot {
                ports: common::model::GlobalPorts { tcp, udp: vec![] },
                ..Default::default()
            }),
            false,
        );
        let parse = |q: &str| PortsParams::parse(&RawQuery::parse(q).unwrap(), 10).unwrap();
        let top = lines(&idx, PortTable::Tcp, &parse(""));
        assert_eq!(top.len(), 25);
        assert_eq!(top[0].bytes_in, 6);
        assert_eq!(top[0].port, 1006);
        let by_port = lines(&idx, PortTable::Tcp, &parse("sort=port&full=yes"));
        assert_eq!(by_port.len(), 100);
        assert!(by_port.windows(2).all(|w| w[0].port < w[1].port));
        assert_eq!(tables(&parse("proto=udp")).len(), 1);
        assert!(PortsParams::parse(&RawQuery::parse("proto=icmp").unwrap(), 10).is_err());
        assert!(PortsParams::parse(&RawQuery::parse("sort=in").unwrap(), 10).is_err());
        let v = view(&idx, &parse(""), &[(PortTable::Tcp, 25)]);
        assert_eq!(v.tables[0].count_text, "(top 25 of 100 ports)");
        assert_eq!(v.by_port_href, "?sort=port");
    }
}
