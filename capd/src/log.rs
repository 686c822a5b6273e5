//! log: where capd's messages go — standard error, or syslog (facility
//! daemon) with `--syslog`. The syslog socket is connected at start, before
//! the sandbox, so logging needs no file access later.

use std::sync::{Mutex, OnceLock};

enum Sink {
    Stderr,
    Syslog(Box<syslog::Logger<syslog::LoggerBackend, syslog::Formatter3164>>),
}

static SINK: OnceLock<Mutex<Sink>> = OnceLock::new();
static VERBOSE: OnceLock<bool> = OnceLock::new();

/// Chooses the sink; call once at start. Falls back to stderr (and says
/// so) when syslog cannot be reached.
pub fn init(syslog: bool, verbose: bool) {
    let _ = VERBOSE.set(verbose);
    let sink = if syslog {
        let f = syslog::Formatter3164 {
            facility: syslog::Facility::LOG_DAEMON,
            hostname: None,
            process: "darkstat-capd".into(),
            pid: std::process::id(),
        };
        match syslog::unix(f) {
            Ok(l) => Sink::Syslog(Box::new(l)),
            Err(e) => {
                eprintln!("darkstat-capd: warning: cannot reach syslog ({e}); logging to stderr");
                Sink::Stderr
            }
        }
    } else {
        Sink::Stderr
    };
    let _ = SINK.set(Mutex::new(sink));
}

#[derive(Clone, Copy)]
enum Level {
    Error,
    Warning,
    Info,
}

fn write(level: Level, msg: &str) {
    let sink = SINK.get_or_init(|| Mutex::new(Sink::Stderr));
    let mut s = sink.lock().unwrap_or_else(|e| e.into_inner());
    match &mut *s {
        Sink::Stderr => {
            let prefix = match level {
                Level::Error => "error: ",
                Level::Warning => "warning: ",
                Level::Info => "",
            };
            eprintln!("darkstat-capd: {prefix}{msg}");
        }
        Sink::Syslog(l) => {
            // a lost log line must not stop the capture
            let _ = match level {
                Level::Error => l.err(msg),
                Level::Warning => l.warning(msg),
                Level::Info => l.info(msg),
            };
        }
    }
}

pub fn error(msg: &str) {
    write(Level::Error, msg);
}

pub fn warn(msg: &str) {
    write(Level::Warning, msg);
}

/// Always logged: start-up facts an operator needs (privileges, files).
pub fn notice(msg: &str) {
    write(Level::Info, msg);
}

/// Logged with --verbose only.
pub fn info(msg: &str) {
    if VERBOSE.get().copied().unwrap_or(false) {
        write(Level::Info, msg);
    }
}
