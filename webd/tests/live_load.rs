//! Issue 3, "Load": the real darkstat-capd capturing LIVE on a veth pair
//! with the darkstat-webd it starts, while webd gets `wrk -c 256`, 1000
//! idle connections and 100 connections that dribble a request head one
//! byte at a time. Meanwhile a bounded UDP sender in the peer namespace
//! sends a known number of datagrams. Checks:
//!
//! * every probe request (`/hosts/`, `/`, `/api/v1/stats` on a fresh
//!   connection) is answered 200 within 2 s;
//! * capd keeps counting during the load: while the sender runs, any two
//!   samples of `totals.packets` at least 2.5 s apart differ (no stall);
//! * afterwards `totals.packets` equals exactly the datagrams sent (the
//!   capture filter admits only them), capd and webd still run;
//! * killed capd, its webd (another user by then) exits by itself.
//!
//! Root only (network namespaces; skipped with a message otherwise), needs
//! `wrk` (tests/run.sh installs it) and darkstat-capd built next to
//! darkstat-webd (`cargo test --workspace`, or `cargo build -p
//! darkstat-capd` first). All traffic stays in the two namespaces it makes.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WEBD: &str = env!("CARGO_BIN_EXE_darkstat-webd");
/// webd's port inside the test's own namespace (no clash with anything).
const PORT: u16 = 8667;
/// Datagrams the sender sends: 10 every 10 ms, about 8 s.
const DATAGRAMS: u64 = 8000;
const UDP_PORT: u16 = 9999;

fn skip(why: &str) {
    eprintln!("live_load: skipped: {why}");
}

fn capd_bin() -> PathBuf {
    Path::new(WEBD).with_file_name("darkstat-capd")
}

fn have_wrk() -> bool {
    Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn ip(args: &[&str]) {
    let st = Command::new("ip")
        .args(args)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "ip {args:?} failed");
}

/// Two namespaces joined by a veth pair, removed on drop: `a` (capd, webd
/// and every HTTP client, 10.78.0.1) and `b` (the UDP sender, 10.78.0.2).
struct Pair {
    a: String,
    b: String,
}

impl Pair {
    fn new() -> Pair {
        let id = std::process::id() % 100_000;
        let p = Pair {
            a: format!("dsla{id}"),
            b: format!("dslb{id}"),
        };
        ip(&["netns", "add", &p.a]);
        ip(&["netns", "add", &p.b]);
        ip(&[
            "-n", &p.a, "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", &p.b,
        ]);
        ip(&["-n", &p.a, "addr", "add", "10.78.0.1/24", "dev", "va"]);
        ip(&["-n", &p.b, "addr", "add", "10.78.0.2/24", "dev", "vb"]);
        for (ns, dev) in [(&p.a, "va"), (&p.b, "vb")] {
            ip(&["-n", ns, "link", "set", "lo", "up"]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
        }
        p
    }

    /// Runs `f` on a thread that has entered namespace `a`; threads it
    /// starts are in `a` too.
    fn within_a<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        support::netns::within(&self.a, f)
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// Kills and reaps a child on drop (also when an assertion fails).
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One GET on a fresh connection: status, body and the time it took.
fn get(path: &str) -> std::io::Result<(u16, String, Duration)> {
    let t = Instant::now();
    let mut s = TcpStream::connect(("127.0.0.1", PORT))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    // HTTP/1.0: no chunking, the body ends at EOF
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let took = t.elapsed();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, body.to_string(), took))
}

fn packets(body: &str) -> u64 {
    let v: serde_json::Value = serde_json::from_str(body).expect("stats JSON");
    v["totals"]["packets"].as_u64().expect("totals.packets")
}

fn log_of(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn webd_answers_and_capd_counts_under_load() {
    // root for the namespaces; the users both daemons drop to must exist
    // whichever test binary runs first
    if !testkit::users::root_or_skip("the load tests", &["darkstat-rs", "darkstat-rs-web"]) {
        return;
    }
    if !capd_bin().exists() {
        return skip(
            "darkstat-capd is not built next to darkstat-webd (cargo test --workspace, \
             or cargo build -p darkstat-capd first)",
        );
    }
    if !have_wrk() {
        return skip("wrk is not installed (tests/run.sh installs it)");
    }
    // The test itself holds 1100 connections; wrk and webd raise their own.
    let (_, hard) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .expect("getrlimit");
    nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE, hard, hard)
        .expect("setrlimit");

    let pair = Pair::new();
    let tmp = std::env::temp_dir();
    let tag = std::process::id();
    let capd_log = tmp.join(format!("webd-live-load-{tag}.capd.log"));
    let wrk_log = tmp.join(format!("webd-live-load-{tag}.wrk.log"));
    let socket = tmp.join(format!("webd-live-load-{tag}.sock"));
    let filter = format!("udp and dst port {UDP_PORT}");
    let port = PORT.to_string();
    let mut capd = Reaped(
        Command::new("ip")
            .args(["netns", "exec", &pair.a])
            .arg(capd_bin())
            .args(["-i", "va", "-f", &filter, "--no-state", "--socket"])
            .arg(&socket)
            .args(["-b", "127.0.0.1", "-p", &port, "--no-dns"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&capd_log).unwrap())
            .spawn()
            .unwrap(),
    );

    let outcome = pair.within_a(|| {
        // capd opens the capture before it starts webd: once the API
        // answers, capd is capturing.
        let t0 = Instant::now();
        loop {
            if let Ok((200, body, _)) = get("/api/v1/stats") {
                assert_eq!(packets(&body), 0, "nothing sent yet");
                break;
            }
            if let Ok(Some(st)) = capd.0.try_wait() {
                panic!("capd exited ({st}): {}", log_of(&capd_log));
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "webd never answered: {}",
                log_of(&capd_log)
            );
            std::thread::sleep(Duration::from_millis(100));
        }

        let idle: Vec<TcpStream> = (0..1000)
            .map(|_| TcpStream::connect(("127.0.0.1", PORT)).unwrap())
            .collect();
        let mut slow: Vec<TcpStream> = (0..100)
            .map(|_| {
                let mut s = TcpStream::connect(("127.0.0.1", PORT)).unwrap();
                s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                    .unwrap();
                s
            })
            .collect();
        let wrk = Reaped(
            Command::new("wrk")
                .args(["-t", "2", "-c", "256", "-d", "6s"])
                .arg(format!("http://127.0.0.1:{PORT}/hosts/"))
                .stdin(Stdio::null())
                .stdout(std::fs::File::create(&wrk_log).unwrap())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let code = format!(
            "import socket,time\n\
             s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n\
             for i in range({}):\n    \
                 for _ in range(10): s.sendto(b'x'*100,('10.78.0.1',{UDP_PORT}))\n    \
                 time.sleep(0.01)\n",
            DATAGRAMS / 10
        );
        let mut sender = Reaped(
            Command::new("ip")
                .args(["netns", "exec", &pair.b, "python3", "-c", &code])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );

        // Probe until the sender and wrk are done (bounded).
        let start = Instant::now();
        let mut samples: Vec<(Duration, u64, bool)> = Vec::new();
        let mut worst = (Duration::ZERO, String::new());
        let mut probes = 0;
        let mut wrk = Some(wrk);
        let mut sender_rc = None;
        while start.elapsed() < Duration::from_secs(40) {
            let sending = sender_rc.is_none();
            for s in &mut slow {
                let _ = s.write_all(b"a");
            }
            for path in ["/hosts/", "/", "/api/v1/stats"] {
                let (status, body, took) =
                    get(path).unwrap_or_else(|e| panic!("{path} at {:?}: {e}", start.elapsed()));
                assert_eq!(status, 200, "{path} at {:?}", start.elapsed());
                assert!(
                    took < Duration::from_secs(2),
                    "{path} took {took:?} at {:?}",
                    start.elapsed()
                );
                if took > worst.0 {
                    worst = (took, path.to_string());
                }
                probes += 1;
                if path == "/api/v1/stats" {
                    // `sending` was read before the request: the sender
                    // was running at least until the request was sent.
                    samples.push((start.elapsed(), packets(&body), sending));
                }
            }
            if sender_rc.is_none() {
                sender_rc = sender.0.try_wait().unwrap();
            }
            if let Some(w) = &mut wrk {
                if w.0.try_wait().unwrap().is_some() {
                    wrk = None;
                }
            }
            if sender_rc.is_some() && wrk.is_none() {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let sender_rc = sender_rc.expect("the UDP sender did not finish within 40 s");
        assert!(sender_rc.success(), "UDP sender: {sender_rc}");
        assert!(wrk.is_none(), "wrk did not finish within 40 s");

        // Everything sent is counted, shortly after.
        let t1 = Instant::now();
        let mut last = 0;
        while t1.elapsed() < Duration::from_secs(10) {
            let (status, body, _) = get("/api/v1/stats").unwrap();
            assert_eq!(status, 200);
            last = packets(&body);
            if last >= DATAGRAMS {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        drop(idle);
        drop(slow);
        (samples, worst, probes, last)
    });
    let (samples, worst, probes, last) = outcome;

    let wrk_out = log_of(&wrk_log);
    eprintln!("live_load: wrk:\n{wrk_out}");
    eprintln!(
        "live_load: {probes} probes, slowest {:?} ({})",
        worst.0, worst.1
    );
    eprintln!("live_load: totals.packets samples (s, packets, sender running): {samples:?}");
    let requests: u64 = wrk_out
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no request count in wrk's output:\n{wrk_out}"));
    assert!(requests > 1000, "wrk got only {requests} answers");
    assert!(
        !wrk_out.contains("Non-2xx"),
        "wrk got error statuses:\n{wrk_out}"
    );

    // Counting never went backwards and never stalled while the sender ran.
    for w in samples.windows(2) {
        assert!(w[0].1 <= w[1].1, "totals.packets went backwards: {w:?}");
    }
    let while_sending: Vec<_> = samples.iter().filter(|s| s.2).collect();
    assert!(
        while_sending.len() >= 10,
        "too few samples while sending: {samples:?}"
    );
    let mut rising = 0;
    for (i, a) in while_sending.iter().enumerate() {
        for b in &while_sending[i + 1..] {
            if b.0 - a.0 >= Duration::from_millis(2500) {
                assert!(
                    b.1 > a.1,
                    "capd stalled: {} packets at {:?} and still at {:?}",
                    a.1,
                    a.0,
                    b.0
                );
                rising += 1;
            }
        }
    }
    assert!(rising > 0, "the sender ran less than 2.5 s: {samples:?}");
    assert_eq!(
        last,
        DATAGRAMS,
        "capd counted {last} of {DATAGRAMS} datagrams: {}",
        log_of(&capd_log)
    );
    assert!(
        capd.0.try_wait().unwrap().is_none(),
        "capd exited: {}",
        log_of(&capd_log)
    );
    // capd started webd as root and webd became the web user, so capd
    // cannot signal it; with --exit-with-parent webd still ends by itself
    // when capd is killed.
    let capd_pid = capd.0.id();
    let webd_pid: u32 =
        std::fs::read_to_string(format!("/proc/{capd_pid}/task/{capd_pid}/children"))
            .unwrap()
            .split_whitespace()
            .next()
            .expect("capd has a webd child")
            .parse()
            .unwrap();
    drop(capd);
    let exited = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .map(|st| {
                st.lines()
                    .any(|l| l.starts_with("State:") && l.contains('Z'))
            })
            .unwrap_or(true)
    };
    let t = Instant::now();
    while !exited(webd_pid) && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(100));
    }
    if !exited(webd_pid) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(webd_pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        panic!("webd (pid {webd_pid}) still runs 5 s after capd was killed");
    }
    for f in [&capd_log, &wrk_log, &socket] {
        let _ = std::fs::remove_file(f);
    }
}
