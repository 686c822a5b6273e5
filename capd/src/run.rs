//! Wires the stages together for a capture file: read → filter → decode →
//! account → dump.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::BorrowedFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use common::model::{CaptureCounts, InterfaceStats};

use crate::account::worker::count_aside;
use crate::account::Accounts;
use crate::capture::file::{CaptureReader, OpenError};
use crate::capture::filter::{link_type_name, Filter, FilterError};
use crate::capture::live::{LiveCapture, LiveError};
use crate::config::Config;
use crate::decode::{self, LinkType};
use crate::localaddrs::AddrWatch;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot open capture {path}: {source}")]
    Open { path: String, source: OpenError },
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error(transparent)]
    Dump(#[from] crate::dump::DumpError),
    #[error("cannot start the accounting thread: {0}")]
    Thread(std::io::Error),
}

/// Sink for warnings (stderr now; syslog when asked, later).
pub trait Warn {
    fn warn(&mut self, msg: &str);
}

impl<F: FnMut(&str)> Warn for F {
    fn warn(&mut self, msg: &str) {
        self(msg)
    }
}

fn unsupported(dlt: u32) -> String {
    format!("unsupported link type {dlt} ({})", link_type_name(dlt))
}

/// Reads a whole capture file into `acct`; returns the capture's own
/// statistics. Errors only when the file must be refused; a file that
/// stops making sense midway keeps what was read and warns.
pub fn read_capture<R: Read>(
    src: R,
    name: &str,
    filter: Option<&str>,
    acct: &mut Accounts,
    warn: &mut dyn Warn,
) -> Result<InterfaceStats, RunError> {
    let mut reader = CaptureReader::open(src).map_err(|source| RunError::Open {
        path: name.to_owned(),
        source,
    })?;
    if !reader.is_pcapng() {
        // classic pcap: one link type, known now
        let dlt = reader.link_types()[0];
        if LinkType::from_dlt(dlt).is_none() {
            return Err(RunError::Refused(format!("{name}: {}", unsupported(dlt))));
        }
    }
    let mut filter = match filter {
        Some(expr) => {
            let first = reader.link_types().first().copied().unwrap_or(1);
            Some(Filter::new(expr, first)?)
        }
        None => None,
    };
    let mut warned: Vec<u32> = Vec::new();
    let mut received = 0u64;
    // the last link type seen, so that its lookup is skipped per record
    let mut cached: Option<(u32, Option<LinkType>)> = None;
    let read = count_aside(acct, |global, feed| -> Result<(), RunError> {
        loop {
            let rec = match reader.next_record() {
                Ok(Some(r)) => r,
                Ok(None) => return Ok(()),
                Err(stop) if stop.refuse => {
                    return Err(RunError::Refused(format!(
                        "{name}: cannot open capture: {}",
                        stop.reason
                    )));
                }
                Err(stop) => {
                    warn.warn(&format!(
                        "{name}: capture ends early {stop}; counted the {} records before it",
                        reader.records()
                    ));
                    return Ok(());
                }
            };
            if let Some(f) = filter.as_mut() {
                match f.matches(rec.dlt, rec.data, rec.wire_len) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => {
                        // a pcapng interface of another link type: its
                        // packets cannot be what the filter asks for
                        warn.warn(&format!(
                            "{name}: {e}; packets on interfaces of link type {} ({}) are left out",
                            rec.dlt,
                            link_type_name(rec.dlt)
                        ));
                        continue;
                    }
                }
            }
            received += 1;
            let link = match cached {
                Some((d, l)) if d == rec.dlt => l,
                _ => {
                    let l = LinkType::from_dlt(rec.dlt);
                    cached = Some((rec.dlt, l));
                    l
                }
            };
            let (ts, wire_len) = (rec.ts, rec.wire_len);
            match link {
                Some(link) => {
                    feed.count(
                        global,
                        decode::frame(link, rec.data, wire_len),
                        ts,
                        wire_len,
                    );
                }
                None => {
                    if !warned.contains(&rec.dlt) {
                        warned.push(rec.dlt);
                        warn.warn(&format!(
                            "{name}: packets on interfaces of {} are counted as non-IP",
                            unsupported(rec.dlt)
                        ));
                    }
                    global.count_foreign(ts, wire_len);
                }
            }
        }
    })
    .map_err(RunError::Thread)?;
    read?;
    let dlts = reader.link_types();
    if reader.is_pcapng() {
        if dlts.is_empty() {
            return Err(RunError::Refused(format!(
                "{name}: cannot open capture: the file has no interface description block"
            )));
        }
        if !dlts.iter().any(|&d| LinkType::from_dlt(d).is_some()) {
            let mut seen: Vec<u32> = dlts.clone();
            seen.dedup();
            let list: Vec<String> = seen.iter().map(|&d| unsupported(d)).collect();
            return Err(RunError::Refused(format!("{name}: {}", list.join(", "))));
        }
    }
    Ok(InterfaceStats {
        name: name.to_owned(),
        linktype: dlts.first().copied().unwrap_or(0),
        capture: CaptureCounts {
            received,
            dropped: 0,
            if_dropped: 0,
        },
    })
}

/// `-r FILE`: reads the file; returns the counters and the file's capture
/// statistics.
pub fn offline(
    cfg: &Config,
    path: &Path,
    warn: &mut dyn Warn,
) -> Result<(Accounts, InterfaceStats), RunError> {
    let mut acct = Accounts::new(cfg.limits, cfg.local.clone());
    let name = path.display().to_string();
    let iface = if name == "-" {
        read_capture(
            io::stdin().lock(),
            &name,
            cfg.filter.as_deref(),
            &mut acct,
            warn,
        )?
    } else {
        let f = File::open(path).map_err(|e| RunError::Open {
            path: name.clone(),
            source: OpenError::Io(e),
        })?;
        read_capture(f, &name, cfg.filter.as_deref(), &mut acct, warn)?
    };
    Ok((acct, iface))
}

/// How often the statistics are published and the capture counters read.
pub const TICK: Duration = Duration::from_secs(1);
/// Packets taken from one interface before the others get their turn.
const BATCH: usize = 4096;

/// Unix seconds now.
pub fn wall_clock() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Applies interface address changes to the local networks.
fn follow_addresses(addrs: &mut Option<&mut AddrWatch>, acct: &mut Accounts) {
    if let Some(nets) = addrs.as_deref_mut().and_then(AddrWatch::update) {
        acct.set_local(nets);
    }
}

/// Captures on every interface until `stop` is set or a capture fails.
/// Single-threaded: polls the capture descriptors, drains each in batches,
/// and once a tick reads the kernel counters and hands the counters to
/// `on_tick` (publishing, checkpoints, signals, the watchdog). `addrs`
/// (polled with the captures) keeps the local networks in step with the
/// interfaces' addresses.
pub fn live(
    captures: &mut [LiveCapture],
    acct: &mut Accounts,
    mut addrs: Option<&mut AddrWatch>,
    stop: &AtomicBool,
    on_tick: &mut dyn FnMut(&mut Accounts, &[InterfaceStats]),
) -> Result<Vec<InterfaceStats>, LiveError> {
    acct.set_since(wall_clock());
    let mut next_tick = Instant::now();
    let mut ifaces: Vec<InterfaceStats> = Vec::with_capacity(captures.len());
    loop {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let now = Instant::now();
        if now >= next_tick {
            ifaces.clear();
            for c in captures.iter_mut() {
                ifaces.push(c.stats()?);
            }
            acct.set_now(wall_clock());
            // also retries a dump that is due without anything to read
            follow_addresses(&mut addrs, acct);
            on_tick(acct, &ifaces);
            next_tick = now + TICK;
        }
        let wait = next_tick.saturating_duration_since(Instant::now());
        let timeout = PollTimeout::from(wait.as_millis().min(1000) as u16);
        let ready = {
            // SAFETY: the descriptors belong to `captures`, which outlive
            // this block; poll only reads them.
            let fds: Vec<BorrowedFd<'_>> = captures
                .iter()
                .map(|c| unsafe { BorrowedFd::borrow_raw(c.fd()) })
                .collect();
            let mut pfds: Vec<PollFd<'_>> = fds
                .iter()
                .copied()
                .chain(addrs.as_ref().map(|w| w.fd()))
                .map(|fd| PollFd::new(fd, PollFlags::POLLIN))
                .collect();
            match poll(&mut pfds, timeout) {
                Ok(_) => pfds
                    .iter()
                    .map(|p| p.revents().is_some_and(|r| !r.is_empty()))
                    .collect::<Vec<bool>>(),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => vec![true; pfds.len()],
            }
        };
        // address changes before packets: what is captured after a change
        // is judged by it
        if ready.get(captures.len()) == Some(&true) {
            follow_addresses(&mut addrs, acct);
        }
        for (c, ready) in captures.iter_mut().zip(ready) {
            if ready {
                // drain what is there, a batch at a time, without starving
                // the other interfaces or the tick
                while c.dispatch(acct, BATCH)? == BATCH && Instant::now() < next_tick {}
            }
        }
    }
    // What the kernel already captured still counts. With TPACKET_V3 a
    // partly filled block reaches user space only when its timeout (the
    // pcap read timeout) retires it, so wait for that first.
    std::thread::sleep(LiveCapture::READ_TIMEOUT + Duration::from_millis(50));
    for c in captures.iter_mut() {
        while c.dispatch(acct, BATCH)? > 0 {}
    }
    ifaces.clear();
    for c in captures.iter_mut() {
        ifaces.push(c.stats()?);
    }
    acct.set_now(wall_clock());
    Ok(ifaces)
}
