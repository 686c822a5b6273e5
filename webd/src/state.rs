//! state: what every request handler shares — the settings, the receiving
//! end of the feed from capd, the per-snapshot index cache, the host-name
//! source and the static assets. Handlers only read it; nothing in here
//! waits on the network.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use crate::assets::Assets;
use crate::config::Config;
use crate::feed::{FeedRx, FeedState};
use crate::hostname::Hostnames;
use crate::index::IndexCache;
use crate::templates::{self, TemplateError};
use crate::views::unix_now;

pub struct AppState {
    pub config: Config,
    feed: FeedRx,
    pub index: IndexCache,
    pub names: Hostnames,
    pub assets: Assets,
    /// Unix time of the last request for a page that lists hosts; the
    /// warmer only sorts ahead for snapshots someone is looking at.
    last_view: AtomicU64,
}

impl AppState {
    /// Builds the shared state without reverse DNS (see
    /// [`AppState::with_names`]); fails if a template does not compile.
    pub fn new(config: Config, feed: FeedRx) -> Result<Self, TemplateError> {
        templates::check()?;
        Ok(AppState {
            index: IndexCache::new(config.local_only),
            names: Hostnames::without_dns(),
            assets: Assets::new(SystemTime::now()),
            config,
            feed,
            last_view: AtomicU64::new(0),
        })
    }

    /// Uses `names` (e.g. with a running resolver) for host names.
    pub fn with_names(mut self, names: Hostnames) -> Self {
        self.names = names;
        self
    }

    /// The feed's current state (a cheap `Arc` clone; never waits on capd).
    pub fn feed(&self) -> Arc<FeedState> {
        self.feed.borrow().clone()
    }

    /// A receiver of feed updates (for the warmer).
    pub fn subscribe(&self) -> FeedRx {
        self.feed.clone()
    }

    pub fn viewed(&self) {
        self.last_view.store(unix_now(), Ordering::Relaxed);
    }

    pub fn seconds_since_view(&self) -> u64 {
        unix_now().saturating_sub(self.last_view.load(Ordering::Relaxed))
    }
}
