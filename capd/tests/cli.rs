//! The real binary on hand-made captures: options, errors, exit codes and
//! the numbers that depend on options (-l, -f, limits).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

mod support;
use support::document::host;

const BIN: &str = env!("CARGO_BIN_EXE_darkstat-capd");

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("capd-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A classic little-endian µs pcap with the given link type and records
/// (timestamp, frame, wire length).
fn pcap(dlt: u32, records: &[(u32, Vec<u8>, u32)]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    f.extend_from_slice(&2u16.to_le_bytes());
    f.extend_from_slice(&4u16.to_le_bytes());
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&65535u32.to_le_bytes());
    f.extend_from_slice(&dlt.to_le_bytes());
    for (ts, data, wire) in records {
        f.extend_from_slice(&ts.to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(&(data.len() as u32).to_le_bytes());
        f.extend_from_slice(&wire.to_le_bytes());
        f.extend_from_slice(data);
    }
    f
}

/// An Ethernet frame with an IPv4/TCP or UDP packet of `ip_len` bytes.
fn eth_ipv4(
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    sport: u16,
    dport: u16,
    flags: u8,
    ip_len: u16,
) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, dst[3], 2, 0, 0, 0, 0, src[3], 0x08, 0x00];
    let l = ip_len.to_be_bytes();
    f.extend_from_slice(&[0x45, 0, l[0], l[1], 0, 0, 0, 0, 64, proto, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    let mut rest = vec![0u8; usize::from(ip_len) - 24];
    if proto == 6 && rest.len() > 9 {
        rest[9] = flags;
    }
    f.extend_from_slice(&rest);
    f
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
    p
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn dump(args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend_from_slice(&["--dump-json", "-"]);
    let out = run(&a);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn sample(dir: &Path) -> PathBuf {
    let a = [192, 168, 1, 10];
    let b = [8, 8, 8, 8];
    let c = [192, 168, 1, 11];
    let recs = vec![
        (1_700_000_000, eth_ipv4(a, b, 6, 40000, 443, 0x02, 60), 74),
        (1_700_000_001, eth_ipv4(b, a, 6, 443, 40000, 0x12, 60), 74),
        (1_700_000_002, eth_ipv4(a, b, 17, 5353, 53, 0, 100), 114),
        (1_700_000_003, eth_ipv4(a, c, 17, 5000, 6000, 0, 40), 54),
        (1_700_000_004, vec![0xff; 42], 60), // not IP: ethertype 0xffff
    ];
    write(dir, "sample.pcap", &pcap(1, &recs))
}

#[test]
fn help_lists_every_option_with_defaults() {
    let out = run(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for opt in [
        "-r, --read",
        "-f, --filter",
        "-l, --local",
        "--dump-json",
        "--hosts-max",
        "--hosts-keep",
        "--ports-max",
        "--ports-keep",
        "--highest-port",
        "-v, --verbose",
        "[alias: -e]",
    ] {
        assert!(help.contains(opt), "--help lacks {opt}:\n{help}");
    }
    for default in [
        "[default: 30000]",
        "[default: 20000]",
        "[default: 60]",
        "[default: 30]",
        "[default: 65535]",
    ] {
        assert!(help.contains(default), "--help lacks {default}");
    }
}

#[test]
fn counts_hosts_ports_and_local_direction() {
    let d = tmpdir("sample");
    let p = sample(&d);
    let doc = dump(&["-r", p.to_str().unwrap(), "-l", "192.168.1.0/24"]);
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["totals"]["packets"], 4);
    assert_eq!(doc["totals"]["bytes"], 260);
    assert_eq!(doc["totals"]["non_ip"]["packets"], 1);
    assert_eq!(doc["totals"]["non_ip"]["bytes"], 60);
    assert_eq!(doc["since"], 1_700_000_000u64);
    assert_eq!(doc["now"], 1_700_000_004u64);
    let a = host(&doc, "192.168.1.10");
    assert_eq!(a["bytes_out"], 200);
    assert_eq!(a["bytes_in"], 60);
    assert_eq!(a["packets_out"], 3);
    assert_eq!(a["mac"], "02:00:00:00:00:0a");
    assert_eq!(a["last_seen"], 1_700_000_003u64);
    let syn: u64 = a["tcp_remote"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["syn"].as_u64().unwrap())
        .sum();
    assert_eq!(syn, 1);
    // TCP protocol: one packet out of the local network, one into it
    let tcp = doc["protocols"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["proto"] == 6)
        .unwrap();
    assert_eq!(
        (tcp["bytes_out"].as_u64(), tcp["bytes_in"].as_u64()),
        (Some(60), Some(60))
    );
    let udp = doc["protocols"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["proto"] == 17)
        .unwrap();
    assert_eq!(
        (udp["bytes_out"].as_u64(), udp["bytes_other"].as_u64()),
        (Some(100), Some(40))
    );
    // graphs: local-local traffic is not graphed
    let secs = doc["graphs"]["seconds"].as_array().unwrap();
    assert_eq!(secs.len(), 60);
    let in_sum: u64 = secs.iter().map(|b| b["bytes_in"].as_u64().unwrap()).sum();
    let out_sum: u64 = secs.iter().map(|b| b["bytes_out"].as_u64().unwrap()).sum();
    assert_eq!((in_sum, out_sum), (60, 160));
    assert_eq!(doc["local_networks"][0], "192.168.1.0/24");
}

#[test]
fn filter_applies_per_packet_and_e_is_the_same_option() {
    let d = tmpdir("filter");
    let p = sample(&d);
    for opt in ["-f", "-e"] {
        let doc = dump(&["-r", p.to_str().unwrap(), opt, "udp"]);
        assert_eq!(doc["totals"]["packets"], 2, "{opt}");
        assert_eq!(doc["totals"]["non_ip"]["packets"], 0);
        assert_eq!(doc["totals"]["capture"]["received"], 2);
    }
    let out = run(&[
        "-r",
        p.to_str().unwrap(),
        "-f",
        "port port",
        "--dump-json",
        "-",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid filter"));
}

/// A little-endian pcapng with one interface per link type of `dlts` and
/// packets (interface, frame, wire length).
fn pcapng(dlts: &[u16], packets: &[(u32, Vec<u8>, u32)]) -> Vec<u8> {
    fn block(out: &mut Vec<u8>, btype: u32, mut body: Vec<u8>) {
        while !body.len().is_multiple_of(4) {
            body.push(0);
        }
        let len = (body.len() + 12) as u32;
        out.extend_from_slice(&btype.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&body);
        out.extend_from_slice(&len.to_le_bytes());
    }
    let mut f = Vec::new();
    let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
    shb.extend_from_slice(&[1, 0, 0, 0]);
    shb.extend_from_slice(&[0xff; 8]);
    block(&mut f, 0x0a0d_0d0a, shb);
    for &dlt in dlts {
        let mut idb = dlt.to_le_bytes().to_vec();
        idb.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        block(&mut f, 1, idb);
    }
    for (iface, data, wire) in packets {
        let mut epb = iface.to_le_bytes().to_vec();
        epb.extend_from_slice(&[0; 8]);
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&wire.to_le_bytes());
        epb.extend_from_slice(data);
        block(&mut f, 6, epb);
    }
    f
}

/// In a pcapng file that mixes link types, an expression libpcap cannot
/// compile for one of them (`ether` on raw IP) leaves that interface's
/// packets out with one warning; the others are filtered and counted.
#[test]
fn filter_meaningless_for_one_interface_leaves_only_its_packets_out() {
    let d = tmpdir("filter-mixed");
    let a = [192, 168, 1, 10];
    let b = [192, 168, 1, 20];
    let from_a = eth_ipv4(a, b, 17, 1000, 53, 0, 40); // source MAC ends in 10
    let from_b = eth_ipv4(b, a, 17, 1000, 53, 0, 40);
    let raw = from_a[14..].to_vec();
    let p = write(
        &d,
        "mixed.pcapng",
        &pcapng(
            &[1, 101],
            &[
                (0, from_a.clone(), 54),
                (1, raw.clone(), 40),
                (0, from_b, 54),
                (1, raw, 40),
                (0, from_a, 54),
            ],
        ),
    );
    let out = run(&[
        "-r",
        p.to_str().unwrap(),
        "-f",
        "ether src 02:00:00:00:00:0a",
        "--dump-json",
        "-",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(err.matches("are left out").count(), 1, "{err}");
    assert!(err.contains("link type 101 (RAW)"), "{err}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["totals"]["packets"], 2);
    assert_eq!(doc["totals"]["capture"]["received"], 2);
    assert_eq!(host(&doc, "192.168.1.10")["packets_out"], 2);
    // without the filter every packet of both interfaces counts
    let all = dump(&["-r", p.to_str().unwrap()]);
    assert_eq!(all["totals"]["packets"], 5);
    // and an expression both link types know filters both (raw IP is
    // LINKTYPE_RAW 101 in the file, DLT_RAW 12 to libpcap's compiler)
    let udp = dump(&["-r", p.to_str().unwrap(), "-f", "udp and ip[9] = 17"]);
    assert_eq!(udp["totals"]["packets"], 5);
    let tcp = dump(&["-r", p.to_str().unwrap(), "-f", "tcp"]);
    assert_eq!(tcp["totals"]["packets"], 0);
}

#[test]
fn host_limit_keeps_exactly_keep_and_counts_evictions() {
    let d = tmpdir("limits");
    let recs: Vec<_> = (1..=20u8)
        .map(|i| {
            (
                1_700_000_000,
                eth_ipv4([10, 0, 0, i], [10, 0, 1, i], 17, 1, 2, 0, 28 + u16::from(i)),
                14 + 28 + u32::from(i),
            )
        })
        .collect();
    let p = write(&d, "many.pcap", &pcap(1, &recs));
    let doc = dump(&[
        "-r",
        p.to_str().unwrap(),
        "--hosts-max",
        "10",
        "--hosts-keep",
        "4",
    ]);
    let hosts = doc["hosts"].as_array().unwrap();
    // 40 hosts arrive; evictions at 10 keep 4; the table never exceeds 10
    assert!(hosts.len() <= 10 && hosts.len() >= 4, "{}", hosts.len());
    assert_eq!(
        doc["evictions"]["hosts"].as_u64().unwrap() + hosts.len() as u64,
        40
    );
    // totals and protocols never change because of an eviction
    let total: u64 = (1..=20u64).map(|i| 28 + i).sum();
    assert_eq!(doc["totals"]["bytes"], total);
    assert_eq!(doc["protocols"][0]["bytes_other"], total);
    // the biggest talker survives every eviction
    host(&doc, "10.0.0.20");
}

#[test]
fn unsupported_link_type_is_refused_with_its_name() {
    let d = tmpdir("dlt");
    let p = write(&d, "wifi.pcap", &pcap(105, &[(0, vec![0; 30], 30)]));
    let out = run(&["-r", p.to_str().unwrap(), "--dump-json", "-"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unsupported link type 105 (IEEE802_11)"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn unreadable_inputs_are_clear_errors() {
    let out = run(&["-r", "/nonexistent/x.pcap", "--dump-json", "-"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("No such file"));
    let d = tmpdir("garbage");
    let p = write(&d, "text.pcap", b"hello, this is not a capture");
    let out = run(&["-r", p.to_str().unwrap(), "--dump-json", "-"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown file format"));
    let out = run(&["-r", p.to_str().unwrap(), "-l", "10.0.0.0/99"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid -l"));
}

#[test]
fn capture_cut_short_keeps_what_was_read() {
    let d = tmpdir("cut");
    let full = std::fs::read(sample(&d)).unwrap();
    let p = write(&d, "cut.pcap", &full[..full.len() - 50]);
    let out = run(&["-r", p.to_str().unwrap(), "--dump-json", "-"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("capture ends early at byte offset"), "{err}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["totals"]["packets"], 4);
    assert_eq!(doc["totals"]["non_ip"]["packets"], 0);
}

#[test]
fn reads_standard_input_and_writes_a_file() {
    let d = tmpdir("stdin");
    let bytes = std::fs::read(sample(&d)).unwrap();
    let out_path = d.join("out.json");
    let mut child = Command::new(BIN)
        .args(["-r", "-", "--dump-json", out_path.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    assert!(child.wait().unwrap().success());
    let doc: Value = serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap();
    assert_eq!(doc["totals"]["packets"], 4);
    assert!(!d.join("out.json.tmp").exists());
}
