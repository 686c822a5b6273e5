//! The privilege boundary of webd, checked from outside on the real binary
//! (root only; CI runs as root), each test in a network namespace of its
//! own: what /proc says about every thread after webd has served pages,
//! resolved names and followed a capd restart; socket activation on port
//! 667 without privileges; the real systemd unit under a throwaway
//! systemd; and — with the `test-hooks` feature — that a forbidden system
//! call or a new process kills webd and that files cannot be opened.

mod support;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::ipc::{encode_frame, Hello, HostRecord, Message, Tick, PROTOCOL_VERSION};
use common::model::Totals;
use nix::unistd::User;

const BIN: &str = env!("CARGO_BIN_EXE_darkstat-webd");
const WEB_USER: &str = "darkstat-rs-web";
/// The group of capd's socket that the systemd unit adds.
const CAPD_USER: &str = "darkstat-rs";
/// fake_dns.py answers this address with a good name (the rest with
/// hostile ones).
const GOOD_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 200);
const GOOD_NAME: &str = "good-host.example";

fn root() -> bool {
    testkit::users::root_or_skip("sandbox tests", &[WEB_USER])
}

fn have(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("webd-sandbox-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    // the web user reaches the fake capd's socket in here
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    d
}

/// A network namespace with only `lo`, and a resolv.conf of its own
/// (`ip netns exec` bind-mounts /etc/netns/NAME/resolv.conf).
struct Netns {
    name: String,
    etc: PathBuf,
}

impl Netns {
    fn new(tag: &str) -> Netns {
        let name = format!("dswsb{tag}{}", std::process::id() % 100_000);
        let ip = |args: &[&str]| {
            assert!(Command::new("ip").args(args).status().unwrap().success());
        };
        ip(&["netns", "add", &name]);
        ip(&["-n", &name, "link", "set", "lo", "up"]);
        let etc = PathBuf::from("/etc/netns").join(&name);
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(etc.join("resolv.conf"), "nameserver 127.0.0.1\n").unwrap();
        Netns { name, etc }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).args(args);
        c
    }

    /// Runs `f` on a thread that has entered this namespace.
    fn within<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        support::netns::within(&self.name, f)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
        let _ = std::fs::remove_dir_all(&self.etc);
        let _ = std::fs::remove_dir(self.etc.parent().unwrap());
    }
}

/// One HTTP/1.0 GET (no chunking, so the body is plain) from inside the
/// namespace: status and body.
fn get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n")?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// Polls `path` until `pred` holds for the answer.
fn get_until(port: u16, path: &str, what: &str, pred: impl Fn(u16, &str) -> bool) -> String {
    let t0 = Instant::now();
    loop {
        let last = match get(port, path) {
            Ok((code, body)) if pred(code, &body) => return body,
            Ok((code, body)) => format!("{code}: {}", body.chars().take(300).collect::<String>()),
            Err(e) => e.to_string(),
        };
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "{what}: {path} never did; last answer {last}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn host_count(body: &str) -> usize {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    v["hosts"].as_array().map_or(0, Vec::len)
}

/// A stand-in for capd on a Unix socket: each connection gets a full
/// snapshot of `generation + 4` hosts (one of them GOOD_IP), then
/// keepalives until `restart()` closes it.
struct FakeCapd {
    path: PathBuf,
    generation: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeCapd {
    fn start(dir: &Path) -> FakeCapd {
        let path = dir.join("capd.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let generation = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (g, st) = (Arc::clone(&generation), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                let mut conn = match listener.accept() {
                    Ok((c, _)) => c,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                };
                let _ = conn.set_nonblocking(false);
                let gen = g.load(Ordering::Relaxed);
                if conn.write_all(&snapshot(gen)).is_err() {
                    continue;
                }
                while !st.load(Ordering::Relaxed) && g.load(Ordering::Relaxed) == gen {
                    std::thread::sleep(Duration::from_millis(200));
                    let mut out = Vec::new();
                    encode_frame(&Message::Keepalive, &mut out).unwrap();
                    if conn.write_all(&out).is_err() {
                        break;
                    }
                }
            }
        });
        FakeCapd {
            path,
            generation,
            stop,
            thread: Some(thread),
        }
    }

    fn hosts(&self) -> usize {
        self.generation.load(Ordering::Relaxed) as usize + 4
    }

    /// capd "restarts": the connection closes and the next one carries a
    /// new session with one more host.
    fn restart(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
    }
}

impl Drop for FakeCapd {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

fn snapshot(gen: u64) -> Vec<u8> {
    let host = |ip: Ipv4Addr, bytes: u64| HostRecord {
        bytes_in: bytes,
        bytes_out: 1,
        packets_in: 1,
        packets_out: 1,
        last_seen: Some(1_700_000_000),
        ..HostRecord::new(IpAddr::V4(ip))
    };
    let mut hosts = vec![host(GOOD_IP, 1_000_000)];
    for i in 0..gen + 3 {
        hosts.push(host(Ipv4Addr::new(10, 0, 1, i as u8 + 1), 1000 + i));
    }
    let tick = Tick {
        seq: 1,
        since: 1_700_000_000,
        now: 1_700_000_001,
        totals: Totals {
            packets: 10,
            bytes: 1000,
            ..Totals::default()
        },
        host_count: hosts.len() as u64,
        ..Tick::default()
    };
    let mut out = Vec::new();
    for m in [
        Message::Hello(Hello {
            protocol_version: PROTOCOL_VERSION,
            pid: 1,
            session: gen + 1,
        }),
        Message::Reset,
        Message::Hosts(hosts),
        Message::Tick(Box::new(tick)),
    ] {
        encode_frame(&m, &mut out).unwrap();
    }
    out
}

/// tests/fake_dns.py on 127.0.0.1:53 inside the namespace, if python3 is
/// there (CI installs it).
struct FakeDns(Child);

impl FakeDns {
    fn start(ns: &Netns, dir: &Path) -> Option<FakeDns> {
        if !have("python3", "--version") {
            eprintln!("note: python3 missing, reverse DNS not exercised");
            return None;
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fake_dns.py");
        let log = dir.join("dns.log");
        let child = ns
            .cmd(&[
                "python3",
                script.to_str().unwrap(),
                "--bind",
                "127.0.0.1",
                "--port",
                "53",
            ])
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let dns = FakeDns(child);
        wait_for(&log, "READY", Duration::from_secs(10), || true);
        Some(dns)
    }
}

impl Drop for FakeDns {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until `file` contains `needle` while `alive()`; returns the text.
fn wait_for(file: &Path, needle: &str, timeout: Duration, alive: impl Fn() -> bool) -> String {
    let t0 = Instant::now();
    loop {
        let text = String::from_utf8_lossy(&std::fs::read(file).unwrap_or_default()).into_owned();
        if text.contains(needle) {
            return text;
        }
        assert!(
            alive() && t0.elapsed() < timeout,
            "{needle:?} never appeared in {}:\n{text}",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A darkstat-webd (or a wrapper that execs it, so the pid stays) with its
/// standard error in a file.
struct Webd {
    child: Option<Child>,
    log: PathBuf,
}

impl Webd {
    fn spawn(mut cmd: Command, log: PathBuf) -> Webd {
        let child = cmd
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Webd {
            child: Some(child),
            log,
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    fn wait_log(&mut self, needle: &str) -> String {
        let child = self.child.as_mut().unwrap();
        let alive = std::cell::RefCell::new(child);
        wait_for(&self.log, needle, Duration::from_secs(20), || {
            matches!(alive.borrow_mut().try_wait(), Ok(None))
        })
    }

    /// SIGTERM, then the exit status (SIGKILL after 10 s).
    fn stop(mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        wait_timeout(&mut child, Duration::from_secs(10))
    }

    /// The exit status of a webd that ends by itself (killed after 30 s).
    #[cfg(feature = "test-hooks")]
    fn finish(mut self) -> (ExitStatus, String, String) {
        let mut child = self.child.take().unwrap();
        let st = wait_timeout(&mut child, Duration::from_secs(30));
        let mut out = String::new();
        let _ = child.stdout.take().unwrap().read_to_string(&mut out);
        let err = std::fs::read_to_string(&self.log).unwrap_or_default();
        (st, out, err)
    }
}

impl Drop for Webd {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn wait_timeout(child: &mut Child, d: Duration) -> ExitStatus {
    let t0 = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if t0.elapsed() > d {
            let _ = child.kill();
            panic!("process {} did not end in {d:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn status_field<'a>(status: &'a str, key: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key).map(str::trim))
        .unwrap_or_else(|| panic!("{key} missing"))
}

/// What every thread of a sandboxed webd must show.
struct Expect {
    uid: u32,
    gid: u32,
    /// Supplementary groups it may keep (a unit's SupplementaryGroups=).
    groups: Vec<u32>,
}

/// Checks /proc/PID/task/*/status for every thread and returns the
/// threads' names.
fn check_every_thread(pid: u32, want: &Expect) -> Vec<String> {
    let mut names = Vec::new();
    for e in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let t = e.unwrap().path();
        let Ok(s) = std::fs::read_to_string(t.join("status")) else {
            continue; // a thread that ended meanwhile
        };
        let name = status_field(&s, "Name:").to_string();
        let ctx = format!("thread {name} ({})", t.display());
        for u in status_field(&s, "Uid:").split_whitespace() {
            assert_eq!(u, want.uid.to_string(), "Uid of {ctx}");
        }
        for g in status_field(&s, "Gid:").split_whitespace() {
            assert_eq!(g, want.gid.to_string(), "Gid of {ctx}");
        }
        for g in status_field(&s, "Groups:").split_whitespace() {
            let g: u32 = g.parse().unwrap();
            assert!(
                g == want.gid || want.groups.contains(&g),
                "Groups of {ctx}: {g}"
            );
        }
        for cap in ["CapEff:", "CapPrm:", "CapInh:", "CapAmb:", "CapBnd:"] {
            assert_eq!(status_field(&s, cap), "0000000000000000", "{cap} of {ctx}");
        }
        assert_eq!(status_field(&s, "NoNewPrivs:"), "1", "NoNewPrivs of {ctx}");
        assert_eq!(status_field(&s, "Seccomp:"), "2", "Seccomp of {ctx}");
        names.push(name);
    }
    names
}

/// Threads that exist once webd serves: the workers, the acceptor, the
/// feed. All of them started after the drop.
fn assert_serving_threads(names: &[String]) {
    for want in ["actix-rt|system", "actix-server ac", "feed"] {
        assert!(
            names.iter().any(|n| n == want),
            "no {want:?} thread among {names:?}"
        );
    }
}

fn web_user() -> Expect {
    let u = User::from_name(WEB_USER).unwrap().unwrap();
    Expect {
        uid: u.uid.as_raw(),
        gid: u.gid.as_raw(),
        groups: vec![],
    }
}

#[test]
fn started_as_root_every_thread_is_sandboxed_while_serving() {
    if !root() {
        return;
    }
    let ns = Netns::new("r");
    let dir = scratch("root");
    let dns = FakeDns::start(&ns, &dir);
    let capd = FakeCapd::start(&dir);
    // port 667: bound as root, before the drop
    let args = [
        BIN,
        "-p",
        "667",
        "-b",
        "127.0.0.1",
        "--socket",
        capd.path.to_str().unwrap(),
    ];
    let cmd = if have("setpriv", "--version") {
        // root with supplementary groups, which the drop must shed
        let mut c = Command::new("setpriv");
        c.args(["--groups", "4,27", "ip", "netns", "exec", &ns.name])
            .args(args);
        c
    } else {
        ns.cmd(&args)
    };
    let mut webd = Webd::spawn(cmd, dir.join("webd.log"));
    let want = web_user();
    let log = webd.wait_log("seccomp on");
    assert!(
        log.contains(&format!(
            "privileges dropped to uid {} gid {}",
            want.uid, want.gid
        )),
        "{log}"
    );
    assert!(log.contains("Landlock ABI"), "{log}");

    ns.within(|| {
        // the feed works in the sandbox
        get_until(667, "/api/v1/stats", "the first snapshot", |c, b| {
            c == 200 && host_count(b) == capd.hosts()
        });
        // so do reverse lookups (new UDP sockets after the drop)
        if dns.is_some() {
            get_until(667, "/hosts/?full=yes", "a resolved name", |c, b| {
                c == 200 && b.contains(GOOD_NAME)
            });
        }
        // a busy moment: parallel clients on every page kind
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for path in ["/", "/hosts/", "/ports/", "/graphs/", "/metrics"].repeat(10) {
                        let (code, _) = get(667, path).unwrap();
                        assert_eq!(code, 200, "{path}");
                    }
                });
            }
        });
        // capd goes away and comes back: webd reconnects by itself
        capd.restart();
        get_until(
            667,
            "/api/v1/stats",
            "the snapshot after a capd restart",
            |c, b| c == 200 && host_count(b) == capd.hosts(),
        );
    });

    let names = check_every_thread(webd.pid(), &want);
    assert_serving_threads(&names);
    let st = webd.stop();
    assert!(st.success(), "SIGTERM must end webd cleanly: {st:?}");
}

#[test]
fn an_unknown_user_says_how_to_create_it_and_nobody_is_refused() {
    if !root() {
        return;
    }
    let ns = Netns::new("n");
    let out = ns
        .cmd(&[BIN, "-p", "667", "--user", "darkstat-rs-no-such-user"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("does not exist") && err.contains("useradd --system"),
        "{err}"
    );
    let out = ns.cmd(&[BIN, "--user", "nobody"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("dedicated"), "{err}");
}

/// Socket activation as systemd does it, with the program started
/// unprivileged (what the unit's User= does): systemd-socket-activate
/// binds port 667 as root, setpriv becomes the web user with no
/// capability at all, and both exec, so LISTEN_PID stays right.
#[test]
fn socket_activated_on_port_667_without_privileges() {
    if !root() {
        return;
    }
    if !have("systemd-socket-activate", "--version") || !have("setpriv", "--version") {
        eprintln!("skipped: systemd-socket-activate (systemd) or setpriv (util-linux) missing");
        return;
    }
    let ns = Netns::new("a");
    let dir = scratch("activate");
    let capd = FakeCapd::start(&dir);
    let mut webd = Webd::spawn(
        ns.cmd(&[
            "systemd-socket-activate",
            "-l",
            "127.0.0.1:667",
            "setpriv",
            "--reuid",
            WEB_USER,
            "--regid",
            WEB_USER,
            "--clear-groups",
            "--inh-caps=-all",
            "--ambient-caps=-all",
            "--bounding-set=-all",
            BIN,
            "-n",
            "--socket",
            capd.path.to_str().unwrap(),
        ]),
        dir.join("webd.log"),
    );
    webd.wait_log("Listening on 127.0.0.1:667");
    ns.within(|| {
        // the first connection starts webd, which serves it
        let (code, _) = get(667, "/").unwrap();
        assert!(code == 200 || code == 503, "{code}");
        get_until(667, "/api/v1/stats", "the first snapshot", |c, b| {
            c == 200 && host_count(b) == capd.hosts()
        });
    });
    let log = webd.wait_log("seccomp on");
    assert!(
        log.contains("serving http://127.0.0.1:667/ (socket from systemd)"),
        "{log}"
    );
    assert!(log.contains("not started as root"), "{log}");
    let names = check_every_thread(webd.pid(), &web_user());
    assert_serving_threads(&names);
    assert!(webd.stop().success());
}

fn systemd_binary() -> Option<&'static str> {
    ["/lib/systemd/systemd", "/usr/lib/systemd/systemd"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

/// A throwaway systemd as PID 1 of new pid, mount, UTS and IPC namespaces
/// (security.md §3.4), with a private /tmp and /run so that nothing of the
/// host's is touched. Killing it ends everything inside.
struct NsSystemd {
    unshare: Child,
    pid: u32,
}

impl NsSystemd {
    /// `mnt_setup` runs first in the new mount namespace, while the host's
    /// /tmp and /run are still visible.
    fn boot(mnt_setup: &str, log: &Path) -> NsSystemd {
        let script = format!(
            "set -e
             mount --make-rprivate /
             mkdir -p /mnt
             mount -t tmpfs -o mode=755 tmpfs /mnt
             {mnt_setup}
             mount -t tmpfs -o mode=1777 tmpfs /tmp
             mount -t tmpfs -o mode=755 tmpfs /run
             hostname dswebdsd
             exec env container=unshare {} --system --unit=multi-user.target",
            systemd_binary().unwrap()
        );
        let unshare = Command::new("unshare")
            .args([
                "--pid",
                "--fork",
                "--mount",
                "--uts",
                "--ipc",
                "--mount-proc",
                "bash",
                "-c",
                &script,
            ])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(log).unwrap())
            .stderr(std::fs::File::create(log.with_extension("err")).unwrap())
            .spawn()
            .unwrap();
        let parent = unshare.id();
        let t0 = Instant::now();
        let pid = loop {
            if let Some(p) = child_of(parent) {
                break p;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "unshare did not fork"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let sd = NsSystemd { unshare, pid };
        let t0 = Instant::now();
        loop {
            let out = sd
                .run(&["systemctl", "is-system-running"])
                .output()
                .unwrap();
            let state = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if state == "running" || state == "degraded" {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "the namespaced systemd did not boot: {state}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        sd
    }

    fn run(&self, args: &[&str]) -> Command {
        let mut c = Command::new("nsenter");
        c.args(["-t", &self.pid.to_string(), "-m", "-u", "-i", "-p"])
            .args(args);
        c
    }

    fn write(&self, path: &str, text: &str) {
        let mut c = self
            .run(&[
                "sh",
                "-c",
                &format!("mkdir -p \"$(dirname {path})\" && cat > {path}"),
            ])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        assert!(c.wait().unwrap().success());
    }

    fn output(&self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.run(args).output().unwrap().stdout).into_owned()
    }

    /// The host pid of a process named `comm` inside this systemd's pid
    /// namespace.
    fn find(&self, comm: &str) -> Option<u32> {
        let ns = std::fs::read_link(format!("/proc/{}/ns/pid", self.pid)).ok()?;
        std::fs::read_dir("/proc").ok()?.find_map(|e| {
            let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
            let c = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            let n = std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok()?;
            (c.trim() == comm && n == ns).then_some(pid)
        })
    }
}

impl Drop for NsSystemd {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.pid as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        // no panic here: this may run while a failed test unwinds
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(20) {
            if !matches!(self.unshare.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.unshare.kill();
        let _ = self.unshare.wait();
    }
}

fn child_of(parent: u32) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.find_map(|e| {
        let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // the field after the parenthesised name: state, then ppid
        let ppid: u32 = stat
            .rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        (ppid == parent).then_some(pid)
    })
}

/// The real units, socket-activated by a real systemd: webd serves on port
/// 667 of a namespace, reads capd's socket, and every thread shows the
/// unit's and its own sandbox.
#[test]
fn the_systemd_units_run_webd_socket_activated_in_its_sandbox() {
    if !root() {
        return;
    }
    if systemd_binary().is_none() || !have("unshare", "--version") || !have("nsenter", "--version")
    {
        eprintln!("skipped: systemd, unshare or nsenter missing");
        return;
    }
    // the unit adds capd's group
    let capd_group = testkit::users::ensure_user(CAPD_USER).gid.as_raw();
    let ns = Netns::new("s");
    let dir = scratch("systemd");
    let capd = FakeCapd::start(&dir);
    let sd = NsSystemd::boot(
        &format!(
            "cp {BIN} /mnt/darkstat-webd
             touch /mnt/netns /mnt/capd.sock
             mount --bind /run/netns/{ns} /mnt/netns
             mount --bind {sock} /mnt/capd.sock",
            ns = ns.name,
            sock = capd.path.display()
        ),
        &dir.join("systemd.log"),
    );
    // capd's socket where the unit looks for it
    assert!(sd
        .run(&[
            "sh",
            "-c",
            "mkdir -p /run/darkstat-rs && touch /run/darkstat-rs/capd.sock && mount --bind /mnt/capd.sock /run/darkstat-rs/capd.sock",
        ])
        .status()
        .unwrap()
        .success());
    let units = Path::new(env!("CARGO_MANIFEST_DIR")).join("../systemd");
    for unit in ["darkstat-webd.service", "darkstat-webd.socket"] {
        let text = std::fs::read_to_string(units.join(unit))
            .unwrap()
            .replace("/usr/local/bin/darkstat-webd", "/mnt/darkstat-webd");
        sd.write(&format!("/run/systemd/system/{unit}"), &text);
        let section = if unit.ends_with(".socket") {
            "Socket"
        } else {
            "Service"
        };
        sd.write(
            &format!("/run/systemd/system/{unit}.d/netns.conf"),
            &format!("[{section}]\nNetworkNamespacePath=/mnt/netns\n"),
        );
    }
    assert!(sd
        .run(&["systemctl", "daemon-reload"])
        .status()
        .unwrap()
        .success());
    assert!(sd
        .run(&["systemctl", "start", "darkstat-webd.socket"])
        .status()
        .unwrap()
        .success());
    ns.within(|| {
        get_until(667, "/api/v1/stats", "the unit's first snapshot", |c, b| {
            c == 200 && host_count(b) == capd.hosts()
        });
    });
    let journal = sd.output(&["journalctl", "-u", "darkstat-webd.service", "--no-pager"]);
    assert!(journal.contains("(socket from systemd)"), "{journal}");
    assert!(
        journal.contains("Landlock ABI") && journal.contains("seccomp on"),
        "{journal}"
    );
    let pid = sd
        .find("darkstat-webd")
        .expect("webd is not running in the unit");
    let mut want = web_user();
    want.groups.push(capd_group);
    let names = check_every_thread(pid, &want);
    assert_serving_threads(&names);
}

/// Without the feature the hooks do not exist at all.
#[cfg(not(feature = "test-hooks"))]
#[test]
fn a_build_without_test_hooks_has_no_hook_option() {
    let out = Command::new(BIN)
        .args(["--test-hook", "forbidden-syscall"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unexpected argument"));
    let bin = std::fs::read(BIN).unwrap();
    assert!(!bin.windows(17).any(|w| w == b"forbidden-syscall"));
}

#[cfg(feature = "test-hooks")]
mod hooks {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    /// webd as root in a namespace, with `hook` run a second after start.
    fn hook(tag: &str, hook: &str) -> (ExitStatus, String, String) {
        let ns = Netns::new(tag);
        let dir = scratch(tag);
        let webd = Webd::spawn(
            ns.cmd(&[
                BIN,
                "-p",
                "667",
                "-b",
                "127.0.0.1",
                "-n",
                "--socket",
                dir.join("capd.sock").to_str().unwrap(),
                "--test-hook",
                hook,
            ]),
            dir.join("webd.log"),
        );
        webd.finish()
    }

    #[test]
    fn a_forbidden_system_call_kills_with_sigsys() {
        if !root() {
            return;
        }
        // socket(AF_INET, SOCK_STREAM): webd may only make UDP and UNIX sockets
        let (st, out, err) = hook("k", "forbidden-syscall");
        assert_eq!(st.signal(), Some(libc_sigsys()), "{st:?}\n{out}\n{err}");
        assert!(err.contains("seccomp on"), "{err}");
    }

    #[test]
    fn starting_a_process_kills_with_sigsys() {
        if !root() {
            return;
        }
        let (st, out, err) = hook("p", "spawn");
        assert_eq!(st.signal(), Some(libc_sigsys()), "{st:?}\n{out}\n{err}");
    }

    #[test]
    fn no_file_can_be_opened() {
        if !root() {
            return;
        }
        // world-readable: only Landlock refuses it
        let (st, out, err) = hook("o", "open=/etc/hostname");
        assert!(st.success(), "{st:?}\n{out}\n{err}");
        assert!(
            out.contains("open /etc/hostname: failed: Permission denied"),
            "{out}"
        );
        // owned by the web user itself: still refused
        let dir = scratch("own");
        let own = dir.join("own.txt");
        std::fs::write(&own, "x").unwrap();
        let u = User::from_name(WEB_USER).unwrap().unwrap();
        nix::unistd::chown(&own, Some(u.uid), Some(u.gid)).unwrap();
        let (st, out, err) = hook("w", &format!("open={}", own.display()));
        assert!(st.success(), "{st:?}\n{out}\n{err}");
        assert!(out.contains("failed: Permission denied"), "{out}");
    }

    fn libc_sigsys() -> i32 {
        nix::sys::signal::Signal::SIGSYS as i32
    }
}
