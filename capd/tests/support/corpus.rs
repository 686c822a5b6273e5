//! Where the spec's capture corpus is: beside the checkout
//! (`../shared/corpus`), or where `DARKSTAT_CORPUS` points.

use std::path::PathBuf;

/// The corpus directory (`pcaps/`, `oracle/`, `tools/`).
pub fn dir() -> PathBuf {
    std::env::var_os("DARKSTAT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"))
}

/// One capture of the corpus.
pub fn pcap(name: &str) -> PathBuf {
    dir().join("pcaps").join(name)
}
