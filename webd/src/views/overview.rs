//! views::overview: the front page's summary — measuring since, totals,
//! capture counts, interfaces, local networks, and how many rows the top
//! tables show.

use common::model::Snapshot;
use serde::Serialize;

use crate::clock;
use crate::units::duration;

/// Rows of the top hosts and top ports tables on the front page.
pub const TOP_ROWS: usize = 10;

#[derive(Serialize, Debug, Clone)]
pub struct InterfaceView {
    pub name: String,
    pub linktype: u32,
    pub linktype_name: &'static str,
    pub received: u64,
    pub dropped: u64,
    pub if_dropped: u64,
}

#[derive(Serialize, Debug, Clone)]
pub struct Reason {
    pub label: &'static str,
    pub packets: u64,
}

#[derive(Serialize, Debug, Clone)]
pub struct OverviewView {
    pub since: String,
    pub running: String,
    pub bytes: u64,
    pub packets: u64,
    pub captured: u64,
    pub dropped: u64,
    pub if_dropped: u64,
    pub non_ip_packets: u64,
    pub non_ip_bytes: u64,
    pub malformed: u64,
    pub malformed_reasons: Vec<Reason>,
    pub hosts: usize,
    pub evicted_hosts: u64,
    pub evicted_ports: u64,
    pub interfaces: Vec<InterfaceView>,
    pub local_networks: Vec<String>,
}

/// Names of the link types capd decodes (pcap LINKTYPE_* numbers).
pub fn linktype_name(dlt: u32) -> &'static str {
    match dlt {
        0 => "BSD loopback",
        1 => "Ethernet",
        9 => "PPP",
        12 | 101 => "raw IP",
        14 => "raw IPv4",
        50 => "PPP in HDLC framing",
        51 => "PPPoE",
        104 => "Cisco HDLC",
        105 => "IEEE 802.11",
        108 => "OpenBSD loopback",
        113 => "Linux cooked",
        127 => "802.11 radiotap",
        228 => "raw IPv4",
        229 => "raw IPv6",
        239 => "Linux netlink (NFLOG)",
        276 => "Linux cooked v2",
        _ => "",
    }
}

pub fn view(snap: &Snapshot, visible_hosts: usize) -> OverviewView {
    let t = &snap.totals;
    let r = &t.malformed.by_reason;
    OverviewView {
        since: clock::utc(snap.since),
        running: duration(snap.now.saturating_sub(snap.since)),
        bytes: t.bytes,
        packets: t.packets,
        captured: t.capture.received,
        dropped: t.capture.dropped,
        if_dropped: t.capture.if_dropped,
        non_ip_packets: t.non_ip.packets,
        non_ip_bytes: t.non_ip.bytes,
        malformed: t.malformed.packets,
        malformed_reasons: [
            ("IP header not captured", r.short_ip_header),
            ("bad IP version", r.bad_ip_version),
            ("IPv4 header length below 20", r.bad_ipv4_ihl),
            ("IPv4 total length below header", r.bad_ipv4_total_length),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(label, packets)| Reason { label, packets })
        .collect(),
        hosts: visible_hosts,
        evicted_hosts: snap.evictions.hosts,
        evicted_ports: snap.evictions.ports,
        interfaces: snap
            .interfaces
            .iter()
            .map(|i| InterfaceView {
                name: i.name.clone(),
                linktype: i.linktype,
                linktype_name: linktype_name(i.linktype),
                received: i.capture.received,
                dropped: i.capture.dropped,
                if_dropped: i.capture.if_dropped,
            })
            .collect(),
        local_networks: snap.local_networks.iter().map(|n| n.to_string()).collect(),
    }
}
