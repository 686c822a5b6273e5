//! Reverse DNS against tests/fake_dns.py in a network namespace, driven by
//! tests/dns_hostile_ptr.sh (root only), which runs this test binary inside
//! a namespace whose /etc/resolv.conf names the fake server. Run any other
//! way, the test returns at once: it must never send queries to a real
//! resolver.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use webd::dns::{DnsConfig, NameState, Resolver};

const RESOLV_VAR: &str = "DARKSTAT_DNS_TEST_RESOLV_CONF";
const SERVER_VAR: &str = "DARKSTAT_DNS_TEST_SERVER";

#[tokio::test]
#[ignore = "run by tests/dns_hostile_ptr.sh (root, network namespace)"]
async fn hostile_ptrs_from_a_namespace() {
    let (Ok(path), Ok(server)) = (std::env::var(RESOLV_VAR), std::env::var(SERVER_VAR)) else {
        eprintln!(
            "dns_netns: skipped: {RESOLV_VAR} and {SERVER_VAR} are set by tests/dns_hostile_ptr.sh"
        );
        return;
    };
    let server: IpAddr = server.parse().expect("server address");
    let config = DnsConfig::from_resolv_conf(Path::new(&path)).expect("resolv.conf");
    assert_eq!(
        config.servers,
        vec![SocketAddr::new(server, 53)],
        "the namespace's resolv.conf names the fake server"
    );
    let resolver = Resolver::new(config).expect("resolver");

    let net = |n| IpAddr::V4(Ipv4Addr::new(198, 51, 100, n));
    let mut want: Vec<(IpAddr, NameState)> =
        (1..=7).map(|n| (net(n), NameState::Invalid)).collect();
    want.push((
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
        NameState::Invalid,
    ));
    want.push((net(200), NameState::Name("good-host.example".into())));
    want.push((net(201), NameState::NoName));

    for (ip, _) in &want {
        assert_eq!(resolver.name(*ip), NameState::Pending, "{ip}");
    }
    let end = tokio::time::Instant::now() + Duration::from_secs(20);
    for (ip, expected) in &want {
        let mut state = resolver.name(*ip);
        while state == NameState::Pending && tokio::time::Instant::now() < end {
            tokio::time::sleep(Duration::from_millis(20)).await;
            state = resolver.name(*ip);
        }
        println!("dns_netns: {ip} -> {state:?}");
        assert_eq!(&state, expected, "{ip}");
    }
    let stats = resolver.stats();
    assert_eq!(
        (stats.invalid, stats.names, stats.no_name, stats.failed),
        (8, 1, 1, 0)
    );
    println!("dns_netns: CHECKED {} addresses", want.len());
}
