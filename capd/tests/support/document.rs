//! Reading the statistics document (`--dump-json`) in tests.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// What `darkstat-capd -r` counts in `pcap`, with room for every host and
/// port (the limits of the corpus check), as the document it dumps.
pub fn offline(pcap: &Path) -> Value {
    offline_with(pcap, &["--hosts-max", "100000", "--ports-max", "65536"])
}

/// The document `darkstat-capd -r pcap ARGS --dump-json -` writes; panics
/// with capd's stderr when it fails.
pub fn offline_with<T: serde::de::DeserializeOwned>(pcap: &Path, args: &[&str]) -> T {
    let out = Command::new(env!("CARGO_BIN_EXE_darkstat-capd"))
        .arg("-r")
        .arg(pcap)
        .args(args)
        .args(["--dump-json", "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "capd -r {}: {}",
        pcap.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The host with this address; panics, naming it, when there is none.
pub fn host<'a>(doc: &'a Value, ip: &str) -> &'a Value {
    doc["hosts"]
        .as_array()
        .expect("a hosts list")
        .iter()
        .find(|h| h["ip"] == ip)
        .unwrap_or_else(|| panic!("no host {ip} in the document"))
}
