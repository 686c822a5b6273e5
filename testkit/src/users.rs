//! The dedicated users the daemons drop to when started as root. On a real
//! install systemd/darkstat-rs.sysusers.conf makes them; the tests that run
//! as root make them the same way `useradd --system` would.

use std::process::Command;

use nix::unistd::User;

/// Whether the test runs as root, which the tests that capture live or
/// drop privileges need; then `users` exist. Without root it says that
/// `what` is skipped (CI runs as root).
pub fn root_or_skip(what: &str, users: &[&str]) -> bool {
    let root = nix::unistd::geteuid().is_root();
    if root {
        users.iter().for_each(|u| {
            ensure_user(u);
        });
    } else {
        eprintln!("skipped: {what} need root (CI runs them as root)");
    }
    root
}

/// The system user `name`, created (no home, no login shell) if missing.
pub fn ensure_user(name: &str) -> User {
    if let Some(u) = User::from_name(name).unwrap() {
        return u;
    }
    let st = Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            name,
        ])
        .status()
        .unwrap();
    // another test binary may have made it meanwhile
    let made = User::from_name(name).unwrap();
    assert!(
        st.success() || made.is_some(),
        "useradd {name} failed: {st}"
    );
    made.unwrap_or_else(|| panic!("useradd {name} succeeded, yet there is no such user"))
}
