//! What publishing costs capd at 100k and 1M hosts (bench/publish-results.md).
//!
//!   cargo test --release -p darkstat-capd --test publish_bench -- --ignored --nocapture
//!
//! (`PUBLISH_BENCH_HOSTS=100000,1000000` and `PUBLISH_BENCH_TICKS=20` are the
//! defaults.) For each size: an `Accounts` holding N hosts, a publisher on a
//! real socket and a reader that rebuilds the snapshot as webd does. Each
//! tick changes 1% of the hosts, then `publish()` runs on this (the
//! capture) thread; the writer thread's CPU comes from its own counter.
//! A second reader then connects for a full resync. Every number is CPU
//! time of the thread concerned, so the share of a core is that time per
//! 1 s tick.

mod publish_support;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use capd::account::{Accounts, ChangeTracker};
use capd::publish::{Mirror, PublishOptions, Publisher};
use publish_support::*;

fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a live local the kernel writes one timespec into.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// N hosts: N/2 local ↔ remote pairs, two packets each (a TCP and a UDP
/// or TCP exchange), so a host has 3 to 5 rows (protocols and ports).
fn build(n: u64) -> (Accounts, Rng) {
    let mut a = accounts(n as usize + 1024, 60);
    let mut rng = Rng(11);
    for i in 0..n / 2 {
        let i = i as u32;
        packet(&mut a, &mut rng, i, i, 1_700_000_000);
        packet(&mut a, &mut rng, i, i, 1_700_000_000);
    }
    assert_eq!(a.host_count() as u64, n);
    (a, rng)
}

struct ReaderReport {
    seq: u64,
    cpu: Duration,
}

/// A reader on its own thread; reports its CPU after each update.
fn spawn_reader(
    path: std::path::PathBuf,
    until: u64,
) -> (
    mpsc::Receiver<ReaderReport>,
    std::thread::JoinHandle<Reader>,
) {
    let (tx, rx) = mpsc::channel();
    let h = std::thread::spawn(move || {
        let mut r = Reader::connect(&path);
        let mut seq = 0;
        while seq < until {
            let before = r.updates;
            let t0 = thread_cpu();
            // one update at a time (the publisher is waited for each tick)
            r.until_seq(seq + 1);
            seq = r.seq;
            debug_assert!(r.updates > before);
            let _ = tx.send(ReaderReport {
                seq,
                cpu: thread_cpu() - t0,
            });
        }
        r
    });
    (rx, h)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The writer's work without threads or sockets: a full take, the mirror
/// applying it, and a resync built from the mirror.
fn direct(acct: &mut Accounts) -> (Duration, Duration, Duration, f64) {
    let mib = |b: usize| b as f64 / (1 << 20) as f64;
    let mut tracker = ChangeTracker::new();
    let mut mirror = Mirror::new();
    let c0 = thread_cpu();
    let ch = acct.take_changes(&mut tracker, &[]);
    let take = thread_cpu() - c0;
    let mut out = Vec::new();
    let c0 = thread_cpu();
    mirror.apply(ch, &mut out).unwrap();
    let apply = thread_cpu() - c0;
    let mut resync = Vec::new();
    let c0 = thread_cpu();
    mirror.resync(&mut resync).unwrap();
    let rebuild = thread_cpu() - c0;
    (take, apply, rebuild, mib(mirror.approx_bytes()))
}

fn bench(n: u64, ticks: u64) {
    let dir = tmpdir(&format!("bench-{n}"));
    let path = dir.join("capd.sock");
    let t0 = Instant::now();
    let (mut acct, _) = build(n);
    let built = t0.elapsed();
    let (d_take, d_apply, d_resync, mirror_mib) = direct(&mut acct);
    // the real publisher starts from scratch: a fresh table of the same hosts
    drop(acct);
    let (mut acct, mut rng) = build(n);
    let opts = PublishOptions {
        poll_interval: Duration::from_millis(20),
        ..PublishOptions::default()
    };
    let mut handle = Publisher::bind(&path, None, None)
        .unwrap()
        .start_with(opts)
        .unwrap();
    let ifs = ifaces(1);

    // the first publication: every host (a reset), then the follower
    let (reports, follower) = spawn_reader(path.clone(), ticks + 1);
    while handle.stats().clients == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let c0 = thread_cpu();
    handle.publish(&mut acct, &ifs);
    let first_capture = thread_cpu() - c0;
    let first = reports.recv().unwrap();
    assert_eq!(first.seq, 1);
    let first_writer = handle.stats().writer_cpu;
    let first_bytes = handle.stats().last_update_bytes;

    let changed_per_tick = n / 100;
    let mut capture = Vec::new();
    let mut writer = Vec::new();
    let mut reader = Vec::new();
    let mut bytes = Vec::new();
    let mut wall = Vec::new();
    for tick in 1..=ticks {
        let ts = 1_700_000_000 + tick;
        for _ in 0..changed_per_tick / 2 {
            let i = rng.below(n / 2) as u32;
            packet(&mut acct, &mut rng, i, i, ts);
        }
        let w0 = handle.stats().writer_cpu;
        let c0 = thread_cpu();
        let t0 = Instant::now();
        handle.publish(&mut acct, &ifs);
        wall.push(t0.elapsed());
        capture.push(thread_cpu() - c0);
        let rep = reports.recv().unwrap();
        assert_eq!(rep.seq, tick + 1);
        // the writer's counter is refreshed once per loop: let it settle
        std::thread::sleep(Duration::from_millis(60));
        writer.push(handle.stats().writer_cpu - w0);
        reader.push(rep.cpu);
        bytes.push(handle.stats().last_update_bytes);
    }
    let follower = follower.join().unwrap();
    // what a full-snapshot design would build on the capture thread per tick
    let c0 = thread_cpu();
    let full = acct.snapshot(&ifs);
    let snapshot_cost = thread_cpu() - c0;
    drop(full);
    // a tick without traffic: what every tick costs at least
    let c0 = thread_cpu();
    handle.publish(&mut acct, &ifs);
    let quiet = thread_cpu() - c0;
    assert_eq!(follower.snapshot(), canonical(&acct.snapshot(&ifs)));

    // a reader that connects now gets a full resync from the mirror
    let w0 = handle.stats().writer_cpu;
    let t0 = Instant::now();
    let (late_reports, late) = spawn_reader(path.clone(), 1);
    let late_rep = late_reports.recv().unwrap();
    let resync_wall = t0.elapsed();
    let late = late.join().unwrap();
    std::thread::sleep(Duration::from_millis(60));
    let resync_writer = handle.stats().writer_cpu - w0;
    let stats = handle.stats();
    assert_eq!(late.snapshot(), canonical(&acct.snapshot(&ifs)));
    assert_eq!(stats.dropped, 0);
    assert_eq!(stats.merged, 0);
    drop(handle);

    let avg = |v: &[Duration]| v.iter().sum::<Duration>() / v.len() as u32;
    let max = |v: &[Duration]| v.iter().max().copied().unwrap_or_default();
    let avg_bytes = bytes.iter().sum::<u64>() / bytes.len() as u64;
    let per_tick = avg(&capture) + avg(&writer);
    println!();
    println!("## {n} hosts, {changed_per_tick} changed per tick, {ticks} ticks");
    println!();
    println!("| what | avg | max |");
    println!("|---|---:|---:|");
    println!(
        "| capture thread: `publish()` CPU per tick | {:.2} ms | {:.2} ms |",
        ms(avg(&capture)),
        ms(max(&capture))
    );
    println!(
        "| capture thread: `publish()` wall time per tick | {:.2} ms | {:.2} ms |",
        ms(avg(&wall)),
        ms(max(&wall))
    );
    println!(
        "| writer thread: CPU per tick (encode, mirror, send) | {:.2} ms | {:.2} ms |",
        ms(avg(&writer)),
        ms(max(&writer))
    );
    println!(
        "| **capd total per 1 s tick** | **{:.2} ms = {:.2}% of a core** | |",
        ms(per_tick),
        per_tick.as_secs_f64() * 100.0
    );
    println!(
        "| reader (webd's decoding + replica) CPU per update | {:.2} ms | {:.2} ms |",
        ms(avg(&reader)),
        ms(max(&reader))
    );
    println!("| bytes per update | {avg_bytes} | |");
    println!(
        "| capture thread: `publish()` CPU of a tick without traffic | {:.2} ms | |",
        ms(quiet)
    );
    println!();
    println!("| one-off | |");
    println!("|---|---:|");
    println!(
        "| building the {n}-host table (not publishing) | {:.0} ms |",
        ms(built)
    );
    println!(
        "| first `publish()` (every host, capture thread) | {:.1} ms |",
        ms(first_capture)
    );
    println!(
        "| first update in the writer thread (encode all hosts) | {:.1} ms, {:.1} MiB |",
        ms(first_writer),
        first_bytes as f64 / (1 << 20) as f64
    );
    println!(
        "| full resync for a new reader, writer thread CPU | {:.1} ms ({:.1} ms building the buffer) |",
        ms(resync_writer),
        ms(stats.last_resync)
    );
    println!(
        "| full resync size | {:.1} MiB |",
        stats.last_resync_bytes as f64 / (1 << 20) as f64
    );
    println!(
        "| full resync received and applied by the new reader (wall / its CPU) | {:.0} ms / {:.0} ms |",
        ms(resync_wall),
        ms(late_rep.cpu)
    );
    println!(
        "| `Accounts::snapshot()` (a full-snapshot design's cost per tick, before encoding) | {:.0} ms |",
        ms(snapshot_cost)
    );
    println!(
        "| direct, one thread: full take {:.0} ms, mirror applies it {:.0} ms, resync from the mirror {:.0} ms | |",
        ms(d_take),
        ms(d_apply),
        ms(d_resync)
    );
    println!("| the writer's mirror of {n} hosts | {mirror_mib:.0} MiB |");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
fn publish_cost_at_100k_and_1m_hosts() {
    let sizes = std::env::var("PUBLISH_BENCH_HOSTS").unwrap_or_else(|_| "100000,1000000".into());
    let ticks: u64 = std::env::var("PUBLISH_BENCH_TICKS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(20);
    for n in sizes.split(',') {
        bench(n.trim().parse().unwrap(), ticks);
    }
}
