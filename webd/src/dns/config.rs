//! config: the resolver's settings — which name servers to ask (from
//! resolv.conf, read once at start, before any chroot, or given
//! explicitly) and the bounds on workers, queue, cache and TTLs.
//! It must never read resolv.conf again after start.

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use super::DnsError;

/// glibc reads at most three `nameserver` lines (MAXNS).
pub const MAX_SERVERS: usize = 3;
const RESOLV_CONF_MAX_BYTES: u64 = 64 * 1024;

/// How the resolver runs. Build it with [`DnsConfig::from_system`] or
/// [`DnsConfig::with_servers`], then adjust fields if needed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsConfig {
    /// Name servers, asked in order (UDP port 53 unless given).
    pub servers: Vec<SocketAddr>,
    /// Lookups running at the same time.
    pub workers: usize,
    /// Lookups waiting; when full, further requests are dropped and asked
    /// again the next time the host is shown.
    pub queue_len: usize,
    /// Addresses remembered; must exceed `queue_len + workers`.
    pub cache_len: usize,
    /// Wait for one answer from one server.
    pub timeout: Duration,
    /// Rounds over the server list before giving up.
    pub attempts: u32,
    /// Bounds applied to a PTR's TTL (for names and invalid names alike).
    pub min_ttl: Duration,
    pub max_ttl: Duration,
    /// How long NXDOMAIN, no PTR, SERVFAIL, timeouts and garbage are kept.
    pub negative_ttl: Duration,
}

impl DnsConfig {
    pub const RESOLV_CONF: &'static str = "/etc/resolv.conf";

    /// The defaults with the given servers.
    pub fn with_servers(servers: Vec<SocketAddr>) -> DnsConfig {
        DnsConfig {
            servers,
            workers: 4,
            queue_len: 256,
            cache_len: 16 * 1024,
            timeout: Duration::from_secs(2),
            attempts: 2,
            min_ttl: Duration::from_secs(60),
            max_ttl: Duration::from_secs(24 * 3600),
            negative_ttl: Duration::from_secs(10 * 60),
        }
    }

    /// The defaults with the servers of `/etc/resolv.conf`.
    pub fn from_system() -> Result<DnsConfig, DnsError> {
        Self::from_resolv_conf(Path::new(Self::RESOLV_CONF))
    }

    /// The defaults with the servers of a resolv.conf file. A missing file
    /// or one without usable `nameserver` lines means 127.0.0.1, as for
    /// glibc's resolver.
    pub fn from_resolv_conf(path: &Path) -> Result<DnsConfig, DnsError> {
        let text = match std::fs::File::open(path) {
            Ok(f) => {
                let mut buf = Vec::new();
                f.take(RESOLV_CONF_MAX_BYTES)
                    .read_to_end(&mut buf)
                    .map_err(|e| DnsError::ResolvConf(path.display().to_string(), e))?;
                String::from_utf8_lossy(&buf).into_owned()
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(DnsError::ResolvConf(path.display().to_string(), e)),
        };
        let mut servers = parse_resolv_conf(&text);
        if servers.is_empty() {
            servers.push(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 53));
        }
        Ok(Self::with_servers(servers))
    }

    /// The longest one lookup can take: every attempt on every server.
    pub(crate) fn lookup_budget(&self) -> Duration {
        let tries = self.attempts.saturating_mul(self.servers.len() as u32);
        self.timeout.saturating_mul(tries)
    }

    pub(crate) fn check(&self) -> Result<(), DnsError> {
        let bad = |what| Err(DnsError::Config(what));
        if self.servers.is_empty() {
            return bad("no name server");
        }
        if !(1..=64).contains(&self.workers) {
            return bad("workers must be 1 to 64");
        }
        if !(1..=65_536).contains(&self.queue_len) {
            return bad("queue_len must be 1 to 65536");
        }
        if self.cache_len <= self.queue_len + self.workers || self.cache_len > 1 << 22 {
            return bad("cache_len must exceed queue_len + workers and be at most 4194304");
        }
        if self.timeout.is_zero() || self.timeout > Duration::from_secs(30) {
            return bad("timeout must be above 0 and at most 30 s");
        }
        if !(1..=5).contains(&self.attempts) {
            return bad("attempts must be 1 to 5");
        }
        if self.min_ttl > self.max_ttl || self.max_ttl > Duration::from_secs(7 * 86_400) {
            return bad("min_ttl must not exceed max_ttl, which must be at most 7 days");
        }
        if self.negative_ttl.is_zero() || self.negative_ttl > Duration::from_secs(86_400) {
            return bad("negative_ttl must be above 0 and at most 1 day");
        }
        Ok(())
    }
}

/// The `nameserver` addresses of a resolv.conf, at most [`MAX_SERVERS`].
/// Lines that do not parse are skipped, as glibc does; so are IPv6
/// addresses with a `%zone`, which would need the interface index.
pub fn parse_resolv_conf(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_ascii_whitespace();
            if words.next()? != "nameserver" {
                return None;
            }
            let ip: IpAddr = words.next()?.parse().ok()?;
            Some(SocketAddr::new(ip, 53))
        })
        .take(MAX_SERVERS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_servers() {
        let text = "# comment\n; nameserver 192.0.2.99\nsearch lan\n\
                    nameserver 127.0.0.53\n  nameserver\t::1 \n\
                    nameserver fe80::1%eth0\nnameserver bogus\nnameserver\n\
                    nameserver 192.0.2.1\nnameserver 192.0.2.2\n\
                    options edns0 trust-ad\n";
        let got = parse_resolv_conf(text);
        let want: Vec<SocketAddr> = ["127.0.0.53:53", "[::1]:53", "192.0.2.1:53"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(got, want);
        assert!(parse_resolv_conf("nameservers 192.0.2.1\n").is_empty());
    }

    #[test]
    fn resolv_conf_files() {
        let dir = std::env::temp_dir().join(format!("darkstat-dns-conf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("resolv.conf");
        std::fs::write(&f, "nameserver 198.18.53.2\n").unwrap();
        let c = DnsConfig::from_resolv_conf(&f).unwrap();
        assert_eq!(c.servers, vec!["198.18.53.2:53".parse().unwrap()]);
        assert!(c.check().is_ok());
        std::fs::write(&f, "search lan\n").unwrap();
        let c = DnsConfig::from_resolv_conf(&f).unwrap();
        assert_eq!(c.servers, vec!["127.0.0.1:53".parse().unwrap()]);
        let c = DnsConfig::from_resolv_conf(&dir.join("missing")).unwrap();
        assert_eq!(c.servers, vec!["127.0.0.1:53".parse().unwrap()]);
        // A directory cannot be read as a file.
        assert!(matches!(
            DnsConfig::from_resolv_conf(&dir),
            Err(DnsError::ResolvConf(..))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bounds_are_checked() {
        let ok = DnsConfig::with_servers(vec!["127.0.0.1:53".parse().unwrap()]);
        assert!(ok.check().is_ok());
        let mut c = ok.clone();
        c.servers.clear();
        assert!(c.check().is_err());
        let mut c = ok.clone();
        c.workers = 0;
        assert!(c.check().is_err());
        let mut c = ok.clone();
        c.cache_len = c.queue_len + c.workers;
        assert!(c.check().is_err());
        let mut c = ok.clone();
        c.min_ttl = c.max_ttl + Duration::from_secs(1);
        assert!(c.check().is_err());
        let mut c = ok.clone();
        c.timeout = Duration::ZERO;
        assert!(c.check().is_err());
        let mut c = ok;
        c.attempts = 0;
        assert!(c.check().is_err());
    }
}
