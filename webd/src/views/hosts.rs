//! views::hosts: the hosts table's parameters (`sort`, `start`, `full`,
//! `q`), the selection of rows for a request, and the text around the
//! table (counts, sort and paging links).

use std::net::IpAddr;
use std::ops::Range;
use std::sync::Arc;

use common::model::HostStats;
use common::net::LocalNet;
use serde::Serialize;

use crate::hostname::Hostnames;
use crate::index::{sort_hosts, SnapshotIndex, SortKey};
use crate::query::{QueryError, RawQuery, SelfLink, MAX_FILTER_LEN};
use crate::units::thousands;
use crate::views::Refresh;

/// Rows per page (darkstat's).
pub const PAGE_ROWS: u64 = 30;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostsParams {
    pub sort: SortKey,
    pub start: u64,
    pub full: bool,
    pub q: Option<String>,
    pub refresh: Refresh,
}

impl HostsParams {
    pub fn parse(raw: &RawQuery, default_refresh: u32) -> Result<Self, QueryError> {
        Ok(HostsParams {
            sort: raw
                .choice("sort", &SortKey::choices())?
                .unwrap_or(SortKey::Total),
            start: raw.number("start", u64::MAX)?.unwrap_or(0),
            full: raw.switch("full")?.unwrap_or(false),
            q: raw
                .text("q", MAX_FILTER_LEN)?
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from),
            refresh: Refresh {
                explicit: raw.refresh()?,
                default: default_refresh,
            },
        })
    }

    /// The canonical link of this request.
    pub fn link(&self) -> SelfLink {
        let mut l = SelfLink::new();
        if self.sort != SortKey::Total {
            l.set("sort", Some(self.sort.as_str().into()));
        }
        if self.full {
            l.set("full", Some("yes".into()));
        } else if self.start != 0 {
            l.set("start", Some(self.start.to_string()));
        }
        l.set("q", self.q.clone());
        l.set("refresh", self.refresh.param());
        l
    }
}

/// A host filter: an address prefix (`192.168.`, `2001:db8:`), a network
/// (`10.0.0.0/8`), or part of a host name; case-insensitive.
#[derive(Debug, Clone)]
pub struct HostFilter {
    lower: String,
    net: Option<LocalNet>,
    exact: Option<IpAddr>,
}

impl HostFilter {
    pub fn new(q: &str) -> Self {
        HostFilter {
            lower: q.to_lowercase(),
            net: q.parse().ok(),
            exact: parse_host_ip(q),
        }
    }

    pub fn matches(&self, h: &HostStats, names: &Hostnames, buf: &mut String) -> bool {
        if let Some(n) = &self.net {
            if n.contains(h.ip) {
                return true;
            }
        }
        if let Some(ip) = self.exact {
            // A whole address means that host, not every address it
            // happens to be a prefix of.
            if h.ip == ip {
                return true;
            }
        } else {
            buf.clear();
            crate::units::push_ip(buf, h.ip);
            if buf.starts_with(&self.lower) {
                return true;
            }
        }
        names
            .known(h)
            .is_some_and(|n| n.to_lowercase().contains(&self.lower))
    }
}

/// The rows of one request: `order[range]` are the hosts to show.
pub struct Selection {
    pub order: Arc<[u32]>,
    pub range: Range<usize>,
    /// Hosts matching the filter (all visible hosts without one).
    pub matching: usize,
    /// Visible hosts.
    pub visible: usize,
}

pub fn select(index: &SnapshotIndex, p: &HostsParams, names: &Hostnames) -> Selection {
    let all = index.visible();
    let visible = all.len();
    let (order, matching): (Arc<[u32]>, usize) = match &p.q {
        None => {
            let need = if p.full {
                usize::MAX
            } else {
                usize::try_from(p.start)
                    .unwrap_or(usize::MAX)
                    .saturating_add(PAGE_ROWS as usize)
            };
            (index.prefix(p.sort, need), visible)
        }
        Some(q) => {
            // Scan in memory order (fast), then sort only the matches.
            let f = HostFilter::new(q);
            let hosts = &index.snapshot().hosts;
            let mut buf = String::with_capacity(48);
            let hits: Vec<u32> = all
                .iter()
                .copied()
                .filter(|&i| f.matches(&hosts[i as usize], names, &mut buf))
                .collect();
            let n = hits.len();
            (sort_hosts(hosts, &hits, p.sort).into(), n)
        }
    };
    let range = if p.full {
        0..matching
    } else {
        let start = usize::try_from(p.start).unwrap_or(usize::MAX).min(matching);
        start..start.saturating_add(PAGE_ROWS as usize).min(matching)
    };
    debug_assert!(range.end <= order.len());
    Selection {
        order,
        range,
        matching,
        visible,
    }
}

#[derive(Serialize, Debug, Clone)]
pub struct SortLink {
    pub href: String,
    pub active: bool,
}

/// The column headers' sort links (`in` is a template keyword, hence the
/// `by_` names).
#[derive(Serialize, Debug, Clone)]
pub struct SortLinks {
    pub by_ip: SortLink,
    pub by_in: SortLink,
    pub by_out: SortLink,
    pub by_total: SortLink,
    pub by_packets: SortLink,
    pub by_lastseen: SortLink,
    /// Name of the active order, for the text above the table.
    pub current: &'static str,
}

#[derive(Serialize, Debug, Clone)]
pub struct HostsView {
    /// "(1–30 of 500)".
    pub range_text: String,
    pub rows: usize,
    pub empty_text: String,
    pub sort: SortLinks,
    pub prev_href: String,
    pub next_href: String,
    pub full_href: String,
    pub paged_href: String,
    pub full: bool,
    pub q: String,
    pub clear_href: String,
    pub sort_value: &'static str,
    pub refresh_value: String,
    pub show_macs: bool,
    pub show_last_seen: bool,
}

pub fn view(p: &HostsParams, sel: &Selection, show_macs: bool, show_last_seen: bool) -> HostsView {
    let link = p.link();
    let rows = sel.range.len();
    let of = match &p.q {
        Some(_) => format!(
            "{} matching of {} hosts",
            thousands(sel.matching as u64),
            thousands(sel.visible as u64)
        ),
        None => thousands(sel.matching as u64),
    };
    let range_text = if rows == 0 {
        format!("(0 of {of})")
    } else {
        format!(
            "({}–{} of {of})",
            thousands(sel.range.start as u64 + 1),
            thousands(sel.range.end as u64)
        )
    };
    let empty_text = if rows > 0 {
        String::new()
    } else if sel.matching == 0 && p.q.is_some() {
        "No host matches this filter.".into()
    } else if sel.matching == 0 {
        "The table is empty.".into()
    } else {
        format!(
            "There are only {} hosts; this page starts at {}.",
            thousands(sel.matching as u64),
            thousands(p.start.saturating_add(1))
        )
    };
    let by = |k: SortKey| SortLink {
        href: link
            .with(&[
                (
                    "sort",
                    (k != SortKey::Total).then(|| k.as_str().to_string()),
                ),
                ("start", None),
            ])
            .href(),
        active: k == p.sort,
    };
    let sort = SortLinks {
        by_ip: by(SortKey::Ip),
        by_in: by(SortKey::In),
        by_out: by(SortKey::Out),
        by_total: by(SortKey::Total),
        by_packets: by(SortKey::Packets),
        by_lastseen: by(SortKey::LastSeen),
        current: match p.sort {
            SortKey::Total => "total bytes",
            SortKey::In => "bytes in",
            SortKey::Out => "bytes out",
            SortKey::LastSeen => "last seen",
            SortKey::Ip => "address",
            SortKey::Packets => "total packets",
        },
    };
    let page = PAGE_ROWS as usize;
    let prev_href = if !p.full && sel.range.start > 0 {
        let s = sel.range.start.saturating_sub(page);
        link.with(&[("start", (s > 0).then(|| s.to_string()))])
            .href()
    } else {
        String::new()
    };
    let next_href = if !p.full && sel.range.end < sel.matching {
        link.with(&[("start", Some(sel.range.end.to_string()))])
            .href()
    } else {
        String::new()
    };
    HostsView {
        range_text,
        rows,
        empty_text,
        sort,
        prev_href,
        next_href,
        full_href: link
            .with(&[("full", Some("yes".into())), ("start", None)])
            .href(),
        paged_href: link.with(&[("full", None), ("start", None)]).href(),
        full: p.full,
        q: p.q.clone().unwrap_or_default(),
        clear_href: link.with(&[("q", None), ("start", None)]).href(),
        sort_value: p.sort.as_str(),
        refresh_value: p.refresh.param().unwrap_or_default(),
        show_macs,
        show_last_seen,
    }
}

/// Parses the address of a host page. Accepts any textual IPv4/IPv6 form
/// and returns the canonical address (IPv4-mapped IPv6 becomes IPv4, as
/// capd stores it).
pub fn parse_host_ip(s: &str) -> Option<IpAddr> {
    if s.len() > 64 {
        return None;
    }
    s.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::model::Snapshot;

    fn params(q: &str) -> Result<HostsParams, QueryError> {
        HostsParams::parse(&RawQuery::parse(q).unwrap(), 10)
    }

    #[test]
    fn parses_darkstat_parameters() {
        let p = params("sort=in&start=30&full=no").unwrap();
        assert_eq!(p.sort, SortKey::In);
        assert_eq!(p.start, 30);
        assert!(!p.full);
        assert_eq!(p.link().href(), "?sort=in&start=30");
        assert_eq!(params("").unwrap().link().href(), "./");
        for bad in [
            "sort=bogus",
            "start=-1",
            "start=99999999999999999999",
            "full=maybe",
            "refresh=-5",
            "refresh=999999",
            "sort=in&sort=out",
        ] {
            assert!(params(bad).is_err(), "{bad}");
        }
    }

    fn host(ip: &str, total: u64, name: Option<&str>) -> HostStats {
        HostStats {
            hostname: name.map(String::from),
            bytes_in: total,
            packets_in: 1,
            ..HostStats::new(ip.parse().unwrap())
        }
    }

    fn index(n: usize) -> SnapshotIndex {
        let hosts = (0..n)
            .map(|i| {
                host(
                    &format!("10.0.{}.{}", i / 256, i % 256),
                    i as u64,
                    (i == 7).then_some("Printer.lan"),
                )
            })
            .collect();
        SnapshotIndex::new(
            Arc::new(Snapshot {
                hosts,
                ..Default::default()
            }),
            false,
        )
    }

    #[test]
    fn pages_of_thirty() {
        let idx = index(75);
        let names = Hostnames::without_dns();
        let s = select(&idx, &params("").unwrap(), &names);
        assert_eq!((s.range.clone(), s.matching), (0..30, 75));
        let v = view(&params("").unwrap(), &s, true, true);
        assert_eq!(v.range_text, "(1–30 of 75)");
        assert_eq!(v.prev_href, "");
        assert_eq!(v.next_href, "?start=30");
        let p = params("start=60").unwrap();
        let s = select(&idx, &p, &names);
        assert_eq!(s.range, 60..75);
        let v = view(&p, &s, true, true);
        assert_eq!(v.prev_href, "?start=30");
        assert_eq!(v.next_href, "");
        let p = params("start=1000").unwrap();
        let s = select(&idx, &p, &names);
        assert!(s.range.is_empty());
        assert!(view(&p, &s, true, true).empty_text.contains("only 75"));
        let p = params("full=yes&sort=ip").unwrap();
        assert_eq!(select(&idx, &p, &names).range, 0..75);
    }

    #[test]
    fn filters_by_prefix_network_and_name() {
        let idx = index(300);
        let names = Hostnames::without_dns();
        let n = |q: &str| select(&idx, &params(q).unwrap(), &names).matching;
        assert_eq!(n("q=10.0.1."), 44);
        assert_eq!(n("q=10.0.1.0%2F24"), 44);
        assert_eq!(n("q=printer"), 1);
        assert_eq!(n("q=10.0.0.7"), 1);
        assert_eq!(n("q=nothing"), 0);
        assert_eq!(n("q=+++"), 300);
    }

    #[test]
    fn links_of_the_longest_filter_are_accepted_back() {
        // Characters sent raw but written back %-encoded (3 bytes for 1),
        // and 4-byte characters (12 bytes each): a 200-character filter of
        // these once passed in a 2039-byte query, and every link of its
        // page (2106 bytes) was then refused.
        let q = |n_bang: usize, n_emoji: usize| {
            format!(
                "sort=lastseen&start=18446744073709551615&refresh=86400&q={}{}",
                "!".repeat(n_bang),
                "%F0%9F%98%80".repeat(n_emoji)
            )
        };
        let long = format!("q={}{}", "!".repeat(33), "%F0%9F%98%80".repeat(167));
        assert_eq!(long.len(), 2039);
        assert!(params(&long).is_err());
        for (bang, emoji) in [(0, MAX_FILTER_LEN), (33, MAX_FILTER_LEN - 33)] {
            let p = params(&q(bang, emoji)).unwrap();
            let href = p.link().href();
            let back = params(&href[1..]).unwrap();
            assert_eq!(back, p, "{href}");
        }
        let html = include_str!("../../templates/hosts.html");
        assert!(html.contains(&format!("maxlength=\"{MAX_FILTER_LEN}\"")));
    }

    #[test]
    fn host_paths_are_canonicalized() {
        assert_eq!(
            parse_host_ip("::ffff:192.168.1.1"),
            Some("192.168.1.1".parse().unwrap())
        );
        assert_eq!(
            parse_host_ip("2001:DB8::1"),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(parse_host_ip("nope"), None);
        assert_eq!(parse_host_ip("1.2.3.4.5"), None);
    }
}
