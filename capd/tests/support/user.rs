//! The dedicated user capd drops to when started as root
//! (systemd/darkstat-rs.sysusers.conf makes it on a real install).

pub const USER: &str = "darkstat-rs";

/// Whether the test runs as root, which the tests that capture live or
/// drop privileges need; then the dedicated user exists. Without root it
/// says that `what` is skipped (CI runs as root).
pub fn root_or_skip(what: &str) -> bool {
    testkit::users::root_or_skip(what, &[USER])
}

/// A directory for `tag` that the dedicated user owns (empty).
pub fn owned_dir(dir: std::path::PathBuf) -> std::path::PathBuf {
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let u = nix::unistd::User::from_name(USER).unwrap().unwrap();
    nix::unistd::chown(&dir, Some(u.uid), Some(u.gid)).unwrap();
    dir
}
