//! config: the validated settings the web server runs with, built from
//! [`crate::cli::Args`] (or by hand in tests). Never does I/O.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

use crate::cli::Args;

/// Longest automatic refresh interval a page accepts (one day).
pub const MAX_REFRESH_SECS: u32 = 86_400;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Where to listen.
    pub listen: Vec<SocketAddr>,
    /// Reverse-proxy prefix without a trailing slash (`""` for none).
    pub base: String,
    pub dns: bool,
    pub show_macs: bool,
    pub show_last_seen: bool,
    pub local_only: bool,
    pub socket: PathBuf,
    /// Default page refresh in seconds; 0 = off.
    pub refresh_secs: u32,
    /// The user to become when started as root.
    pub user: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("--base {0:?}: expected an absolute URL path such as /darkstat/ (letters, digits, '-', '_', '.', '~' and '/')")]
    Base(String),
    #[error("--refresh {0}: at most {MAX_REFRESH_SECS} seconds")]
    Refresh(u32),
    #[error("--port 0: a fixed port is needed")]
    Port,
    #[error("--user {0:?}: other daemons share this user; use a dedicated one (default darkstat-rs-web)")]
    SharedUser(String),
    #[error("--user: a user name is needed")]
    NoUser,
}

impl Default for Config {
    /// The settings of a run without options.
    fn default() -> Self {
        Config {
            listen: default_listen(667),
            base: String::new(),
            dns: true,
            show_macs: true,
            show_last_seen: true,
            local_only: false,
            socket: PathBuf::from("/run/darkstat-rs/capd.sock"),
            refresh_secs: 10,
            user: crate::privdrop::DEFAULT_USER.into(),
        }
    }
}

fn default_listen(port: u16) -> Vec<SocketAddr> {
    vec![
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
        SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port),
    ]
}

impl TryFrom<Args> for Config {
    type Error = ConfigError;
    fn try_from(a: Args) -> Result<Self, ConfigError> {
        if a.port == 0 {
            return Err(ConfigError::Port);
        }
        if a.refresh > MAX_REFRESH_SECS {
            return Err(ConfigError::Refresh(a.refresh));
        }
        if a.user.is_empty() {
            return Err(ConfigError::NoUser);
        }
        if crate::privdrop::SHARED_USERS.contains(&a.user.as_str()) {
            return Err(ConfigError::SharedUser(a.user));
        }
        let listen = if a.bind.is_empty() {
            default_listen(a.port)
        } else {
            let mut v: Vec<SocketAddr> = Vec::new();
            for ip in a.bind {
                let sa = SocketAddr::new(ip, a.port);
                if !v.contains(&sa) {
                    v.push(sa);
                }
            }
            v
        };
        Ok(Config {
            listen,
            base: normalize_base(&a.base)?,
            dns: !a.no_dns,
            show_macs: !a.no_macs,
            show_last_seen: !a.no_lastseen,
            local_only: a.local_only,
            socket: a.socket,
            refresh_secs: a.refresh,
            user: a.user,
        })
    }
}

/// `/ds/`, `/ds` and `ds` all become `/ds`; `/` becomes `""`. Only
/// unreserved URL characters are accepted, so the prefix can be used as a
/// route without escaping.
pub fn normalize_base(base: &str) -> Result<String, ConfigError> {
    let ok = base.len() <= 200
        && base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~/".contains(&b));
    if !ok {
        return Err(ConfigError::Base(base.into()));
    }
    let parts: Vec<&str> = base.split('/').filter(|s| !s.is_empty()).collect();
    if parts.iter().any(|p| *p == "." || *p == "..") {
        return Err(ConfigError::Base(base.into()));
    }
    Ok(parts.iter().map(|p| format!("/{p}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn defaults_listen_on_loopback_only() {
        let c = Config::try_from(Args::parse_from(["x"])).unwrap();
        assert_eq!(c, Config::default());
        assert!(c.listen.iter().all(|a| a.ip().is_loopback()));
        assert_eq!(c.listen.len(), 2);
    }

    #[test]
    fn bind_and_flags() {
        let c = Config::try_from(Args::parse_from([
            "x",
            "-b",
            "0.0.0.0",
            "-b",
            "0.0.0.0",
            "-p",
            "8080",
            "--no-lastseen",
            "--local-only",
            "-n",
        ]))
        .unwrap();
        assert_eq!(c.listen, vec!["0.0.0.0:8080".parse().unwrap()]);
        assert!(!c.show_last_seen && c.local_only && !c.dns && c.show_macs);
    }

    #[test]
    fn base_is_normalized_and_checked() {
        assert_eq!(normalize_base("/").unwrap(), "");
        assert_eq!(normalize_base("").unwrap(), "");
        assert_eq!(normalize_base("/ds/").unwrap(), "/ds");
        assert_eq!(normalize_base("ds").unwrap(), "/ds");
        assert_eq!(normalize_base("//a//b/").unwrap(), "/a/b");
        assert!(normalize_base("/a b/").is_err());
        assert!(normalize_base("/../x").is_err());
        assert!(normalize_base("/<x>").is_err());
        assert!(normalize_base("/x?y").is_err());
    }

    #[test]
    fn rejects_bad_values() {
        assert_eq!(
            Config::try_from(Args::parse_from(["x", "--refresh", "100000"])),
            Err(ConfigError::Refresh(100000))
        );
        assert_eq!(
            Config::try_from(Args::parse_from(["x", "-p", "0"])),
            Err(ConfigError::Port)
        );
        assert_eq!(
            Config::try_from(Args::parse_from(["x", "--user", "nobody"])),
            Err(ConfigError::SharedUser("nobody".into()))
        );
        assert_eq!(
            Config::try_from(Args::parse_from(["x", "--user", ""])),
            Err(ConfigError::NoUser)
        );
        let c = Config::try_from(Args::parse_from(["x", "--user", "web"])).unwrap();
        assert_eq!(c.user, "web");
    }
}
