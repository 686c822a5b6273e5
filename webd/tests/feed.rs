//! The feed against a fake capd on a real Unix socket: it rebuilds the
//! snapshot, marks capd down when it goes away (keeping the last numbers),
//! reconnects when it is back, and drops a connection that sends garbage.

use std::io::Write;
use std::net::IpAddr;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::ipc::{encode_frame, Hello, HostRecord, Message, PortRows, Tick, PROTOCOL_VERSION};
use common::model::{HostStats, PortStats, Snapshot, Totals, DOCUMENT_VERSION};
use common::net::ip_key;
use tokio::sync::watch;
use webd::feed::{FeedOptions, FeedState};

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("webd-feed-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn host(i: u32, bytes: u64) -> HostRecord {
    HostRecord {
        bytes_in: bytes,
        bytes_out: 1,
        packets_in: 1,
        packets_out: 1,
        last_seen: Some(1_700_000_000),
        ..HostRecord::new(IpAddr::V4(i.into()))
    }
}

fn tick(seq: u64, packets: u64, host_count: u64) -> Tick {
    Tick {
        seq,
        since: 1_700_000_000,
        now: 1_700_000_000 + seq,
        totals: Totals {
            packets,
            bytes: packets * 100,
            ..Totals::default()
        },
        host_count,
        ..Tick::default()
    }
}

fn frames(msgs: &[Message]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in msgs {
        encode_frame(m, &mut out).unwrap();
    }
    out
}

fn hello(session: u64) -> Message {
    Message::Hello(Hello {
        protocol_version: PROTOCOL_VERSION,
        pid: 1,
        session,
    })
}

/// What a reader should hold: the tick's tables and these hosts and ports.
fn expected(t: &Tick, hosts: &[HostRecord], tcp: &[PortStats]) -> Snapshot {
    let mut hosts: Vec<HostStats> = hosts.iter().cloned().map(HostStats::from).collect();
    hosts.sort_by_key(|h| ip_key(h.ip));
    Snapshot {
        version: DOCUMENT_VERSION,
        since: t.since,
        now: t.now,
        totals: t.totals.clone(),
        hosts,
        ports: common::model::GlobalPorts {
            tcp: tcp.to_vec(),
            udp: vec![],
        },
        protocols: t.protocols.clone(),
        graphs: t.graphs.clone(),
        interfaces: t.interfaces.clone(),
        local_networks: t.local_networks.clone(),
        evictions: t.evictions,
    }
}

fn canonical(s: &Snapshot) -> Snapshot {
    let mut s = s.clone();
    s.hosts.sort_by_key(|h| ip_key(h.ip));
    s
}

async fn wait_for(
    rx: &mut watch::Receiver<Arc<FeedState>>,
    what: &str,
    pred: impl Fn(&FeedState) -> bool,
) -> Arc<FeedState> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let s = rx.borrow_and_update().clone();
        if pred(&s) {
            return s;
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, rx.changed()).await {
            Ok(Ok(())) => {}
            _ => panic!("timed out waiting for {what}; last state {s:?}"),
        }
    }
}

async fn accept(listener: UnixListener) -> (UnixListener, UnixStream) {
    tokio::task::spawn_blocking(move || {
        let (s, _) = listener.accept().unwrap();
        (listener, s)
    })
    .await
    .unwrap()
}

fn opts() -> FeedOptions {
    FeedOptions {
        backoff_min: Duration::from_millis(50),
        backoff_max: Duration::from_millis(200),
        read_timeout: Duration::from_secs(3),
        buffers: 3,
    }
}

fn bind(path: &Path) -> UnixListener {
    let _ = std::fs::remove_file(path);
    UnixListener::bind(path).unwrap()
}

#[tokio::test]
async fn the_feed_follows_capd_through_a_restart() {
    let dir = tmpdir("restart");
    let path = dir.join("capd.sock");
    let (tx, mut rx) = watch::channel(Arc::new(FeedState::default()));
    let feed = tokio::spawn(webd::feed::run_with(path.clone(), tx, opts()));

    // capd is not there yet
    let s = wait_for(&mut rx, "down", |s| s.down_since.is_some()).await;
    assert!(!s.connected && s.snapshot.is_none());
    assert!(s.last_error.as_deref().unwrap().contains("cannot connect"));

    // capd starts: a full resync, then a delta
    let (listener, mut conn) = accept(bind(&path)).await;
    let hosts = vec![host(1, 10), host(2, 20), host(3, 30)];
    let port80 = PortStats {
        port: 80,
        bytes_in: 5,
        packets_in: 1,
        ..PortStats::default()
    };
    let t1 = tick(1, 3, 3);
    conn.write_all(&frames(&[
        hello(7),
        Message::Reset,
        Message::Hosts(hosts[..2].to_vec()),
        Message::Hosts(hosts[2..].to_vec()),
        Message::Ports(PortRows {
            tcp: vec![port80],
            udp: vec![],
        }),
        Message::Tick(Box::new(t1.clone())),
    ]))
    .unwrap();
    let want = expected(&t1, &hosts, &[port80]);
    let s = wait_for(&mut rx, "first snapshot", |s| s.connected).await;
    assert_eq!(canonical(s.snapshot.as_ref().unwrap()), want);
    assert!(s.down_since.is_none() && s.last_error.is_none() && s.updated_at.is_some());
    let first = Arc::clone(s.snapshot.as_ref().unwrap());

    let t2 = tick(2, 5, 3);
    let changed = host(2, 99);
    let new = host(4, 40);
    conn.write_all(&frames(&[
        Message::Keepalive,
        Message::Removed(vec![IpAddr::V4(1.into())]),
        Message::Hosts(vec![changed.clone(), new.clone()]),
        Message::Tick(Box::new(t2.clone())),
    ]))
    .unwrap();
    let want2 = expected(&t2, &[changed, hosts[2].clone(), new], &[port80]);
    let s = wait_for(&mut rx, "delta", |s| {
        s.snapshot.as_ref().is_some_and(|x| x.now == t2.now)
    })
    .await;
    assert_eq!(canonical(s.snapshot.as_ref().unwrap()), want2);
    assert_eq!(
        canonical(&first),
        want,
        "a published snapshot never changes"
    );

    // capd dies: down since now, the last numbers kept
    drop(conn);
    drop(listener);
    std::fs::remove_file(&path).unwrap();
    let s = wait_for(&mut rx, "down again", |s| !s.connected).await;
    assert!(s.down_since.is_some());
    assert_eq!(canonical(s.snapshot.as_ref().unwrap()), want2);

    // capd is back (another session, other numbers): webd reconnects alone
    let (_listener, mut conn) = accept(bind(&path)).await;
    let t3 = tick(1, 1, 1);
    let only = host(9, 9);
    conn.write_all(&frames(&[
        hello(8),
        Message::Reset,
        Message::Hosts(vec![only.clone()]),
        Message::Tick(Box::new(t3.clone())),
    ]))
    .unwrap();
    let s = wait_for(&mut rx, "reconnected", |s| s.connected).await;
    assert_eq!(
        canonical(s.snapshot.as_ref().unwrap()),
        expected(&t3, &[only], &[])
    );
    assert!(s.down_since.is_none());

    // nobody listens any more: the feed ends
    drop(rx);
    drop(conn);
    tokio::time::timeout(Duration::from_secs(10), feed)
        .await
        .expect("the feed stops when its receivers are gone")
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn garbage_or_a_wrong_version_drops_the_connection() {
    let dir = tmpdir("garbage");
    let path = dir.join("capd.sock");
    let (tx, mut rx) = watch::channel(Arc::new(FeedState::default()));
    let feed = tokio::spawn(webd::feed::run_with(path.clone(), tx, opts()));
    let listener = bind(&path);

    let (listener, mut conn) = accept(listener).await;
    let t1 = tick(1, 1, 1);
    conn.write_all(&frames(&[
        hello(1),
        Message::Reset,
        Message::Hosts(vec![host(1, 1)]),
        Message::Tick(Box::new(t1.clone())),
    ]))
    .unwrap();
    wait_for(&mut rx, "connected", |s| s.connected).await;
    conn.write_all(b"<html>\x00\x01not a frame").unwrap();
    let s = wait_for(&mut rx, "dropped", |s| !s.connected).await;
    assert!(
        s.last_error.as_deref().unwrap().contains("bad magic"),
        "{s:?}"
    );
    // the error text carries none of the bytes
    assert!(!s.last_error.as_deref().unwrap().contains("html"));

    // a frame of another protocol version
    let (listener, mut conn) = accept(listener).await;
    let mut f = frames(&[hello(2)]);
    f[2..4].copy_from_slice(&(PROTOCOL_VERSION + 1).to_le_bytes());
    conn.write_all(&f).unwrap();
    let s = wait_for(&mut rx, "version refused", |s| {
        s.last_error
            .as_deref()
            .is_some_and(|e| e.contains("version"))
    })
    .await;
    assert!(!s.connected);

    // a host count that does not add up: dropped, then a resync works
    let (_listener, mut conn) = accept(listener).await;
    conn.write_all(&frames(&[
        hello(3),
        Message::Reset,
        Message::Hosts(vec![host(1, 1)]),
        Message::Tick(Box::new(tick(1, 1, 2))),
    ]))
    .unwrap();
    let s = wait_for(&mut rx, "count refused", |s| {
        s.last_error
            .as_deref()
            .is_some_and(|e| e.contains("host count"))
    })
    .await;
    assert!(!s.connected);
    drop(rx);
    drop(conn);
    tokio::time::timeout(Duration::from_secs(10), feed)
        .await
        .unwrap()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// webd's side of the cost (bench/publish-results.md):
///
///   cargo test --release -p darkstat-webd --test feed -- --ignored --nocapture
///
/// Decoding and assembling updates of 1% of N hosts while the two newest
/// snapshots are held (as the index cache holds them).
#[test]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
fn feed_cost_at_100k_and_1m_hosts() {
    use common::ipc::{FrameDecoder, UpdateBuilder};
    use std::time::Instant;
    use webd::feed::Assembler;

    let host3 = |i: u32, bytes: u64| {
        let mut h = host(i, bytes);
        h.tcp_local = vec![common::model::TcpPortStats {
            port: 443,
            bytes_in: bytes,
            packets_in: 1,
            ..Default::default()
        }];
        h.protocols = vec![common::model::HostProtoStats {
            proto: 6,
            bytes_in: bytes,
            packets_in: 1,
            ..Default::default()
        }];
        h
    };
    for n in [100_000u32, 1_000_000] {
        let mut dec = FrameDecoder::new();
        let mut b = UpdateBuilder::new();
        let mut a = Assembler::new(3);
        let mut held: std::collections::VecDeque<Arc<Snapshot>> = Default::default();
        let mut apply = |bytes: &[u8], held: &mut std::collections::VecDeque<Arc<Snapshot>>| {
            dec.feed(bytes).unwrap();
            while let Some(m) = dec.next_message().unwrap() {
                if let Some(u) = b.push(m).unwrap() {
                    held.push_front(a.commit(u).unwrap());
                    held.truncate(2);
                }
            }
        };
        let mut first = frames(&[hello(1), Message::Reset]);
        for chunk in (0..n).collect::<Vec<_>>().chunks(4096) {
            let hs = chunk.iter().map(|&i| host3(i, 100)).collect();
            first.extend(frames(&[Message::Hosts(hs)]));
        }
        first.extend(frames(&[Message::Tick(Box::new(tick(1, 1, u64::from(n))))]));
        let t0 = Instant::now();
        apply(&first, &mut held);
        let resync = t0.elapsed();
        let mut times = Vec::new();
        for seq in 2..22u64 {
            let changed: Vec<HostRecord> = (0..n / 100)
                .map(|k| host3((k * 97 + seq as u32 * 13) % n, 100 + seq))
                .collect();
            let mut f = Vec::new();
            for c in changed.chunks(4096) {
                f.extend(frames(&[Message::Hosts(c.to_vec())]));
            }
            f.extend(frames(&[Message::Tick(Box::new(tick(
                seq,
                seq,
                u64::from(n),
            )))]));
            let t0 = Instant::now();
            apply(&f, &mut held);
            times.push(t0.elapsed());
        }
        let max = *times.iter().max().unwrap();
        // the first updates fill the pool by copying; then only changes cost
        let steady = &times[3..];
        let avg = steady.iter().sum::<Duration>() / steady.len() as u32;
        println!(
            "webd feed, {n} hosts: resync decoded and assembled in {:.0} ms; \
             update of {} hosts {:.1} ms avg once the pool is full, {:.1} ms max \
             (a whole copy); whole copies {}",
            resync.as_secs_f64() * 1e3,
            n / 100,
            avg.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
            a.copies()
        );
    }
}
