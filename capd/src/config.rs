//! Raw [`Args`](crate::cli::Args) → a validated [`Config`]: every check that
//! can fail on the command line happens here, before anything is opened.

use std::path::PathBuf;

use common::net::{LocalNet, LocalNets, NetParseError};

use crate::account::Limits;
use crate::cli::{Args, WebArgs};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid -l {arg:?}: {source}")]
    LocalNet { arg: String, source: NetParseError },
    #[error("no capture source: give -i INTERFACE or -r FILE")]
    NoSource,
    #[error("--{name} {value} is out of range (max {max})")]
    OutOfRange {
        name: &'static str,
        value: u64,
        max: u64,
    },
    #[error("with -r only one filter applies; got {0} (-f/-e)")]
    TooManyFilters(usize),
}

/// Where packets come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A capture file ("-" = standard input).
    File(PathBuf),
    /// Live interfaces, each with its filter.
    Live(Vec<(String, Option<String>)>),
}

#[derive(Debug, Clone)]
pub struct Config {
    pub source: Source,
    /// The filter of a capture file.
    pub filter: Option<String>,
    pub local: LocalNets,
    pub limits: Limits,
    pub dump_json: Option<PathBuf>,
    pub verbose: bool,
    pub promisc: bool,
    pub snaplen: Option<u32>,
    pub web: WebArgs,
    pub user: String,
    pub chroot: Option<PathBuf>,
    /// The state file, unless --no-state.
    pub state_file: Option<PathBuf>,
    pub checkpoint: u64,
    pub import: Option<PathBuf>,
    pub export: Option<PathBuf>,
    pub web_user: String,
    pub pidfile: Option<PathBuf>,
    pub syslog: bool,
    pub detach: bool,
    pub daylog: Option<PathBuf>,
    pub wait: Option<u64>,
    #[cfg(feature = "test-hooks")]
    pub test_hook: Option<String>,
    /// Adjustments made to the arguments, to be shown as warnings.
    pub notices: Vec<String>,
}

const MAX_HOSTS: u64 = u32::MAX as u64;
const MAX_PORTS: u64 = 65_536;

/// darkstat's rule: keep must be below max, else max / 2.
fn keep_below(name: &str, max: u64, keep: u64, notices: &mut Vec<String>) -> u64 {
    if max > 0 && keep >= max {
        notices.push(format!(
            "--{name}-keep {keep} is not below --{name}-max {max}; keeping {} instead",
            max / 2
        ));
        max / 2
    } else {
        keep
    }
}

fn in_range(name: &'static str, value: u64, max: u64) -> Result<u64, ConfigError> {
    if value > max {
        Err(ConfigError::OutOfRange { name, value, max })
    } else {
        Ok(value)
    }
}

impl Config {
    pub fn from_args(a: Args) -> Result<Self, ConfigError> {
        let mut notices = Vec::new();
        let mut local = LocalNets::default();
        for l in &a.local {
            let n: LocalNet = l.parse().map_err(|source| ConfigError::LocalNet {
                arg: l.clone(),
                source,
            })?;
            local.push(n);
        }
        let hosts_max = in_range("hosts-max", a.hosts_max, MAX_HOSTS)?;
        let hosts_keep = keep_below(
            "hosts",
            hosts_max,
            in_range("hosts-keep", a.hosts_keep, MAX_HOSTS)?,
            &mut notices,
        );
        let ports_max = in_range("ports-max", a.ports_max, MAX_PORTS)?;
        let ports_keep = keep_below(
            "ports",
            ports_max,
            in_range("ports-keep", a.ports_keep, MAX_PORTS)?,
            &mut notices,
        );
        let mut file_filter = None;
        let source = match (a.read, a.interface.is_empty()) {
            (Some(path), _) => {
                if a.filter.len() > 1 {
                    return Err(ConfigError::TooManyFilters(a.filter.len()));
                }
                file_filter = a.filter.into_iter().next();
                Source::File(path)
            }
            (None, false) => {
                // darkstat's rule: the n-th filter goes to the n-th
                // interface; a single filter applies to all of them.
                let filters = a.filter;
                if filters.len() > a.interface.len() {
                    notices.push(format!(
                        "ignoring {} filter(s) beyond the {} interface(s)",
                        filters.len() - a.interface.len(),
                        a.interface.len()
                    ));
                }
                let live = a
                    .interface
                    .into_iter()
                    .enumerate()
                    .map(|(n, i)| {
                        let f = if filters.len() == 1 {
                            filters.first()
                        } else {
                            filters.get(n)
                        };
                        (i, f.cloned())
                    })
                    .collect();
                Source::Live(live)
            }
            (None, true) => return Err(ConfigError::NoSource),
        };
        Ok(Config {
            source,
            filter: file_filter,
            local,
            limits: Limits {
                hosts_max: hosts_max as usize,
                hosts_keep: hosts_keep as usize,
                ports_max: ports_max as usize,
                ports_keep: ports_keep as usize,
                highest_port: a.highest_port,
            },
            dump_json: a.dump_json,
            verbose: a.verbose,
            promisc: !a.no_promisc,
            snaplen: a.snaplen,
            web: a.web,
            user: a.user,
            chroot: a.chroot,
            state_file: (!a.no_state).then(|| a.state_dir.join(crate::persist::state::FILE_NAME)),
            checkpoint: a.checkpoint,
            import: a.import,
            export: a.export,
            web_user: a.web_user,
            pidfile: a.pidfile,
            syslog: a.syslog,
            detach: a.detach,
            daylog: a.daylog,
            wait: a.wait,
            #[cfg(feature = "test-hooks")]
            test_hook: a.test_hook,
            notices,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn cfg(args: &[&str]) -> Result<Config, ConfigError> {
        let mut v = vec!["darkstat-capd"];
        v.extend_from_slice(args);
        Config::from_args(Args::try_parse_from(v).unwrap())
    }

    #[test]
    fn keep_not_below_max_is_halved_with_a_notice() {
        let c = cfg(&["-r", "x", "--hosts-max", "10", "--hosts-keep", "10"]).unwrap();
        assert_eq!(c.limits.hosts_keep, 5);
        assert_eq!(c.notices.len(), 1);
        let c = cfg(&["-r", "x", "--ports-max", "65536"]).unwrap();
        assert_eq!(c.limits.ports_keep, 30);
        assert!(c.notices.is_empty());
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(matches!(
            cfg(&["-r", "x", "--ports-max", "65537"]),
            Err(ConfigError::OutOfRange { .. })
        ));
        assert!(matches!(
            cfg(&["-r", "x", "-l", "10.0.0.0/40"]),
            Err(ConfigError::LocalNet { .. })
        ));
        assert!(matches!(cfg(&[]), Err(ConfigError::NoSource)));
        assert!(matches!(
            cfg(&["-r", "x", "-f", "tcp", "-e", "udp"]),
            Err(ConfigError::TooManyFilters(2))
        ));
    }

    #[test]
    fn filters_go_to_interfaces_in_order_or_one_to_all() {
        let c = cfg(&["-i", "eth0", "-i", "eth1", "-f", "tcp", "-f", "udp"]).unwrap();
        assert_eq!(
            c.source,
            Source::Live(vec![
                ("eth0".into(), Some("tcp".into())),
                ("eth1".into(), Some("udp".into()))
            ])
        );
        let c = cfg(&["-i", "eth0", "-i", "lo", "-e", "port 53"]).unwrap();
        assert_eq!(
            c.source,
            Source::Live(vec![
                ("eth0".into(), Some("port 53".into())),
                ("lo".into(), Some("port 53".into()))
            ])
        );
        let c = cfg(&["-i", "eth0", "-f", "tcp", "-f", "udp"]).unwrap();
        assert_eq!(
            c.source,
            Source::Live(vec![("eth0".into(), Some("tcp".into()))])
        );
        assert_eq!(c.notices.len(), 1);
        assert!(Args::try_parse_from(["darkstat-capd", "-i", "eth0", "-r", "f"]).is_err());
    }

    #[test]
    fn web_options_pass_through() {
        let c = cfg(&[
            "-i", "eth0", "-p", "8080", "-b", "0.0.0.0", "-n", "--base", "/stats/",
        ])
        .unwrap();
        let a: Vec<String> = c
            .web
            .to_webd_args(std::path::Path::new("/run/x.sock"), "webuser")
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect();
        assert_eq!(
            a,
            [
                "--exit-with-parent",
                "--user",
                "webuser",
                "--socket",
                "/run/x.sock",
                "--port",
                "8080",
                "--bind",
                "0.0.0.0",
                "--base",
                "/stats/",
                "--no-dns"
            ]
        );
    }

    #[test]
    fn several_local_networks_of_both_families() {
        let c = cfg(&[
            "-r",
            "x",
            "-l",
            "10.0.0.0/8",
            "-l",
            "2001:db8::/32",
            "-l",
            "192.168.0.0/255.255.0.0",
        ])
        .unwrap();
        assert_eq!(c.local.nets().len(), 3);
    }
}
