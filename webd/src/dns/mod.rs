//! dns: reverse DNS for the hosts webd shows.
//!
//! Pages call [`Resolver::name`], which only looks at the cache: it returns
//! what is known and, when the name is unknown or expired, puts the
//! address on a bounded queue (full: dropped, asked again the next time the
//! host is shown). A few worker tasks on the tokio runtime that created the
//! resolver send the PTR queries (`client`, `wire`), validate the answers
//! (`name`) and store them with a TTL in a bounded cache (`cache`).
//!
//! It must never block or await in `name`, never look up a host no page
//! showed, and never hand out a name that did not pass
//! [`validate_labels`]: PTR answers are attacker-controlled. Refused names
//! become [`NameState::Invalid`] and are logged escaped (`log`).

mod cache;
mod client;
mod config;
mod log;
mod name;
pub mod wire;

#[cfg(test)]
mod fake_server;
#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use thiserror::Error;
use tokio::sync::mpsc;

use cache::{Cache, Look, Value};
use client::Outcome;
pub use config::{parse_resolv_conf, DnsConfig, MAX_SERVERS};
pub use name::{validate_labels, validate_name, InvalidName, MAX_LABEL_LEN, MAX_NAME_LEN};

/// What a page may show for an address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameState {
    /// No lookup yet: DNS is off, or the queue was full (it is asked again
    /// the next time the host is shown).
    Unknown,
    /// A lookup is queued or running.
    Pending,
    /// A validated name: lowercase LDH labels joined by dots, at most 253
    /// bytes, nothing else.
    Name(Arc<str>),
    /// The PTR answer was not a valid host name.
    Invalid,
    /// No name: NXDOMAIN, no PTR, a failed lookup, or an address that is
    /// never looked up (unspecified, broadcast, multicast, link-local).
    NoName,
}

#[derive(Debug, Error)]
pub enum DnsError {
    #[error("reading {0}: {1}")]
    ResolvConf(String, #[source] std::io::Error),
    #[error("DNS configuration: {0}")]
    Config(&'static str),
    #[error("the resolver must be created inside a tokio runtime")]
    NoRuntime,
}

/// Counters for `/metrics`. `cached` and `queued` are gauges, the rest
/// only grow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DnsStats {
    pub cached: usize,
    pub queued: usize,
    pub queue_capacity: usize,
    /// Requests dropped because the queue was full.
    pub dropped: u64,
    /// Lookups finished, by result.
    pub names: u64,
    pub invalid: u64,
    pub no_name: u64,
    pub failed: u64,
}

/// The reverse-DNS service. Cheap to clone; all clones share one cache and
/// queue. The worker tasks end when the last clone is dropped.
#[derive(Clone)]
pub struct Resolver {
    inner: Option<Arc<Handle>>,
}

struct Handle {
    queue: mpsc::Sender<IpAddr>,
    shared: Arc<Shared>,
}

/// What the page side and the workers share.
struct Shared {
    config: DnsConfig,
    cache: Mutex<Cache>,
    clock: Box<dyn Clock>,
    log: log::Sink,
    log_limit: Mutex<log::Limiter>,
    dropped: AtomicU64,
    names: AtomicU64,
    invalid: AtomicU64,
    no_name: AtomicU64,
    failed: AtomicU64,
}

/// Time for the cache; tests substitute a hand-moved clock.
trait Clock: Send + Sync {
    fn now(&self) -> Instant;
}

struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

impl Resolver {
    /// Starts `config.workers` lookup tasks on the current tokio runtime.
    /// Call it from inside the runtime that serves the pages (e.g. in an
    /// `#[actix_web::main]` main); `name` may then be called from any
    /// thread. Fails outside a runtime or with out-of-bounds settings.
    pub fn new(config: DnsConfig) -> Result<Self, DnsError> {
        Self::start(config, Box::new(SystemClock), log::stderr_sink())
    }

    /// A resolver that never looks anything up (`--no-dns`): every address
    /// is [`NameState::Unknown`].
    pub fn disabled() -> Self {
        Resolver { inner: None }
    }

    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    fn start(config: DnsConfig, clock: Box<dyn Clock>, log: log::Sink) -> Result<Self, DnsError> {
        config.check()?;
        let rt = tokio::runtime::Handle::try_current().map_err(|_| DnsError::NoRuntime)?;
        let (tx, rx) = mpsc::channel(config.queue_len);
        // A queued request may wait for everything ahead of it, a few
        // workers at a time, before its own lookup runs.
        let rounds = (config.queue_len / config.workers + 2) as u32;
        let lookup_limit = config.lookup_budget().saturating_mul(rounds);
        let shared = Arc::new(Shared {
            cache: Mutex::new(Cache::new(config.cache_len, lookup_limit)),
            config,
            clock,
            log,
            log_limit: Mutex::new(log::Limiter::new()),
            dropped: AtomicU64::new(0),
            names: AtomicU64::new(0),
            invalid: AtomicU64::new(0),
            no_name: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        });
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..shared.config.workers {
            rt.spawn(worker(Arc::clone(&shared), Arc::clone(&rx)));
        }
        Ok(Resolver {
            inner: Some(Arc::new(Handle { queue: tx, shared })),
        })
    }

    /// What is known about `ip`'s name, without waiting. Queues a lookup
    /// when the name is unknown or expired; an expired name is still
    /// returned while its refresh runs.
    pub fn name(&self, ip: IpAddr) -> NameState {
        let Some(h) = &self.inner else {
            return NameState::Unknown;
        };
        if !worth_asking(ip) {
            return NameState::NoName;
        }
        let now = h.shared.clock.now();
        let mut cache = h.shared.lock_cache();
        match cache.look(ip, now) {
            Look::Fresh(state) => state,
            Look::Busy(stale) => stale.unwrap_or(NameState::Pending),
            Look::Ask(stale) => match h.queue.try_send(ip) {
                Ok(()) => {
                    cache.begin(ip, now);
                    stale.unwrap_or(NameState::Pending)
                }
                Err(_) => {
                    h.shared.dropped.fetch_add(1, Relaxed);
                    stale.unwrap_or(NameState::Unknown)
                }
            },
        }
    }

    /// What the cache holds for `ip`, without queueing a lookup: for code
    /// that goes over many hosts (filters, the JSON API) and must not cause
    /// lookups for hosts nobody is shown. Expired names are still returned;
    /// [`NameState::Unknown`] if nothing is cached.
    pub fn cached(&self, ip: IpAddr) -> NameState {
        let Some(h) = &self.inner else {
            return NameState::Unknown;
        };
        if !worth_asking(ip) {
            return NameState::NoName;
        }
        let now = h.shared.clock.now();
        match h.shared.lock_cache().peek(ip, now) {
            Look::Fresh(state) => state,
            Look::Busy(stale) => stale.unwrap_or(NameState::Pending),
            Look::Ask(stale) => stale.unwrap_or(NameState::Unknown),
        }
    }

    /// Every cached address that has a name (at most `cache_len`), e.g. to
    /// filter hosts by name without asking the cache once per host.
    pub fn cached_names(&self) -> Vec<(IpAddr, Arc<str>)> {
        match &self.inner {
            Some(h) => h.shared.lock_cache().names(),
            None => Vec::new(),
        }
    }

    pub fn stats(&self) -> DnsStats {
        let Some(h) = &self.inner else {
            return DnsStats::default();
        };
        let s = &h.shared;
        let capacity = h.queue.max_capacity();
        DnsStats {
            cached: s.lock_cache().len(),
            queued: capacity - h.queue.capacity(),
            queue_capacity: capacity,
            dropped: s.dropped.load(Relaxed),
            names: s.names.load(Relaxed),
            invalid: s.invalid.load(Relaxed),
            no_name: s.no_name.load(Relaxed),
            failed: s.failed.load(Relaxed),
        }
    }
}

impl Shared {
    /// Nothing panics while holding the lock, but a poisoned cache is still
    /// a consistent cache.
    fn lock_cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Turns a lookup's outcome into a cached value; the only place where
    /// a PTR target becomes a name.
    fn store(&self, ip: IpAddr, outcome: Outcome) {
        let c = &self.config;
        let positive = |ttl: u32| Duration::from_secs(u64::from(ttl)).clamp(c.min_ttl, c.max_ttl);
        let now = self.clock.now();
        let (value, ttl) = match outcome {
            Outcome::Ptr(target, ttl) => match validate_labels(target.labels()) {
                Ok(name) => {
                    self.names.fetch_add(1, Relaxed);
                    (Value::Name(Arc::from(name)), positive(ttl))
                }
                Err(why) => {
                    self.invalid.fetch_add(1, Relaxed);
                    let escaped = log::escape_labels(target.labels());
                    self.log_limit
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .invalid_ptr(&self.log, now, ip, &escaped, why);
                    (Value::Invalid, positive(ttl))
                }
            },
            Outcome::NoName => {
                self.no_name.fetch_add(1, Relaxed);
                (Value::NoName, c.negative_ttl)
            }
            Outcome::Failed(_) => {
                self.failed.fetch_add(1, Relaxed);
                (Value::NoName, c.negative_ttl)
            }
        };
        self.lock_cache().finish(ip, value, now, ttl);
    }
}

async fn worker(shared: Arc<Shared>, rx: Arc<tokio::sync::Mutex<mpsc::Receiver<IpAddr>>>) {
    loop {
        let next = rx.lock().await.recv().await;
        let Some(ip) = next else {
            return; // every Resolver clone is gone
        };
        let c = &shared.config;
        let qname = wire::WireName::reverse(ip);
        let outcome = client::lookup(&c.servers, &qname, c.timeout, c.attempts).await;
        shared.store(ip, outcome);
    }
}

/// Addresses whose PTR no server has: asking would only leak them.
fn worth_asking(ip: IpAddr) -> bool {
    let ip = ip.to_canonical();
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() || v4.is_link_local())
        }
        IpAddr::V6(v6) => !(v6.is_unspecified() || v6.is_multicast() || v6.is_unicast_link_local()),
    }
}
