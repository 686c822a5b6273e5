//! Live capture on a veth pair between two network namespaces made by the
//! test (root only; CI runs as root). Traffic stays inside the namespaces.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use support::document::host;
use support::isolated;
use support::netns::{sh, VethPair};
use support::sandboxed::wait_sandboxed;
use support::user::root_or_skip;

const BIN: &str = env!("CARGO_BIN_EXE_darkstat-capd");

/// Root, and the user capd drops to exists (whichever test binary runs
/// first must not depend on another having made it).
fn root() -> bool {
    root_or_skip("live capture tests")
}

/// Two namespaces joined by a veth pair with 10.77.0.1/24 on `va` (in
/// `a`) and 10.77.0.2/24 on `vb` (in `b`).
fn pair(tag: &str) -> VethPair {
    let p = VethPair::new("ds", tag);
    sh(&["ip", "-n", &p.a, "addr", "add", "10.77.0.1/24", "dev", "va"]);
    sh(&["ip", "-n", &p.b, "addr", "add", "10.77.0.2/24", "dev", "vb"]);
    p
}

/// Sends `n` UDP datagrams of `payload` bytes from namespace `ns`.
fn send_udp(ns: &str, dst: &str, port: u16, n: usize, payload: usize) {
    let code = format!(
        "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor i in range({n}):\n    s.sendto(b'x'*{payload},('{dst}',{port}))\n    time.sleep(0.002)\n"
    );
    sh(&["ip", "netns", "exec", ns, "python3", "-c", &code]);
}

fn promiscuity(ns: &str, dev: &str) -> u64 {
    let out = Command::new("ip")
        .args(["-n", ns, "-d", "link", "show", dev])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let at = text
        .find("promiscuity ")
        .expect("promiscuity in ip -d link");
    text[at + 12..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn live_counts_rise_with_traffic_and_promisc_is_on_only_while_running() {
    if !root() {
        return;
    }
    let p = pair("l");
    let dump = std::env::temp_dir().join(format!("capd-live-{}.json", std::process::id()));
    assert_eq!(promiscuity(&p.a, "va"), 0);
    let child = Command::new("ip")
        .args([
            "netns",
            "exec",
            &p.a,
            BIN,
            "-i",
            "va",
            "--no-web",
            "-f",
            "udp",
            "--dump-json",
        ])
        .arg(&dump)
        .args(isolated())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // capd is capturing once the interface is promiscuous
    let t0 = std::time::Instant::now();
    while promiscuity(&p.a, "va") == 0 && t0.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    if promiscuity(&p.a, "va") != 1 {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        let out = child.wait_with_output().unwrap();
        panic!(
            "capd never captured ({:?}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    send_udp(&p.b, "10.77.0.1", 9999, 50, 100);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        promiscuity(&p.a, "va"),
        0,
        "promiscuous mode off after exit"
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(&dump).unwrap()).unwrap();
    let _ = std::fs::remove_file(&dump);
    let b = host(&doc, "10.77.0.2");
    assert_eq!(b["packets_out"], 50);
    assert_eq!(b["bytes_out"], 50 * (20 + 8 + 100));
    let a = host(&doc, "10.77.0.1");
    assert_eq!(a["packets_in"], 50);
    let udp9999 = a["udp_local"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["port"] == 9999)
        .unwrap();
    assert_eq!(udp9999["packets_in"], 50);
    // the filter kept everything that is not UDP out
    assert_eq!(doc["totals"]["non_ip"]["packets"], 0);
    assert!(doc["totals"]["capture"]["received"].as_u64().unwrap() >= 50);
    // the interface's own address is local: the datagrams are "in" traffic
    let graphed: u64 = doc["graphs"]["minutes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["packets_in"].as_u64().unwrap())
        .sum();
    assert_eq!(graphed, 50);
    assert_eq!(doc["interfaces"][0]["name"], "va");
}

#[test]
fn missing_interface_is_a_clear_error() {
    let out = Command::new(BIN)
        .args(["-i", "nosuchif0", "--no-web"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nosuchif0"), "{err}");
}

#[test]
fn interface_that_disappears_ends_capd_with_an_error() {
    if !root() {
        return;
    }
    let p = pair("g");
    let child = Command::new("ip")
        .args(["netns", "exec", &p.a, BIN, "-i", "va", "--no-web"])
        .args(isolated())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // capturing: past every start-up step that looks the interface up (a
    // link that is gone before then fails the start, like a missing one)
    wait_sandboxed(&child, "capd");
    sh(&["ip", "-n", &p.a, "link", "del", "va"]);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("capture on va failed") && err.contains("disappeared"),
        "{err}"
    );
    assert_eq!(err.matches("disappeared").count(), 1, "said once: {err}");
}

/// Sends `n` UDP datagrams to `dst` (IPv4 or IPv6) from namespace `ns`.
fn send_udp_to(ns: &str, dst: &str, n: usize) {
    let family = if dst.contains(':') {
        "AF_INET6"
    } else {
        "AF_INET"
    };
    let code = format!(
        "import socket,time\ns=socket.socket(socket.{family},socket.SOCK_DGRAM)\nfor i in range({n}):\n    s.sendto(b'x'*100,('{dst}',9999))\n    time.sleep(0.002)\n"
    );
    sh(&["ip", "netns", "exec", ns, "python3", "-c", &code]);
}

#[test]
fn an_address_is_local_only_while_the_interface_has_it() {
    if !root() {
        return;
    }
    let p = pair("x");
    // X4 / X6 are not va's addresses at first. b reaches them without
    // ARP or neighbour discovery (which would fail while nobody owns
    // them) through permanent neighbour entries for va's MAC; a packet to
    // them crosses va whether or not va has them.
    let (x4, x6) = ("10.77.0.50", "fd77::50");
    sh(&[
        "ip",
        "-n",
        &p.a,
        "link",
        "set",
        "va",
        "address",
        "02:77:00:00:00:01",
    ]);
    sh(&[
        "ip",
        "-n",
        &p.b,
        "addr",
        "add",
        "fd77::2/64",
        "dev",
        "vb",
        "nodad",
    ]);
    for x in [x4, x6] {
        sh(&[
            "ip",
            "-n",
            &p.b,
            "neigh",
            "replace",
            x,
            "lladdr",
            "02:77:00:00:00:01",
            "dev",
            "vb",
            "nud",
            "permanent",
        ]);
    }
    let dump = std::env::temp_dir().join(format!("capd-addrs-{}.json", std::process::id()));
    let err = std::env::temp_dir().join(format!("capd-addrs-{}.err", std::process::id()));
    let child = Command::new("ip")
        .args(["netns", "exec", &p.a, BIN, "-i", "va", "--no-web", "-v"])
        // UDP only: while X is va's, the kernel answers with ICMP errors,
        // which are not what is being counted here
        .args(["-f", "udp", "--dump-json"])
        .arg(&dump)
        .args(isolated())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let kill = |sig| {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig);
    };
    let t0 = std::time::Instant::now();
    while promiscuity(&p.a, "va") == 0 && t0.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    if promiscuity(&p.a, "va") != 1 {
        kill(nix::sys::signal::Signal::SIGKILL);
        panic!(
            "capd never captured: {}",
            std::fs::read_to_string(&err).unwrap_or_default()
        );
    }
    // capd reads the change as soon as the kernel announces it; the pause
    // only keeps packets that were already in flight out of the next phase
    let settle = || std::thread::sleep(Duration::from_millis(500));
    // 1: X is nobody's address here: remote to remote, "other"
    send_udp_to(&p.b, x4, 10);
    send_udp_to(&p.b, x6, 11);
    settle();
    // `ip addr OP CIDR dev va [nodad]` in the capturing namespace
    let addr = |op: &str, cidr: String, extra: &[&str]| {
        let mut args = vec!["ip", "-n", &p.a, "addr", op, &cidr, "dev", "va"];
        args.extend_from_slice(extra);
        sh(&args);
    };
    // 2: va has X: traffic into the local network, "in"
    addr("add", format!("{x4}/24"), &[]);
    addr("add", format!("{x6}/64"), &["nodad"]);
    settle();
    send_udp_to(&p.b, x4, 20);
    send_udp_to(&p.b, x6, 21);
    settle();
    // 3: X is gone again: "other"
    addr("del", format!("{x4}/24"), &[]);
    addr("del", format!("{x6}/64"), &[]);
    settle();
    send_udp_to(&p.b, x4, 40);
    send_udp_to(&p.b, x6, 41);
    settle();
    kill(nix::sys::signal::Signal::SIGTERM);
    let mut child = child;
    let status = child.wait().unwrap();
    let log = std::fs::read_to_string(&err).unwrap_or_default();
    let _ = std::fs::remove_file(&err);
    assert!(status.success(), "{status:?}: {log}");
    let doc: Value = serde_json::from_slice(&std::fs::read(&dump).unwrap()).unwrap();
    let _ = std::fs::remove_file(&dump);
    let udp = doc["protocols"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["proto"] == 17)
        .cloned()
        .unwrap_or_else(|| panic!("no UDP row in {doc}"));
    assert_eq!(udp["packets_in"], 20 + 21, "{udp}\n{log}");
    assert_eq!(udp["packets_other"], 10 + 11 + 40 + 41, "{udp}\n{log}");
    assert_eq!(udp["packets_out"], 0, "{udp}");
    let graphed: u64 = doc["graphs"]["minutes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["packets_in"].as_u64().unwrap())
        .sum();
    assert_eq!(graphed, 20 + 21);
    // the hosts' own counters are unchanged by the direction
    assert_eq!(host(&doc, x4)["packets_in"], 10 + 20 + 40);
    assert_eq!(host(&doc, x6)["packets_in"], 11 + 21 + 41);
    // at the end: va's own address is local, X no longer is
    let nets: Vec<&str> = doc["local_networks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(nets.contains(&"10.77.0.1/32"), "{nets:?}");
    assert!(
        !nets.iter().any(|n| n.starts_with(x4) || n.starts_with(x6)),
        "{nets:?}"
    );
}
