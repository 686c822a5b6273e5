//! Running as a daemon, on the real binary capturing `lo` in a network
//! namespace made by the test (root only; CI runs as root):
//! * `--detach`: the command returns at once; a background process in a
//!   session of its own, with its standard streams on /dev/null and `/` as
//!   its directory, writes the pidfile, captures, saves on SIGTERM and
//!   removes the pidfile;
//! * `--syslog`: capd's messages, from before and after the privilege drop,
//!   reach the syslog socket with facility daemon, and none go to stderr.

mod support;

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;
use support::document::host;
use support::netns::Netns as Ns;
use support::sandboxed::{term, wait_sandboxed, wait_sandboxed_pid};
use support::user::{owned_dir, root_or_skip};

const BIN: &str = env!("CARGO_BIN_EXE_darkstat-capd");

fn root() -> bool {
    root_or_skip("the daemon tests (they capture live)")
}

/// Polls `done` every 50 ms for up to 20 s.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !done() {
        assert!(t0.elapsed() < Duration::from_secs(20), "timed out: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `n` UDP datagrams from 127.0.0.2 to 127.0.0.1:9999 (where a socket
/// listens, so no ICMP answers) inside the namespace.
fn udp(ns: &Ns, n: usize) {
    let code = format!(
        "import socket\nr=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nr.bind(('127.0.0.1',9999))\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('127.0.0.2',0))\nfor i in range({n}): s.sendto(b'x'*72,('127.0.0.1',9999))\n"
    );
    assert!(ns
        .exec(&["python3", "-c", &code])
        .status()
        .unwrap()
        .success());
}

/// Datagrams to 127.0.0.1:9999 in a `--dump-json` document.
fn udp_in(doc: &Value) -> u64 {
    host(doc, "127.0.0.1")["udp_local"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["port"] == 9999)
        .map_or(0, |p| p["packets_in"].as_u64().unwrap())
}

fn link(path: &str) -> String {
    std::fs::read_link(path).map_or_else(|e| format!("({e})"), |p| p.display().to_string())
}

/// Gone, or a zombie nobody reaps (in a container, pid 1 may not).
fn ended(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // "pid (comm) S ...": the state follows the last ')'
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

fn dir(tag: &str) -> PathBuf {
    owned_dir(std::env::temp_dir().join(format!("capd-daemon-{}-{tag}", std::process::id())))
}

fn arg(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn detach_runs_in_the_background_and_cleans_up() {
    if !root() {
        return;
    }
    let ns = Ns::new("dsd", "d");
    let d = dir("detach");
    let (pidfile, dump, sock) = (d.join("capd.pid"), d.join("dump.json"), d.join("capd.sock"));
    let launcher_err = d.join("launcher.err");
    let mut launcher = ns
        .exec(&[
            BIN,
            "-i",
            "lo",
            "--no-web",
            "--detach",
            "--pidfile",
            arg(&pidfile),
            "-d",
            arg(&d),
            "--socket",
            arg(&sock),
            "--dump-json",
            arg(&dump),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&launcher_err).unwrap())
        .spawn()
        .unwrap();
    let launcher_pid = launcher.id();
    let mut status = None;
    wait_until("the launching process to return", || {
        status = launcher.try_wait().unwrap();
        status.is_some()
    });
    let err = std::fs::read_to_string(&launcher_err).unwrap();
    assert!(status.unwrap().success(), "capd --detach failed: {err}");

    let mut pid = 0u32;
    wait_until("the pidfile", || {
        pid = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0);
        pid != 0
    });
    assert_ne!(pid, launcher_pid, "the daemon is a new process");
    assert!(!ended(pid), "the daemon runs after its launcher returned");
    wait_sandboxed_pid(pid, "detached capd");
    let sid = nix::unistd::getsid(Some(Pid::from_raw(pid as i32))).unwrap();
    assert_eq!(sid.as_raw(), pid as i32, "a session of its own");
    for fd in 0..3 {
        assert_eq!(
            link(&format!("/proc/{pid}/fd/{fd}")),
            "/dev/null",
            "fd {fd}"
        );
    }
    assert_eq!(link(&format!("/proc/{pid}/cwd")), "/");

    udp(&ns, 40);
    std::thread::sleep(Duration::from_millis(300));
    kill(Pid::from_raw(pid as i32), Signal::SIGTERM).unwrap();
    wait_until("the daemon to end on SIGTERM", || ended(pid));
    let doc: Value = serde_json::from_slice(&std::fs::read(&dump).unwrap()).unwrap();
    assert_eq!(udp_in(&doc), 40, "the daemon counted the traffic");
    assert!(!pidfile.exists(), "the pidfile is removed on a clean exit");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn syslog_gets_the_messages_from_before_and_after_the_privilege_drop() {
    if !root() {
        return;
    }
    let ns = Ns::new("dsd", "s");
    let d = dir("syslog");
    // the syslog socket: ours, made visible at every path capd tries
    // (/dev/log, /var/run/syslog) inside the namespace only: `ip netns
    // exec` gives its command a mount namespace of its own
    let log_path = std::env::temp_dir().join(format!("capd-syslog-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&log_path);
    let log = UnixDatagram::bind(&log_path).unwrap();
    log.set_nonblocking(true).unwrap();
    let lp = arg(&log_path);
    let script = format!(
        "mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal && \
         ln -s {lp} /run/systemd/journal/dev-log && ln -s {lp} /run/syslog && \
         if [ -S /dev/log ] && [ ! -L /dev/log ]; then mount --bind {lp} /dev/log; fi && \
         exec \"$@\""
    );
    let err_path = d.join("capd.err");
    let capd = ns
        .exec(&["sh", "-c", &script, "sh"])
        .args([
            BIN,
            "-i",
            "lo",
            "--no-web",
            "--syslog",
            "-v",
            "-d",
            arg(&d),
            "--socket",
            arg(&d.join("capd.sock")),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    wait_sandboxed(&capd, "capd");
    udp(&ns, 10);
    std::thread::sleep(Duration::from_millis(300));
    term(&capd);
    let mut capd = capd;
    assert!(capd.wait().unwrap().success());

    let mut messages = Vec::new();
    let mut buf = vec![0u8; 65536];
    while let Ok(n) = log.recv(&mut buf) {
        messages.push(String::from_utf8_lossy(&buf[..n]).to_string());
    }
    let _ = std::fs::remove_file(&log_path);
    let all = messages.join("\n");
    let tag = format!("darkstat-capd[{}]", capd.id());
    assert!(!messages.is_empty(), "nothing reached syslog");
    for m in &messages {
        // <facility * 8 + severity>: daemon is 3, so 24..=31
        let pri: u32 = m
            .strip_prefix('<')
            .and_then(|r| r.split_once('>'))
            .and_then(|(p, _)| p.parse().ok())
            .unwrap_or_else(|| panic!("no priority in {m:?}"));
        assert_eq!(pri / 8, 3, "facility daemon: {m:?}");
        assert!(m.contains(&tag), "{m:?} names {tag}");
    }
    // logged at shutdown, long after the sandbox was entered
    assert!(all.contains("state saved (shutdown)"), "{all}");
    let err = std::fs::read_to_string(&err_path).unwrap();
    assert!(err.is_empty(), "nothing on stderr with --syslog: {err}");
    let _ = std::fs::remove_dir_all(&d);
}
