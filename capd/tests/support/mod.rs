//! Shared by the integration tests that start capd: options that keep one
//! test's capd apart from every other (tests run in parallel).

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
