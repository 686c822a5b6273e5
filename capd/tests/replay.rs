//! Live equals offline: corpus captures replayed with tcpreplay into a veth
//! that capd captures on give the same hosts, ports and protocols as
//! `-r FILE` on the same file (timing fields aside). Root only, traffic
//! inside two namespaces the test makes; skipped where tcpreplay is
//! missing (tests/run.sh installs it).

mod support;

use std::process::{Command, Stdio};

use serde_json::Value;

use support::isolated;
use support::netns::{sh, VethPair};
use support::sandboxed::{term, wait_sandboxed};
use support::user::root_or_skip;

const BIN: &str = env!("CARGO_BIN_EXE_darkstat-capd");

/// Ethernet captures whose every frame was captured whole and fits the
/// veth MTU, so a replay puts exactly the recorded frames on the wire.
const FILES: [&str; 6] = [
    "wikipedia.pcap",
    "mapi.pcap",
    "pppoe-over-qinq.pcap",
    "dhcp_flood.pcap",
    "gre-within-gre.pcap",
    "ipv6-http-atomic-frag.pcap",
];

/// The comparable part of a document: hosts with their tables, global
/// ports and protocols, totals of IP traffic (the live side also sees the
/// namespace's own IPv6 chatter, which the filter below removes).
fn tables(doc: &Value) -> Value {
    let mut hosts: Vec<Value> = doc["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let mut h = h.clone();
            let o = h.as_object_mut().unwrap();
            o.remove("last_seen");
            o.remove("hostname");
            for k in [
                "tcp_local",
                "tcp_remote",
                "udp_local",
                "udp_remote",
                "protocols",
            ] {
                let key = if k == "protocols" { "proto" } else { "port" };
                o.get_mut(k)
                    .unwrap()
                    .as_array_mut()
                    .unwrap()
                    .sort_by_key(|p| p[key].as_u64());
            }
            h
        })
        .collect();
    hosts.sort_by_key(|h| h["ip"].as_str().unwrap().to_string());
    let mut ports = doc["ports"].clone();
    for k in ["tcp", "udp"] {
        ports[k]
            .as_array_mut()
            .unwrap()
            .sort_by_key(|p| p["port"].as_u64());
    }
    let mut protocols = doc["protocols"].as_array().unwrap().clone();
    protocols.sort_by_key(|p| p["proto"].as_u64());
    serde_json::json!({
        "packets": doc["totals"]["packets"], "bytes": doc["totals"]["bytes"],
        "malformed": doc["totals"]["malformed"]["packets"],
        "hosts": hosts, "ports": ports, "protocols": protocols,
    })
}

#[test]
fn replayed_captures_count_as_read_captures() {
    if !root_or_skip("replay tests") {
        return;
    }
    if Command::new("tcpreplay").arg("--version").output().is_err() {
        eprintln!("skipped: tcpreplay not installed (tests/run.sh installs it)");
        return;
    }
    let id = std::process::id() % 100_000;
    let pair = VethPair::new("dsr", "");
    let (a, b) = (&pair.a, &pair.b);
    // no addresses, no IPv6 autoconfiguration: only replayed frames flow
    for (ns, dev) in [(a, "va"), (b, "vb")] {
        sh(&[
            "ip",
            "netns",
            "exec",
            ns,
            "sysctl",
            "-qw",
            &format!("net.ipv6.conf.{dev}.disable_ipv6=1"),
        ]);
    }
    let dir = std::env::temp_dir().join(format!("capd-replay-{id}"));
    std::fs::create_dir_all(&dir).unwrap();
    let user = nix::unistd::User::from_name("darkstat-rs")
        .unwrap()
        .unwrap();
    nix::unistd::chown(&dir, Some(user.uid), Some(user.gid)).unwrap();
    let mut failures = Vec::new();
    for name in FILES {
        let pcap = support::corpus::pcap(name);
        let offline = support::document::offline(&pcap);

        let dump = dir.join(format!("{name}.json"));
        let child = Command::new("ip")
            .args(["netns", "exec", a, BIN, "-i", "va", "--no-web"])
            .args(isolated())
            .args([
                "--hosts-max",
                "100000",
                "--ports-max",
                "65536",
                "--dump-json",
            ])
            .arg(&dump)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_sandboxed(&child, "capd");
        sh(&[
            "ip",
            "netns",
            "exec",
            b,
            "tcpreplay",
            "-q",
            "-i",
            "vb",
            "--pps",
            "2000",
            pcap.to_str().unwrap(),
        ]);
        term(&child);
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let live: Value = serde_json::from_slice(&std::fs::read(&dump).unwrap()).unwrap();
        if tables(&live) != tables(&offline) {
            failures.push(format!(
                "{name}: live {} packets / {} hosts, offline {} / {}",
                live["totals"]["packets"],
                live["hosts"].as_array().unwrap().len(),
                offline["totals"]["packets"],
                offline["hosts"].as_array().unwrap().len()
            ));
        }
        assert_eq!(
            live["totals"]["capture"]["dropped"], 0,
            "{name}: kernel drops"
        );
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
