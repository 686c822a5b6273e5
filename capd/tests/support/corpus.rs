//! Where the spec's capture corpus is: beside the checkout
//! (`../shared/corpus`), or where `DARKSTAT_CORPUS` points.

use std::path::PathBuf;

/// The corpus directory (`pcaps/`, `oracle/`, `tools/`).
pub fn dir() -> PathBuf {
    std::env::var_os("DARKSTAT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"))
}

/// Every capture of the corpus, in name order.
pub fn all() -> Vec<PathBuf> {
    let dir = dir().join("pcaps");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus not found at {} ({e})", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

/// One capture of the corpus.
pub fn pcap(name: &str) -> PathBuf {
    dir().join("pcaps").join(name)
}
