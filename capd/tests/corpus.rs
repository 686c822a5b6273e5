//! The spec's exact oracle: every capture of ../shared/corpus must give the
//! expected tables (or be refused), as `tools/check_corpus.py` judges it.
//! The corpus is not part of this repository; it lies beside the checkout
//! (`../shared/corpus`), or where `DARKSTAT_CORPUS` points.

use std::process::Command;

mod support;

#[test]
fn corpus_matches_the_oracle_exactly() {
    let dir = support::corpus::dir();
    let script = dir.join("tools/check_corpus.py");
    assert!(
        script.exists(),
        "corpus not found at {} (set DARKSTAT_CORPUS)",
        dir.display()
    );
    let bin = env!("CARGO_BIN_EXE_darkstat-capd");
    let cmd = format!("{bin} -r {{pcap}} --hosts-max 10000000 --ports-max 65536 --dump-json -");
    let out = Command::new("python3")
        .arg(&script)
        .args(["--cmd", &cmd, "--corpus"])
        .arg(&dir)
        .output()
        .expect("run python3 check_corpus.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or("");
    assert!(
        out.status.success() && last.ends_with(" 0 failed"),
        "corpus check failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let passed: usize = last
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(passed >= 287, "only {passed} captures checked: {last}");
}
