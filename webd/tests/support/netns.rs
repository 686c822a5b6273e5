//! Network namespaces in the root-only tests.

use std::path::PathBuf;

/// Runs `f` on a thread that has entered network namespace `name` (made
/// with `ip netns add`); threads `f` starts are in it too.
pub fn within<T: Send>(name: &str, f: impl FnOnce() -> T + Send) -> T {
    let path = PathBuf::from("/run/netns").join(name);
    std::thread::scope(|s| {
        s.spawn(|| {
            let ns = std::fs::File::open(&path).unwrap();
            nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            f()
        })
        .join()
        .unwrap()
    })
}
