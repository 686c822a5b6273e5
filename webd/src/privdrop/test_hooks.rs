//! Test-only actions run inside the sandbox once the server is up (feature
//! `test-hooks`, used by tests/sandbox.rs; never in a release build). Each
//! runs on a thread started after the drop, prints what happened and ends
//! the process.

use std::io::Write;

/// The hooks `--test-hook` accepts.
pub const HOOKS: &str = "forbidden-syscall, spawn, open=PATH";

/// Runs `hook` on a new thread; the process ends when it is done (or is
/// killed by the seccomp filter, which is the point of two of them).
pub fn spawn(hook: String) {
    let r = std::thread::Builder::new()
        .name("test-hook".into())
        .spawn(move || run(&hook));
    if let Err(e) = r {
        println!("cannot start the test hook's thread: {e}");
        std::process::exit(4);
    }
}

fn run(hook: &str) -> ! {
    let mut out = std::io::stdout();
    let code = match hook.split_once('=').unwrap_or((hook, "")) {
        // socket(AF_INET, SOCK_STREAM): not one of the sockets webd may make
        ("forbidden-syscall", _) => {
            let r = std::net::TcpListener::bind("127.0.0.1:0");
            let _ = writeln!(out, "TCP socket: {r:?}: not killed");
            3
        }
        // a new process (clone without CLONE_THREAD after clone3's ENOSYS)
        ("spawn", _) => {
            let r = std::process::Command::new("/bin/true").status();
            let _ = writeln!(out, "spawn /bin/true: {r:?}: not killed");
            3
        }
        ("open", path) => sandbox::test_hooks::open(path),
        _ => {
            let _ = writeln!(out, "unknown test hook {hook:?} (known: {HOOKS})");
            4
        }
    };
    let _ = out.flush();
    std::process::exit(code)
}
