//! Persistence across restarts, on the real binary capturing `lo` in a
//! network namespace made by the test (root only; CI runs as root): the
//! state file survives restarts and SIGKILL during checkpoints, a corrupt
//! one is kept aside, SIGUSR2 saves, SIGUSR1 saves and resets, a full disk
//! loses nothing already saved.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::netns::Netns as Ns;
use support::sandboxed::{signal, wait_sandboxed};
use support::user::{owned_dir, root_or_skip};

const BIN: &str = env!("CARGO_BIN_EXE_darkstat-capd");

fn root() -> bool {
    root_or_skip("the persistence tests (they capture live)")
}

impl Ns {
    fn udp(&self, n: usize) {
        let code = format!(
            "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor i in range({n}): s.sendto(b'x'*72,('127.0.0.1',9999))\n"
        );
        assert!(Command::new("ip")
            .args(["netns", "exec", &self.0, "python3", "-c", &code])
            .status()
            .unwrap()
            .success());
    }
}

impl Ns {
    /// `n` UDP datagrams of 100 IP bytes from 127.0.0.2 to 127.0.0.1:9999
    /// (a socket listens there, so no ICMP answers). capd's local addresses
    /// on lo are its own, 127.0.0.1 and ::1, so these cross the local
    /// boundary: graphed "in". Returns the wall-clock seconds (floored)
    /// just before the first and just after the last datagram.
    fn udp_in_graph(&self, n: usize) -> (u64, u64) {
        let code = format!(
            "import socket,time\nr=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nr.bind(('127.0.0.1',9999))\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('127.0.0.2',0))\na=time.time()\nfor i in range({n}): s.sendto(b'x'*72,('127.0.0.1',9999))\nb=time.time()\nprint(int(a),int(b))\n"
        );
        let out = Command::new("ip")
            .args(["netns", "exec", &self.0, "python3", "-c", &code])
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let mut it = text.split_whitespace().map(|t| t.parse().unwrap());
        (it.next().unwrap(), it.next().unwrap())
    }
}

fn state_dir(tag: &str) -> PathBuf {
    owned_dir(std::env::temp_dir().join(format!("capd-persist-{}-{tag}", std::process::id())))
}

fn start(ns: &Ns, dir: &Path, extra: &[&str]) -> Child {
    let sock = dir.join("capd.sock");
    let mut args = vec![
        BIN,
        "-i",
        "lo",
        "--no-web",
        "-v",
        "-d",
        dir.to_str().unwrap(),
        "--socket",
        sock.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let child = Command::new("ip")
        .args(["netns", "exec", &ns.0])
        .args(&args)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // capturing once the sandbox is up
    wait_sandboxed(&child, "capd");
    std::thread::sleep(Duration::from_millis(300));
    child
}

fn stop(c: Child) -> String {
    signal(&c, nix::sys::signal::Signal::SIGTERM);
    let out = c.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "capd failed: {err}");
    err
}

/// Starts capd on the saved state and returns what it holds, as JSON.
fn saved(ns: &Ns, dir: &Path) -> Value {
    let dump = dir.join("dump.json");
    let c = start(ns, dir, &["--dump-json", dump.to_str().unwrap()]);
    stop(c);
    serde_json::from_slice(&std::fs::read(&dump).unwrap()).unwrap()
}

fn udp_in(doc: &Value) -> u64 {
    doc["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["ip"] == "127.0.0.1")
        .and_then(|h| {
            h["udp_local"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["port"] == 9999)
        })
        .map_or(0, |p| p["packets_in"].as_u64().unwrap())
}

#[test]
fn statistics_survive_a_restart() {
    if !root() {
        return;
    }
    let ns = Ns::new("dsp", "r");
    let dir = state_dir("restart");
    let c = start(&ns, &dir, &[]);
    ns.udp(40);
    let log = stop(c);
    assert!(log.contains("state saved (shutdown)"), "{log}");
    let first = saved(&ns, &dir);
    assert_eq!(udp_in(&first), 40);
    // a second run adds to the first
    let c = start(&ns, &dir, &[]);
    ns.udp(10);
    stop(c);
    let second = saved(&ns, &dir);
    assert_eq!(udp_in(&second), 50);
    assert_eq!(second["since"], first["since"], "measuring since is kept");
}

#[test]
fn corrupt_state_is_kept_aside_and_capd_starts_empty() {
    if !root() {
        return;
    }
    let ns = Ns::new("dsp", "c");
    let dir = state_dir("corrupt");
    let state = dir.join("darkstat-rs.state");
    std::fs::write(&state, b"DSRSSTAT garbage that is no state file").unwrap();
    let c = start(&ns, &dir, &[]);
    let log = stop(c);
    assert!(log.contains("kept it as"), "{log}");
    let aside: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1);
    assert_eq!(
        std::fs::read(aside[0].path()).unwrap(),
        b"DSRSSTAT garbage that is no state file"
    );
    // and a valid state file was written in its place
    assert_eq!(udp_in(&saved(&ns, &dir)), 0);
}

#[test]
fn sigusr2_saves_and_sigusr1_saves_then_resets() {
    if !root() {
        return;
    }
    let ns = Ns::new("dsp", "u");
    let dir = state_dir("usr");
    let state = dir.join("darkstat-rs.state");
    let c = start(&ns, &dir, &["--checkpoint", "0"]);
    ns.udp(7);
    std::thread::sleep(Duration::from_millis(300));
    signal(&c, nix::sys::signal::Signal::SIGUSR2);
    let t0 = Instant::now();
    while !state.exists() && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(state.exists(), "SIGUSR2 wrote no state");
    signal(&c, nix::sys::signal::Signal::SIGUSR1);
    std::thread::sleep(Duration::from_millis(2500));
    ns.udp(3);
    let log = stop(c);
    assert!(log.contains("statistics reset (SIGUSR1)"), "{log}");
    // after the reset only the 3 later datagrams are counted
    assert_eq!(udp_in(&saved(&ns, &dir)), 3);
}

#[test]
fn sigkill_during_checkpoints_never_leaves_a_broken_state() {
    if !root() {
        return;
    }
    let ns = Ns::new("dsp", "k");
    let dir = state_dir("kill");
    let state = dir.join("darkstat-rs.state");
    let mut last = 0;
    for round in 0..100u64 {
        let c = start(&ns, &dir, &["--checkpoint", "1"]);
        ns.udp(5);
        // kill at a different moment of the checkpoint cycle each round
        std::thread::sleep(Duration::from_millis(200 + (round * 137) % 1100));
        signal(&c, nix::sys::signal::Signal::SIGKILL);
        let _ = c.wait_with_output().unwrap();
        // the file is always the old one or the new one, whole
        let n = match std::fs::read(&state) {
            Ok(bytes) => {
                let snap = capd::persist::state::decode(&bytes)
                    .unwrap_or_else(|e| panic!("round {round}: broken state: {e}"));
                let doc = serde_json::to_value(&snap).unwrap();
                udp_in(&doc)
            }
            Err(_) => 0,
        };
        // nothing saved is ever lost; the unsaved rest is at most one
        // interval's traffic (this round's datagrams)
        assert!(n >= last, "round {round}: {n} < {last}");
        assert!(n <= (round + 1) * 5, "round {round}: {n}");
        last = n;
    }
    assert!(last > 0, "no checkpoint was ever written");
    let aside = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().contains("corrupt"));
    assert!(!aside, "a state file was found corrupt");
}

#[test]
fn full_disk_keeps_the_last_saved_state() {
    if !root() {
        return;
    }
    let ns = Ns::new("dsp", "f");
    let dir = state_dir("full");
    // a 64 KiB tmpfs: the first state fits, a later one does not
    let ok = Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            "size=64k",
            "tmpfs",
            dir.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(ok.success());
    let u = nix::unistd::User::from_name("darkstat-rs")
        .unwrap()
        .unwrap();
    nix::unistd::chown(&dir, Some(u.uid), Some(u.gid)).unwrap();
    let c = start(&ns, &dir, &[]);
    ns.udp(4);
    stop(c);
    let before = std::fs::read(dir.join("darkstat-rs.state")).unwrap();
    // fill the file system
    let filler = dir.join("filler");
    let _ = std::fs::write(&filler, vec![0u8; 128 * 1024]);
    let c = start(&ns, &dir, &[]);
    ns.udp(4);
    let log = stop(c);
    assert!(log.contains("state not saved"), "{log}");
    assert_eq!(
        std::fs::read(dir.join("darkstat-rs.state")).unwrap(),
        before,
        "the saved state is intact"
    );
    assert!(!dir.join("darkstat-rs.state.tmp").exists());
    let _ = Command::new("umount").arg(&dir).status();
}

fn bars(doc: &Value, series: &str) -> Vec<(u64, u64, u64)> {
    doc["graphs"][series]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["t"].as_u64().unwrap(),
                b["bytes_in"].as_u64().unwrap(),
                b["bytes_out"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn graphs_continue_across_a_restart_with_zero_bars_for_the_downtime() {
    if !root() {
        return;
    }
    let ns = Ns::new("dsp", "g");
    let dir = state_dir("graphs");
    let c = start(&ns, &dir, &[]);
    let first = ns.udp_in_graph(20);
    std::thread::sleep(Duration::from_millis(300));
    let stopped = stop(c);
    assert!(stopped.contains("state saved (shutdown)"), "{stopped}");
    // down for a few seconds
    std::thread::sleep(Duration::from_secs(4));
    let c = start(&ns, &dir, &[]);
    let second = ns.udp_in_graph(10);
    std::thread::sleep(Duration::from_millis(300));
    stop(c);
    assert!(first.1 + 3 < second.0, "{first:?} {second:?}");
    let doc = saved(&ns, &dir);
    let now = doc["now"].as_u64().unwrap();

    // the seconds graph: the window ending now, one bar per second
    let secs = bars(&doc, "seconds");
    assert_eq!(secs.len(), 60);
    assert_eq!(secs[59].0, now);
    assert!(secs.windows(2).all(|w| w[1].0 == w[0].0 + 1));
    assert!(secs[0].0 <= first.0, "the first run is still in the window");
    let within = |(a, b): (u64, u64)| -> u64 {
        secs.iter()
            .filter(|s| (a..=b).contains(&s.0))
            .map(|s| s.1)
            .sum()
    };
    // before the restart: the first run's bytes where they were
    assert_eq!(within(first), 20 * 100);
    // after it: the second run's in its own bars
    assert_eq!(within(second), 10 * 100);
    // everything else, the downtime included, is zero
    let gap: Vec<&(u64, u64, u64)> = secs
        .iter()
        .filter(|s| s.0 > first.1 && s.0 < second.0)
        .collect();
    assert!(gap.len() >= 3, "{gap:?}");
    for s in &secs {
        let counted = (first.0..=first.1).contains(&s.0) || (second.0..=second.1).contains(&s.0);
        if !counted {
            assert_eq!((s.1, s.2), (0, 0), "bar {} outside both runs", s.0);
        }
        assert_eq!(s.2, 0, "no traffic out");
    }
    // the longer graphs hold the same bytes, in the bars of their periods
    for (name, period) in [("minutes", 60), ("hours", 3600), ("days", 86_400)] {
        let long = bars(&doc, name);
        assert_eq!(long.last().unwrap().0, now / period * period, "{name}");
        for b in &long {
            let from_secs: u64 = secs
                .iter()
                .filter(|s| s.0 / period * period == b.0)
                .map(|s| s.1)
                .sum();
            assert_eq!(b.1, from_secs, "{name} bar {}", b.0);
        }
        assert_eq!(long.iter().map(|b| b.1).sum::<u64>(), 30 * 100, "{name}");
    }
}
