//! Checks of webd's parsers of request input, shared by the `web_query`
//! fuzz target (`fuzz/fuzz_targets/web_query.rs`) and the regression test
//! `webd/tests/fuzz_regressions.rs` (which includes this file with
//! `#[path]`), so a saved reproducer is judged exactly as the fuzzer
//! judged it. Only `webd`, `common` and `actix_web` are used, all of which
//! webd's own tests can reach.
//!
//! [`fuzz_web`] runs one input, taken as text (lossy UTF-8), through:
//!
//! * the query string: `RawQuery::parse` and every page's parameters
//!   (`HostsParams`, `PortsParams`, and `refresh` for the overview, host,
//!   protocols and graphs pages), twice: once as it is (any string: must
//!   be total and agree with [`model_query`]), and once made into a query
//!   actix can deliver ([`as_uri_query`]), for which every canonical link
//!   built from the parsed values must parse back to the same values;
//! * every `QueryError` on the way: short, no control characters, and as
//!   the 400 page it becomes, no markup of its own;
//! * `parse_host_ip` (the `/hosts/<ip>/` and `/api/v1/hosts/<ip>` path
//!   segment): exactly `IpAddr::from_str`, canonicalised;
//! * `root_for_path` (error pages' relative root);
//! * the conditional GET of the static files (`Assets::not_modified`)
//!   with the input as `If-None-Match` / `If-Modified-Since`, against
//!   [`model_if_none_match`] (RFC 9110 8.8.3, 13.1.2);
//! * `parse_resolv_conf` against [`model_resolv_conf`].
//!
//! Everything panics on a violation.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::body::MessageBody;
use actix_web::http::header::HeaderValue;
use actix_web::http::{StatusCode, Uri};
use actix_web::ResponseError;
use common::model::{HostStats, Snapshot};

use webd::assets::Assets;
use webd::config::MAX_REFRESH_SECS;
use webd::dns::{parse_resolv_conf, MAX_SERVERS};
use webd::error::WebError;
use webd::feed::FeedState;
use webd::hostname::Hostnames;
use webd::index::SnapshotIndex;
use webd::query::{QueryError, RawQuery, SelfLink, MAX_QUERY_LEN};
use webd::views::hosts::{self, parse_host_ip, HostsParams, PAGE_ROWS};
use webd::views::ports::PortsParams;
use webd::views::{self, root_for_path, PageKind, Refresh};

/// Longest [`QueryError`] message accepted (an excerpt of the input is at
/// most 41 characters of at most 4 bytes, plus the fixed text).
pub const MAX_ERROR_LEN: usize = 300;

/// The server-default refresh intervals every page parser is run with.
const DEFAULTS: [u32; 3] = [0, 10, MAX_REFRESH_SECS];

/// The whole `web_query` fuzz target.
pub fn fuzz_web(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    check_query(&text, false);
    let uri = as_uri_query(&text);
    check_query(&uri, true);
    check_host_ip(&text);
    check_root_for_path(&text);
    check_conditional_get(data);
    check_resolv_conf(&text);
}

// ---------------------------------------------------------------------------
// Query strings.

/// `s` with every byte that http's URI parser refuses in a query
/// percent-encoded, so that it is a query string actix can hand to a
/// handler (`HttpRequest::query_string`). Panics if http still refuses it.
pub fn as_uri_query(s: &str) -> String {
    let mut q = String::with_capacity(s.len());
    for b in s.bytes() {
        // http 0.2 `PathAndQuery::from_shared`, query state: 0x21,
        // 0x24..=0x3B, 0x3D, 0x3F..=0x7E.
        if matches!(b, 0x21 | 0x24..=0x3B | 0x3D | 0x3F..=0x7E) {
            q.push(char::from(b));
        } else {
            q.push_str(&format!("%{b:02X}"));
        }
    }
    let uri: Uri = format!("/hosts/?{q}")
        .parse()
        .unwrap_or_else(|e| panic!("http refuses the query {q:?}: {e}"));
    assert_eq!(uri.query(), Some(q.as_str()));
    q
}

/// `application/x-www-form-urlencoded` decoding as the WHATWG URL
/// standard's strict reading: `+` is a space, `%` must be followed by two
/// hex digits, the result must be UTF-8. `None` = malformed.
pub fn model_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = char::from(*b.get(i + 1)?).to_digit(16)?;
                let lo = char::from(*b.get(i + 2)?).to_digit(16)?;
                out.push((hi * 16 + lo) as u8);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The pairs of a query string (empty parts skipped, a part without `=`
/// has an empty value), or `None` when a key or value is malformed.
pub fn model_query(qs: &str) -> Option<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for part in qs.split('&') {
        if part.is_empty() {
            continue;
        }
        let (k, v) = match part.find('=') {
            Some(i) => (&part[..i], &part[i + 1..]),
            None => (part, ""),
        };
        pairs.push((model_decode(k)?, model_decode(v)?));
    }
    Some(pairs)
}

/// A refused query's message: short, without control characters, and
/// harmless as the 400 page it becomes.
pub fn check_error(e: &QueryError) {
    let m = &e.0;
    assert!(!m.is_empty(), "empty query error");
    assert!(
        m.len() <= MAX_ERROR_LEN,
        "query error of {} bytes: {m:?}",
        m.len()
    );
    assert!(
        !m.chars().any(char::is_control),
        "control character in the query error {m:?}"
    );
    check_error_page(WebError::from(e.clone()), StatusCode::BAD_REQUEST);
}

/// `<` and `>` of the error page with a harmless message.
fn reference_markup() -> (usize, usize) {
    static REF: OnceLock<(usize, usize)> = OnceLock::new();
    *REF.get_or_init(|| markup(&error_body(WebError::BadRequest("x".into())).1))
}

fn markup(body: &str) -> (usize, usize) {
    (body.matches('<').count(), body.matches('>').count())
}

fn error_body(e: WebError) -> (StatusCode, String) {
    let resp = e.page("../", "0123456789").error_response();
    let status = resp.status();
    let body = match resp.into_body().try_into_bytes() {
        Ok(b) => b,
        Err(_) => panic!("the error page is not a complete body"),
    };
    let body = String::from_utf8(body.to_vec()).expect("error page is not UTF-8");
    (status, body)
}

/// The HTML error page of `e`: the right status, and exactly the tags of
/// the template (the message cannot add markup).
pub fn check_error_page(e: WebError, status: StatusCode) {
    let (got, body) = error_body(e);
    assert_eq!(got, status);
    assert_eq!(
        markup(&body),
        reference_markup(),
        "the error page's markup changed with its message:\n{body}"
    );
}

/// Every parser of the query `qs`. `uri`: `qs` is a query string actix
/// can deliver, so the canonical links must parse back.
pub fn check_query(qs: &str, uri: bool) {
    let raw = match RawQuery::parse(qs) {
        Ok(raw) => raw,
        Err(e) => {
            check_error(&e);
            assert!(
                qs.len() > MAX_QUERY_LEN || model_query(qs).is_none(),
                "RawQuery refused a well-formed query {qs:?}: {e}"
            );
            return;
        }
    };
    assert!(qs.len() <= MAX_QUERY_LEN, "accepted {} bytes", qs.len());
    let Some(pairs) = model_query(qs) else {
        panic!("RawQuery accepted the malformed query {qs:?}");
    };
    check_values(&raw, &pairs);
    for default in DEFAULTS {
        check_hosts(&raw, default, uri);
        check_ports(&raw, default, uri);
        check_refresh(&raw, default, uri);
    }
}

/// An error of a getter called with the input's own key `k`: webd's keys
/// are constants, so the quoted key is left out of the message's checks.
fn check_key_error(e: &QueryError, k: &str) {
    let quoted = format!("\"{k}\"");
    assert!(e.0.starts_with(&quoted), "error {:?} for key {k:?}", e.0);
    check_error(&QueryError(e.0.replacen(&quoted, "\"key\"", 1)));
}

/// `get`, `number`, `switch`, `text` against the model's pairs.
fn check_values(raw: &RawQuery, pairs: &[(String, String)]) {
    let mut absent = String::from("\u{0}absent");
    while pairs.iter().any(|(k, _)| *k == absent) {
        absent.push('!');
    }
    assert_eq!(raw.get(&absent), Ok(None), "key {absent:?}");
    for (k, _) in pairs {
        let all: Vec<&str> = pairs
            .iter()
            .filter(|(k2, _)| k2 == k)
            .map(|(_, v)| v.as_str())
            .collect();
        let got = raw.get(k);
        if all.len() > 1 {
            let e = got.expect_err("a key given twice was accepted");
            check_key_error(&e, k);
            continue;
        }
        let v = all[0];
        assert_eq!(got, Ok(Some(v)), "key {k:?}");
        for max in [0, 1, 86_400, u64::MAX] {
            let want = (!v.is_empty() && v.len() <= 20 && v.bytes().all(|b| b.is_ascii_digit()))
                .then(|| v.parse::<u64>().ok().filter(|n| *n <= max))
                .flatten();
            match raw.number(k, max) {
                Ok(n) => assert_eq!(n, Some(want.expect("number accepted")), "{k}={v:?}"),
                Err(e) => {
                    assert_eq!(want, None, "number {k}={v:?} refused");
                    check_key_error(&e, k);
                }
            }
        }
        let want = match v.to_ascii_lowercase().as_str() {
            "yes" | "on" | "1" | "true" => Some(true),
            "no" | "off" | "0" | "false" => Some(false),
            _ => None,
        };
        match raw.switch(k) {
            Ok(b) => assert_eq!(b, Some(want.expect("switch accepted")), "{k}={v:?}"),
            Err(e) => {
                assert_eq!(want, None, "switch {k}={v:?} refused");
                check_key_error(&e, k);
            }
        }
        for max in [0, 5, 200] {
            let ok = v.chars().count() <= max && !v.chars().any(char::is_control);
            match raw.text(k, max) {
                Ok(t) => assert!(ok && t == Some(v), "text {k}={v:?} max {max}"),
                Err(e) => {
                    assert!(!ok, "text {k}={v:?} max {max} refused");
                    check_key_error(&e, k);
                }
            }
        }
    }
}

/// The query part of a link built by `SelfLink` (`?a=b`, `./`, or
/// `../x/?a=b`).
fn link_query(href: &str) -> &str {
    href.split_once('?').map_or("", |(_, q)| q)
}

/// A link's query must parse, be deliverable by actix, and give `what`.
fn reparse<T>(href: &str, what: impl Fn(&RawQuery) -> Result<T, QueryError>) -> T {
    let q = link_query(href);
    assert!(
        !href.contains(['"', '<', '>', '#', ' ']),
        "a link needs escaping: {href:?}"
    );
    assert_eq!(as_uri_query(q), q, "link {href:?} is not a valid URI query");
    let raw = RawQuery::parse(q).unwrap_or_else(|e| panic!("own link {href:?} refused: {e}"));
    what(&raw).unwrap_or_else(|e| panic!("own link {href:?} refused: {e}"))
}

fn check_hosts(raw: &RawQuery, default: u32, uri: bool) {
    let p = match HostsParams::parse(raw, default) {
        Ok(p) => p,
        Err(e) => return check_error(&e),
    };
    check_refresh_value(p.refresh, default);
    if let Some(q) = &p.q {
        assert!(!q.is_empty() && q.trim() == q, "filter {q:?} not trimmed");
        assert!(!q.chars().any(char::is_control));
    }
    let sel = hosts::select(small_index(), &p, &Hostnames::without_dns());
    assert!(sel.range.start <= sel.range.end && sel.range.end <= sel.matching);
    assert!(sel.range.end <= sel.order.len() && sel.matching <= sel.visible);
    if p.full {
        assert_eq!(sel.range, 0..sel.matching);
    } else {
        assert!(sel.range.len() <= PAGE_ROWS as usize);
        let start = usize::try_from(p.start).unwrap_or(usize::MAX);
        assert_eq!(sel.range.start, start.min(sel.matching));
    }
    let v = hosts::view(&p, &sel, true, true);
    assert_eq!(v.rows, sel.range.len());
    if !uri {
        return;
    }
    // The canonical link and every link of the page parse back.
    let back = reparse(&p.link().href(), |r| HostsParams::parse(r, default));
    assert_eq!(
        normal_hosts(&back),
        normal_hosts(&p),
        "link {}",
        p.link().href()
    );
    let mut hrefs = vec![v.prev_href, v.next_href, v.full_href, v.paged_href];
    let cleared = reparse(&v.clear_href, |r| HostsParams::parse(r, default));
    assert_eq!(
        cleared.q, None,
        "the clear link {:?} kept the filter",
        v.clear_href
    );
    for s in [
        v.sort.by_ip,
        v.sort.by_in,
        v.sort.by_out,
        v.sort.by_total,
        v.sort.by_packets,
        v.sort.by_lastseen,
    ] {
        hrefs.push(s.href);
    }
    let frame = views::frame(
        PageKind::Hosts,
        "Hosts",
        &p.link(),
        p.refresh,
        &FeedState::default(),
        "0123456789",
    );
    // The menu's links to the other pages keep the refresh choice only.
    for n in frame.nav {
        let back = reparse(&n.href, |r| r.refresh());
        let secs = Refresh {
            explicit: back,
            default,
        }
        .secs();
        assert_eq!(secs, p.refresh.secs(), "menu link {:?}", n.href);
    }
    hrefs.extend(frame.refresh.options.into_iter().map(|o| o.href));
    hrefs.push(frame.refresh.stop_href);
    hrefs.push(frame.refresh.start_href);
    for h in hrefs.iter().filter(|h| !h.is_empty()) {
        let q = reparse(h, |r| HostsParams::parse(r, default));
        assert_eq!(q.q, p.q, "link {h:?} lost the filter");
    }
}

/// What a hosts link must keep: `start` only when not `full`, and the
/// refresh interval in effect.
fn normal_hosts(p: &HostsParams) -> (String, u64, bool, Option<String>, u32) {
    (
        format!("{:?}", p.sort),
        if p.full { 0 } else { p.start },
        p.full,
        p.q.clone(),
        p.refresh.secs(),
    )
}

fn check_ports(raw: &RawQuery, default: u32, uri: bool) {
    let p = match PortsParams::parse(raw, default) {
        Ok(p) => p,
        Err(e) => return check_error(&e),
    };
    check_refresh_value(p.refresh, default);
    if uri {
        let back = reparse(&p.link().href(), |r| PortsParams::parse(r, default));
        assert_eq!(
            (back.sort, back.full, back.which, back.refresh.secs()),
            (p.sort, p.full, p.which, p.refresh.secs()),
            "link {}",
            p.link().href()
        );
    }
}

/// The overview, host, protocols and graphs pages: `refresh` only.
fn check_refresh(raw: &RawQuery, default: u32, uri: bool) {
    let explicit = match raw.refresh() {
        Ok(r) => r,
        Err(e) => return check_error(&e),
    };
    let r = Refresh { explicit, default };
    check_refresh_value(r, default);
    if uri {
        let mut link = SelfLink::new();
        link.set("refresh", r.param());
        for href in [link.href(), link.only(&["refresh"])] {
            let back = reparse(&href, |q| q.refresh());
            let secs = Refresh {
                explicit: back,
                default,
            }
            .secs();
            assert_eq!(secs, r.secs(), "link {href:?}");
        }
    }
}

fn check_refresh_value(r: Refresh, default: u32) {
    assert_eq!(r.default, default);
    assert!(r.secs() <= MAX_REFRESH_SECS.max(default));
    if let Some(s) = r.explicit {
        assert!(s <= MAX_REFRESH_SECS, "refresh {s}");
    }
}

/// A few hosts (IPv4, IPv6, one with a name) for `hosts::select`.
fn small_index() -> &'static SnapshotIndex {
    static IDX: OnceLock<SnapshotIndex> = OnceLock::new();
    IDX.get_or_init(|| {
        let host = |ip: &str, total: u64, name: Option<&str>| HostStats {
            hostname: name.map(String::from),
            bytes_in: total,
            bytes_out: total / 2,
            packets_in: 1,
            packets_out: 1,
            last_seen: Some(total),
            ..HostStats::new(ip.parse().unwrap())
        };
        let mut hosts = vec![
            host("192.168.1.1", 5, Some("printer.lan")),
            host("2001:db8::1", 7, None),
            host("10.1.2.3", 9, Some("nas.example")),
        ];
        for i in 0..40 {
            hosts.push(host(&format!("10.0.0.{i}"), i, None));
        }
        SnapshotIndex::new(
            Arc::new(Snapshot {
                hosts,
                ..Default::default()
            }),
            false,
        )
    })
}

// ---------------------------------------------------------------------------
// Paths.

/// `parse_host_ip` is `IpAddr::from_str` with IPv4-mapped IPv6 turned into
/// IPv4; what it returns prints as plain address text and parses back.
pub fn check_host_ip(s: &str) {
    let got = parse_host_ip(s);
    let want = s.parse::<IpAddr>().ok().map(|ip| ip.to_canonical());
    assert_eq!(got, want, "parse_host_ip({s:?})");
    if let Some(ip) = got {
        assert_eq!(ip.to_canonical(), ip, "{ip} not canonical");
        let shown = ip.to_string();
        assert!(
            shown
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b'.' || b == b':'),
            "{shown:?}"
        );
        assert_eq!(parse_host_ip(&shown), Some(ip));
    }
}

/// `root_for_path`: one `../` per directory below the root, at most three.
pub fn check_root_for_path(path: &str) {
    let depth = path.trim_start_matches('/').matches('/').count();
    let want = ["./", "../", "../../", "../../../"][depth.min(3)];
    assert_eq!(root_for_path(path), want, "root_for_path({path:?})");
}

// ---------------------------------------------------------------------------
// Conditional GET.

/// The assets with a fixed start time.
fn assets() -> &'static Assets {
    static A: OnceLock<Assets> = OnceLock::new();
    A.get_or_init(|| Assets::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000)))
}

/// RFC 9110 If-None-Match (8.8.3, 13.1.2) for GET: `*`, or a list of
/// entity-tags (`[W/]"etagc*"`, empty elements allowed) of which one
/// weakly matches `etag`. `None` when `v` is not that syntax. Only visible
/// ASCII (`HeaderValue::to_str`) is considered: obs-text never matches.
pub fn model_if_none_match(v: &[u8], etag: &str) -> Option<bool> {
    let ows = |b: u8| b == b' ' || b == b'\t';
    if v.iter().any(|&b| !(ows(b) || (0x21..0x7f).contains(&b))) {
        return None;
    }
    let mut i = 0;
    let trimmed: Vec<u8> = {
        let s = v.iter().position(|&b| !ows(b)).unwrap_or(v.len());
        let e = v.iter().rposition(|&b| !ows(b)).map_or(s, |e| e + 1);
        v[s..e].to_vec()
    };
    if trimmed == b"*" {
        return Some(true);
    }
    let v = &trimmed[..];
    let want = etag.as_bytes();
    let mut hit = false;
    let mut need_sep = false;
    loop {
        while i < v.len() && (ows(v[i]) || v[i] == b',') {
            if v[i] == b',' {
                need_sep = false;
            }
            i += 1;
        }
        if i == v.len() {
            return Some(hit);
        }
        if need_sep {
            return None;
        }
        if v[i..].starts_with(b"W/") {
            i += 2;
        }
        if v.get(i) != Some(&b'"') {
            return None;
        }
        let start = i;
        i += 1;
        while i < v.len() && v[i] != b'"' {
            i += 1;
        }
        if i == v.len() {
            return None;
        }
        i += 1;
        hit |= &v[start..i] == want;
        need_sep = true;
    }
}

/// The input as `If-None-Match` and `If-Modified-Since` of each asset:
/// `@` in the input stands for the asset's ETag without quotes (and in
/// `If-Modified-Since` for the Last-Modified date), so that matches are
/// easy to reach.
pub fn check_conditional_get(data: &[u8]) {
    let assets = assets();
    let lm = assets.last_modified.to_string();
    for a in &assets.items {
        let opaque = a.etag.trim_matches('"');
        let inm = replace_at(data, opaque.as_bytes());
        let ims = replace_at(data, lm.as_bytes());
        let inm_h = HeaderValue::from_bytes(&inm).ok();
        let ims_h = HeaderValue::from_bytes(&ims).ok();
        if let Some(h) = &inm_h {
            let got = assets.not_modified(a, Some(h), None);
            match model_if_none_match(h.as_bytes(), &a.etag) {
                Some(want) => assert_eq!(got, want, "If-None-Match {h:?}"),
                // Not the syntax: a 304 still needs the tag or `*`.
                None => assert!(
                    !got || h
                        .as_bytes()
                        .windows(a.etag.len())
                        .any(|w| w == a.etag.as_bytes())
                        || h.to_str()
                            .is_ok_and(|v| v.split(',').any(|t| t.trim() == "*")),
                    "If-None-Match {h:?} matched {}",
                    a.etag
                ),
            }
            // If-None-Match wins.
            assert_eq!(got, assets.not_modified(a, Some(h), ims_h.as_ref()));
        }
        if let Some(h) = &ims_h {
            let got = assets.not_modified(a, None, Some(h));
            if h.as_bytes() == lm.as_bytes() {
                assert!(got, "If-Modified-Since = Last-Modified not 304");
            }
            if got {
                let d: actix_web::http::header::HttpDate = h
                    .to_str()
                    .expect("304 for a non-ASCII date")
                    .parse()
                    .expect("304 for an invalid date");
                assert!(SystemTime::from(d) >= SystemTime::from(assets.last_modified));
            }
        }
        assert!(!assets.not_modified(a, None, None));
    }
}

fn replace_at(data: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    for &b in data {
        if b == b'@' {
            out.extend_from_slice(with);
        } else {
            out.push(b);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// resolv.conf.

/// The first [`MAX_SERVERS`] lines `nameserver ADDR [anything]` (any ASCII
/// whitespace around the words, `\n` or `\r\n` line ends) whose ADDR is
/// an IP address, as port-53 socket addresses.
pub fn model_resolv_conf(text: &str) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let mut words = line
            .split(|c: char| c.is_ascii_whitespace())
            .filter(|w| !w.is_empty());
        if words.next() != Some("nameserver") {
            continue;
        }
        if let Some(Ok(ip)) = words.next().map(str::parse::<IpAddr>) {
            if out.len() < MAX_SERVERS {
                out.push(SocketAddr::new(ip, 53));
            }
        }
    }
    out
}

pub fn check_resolv_conf(text: &str) {
    let got = parse_resolv_conf(text);
    assert!(got.len() <= MAX_SERVERS);
    assert_eq!(got, model_resolv_conf(text), "resolv.conf {text:?}");
}
