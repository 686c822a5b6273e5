//! json: the JSON API documents — `/api/v1/stats` (the document of
//! `spec/json.md`, with host names filled in from DNS when known) and
//! `/api/v1/hosts/<ip>`. The stats document is streamed host by host, so
//! a million hosts are never serialized into one buffer.
//!
//! `--no-macs` writes `"mac": null`, `--local-only` leaves out hosts
//! outside the local networks; otherwise the document equals capd's
//! `--dump-json` output (a test checks field by field).

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

use common::model::{HostProtoStats, HostStats, PortStats, Snapshot, TcpPortStats};
use common::net::MacAddr;
use serde::Serialize;

use crate::body::Chunks;
use crate::hostname::Hostnames;

/// One host as the API writes it: the model's fields, with the name from
/// the resolver and the MAC hidden under `--no-macs`.
#[derive(Serialize)]
pub struct HostOut<'a> {
    ip: IpAddr,
    mac: Option<MacAddr>,
    hostname: Option<Cow<'a, str>>,
    bytes_in: u64,
    bytes_out: u64,
    packets_in: u64,
    packets_out: u64,
    last_seen: Option<u64>,
    tcp_local: &'a [TcpPortStats],
    tcp_remote: &'a [TcpPortStats],
    udp_local: &'a [PortStats],
    udp_remote: &'a [PortStats],
    protocols: &'a [HostProtoStats],
}

impl<'a> HostOut<'a> {
    pub fn new(h: &'a HostStats, names: &Hostnames, show_macs: bool) -> Self {
        // Destructured so that a field added to the model is a compile
        // error here rather than a silently missing key.
        let HostStats {
            ip,
            mac,
            hostname: _,
            bytes_in,
            bytes_out,
            packets_in,
            packets_out,
            last_seen,
            tcp_local,
            tcp_remote,
            udp_local,
            udp_remote,
            protocols,
        } = h;
        HostOut {
            ip: *ip,
            mac: if show_macs { *mac } else { None },
            hostname: names.known(h),
            bytes_in: *bytes_in,
            bytes_out: *bytes_out,
            packets_in: *packets_in,
            packets_out: *packets_out,
            last_seen: *last_seen,
            tcp_local,
            tcp_remote,
            udp_local,
            udp_remote,
            protocols,
        }
    }
}

/// `/api/v1/hosts/<ip>`.
pub fn host(h: &HostStats, names: &Hostnames, show_macs: bool) -> String {
    to_string(&HostOut::new(h, names, show_macs))
}

fn to_string<T: Serialize>(v: &T) -> String {
    // The model holds only numbers, addresses and strings: serializing it
    // cannot fail.
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

enum Stage {
    Head,
    Hosts(usize),
    Tail,
    Done,
}

/// Streams `/api/v1/stats`.
pub struct StatsJson {
    snap: Arc<Snapshot>,
    hosts: Arc<[u32]>,
    names: Hostnames,
    show_macs: bool,
    stage: Stage,
}

impl StatsJson {
    /// `hosts`: indices of the hosts to include, in output order.
    pub fn new(snap: Arc<Snapshot>, hosts: Arc<[u32]>, names: Hostnames, show_macs: bool) -> Self {
        StatsJson {
            snap,
            hosts,
            names,
            show_macs,
            stage: Stage::Head,
        }
    }
}

impl Chunks for StatsJson {
    fn write(&mut self, out: &mut String, budget: usize) -> bool {
        let start = out.len();
        // Destructured for the same reason as in `HostOut::new`.
        let Snapshot {
            version,
            since,
            now,
            totals,
            hosts: _,
            ports,
            protocols,
            graphs,
            interfaces,
            local_networks,
            evictions,
        } = &*self.snap;
        while out.len() - start < budget {
            match self.stage {
                Stage::Head => {
                    out.push_str(&format!(
                        "{{\"version\":{version},\"since\":{since},\"now\":{now},\"totals\":{},\"hosts\":[",
                        to_string(totals)
                    ));
                    self.stage = Stage::Hosts(0);
                }
                Stage::Hosts(i) => {
                    let Some(&idx) = self.hosts.get(i) else {
                        self.stage = Stage::Tail;
                        continue;
                    };
                    if i > 0 {
                        out.push(',');
                    }
                    if let Some(h) = self.snap.hosts.get(idx as usize) {
                        out.push_str(&to_string(&HostOut::new(h, &self.names, self.show_macs)));
                    }
                    self.stage = Stage::Hosts(i + 1);
                }
                Stage::Tail => {
                    out.push_str(&format!(
                        "],\"ports\":{},\"protocols\":{},\"graphs\":{},\"interfaces\":{},\"local_networks\":{},\"evictions\":{}}}",
                        to_string(ports),
                        to_string(protocols),
                        to_string(graphs),
                        to_string(interfaces),
                        to_string(local_networks),
                        to_string(evictions),
                    ));
                    self.stage = Stage::Done;
                }
                Stage::Done => return false,
            }
        }
        !matches!(self.stage, Stage::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::Pieces;
    use common::model::*;

    fn snap() -> Snapshot {
        Snapshot {
            version: 1,
            since: 5,
            now: 9,
            hosts: vec![
                HostStats {
                    mac: Some("02:00:00:00:00:01".parse().unwrap()),
                    hostname: Some("a.example".into()),
                    bytes_in: 1,
                    bytes_out: 2,
                    packets_in: 3,
                    packets_out: 4,
                    last_seen: Some(8),
                    tcp_local: vec![TcpPortStats {
                        port: 22,
                        syn: 1,
                        ..Default::default()
                    }],
                    udp_remote: vec![PortStats {
                        port: 53,
                        ..Default::default()
                    }],
                    protocols: vec![HostProtoStats {
                        proto: 6,
                        ..Default::default()
                    }],
                    ..HostStats::new("10.0.0.1".parse().unwrap())
                },
                HostStats::new("2001:db8::1".parse().unwrap()),
            ],
            graphs: Graphs {
                seconds: vec![GraphBar {
                    t: 9,
                    bytes_in: 1,
                    ..Default::default()
                }],
                ..Default::default()
            },
            local_networks: vec!["10.0.0.0/8".parse().unwrap()],
            interfaces: vec![InterfaceStats {
                name: "eth0".into(),
                linktype: 1,
                capture: CaptureCounts::default(),
            }],
            ..Default::default()
        }
    }

    fn stream(s: Snapshot, show_macs: bool) -> serde_json::Value {
        let n = s.hosts.len() as u32;
        let mut p = Pieces::new();
        p.rows(StatsJson::new(
            Arc::new(s),
            (0..n).collect(),
            Hostnames::without_dns(),
            show_macs,
        ));
        serde_json::from_str(&p.into_body().into_string()).unwrap()
    }

    #[test]
    fn streamed_document_equals_the_model_serialization() {
        let s = snap();
        let expected = serde_json::to_value(&s).unwrap();
        assert_eq!(stream(s, true), expected);
    }

    #[test]
    fn no_macs_nulls_every_mac() {
        let v = stream(snap(), false);
        assert!(v["hosts"][0]["mac"].is_null());
        assert_eq!(v["hosts"][0]["bytes_out"], 2);
    }

    #[test]
    fn empty_host_list_is_valid_json() {
        let mut s = snap();
        s.hosts.clear();
        let v = stream(s, true);
        assert_eq!(v["hosts"], serde_json::json!([]));
    }
}
