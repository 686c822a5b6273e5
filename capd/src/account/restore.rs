//! restore: a saved statistics document (the state file, or a darkstat
//! export converted to one) back into live counters. Runs once at start,
//! before capture; the table limits of this run apply (a host table saved
//! with a larger --hosts-max is cut down by the normal eviction).

use common::model::Snapshot;
use common::net::ip_key;

use super::entries::Kind;
use super::Accounts;

impl Accounts {
    /// Replaces every counter with the document's. Graph bars outside the
    /// document's window stay empty.
    pub fn restore(&mut self, s: &Snapshot) {
        let mut fresh = Accounts::new(self.limits, self.local.clone());
        fresh.since = Some(s.since);
        fresh.now = s.now;
        fresh.packets = s.totals.packets;
        fresh.bytes = s.totals.bytes;
        fresh.non_ip = s.totals.non_ip;
        fresh.malformed = s.totals.malformed.by_reason;
        fresh.ports_evicted = s.evictions.ports;
        let (max, keep) = (self.limits.ports_max, self.limits.ports_keep);
        for h in &s.hosts {
            let Some(host) = fresh.hosts.get_or_insert(ip_key(h.ip)) else {
                break; // --hosts-max 0: no per-host accounting
            };
            host.bytes_in = h.bytes_in;
            host.bytes_out = h.bytes_out;
            host.packets_in = h.packets_in;
            host.packets_out = h.packets_out;
            host.last_seen = h.last_seen.unwrap_or(0);
            host.mac = h.mac.map(|m| m.0);
            let e = &mut host.entries;
            for p in &h.protocols {
                let (c, _) = e.get(Kind::Proto, u16::from(p.proto), usize::MAX, 0);
                (c.bytes_in, c.bytes_out) = (p.bytes_in, p.bytes_out);
                (c.packets_in, c.packets_out) = (p.packets_in, p.packets_out);
            }
            if max == 0 {
                continue;
            }
            for (kind, rows) in [
                (Kind::TcpLocal, &h.tcp_local),
                (Kind::TcpRemote, &h.tcp_remote),
            ] {
                for p in rows.iter() {
                    let (c, _) = e.get(kind, p.port, max, keep);
                    (c.bytes_in, c.bytes_out) = (p.bytes_in, p.bytes_out);
                    (c.packets_in, c.packets_out) = (p.packets_in, p.packets_out);
                    c.syn = u32::try_from(p.syn).unwrap_or(u32::MAX);
                }
            }
            for (kind, rows) in [
                (Kind::UdpLocal, &h.udp_local),
                (Kind::UdpRemote, &h.udp_remote),
            ] {
                for p in rows.iter() {
                    let (c, _) = e.get(kind, p.port, max, keep);
                    (c.bytes_in, c.bytes_out) = (p.bytes_in, p.bytes_out);
                    (c.packets_in, c.packets_out) = (p.packets_in, p.packets_out);
                }
            }
        }
        for (table, rows) in [
            (&mut fresh.tcp_ports, &s.ports.tcp),
            (&mut fresh.udp_ports, &s.ports.udp),
        ] {
            for p in rows {
                let c = &mut table[usize::from(p.port)];
                (c.bytes_in, c.bytes_out) = (p.bytes_in, p.bytes_out);
                (c.packets_in, c.packets_out) = (p.packets_in, p.packets_out);
            }
        }
        for p in &s.protocols {
            let c = &mut fresh.protocols[usize::from(p.proto)];
            c.bytes = [p.bytes_in, p.bytes_out, p.bytes_other];
            c.packets = [p.packets_in, p.packets_out, p.packets_other];
        }
        fresh.graphs.restore(&s.graphs);
        fresh.hosts.add_evicted(s.evictions.hosts);
        *self = fresh;
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_frames::frame;
    use super::super::Limits;
    use super::*;
    use crate::decode::{self, LinkType};
    use common::net::LocalNets;

    fn limits() -> Limits {
        Limits {
            hosts_max: 1000,
            hosts_keep: 500,
            ports_max: 100,
            ports_keep: 50,
            highest_port: 65535,
        }
    }

    #[test]
    fn a_restored_document_is_the_same_document() {
        let local = LocalNets::new(vec!["192.168.0.0/16".parse().unwrap()]);
        let mut a = Accounts::new(limits(), local.clone());
        for i in 0..500u16 {
            let proto = [6, 17, 1][usize::from(i % 3)];
            let f = frame(
                (i % 9) as u8,
                (i % 4) as u8,
                proto,
                1000 + i % 70,
                53 + i % 3,
            );
            let d = decode::frame(LinkType::Ethernet, &f, 60);
            a.apply(&d, 1_700_000_000 + u64::from(i) * 37, 60);
        }
        a.apply(&crate::decode::Decoded::NonIp, 1_700_020_000, 90);
        let saved = a.snapshot(&[]);
        let mut b = Accounts::new(limits(), local);
        b.restore(&saved);
        let mut back = b.snapshot(&[]);
        let mut want = saved.clone();
        for s in [&mut back, &mut want] {
            s.hosts.sort_by_key(|h| h.ip);
            for h in &mut s.hosts {
                h.tcp_local.sort_by_key(|p| p.port);
                h.tcp_remote.sort_by_key(|p| p.port);
                h.udp_local.sort_by_key(|p| p.port);
                h.udp_remote.sort_by_key(|p| p.port);
                h.protocols.sort_by_key(|p| p.proto);
            }
        }
        assert_eq!(back, want);
        assert!(want.graphs.days.iter().any(|g| g.bytes_out > 0));
    }

    #[test]
    fn imported_hosts_without_packet_counts_keep_last_seen() {
        // what a darkstat export gives: bytes, no packets
        let host = |ip: &str, bytes_out: u64, last_seen: Option<u64>| common::model::HostStats {
            bytes_in: 10,
            bytes_out,
            last_seen,
            ..common::model::HostStats::new(ip.parse().unwrap())
        };
        let doc = Snapshot {
            since: 1_795_000_000,
            now: 1_795_000_100,
            hosts: vec![
                host("10.0.0.1", 500, Some(1_795_000_050)),
                // darkstat's v1 records have no last_seen
                host("10.0.0.2", 500, None),
                host("10.0.0.3", 0, None),
            ],
            ..Snapshot::default()
        };
        let mut a = Accounts::new(limits(), LocalNets::new(vec![]));
        a.restore(&doc);
        let mut back = a.snapshot(&[]);
        back.hosts.sort_by_key(|h| h.ip);
        let seen: Vec<Option<u64>> = back.hosts.iter().map(|h| h.last_seen).collect();
        assert_eq!(seen, vec![Some(1_795_000_050), None, None]);
    }
}
