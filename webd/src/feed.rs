//! feed: the one-way channel from darkstat-capd. Connects to capd's Unix
//! socket, reads size-checked frames (`common::ipc`), rebuilds the current
//! [`Snapshot`] and publishes it to the request handlers through a
//! `tokio::sync::watch` channel. Reconnects by itself when capd goes away.

use std::sync::Arc;
use std::time::SystemTime;

use common::model::Snapshot;

/// What the pages know about capd at one moment. Handlers clone the `Arc`
/// out of the watch channel and never wait on the feed.
#[derive(Clone, Debug, Default)]
pub struct FeedState {
    /// The latest complete statistics, if any arrived yet.
    pub snapshot: Option<Arc<Snapshot>>,
    /// Whether the connection to capd is up right now.
    pub connected: bool,
    /// When the last update arrived.
    pub updated_at: Option<SystemTime>,
    /// Since when capd has been unreachable (`None` while connected).
    pub down_since: Option<SystemTime>,
    /// Why the last connection attempt or read failed (for the log and the
    /// banner; never contains bytes from the socket).
    pub last_error: Option<String>,
}

/// The receiving end handlers read from.
pub type FeedRx = tokio::sync::watch::Receiver<Arc<FeedState>>;
