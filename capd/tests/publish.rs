//! The publisher through a real socket: what a reader rebuilds equals
//! `Accounts::snapshot()` at every tick (evictions, a late reader, a reset
//! included); a reader that stops reading never slows `publish()` and is
//! disconnected; a peer of the wrong user is refused.

mod publish_support;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use capd::publish::{PublishOptions, Publisher, SOCKET_MODE};
use publish_support::*;

fn quick_opts() -> PublishOptions {
    PublishOptions {
        poll_interval: Duration::from_millis(20),
        log: Box::new(|m| eprintln!("publisher: {m}")),
        ..PublishOptions::default()
    }
}

#[test]
fn readers_rebuild_the_snapshot_of_every_tick() {
    let dir = tmpdir("ticks");
    let path = dir.join("capd.sock");
    let publisher = Publisher::bind(&path, None, None).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, SOCKET_MODE);
    let mut handle = publisher.start_with(quick_opts()).unwrap();

    let mut acct = accounts(300, 10);
    let mut rng = Rng(42);
    let mut early = Reader::connect(&path);
    let mut late: Option<Reader> = None;
    let mut evicted = 0;
    for tick in 1..=60u64 {
        let ts = 1_700_000_000 + tick;
        if tick == 45 {
            // what a statistics reset does: a fresh table
            acct = accounts(300, 10);
        }
        let packets = rng.below(400) as usize;
        traffic(&mut acct, &mut rng, ts, packets, 50 + tick * 4);
        if tick % 7 == 0 {
            acct.set_now(ts + 1); // a quiet second
        }
        let ifs = ifaces(tick * 100);
        handle.publish(&mut acct, &ifs);
        let want = canonical(&acct.snapshot(&ifs));
        evicted = evicted.max(want.evictions.hosts);

        early.until_seq(tick);
        assert_eq!(early.snapshot(), want, "early reader, tick {tick}");
        if tick == 20 {
            late = Some(Reader::connect(&path));
        }
        if let Some(l) = late.as_mut() {
            l.until_seq(tick);
            assert_eq!(l.snapshot(), want, "late reader, tick {tick}");
        }
    }
    assert!(evicted > 0, "the hosts table must have evicted");
    assert_eq!(early.updates, 60, "one update per tick");
    let hello = early.hello().unwrap();
    assert_eq!(hello.pid, std::process::id());
    let stats = handle.stats();
    assert_eq!(stats.accepted, 2);
    assert_eq!(stats.dropped, 0);

    // capd goes away: readers see the end of the stream, the socket goes
    drop(handle);
    let mut rest = Vec::new();
    early.stream.read_to_end(&mut rest).unwrap();
    assert!(!path.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_reader_that_stops_reading_never_slows_publish_and_is_dropped() {
    let dir = tmpdir("stalled");
    let path = dir.join("capd.sock");
    let opts = PublishOptions {
        stall_timeout: Duration::from_millis(400),
        ..quick_opts()
    };
    let mut handle = Publisher::bind(&path, None, None)
        .unwrap()
        .start_with(opts)
        .unwrap();
    // enough hosts that a resync is far more than a socket buffer holds
    let mut acct = accounts(100_000, 20);
    let mut rng = Rng(3);
    traffic(&mut acct, &mut rng, 1_000, 40_000, 20_000);
    handle.publish(&mut acct, &[]);

    let stalled = UnixStream::connect(&path).unwrap();
    let mut good = Reader::connect(&path);
    let mut slowest = Duration::ZERO;
    let start = Instant::now();
    let mut seq = 1;
    while start.elapsed() < Duration::from_secs(2) || handle.stats().dropped == 0 {
        assert!(start.elapsed() < Duration::from_secs(20), "never dropped");
        traffic(&mut acct, &mut rng, 1_001 + seq, 2_000, 20_000);
        let t0 = Instant::now();
        handle.publish(&mut acct, &[]);
        slowest = slowest.max(t0.elapsed());
        seq += 1;
        good.until_seq(seq);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(good.snapshot(), canonical(&acct.snapshot(&[])));
    assert!(
        slowest < Duration::from_millis(100),
        "publish() took {slowest:?} while a reader was stuck"
    );
    assert_eq!(handle.stats().dropped, 1);
    assert_eq!(handle.stats().clients, 1);

    // the stuck reader finds the end of its stream after what was buffered
    stalled
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut got = Vec::new();
    (&stalled).read_to_end(&mut got).unwrap();
    assert!(got.len() > 8, "it was sent something before");
    drop(handle);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_existing_file_that_is_not_a_socket_is_left_alone() {
    let dir = tmpdir("notsock");
    let path = dir.join("capd.sock");
    std::fs::write(&path, b"precious").unwrap();
    assert!(Publisher::bind(&path, None, None).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), b"precious");
    // a stale socket is replaced, a live one is not
    std::fs::remove_file(&path).unwrap();
    let first = Publisher::bind(&path, None, None).unwrap();
    assert!(Publisher::bind(&path, None, None).is_err(), "in use");
    drop(first);
    let h = Publisher::bind(&path, None, None).unwrap().start().unwrap();
    drop(h);
    let _ = std::fs::remove_dir_all(&dir);
}

/// In a forked child that becomes `uid`/`gid`: connect, read. Exit status
/// 0 = closed without a byte, 1 = got bytes, 2 = read error or timeout,
/// 3 = could not connect, 4 = could not change user.
fn connect_as(path: &std::path::Path, uid: u32, gid: u32) -> i32 {
    use std::os::unix::ffi::OsStrExt;
    // everything the child needs is prepared before fork(): it only makes
    // async-signal-safe system calls
    // SAFETY: sockaddr_un is plain old data; all zeroes is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let p = path.as_os_str().as_bytes();
    assert!(p.len() < addr.sun_path.len());
    for (d, s) in addr.sun_path.iter_mut().zip(p) {
        *d = *s as libc::c_char;
    }
    let tv = libc::timeval {
        tv_sec: 10,
        tv_usec: 0,
    };
    // SAFETY: the child only calls async-signal-safe functions on data
    // prepared above and leaves with _exit.
    unsafe {
        let pid = libc::fork();
        assert!(pid >= 0);
        if pid == 0 {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(gid) != 0
                || libc::setuid(uid) != 0
            {
                libc::_exit(4);
            }
            let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0);
            let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
            if fd < 0 || libc::connect(fd, (&addr as *const libc::sockaddr_un).cast(), len) != 0 {
                libc::_exit(3);
            }
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            );
            let mut b = [0u8; 16];
            let n = libc::read(fd, b.as_mut_ptr().cast(), b.len());
            libc::_exit(match n {
                0 => 0,
                n if n > 0 => 1,
                _ => 2,
            });
        }
        let mut status = 0;
        assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
        assert!(libc::WIFEXITED(status));
        libc::WEXITSTATUS(status)
    }
}

#[test]
fn peers_of_other_users_are_refused() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not root: the policy itself is tested in publish::socket");
        return;
    }
    let dir = tmpdir("peercred");
    let path = dir.join("capd.sock");
    let mut handle = Publisher::bind(&path, Some(4242), Some(4343))
        .unwrap()
        .start_with(quick_opts())
        .unwrap();
    let mut acct = accounts(100, 10);
    handle.publish(&mut acct, &[]);
    // 0660 root:4343 keeps others out at connect(); open it up so that the
    // SO_PEERCRED check is what stands in the way
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::gid(&meta), 4343);
    assert_eq!(connect_as(&path, 65534, 65534), 3, "0660 keeps others out");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();

    assert_eq!(connect_as(&path, 65534, 65534), 0, "nobody is refused");
    assert_eq!(handle.stats().refused, 1);
    assert_eq!(connect_as(&path, 4242, 65534), 1, "the web user is served");
    assert_eq!(connect_as(&path, 65534, 4343), 1, "the web group is served");
    assert_eq!(handle.stats().refused, 1);
    drop(handle);
    let _ = std::fs::remove_dir_all(&dir);
}
