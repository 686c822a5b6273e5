//! Reading the statistics document (`--dump-json`) in tests.

use serde_json::Value;

/// The host with this address; panics, naming it, when there is none.
pub fn host<'a>(doc: &'a Value, ip: &str) -> &'a Value {
    doc["hosts"]
        .as_array()
        .expect("a hosts list")
        .iter()
        .find(|h| h["ip"] == ip)
        .unwrap_or_else(|| panic!("no host {ip} in the document"))
}
