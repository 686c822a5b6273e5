//! Shared by the integration tests that start capd. Each test binary
//! includes this module and uses a part of it, hence `dead_code` allowed.
//!
//! * `corpus`: where the spec's capture corpus is;
//! * `isolated()` (here): options that keep one test's capd apart from
//!   every other (tests run in parallel);
//! * `netns`: network namespaces and veth pairs made and removed by a test;
//! * `sandboxed`: waiting for a started capd to be in its sandbox, stopping it;
//! * `user`: the dedicated user the root-only tests drop to.
#![allow(dead_code)]

pub mod corpus;
pub mod document;
pub mod netns;
pub mod sandboxed;
pub mod user;

/// No state file, and a statistics socket of its own.
pub fn isolated() -> Vec<String> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let sock = std::env::temp_dir().join(format!("capd-test-{}-{n}.sock", std::process::id()));
    vec![
        "--no-state".into(),
        "--socket".into(),
        sock.display().to_string(),
    ]
}
