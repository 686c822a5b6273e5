//! metrics: `/metrics` in the Prometheus text exposition format (0.0.4),
//! every name prefixed `darkstat_`.
//!
//! Counter semantics: every `_total` series only grows while capd runs.
//! It goes back to zero only on an explicit reset — capd restarted
//! without its saved state, which also moves
//! `darkstat_start_time_seconds` — or, for one host's series, when the
//! host was evicted from a full table (`darkstat_evicted_hosts_total`
//! grows) and is seen again. Prometheus treats both as counter resets, so
//! `rate()` and `increase()` stay correct. Graph-window sums are gauges:
//! they slide with the window. Host series are streamed, so a million
//! hosts are never held as one string.

use std::fmt::Write;
use std::sync::Arc;

use common::model::{HostStats, Snapshot};

use crate::body::Chunks;
use crate::dns::DnsStats;

/// Content type of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Escapes a label value (`\`, `"` and newlines).
pub fn push_label_value(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], v: u64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, val)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(k);
            out.push_str("=\"");
            push_label_value(out, val);
            out.push('"');
        }
        out.push('}');
    }
    let _ = writeln!(out, " {v}");
}

/// The families that do not depend on the number of hosts.
pub fn write_globals(out: &mut String, s: &Snapshot, hosts_shown: usize) {
    let t = &s.totals;
    for (name, help, v) in [
        (
            "darkstat_bytes_total",
            "IP bytes counted (IP header length fields, spec/counting.md).",
            t.bytes,
        ),
        ("darkstat_packets_total", "IP packets counted.", t.packets),
        (
            "darkstat_non_ip_packets_total",
            "Frames that are not IP.",
            t.non_ip.packets,
        ),
        (
            "darkstat_non_ip_bytes_total",
            "Wire bytes of frames that are not IP.",
            t.non_ip.bytes,
        ),
        (
            "darkstat_capture_received_packets_total",
            "Packets the capture received (all interfaces).",
            t.capture.received,
        ),
        (
            "darkstat_capture_dropped_packets_total",
            "Packets the capture dropped for lack of buffer space.",
            t.capture.dropped,
        ),
        (
            "darkstat_capture_if_dropped_packets_total",
            "Packets the network interface dropped.",
            t.capture.if_dropped,
        ),
        (
            "darkstat_evicted_hosts_total",
            "Hosts removed because the host table was full.",
            s.evictions.hosts,
        ),
        (
            "darkstat_evicted_port_entries_total",
            "Port entries removed because a host's port table was full.",
            s.evictions.ports,
        ),
    ] {
        family(out, name, "counter", help);
        sample(out, name, &[], v);
    }

    let r = &t.malformed.by_reason;
    family(
        out,
        "darkstat_malformed_packets_total",
        "counter",
        "Frames that claimed to be IP but could not be counted, by reason.",
    );
    for (reason, v) in [
        ("short_ip_header", r.short_ip_header),
        ("bad_ip_version", r.bad_ip_version),
        ("bad_ipv4_ihl", r.bad_ipv4_ihl),
        ("bad_ipv4_total_length", r.bad_ipv4_total_length),
    ] {
        sample(
            out,
            "darkstat_malformed_packets_total",
            &[("reason", reason)],
            v,
        );
    }

    for (name, help, pick) in [
        (
            "darkstat_interface_received_packets_total",
            "Packets received, per capture interface.",
            0,
        ),
        (
            "darkstat_interface_dropped_packets_total",
            "Packets dropped by the capture, per capture interface.",
            1,
        ),
        (
            "darkstat_interface_if_dropped_packets_total",
            "Packets dropped by the interface, per capture interface.",
            2,
        ),
    ] {
        family(out, name, "counter", help);
        for i in &s.interfaces {
            let c = &i.capture;
            let v = [c.received, c.dropped, c.if_dropped][pick];
            sample(out, name, &[("interface", &i.name)], v);
        }
    }

    family(
        out,
        "darkstat_protocol_bytes_total",
        "counter",
        "IP bytes per IP protocol: in = into the local networks, out = leaving them, other = neither.",
    );
    for p in &s.protocols {
        let proto = p.proto.to_string();
        for (dir, v) in [
            ("in", p.bytes_in),
            ("out", p.bytes_out),
            ("other", p.bytes_other),
        ] {
            sample(
                out,
                "darkstat_protocol_bytes_total",
                &[("proto", &proto), ("dir", dir)],
                v,
            );
        }
    }

    for (name, help, bytes) in [
        (
            "darkstat_graph_window_bytes",
            "Bytes crossing the local boundary within each graph window (sliding, so a gauge).",
            true,
        ),
        (
            "darkstat_graph_window_packets",
            "Packets crossing the local boundary within each graph window (sliding, so a gauge).",
            false,
        ),
    ] {
        family(out, name, "gauge", help);
        for (window, bars) in ["60s", "60m", "24h", "31d"].iter().zip(s.graphs.series()) {
            let (i, o) = bars.iter().fold((0u64, 0u64), |(i, o), b| {
                if bytes {
                    (i.saturating_add(b.bytes_in), o.saturating_add(b.bytes_out))
                } else {
                    (
                        i.saturating_add(b.packets_in),
                        o.saturating_add(b.packets_out),
                    )
                }
            });
            sample(out, name, &[("window", window), ("dir", "in")], i);
            sample(out, name, &[("window", window), ("dir", "out")], o);
        }
    }

    for (name, help, v) in [
        (
            "darkstat_hosts",
            "Hosts in the table (that this server shows).",
            hosts_shown as u64,
        ),
        (
            "darkstat_start_time_seconds",
            "Unix time measuring started; changes on a reset.",
            s.since,
        ),
        (
            "darkstat_snapshot_time_seconds",
            "Unix time of the statistics.",
            s.now,
        ),
    ] {
        family(out, name, "gauge", help);
        sample(out, name, &[], v);
    }
}

/// The reverse-DNS families (only when DNS is on).
pub fn write_dns(out: &mut String, d: &DnsStats) {
    for (name, help, v) in [
        (
            "darkstat_dns_cached_names",
            "Addresses in the reverse-DNS cache.",
            d.cached as u64,
        ),
        (
            "darkstat_dns_queued_lookups",
            "Lookups waiting in the reverse-DNS queue.",
            d.queued as u64,
        ),
        (
            "darkstat_dns_queue_capacity",
            "Size of the reverse-DNS queue.",
            d.queue_capacity as u64,
        ),
    ] {
        family(out, name, "gauge", help);
        sample(out, name, &[], v);
    }
    family(
        out,
        "darkstat_dns_dropped_lookups_total",
        "counter",
        "Lookups not queued because the queue was full (asked again later).",
    );
    sample(out, "darkstat_dns_dropped_lookups_total", &[], d.dropped);
    family(
        out,
        "darkstat_dns_lookups_total",
        "counter",
        "Finished reverse-DNS lookups by result.",
    );
    for (result, v) in [
        ("name", d.names),
        ("invalid", d.invalid),
        ("no_name", d.no_name),
        ("failed", d.failed),
    ] {
        sample(out, "darkstat_dns_lookups_total", &[("result", result)], v);
    }
}

fn host_sample(out: &mut String, name: &str, h: &HostStats, show_macs: bool, dir: &str, v: u64) {
    out.push_str(name);
    let _ = write!(out, "{{ip=\"{}\"", h.ip);
    if show_macs {
        out.push_str(",mac=\"");
        if let Some(m) = h.mac {
            let _ = write!(out, "{m}");
        }
        out.push('"');
    }
    let _ = writeln!(out, ",dir=\"{dir}\"}} {v}");
}

enum Stage {
    Globals,
    Bytes(usize),
    Packets(usize),
    Done,
}

/// Streams `/metrics`.
pub struct Metrics {
    snap: Arc<Snapshot>,
    hosts: Arc<[u32]>,
    show_macs: bool,
    dns: Option<DnsStats>,
    stage: Stage,
}

impl Metrics {
    /// `hosts`: the indices of the hosts to list; `dns`: the resolver's
    /// counters when DNS is on.
    pub fn new(
        snap: Arc<Snapshot>,
        hosts: Arc<[u32]>,
        show_macs: bool,
        dns: Option<DnsStats>,
    ) -> Self {
        Metrics {
            snap,
            hosts,
            show_macs,
            dns,
            stage: Stage::Globals,
        }
    }
}

const HOST_BYTES: &str = "darkstat_host_bytes_total";
const HOST_PACKETS: &str = "darkstat_host_packets_total";

impl Chunks for Metrics {
    fn write(&mut self, out: &mut String, budget: usize) -> bool {
        let start = out.len();
        while out.len() - start < budget {
            match self.stage {
                Stage::Globals => {
                    write_globals(out, &self.snap, self.hosts.len());
                    if let Some(d) = &self.dns {
                        write_dns(out, d);
                    }
                    family(
                        out,
                        HOST_BYTES,
                        "counter",
                        "IP bytes per host: dir=\"in\" received, dir=\"out\" sent.",
                    );
                    self.stage = Stage::Bytes(0);
                }
                Stage::Bytes(i) | Stage::Packets(i) => {
                    let bytes = matches!(self.stage, Stage::Bytes(_));
                    let Some(&idx) = self.hosts.get(i) else {
                        if bytes {
                            family(
                                out,
                                HOST_PACKETS,
                                "counter",
                                "IP packets per host: dir=\"in\" received, dir=\"out\" sent.",
                            );
                            self.stage = Stage::Packets(0);
                        } else {
                            self.stage = Stage::Done;
                        }
                        continue;
                    };
                    if let Some(h) = self.snap.hosts.get(idx as usize) {
                        let (name, i_v, o_v) = if bytes {
                            (HOST_BYTES, h.bytes_in, h.bytes_out)
                        } else {
                            (HOST_PACKETS, h.packets_in, h.packets_out)
                        };
                        host_sample(out, name, h, self.show_macs, "in", i_v);
                        host_sample(out, name, h, self.show_macs, "out", o_v);
                    }
                    self.stage = if bytes {
                        Stage::Bytes(i + 1)
                    } else {
                        Stage::Packets(i + 1)
                    };
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

    #[test]
    fn label_values_are_escaped() {
        let mut s = String::new();
        push_label_value(&mut s, "a\"b\\c\nd");
        assert_eq!(s, "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn families_are_contiguous_and_hosts_have_both_directions() {
        let snap = Snapshot {
            hosts: vec![
                HostStats {
                    mac: Some("02:00:00:00:00:01".parse().unwrap()),
                    bytes_in: 11,
                    bytes_out: 22,
                    packets_in: 1,
                    packets_out: 2,
                    ..HostStats::new("10.0.0.1".parse().unwrap())
                };
                3
            ],
            ..Default::default()
        };
        let mut p = Pieces::new();
        p.rows(Metrics::new(
            Arc::new(snap),
            vec![0, 1, 2].into(),
            true,
            Some(DnsStats::default()),
        ));
        let text = p.into_body().into_string();
        assert!(text.contains(
            "darkstat_host_bytes_total{ip=\"10.0.0.1\",mac=\"02:00:00:00:00:01\",dir=\"out\"} 22\n"
        ));
        assert!(text.contains(
            "darkstat_host_packets_total{ip=\"10.0.0.1\",mac=\"02:00:00:00:00:01\",dir=\"in\"} 1\n"
        ));
        // Each family's samples follow its TYPE line without interruption.
        let mut seen = std::collections::HashSet::new();
        let mut current = String::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                current = rest.split(' ').next().unwrap().to_string();
                assert!(seen.insert(current.clone()), "family {current} twice");
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                assert_eq!(name, current, "{line}");
            }
        }
    }
}
