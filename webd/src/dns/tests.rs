//! End-to-end tests of the resolver against `fake_server` on 127.0.0.1,
//! with a hand-moved clock for the cache.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::fake_server::{FakeServer, Reply};
use super::*;

#[derive(Clone)]
struct TestClock(Arc<Mutex<Instant>>);

impl Clock for TestClock {
    fn now(&self) -> Instant {
        *self.0.lock().unwrap()
    }
}

impl TestClock {
    fn advance(&self, d: Duration) {
        *self.0.lock().unwrap() += d;
    }
}

type Logs = Arc<Mutex<Vec<String>>>;

fn config(server: SocketAddr) -> DnsConfig {
    let mut c = DnsConfig::with_servers(vec![server]);
    c.timeout = Duration::from_millis(500);
    c.attempts = 1;
    c.queue_len = 64;
    c.cache_len = 256;
    c
}

fn start(c: DnsConfig) -> (Resolver, TestClock, Logs) {
    let clock = TestClock(Arc::new(Mutex::new(Instant::now())));
    let logs: Logs = Arc::default();
    let l2 = Arc::clone(&logs);
    let sink: log::Sink = Box::new(move |s| l2.lock().unwrap().push(s.to_owned()));
    let r = Resolver::start(c, Box::new(clock.clone()), sink).expect("resolver");
    (r, clock, logs)
}

fn v4(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, n))
}

fn labels(name: &[&[u8]]) -> Vec<Vec<u8>> {
    name.iter().map(|l| l.to_vec()).collect()
}

fn ptr(name: &[&[u8]], ttl: u32) -> Reply {
    Reply::Ptr(labels(name), ttl)
}

fn named(s: &str) -> NameState {
    NameState::Name(Arc::from(s))
}

/// Shows the host until its state is no longer `Pending` (5 s at most).
async fn settle(r: &Resolver, ip: IpAddr) -> NameState {
    wait_for(r, ip, |s| *s != NameState::Pending).await
}

async fn wait_for(r: &Resolver, ip: IpAddr, done: impl Fn(&NameState) -> bool) -> NameState {
    let end = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let s = r.name(ip);
        if done(&s) || tokio::time::Instant::now() > end {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn states_from_good_hostile_and_failing_servers() {
    let srv = FakeServer::start().await;
    let long63 = [b'a'; 63];
    let cases: Vec<(IpAddr, Reply, NameState)> = vec![
        (
            v4(1),
            ptr(&[b"Host-1", b"Example", b"COM"], 3600),
            named("host-1.example.com"),
        ),
        (
            v4(2),
            ptr(&[b"xn--bcher-kva", b"example"], 3600),
            named("xn--bcher-kva.example"),
        ),
        (
            v4(3),
            ptr(&[b"<img src=x onerror=alert(1)>", b"evil"], 3600),
            NameState::Invalid,
        ),
        (
            v4(4),
            ptr(&[b"\x1b[31mred\x1b[0m", b"evil"], 3600),
            NameState::Invalid,
        ),
        (v4(5), ptr(&[b"a.b", b"example"], 3600), NameState::Invalid),
        (
            v4(6),
            ptr(&["bücher".as_bytes(), b"example"], 3600),
            NameState::Invalid,
        ),
        (
            v4(7),
            ptr(&[b"-lead", b"example"], 3600),
            NameState::Invalid,
        ),
        (
            v4(8),
            ptr(&[b"10", b"0", b"0", b"1"], 3600),
            NameState::Invalid,
        ),
        (v4(9), ptr(&[], 3600), NameState::Invalid),
        (
            v4(10),
            ptr(&[b"x\"><script>alert(1)</script>"], 3600),
            NameState::Invalid,
        ),
        (
            v4(11),
            ptr(&[b"line\r\nInjected: yes", b"evil"], 3600),
            NameState::Invalid,
        ),
        (
            v4(12),
            ptr(&[&long63, &long63, &long63, &long63], 3600),
            NameState::NoName,
        ),
        (v4(13), Reply::NxDomain, NameState::NoName),
        (v4(14), Reply::ServFail, NameState::NoName),
        (v4(15), Reply::Silent, NameState::NoName),
        (
            v4(16),
            Reply::Late(
                Duration::from_millis(50),
                Box::new(ptr(&[b"slow", b"example"], 60)),
            ),
            named("slow.example"),
        ),
        (
            v4(17),
            Reply::Late(
                Duration::from_millis(1500),
                Box::new(ptr(&[b"tooslow", b"example"], 60)),
            ),
            NameState::NoName,
        ),
        (
            v4(18),
            Reply::CnamePtr(labels(&[b"classless", b"example"]), 600),
            named("classless.example"),
        ),
        (
            v4(19),
            Reply::Spoofed(
                labels(&[b"spoofed", b"evil"]),
                Box::new(ptr(&[b"real", b"example"], 60)),
            ),
            named("real.example"),
        ),
        (
            IpAddr::V6("2001:db8::1".parse::<Ipv6Addr>().unwrap()),
            ptr(&[b"v6host", b"example"], 60),
            named("v6host.example"),
        ),
    ];
    for (ip, reply, _) in &cases {
        srv.set(*ip, reply.clone());
    }
    let (r, _clock, logs) = start(config(srv.addr));
    for (ip, _, _) in &cases {
        assert_eq!(r.name(*ip), NameState::Pending, "{ip} first shown");
        assert_eq!(r.name(*ip), NameState::Pending, "{ip} shown again");
    }
    for (ip, _, want) in &cases {
        assert_eq!(&settle(&r, *ip).await, want, "{ip}");
        assert_eq!(&r.name(*ip), want, "{ip} from the cache");
        assert_eq!(srv.queries(*ip), 1, "{ip} asked once");
    }
    let stats = r.stats();
    assert_eq!(stats.names, 6);
    assert_eq!(stats.invalid, 9);
    assert_eq!(stats.no_name, 1);
    assert_eq!(stats.failed, 4); // too long, SERVFAIL, silent, too slow
    assert_eq!(stats.cached, cases.len());
    assert_eq!(stats.queued, 0);

    let logs = logs.lock().unwrap();
    assert_eq!(logs.len(), 9, "{logs:#?}");
    for line in logs.iter() {
        assert!(line.bytes().all(|b| (0x20..0x7f).contains(&b)), "{line:?}");
        assert!(line.contains("invalid PTR"), "{line}");
    }
    assert!(logs
        .iter()
        .any(|l| l.contains(r#""\x1b[31mred\x1b[0m.evil""#)));
    assert!(logs
        .iter()
        .any(|l| l.contains(r#""line\r\nInjected: yes.evil""#)));
    assert!(logs.iter().any(|l| l.contains(r#""a\.b.example""#)));
    assert!(logs
        .iter()
        .any(|l| l.starts_with("198.51.100.3: invalid PTR")));
}

#[tokio::test]
async fn names_expire_after_their_ttl_and_are_refreshed() {
    let srv = FakeServer::start().await;
    let ip = v4(1);
    srv.set(ip, ptr(&[b"first", b"example"], 120));
    let (r, clock, _) = start(config(srv.addr));
    assert_eq!(settle(&r, ip).await, named("first.example"));
    srv.set(ip, ptr(&[b"second", b"example"], 120));
    clock.advance(Duration::from_secs(119));
    assert_eq!(r.name(ip), named("first.example"));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(srv.queries(ip), 1, "not asked again within the TTL");
    clock.advance(Duration::from_secs(1));
    // Expired: the old name stays on the page while the refresh runs.
    assert_eq!(r.name(ip), named("first.example"));
    let s = wait_for(&r, ip, |s| *s == named("second.example")).await;
    assert_eq!(s, named("second.example"));
    assert_eq!(srv.queries(ip), 2);
}

#[tokio::test]
async fn ttls_are_clamped() {
    let srv = FakeServer::start().await;
    let (short, long) = (v4(1), v4(2));
    srv.set(short, ptr(&[b"short", b"example"], 0));
    srv.set(long, ptr(&[b"long", b"example"], 30 * 86_400));
    let (r, clock, _) = start(config(srv.addr));
    assert_eq!(settle(&r, short).await, named("short.example"));
    assert_eq!(settle(&r, long).await, named("long.example"));

    clock.advance(Duration::from_secs(59));
    r.name(short);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(srv.queries(short), 1, "TTL 0 is kept for the 60 s minimum");
    clock.advance(Duration::from_secs(1));
    r.name(short);
    wait_for(&r, short, |_| srv.queries(short) == 2).await;
    assert_eq!(srv.queries(short), 2);

    clock.advance(Duration::from_secs(86_400 - 61));
    r.name(long);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(srv.queries(long), 1);
    clock.advance(Duration::from_secs(1));
    r.name(long);
    wait_for(&r, long, |_| srv.queries(long) == 2).await;
    assert_eq!(srv.queries(long), 2, "30 days are cut to 24 h");
}

#[tokio::test]
async fn failures_are_cached_for_the_negative_ttl() {
    let srv = FakeServer::start().await;
    let ips = [v4(1), v4(2), v4(3), v4(4)];
    srv.set(ips[0], Reply::NxDomain);
    srv.set(ips[1], Reply::ServFail);
    srv.set(ips[2], Reply::Silent);
    srv.set(ips[3], ptr(&[b"<b>bold</b>"], 300));
    let mut c = config(srv.addr);
    c.negative_ttl = Duration::from_secs(600);
    let (r, clock, _) = start(c);
    for ip in &ips[..3] {
        assert_eq!(settle(&r, *ip).await, NameState::NoName);
    }
    assert_eq!(settle(&r, ips[3]).await, NameState::Invalid);

    clock.advance(Duration::from_secs(299));
    for ip in ips {
        r.name(ip);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    for ip in ips {
        assert_eq!(srv.queries(ip), 1, "{ip} within its TTL");
    }
    clock.advance(Duration::from_secs(1));
    assert_eq!(r.name(ips[3]), NameState::Invalid, "stale while refreshing");
    wait_for(&r, ips[3], |_| srv.queries(ips[3]) == 2).await;
    assert_eq!(srv.queries(ips[3]), 2, "invalid names use the PTR's TTL");

    clock.advance(Duration::from_secs(299));
    for ip in &ips[..3] {
        assert_eq!(r.name(*ip), NameState::NoName);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    for ip in &ips[..3] {
        assert_eq!(srv.queries(*ip), 1, "{ip} within the negative TTL");
    }
    for ip in &ips[..3] {
        srv.set(*ip, ptr(&[b"back", b"example"], 60));
    }
    clock.advance(Duration::from_secs(1));
    for ip in &ips[..3] {
        assert_eq!(r.name(*ip), NameState::NoName, "stale while refreshing");
        assert_eq!(
            wait_for(&r, *ip, |s| *s != NameState::NoName).await,
            named("back.example")
        );
        assert_eq!(srv.queries(*ip), 2);
    }
}

#[tokio::test]
async fn a_full_queue_drops_requests_until_the_host_is_shown_again() {
    let srv = FakeServer::start().await;
    let mut c = config(srv.addr);
    c.workers = 1;
    c.queue_len = 2;
    c.cache_len = 8;
    let ips: Vec<IpAddr> = (1..=5).map(v4).collect();
    for ip in &ips {
        srv.set(
            *ip,
            Reply::Late(
                Duration::from_millis(20),
                Box::new(ptr(&[b"h", b"example"], 60)),
            ),
        );
    }
    let (r, _clock, _) = start(c);
    // The workers cannot run before this task yields, so the queue fills.
    assert_eq!(r.name(ips[0]), NameState::Pending);
    assert_eq!(r.name(ips[1]), NameState::Pending);
    for ip in &ips[2..] {
        assert_eq!(r.name(*ip), NameState::Unknown, "{ip}: queue full");
    }
    let st = r.stats();
    assert_eq!((st.queued, st.queue_capacity, st.dropped), (2, 2, 3));
    assert_eq!(r.name(ips[2]), NameState::Unknown);
    assert_eq!(r.stats().dropped, 4);
    // Nothing was remembered for the dropped ones.
    assert_eq!(r.stats().cached, 2);

    // Once the queue moves, showing the hosts again gets them looked up.
    for ip in &ips {
        assert_eq!(
            wait_for(&r, *ip, |s| matches!(s, NameState::Name(_))).await,
            named("h.example"),
            "{ip}"
        );
        assert_eq!(srv.queries(*ip), 1, "{ip} asked once");
    }
    assert_eq!(r.stats().queued, 0);
}

#[tokio::test]
async fn at_most_workers_lookups_run_at_once() {
    let srv = FakeServer::start().await;
    let mut c = config(srv.addr);
    c.workers = 3;
    let ips: Vec<IpAddr> = (1..=12).map(v4).collect();
    for ip in &ips {
        srv.set(
            *ip,
            Reply::Late(
                Duration::from_millis(100),
                Box::new(ptr(&[b"h", b"example"], 60)),
            ),
        );
    }
    let (r, _clock, _) = start(c);
    for ip in &ips {
        assert_eq!(r.name(*ip), NameState::Pending);
    }
    for ip in &ips {
        assert_eq!(settle(&r, *ip).await, named("h.example"));
    }
    assert_eq!(srv.max_outstanding(), 3);
}

#[tokio::test]
async fn addresses_without_names_are_never_asked() {
    let srv = FakeServer::start().await;
    let (r, _clock, _) = start(config(srv.addr));
    let never: [IpAddr; 7] = [
        Ipv4Addr::UNSPECIFIED.into(),
        Ipv4Addr::BROADCAST.into(),
        Ipv4Addr::new(224, 0, 0, 251).into(),
        Ipv4Addr::new(169, 254, 1, 1).into(),
        Ipv6Addr::UNSPECIFIED.into(),
        "ff02::1".parse::<Ipv6Addr>().unwrap().into(),
        "fe80::1".parse::<Ipv6Addr>().unwrap().into(),
    ];
    for ip in never {
        assert_eq!(r.name(ip), NameState::NoName, "{ip}");
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    for ip in never {
        assert_eq!(srv.queries(ip), 0, "{ip}");
    }
    assert_eq!(r.stats().cached, 0);
}

#[tokio::test]
async fn next_server_after_a_refusal() {
    let bad = FakeServer::start().await;
    let good = FakeServer::start().await;
    let ip = v4(1);
    bad.set(ip, Reply::ServFail);
    good.set(ip, ptr(&[b"second", b"example"], 60));
    let mut c = config(bad.addr);
    c.servers.push(good.addr);
    let (r, _clock, _) = start(c);
    assert_eq!(settle(&r, ip).await, named("second.example"));
    assert_eq!((bad.queries(ip), good.queries(ip)), (1, 1));
}

#[test]
fn new_needs_a_runtime() {
    let c = DnsConfig::with_servers(vec!["127.0.0.1:53".parse().unwrap()]);
    assert!(matches!(Resolver::new(c), Err(DnsError::NoRuntime)));
}

#[tokio::test]
async fn bad_settings_are_refused() {
    let mut c = DnsConfig::with_servers(vec!["127.0.0.1:53".parse().unwrap()]);
    c.cache_len = 10;
    assert!(matches!(Resolver::new(c), Err(DnsError::Config(_))));
}

#[test]
fn disabled_knows_nothing() {
    let r = Resolver::disabled();
    assert!(!r.is_enabled());
    assert_eq!(r.name(v4(1)), NameState::Unknown);
    assert_eq!(r.stats(), DnsStats::default());
}

#[tokio::test]
async fn cached_reads_never_queue_lookups() {
    let srv = FakeServer::start().await;
    let (a, b) = (v4(1), v4(2));
    srv.set(a, ptr(&[b"a", b"example"], 60));
    srv.set(b, ptr(&[b"<b>"], 60));
    let (r, clock, _) = start(config(srv.addr));
    assert_eq!(r.cached(a), NameState::Unknown);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!((srv.queries(a), r.stats().cached), (0, 0));
    assert_eq!(r.name(a), NameState::Pending);
    assert_eq!(r.cached(a), NameState::Pending);
    assert_eq!(settle(&r, a).await, named("a.example"));
    assert_eq!(settle(&r, b).await, NameState::Invalid);
    assert_eq!(r.cached(a), named("a.example"));
    assert_eq!(r.cached(b), NameState::Invalid);
    assert_eq!(r.cached_names(), vec![(a, Arc::from("a.example"))]);
    // Expired: still shown, but only `name` asks again.
    clock.advance(Duration::from_secs(60));
    assert_eq!(r.cached(a), named("a.example"));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(srv.queries(a), 1);
    assert_eq!(r.name(a), named("a.example"));
    wait_for(&r, a, |_| srv.queries(a) == 2).await;
    assert_eq!(srv.queries(a), 2);
    assert_eq!(Resolver::disabled().cached(a), NameState::Unknown);
    assert!(Resolver::disabled().cached_names().is_empty());
}

#[test]
fn resolver_can_be_shared_across_worker_threads() {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<Resolver>();
    shareable::<NameState>();
}

/// The API's `known()` reads names the pages already resolved and never
/// asks DNS itself; an invalid PTR never becomes a name there.
#[tokio::test]
async fn known_names_come_from_the_cache_without_lookups() {
    let srv = FakeServer::start().await;
    let (good, bad, unseen) = (v4(101), v4(102), v4(103));
    srv.set(good, ptr(&[b"api-host", b"example"], 3600));
    srv.set(bad, ptr(&[b"<b>x</b>", b"evil"], 3600));
    srv.set(unseen, ptr(&[b"never", b"example"], 3600));
    let (r, _clock, _logs) = start(config(srv.addr));
    let names = crate::hostname::Hostnames::with_resolver(r.clone());
    let host = common::model::HostStats::new;
    assert_eq!(settle(&r, good).await, named("api-host.example"));
    assert_eq!(settle(&r, bad).await, NameState::Invalid);
    assert_eq!(
        names.known(&host(good)).as_deref(),
        Some("api-host.example")
    );
    assert_eq!(names.known(&host(bad)), None);
    assert_eq!(names.known(&host(unseen)), None);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(srv.queries(unseen), 0, "known() must not start a lookup");
}
