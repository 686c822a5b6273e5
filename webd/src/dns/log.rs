//! log: how refused PTR names reach the log. The raw bytes are attacker
//! input (ANSI escapes, newlines forging log lines), so they are written
//! escaped to printable ASCII, capped in length, and at a bounded rate.
//! Nothing here may write a byte outside printable ASCII.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::name::InvalidName;

/// Most escaped characters of one name that are logged.
pub(crate) const MAX_LOGGED_CHARS: usize = 160;
/// Refused names logged per window; the rest are counted and summarised.
pub(crate) const LINES_PER_WINDOW: u32 = 20;
pub(crate) const WINDOW: Duration = Duration::from_secs(60);

/// Where log lines go: stderr in the daemon, a buffer in tests.
pub(crate) type Sink = Box<dyn Fn(&str) + Send + Sync>;

pub(crate) fn stderr_sink() -> Sink {
    Box::new(|line| eprintln!("darkstat-webd: dns: {line}"))
}

/// Writes wire labels as printable ASCII: `escape_ascii` for every byte
/// (so `"`, `\`, controls and non-ASCII become escapes), `\.` for a dot
/// inside a label, `.` between labels; `...` marks a cut.
pub(crate) fn escape_labels<'a, I>(labels: I) -> String
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let mut out = String::new();
    for (i, label) in labels.into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        for &b in label {
            if b == b'.' {
                out.push_str("\\.");
            } else {
                // Writing to a String cannot fail.
                let _ = write!(out, "{}", std::ascii::escape_default(b));
            }
            if out.len() > MAX_LOGGED_CHARS {
                out.truncate(MAX_LOGGED_CHARS);
                out.push_str("...");
                return out;
            }
        }
    }
    out
}

/// A fixed-window limiter on refused-name lines.
pub(crate) struct Limiter {
    window_start: Option<Instant>,
    lines: u32,
    suppressed: u64,
}

impl Limiter {
    pub(crate) fn new() -> Self {
        Limiter {
            window_start: None,
            lines: 0,
            suppressed: 0,
        }
    }

    /// Logs one refused name unless this window's budget is spent.
    pub(crate) fn invalid_ptr(
        &mut self,
        sink: &Sink,
        now: Instant,
        ip: IpAddr,
        escaped: &str,
        why: InvalidName,
    ) {
        let expired = self
            .window_start
            .is_none_or(|start| now.saturating_duration_since(start) >= WINDOW);
        if expired {
            if self.suppressed > 0 {
                sink(&format!(
                    "{} more invalid PTR names not logged",
                    self.suppressed
                ));
            }
            self.window_start = Some(now);
            self.lines = 0;
            self.suppressed = 0;
        }
        if self.lines < LINES_PER_WINDOW {
            self.lines += 1;
            sink(&format!("{ip}: invalid PTR \"{escaped}\" ({why})"));
        } else {
            self.suppressed += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn printable(s: &str) -> bool {
        s.bytes().all(|b| (0x20..0x7f).contains(&b))
    }

    #[test]
    fn escapes_controls_quotes_and_inner_dots() {
        let labels: [&[u8]; 3] = [b"\x1b[31mred\x1b[0m", b"a.b\"\n\0", "ü".as_bytes()];
        let s = escape_labels(labels);
        assert_eq!(s, r#"\x1b[31mred\x1b[0m.a\.b\"\n\x00.\xc3\xbc"#);
        assert!(printable(&s));
        let markup: [&[u8]; 2] = [b"<img src=x onerror=alert(1)>", b"evil"];
        assert_eq!(escape_labels(markup), "<img src=x onerror=alert(1)>.evil");
    }

    #[test]
    fn long_names_are_cut() {
        let l = [0x07u8; 63];
        let labels: [&[u8]; 4] = [&l, &l, &l, &l];
        let s = escape_labels(labels);
        assert!(s.len() <= MAX_LOGGED_CHARS + 3, "{}", s.len());
        assert!(s.ends_with("..."));
        assert!(printable(&s));
    }

    #[test]
    fn limiter_caps_lines_per_window_and_reports_the_rest() {
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let l2 = Arc::clone(&lines);
        let sink: Sink = Box::new(move |s| l2.lock().unwrap().push(s.to_owned()));
        let mut lim = Limiter::new();
        let t0 = Instant::now();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for i in 0..(LINES_PER_WINDOW + 5) {
            let t = t0 + Duration::from_millis(u64::from(i));
            lim.invalid_ptr(&sink, t, ip, "x", InvalidName::Empty);
        }
        assert_eq!(lines.lock().unwrap().len(), LINES_PER_WINDOW as usize);
        lim.invalid_ptr(&sink, t0 + WINDOW, ip, "y", InvalidName::EmptyLabel);
        let got = lines.lock().unwrap();
        assert_eq!(got.len(), LINES_PER_WINDOW as usize + 2);
        assert_eq!(got[got.len() - 2], "5 more invalid PTR names not logged");
        assert_eq!(
            got[got.len() - 1],
            "192.0.2.1: invalid PTR \"y\" (empty label)"
        );
    }
}
