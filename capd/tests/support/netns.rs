//! Network namespaces made by a test and deleted when dropped, so capturing
//! touches nothing of the host's. Names carry the test binary's prefix, a
//! per-test tag and the pid, so parallel tests never share one.

use std::process::Command;

/// Runs a command, which must succeed.
pub fn sh(args: &[&str]) {
    let st = Command::new(args[0]).args(&args[1..]).status().unwrap();
    assert!(st.success(), "{args:?} failed");
}

fn name(prefix: &str, tag: &str) -> String {
    format!("{prefix}{tag}{}", std::process::id() % 100_000)
}

fn delete(ns: &str) {
    let _ = Command::new("ip").args(["netns", "del", ns]).status();
}

/// A namespace with only `lo`, up.
pub struct Netns(pub String);

impl Netns {
    pub fn new(prefix: &str, tag: &str) -> Netns {
        let ns = Netns(name(prefix, tag));
        sh(&["ip", "netns", "add", &ns.0]);
        sh(&["ip", "-n", &ns.0, "link", "set", "lo", "up"]);
        ns
    }

    /// `ip netns exec NS args…`.
    pub fn exec(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.0]).args(args);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        delete(&self.0);
    }
}

/// Two namespaces joined by a veth pair: `va` in `a`, `vb` in `b`, both
/// up, without addresses.
pub struct VethPair {
    pub a: String,
    pub b: String,
}

impl VethPair {
    pub fn new(prefix: &str, tag: &str) -> VethPair {
        let p = VethPair {
            a: name(&format!("{prefix}a"), tag),
            b: name(&format!("{prefix}b"), tag),
        };
        sh(&["ip", "netns", "add", &p.a]);
        sh(&["ip", "netns", "add", &p.b]);
        sh(&[
            "ip", "-n", &p.a, "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns",
            &p.b,
        ]);
        sh(&["ip", "-n", &p.a, "link", "set", "va", "up"]);
        sh(&["ip", "-n", &p.b, "link", "set", "vb", "up"]);
        p
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        delete(&self.a);
        delete(&self.b);
    }
}
