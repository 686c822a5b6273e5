//! Test-only pieces of the daemons' `--test-hook` (feature `test-hooks`,
//! never in a release build): what both daemons' tests/sandbox.rs ask.

use std::io::Write;

/// Tries to open `path`, prints what happened, and returns the exit code
/// the sandbox tests expect: 0 when refused (the sandbox held), 3 when it
/// opened.
pub fn open(path: &str) -> i32 {
    let r = std::fs::File::open(path);
    let _ = writeln!(
        std::io::stdout(),
        "open {path}: {}",
        match &r {
            Ok(_) => "succeeded".to_string(),
            Err(e) => format!("failed: {e}"),
        }
    );
    if r.is_ok() {
        3
    } else {
        0
    }
}
