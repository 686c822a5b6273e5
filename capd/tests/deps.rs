//! capd's dependency tree holds no web framework, template engine, async
//! runtime or DNS crate: what the privileged-at-start process links stays
//! small (issue: privilege separation).

use std::process::Command;

#[test]
fn capd_links_nothing_of_webd() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "-p",
            "darkstat-capd",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(
        tree.contains("pcap v"),
        "unexpected cargo tree output:\n{tree}"
    );
    for banned in [
        "actix",
        "tera",
        "tokio",
        "hickory",
        "trust-dns",
        "mio",
        "hyper",
        "h2 ",
        // test helpers (useradd) stay out of the binary
        "darkstat-testkit",
    ] {
        let hit: Vec<&str> = tree.lines().filter(|l| l.starts_with(banned)).collect();
        assert!(hit.is_empty(), "capd depends on {banned}: {hit:?}");
    }
}
