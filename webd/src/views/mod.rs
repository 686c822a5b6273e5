//! views: pure functions from a snapshot (and the request's validated
//! parameters) to the values the templates print. No actix, no tera, no
//! clock reads: "now" is passed in. Numbers are copied from the snapshot,
//! never recomputed from other numbers, so a page always equals the JSON.

pub mod graphs;
pub mod host;
pub mod hosts;
pub mod overview;
pub mod ports;
pub mod protocols;

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::clock;
use crate::feed::FeedState;
use crate::query::SelfLink;
use crate::units::duration;

/// Which page is rendered; decides the relative root and the menu entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageKind {
    Overview,
    Hosts,
    Host,
    Ports,
    Protocols,
    Graphs,
}

impl PageKind {
    /// Relative path from the page to the site root (all links are
    /// relative so that any reverse-proxy prefix works).
    pub fn root(self) -> &'static str {
        match self {
            PageKind::Overview => "./",
            PageKind::Host => "../../",
            _ => "../",
        }
    }
}

/// Relative root for an arbitrary request path (error pages).
pub fn root_for_path(path: &str) -> &'static str {
    const ROOTS: [&str; 4] = ["./", "../", "../../", "../../../"];
    let depth = path
        .trim_start_matches('/')
        .rsplit_once('/')
        .map_or(0, |(dirs, _)| dirs.split('/').count());
    ROOTS[depth.min(ROOTS.len() - 1)]
}

#[derive(Serialize, Debug, Clone)]
pub struct NavLink {
    pub label: &'static str,
    pub href: String,
    pub active: bool,
}

#[derive(Serialize, Debug, Clone)]
pub struct RefreshOption {
    pub label: String,
    pub href: String,
    pub current: bool,
}

#[derive(Serialize, Debug, Clone)]
pub struct RefreshView {
    /// 0 = off.
    pub secs: u32,
    pub text: String,
    pub options: Vec<RefreshOption>,
    pub stop_href: String,
    pub start_href: String,
}

#[derive(Serialize, Debug, Clone, Default)]
pub struct Banner {
    pub down: bool,
    pub text: String,
    pub detail: String,
}

/// Everything base.html needs.
#[derive(Serialize, Debug, Clone)]
pub struct Frame {
    pub title: String,
    pub root: &'static str,
    pub nav: Vec<NavLink>,
    pub refresh: RefreshView,
    pub banner: Banner,
    pub asset_v: String,
    pub as_of: String,
    pub version: &'static str,
}

/// Refresh intervals offered by "[change]".
const REFRESH_CHOICES: [u32; 6] = [2, 5, 10, 30, 60, 300];

/// The request's refresh choice: `explicit` from `refresh=`, else the
/// server default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refresh {
    pub explicit: Option<u32>,
    pub default: u32,
}

impl Refresh {
    pub fn secs(self) -> u32 {
        self.explicit.unwrap_or(self.default)
    }
    /// The `refresh` parameter to carry in links (None when default).
    pub fn param(self) -> Option<String> {
        match self.explicit {
            Some(s) if s != self.default => Some(s.to_string()),
            _ => None,
        }
    }
}

fn every(secs: u32) -> String {
    match secs {
        1 => "second".into(),
        s if s % 60 == 0 && s >= 120 => format!("{} minutes", s / 60),
        60 => "minute".into(),
        s => format!("{s} seconds"),
    }
}

/// Builds the frame of a page. `link` holds the page's canonical query
/// (including `refresh` when not the default).
pub fn frame(
    kind: PageKind,
    title: impl Into<String>,
    link: &SelfLink,
    refresh: Refresh,
    feed: &FeedState,
    asset_v: &str,
) -> Frame {
    let root = kind.root();
    let keep = link.only(&["refresh"]);
    let nav = [
        ("overview", "", PageKind::Overview),
        ("hosts", "hosts/", PageKind::Hosts),
        ("ports", "ports/", PageKind::Ports),
        ("protocols", "protocols/", PageKind::Protocols),
        ("graphs", "graphs/", PageKind::Graphs),
    ]
    .into_iter()
    .map(|(label, path, k)| NavLink {
        label,
        href: format!("{root}{path}{keep}"),
        active: k == kind || (k == PageKind::Hosts && kind == PageKind::Host),
    })
    .collect();
    let secs = refresh.secs();
    let with = |s: u32| {
        let v = if s == refresh.default {
            None
        } else {
            Some(s.to_string())
        };
        link.with(&[("refresh", v)]).href()
    };
    let options = REFRESH_CHOICES
        .iter()
        .map(|&s| RefreshOption {
            label: every(s),
            href: with(s),
            current: s == secs,
        })
        .collect();
    let start = if refresh.default == 0 {
        10
    } else {
        refresh.default
    };
    Frame {
        title: title.into(),
        root,
        nav,
        refresh: RefreshView {
            secs,
            text: every(secs),
            options,
            stop_href: with(0),
            start_href: with(start),
        },
        banner: banner(feed, unix_now()),
        asset_v: asset_v.to_string(),
        as_of: feed
            .snapshot
            .as_ref()
            .map(|s| clock::utc(s.now))
            .unwrap_or_default(),
        version: env!("CARGO_PKG_VERSION"),
    }
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The "capture daemon not reachable" banner.
pub fn banner(feed: &FeedState, now: u64) -> Banner {
    if feed.connected {
        return Banner::default();
    }
    let mut text = String::from("The capture daemon (darkstat-capd) is not reachable");
    if let Some(t) = feed.down_since {
        let t = unix(t);
        text.push_str(&format!(
            " since {} ({} ago)",
            clock::utc(t),
            duration(now.saturating_sub(t))
        ));
    }
    text.push('.');
    let mut detail = match (&feed.snapshot, feed.updated_at) {
        (Some(_), Some(u)) => format!(
            "These are the last statistics received, at {}. ",
            clock::utc(unix(u))
        ),
        (Some(_), None) => "These are the last statistics received. ".into(),
        (None, _) => "No statistics have been received yet. ".into(),
    };
    if let Some(e) = &feed.last_error {
        let e: String = e.chars().filter(|c| !c.is_control()).take(200).collect();
        detail.push_str(&format!("Last error: {e}"));
    }
    Banner {
        down: true,
        text,
        detail: detail.trim_end().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn roots_follow_depth() {
        assert_eq!(root_for_path("/"), "./");
        assert_eq!(root_for_path("/nope"), "./");
        assert_eq!(root_for_path("/hosts/"), "../");
        assert_eq!(root_for_path("/hosts/1.2.3.4/"), "../../");
        assert_eq!(root_for_path("/a/b/c/d/e"), "../../../");
    }

    #[test]
    fn frame_keeps_refresh_choice_in_links() {
        let mut link = SelfLink::new();
        link.set("sort", Some("in".into()));
        let r = Refresh {
            explicit: Some(30),
            default: 10,
        };
        link.set("refresh", r.param());
        let f = frame(
            PageKind::Hosts,
            "Hosts",
            &link,
            r,
            &FeedState {
                connected: true,
                ..Default::default()
            },
            "v",
        );
        assert_eq!(f.refresh.secs, 30);
        assert_eq!(f.refresh.text, "30 seconds");
        assert_eq!(f.nav[2].href, "../ports/?refresh=30");
        assert_eq!(f.nav[0].href, "../?refresh=30");
        assert!(f.nav[1].active);
        assert_eq!(f.refresh.stop_href, "?sort=in&refresh=0");
        let ten = f.refresh.options.iter().find(|o| o.label == "10 seconds");
        assert_eq!(ten.unwrap().href, "?sort=in");
        assert!(!f.banner.down);
    }

    #[test]
    fn banner_says_since_when() {
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let feed = FeedState {
            connected: false,
            down_since: Some(t),
            last_error: Some("connect: No such file\u{7}".into()),
            ..Default::default()
        };
        let b = banner(&feed, 1_700_000_065);
        assert!(b.down);
        assert!(b
            .text
            .contains("not reachable since 2023-11-14 22:13:20 UTC (1 min, 5 secs ago)"));
        assert!(b.detail.contains("No statistics"));
        assert!(b.detail.contains("No such file"));
        assert!(!b.detail.contains('\u{7}'));
    }
}
