//! listeners: the listening sockets, opened once at start-up before the
//! privilege drop: taken from systemd socket activation when the
//! environment says so (`LISTEN_PID`/`LISTEN_FDS`, descriptors from 3 on,
//! as sd_listen_fds(3) describes), else bound here to the configured
//! addresses. It never opens a socket after start-up (the sandbox would
//! not let it).

use std::io;
use std::net::{SocketAddr, TcpListener};

use crate::config::Config;
use crate::server::open_listener;

/// At most this many descriptors are taken from systemd.
pub const MAX_ACTIVATION_FDS: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("socket activation: {0}")]
    Activation(String),
    #[error("socket activation: descriptor {fd}: {source}")]
    Descriptor { fd: usize, source: io::Error },
    #[error("no address to listen on: {0}")]
    NoAddress(io::Error),
}

/// The sockets to serve on.
#[derive(Debug)]
pub struct Listening {
    pub listeners: Vec<TcpListener>,
    /// Passed in by systemd (then `-b`/`-p` were not used).
    pub activated: bool,
}

/// How many descriptors systemd passed to this process: 0 when the
/// variables are absent or meant for another process (`LISTEN_PID` is not
/// ours), as sd_listen_fds(3) has it.
pub fn activation_fds(
    listen_pid: Option<&str>,
    listen_fds: Option<&str>,
    own_pid: u32,
) -> Result<usize, ListenError> {
    let Some(fds) = listen_fds else {
        return Ok(0);
    };
    let bad =
        |what: &str, v: &str| ListenError::Activation(format!("{what}={v:?} is not a number"));
    let Some(pid) = listen_pid else {
        return Ok(0);
    };
    let pid: u32 = pid.trim().parse().map_err(|_| bad("LISTEN_PID", pid))?;
    if pid != own_pid {
        return Ok(0);
    }
    let n: usize = fds.trim().parse().map_err(|_| bad("LISTEN_FDS", fds))?;
    if n > MAX_ACTIVATION_FDS {
        return Err(ListenError::Activation(format!(
            "LISTEN_FDS={n}: at most {MAX_ACTIVATION_FDS} sockets"
        )));
    }
    Ok(n)
}

/// The sockets systemd passed, if any. Each must be a listening TCP
/// socket. The variables are removed so that nothing else acts on them.
/// Must run before any thread starts (it changes the environment).
pub fn inherited() -> Result<Option<Vec<TcpListener>>, ListenError> {
    let var = |k| std::env::var(k).ok();
    let (pid, fds) = (var("LISTEN_PID"), var("LISTEN_FDS"));
    let n = activation_fds(pid.as_deref(), fds.as_deref(), std::process::id())?;
    if fds.is_some() && pid.as_deref().map(str::trim) != Some(&std::process::id().to_string()) {
        eprintln!("darkstat-webd: ignoring LISTEN_FDS: LISTEN_PID is not this process");
    }
    // The descriptors start at 3 (SD_LISTEN_FDS_START); the crate that
    // takes them would honour a different start from this variable.
    std::env::remove_var("LISTEN_FDS_FIRST_FD");
    let mut fds = (n > 0).then(listenfd::ListenFd::from_env);
    for k in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
        std::env::remove_var(k);
    }
    let Some(fds) = fds.as_mut() else {
        return Ok(None);
    };
    if fds.len() != n {
        return Err(ListenError::Activation(format!(
            "expected {n} descriptors, found {}",
            fds.len()
        )));
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let fd = 3 + i;
        let l = fds
            .take_tcp_listener(i)
            .map_err(|source| ListenError::Descriptor { fd, source })?
            .ok_or_else(|| ListenError::Activation(format!("descriptor {fd} is missing")))?;
        let listening = nix::sys::socket::getsockopt(&l, nix::sys::socket::sockopt::AcceptConn)
            .map_err(|e| ListenError::Descriptor {
                fd,
                source: e.into(),
            })?;
        if !listening {
            return Err(ListenError::Activation(format!(
                "descriptor {fd} is a TCP socket that is not listening"
            )));
        }
        out.push(l);
    }
    Ok(Some(out))
}

/// The sockets to serve on: systemd's, else the configured addresses (an
/// address that cannot be opened — say `::1` on a host without IPv6 — is
/// reported and skipped). Fails if there is none.
pub fn open(config: &Config) -> Result<Listening, ListenError> {
    let (listeners, activated) = match inherited()? {
        Some(l) if !l.is_empty() => (l, true),
        _ => (bind_all(&config.listen)?, false),
    };
    for l in &listeners {
        let how = if activated {
            " (socket from systemd)"
        } else {
            ""
        };
        match l.local_addr() {
            Ok(a) => eprintln!("darkstat-webd: serving {}{how}", url(a, &config.base)),
            Err(e) => eprintln!("darkstat-webd: serving an unnamed socket{how}: {e}"),
        }
    }
    Ok(Listening {
        listeners,
        activated,
    })
}

fn bind_all(addrs: &[SocketAddr]) -> Result<Vec<TcpListener>, ListenError> {
    let mut listeners = Vec::new();
    let mut last_err = None;
    for &addr in addrs {
        match open_listener(addr) {
            Ok(l) => listeners.push(l),
            Err(e) => {
                eprintln!("darkstat-webd: cannot listen on {addr}: {e}");
                last_err = Some(e);
            }
        }
    }
    if listeners.is_empty() {
        return Err(ListenError::NoAddress(
            last_err.unwrap_or_else(|| io::Error::other("no address configured")),
        ));
    }
    Ok(listeners)
}

fn url(addr: SocketAddr, base: &str) -> String {
    match addr {
        SocketAddr::V6(a) => format!("http://[{}]:{}{base}/", a.ip(), a.port()),
        SocketAddr::V4(a) => format!("http://{a}{base}/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_follows_sd_listen_fds() {
        let me = 4242;
        assert_eq!(activation_fds(None, None, me).unwrap(), 0);
        assert_eq!(activation_fds(Some("4242"), None, me).unwrap(), 0);
        // meant for another process (e.g. inherited from a parent)
        assert_eq!(activation_fds(Some("1"), Some("2"), me).unwrap(), 0);
        assert_eq!(activation_fds(None, Some("2"), me).unwrap(), 0);
        assert_eq!(activation_fds(Some("4242"), Some("2"), me).unwrap(), 2);
        assert_eq!(activation_fds(Some("4242"), Some("0"), me).unwrap(), 0);
        assert!(activation_fds(Some("4242"), Some("x"), me).is_err());
        assert!(activation_fds(Some("-1"), Some("1"), me).is_err());
        assert!(activation_fds(Some("4242"), Some("-1"), me).is_err());
        assert!(activation_fds(Some("4242"), Some("17"), me).is_err());
        assert_eq!(activation_fds(Some("4242"), Some("16"), me).unwrap(), 16);
    }

    #[test]
    fn urls_of_listeners() {
        assert_eq!(
            url("127.0.0.1:667".parse().unwrap(), ""),
            "http://127.0.0.1:667/"
        );
        assert_eq!(
            url("[::1]:667".parse().unwrap(), "/ds"),
            "http://[::1]:667/ds/"
        );
    }
}
