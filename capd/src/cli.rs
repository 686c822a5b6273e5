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
    /// Read packets from a pcap or pcapng capture file ("-" for standard
    /// input) instead of capturing live.
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub read: Option<PathBuf>,

    /// BPF filter expression (tcpdump syntax) applied to every packet
    /// before it is counted. `-e` is the same option (darkstat 2's
    /// spelling).
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

    /// Print warnings and progress details on standard error.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
}
