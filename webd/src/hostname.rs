//! hostname: the name shown for a host. This is the only place the pages,
//! the API and the filters ask for names: a name from the snapshot if it
//! has one (capd never fills it; tests do), otherwise the reverse-DNS
//! cache of [`crate::dns::Resolver`]. Nothing here blocks or does I/O.

use std::borrow::Cow;
use std::sync::Arc;

use common::model::HostStats;

use crate::dns::{NameState, Resolver};

/// What the pages show in a host's name cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShownName<'a> {
    /// No name known and none being looked up (or DNS disabled).
    Unknown,
    /// A lookup is in flight.
    Pending,
    /// A name from the snapshot. Untrusted text: always escaped.
    Name(Cow<'a, str>),
    /// A validated name from the resolver. Still escaped when written.
    Resolved(Arc<str>),
    /// The PTR answer was not a valid host name.
    Invalid,
    /// The address has no PTR record.
    NoName,
}

impl ShownName<'_> {
    /// Text for a table cell (escaped by whoever writes it).
    pub fn text(&self) -> &str {
        match self {
            ShownName::Unknown | ShownName::NoName => "",
            ShownName::Pending => "(resolving…)",
            ShownName::Name(n) => n,
            ShownName::Resolved(n) => n,
            ShownName::Invalid => "(invalid PTR)",
        }
    }

    /// A CSS class for texts that are notes rather than names.
    pub fn class(&self) -> Option<&'static str> {
        match self {
            ShownName::Pending | ShownName::Invalid => Some("note"),
            _ => None,
        }
    }
}

/// The source of host names. Cheap to clone.
#[derive(Clone)]
pub struct Hostnames {
    resolver: Resolver,
}

impl Default for Hostnames {
    fn default() -> Self {
        Hostnames {
            resolver: Resolver::disabled(),
        }
    }
}

impl std::fmt::Debug for Hostnames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hostnames")
            .field("dns", &self.resolver.is_enabled())
            .finish()
    }
}

impl Hostnames {
    /// Names from snapshots only (no reverse DNS).
    pub fn without_dns() -> Self {
        Hostnames::default()
    }

    pub fn with_resolver(resolver: Resolver) -> Self {
        Hostnames { resolver }
    }

    pub fn resolver(&self) -> &Resolver {
        &self.resolver
    }

    /// The name to display for a host that is being shown now; starts a
    /// lookup if the resolver has none (bounded: the resolver drops what
    /// its queue cannot take).
    pub fn shown<'a>(&self, host: &'a HostStats) -> ShownName<'a> {
        if let Some(n) = &host.hostname {
            return ShownName::Name(Cow::Borrowed(n.as_str()));
        }
        match self.resolver.name(host.ip) {
            NameState::Unknown => ShownName::Unknown,
            NameState::Pending => ShownName::Pending,
            NameState::Name(n) => ShownName::Resolved(n),
            NameState::Invalid => ShownName::Invalid,
            NameState::NoName => ShownName::NoName,
        }
    }

    /// The name if already known, without starting a lookup: filters, the
    /// API and metrics run over every host and must not ask DNS about
    /// hosts nobody displayed.
    /// A name from the snapshot wins; otherwise the resolver's cache is
    /// read (`Resolver::cached` never queues a lookup). Invalid PTR names
    /// are not names and stay out of the API.
    pub fn known<'a>(&self, host: &'a HostStats) -> Option<Cow<'a, str>> {
        if let Some(n) = &host.hostname {
            return Some(Cow::Borrowed(n.as_str()));
        }
        match self.resolver.cached(host.ip) {
            NameState::Name(n) => Some(Cow::Owned(n.to_string())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: Option<&str>) -> HostStats {
        HostStats {
            hostname: name.map(String::from),
            ..HostStats::new("192.0.2.1".parse().unwrap())
        }
    }

    #[test]
    fn snapshot_names_win_and_disabled_dns_knows_nothing() {
        let n = Hostnames::without_dns();
        let h = host(Some("a.example"));
        assert_eq!(n.shown(&h).text(), "a.example");
        assert_eq!(n.known(&h).as_deref(), Some("a.example"));
        let h = host(None);
        assert_eq!(n.shown(&h), ShownName::Unknown);
        assert_eq!(n.known(&h), None);
    }

    #[test]
    fn notes_are_marked() {
        assert_eq!(ShownName::Invalid.text(), "(invalid PTR)");
        assert_eq!(ShownName::Invalid.class(), Some("note"));
        assert_eq!(ShownName::Pending.class(), Some("note"));
        assert_eq!(ShownName::Resolved("x.example".into()).class(), None);
    }
}
