use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;

use capd::capture::live::{interface_addresses, LiveCapture, LiveOptions};
use capd::cli::Args;
use capd::config::{Config, Source};
use capd::launch::{self, WebChild};
use capd::notify::Notifier;
use capd::privdrop::{self, Sandbox};
use capd::run::{self, Publish};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("darkstat-capd: error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, without repeating a cause that
/// the message above it already quotes.
fn one_line(e: &anyhow::Error) -> String {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !msg.contains(&c) {
            msg.push_str(": ");
            msg.push_str(&c);
        }
    }
    msg
}

fn warn(m: &str) {
    eprintln!("darkstat-capd: warning: {m}");
}

fn info(cfg: &Config, m: &str) {
    if cfg.verbose {
        eprintln!("darkstat-capd: {m}");
    }
}

fn run() -> anyhow::Result<()> {
    let mut cfg = Config::from_args(Args::parse())?;
    for n in &cfg.notices {
        warn(n);
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .context("cannot install signal handlers")?;
    }
    match cfg.source.clone() {
        Source::File(path) => {
            // An analysis run: it needs no privilege and keeps the
            // privileges it was started with (run it as a normal user).
            let (acct, iface) = run::offline(&cfg, &path, &mut |m: &str| warn(m))?;
            let interfaces = [iface];
            info(&cfg, &acct.summary());
            if let Some(out) = &cfg.dump_json {
                capd::dump::write(out, &acct.view(&interfaces))?;
                return Ok(());
            }
            // Serve the file's statistics until asked to stop.
            let mut web = start_web(&cfg)?;
            sandbox(&cfg, None)?;
            let mut publisher = ();
            while !stop.load(Ordering::Relaxed) {
                publisher.publish(&acct, &interfaces);
                check_web(&mut web);
                std::thread::sleep(Duration::from_millis(200));
            }
            if let Some(w) = web {
                w.stop();
            }
            Ok(())
        }
        Source::Live(ifaces) => {
            // --- privileged: open everything that needs root or CAP_NET_RAW
            let mut captures = Vec::with_capacity(ifaces.len());
            for (name, filter) in &ifaces {
                let opts = LiveOptions {
                    promisc: cfg.promisc,
                    snaplen: cfg.snaplen,
                    filter: filter.clone(),
                };
                captures.push(LiveCapture::open(name, &opts)?);
                for net in interface_addresses(name) {
                    cfg.local.push(net);
                }
            }
            let mut acct = capd::account::Accounts::new(cfg.limits, cfg.local.clone());
            let mut web = start_web(&cfg)?;
            let notify = Notifier::from_env().context("cannot reach $NOTIFY_SOCKET")?;
            // --- the privilege line: nothing below runs with privileges
            sandbox(&cfg, Some(&captures))?;
            notify.ready();
            let mut publisher = ();
            let mut on_tick = || {
                notify.watchdog();
                check_web(&mut web);
            };
            let result = run::live(
                &mut captures,
                &mut acct,
                &mut publisher,
                &stop,
                &mut on_tick,
            );
            notify.stopping();
            // libpcap's close tears the ring down with setsockopt(), which
            // the seccomp filter does not allow; the kernel releases the
            // ring and the promiscuous membership when the process exits
            // (on errors too: the interface may be gone).
            std::mem::forget(captures);
            let interfaces = result?;
            if let Some(w) = web {
                w.stop();
            }
            info(&cfg, &acct.summary());
            if let Some(out) = &cfg.dump_json {
                capd::dump::write(out, &acct.view(&interfaces))?;
            }
            Ok(())
        }
    }
}

/// Drops privileges and enters the sandbox; the output directory of
/// --dump-json stays writable.
fn sandbox(cfg: &Config, captures: Option<&[LiveCapture]>) -> anyhow::Result<()> {
    let mut writable = Vec::new();
    if let Some(out) = cfg.dump_json.as_ref().filter(|p| p.as_os_str() != "-") {
        let dir = out
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        writable.push(dir.to_owned());
    }
    let readable = captures
        .unwrap_or(&[])
        .iter()
        .filter_map(|c| {
            std::fs::canonicalize(format!("/sys/class/net/{}/statistics", c.name())).ok()
        })
        .collect();
    let dropped = privdrop::enter(&Sandbox {
        user: cfg.user.clone(),
        chroot: cfg.chroot.clone(),
        writable,
        readable,
    })?;
    info(
        cfg,
        &format!(
            "privileges dropped to uid {} gid {}; {}; seccomp on",
            dropped.uid, dropped.gid, dropped.landlock
        ),
    );
    #[cfg(feature = "test-hooks")]
    if let Some(h) = &cfg.test_hook {
        capd::privdrop::test_hook(h, captures.unwrap_or(&[]));
    }
    let _ = captures;
    Ok(())
}

fn check_web(web: &mut Option<WebChild>) {
    if let Some(w) = web.as_mut() {
        if let Some(m) = w.check() {
            warn(&m);
        }
    }
}

/// Starts darkstat-webd unless --no-web.
fn start_web(cfg: &Config) -> anyhow::Result<Option<WebChild>> {
    if cfg.web.no_web || cfg.dump_json.is_some() {
        return Ok(None);
    }
    let socket = launch::socket_path(cfg.web.socket.as_deref())?;
    let path = launch::webd_path()?;
    let child = WebChild::start(path, cfg.web.to_webd_args(&socket))?;
    let host = cfg.web.bind.first().map_or("127.0.0.1", String::as_str);
    eprintln!(
        "darkstat-capd: dashboard at http://{host}:{}/",
        cfg.web.port
    );
    Ok(Some(child))
}
