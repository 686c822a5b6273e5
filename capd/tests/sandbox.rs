//! The privilege boundary, checked from outside on the real binary (root
//! only; CI runs as root): what /proc says about every thread, chroot,
//! start-up with only CAP_NET_RAW, and — with the `test-hooks` feature —
//! that a forbidden system call kills, the socket filter cannot be
//! replaced and files outside the allowed directories cannot be opened.

mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use support::isolated;
use support::netns::Netns;
use support::sandboxed::wait_sandboxed;
use support::user::{root_or_skip, USER};

const BIN: &str = env!("CARGO_BIN_EXE_darkstat-capd");

fn root() -> bool {
    root_or_skip("the sandbox tests")
}

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("capd-sandbox-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

impl Netns {
    /// capd with `args`, in this namespace, apart from other tests' capd.
    fn run(&self, args: &[&str]) -> Command {
        let mut c = self.exec(args);
        c.args(isolated());
        c
    }
}

fn status_field<'a>(status: &'a str, key: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key).map(str::trim))
        .unwrap_or_else(|| panic!("{key} missing"))
}

/// The pid of the darkstat-capd started through `ip netns exec` (which
/// execs, so it is the child itself).
fn wait_dropped(child: &Child) -> u32 {
    wait_sandboxed(child, "capd");
    child.id()
}

fn check_every_thread(pid: u32) {
    let user = nix::unistd::User::from_name(USER).unwrap().unwrap();
    let tasks: Vec<PathBuf> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!tasks.is_empty());
    for t in tasks {
        let s = std::fs::read_to_string(t.join("status")).unwrap();
        let uids: Vec<&str> = status_field(&s, "Uid:").split_whitespace().collect();
        let gids: Vec<&str> = status_field(&s, "Gid:").split_whitespace().collect();
        for u in &uids {
            assert_eq!(*u, user.uid.to_string(), "uid in {t:?}: {uids:?}");
        }
        for g in &gids {
            assert_eq!(*g, user.gid.to_string(), "gid in {t:?}: {gids:?}");
        }
        // no supplementary group but (at most) the process's own
        let groups = status_field(&s, "Groups:");
        assert!(
            groups.is_empty() || groups == user.gid.to_string(),
            "Groups: {groups}"
        );
        for cap in ["CapEff:", "CapPrm:", "CapInh:", "CapAmb:"] {
            assert_eq!(status_field(&s, cap), "0000000000000000", "{cap} in {t:?}");
        }
        assert_eq!(status_field(&s, "NoNewPrivs:"), "1");
        assert_eq!(status_field(&s, "Seccomp:"), "2");
    }
}

fn stop(mut child: Child) -> std::process::ExitStatus {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    child.wait().unwrap()
}

#[test]
fn started_as_root_every_thread_drops_everything() {
    if !root() {
        return;
    }
    let ns = Netns::new("dssb", "r");
    let child = ns.run(&[BIN, "-i", "lo", "--no-web"]).spawn().unwrap();
    let pid = wait_dropped(&child);
    check_every_thread(pid);
    assert!(stop(child).success());
}

#[test]
fn chroot_is_the_process_root() {
    if !root() {
        return;
    }
    let ns = Netns::new("dssb", "c");
    let dir = scratch("chroot");
    let child = ns
        .run(&[
            BIN,
            "-i",
            "lo",
            "--no-web",
            "--chroot",
            dir.to_str().unwrap(),
        ])
        .spawn()
        .unwrap();
    let pid = wait_dropped(&child);
    let r = std::fs::read_link(format!("/proc/{pid}/root")).unwrap();
    assert_eq!(r, dir.canonicalize().unwrap());
    check_every_thread(pid);
    assert!(stop(child).success());
}

#[test]
fn started_unprivileged_with_cap_net_raw_only() {
    if !root() {
        return;
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        eprintln!("skipped: setpriv (util-linux) not installed");
        return;
    }
    let ns = Netns::new("dssb", "u");
    let child = ns
        .run(&[
            "setpriv",
            "--reuid",
            USER,
            "--regid",
            USER,
            "--clear-groups",
            "--inh-caps",
            "-all,+net_raw",
            "--ambient-caps",
            "-all,+net_raw",
            "--bounding-set",
            "-all,+net_raw",
            BIN,
            "-i",
            "lo",
            "--no-web",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = wait_dropped(&child);
    check_every_thread(pid);
    let st = stop(child);
    assert!(st.success(), "{st:?}");
}

#[test]
fn nobody_is_refused() {
    if !root() {
        return;
    }
    let ns = Netns::new("dssb", "n");
    let out = ns
        .run(&[BIN, "-i", "lo", "--no-web", "--user", "nobody"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("dedicated user"));
}

#[cfg(feature = "test-hooks")]
mod hooks {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    fn hook(ns: &Netns, extra: &[&str], hook: &str) -> std::process::Output {
        let mut args = vec![BIN, "-i", "lo", "--no-web", "--test-hook", hook];
        args.extend_from_slice(extra);
        ns.run(&args).output().unwrap()
    }

    #[test]
    fn forbidden_system_call_kills_with_sigsys() {
        if !root() {
            return;
        }
        let ns = Netns::new("dssb", "s");
        let out = hook(&ns, &[], "forbidden-syscall");
        assert_eq!(out.status.signal(), Some(libc::SIGSYS), "{out:?}");
    }

    #[test]
    fn socket_filter_cannot_be_replaced() {
        if !root() {
            return;
        }
        let ns = Netns::new("dssb", "f");
        let out = hook(&ns, &["-f", "udp"], "reattach-filter");
        assert!(out.status.success(), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("failed: Operation not permitted"));
    }

    #[test]
    fn only_the_output_directory_can_be_opened() {
        if !root() {
            return;
        }
        let ns = Netns::new("dssb", "o");
        let dir = scratch("landlock");
        let inside = dir.join("inside.txt");
        std::fs::write(&inside, "x").unwrap();
        let user = nix::unistd::User::from_name(USER).unwrap().unwrap();
        nix::unistd::chown(&dir, Some(user.uid), None).unwrap();
        nix::unistd::chown(&inside, Some(user.uid), None).unwrap();
        let dump = dir.join("out.json");
        let dump = dump.to_str().unwrap();
        // /etc/hostname is world-readable: only Landlock can refuse it
        let out = hook(&ns, &["--dump-json", dump], "open=/etc/hostname");
        assert!(out.status.success(), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("failed: Permission denied"));
        let out = hook(
            &ns,
            &["--dump-json", dump],
            &format!("open={}", inside.display()),
        );
        assert_eq!(
            out.status.code(),
            Some(3),
            "inside the output directory must open: {out:?}"
        );
    }
}
