use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1, SIGUSR2};

use capd::account::Accounts;
use capd::capture::live::{LiveCapture, LiveOptions};
use capd::cli::Args;
use capd::config::{Config, Source};
use capd::daylog::Daylog;
use capd::launch::{self, WebChild};
use capd::localaddrs::AddrWatch;
use capd::log;
use capd::notify::Notifier;
use capd::persist::{import, state};
use capd::pidfile::Pidfile;
use capd::privdrop::{self, Sandbox};
use capd::publish::{PublishHandle, PublishOptions, Publisher};
use capd::run;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error(&one_line(&e));
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

/// How long start-up waits for the kernel's list of interface addresses
/// (it answers in microseconds; if not, the list is taken when it comes).
const ADDRESS_WAIT: Duration = Duration::from_secs(2);

/// Signal flags, set by handlers and read once a tick.
struct Signals {
    stop: Arc<AtomicBool>,
    /// SIGUSR1: save, then reset everything (as darkstat does).
    reset: Arc<AtomicBool>,
    /// SIGUSR2: save now.
    save: Arc<AtomicBool>,
}

impl Signals {
    fn install() -> anyhow::Result<Signals> {
        let s = Signals {
            stop: Arc::new(AtomicBool::new(false)),
            reset: Arc::new(AtomicBool::new(false)),
            save: Arc::new(AtomicBool::new(false)),
        };
        for (sig, flag) in [
            (SIGINT, &s.stop),
            (SIGTERM, &s.stop),
            (SIGUSR1, &s.reset),
            (SIGUSR2, &s.save),
        ] {
            signal_hook::flag::register(sig, Arc::clone(flag))
                .context("cannot install signal handlers")?;
        }
        Ok(s)
    }
}

fn run() -> anyhow::Result<()> {
    let cfg = Config::from_args(Args::parse())?;
    log::init(cfg.syslog, cfg.verbose);
    for n in &cfg.notices {
        log::warn(n);
    }
    let signals = Signals::install()?;
    match cfg.source.clone() {
        Source::File(path) => serve_file(&cfg, &path, &signals),
        Source::Live(ifaces) => {
            // --- privileged: open everything that needs root or CAP_NET_RAW
            let mut captures = Vec::with_capacity(ifaces.len());
            for (name, filter) in &ifaces {
                let opts = LiveOptions {
                    promisc: cfg.promisc,
                    snaplen: cfg.snaplen,
                    filter: filter.clone(),
                };
                captures.push(open_waiting(name, &opts, cfg.wait)?);
            }
            // subscribed now (socket and bind are gone after the drop), read
            // after it; the interfaces exist since their captures are open
            let names: Vec<&str> = ifaces.iter().map(|(n, _)| n.as_str()).collect();
            let mut addrs = AddrWatch::open(
                &names,
                cfg.local.clone(),
                Box::new(log::warn),
                Box::new(log::info),
            )?;
            let publisher = bind_publisher(&cfg)?;
            let import_file = open_import(&cfg)?;
            prepare_state_dir(&cfg);
            if cfg.detach {
                nix::unistd::daemon(false, false).context("cannot detach")?;
            }
            let pidfile = cfg.pidfile.as_deref().map(Pidfile::create).transpose()?;
            let daylog_file = cfg
                .daylog
                .as_deref()
                .map(|p| {
                    Daylog::open(p).with_context(|| format!("cannot open --daylog {}", p.display()))
                })
                .transpose()?;
            let mut web = start_web(&cfg, publisher.path())?;
            let notify = Notifier::from_env().context("cannot reach $NOTIFY_SOCKET")?;
            // --- the privilege line: nothing below runs with privileges
            sandbox(&cfg, Some(&captures))?;
            let local = addrs.start(ADDRESS_WAIT);
            let mut acct = Accounts::new(cfg.limits, local);
            load_state(&cfg, &mut acct, import_file);
            let mut publisher = publisher
                .start_with(PublishOptions {
                    checkpoint: checkpoint_file(&cfg),
                    log: Box::new(log::warn),
                    ..PublishOptions::default()
                })
                .context("cannot start the publisher")?;
            let mut daylog = daylog_file
                .map(|f| Daylog::start(f, run::wall_clock(), acct.boundary_totals()))
                .transpose()
                .context("cannot write the daylog")?;
            notify.ready();
            log::info("capturing");
            let mut saver = Saver::new(&cfg);
            let mut on_tick = |acct: &mut Accounts, ifaces: &[common::model::InterfaceStats]| {
                notify.watchdog();
                if let Some(w) = web.as_mut() {
                    if let Some(m) = w.check() {
                        log::warn(&m);
                    }
                }
                if signals.reset.swap(false, Ordering::Relaxed) {
                    saver.save_now(&mut publisher, acct, ifaces, "SIGUSR1");
                    *acct = acct.empty_like();
                    acct.set_since(run::wall_clock());
                    log::notice("statistics reset (SIGUSR1)");
                }
                if signals.save.swap(false, Ordering::Relaxed) {
                    saver.save_now(&mut publisher, acct, ifaces, "SIGUSR2");
                }
                saver.tick(&mut publisher, acct, ifaces);
                if let Some(d) = daylog.as_mut() {
                    if let Err(e) = d.tick(run::wall_clock(), acct.boundary_totals()) {
                        log::warn(&format!("daylog: {e}"));
                    }
                }
            };
            let result = run::live(
                &mut captures,
                &mut acct,
                Some(&mut addrs),
                &signals.stop,
                &mut on_tick,
            );
            notify.stopping();
            // libpcap's close tears the ring down with setsockopt(), which
            // the seccomp filter does not allow; the kernel releases the
            // ring and the promiscuous membership when the process exits
            // (on errors too: the interface may be gone).
            std::mem::forget(captures);
            let interfaces = match result {
                Ok(i) => i,
                Err(e) => {
                    // keep what was counted even when capture fails
                    saver.save_now(&mut publisher, &mut acct, &[], "capture failure");
                    return Err(e.into());
                }
            };
            saver.save_now(&mut publisher, &mut acct, &interfaces, "shutdown");
            if let Some(d) = daylog.take() {
                if let Err(e) = d.stop(run::wall_clock(), acct.boundary_totals()) {
                    log::warn(&format!("daylog: {e}"));
                }
            }
            drop(publisher);
            if let Some(w) = web {
                w.stop();
            }
            log::info(&acct.summary());
            if let Some(out) = &cfg.dump_json {
                capd::dump::write(out, &acct.view(&interfaces))?;
            }
            if let Some(p) = pidfile {
                if let Err(e) = p.remove() {
                    log::warn(&format!("cannot remove the pidfile: {e}"));
                }
            }
            Ok(())
        }
    }
}

/// Opens a capture, retrying once a second for up to --wait seconds while
/// the interface is missing or down.
fn open_waiting(name: &str, opts: &LiveOptions, wait: Option<u64>) -> anyhow::Result<LiveCapture> {
    let deadline = wait.map(|s| (s, Instant::now() + Duration::from_secs(s)));
    loop {
        match LiveCapture::open(name, opts) {
            Ok(c) => return Ok(c),
            Err(e) => match deadline {
                Some((s, d)) if s == 0 || Instant::now() < d => {
                    log::info(&format!("waiting for {name}: {e}"));
                    std::thread::sleep(Duration::from_secs(1));
                }
                _ => return Err(e.into()),
            },
        }
    }
}

/// `-r FILE`: read the file; then dump it, or serve it until stopped.
fn serve_file(cfg: &Config, path: &Path, signals: &Signals) -> anyhow::Result<()> {
    // Reading needs no privilege: the file is opened and read with the
    // privileges capd was started with (run it as a normal user).
    let (mut acct, iface) = run::offline(cfg, path, &mut |m: &str| log::warn(m))?;
    let interfaces = [iface];
    log::info(&acct.summary());
    if let Some(out) = &cfg.dump_json {
        capd::dump::write(out, &acct.view(&interfaces))?;
        // The process ends here: freeing every host's tables one by one
        // (tens of milliseconds on a large table) would only delay the
        // exit that returns the memory anyway.
        std::mem::forget(acct);
        return Ok(());
    }
    let publisher = bind_publisher(cfg)?;
    let mut web = start_web(cfg, publisher.path())?;
    sandbox(cfg, None)?;
    let mut publisher = publisher
        .start_with(PublishOptions {
            checkpoint: cfg.export.clone(),
            log: Box::new(log::warn),
            ..PublishOptions::default()
        })
        .context("cannot start the publisher")?;
    // the numbers do not change: one publication, then webd is served from
    // the publisher's copy
    publisher.publish(&mut acct, &interfaces);
    while !signals.stop.load(Ordering::Relaxed) {
        if let Some(w) = web.as_mut() {
            if let Some(m) = w.check() {
                log::warn(&m);
            }
        }
        if signals.save.swap(false, Ordering::Relaxed) && cfg.export.is_some() {
            let t = publisher.checkpoint(&mut acct, &interfaces);
            if let Err(e) = publisher.wait_checkpoint(t, Duration::from_secs(60)) {
                log::warn(&format!("export failed: {e}"));
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(publisher);
    if let Some(w) = web {
        w.stop();
    }
    Ok(())
}

/// Where checkpoints are written: the state file, or with --no-state the
/// --export file itself.
fn checkpoint_file(cfg: &Config) -> Option<PathBuf> {
    cfg.state_file.clone().or_else(|| cfg.export.clone())
}

/// Checkpoints: every --checkpoint seconds, and on demand. The writing
/// happens on the publisher's thread.
struct Saver {
    every: Option<Duration>,
    next: Instant,
    enabled: bool,
    export: Option<PathBuf>,
}

impl Saver {
    fn new(cfg: &Config) -> Saver {
        let every = (cfg.checkpoint > 0).then(|| Duration::from_secs(cfg.checkpoint));
        Saver {
            every,
            next: Instant::now() + every.unwrap_or(Duration::ZERO),
            enabled: checkpoint_file(cfg).is_some(),
            export: cfg.export.clone(),
        }
    }

    /// Periodic checkpoint: asked for, not waited on.
    fn tick(
        &mut self,
        p: &mut PublishHandle,
        acct: &mut Accounts,
        ifaces: &[common::model::InterfaceStats],
    ) {
        let Some(every) = self.every else {
            p.publish(acct, ifaces);
            return;
        };
        if !self.enabled || Instant::now() < self.next {
            p.publish(acct, ifaces);
            return;
        }
        self.next = Instant::now() + every;
        p.checkpoint(acct, ifaces);
    }

    /// A save that must be on disk before going on (shutdown, reset).
    fn save_now(
        &mut self,
        p: &mut PublishHandle,
        acct: &mut Accounts,
        ifaces: &[common::model::InterfaceStats],
        why: &str,
    ) {
        if !self.enabled {
            p.publish(acct, ifaces);
            return;
        }
        let t = p.checkpoint(acct, ifaces);
        match p.wait_checkpoint(t, Duration::from_secs(60)) {
            Ok(()) => log::info(&format!("state saved ({why})")),
            Err(e) => log::warn(&format!("state not saved ({why}): {e}")),
        }
        if let Some(export) = &self.export {
            if let Some(state) = p.checkpoint_path().filter(|s| *s != export.as_path()) {
                if let Err(e) = std::fs::copy(state, export) {
                    log::warn(&format!("cannot write --export {}: {e}", export.display()));
                }
            }
        }
    }
}

/// The statistics socket, bound while still privileged; only the web user
/// (and root) may read it.
fn bind_publisher(cfg: &Config) -> anyhow::Result<Publisher> {
    let socket = launch::socket_path(cfg.web.socket.as_deref())?;
    let web = nix::unistd::User::from_name(&cfg.web_user).ok().flatten();
    if web.is_none() {
        log::warn(&format!(
            "web user {:?} does not exist: only root and capd's own user may read the statistics socket",
            cfg.web_user
        ));
    }
    let (uid, gid) = match &web {
        Some(u) => (Some(u.uid.as_raw()), Some(u.gid.as_raw())),
        None => (None, None),
    };
    Ok(Publisher::bind(&socket, uid, gid)?)
}

/// Opens (not reads) the --import file while privileged: it may be
/// readable by root only. It is parsed after the privilege drop.
fn open_import(cfg: &Config) -> anyhow::Result<Option<(PathBuf, File)>> {
    cfg.import
        .as_ref()
        .map(|p| {
            File::open(p)
                .with_context(|| format!("cannot open --import {}", p.display()))
                .map(|f| (p.clone(), f))
        })
        .transpose()
}

/// Creates the state directory for the capd user when running as root.
fn prepare_state_dir(cfg: &Config) {
    let Some(dir) = cfg.state_file.as_deref().and_then(Path::parent) else {
        return;
    };
    if dir.is_dir() || !nix::unistd::geteuid().is_root() {
        return;
    }
    use std::os::unix::fs::DirBuilderExt;
    if let Err(e) = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(dir)
    {
        log::warn(&format!(
            "cannot create state directory {}: {e}",
            dir.display()
        ));
        return;
    }
    if let Ok(Some(u)) = nix::unistd::User::from_name(&cfg.user) {
        if let Err(e) = nix::unistd::chown(dir, Some(u.uid), Some(u.gid)) {
            log::warn(&format!(
                "cannot give {} to {}: {e}",
                dir.display(),
                cfg.user
            ));
        }
    }
}

/// Loads the state file (and --import), after the privilege drop: these
/// bytes are only ever parsed by an unprivileged, sandboxed process.
fn load_state(cfg: &Config, acct: &mut Accounts, import_file: Option<(PathBuf, File)>) {
    if let Some(path) = &cfg.state_file {
        match state::load(path) {
            Ok(Some(snap)) => {
                acct.restore(&snap);
                log::notice(&format!(
                    "state loaded from {} ({} hosts)",
                    path.display(),
                    acct.host_count()
                ));
            }
            Ok(None) => log::info(&format!(
                "no state file at {}; starting empty",
                path.display()
            )),
            Err(e) => match state::set_aside(path, run::wall_clock()) {
                Ok(aside) => log::warn(&format!(
                    "{}: {e}; kept it as {} and starting empty",
                    path.display(),
                    aside.display()
                )),
                Err(e2) => log::warn(&format!(
                    "{}: {e}; cannot move it aside ({e2}); starting empty",
                    path.display()
                )),
            },
        }
    }
    if let Some((path, mut f)) = import_file {
        let mut bytes = Vec::new();
        let result = f
            .read_to_end(&mut bytes)
            .map_err(|e| e.to_string())
            .and_then(|_| import::decode(&bytes, run::wall_clock()).map_err(|e| e.to_string()));
        match result {
            Ok(snap) => {
                acct.restore(&snap);
                log::notice(&format!(
                    "imported {} ({} hosts)",
                    path.display(),
                    acct.host_count()
                ));
            }
            Err(e) => log::warn(&format!(
                "cannot import {}: {e}; continuing without it",
                path.display()
            )),
        }
    }
}

/// Drops privileges and enters the sandbox. Writable afterwards: the state
/// directory, the directories of --dump-json and --export, the socket's.
fn sandbox(cfg: &Config, captures: Option<&[LiveCapture]>) -> anyhow::Result<()> {
    let parent = |p: &Path| -> PathBuf {
        p.parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_owned()
    };
    let mut writable = Vec::new();
    if let Some(out) = cfg.dump_json.as_ref().filter(|p| p.as_os_str() != "-") {
        writable.push(parent(out));
    }
    for p in [&cfg.state_file, &cfg.export].into_iter().flatten() {
        writable.push(parent(p));
    }
    if let Ok(sock) = launch::socket_path(cfg.web.socket.as_deref()) {
        writable.push(parent(&sock));
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
    log::notice(&format!(
        "privileges dropped to uid {} gid {}; {}; seccomp on",
        dropped.uid, dropped.gid, dropped.landlock
    ));
    #[cfg(feature = "test-hooks")]
    if let Some(h) = &cfg.test_hook {
        capd::privdrop::test_hook(h, captures.unwrap_or(&[]));
    }
    let _ = captures;
    Ok(())
}

/// Starts darkstat-webd unless --no-web.
fn start_web(cfg: &Config, socket: &Path) -> anyhow::Result<Option<WebChild>> {
    if cfg.web.no_web || cfg.dump_json.is_some() {
        return Ok(None);
    }
    let path = launch::webd_path()?;
    let child = WebChild::start(path, cfg.web.to_webd_args(socket, &cfg.web_user))?;
    let host = cfg.web.bind.first().map_or("127.0.0.1", String::as_str);
    log::notice(&format!("dashboard at http://{host}:{}/", cfg.web.port));
    Ok(Some(child))
}
