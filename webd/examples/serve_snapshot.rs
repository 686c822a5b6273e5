//! Serves a statistics document (capd's `--dump-json` output) with the real
//! web server, without capd: for looking at the pages and for benchmarks.
//!
//!     cargo run --release -p darkstat-webd --example serve_snapshot -- \
//!         FILE.json [webd options, e.g. -p 8667 -b 127.0.0.1]
//!
//! `--disconnected` shows the pages as they look while capd is down.

use std::sync::Arc;
use std::time::SystemTime;

use actix_web::web;
use anyhow::Context;
use clap::Parser;

use common::model::Snapshot;
use webd::cli::Args;
use webd::config::Config;
use webd::feed::FeedState;
use webd::server;
use webd::state::AppState;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let mut argv: Vec<String> = std::env::args().collect();
    if argv.len() < 2 {
        anyhow::bail!("usage: serve_snapshot FILE.json [--disconnected] [darkstat-webd options]");
    }
    let file = argv.remove(1);
    let disconnected = argv.iter().any(|a| a == "--disconnected");
    argv.retain(|a| a != "--disconnected");
    let config = Config::try_from(Args::parse_from(argv))?;
    let text = std::fs::read_to_string(&file).with_context(|| format!("reading {file}"))?;
    let snap: Snapshot = serde_json::from_str(&text).with_context(|| format!("parsing {file}"))?;
    eprintln!("serve_snapshot: {} hosts", snap.hosts.len());
    let now = SystemTime::now();
    let feed = FeedState {
        snapshot: Some(Arc::new(snap)),
        connected: !disconnected,
        updated_at: Some(now),
        down_since: disconnected.then_some(now),
        last_error: disconnected.then(|| "connect: connection refused".to_string()),
    };
    let (_tx, rx) = tokio::sync::watch::channel(Arc::new(feed));
    let state = web::Data::new(AppState::new(config, rx)?);
    server::spawn_warmer(state.clone());
    server::serve(state).await?;
    Ok(())
}
