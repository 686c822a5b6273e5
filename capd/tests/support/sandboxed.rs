//! A capd started by a test: it captures once it is in its sandbox
//! (seccomp mode 2 in /proc), and a clean stop is SIGTERM.

use std::process::Child;
use std::time::{Duration, Instant};

/// Waits until `child` (capd, or darkstat: `what`) runs under its seccomp
/// filter; `ip netns exec` execs, so the child is the daemon itself.
pub fn wait_sandboxed(child: &Child, what: &str) {
    wait_sandboxed_pid(child.id(), what);
}

/// [`wait_sandboxed`] for a process that is not our child (a daemon that
/// detached).
pub fn wait_sandboxed_pid(pid: u32, what: &str) {
    let t0 = Instant::now();
    while !std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .contains("Seccomp:\t2")
    {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "{what} never entered its sandbox"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends `sig` to `child`.
pub fn signal(child: &Child, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).unwrap();
}

/// Asks `child` to stop (SIGTERM), as systemd does.
pub fn term(child: &Child) {
    signal(child, nix::sys::signal::Signal::SIGTERM);
}
