//! cache: the bounded table of what webd knows about each address's name —
//! a value with an expiry time, and whether a lookup is under way.
//!
//! Eviction is CLOCK (second chance): entries looked at since the hand last
//! passed survive one more round; expired ones go first; entries with a
//! lookup under way are skipped. It must never grow past its capacity and
//! never block: it is a plain data structure behind the resolver's mutex,
//! and all times come from the caller.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::NameState;

/// A finished lookup's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    Name(Arc<str>),
    Invalid,
    NoName,
}

impl Value {
    fn state(&self) -> NameState {
        match self {
            Value::Name(n) => NameState::Name(Arc::clone(n)),
            Value::Invalid => NameState::Invalid,
            Value::NoName => NameState::NoName,
        }
    }
}

/// What the cache says about an address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Look {
    /// A value that has not expired.
    Fresh(NameState),
    /// A lookup is under way; the expired value, if there was one.
    Busy(Option<NameState>),
    /// A lookup is needed; the expired value, if there was one.
    Ask(Option<NameState>),
}

struct Entry {
    ip: IpAddr,
    value: Option<Value>,
    expires: Instant,
    lookup_since: Option<Instant>,
    referenced: bool,
}

pub(crate) struct Cache {
    entries: Vec<Entry>,
    index: HashMap<IpAddr, usize>,
    hand: usize,
    capacity: usize,
    /// After this long a lookup counts as lost and may be asked again.
    lookup_limit: Duration,
}

impl Cache {
    pub(crate) fn new(capacity: usize, lookup_limit: Duration) -> Cache {
        Cache {
            entries: Vec::new(),
            index: HashMap::new(),
            hand: 0,
            capacity: capacity.max(1),
            lookup_limit,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// What is known about `ip`; marks the entry as used.
    pub(crate) fn look(&mut self, ip: IpAddr, now: Instant) -> Look {
        if let Some(&i) = self.index.get(&ip) {
            self.entries[i].referenced = true;
        }
        self.peek(ip, now)
    }

    /// What is known about `ip`, without marking the entry as used (for
    /// readers that go over many hosts and must not keep them all alive).
    pub(crate) fn peek(&self, ip: IpAddr, now: Instant) -> Look {
        let Some(&i) = self.index.get(&ip) else {
            return Look::Ask(None);
        };
        let e = &self.entries[i];
        let shown = e.value.as_ref().map(Value::state);
        match shown {
            _ if self.busy(i, now) => Look::Busy(shown),
            Some(s) if now < e.expires => Look::Fresh(s),
            s => Look::Ask(s),
        }
    }

    /// Every address with a name, expired or not.
    pub(crate) fn names(&self) -> Vec<(IpAddr, Arc<str>)> {
        self.entries
            .iter()
            .filter_map(|e| match &e.value {
                Some(Value::Name(n)) => Some((e.ip, Arc::clone(n))),
                _ => None,
            })
            .collect()
    }

    /// Records that a lookup for `ip` was queued.
    pub(crate) fn begin(&mut self, ip: IpAddr, now: Instant) {
        match self.index.get(&ip) {
            Some(&i) => self.entries[i].lookup_since = Some(now),
            None => self.insert(
                Entry {
                    ip,
                    value: None,
                    expires: now,
                    lookup_since: Some(now),
                    referenced: true,
                },
                now,
            ),
        }
    }

    /// Stores a lookup's result, valid for `ttl` from `now`.
    pub(crate) fn finish(&mut self, ip: IpAddr, value: Value, now: Instant, ttl: Duration) {
        let expires = now.checked_add(ttl).unwrap_or(now);
        match self.index.get(&ip) {
            Some(&i) => {
                let e = &mut self.entries[i];
                e.value = Some(value);
                e.expires = expires;
                e.lookup_since = None;
            }
            // Evicted while the lookup ran: the host was shown, keep it.
            None => self.insert(
                Entry {
                    ip,
                    value: Some(value),
                    expires,
                    lookup_since: None,
                    referenced: false,
                },
                now,
            ),
        }
    }

    fn busy(&self, i: usize, now: Instant) -> bool {
        self.entries[i]
            .lookup_since
            .is_some_and(|t| now.saturating_duration_since(t) < self.lookup_limit)
    }

    fn insert(&mut self, entry: Entry, now: Instant) {
        if self.entries.len() < self.capacity {
            self.index.insert(entry.ip, self.entries.len());
            self.entries.push(entry);
            return;
        }
        let i = self.victim(now);
        self.index.remove(&self.entries[i].ip);
        self.index.insert(entry.ip, i);
        self.entries[i] = entry;
    }

    /// The slot to reuse. Two sweeps clear every reference bit, so a
    /// victim is found unless every entry is busy; the resolver's
    /// configuration keeps the capacity above the number of lookups that
    /// can be under way, and if not, the entry under the hand goes anyway.
    fn victim(&mut self, now: Instant) -> usize {
        let n = self.entries.len();
        for _ in 0..2 * n {
            let i = self.hand;
            self.hand = (self.hand + 1) % n;
            if self.busy(i, now) {
                continue;
            }
            let e = &mut self.entries[i];
            if e.referenced && now < e.expires {
                e.referenced = false;
                continue;
            }
            return i;
        }
        let i = self.hand;
        self.hand = (self.hand + 1) % n;
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const MIN: Duration = Duration::from_secs(60);

    fn ip(n: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, n))
    }

    fn name(s: &str) -> Value {
        Value::Name(Arc::from(s))
    }

    fn state(s: &str) -> NameState {
        NameState::Name(Arc::from(s))
    }

    #[test]
    fn lifecycle_and_expiry() {
        let t0 = Instant::now();
        let mut c = Cache::new(10, MIN);
        assert_eq!(c.look(ip(1), t0), Look::Ask(None));
        c.begin(ip(1), t0);
        assert_eq!(c.look(ip(1), t0), Look::Busy(None));
        let t1 = t0 + Duration::from_secs(1);
        c.finish(ip(1), name("a.example"), t1, Duration::from_secs(100));
        assert_eq!(c.look(ip(1), t1), Look::Fresh(state("a.example")));
        let before = t1 + Duration::from_secs(99);
        assert_eq!(c.look(ip(1), before), Look::Fresh(state("a.example")));
        let after = t1 + Duration::from_secs(100);
        // Expired: the old name is still offered while a new lookup runs.
        assert_eq!(c.look(ip(1), after), Look::Ask(Some(state("a.example"))));
        c.begin(ip(1), after);
        assert_eq!(c.look(ip(1), after), Look::Busy(Some(state("a.example"))));
        c.finish(ip(1), Value::NoName, after, Duration::from_secs(600));
        assert_eq!(c.look(ip(1), after), Look::Fresh(NameState::NoName));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn invalid_is_cached_like_a_name() {
        let t0 = Instant::now();
        let mut c = Cache::new(10, MIN);
        c.begin(ip(1), t0);
        c.finish(ip(1), Value::Invalid, t0, Duration::from_secs(60));
        assert_eq!(c.look(ip(1), t0), Look::Fresh(NameState::Invalid));
        let later = t0 + Duration::from_secs(60);
        assert_eq!(c.look(ip(1), later), Look::Ask(Some(NameState::Invalid)));
    }

    #[test]
    fn lost_lookups_are_asked_again() {
        let t0 = Instant::now();
        let mut c = Cache::new(10, MIN);
        c.begin(ip(1), t0);
        assert_eq!(
            c.look(ip(1), t0 + MIN - Duration::from_millis(1)),
            Look::Busy(None)
        );
        assert_eq!(c.look(ip(1), t0 + MIN), Look::Ask(None));
    }

    #[test]
    fn never_grows_past_capacity() {
        let t0 = Instant::now();
        let mut c = Cache::new(50, MIN);
        for n in 0..=255u8 {
            c.finish(ip(n), Value::NoName, t0, MIN);
            assert!(c.len() <= 50);
        }
        assert_eq!(c.len(), 50);
        assert_eq!(c.index.len(), 50);
        // Every indexed slot holds the address it is indexed under.
        for (addr, &i) in &c.index {
            assert_eq!(c.entries[i].ip, *addr);
        }
        // The newest is present.
        assert_eq!(c.look(ip(255), t0), Look::Fresh(NameState::NoName));
    }

    #[test]
    fn looked_at_entries_get_a_second_chance() {
        let t0 = Instant::now();
        let mut c = Cache::new(3, MIN);
        for n in 1..=3 {
            c.finish(ip(n), name(&format!("h{n}.example")), t0, MIN);
        }
        assert!(matches!(c.look(ip(1), t0), Look::Fresh(_)));
        c.finish(ip(4), Value::NoName, t0, MIN);
        assert!(
            matches!(c.look(ip(1), t0), Look::Fresh(_)),
            "referenced survives"
        );
        assert_eq!(c.look(ip(2), t0), Look::Ask(None), "unreferenced goes");
        assert!(matches!(c.look(ip(3), t0), Look::Fresh(_)));
        assert!(matches!(c.look(ip(4), t0), Look::Fresh(_)));
    }

    #[test]
    fn expired_entries_go_before_referenced_fresh_ones() {
        let t0 = Instant::now();
        let mut c = Cache::new(3, MIN);
        c.finish(ip(1), Value::NoName, t0, Duration::from_secs(10));
        c.finish(ip(2), Value::NoName, t0, Duration::from_secs(1000));
        c.finish(ip(3), Value::NoName, t0, Duration::from_secs(1000));
        for n in 1..=3 {
            c.look(ip(n), t0);
        }
        let later = t0 + Duration::from_secs(20);
        c.finish(ip(4), Value::NoName, later, MIN);
        assert_eq!(c.look(ip(1), later), Look::Ask(None));
        assert!(matches!(c.look(ip(2), later), Look::Fresh(_)));
        assert!(matches!(c.look(ip(3), later), Look::Fresh(_)));
    }

    #[test]
    fn peeking_does_not_keep_entries_alive() {
        let t0 = Instant::now();
        let mut c = Cache::new(2, MIN);
        c.finish(ip(1), name("a.example"), t0, MIN);
        c.finish(ip(2), Value::Invalid, t0, MIN);
        assert_eq!(c.peek(ip(1), t0), Look::Fresh(state("a.example")));
        assert_eq!(c.peek(ip(9), t0), Look::Ask(None));
        assert_eq!(c.names(), vec![(ip(1), Arc::from("a.example"))]);
        c.finish(ip(3), Value::NoName, t0, MIN);
        assert_eq!(
            c.peek(ip(1), t0),
            Look::Ask(None),
            "peeked, still evicted first"
        );
        assert_eq!(c.peek(ip(2), t0), Look::Fresh(NameState::Invalid));
        let later = t0 + MIN;
        c.finish(ip(4), name("b.example"), t0, Duration::from_secs(1));
        assert_eq!(c.peek(ip(4), later), Look::Ask(Some(state("b.example"))));
        assert_eq!(
            c.names(),
            vec![(ip(4), Arc::from("b.example"))],
            "expired names too"
        );
    }

    #[test]
    fn lookups_under_way_are_not_evicted() {
        let t0 = Instant::now();
        let mut c = Cache::new(3, MIN);
        c.begin(ip(1), t0);
        c.begin(ip(2), t0);
        c.finish(ip(3), Value::NoName, t0, MIN);
        c.begin(ip(4), t0);
        assert_eq!(c.look(ip(1), t0), Look::Busy(None));
        assert_eq!(c.look(ip(2), t0), Look::Busy(None));
        assert_eq!(c.look(ip(3), t0), Look::Ask(None));
        assert_eq!(c.look(ip(4), t0), Look::Busy(None));
        // A result for an entry evicted meanwhile is stored again.
        c.finish(ip(3), Value::Invalid, t0, MIN);
        assert_eq!(c.look(ip(3), t0), Look::Fresh(NameState::Invalid));
        assert_eq!(c.len(), 3);
    }
}
