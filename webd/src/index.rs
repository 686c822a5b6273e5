//! index: sorted orders of one snapshot's hosts and ports, computed once
//! per snapshot and per sort key (lazily, or ahead of time by the warmer),
//! so that a request never sorts a million hosts. Holds no counters of its
//! own: every number is read from the `Arc<Snapshot>` the index belongs to.

use std::cmp::Reverse;
use std::sync::{Arc, Mutex, OnceLock};

use common::model::{HostStats, PortStats, Snapshot};
use common::net::{ip_key, LocalNets};

/// The orders of the hosts table. Byte and packet orders are descending;
/// `Ip` is ascending by the address's IPv4-mapped IPv6 form. Ties are
/// broken by address, so a page is the same at every refresh.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SortKey {
    Total,
    In,
    Out,
    LastSeen,
    Ip,
    Packets,
}

impl SortKey {
    pub const ALL: [SortKey; 6] = [
        SortKey::Total,
        SortKey::In,
        SortKey::Out,
        SortKey::LastSeen,
        SortKey::Ip,
        SortKey::Packets,
    ];

    /// The `sort=` word.
    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Total => "total",
            SortKey::In => "in",
            SortKey::Out => "out",
            SortKey::LastSeen => "lastseen",
            SortKey::Ip => "ip",
            SortKey::Packets => "packets",
        }
    }

    pub fn choices() -> [(&'static str, SortKey); 6] {
        SortKey::ALL.map(|k| (k.as_str(), k))
    }

    fn slot(self) -> usize {
        self as usize
    }

    /// Primary key, smaller first.
    fn primary(self, h: &HostStats) -> u64 {
        match self {
            SortKey::Total => !h.bytes_total(),
            SortKey::In => !h.bytes_in,
            SortKey::Out => !h.bytes_out,
            // Never-seen hosts (None) go last.
            SortKey::LastSeen => !h.last_seen.map_or(0, |t| t.saturating_add(1)),
            SortKey::Ip => 0,
            SortKey::Packets => !h.packets_total(),
        }
    }
}

/// The global port tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortTable {
    Tcp,
    Udp,
}

/// Orders of a port table: by port number, or by total bytes descending
/// (ties by port).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortSort {
    Port,
    Total,
}

/// How many leading hosts of an order [`SnapshotIndex::prefix`] computes
/// without sorting everything: the first 34 pages of /hosts/.
pub const TOP_K: usize = 1024;

/// One snapshot with its lazily computed orders, and other things derived
/// from it that do not depend on the request.
pub struct SnapshotIndex {
    snap: Arc<Snapshot>,
    local_only: bool,
    visible: OnceLock<Arc<[u32]>>,
    orders: [OnceLock<Arc<[u32]>>; 6],
    tops: [OnceLock<Arc<[u32]>>; 6],
    /// The graphs section, rendered once per snapshot (it does not depend
    /// on the request).
    pub graphs_html: OnceLock<Arc<str>>,
    port_orders: [OnceLock<Arc<[u32]>>; 4],
}

impl SnapshotIndex {
    pub fn new(snap: Arc<Snapshot>, local_only: bool) -> Self {
        SnapshotIndex {
            snap,
            local_only,
            visible: OnceLock::new(),
            orders: Default::default(),
            tops: Default::default(),
            graphs_html: OnceLock::new(),
            port_orders: Default::default(),
        }
    }

    pub fn snapshot(&self) -> &Arc<Snapshot> {
        &self.snap
    }

    /// Indices (into `snapshot().hosts`) of the hosts this server shows:
    /// all of them, or under `--local-only` those inside a local network.
    pub fn visible(&self) -> Arc<[u32]> {
        self.visible
            .get_or_init(|| {
                let hosts = &self.snap.hosts;
                if !self.local_only {
                    return (0..hosts.len() as u32).collect();
                }
                let nets = LocalNets::new(self.snap.local_networks.clone());
                hosts
                    .iter()
                    .enumerate()
                    .filter(|(_, h)| nets.is_local(ip_key(h.ip)))
                    .map(|(i, _)| i as u32)
                    .collect()
            })
            .clone()
    }

    /// Whether a host is shown by this server.
    pub fn is_visible(&self, host: &HostStats) -> bool {
        !self.local_only
            || LocalNets::new(self.snap.local_networks.clone()).is_local(ip_key(host.ip))
    }

    /// The visible hosts in `key` order.
    pub fn order(&self, key: SortKey) -> Arc<[u32]> {
        self.orders[key.slot()]
            .get_or_init(|| sort_hosts(&self.snap.hosts, &self.visible(), key).into())
            .clone()
    }

    /// At least the first `need` visible hosts in `key` order (fewer only if
    /// there are fewer hosts). For `need` up to [`TOP_K`] this selects the
    /// leading hosts in linear time instead of sorting all of them, unless
    /// the full order is already there.
    pub fn prefix(&self, key: SortKey, need: usize) -> Arc<[u32]> {
        if let Some(full) = self.orders[key.slot()].get() {
            return full.clone();
        }
        if need > TOP_K {
            return self.order(key);
        }
        self.tops[key.slot()]
            .get_or_init(|| top_hosts(&self.snap.hosts, &self.visible(), key, TOP_K).into())
            .clone()
    }

    /// Whether the order for `key` is already computed.
    pub fn has_order(&self, key: SortKey) -> bool {
        self.orders[key.slot()].get().is_some()
    }

    /// A global port table in the given order.
    pub fn port_order(&self, table: PortTable, by: PortSort) -> Arc<[u32]> {
        let (slot, rows) = match table {
            PortTable::Tcp => (0, &self.snap.ports.tcp),
            PortTable::Udp => (1, &self.snap.ports.udp),
        };
        let slot = slot * 2 + usize::from(by == PortSort::Total);
        self.port_orders[slot]
            .get_or_init(|| match by {
                PortSort::Total => sort_ports_by_total(rows).into(),
                PortSort::Port => sort_ports_by_number(rows).into(),
            })
            .clone()
    }

    /// The host with this address, if visible.
    pub fn find(&self, ip: std::net::IpAddr) -> Option<&HostStats> {
        let h = self.snap.hosts.iter().find(|h| h.ip == ip)?;
        self.is_visible(h).then_some(h)
    }
}

type Keyed = (u64, u128, u32);

fn keyed(hosts: &[HostStats], subset: &[u32], key: SortKey) -> Vec<Keyed> {
    subset
        .iter()
        .map(|&i| {
            let h = &hosts[i as usize];
            (key.primary(h), ip_key(h.ip), i)
        })
        .collect()
}

/// The first `k` of `subset` in `key` order: select, then sort only those.
fn top_hosts(hosts: &[HostStats], subset: &[u32], key: SortKey, k: usize) -> Vec<u32> {
    let mut v = keyed(hosts, subset, key);
    if v.len() > k {
        v.select_nth_unstable(k);
        v.truncate(k);
    }
    v.sort_unstable();
    v.into_iter().map(|(_, _, i)| i).collect()
}

/// `subset` (indices into `hosts`) in `key` order.
pub fn sort_hosts(hosts: &[HostStats], subset: &[u32], key: SortKey) -> Vec<u32> {
    // Keys are gathered once so that sorting compares plain integers
    // instead of chasing two hosts per comparison.
    let mut v = keyed(hosts, subset, key);
    v.sort_unstable();
    v.into_iter().map(|(_, _, i)| i).collect()
}

/// Port rows by total bytes descending, ties by port ascending.
pub fn sort_ports_by_total(rows: &[PortStats]) -> Vec<u32> {
    let mut keyed: Vec<(Reverse<u64>, u16, u32)> = rows
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (
                Reverse(p.bytes_in.saturating_add(p.bytes_out)),
                p.port,
                i as u32,
            )
        })
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, _, i)| i).collect()
}

/// Port rows by port number.
pub fn sort_ports_by_number(rows: &[PortStats]) -> Vec<u32> {
    let mut keyed: Vec<(u16, u32)> = rows
        .iter()
        .enumerate()
        .map(|(i, p)| (p.port, i as u32))
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// The index of the latest snapshot (and of the one before, so that a
/// request that started just before an update does not evict the new one).
#[derive(Default)]
pub struct IndexCache {
    local_only: bool,
    slots: Mutex<[Option<Arc<SnapshotIndex>>; 2]>,
}

impl IndexCache {
    pub fn new(local_only: bool) -> Self {
        IndexCache {
            local_only,
            slots: Mutex::new([None, None]),
        }
    }

    /// The index of `snap`, created empty on first use.
    pub fn get(&self, snap: &Arc<Snapshot>) -> Arc<SnapshotIndex> {
        // A poisoned lock only means another request panicked while
        // swapping two Arcs; the slots are still valid.
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        for s in slots.iter().flatten() {
            if Arc::ptr_eq(s.snapshot(), snap) {
                return s.clone();
            }
        }
        let idx = Arc::new(SnapshotIndex::new(snap.clone(), self.local_only));
        slots[1] = slots[0].take();
        slots[0] = Some(idx.clone());
        idx
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn host(ip: &str, bin: u64, bout: u64, last: Option<u64>) -> HostStats {
        HostStats {
            bytes_in: bin,
            bytes_out: bout,
            packets_in: bin / 10,
            packets_out: bout / 100,
            last_seen: last,
            ..HostStats::new(ip.parse().unwrap())
        }
    }

    fn snap() -> Arc<Snapshot> {
        Arc::new(Snapshot {
            hosts: vec![
                host("10.0.0.2", 100, 0, Some(5)),
                host("2001:db8::1", 50, 60, None),
                host("10.0.0.1", 100, 0, Some(9)),
                host("192.168.1.1", 0, 500, Some(1)),
            ],
            local_networks: vec!["10.0.0.0/8".parse().unwrap()],
            ..Default::default()
        })
    }

    fn ips(s: &Snapshot, order: &[u32]) -> Vec<String> {
        order
            .iter()
            .map(|&i| s.hosts[i as usize].ip.to_string())
            .collect()
    }

    #[test]
    fn orders_sort_descending_with_address_ties() {
        let s = snap();
        let idx = SnapshotIndex::new(s.clone(), false);
        assert_eq!(
            ips(&s, &idx.order(SortKey::Total)),
            ["192.168.1.1", "2001:db8::1", "10.0.0.1", "10.0.0.2"]
        );
        assert_eq!(
            ips(&s, &idx.order(SortKey::In)),
            ["10.0.0.1", "10.0.0.2", "2001:db8::1", "192.168.1.1"]
        );
        assert_eq!(
            ips(&s, &idx.order(SortKey::LastSeen)),
            ["10.0.0.1", "10.0.0.2", "192.168.1.1", "2001:db8::1"]
        );
        assert_eq!(
            ips(&s, &idx.order(SortKey::Ip)),
            ["10.0.0.1", "10.0.0.2", "192.168.1.1", "2001:db8::1"]
        );
        assert!(idx.has_order(SortKey::Ip));
        assert!(!idx.has_order(SortKey::Packets));
    }

    #[test]
    fn prefixes_equal_the_full_order() {
        let hosts: Vec<HostStats> = (0..5000u32)
            .map(|i| {
                host(
                    &format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255),
                    u64::from(i.wrapping_mul(2_654_435_761) % 97),
                    u64::from(i % 13),
                    (i % 7 != 0).then_some(u64::from(i % 50)),
                )
            })
            .collect();
        let s = Arc::new(Snapshot {
            hosts,
            ..Default::default()
        });
        for key in SortKey::ALL {
            let a = SnapshotIndex::new(s.clone(), false);
            let top = a.prefix(key, 30);
            assert_eq!(top.len(), TOP_K);
            assert!(!a.has_order(key));
            let b = SnapshotIndex::new(s.clone(), false);
            let full = b.order(key);
            assert_eq!(&full[..TOP_K], &top[..], "{key:?}");
            // Beyond TOP_K the full order is used.
            assert_eq!(a.prefix(key, TOP_K + 1).len(), 5000);
        }
    }

    #[test]
    fn local_only_hides_remote_hosts() {
        let s = snap();
        let idx = SnapshotIndex::new(s.clone(), true);
        assert_eq!(ips(&s, &idx.order(SortKey::Ip)), ["10.0.0.1", "10.0.0.2"]);
        assert!(idx.find("10.0.0.1".parse::<IpAddr>().unwrap()).is_some());
        assert!(idx.find("192.168.1.1".parse::<IpAddr>().unwrap()).is_none());
    }

    #[test]
    fn cache_keeps_current_and_previous() {
        let cache = IndexCache::new(false);
        let a = snap();
        let b = snap();
        let ia = cache.get(&a);
        ia.order(SortKey::Total);
        let ib = cache.get(&b);
        assert!(!Arc::ptr_eq(&ia, &ib));
        // `a` is still cached with its order.
        assert!(cache.get(&a).has_order(SortKey::Total));
        let c = snap();
        cache.get(&c);
        cache.get(&b);
        assert!(!cache.get(&a).has_order(SortKey::Total));
    }

    #[test]
    fn ports_by_total() {
        let rows = vec![
            PortStats {
                port: 80,
                bytes_in: 5,
                ..Default::default()
            },
            PortStats {
                port: 22,
                bytes_out: 5,
                ..Default::default()
            },
            PortStats {
                port: 443,
                bytes_in: 9,
                ..Default::default()
            },
        ];
        assert_eq!(sort_ports_by_total(&rows), vec![2, 1, 0]);
        assert_eq!(sort_ports_by_number(&rows), vec![1, 0, 2]);
    }
}
