//! Both processes for real: `darkstat-capd -r FILE` serves the file's
//! statistics, starts `darkstat-webd` (found next to it) and the API,
//! `/metrics` and the pages agree with `--dump-json` of the same file.
//! Then the restart matrix of the channel: a killed webd is replaced and
//! shows the same totals; a killed capd turns webd's API to 503 with a
//! banner on the pages, and webd recovers by itself when capd is back.
//! Needs the webd binary built beside capd's (`cargo test --workspace`).

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_darkstat-capd");

fn webd_built() -> bool {
    let ok = Path::new(BIN).with_file_name("darkstat-webd").exists();
    if !ok {
        eprintln!("skipped: darkstat-webd is not built next to darkstat-capd (run cargo test --workspace)");
    }
    ok
}

/// A plain HTTP/1.1 GET on loopback: (status, body).
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Some((status, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((len, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].strip_prefix("\r\n").unwrap_or(&rest[n..]);
    }
    out
}

fn wait_for(port: u16, path: &str, want: u16) -> String {
    let t0 = Instant::now();
    loop {
        if let Some((status, body)) = get(port, path) {
            if status == want {
                return body;
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{path} never answered {want}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve(file: &Path, port: u16, sock: &Path) -> Child {
    Command::new(BIN)
        .args([
            "-r",
            file.to_str().unwrap(),
            "-p",
            &port.to_string(),
            "-b",
            "127.0.0.1",
            "-n",
        ])
        .args([
            "--hosts-max",
            "100000",
            "--ports-max",
            "65536",
            "--socket",
            sock.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Hosts keyed by address with the fields both sides have, sorted.
fn hosts(doc: &Value) -> Vec<(String, u64, u64, u64, u64)> {
    let mut v: Vec<_> = doc["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let n = |k: &str| h[k].as_u64().unwrap();
            (
                h["ip"].as_str().unwrap().to_string(),
                n("bytes_in"),
                n("bytes_out"),
                n("packets_in"),
                n("packets_out"),
            )
        })
        .collect();
    v.sort();
    v
}

fn stop(c: &mut Child) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(c.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let _ = c.wait();
}

fn webd_pid(sock: &Path) -> Option<i32> {
    let out = Command::new("pgrep")
        .args([
            "-f",
            &format!("darkstat-webd .*--socket {}", sock.display()),
        ])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

#[test]
fn pages_api_and_metrics_equal_the_dump_and_survive_restarts() {
    if !webd_built() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("capd-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("capd.sock");
    let file = support::corpus::pcap("mapi.pcap");
    let want = support::document::offline(&file);

    let port = free_port();
    let mut capd = serve(&file, port, &sock);
    let api: Value = serde_json::from_str(&wait_for(port, "/api/v1/stats", 200)).unwrap();
    assert_eq!(hosts(&api), hosts(&want));
    assert_eq!(api["totals"], want["totals"]);
    assert_eq!(
        api["protocols"].as_array().unwrap().len(),
        want["protocols"].as_array().unwrap().len()
    );

    // /metrics: every host's byte counters equal the dump's
    let metrics = wait_for(port, "/metrics", 200);
    for (ip, bin, bout, _, _) in hosts(&want) {
        for (dir, v) in [("in", bin), ("out", bout)] {
            let line = metrics
                .lines()
                .find(|l| {
                    l.starts_with("darkstat_host_bytes_total{")
                        && l.contains(&format!("ip=\"{ip}\""))
                        && l.contains(&format!("dir=\"{dir}\""))
                })
                .unwrap_or_else(|| panic!("no {dir} bytes metric for {ip}"));
            assert!(line.ends_with(&format!(" {v}")), "{line} != {v}");
        }
    }
    // the hosts page shows every host, with its total in bytes
    let page = wait_for(port, "/hosts/?full=yes", 200);
    for (ip, ..) in hosts(&want) {
        assert!(page.contains(&ip), "{ip} missing from /hosts/");
    }

    // kill webd: a new one shows the same totals
    let old = webd_pid(&sock).expect("webd runs");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(old),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let t0 = Instant::now();
    while get(port, "/").is_some() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "killed webd still answers"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut webd = Command::new(Path::new(BIN).with_file_name("darkstat-webd"))
        .args([
            "--socket",
            sock.to_str().unwrap(),
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--no-dns",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let again: Value = serde_json::from_str(&wait_for(port, "/api/v1/stats", 200)).unwrap();
    assert_eq!(again["totals"], want["totals"]);
    assert_eq!(hosts(&again), hosts(&want));

    // kill capd (SIGKILL: webd stays): the API answers 503, pages say so
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(capd.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let _ = capd.wait();
    let body = wait_for(port, "/api/v1/stats", 503);
    assert!(!body.is_empty());
    let page = wait_for(port, "/", 200);
    assert!(page.contains("not reachable"), "no banner on /");
    // capd comes back (here as a standalone capd without its own webd):
    // the same webd recovers by itself
    let mut capd2 = Command::new(BIN)
        .args([
            "-r",
            file.to_str().unwrap(),
            "--no-web",
            "--hosts-max",
            "100000",
            "--ports-max",
            "65536",
        ])
        .args(["--socket", sock.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let back: Value = serde_json::from_str(&wait_for(port, "/api/v1/stats", 200)).unwrap();
    assert_eq!(back["totals"], want["totals"]);
    stop(&mut capd2);
    stop(&mut webd);
}

#[test]
fn garbage_from_a_reader_does_not_disturb_capd() {
    use std::os::unix::net::UnixStream;
    let dir = std::env::temp_dir().join(format!("capd-e2e-garbage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("capd.sock");
    let file = support::corpus::pcap("mapi.pcap");
    let mut capd = Command::new(BIN)
        .args([
            "-r",
            file.to_str().unwrap(),
            "--no-web",
            "--socket",
            sock.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while UnixStream::connect(&sock).is_err() {
        assert!(t0.elapsed() < Duration::from_secs(20), "no socket");
        std::thread::sleep(Duration::from_millis(50));
    }
    // 1 MB of pseudo-random bytes at capd, as far as it lets us write
    let mut evil = UnixStream::connect(&sock).unwrap();
    evil.set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let junk: Vec<u8> = (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let mut sent = 0;
    while sent < junk.len() {
        match evil.write(&junk[sent..]) {
            Ok(n) => sent += n,
            Err(_) => break, // capd reads nothing: the buffer fills up
        }
    }
    // capd is alive and a well-behaved reader still gets the statistics
    assert!(capd.try_wait().unwrap().is_none(), "capd died");
    let mut good = UnixStream::connect(&sock).unwrap();
    good.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut dec = common::ipc::FrameDecoder::new();
    let mut builder = common::ipc::UpdateBuilder::new();
    let mut buf = vec![0u8; 65536];
    let t0 = Instant::now();
    let update = 'outer: loop {
        assert!(t0.elapsed() < Duration::from_secs(10), "no update");
        let n = good.read(&mut buf).unwrap();
        assert!(n > 0, "capd closed the reader");
        dec.feed(&buf[..n]).unwrap();
        while let Some(m) = dec.next_message().unwrap() {
            if let Some(u) = builder.push(m).unwrap() {
                break 'outer u;
            }
        }
    };
    assert!(update.reset);
    assert!(!update.hosts.is_empty());
    stop(&mut capd);
}
