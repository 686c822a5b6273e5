//! cli: darkstat-webd's command line, as clap derives it. The doc comments
//! are the `--help` text. Values are only parsed here; [`crate::config`]
//! validates them and never sees clap types.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Parser;

/// darkstat-rs web daemon: serves the statistics published by darkstat-capd
/// as web pages, JSON (/api/v1/stats) and Prometheus metrics (/metrics).
#[derive(Parser, Debug, Clone, PartialEq, Eq)]
#[command(name = "darkstat-webd", version, after_help = AFTER_HELP)]
pub struct Args {
    /// TCP port to serve HTTP on.
    #[arg(short = 'p', long = "port", value_name = "PORT", default_value_t = 667)]
    pub port: u16,

    /// Address to listen on; repeatable. Serving the LAN is an explicit
    /// choice: pass the LAN address (or 0.0.0.0 / ::) here.
    /// [default: 127.0.0.1 and ::1]
    #[arg(short = 'b', long = "bind", value_name = "ADDR")]
    pub bind: Vec<IpAddr>,

    /// URL path under which a reverse proxy serves the pages, e.g. /darkstat/.
    /// Requests with and without this prefix are served; all links are
    /// relative.
    #[arg(long = "base", value_name = "PATH", default_value = "/")]
    pub base: String,

    /// Do not resolve host names (no reverse DNS lookups).
    #[arg(short = 'n', long = "no-dns")]
    pub no_dns: bool,

    /// Do not show MAC addresses (pages, API and metrics labels).
    #[arg(long = "no-macs")]
    pub no_macs: bool,

    /// Do not show the "last seen" column and field on pages.
    #[arg(long = "no-lastseen")]
    pub no_lastseen: bool,

    /// Show only hosts inside the local networks (pages, API and metrics).
    #[arg(long = "local-only")]
    pub local_only: bool,

    /// Unix socket on which darkstat-capd publishes its statistics.
    #[arg(
        long = "socket",
        value_name = "PATH",
        default_value = "/run/darkstat-rs/capd.sock"
    )]
    pub socket: PathBuf,

    /// Default page refresh interval in seconds; 0 turns automatic refresh
    /// off. Each page has links to change it (`?refresh=N`).
    #[arg(long = "refresh", value_name = "SECS", default_value_t = 10)]
    pub refresh: u32,

    /// User to become after opening the listening sockets, when started as
    /// root (a dedicated system user; never "nobody"). Started as another
    /// user, webd stays that user.
    #[arg(long = "user", value_name = "USER", default_value = crate::privdrop::DEFAULT_USER)]
    pub user: String,

    /// Exit when the process that started webd exits (darkstat-capd passes
    /// this in its one-command mode: an unprivileged capd cannot signal a
    /// webd that dropped to another user).
    #[arg(long)]
    pub exit_with_parent: bool,

    /// Test-only: what to do once the server runs inside its sandbox
    /// (forbidden-syscall, spawn, open=PATH).
    #[cfg(feature = "test-hooks")]
    #[arg(long = "test-hook", hide = true, value_name = "HOOK")]
    pub test_hook: Option<String>,
}

const AFTER_HELP: &str = "\
Pages: / (overview), /hosts/, /hosts/<ip>/, /ports/, /protocols/, /graphs/.
Machine-readable: /api/v1/stats, /api/v1/hosts/<ip>, /metrics, /graphs.xml.";

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn defaults_match_darkstat() {
        let a = Args::try_parse_from(["darkstat-webd"]).unwrap();
        assert_eq!(a.port, 667);
        assert!(a.bind.is_empty());
        assert_eq!(a.base, "/");
        assert_eq!(a.socket, PathBuf::from("/run/darkstat-rs/capd.sock"));
        assert_eq!(a.refresh, 10);
        assert_eq!(a.user, "darkstat-rs-web");
        assert!(!a.no_dns && !a.no_macs && !a.no_lastseen && !a.local_only);
    }

    #[test]
    fn short_and_repeated_options() {
        let a = Args::try_parse_from([
            "darkstat-webd",
            "-p",
            "8080",
            "-b",
            "192.168.1.1",
            "-b",
            "::",
            "-n",
            "--no-macs",
            "--base",
            "/ds/",
        ])
        .unwrap();
        assert_eq!(a.port, 8080);
        assert_eq!(a.bind.len(), 2);
        assert!(a.no_dns && a.no_macs);
        assert_eq!(a.base, "/ds/");
        assert!(Args::try_parse_from(["darkstat-webd", "-p", "65536"]).is_err());
        assert!(Args::try_parse_from(["darkstat-webd", "-b", "example.org"]).is_err());
    }

    #[test]
    fn help_is_consistent() {
        Args::command().debug_assert();
    }
}
