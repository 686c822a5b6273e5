//! The web server in process, over statistics capd wrote for corpus
//! captures (tests/fixtures): every page's numbers equal the snapshot's,
//! parameters, errors, HTTP behaviour, escaping, and the machine-readable
//! documents.

mod support;

use std::collections::HashMap;
use std::io::Read;
use std::net::IpAddr;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use common::model::{HostStats, PortStats, Snapshot, TcpPortStats};
use common::net::{ip_key, LocalNets};
use webd::config::Config;

use support::*;

/// A port table line as the test expects it: port, [bytes in, bytes out,
/// packets in, packets out], SYNs.
type PortExpect = (u16, [u64; 4], Option<u64>);
/// A parsed metrics sample: name, labels, value.
type Sample = (String, Vec<(String, String)>, u64);

fn config() -> Config {
    Config::default()
}

fn by_ip(s: &Snapshot) -> HashMap<String, &HostStats> {
    s.hosts.iter().map(|h| (h.ip.to_string(), h)).collect()
}

/// Checks one row of the hosts table (with MACs and last seen) against
/// the snapshot.
fn check_host_row(row: &[String], h: &HostStats, macs: bool) {
    let mut c = row.iter();
    assert_eq!(c.next().unwrap(), &h.ip.to_string());
    let _name = c.next().unwrap();
    if macs {
        let mac = h.mac.map(|m| m.to_string()).unwrap_or_default();
        assert_eq!(c.next().unwrap(), &mac, "{}", h.ip);
    }
    let nums: Vec<u64> = c.by_ref().take(6).map(|s| num(s)).collect();
    assert_eq!(
        nums,
        [
            h.bytes_in,
            h.bytes_out,
            h.bytes_in + h.bytes_out,
            h.packets_in,
            h.packets_out,
            h.packets_in + h.packets_out
        ],
        "{}",
        h.ip
    );
}

#[actix_web::test]
async fn overview_shows_the_snapshot_totals() {
    let snap = fixture("mapi");
    let app = app(connected(snap.clone()), config()).await;
    let html = app.page("/").await;
    let t = &snap.totals;
    assert!(html.contains(&format!(
        "{} bytes in {} packets",
        commas(t.bytes),
        commas(t.packets)
    )));
    assert!(html.contains(&format!("<dd>{} packets</dd>", commas(t.capture.received))));
    assert!(html.contains(&format!(
        "{} by the capture, {} by the interface",
        commas(t.capture.dropped),
        commas(t.capture.if_dropped)
    )));
    assert!(html.contains(&format!(
        "{} packets, {} bytes",
        commas(t.non_ip.packets),
        commas(t.non_ip.bytes)
    )));
    assert!(html.contains("192.168.0.0/16"));
    assert!(html.contains("1 (Ethernet)"));
    assert_eq!(html.matches("<figure class=\"graph\"").count(), 4);
    // Top hosts: the 10 busiest, numbers equal to the snapshot's.
    let hosts = by_ip(&snap);
    let top = table_after(&html, "<h2>Top hosts</h2>");
    assert_eq!(top.len(), 10.min(snap.hosts.len()));
    let mut totals: Vec<u64> = snap
        .hosts
        .iter()
        .map(|h| h.bytes_in + h.bytes_out)
        .collect();
    totals.sort_unstable_by(|a, b| b.cmp(a));
    for (row, expect_total) in top.iter().zip(&totals) {
        let h = hosts[&row[0]];
        check_host_row(row, h, true);
        assert_eq!(h.bytes_in + h.bytes_out, *expect_total);
    }
    // Protocols table.
    let protos = table_after(&html, "<h2>Protocols</h2>");
    assert_eq!(protos.len(), snap.protocols.len());
    for p in &snap.protocols {
        let row = protos.iter().find(|r| r[0] == p.proto.to_string()).unwrap();
        assert_eq!(num(&row[2]), p.bytes_in);
        assert_eq!(num(&row[3]), p.bytes_out);
        assert_eq!(num(&row[4]), p.bytes_other);
        assert_eq!(num(&row[5]), p.bytes_in + p.bytes_out + p.bytes_other);
        assert_eq!(num(&row[6]), p.packets_in + p.packets_out + p.packets_other);
    }
}

#[actix_web::test]
async fn hosts_table_equals_the_snapshot() {
    for name in ["mapi", "wikipedia", "dhcp_flood"] {
        let snap = fixture(name);
        let app = app(connected(snap.clone()), config()).await;
        let html = app.page("/hosts/?full=yes").await;
        assert!(html.contains(">Last seen</a>"));
        assert!(html.contains("<th rowspan=\"2\">MAC address"));
        let rows = table(&html, 0);
        assert_eq!(rows.len(), snap.hosts.len(), "{name}");
        let hosts = by_ip(&snap);
        for row in &rows {
            check_host_row(row, hosts[&row[0]], true);
            assert_eq!(row.len(), 10);
        }
        assert!(html.contains(&format!(
            "(1–{n} of {n})",
            n = commas(snap.hosts.len() as u64)
        )));
    }
}

#[actix_web::test]
async fn host_pages_show_everything_about_a_host() {
    for name in ["mapi", "wikipedia"] {
        let snap = fixture(name);
        let app = app(connected(snap.clone()), config()).await;
        for h in &snap.hosts {
            let html = app.page(&format!("/hosts/{}/", h.ip)).await;
            assert!(html.contains(&format!("<h1>{}</h1>", h.ip)));
            let counts = table(&html, 0);
            assert_eq!(
                counts[0][..3].iter().map(|s| num(s)).collect::<Vec<_>>(),
                [h.bytes_in, h.bytes_out, h.bytes_in + h.bytes_out]
            );
            assert_eq!(
                counts[1][..3].iter().map(|s| num(s)).collect::<Vec<_>>(),
                [h.packets_in, h.packets_out, h.packets_in + h.packets_out]
            );
            if let Some(m) = h.mac {
                assert!(html.contains(&m.to_string()));
            }
            // The four port tables, with SYNs for TCP.
            let tcp = |t: &[TcpPortStats]| -> Vec<PortExpect> {
                t.iter()
                    .map(|p| {
                        (
                            p.port,
                            [p.bytes_in, p.bytes_out, p.packets_in, p.packets_out],
                            Some(p.syn),
                        )
                    })
                    .collect()
            };
            let udp = |t: &[PortStats]| -> Vec<PortExpect> {
                t.iter()
                    .map(|p| {
                        (
                            p.port,
                            [p.bytes_in, p.bytes_out, p.packets_in, p.packets_out],
                            None,
                        )
                    })
                    .collect()
            };
            let sections: [(&str, Vec<PortExpect>); 4] = [
                ("id=\"tcp-local\"", tcp(&h.tcp_local)),
                ("id=\"tcp-remote\"", tcp(&h.tcp_remote)),
                ("id=\"udp-local\"", udp(&h.udp_local)),
                ("id=\"udp-remote\"", udp(&h.udp_remote)),
            ];
            for (id, expected) in sections {
                let at = html.find(id).unwrap();
                let section = &html[at..];
                let section = &section[..section.find("</section>").unwrap()];
                if expected.is_empty() {
                    assert!(!section.contains("<tbody>"), "{} {id}", h.ip);
                    continue;
                }
                let rows = table(section, 0);
                assert_eq!(rows.len(), expected.len(), "{} {id}", h.ip);
                for (port, [bi, bo, pi, po], syn) in expected {
                    let row = rows.iter().find(|r| r[0] == port.to_string()).unwrap();
                    assert_eq!(num(&row[2]), bi);
                    assert_eq!(num(&row[3]), bo);
                    assert_eq!(num(&row[4]), bi + bo);
                    assert_eq!(num(&row[5]), pi + po);
                    assert_eq!(row.get(6).map(|s| num(s)), syn);
                }
            }
            let protos = table_after(&html, "<h2>IP protocols</h2>");
            assert_eq!(protos.len(), h.protocols.len());
            for p in &h.protocols {
                let row = protos.iter().find(|r| r[0] == p.proto.to_string()).unwrap();
                assert_eq!(num(&row[2]), p.bytes_in);
                assert_eq!(num(&row[3]), p.bytes_out);
            }
        }
    }
}

#[actix_web::test]
async fn well_known_ports_and_protocols_have_iana_names() {
    let snap = fixture("mapi");
    let app = app(connected(snap), config()).await;
    let html = app.page("/ports/?full=yes").await;
    let tcp = table_after(&html, "id=\"tcp\"");
    let row = tcp.iter().find(|r| r[0] == "139").unwrap();
    assert_eq!(row[1], "netbios-ssn");
    let row = tcp.iter().find(|r| r[0] == "80").unwrap();
    assert_eq!(row[1], "http");
    let udp = table_after(&html, "id=\"udp\"");
    assert_eq!(udp.iter().find(|r| r[0] == "53").unwrap()[1], "domain");
    let html = app.page("/protocols/").await;
    let rows = table(&html, 0);
    assert!(rows[0][1].starts_with("TCP"));
    assert!(rows[1][1].starts_with("UDP"));
}

#[actix_web::test]
async fn ports_pages_equal_the_snapshot_in_both_orders() {
    let snap = fixture("mapi");
    let app = app(connected(snap.clone()), config()).await;
    for (q, by_port) in [("?full=yes", false), ("?full=yes&sort=port", true)] {
        let html = app.page(&format!("/ports/{q}")).await;
        for (id, list) in [
            ("id=\"tcp\"", &snap.ports.tcp),
            ("id=\"udp\"", &snap.ports.udp),
        ] {
            let rows = table_after(&html, id);
            assert_eq!(rows.len(), list.len());
            let mut expected = list.clone();
            if by_port {
                expected.sort_by_key(|p| p.port);
            } else {
                expected.sort_by_key(|p| (std::cmp::Reverse(p.bytes_in + p.bytes_out), p.port));
            }
            for (row, p) in rows.iter().zip(&expected) {
                assert_eq!(row[0], p.port.to_string());
                assert_eq!(num(&row[2]), p.bytes_in);
                assert_eq!(num(&row[3]), p.bytes_out);
                assert_eq!(num(&row[4]), p.bytes_in + p.bytes_out);
                assert_eq!(num(&row[5]), p.packets_in + p.packets_out);
            }
        }
    }
    // Top 25 by default; one table with proto=.
    let html = app.page("/ports/").await;
    assert_eq!(
        table_after(&html, "id=\"tcp\"").len(),
        25.min(snap.ports.tcp.len())
    );
    let html = app.page("/ports/?proto=udp").await;
    assert!(!html.contains("id=\"tcp\""));
    assert_eq!(table(&html, 0).len(), snap.ports.udp.len());
}

#[actix_web::test]
async fn protocols_page_equals_the_snapshot() {
    let snap = fixture("wikipedia");
    let app = app(connected(snap.clone()), config()).await;
    let html = app.page("/protocols/").await;
    let rows = table(&html, 0);
    assert_eq!(rows.len(), snap.protocols.len());
    for p in &snap.protocols {
        let row = rows.iter().find(|r| r[0] == p.proto.to_string()).unwrap();
        assert_eq!(
            row[2..7].iter().map(|s| num(s)).collect::<Vec<_>>(),
            [
                p.bytes_in,
                p.bytes_out,
                p.bytes_other,
                p.bytes_in + p.bytes_out + p.bytes_other,
                p.packets_in + p.packets_out + p.packets_other
            ]
        );
    }
}

#[actix_web::test]
async fn graphs_page_has_labeled_svg_with_exact_tooltips() {
    let snap = fixture("dhcp_flood");
    let app = app(connected(snap.clone()), config()).await;
    let html = app.page("/graphs/").await;
    assert_eq!(html.matches("<svg ").count(), 4);
    assert!(html.contains("B/s</text>"), "rate axis labels with units");
    for (series, n) in snap.graphs.series().iter().zip([60, 60, 24, 31]) {
        assert_eq!(series.len(), n);
    }
    // Every bar has a tooltip; bars with traffic carry their exact counts.
    let bars: usize = snap.graphs.series().iter().map(|s| s.len()).sum();
    assert_eq!(html.matches("<g class=\"bar\"><title>").count(), bars);
    let mut with_traffic = 0;
    for s in snap.graphs.series() {
        for b in s {
            if b.bytes_in + b.bytes_out > 0 {
                with_traffic += 1;
                let tip = format!(
                    "{} bytes in ({} packets), {} bytes out ({} packets)",
                    commas(b.bytes_in),
                    commas(b.packets_in),
                    commas(b.bytes_out),
                    commas(b.packets_out)
                );
                assert!(html.contains(&tip), "{tip}");
            }
        }
    }
    assert!(with_traffic > 0);
    assert_eq!(html.matches("in: min ").count(), 4);
    assert_eq!(html.matches("out: min ").count(), 4);
}

/// The hosts of `snap` in the order webd promises for `key`, computed
/// here independently.
fn expected_order(snap: &Snapshot, key: &str) -> Vec<String> {
    let mut v: Vec<&HostStats> = snap.hosts.iter().collect();
    v.sort_by(|a, b| {
        let k = |h: &HostStats| -> u64 {
            match key {
                "in" => h.bytes_in,
                "out" => h.bytes_out,
                "packets" => h.packets_in + h.packets_out,
                "lastseen" => h.last_seen.map_or(0, |t| t + 1),
                "ip" => 0,
                _ => h.bytes_in + h.bytes_out,
            }
        };
        k(b).cmp(&k(a)).then(ip_key(a.ip).cmp(&ip_key(b.ip)))
    });
    v.iter().map(|h| h.ip.to_string()).collect()
}

#[actix_web::test]
async fn sort_start_and_full() {
    let snap = fixture("dhcp_flood");
    let n = snap.hosts.len();
    assert!(n > 60);
    let app = app(connected(snap.clone()), config()).await;
    for key in ["total", "in", "out", "lastseen", "ip", "packets"] {
        let expected = expected_order(&snap, key);
        let html = app.page(&format!("/hosts/?sort={key}")).await;
        let rows: Vec<String> = table(&html, 0).into_iter().map(|r| r[0].clone()).collect();
        assert_eq!(rows, expected[..30], "sort={key}");
        let html = app.page(&format!("/hosts/?sort={key}&start=30")).await;
        let rows: Vec<String> = table(&html, 0).into_iter().map(|r| r[0].clone()).collect();
        assert_eq!(rows, expected[30..60], "sort={key}&start=30");
        assert!(html.contains(&format!("(31–60 of {n})")));
        // Links keep the order and move by 30.
        let sort = if key == "total" {
            String::new()
        } else {
            format!("sort={key}&amp;")
        };
        assert!(
            html.contains(&format!("href=\"?{sort}start=60\" rel=\"next\"")),
            "{key}"
        );
        let prev = if key == "total" {
            "./".to_string()
        } else {
            format!("?sort={key}")
        };
        assert!(
            html.contains(&format!("href=\"{prev}\" rel=\"prev\"")),
            "{key}"
        );
        let html = app.page(&format!("/hosts/?sort={key}&full=yes")).await;
        let rows: Vec<String> = table(&html, 0).into_iter().map(|r| r[0].clone()).collect();
        assert_eq!(rows, expected, "sort={key}&full=yes");
    }
    // The last page is short and has no next link.
    let last = (n / 30) * 30;
    let html = app.page(&format!("/hosts/?start={last}")).await;
    assert_eq!(table(&html, 0).len(), n - last);
    assert!(!html.contains("rel=\"next\""));
    // Beyond the end: an explanation, not an error.
    let html = app.page("/hosts/?start=100000").await;
    assert!(html.contains(&format!("There are only {n} hosts")));
}

#[actix_web::test]
async fn filter_by_prefix_network_and_name() {
    let mut snap = fixture("dhcp_flood");
    snap.hosts[3].hostname = Some("Printer.Example.ORG".into());
    let named = snap.hosts[3].ip.to_string();
    let app = app(connected(snap.clone()), config()).await;
    let count = |pred: &dyn Fn(&HostStats) -> bool| snap.hosts.iter().filter(|h| pred(h)).count();
    let html = app.page("/hosts/?q=128.2.5.&full=yes").await;
    let rows = table(&html, 0);
    let expect = count(&|h| h.ip.to_string().starts_with("128.2.5."));
    assert!(expect > 0 && expect < snap.hosts.len());
    assert_eq!(rows.len(), expect);
    assert!(rows.iter().all(|r| r[0].starts_with("128.2.5.")));
    let net: common::net::LocalNet = "128.2.5.0/24".parse().unwrap();
    let html = app.page("/hosts/?q=128.2.5.0%2F24&full=yes").await;
    assert_eq!(table(&html, 0).len(), count(&|h| net.contains(h.ip)));
    let html = app.page("/hosts/?q=printer.example").await;
    let rows = table(&html, 0);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][0], named);
    assert_eq!(rows[0][1], "Printer.Example.ORG");
    let html = app.page("/hosts/?q=no-such-host").await;
    assert!(html.contains("No host matches this filter."));
    // The filter is kept in sort and paging links, and shown in the form.
    let html = app.page("/hosts/?q=128.2.&sort=in").await;
    assert!(html.contains("value=\"128.2.\""));
    assert!(html.contains("href=\"?sort=in&amp;start=30&amp;q=128.2.\""));
}

#[actix_web::test]
async fn local_only_no_macs_and_no_lastseen() {
    let snap = fixture("dhcp_flood");
    let nets = LocalNets::new(snap.local_networks.clone());
    let local: Vec<&HostStats> = snap
        .hosts
        .iter()
        .filter(|h| nets.is_local(ip_key(h.ip)))
        .collect();
    assert!(!local.is_empty() && local.len() < snap.hosts.len());
    let cfg = Config {
        local_only: true,
        show_macs: false,
        show_last_seen: false,
        ..Config::default()
    };
    let app = app(connected(snap.clone()), cfg).await;
    let html = app.page("/hosts/?full=yes").await;
    assert!(!html.contains("MAC address"));
    assert!(!html.contains("Last seen"));
    let rows = table(&html, 0);
    assert_eq!(rows.len(), local.len());
    let hosts = by_ip(&snap);
    for r in &rows {
        assert_eq!(r.len(), 8);
        check_host_row(r, hosts[&r[0]], false);
        assert!(nets.is_local(ip_key(r[0].parse::<IpAddr>().unwrap())));
    }
    for h in &snap.hosts {
        if let Some(m) = h.mac {
            assert!(!html.contains(&m.to_string()));
        }
    }
    // A remote host has no page, and is not in the API or the metrics.
    let remote = snap
        .hosts
        .iter()
        .find(|h| !nets.is_local(ip_key(h.ip)))
        .unwrap();
    let r = app.get(&format!("/hosts/{}/", remote.ip)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let v: serde_json::Value =
        serde_json::from_slice(&app.get("/api/v1/stats").await.body).unwrap();
    assert_eq!(v["hosts"].as_array().unwrap().len(), local.len());
    assert!(v["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|h| h["mac"].is_null()));
    let m = app.get("/metrics").await.text();
    assert!(!m.contains(&format!("ip=\"{}\"", remote.ip)));
    assert!(!m.contains("mac="));
}

#[actix_web::test]
async fn malformed_query_values_get_a_400_page() {
    let app = app(connected(fixture("mapi")), config()).await;
    for uri in [
        "/hosts/?start=-1",
        "/hosts/?sort=bogus",
        "/hosts/?start=99999999999999999999",
        "/hosts/?start=1e3",
        "/hosts/?full=maybe",
        "/hosts/?sort=in&sort=out",
        "/hosts/?q=%ff",
        "/hosts/?q=%zz",
        "/hosts/?q=%01",
        "/?refresh=-1",
        "/?refresh=abc",
        "/?refresh=86401",
        "/ports/?sort=in",
        "/ports/?proto=icmp",
        "/protocols/?refresh=x",
        "/graphs/?refresh=%",
        "/hosts/192.168.0.2/?refresh=no",
        "/hosts/not-an-ip/",
        "/hosts/999.1.1.1/",
    ] {
        let r = app.get(uri).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(r.header("content-type").unwrap().starts_with("text/html"));
        assert!(r.text().contains("<h1>400 Bad Request</h1>"), "{uri}");
    }
    let long = format!("/hosts/?q={}", "a".repeat(300));
    assert_eq!(app.get(&long).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.get("/api/v1/hosts/nope").await.status,
        StatusCode::BAD_REQUEST
    );
}

#[actix_web::test]
async fn only_get_and_head_are_served() {
    let app = app(connected(fixture("mapi")), config()).await;
    for req in [
        TestRequest::post().uri("/"),
        TestRequest::put().uri("/hosts/"),
        TestRequest::delete().uri("/api/v1/stats"),
        TestRequest::patch().uri("/metrics"),
        TestRequest::default()
            .method(actix_web::http::Method::OPTIONS)
            .uri("/"),
        TestRequest::post().uri("/no-such-page"),
    ] {
        let r = app.send(req).await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.header("allow").as_deref(), Some("GET, HEAD"));
        assert!(r.header("content-security-policy").is_some());
    }
    let r = app
        .send(
            TestRequest::default()
                .method(actix_web::http::Method::HEAD)
                .uri("/hosts/"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[actix_web::test]
async fn security_headers_on_every_response() {
    let app = app(connected(fixture("mapi")), config()).await;
    for uri in [
        "/",
        "/hosts/",
        "/nope",
        "/hosts/?sort=x",
        "/static/style.css",
        "/api/v1/stats",
        "/metrics",
    ] {
        let r = app.get(uri).await;
        let csp = r.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("default-src 'none'"), "{uri}");
        assert!(csp.contains("style-src 'self'"), "{uri}");
        assert!(csp.contains("frame-ancestors 'none'"), "{uri}");
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(
            r.header("x-content-type-options").as_deref(),
            Some("nosniff"),
            "{uri}"
        );
        assert_eq!(
            r.header("referrer-policy").as_deref(),
            Some("no-referrer"),
            "{uri}"
        );
    }
    // No inline script or style anywhere.
    for uri in [
        "/",
        "/hosts/",
        "/hosts/192.168.0.2/",
        "/ports/",
        "/protocols/",
        "/graphs/",
        "/nope",
    ] {
        let html = app.get(uri).await.text();
        assert!(!html.contains("<script"), "{uri}");
        assert!(!html.contains("<style"), "{uri}");
        assert!(!html.contains("style="), "{uri}");
        for attr in [
            "onload=",
            "onerror=",
            "onclick=",
            "onmouseover=",
            "javascript:",
        ] {
            assert!(!html.contains(attr), "{uri}: {attr}");
        }
    }
}

fn gunzip(b: &[u8]) -> String {
    let mut s = String::new();
    flate2::read::GzDecoder::new(b)
        .read_to_string(&mut s)
        .unwrap();
    s
}

#[actix_web::test]
async fn gzip_when_accepted() {
    let app = app(connected(fixture("dhcp_flood")), config()).await;
    for uri in [
        "/",
        "/hosts/?full=yes",
        "/api/v1/stats",
        "/metrics",
        "/static/style.css",
    ] {
        let plain = app.get(uri).await;
        assert_eq!(plain.header("content-encoding"), None, "{uri}");
        let r = app.get_with(uri, ("accept-encoding", "gzip")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            r.header("content-encoding").as_deref(),
            Some("gzip"),
            "{uri}"
        );
        assert!(r
            .header("vary")
            .unwrap_or_default()
            .to_lowercase()
            .contains("accept-encoding"));
        assert!(r.body.len() < plain.body.len(), "{uri}");
        assert_eq!(gunzip(&r.body), plain.text(), "{uri}");
    }
}

#[actix_web::test]
async fn static_assets_answer_conditional_requests() {
    let app = app(connected(fixture("mapi")), config()).await;
    let r = app.get("/static/style.css").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").unwrap().starts_with("text/css"));
    let etag = r.header("etag").unwrap();
    let lm = r.header("last-modified").unwrap();
    let css = r.text();
    assert!(css.contains("prefers-color-scheme: dark"));
    let r = app
        .get_with("/static/style.css", ("if-none-match", &etag))
        .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    assert!(r.body.is_empty());
    assert_eq!(r.header("etag"), Some(etag.clone()));
    let r = app
        .get_with("/static/style.css", ("if-none-match", format!("W/{etag}")))
        .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    let r = app
        .get_with("/static/style.css", ("if-none-match", "\"other\""))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app
        .get_with("/static/style.css", ("if-modified-since", &lm))
        .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    let r = app
        .get_with(
            "/static/style.css",
            ("if-modified-since", "Sat, 01 Jan 2000 00:00:00 GMT"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // Pages link the stylesheet with its version.
    let html = app.page("/").await;
    assert!(html.contains("href=\"./static/style.css?v="));
    assert_eq!(
        app.get("/static/nope.js").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get("/favicon.ico").await.status, StatusCode::OK);
}

#[actix_web::test]
async fn capd_down_shows_a_banner_and_the_api_answers_503() {
    let app = app(disconnected(Some(fixture("mapi"))), config()).await;
    for uri in [
        "/",
        "/hosts/",
        "/hosts/192.168.0.2/",
        "/ports/",
        "/protocols/",
        "/graphs/",
    ] {
        let html = app.page(uri).await;
        assert!(
            html.contains("The capture daemon (darkstat-capd) is not reachable since "),
            "{uri}"
        );
        assert!(
            html.contains("(2 mins, 0 secs ago)") || html.contains("(2 mins, 1 sec ago)"),
            "{uri}"
        );
        assert!(html.contains("role=\"alert\""));
    }
    for uri in ["/api/v1/stats", "/api/v1/hosts/192.168.0.2"] {
        let r = app.get(uri).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{uri}");
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert!(v["error"].as_str().unwrap().contains("not reachable since"));
    }
    for uri in ["/metrics", "/graphs.xml"] {
        assert_eq!(
            app.get(uri).await.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{uri}"
        );
    }
    // Never connected and nothing received: pages are 503 too.
    let app = app_none().await;
    let r = app.get("/hosts/").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.text().contains("not reachable since"));
    assert!(r.text().contains("No statistics have been received yet"));
}

async fn app_none() -> support::TestApp<
    impl actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
    >,
> {
    app(disconnected(None), config()).await
}

#[actix_web::test]
async fn api_documents_equal_the_snapshot() {
    for name in ["mapi", "wikipedia", "dhcp_flood"] {
        let snap = fixture(name);
        let app = app(connected(snap.clone()), config()).await;
        let r = app.get("/api/v1/stats").await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r
            .header("content-type")
            .unwrap()
            .starts_with("application/json"));
        let got: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(got, serde_json::to_value(&snap).unwrap(), "{name}");
        for h in snap.hosts.iter().take(20) {
            let r = app.get(&format!("/api/v1/hosts/{}", h.ip)).await;
            assert_eq!(r.status, StatusCode::OK);
            let got: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(got, serde_json::to_value(h).unwrap());
        }
    }
    let app = app(connected(fixture("mapi")), config()).await;
    let r = app.get("/api/v1/hosts/10.99.99.99").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["error"].is_string());
}

/// One line of the Prometheus text format: a comment, or
/// `name{label="value",...} integer`.
fn check_metrics_line(line: &str) -> Option<Sample> {
    if let Some(rest) = line.strip_prefix("# ") {
        let mut w = rest.splitn(3, ' ');
        let kind = w.next().unwrap();
        assert!(kind == "HELP" || kind == "TYPE", "{line}");
        let name = w.next().unwrap();
        assert!(valid_name(name), "{line}");
        let text = w.next().unwrap();
        if kind == "TYPE" {
            assert!(["counter", "gauge"].contains(&text), "{line}");
        }
        return None;
    }
    let (series, value) = line.rsplit_once(' ').expect(line);
    let value: u64 = value.parse().expect(line);
    let (name, labels) = match series.split_once('{') {
        None => (series, vec![]),
        Some((name, rest)) => {
            let rest = rest.strip_suffix('}').expect(line);
            let labels = rest
                .split("\",")
                .map(|kv| {
                    let (k, v) = kv.split_once("=\"").expect(line);
                    assert!(valid_name(k), "{line}");
                    (k.to_string(), v.trim_end_matches('"').to_string())
                })
                .collect();
            (name, labels)
        }
    };
    assert!(valid_name(name) && name.starts_with("darkstat_"), "{line}");
    Some((name.to_string(), labels, value))
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[actix_web::test]
async fn metrics_are_prometheus_text_with_the_snapshot_numbers() {
    let snap = fixture("mapi");
    let app = app(connected(snap.clone()), config()).await;
    let r = app.get("/metrics").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = r.text();
    assert!(text.ends_with('\n'));
    let mut samples: HashMap<(String, Vec<(String, String)>), u64> = HashMap::new();
    let mut typed = std::collections::HashSet::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(t) = line.strip_prefix("# TYPE ") {
            current = t.split(' ').next().unwrap().to_string();
            assert!(typed.insert(current.clone()), "{current} twice");
        }
        if let Some((name, labels, v)) = check_metrics_line(line) {
            assert_eq!(name, current, "sample outside its family: {line}");
            assert!(
                samples.insert((name, labels), v).is_none(),
                "duplicate {line}"
            );
        }
    }
    let get = |name: &str, labels: &[(&str, &str)]| -> u64 {
        let key = (
            name.to_string(),
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        *samples
            .get(&key)
            .unwrap_or_else(|| panic!("{name} {labels:?}"))
    };
    assert_eq!(get("darkstat_bytes_total", &[]), snap.totals.bytes);
    assert_eq!(get("darkstat_packets_total", &[]), snap.totals.packets);
    assert_eq!(
        get("darkstat_non_ip_packets_total", &[]),
        snap.totals.non_ip.packets
    );
    assert_eq!(
        get("darkstat_capture_received_packets_total", &[]),
        snap.totals.capture.received
    );
    assert_eq!(
        get("darkstat_capture_dropped_packets_total", &[]),
        snap.totals.capture.dropped
    );
    assert_eq!(
        get("darkstat_evicted_hosts_total", &[]),
        snap.evictions.hosts
    );
    assert_eq!(
        get(
            "darkstat_malformed_packets_total",
            &[("reason", "short_ip_header")]
        ),
        snap.totals.malformed.by_reason.short_ip_header
    );
    let win: u64 = snap.graphs.seconds.iter().map(|b| b.bytes_in).sum();
    assert_eq!(
        get(
            "darkstat_graph_window_bytes",
            &[("window", "60s"), ("dir", "in")]
        ),
        win
    );
    for h in &snap.hosts {
        let ip = h.ip.to_string();
        let mac = h.mac.map(|m| m.to_string()).unwrap_or_default();
        let l = |dir| [("ip", ip.as_str()), ("mac", mac.as_str()), ("dir", dir)];
        assert_eq!(get("darkstat_host_bytes_total", &l("in")), h.bytes_in);
        assert_eq!(get("darkstat_host_bytes_total", &l("out")), h.bytes_out);
        assert_eq!(get("darkstat_host_packets_total", &l("in")), h.packets_in);
        assert_eq!(get("darkstat_host_packets_total", &l("out")), h.packets_out);
    }
}

#[actix_web::test]
async fn graphs_xml_is_well_formed_darkstat_format() {
    let snap = fixture("dhcp_flood");
    let app = app(connected(snap.clone()), config()).await;
    let r = app.get("/graphs.xml").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").unwrap().starts_with("text/xml"));
    assert_eq!(r.header("pragma").as_deref(), Some("no-cache"));
    let text = r.text();
    let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "graphs");
    assert_eq!(
        root.attribute("tp"),
        Some(snap.totals.packets.to_string().as_str())
    );
    assert_eq!(
        root.attribute("tb"),
        Some(snap.totals.bytes.to_string().as_str())
    );
    assert_eq!(
        root.attribute("pc"),
        Some(snap.totals.capture.received.to_string().as_str())
    );
    assert_eq!(
        root.attribute("pd"),
        Some(snap.totals.capture.dropped.to_string().as_str())
    );
    assert!(root.attribute("rf").unwrap().ends_with("secs"));
    let names = ["seconds", "minutes", "hours", "days"];
    let groups: Vec<_> = root.children().filter(|n| n.is_element()).collect();
    assert_eq!(groups.len(), 4);
    for ((g, name), bars) in groups.iter().zip(names).zip(snap.graphs.series()) {
        assert_eq!(g.tag_name().name(), name);
        let es: Vec<_> = g.children().filter(|n| n.is_element()).collect();
        assert_eq!(es.len(), bars.len());
        for (e, b) in es.iter().zip(bars.iter()) {
            assert_eq!(e.attribute("i").unwrap(), b.bytes_in.to_string());
            assert_eq!(e.attribute("o").unwrap(), b.bytes_out.to_string());
            let p: u64 = e.attribute("p").unwrap().parse().unwrap();
            assert!(p <= 59);
        }
    }
}

#[actix_web::test]
async fn hostile_hostnames_and_queries_are_escaped() {
    const EVIL: &str = "<img src=x onerror=alert(1)>";
    let mut snap = fixture("mapi");
    for h in &mut snap.hosts {
        h.hostname = Some(EVIL.into());
    }
    snap.interfaces[0].name = "<script>alert(2)</script>".into();
    let ip = snap.hosts[0].ip;
    let app = app(connected(snap), config()).await;
    for uri in [
        "/".to_string(),
        "/hosts/".to_string(),
        "/hosts/?full=yes".to_string(),
        "/hosts/?q=%3Cimg".to_string(),
        format!("/hosts/{ip}/"),
        "/hosts/?q=%22%3E%3Cscript%3Ealert(3)%3C%2Fscript%3E".to_string(),
        "/hosts/?sort=%3Cscript%3E".to_string(),
        "/nope%3Cscript%3E".to_string(),
    ] {
        let html = app.get(&uri).await.text();
        assert!(!html.contains("<img"), "{uri}");
        assert!(!html.contains("<script"), "{uri}");
    }
    let html = app.page("/hosts/").await;
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    let html = app.page("/hosts/?q=%22%3E%3Cscript%3E").await;
    assert!(html.contains("value=\"&quot;&gt;&lt;script&gt;\""));
    // The JSON API carries the name as data, with a JSON content type.
    let r = app.get(&format!("/api/v1/hosts/{ip}")).await;
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["hostname"], EVIL);
}

#[actix_web::test]
async fn refresh_without_javascript() {
    let app = app(connected(fixture("mapi")), config()).await;
    let html = app.page("/hosts/").await;
    assert!(html.contains("<meta http-equiv=\"refresh\" content=\"10\">"));
    assert!(html.contains("This page is refreshed every 10 seconds"));
    assert!(html.contains("<summary>change</summary>"));
    assert!(html.contains("<a href=\"?refresh=0\">stop</a>"));
    let html = app.page("/hosts/?refresh=0").await;
    assert!(!html.contains("http-equiv=\"refresh\""));
    assert!(html.contains("not refreshed automatically"));
    let html = app.page("/hosts/?refresh=30&sort=in").await;
    assert!(html.contains("content=\"30\""));
    // The choice survives navigation.
    assert!(html.contains("href=\"../ports/?refresh=30\""));
    assert!(html.contains("href=\"?sort=out&amp;refresh=30\""));
    assert!(html.contains("href=\"?sort=in&amp;full=yes&amp;refresh=30\""));
    assert!(html.contains("name=\"refresh\" value=\"30\""));
}

#[actix_web::test]
async fn base_prefix_and_slash_redirects() {
    let cfg = Config {
        base: "/ds".into(),
        ..Config::default()
    };
    let app = app(connected(fixture("mapi")), cfg).await;
    for uri in [
        "/ds/",
        "/ds/hosts/",
        "/ds/hosts/192.168.0.2/",
        "/hosts/",
        "/",
    ] {
        let html = app.page(uri).await;
        assert!(!html.contains("href=\"/"), "{uri}: links must be relative");
    }
    let r = app.get("/ds/hosts").await;
    assert_eq!(r.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(r.header("location").as_deref(), Some("hosts/"));
    let r = app.get("/hosts/192.168.0.2?refresh=5").await;
    assert_eq!(r.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(r.header("location").as_deref(), Some("./192.168.0.2/"));
    let r = app.get("/hosts/::ffff:192.168.0.2/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("asked for as ::ffff:192.168.0.2"));
}
