//! The command line. Spellings follow darkstat where it has the option
//! (`-r`, `-f` and the seed article's `-e`, `-l`, `--hosts-max`, ...); the
//! doc comments are the `--help` text.

use std::path::PathBuf;

use clap::Parser;

/// Defaults sized for a 64-bit gateway with 512 MiB of RAM (README,
/// "Memory").
pub const DEFAULT_HOSTS_MAX: u64 = 30_000;
pub const DEFAULT_HOSTS_KEEP: u64 = 20_000;
pub const DEFAULT_PORTS_MAX: u64 = 60;
pub const DEFAULT_PORTS_KEEP: u64 = 30;

#[derive(Debug, Parser)]
#[command(
    name = "darkstat-capd",
    version,
    about = "darkstat-rs capture daemon: counts traffic per host, port and IP protocol",
    long_about = None,
    after_help = "Example: darkstat-capd -r capture.pcapng -l 192.168.1.0/24 --dump-json -"
)]
pub struct Args {
    /// Capture live on this interface ("any" for all); repeatable to
    /// capture on several at once.
    #[arg(
        short = 'i',
        long = "interface",
        value_name = "IFACE",
        conflicts_with = "read"
    )]
    pub interface: Vec<String>,

    /// Read packets from a pcap or pcapng capture file ("-" for standard
    /// input) instead of capturing live. Without --dump-json the dashboard
    /// keeps serving the file's statistics until SIGINT/SIGTERM.
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub read: Option<PathBuf>,

    /// BPF filter expression (tcpdump syntax) applied to every packet
    /// before it is counted; repeatable: the n-th filter goes to the n-th
    /// -i, a single filter to all of them. `-e` is the same option
    /// (darkstat 2's spelling).
    #[arg(
        short = 'f',
        long = "filter",
        visible_short_alias = 'e',
        value_name = "EXPR"
    )]
    pub filter: Vec<String>,

    /// A local network, as NET/MASK or NET/PREFIX-LENGTH, IPv4 or IPv6;
    /// repeatable. Traffic crossing the local boundary is graphed and
    /// counted as in/out in the protocols table. [default: none]
    #[arg(short = 'l', long = "local", value_name = "NET/MASK")]
    pub local: Vec<String>,

    /// Write the statistics as the JSON document of spec/json.md to PATH
    /// ("-" for standard output) once the capture file is read, then exit.
    #[arg(long = "dump-json", value_name = "PATH")]
    pub dump_json: Option<PathBuf>,

    /// Number of hosts that triggers an eviction; 0 disables per-host
    /// accounting (totals, graphs and the global tables are still kept).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_HOSTS_MAX)]
    pub hosts_max: u64,

    /// Number of hosts kept by an eviction (the busiest by total bytes).
    /// Must be below --hosts-max; otherwise half of it is used.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_HOSTS_KEEP)]
    pub hosts_keep: u64,

    /// Entries per port table of a host (TCP/UDP, local/remote) that
    /// trigger an eviction of that table; 0 disables per-host port tables.
    /// At most 65536.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PORTS_MAX)]
    pub ports_max: u64,

    /// Entries kept by a port-table eviction (the busiest). Must be below
    /// --ports-max; otherwise half of it is used.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PORTS_KEEP)]
    pub ports_keep: u64,

    /// Ports above this number are not put in port tables (their bytes
    /// still count for hosts and protocols).
    #[arg(long, value_name = "PORT", default_value_t = 65535)]
    pub highest_port: u16,

    /// Append one line per day of traffic across the local boundary to
    /// FILE (darkstat's daylog format; UTC days).
    #[arg(long, value_name = "FILE")]
    pub daylog: Option<PathBuf>,

    /// Wait up to SECS seconds for an interface that does not exist or is
    /// not up yet (0: forever).
    #[arg(long, value_name = "SECS")]
    pub wait: Option<u64>,

    /// Do not put the interfaces into promiscuous mode.
    #[arg(short = 'P', long = "no-promisc")]
    pub no_promisc: bool,

    /// Bytes captured per packet. [default: computed: link header, IPv6
    /// header with 256 bytes of extension headers, TCP flags]
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(64..=262144))]
    pub snaplen: Option<u32>,

    /// State directory: the state file (darkstat-rs.state) lives here and
    /// is the only place capd may write after start-up.
    #[arg(
        short = 'd',
        long = "state-dir",
        value_name = "DIR",
        default_value = "/var/lib/darkstat-rs"
    )]
    pub state_dir: PathBuf,

    /// Seconds between checkpoints of the state file; 0 saves only on
    /// SIGTERM/SIGINT, SIGUSR1 and SIGUSR2.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub checkpoint: u64,

    /// Do not read or write the state file.
    #[arg(long)]
    pub no_state: bool,

    /// Load statistics from FILE at start: a darkstat-rs state file or a
    /// darkstat 3 export (--export of darkstat), recognised by its magic.
    #[arg(long, value_name = "FILE")]
    pub import: Option<PathBuf>,

    /// Also write the state file to FILE on every save (darkstat's option;
    /// the format is darkstat-rs's own).
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,

    /// The web process's user: it alone (and root) may read the statistics
    /// socket.
    #[arg(long, value_name = "USER", default_value = "darkstat-rs-web")]
    pub web_user: String,

    /// Write capd's process id to FILE (refused while that process lives;
    /// a stale file is replaced; removed on a clean exit).
    #[arg(long, value_name = "FILE")]
    pub pidfile: Option<PathBuf>,

    /// Log to syslog (facility daemon) instead of standard error.
    #[arg(long)]
    pub syslog: bool,

    /// Detach from the terminal and run in the background.
    #[arg(long, conflicts_with = "no_daemon")]
    pub detach: bool,

    /// Stay in the foreground (the default; darkstat 3's spelling).
    #[arg(long)]
    pub no_daemon: bool,

    /// When started as root, the user to become once the capture is open
    /// (a dedicated system user; never "nobody").
    #[arg(long, value_name = "USER", default_value = "darkstat-rs")]
    pub user: String,

    /// chroot() into DIR after opening the capture (paths given to other
    /// options are opened before).
    #[arg(long, value_name = "DIR")]
    pub chroot: Option<PathBuf>,

    /// Test-only: what to do once the sandbox is in place
    /// (forbidden-syscall, reattach-filter, open=PATH).
    #[cfg(feature = "test-hooks")]
    #[arg(long, hide = true, value_name = "HOOK")]
    pub test_hook: Option<String>,

    /// Print warnings and progress details on standard error.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,

    #[command(flatten)]
    pub web: WebArgs,
}

/// Options passed through to darkstat-webd, which capd starts next to itself
/// unless --no-web is given.
#[derive(Debug, Clone, clap::Args)]
pub struct WebArgs {
    /// Do not start darkstat-webd (the systemd units start it separately).
    #[arg(long)]
    pub no_web: bool,

    /// HTTP port of the dashboard.
    #[arg(short = 'p', long = "port", value_name = "PORT", default_value_t = 667)]
    pub port: u16,

    /// Address the dashboard listens on; repeatable. Serving the LAN needs
    /// an explicit -b (e.g. -b 0.0.0.0 -b ::). [default: 127.0.0.1 and ::1]
    #[arg(short = 'b', long = "bind", value_name = "ADDR")]
    pub bind: Vec<String>,

    /// URL prefix when the dashboard sits behind a reverse proxy.
    #[arg(long, value_name = "PATH")]
    pub base: Option<String>,

    /// Do not resolve host names.
    #[arg(short = 'n', long = "no-dns")]
    pub no_dns: bool,

    /// Do not show MAC addresses.
    #[arg(long)]
    pub no_macs: bool,

    /// Do not show the "last seen" column.
    #[arg(long)]
    pub no_lastseen: bool,

    /// List only local hosts on the hosts page.
    #[arg(long)]
    pub local_only: bool,

    /// Unix socket on which capd publishes the statistics to webd.
    /// [default: /run/darkstat-rs/capd.sock as root, else a private
    /// directory under $XDG_RUNTIME_DIR or /tmp]
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
}

impl WebArgs {
    /// The command-line arguments that carry these options to webd, which
    /// drops to `web_user` and exits with its parent capd.
    pub fn to_webd_args(
        &self,
        socket: &std::path::Path,
        web_user: &str,
    ) -> Vec<std::ffi::OsString> {
        let mut a: Vec<std::ffi::OsString> = vec![
            "--exit-with-parent".into(),
            "--user".into(),
            web_user.into(),
            "--socket".into(),
            socket.into(),
            "--port".into(),
            self.port.to_string().into(),
        ];
        for b in &self.bind {
            a.push("--bind".into());
            a.push(b.into());
        }
        if let Some(base) = &self.base {
            a.push("--base".into());
            a.push(base.into());
        }
        for (on, flag) in [
            (self.no_dns, "--no-dns"),
            (self.no_macs, "--no-macs"),
            (self.no_lastseen, "--no-lastseen"),
            (self.local_only, "--local-only"),
        ] {
            if on {
                a.push(flag.into());
            }
        }
        a
    }
}
