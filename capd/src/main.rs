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
use capd::run::{self, Publish};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("darkstat-capd: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn warn(m: &str) {
    eprintln!("darkstat-capd: warning: {m}");
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
            let (acct, iface) = run::offline(&cfg, &path, &mut |m: &str| warn(m))?;
            let interfaces = [iface];
            if cfg.verbose {
                eprintln!("darkstat-capd: {}", acct.summary());
            }
            if let Some(out) = &cfg.dump_json {
                capd::dump::write(out, &acct.view(&interfaces))?;
                return Ok(());
            }
            // serve the file's statistics until asked to stop
            let mut publisher = ();
            let mut web = start_web(&cfg)?;
            while !stop.load(Ordering::Relaxed) {
                publisher.publish(&acct, &interfaces);
                if let Some(w) = web.as_mut() {
                    if let Some(m) = w.check() {
                        warn(&m);
                    }
                }
                std::thread::sleep(run::TICK.min(Duration::from_millis(200)));
            }
            if let Some(w) = web {
                w.stop();
            }
            Ok(())
        }
        Source::Live(ifaces) => {
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
            let mut publisher = ();
            let mut on_tick = || {
                if let Some(w) = web.as_mut() {
                    if let Some(m) = w.check() {
                        warn(&m);
                    }
                }
            };
            let interfaces = run::live(
                &mut captures,
                &mut acct,
                &mut publisher,
                &stop,
                &mut on_tick,
            )?;
            if let Some(w) = web {
                w.stop();
            }
            if cfg.verbose {
                eprintln!("darkstat-capd: {}", acct.summary());
            }
            if let Some(out) = &cfg.dump_json {
                capd::dump::write(out, &acct.view(&interfaces))?;
            }
            Ok(())
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
