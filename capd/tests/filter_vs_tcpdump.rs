//! `-f` against tcpdump: on every capture of ../shared/corpus that both
//! read, `darkstat-capd -r FILE -f EXPR` must take exactly the packets
//! `tcpdump -r FILE -w - EXPR` writes. Both compile the expression with
//! libpcap, but capd runs the program itself on its own reader's records
//! (pcapng files libpcap refuses, the true wire length): this catches what
//! that changes, e.g. link types numbered differently in files and in
//! libpcap's compiler, or loopback address families.
//!
//! Skipped when tcpdump is missing (tests/run.sh installs it).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

mod support;

const FILTERS: [&str; 5] = ["udp", "ip6", "tcp and port 80", "vlan", "greater 200"];

/// Records in a classic pcap file (tcpdump's `-w -` output), `None` when
/// it is not one.
fn records(pcap: &[u8]) -> Option<usize> {
    let magic: [u8; 4] = pcap.get(0..4)?.try_into().ok()?;
    let big = match u32::from_le_bytes(magic) {
        0xa1b2_c3d4 | 0xa1b2_3c4d => false,
        0xd4c3_b2a1 | 0x4d3c_b2a1 => true,
        _ => return None,
    };
    let (mut at, mut n) = (24, 0);
    while at + 16 <= pcap.len() {
        let b: [u8; 4] = pcap[at + 8..at + 12].try_into().ok()?;
        let caplen = if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        };
        at += 16 + caplen as usize;
        n += 1;
    }
    (at == pcap.len()).then_some(n)
}

/// What tcpdump keeps of `file`, `None` if it cannot read the file or
/// compile the expression for its link type.
fn tcpdump(file: &Path, expr: &str) -> Option<usize> {
    let mut cmd = Command::new("tcpdump");
    if nix::unistd::geteuid().is_root() {
        cmd.args(["-Z", "root"]); // it would write as user tcpdump
    }
    let out = cmd
        .arg("-r")
        .arg(file)
        .args(["-w", "-", expr])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    records(&out.stdout)
}

/// What capd counts as received, `None` when it refuses the file (a link
/// type it does not decode).
fn capd(file: &Path, expr: &str) -> Result<Option<u64>, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_darkstat-capd"))
        .arg("-r")
        .arg(file)
        .args(["-f", expr, "--dump-json", "-"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return if err.contains("unsupported link type") {
            Ok(None)
        } else {
            Err(err.into_owned())
        };
    }
    let doc: Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    Ok(doc["totals"]["capture"]["received"].as_u64())
}

#[test]
fn filtered_packets_are_the_ones_tcpdump_keeps() {
    if Command::new("tcpdump").arg("--version").output().is_err() {
        eprintln!("skipped: tcpdump not installed (tests/run.sh installs it)");
        return;
    }
    let files = support::corpus::all();
    // two workers: the machine has two cores, the checks are independent
    let (even, odd): (Vec<_>, Vec<_>) = files.iter().enumerate().partition(|(i, _)| i % 2 == 0);
    let check = |part: Vec<(usize, &PathBuf)>| {
        let (mut compared, mut failures) = (0, Vec::new());
        for (_, file) in part {
            for expr in FILTERS {
                let Some(want) = tcpdump(file, expr) else {
                    continue;
                };
                match capd(file, expr) {
                    Ok(None) => {}
                    Ok(Some(got)) if got == want as u64 => compared += 1,
                    Ok(Some(got)) => failures.push(format!(
                        "{} -f {expr:?}: tcpdump kept {want}, capd {got}",
                        file.display()
                    )),
                    Err(e) => failures.push(format!("{} -f {expr:?}: {e}", file.display())),
                }
            }
        }
        (compared, failures)
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| check(even));
        let b = s.spawn(|| check(odd));
        (a.join().unwrap(), b.join().unwrap())
    });
    let compared = a.0 + b.0;
    let failures: Vec<String> = a.1.into_iter().chain(b.1).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // most captures are Ethernet or loopback that both read
    assert!(compared > 800, "only {compared} comparisons");
}
