//! darkstat-webd's entry point. The order is the privilege boundary:
//!
//! 1. parse and validate the options;
//! 2. read resolv.conf (the resolver never reads a file later);
//! 3. open the listening sockets, or take them from systemd (a port below
//!    1024 needs root or socket activation);
//! 4. build the runtime, the state and the HTTP server, none of which
//!    starts a thread or touches the network yet;
//! 5. drop privileges and enter the sandbox (`privdrop`), still on the
//!    only thread;
//! 6. only then start the feed, the resolver's lookups, the acceptor and
//!    the workers: every thread inherits the sandbox.
//!
//! No request is ever handled with a privilege.
#![forbid(unsafe_code)]

use std::sync::Arc;

use actix_web::web;
use anyhow::Context;
use clap::Parser;

use webd::cli::Args;
use webd::config::Config;
use webd::dns::{DnsConfig, Resolver};
use webd::feed::{self, FeedState};
use webd::hostname::Hostnames;
use webd::state::AppState;
use webd::{listeners, privdrop, server};

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // the parent as it is now, before anything can make it exit
    let parent = args
        .exit_with_parent
        .then(|| nix::unistd::getppid().as_raw());
    #[cfg(feature = "test-hooks")]
    let test_hook = args.test_hook.clone();
    let config = Config::try_from(args)?;
    let user = config.user.clone();
    let socket = config.socket.clone();

    let dns = if config.dns {
        match DnsConfig::from_system() {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("darkstat-webd: reverse DNS disabled: {e}");
                None
            }
        }
    } else {
        None
    };

    let listening = listeners::open(&config)?;
    raise_open_files_limit(server::workers());

    // A current-thread runtime: creating it starts no thread.
    let system = actix_web::rt::System::new();
    let (tx, rx) = tokio::sync::watch::channel(Arc::new(FeedState::default()));
    let (state, http) = system.block_on(async {
        // The resolver's lookups are tasks on this runtime; they first run
        // (and open sockets) after the drop.
        let resolver = match dns.map(Resolver::new) {
            Some(Ok(r)) => r,
            Some(Err(e)) => {
                eprintln!("darkstat-webd: reverse DNS disabled: {e}");
                Resolver::disabled()
            }
            None => Resolver::disabled(),
        };
        let state = AppState::new(config, rx)
            .context("building the templates")?
            .with_names(Hostnames::with_resolver(resolver));
        let state = web::Data::new(state);
        // Workers and the acceptor start when the server is first polled.
        let http = server::build(state.clone(), listening.listeners)
            .context("setting up the HTTP server")?;
        anyhow::Ok((state, http))
    })?;

    let dropped = privdrop::enter(&user, parent)?;
    eprintln!("darkstat-webd: {dropped}");

    system
        .block_on(async move {
            // The feed ends when every receiver is gone, i.e. never while
            // we serve.
            actix_web::rt::spawn(feed::run(socket, tx));
            server::spawn_warmer(state);
            if let Some(ppid) = parent {
                actix_web::rt::spawn(exit_with_parent(ppid));
            }
            #[cfg(feature = "test-hooks")]
            if let Some(hook) = test_hook {
                actix_web::rt::spawn(async move {
                    // once the workers and the acceptor run
                    actix_web::rt::time::sleep(std::time::Duration::from_secs(1)).await;
                    privdrop::test_hooks::spawn(hook);
                });
            }
            http.await
        })
        .context("serving HTTP")
}

/// `--exit-with-parent`: exits once the process that started webd is gone
/// (webd is then re-parented, so getppid changes). The parent-death signal
/// set in `privdrop` does not cover this: the kernel sends it with the
/// dying parent's credentials, and capd, running as its own user by then,
/// may not signal a webd that became the web user.
async fn exit_with_parent(ppid: i32) {
    let mut tick = actix_web::rt::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
        if nix::unistd::getppid().as_raw() != ppid {
            eprintln!("darkstat-webd: the process that started it (pid {ppid}) is gone; exiting");
            std::process::exit(0);
        }
    }
}

/// Raises the soft limit on open files to what the connection limits need
/// (up to the hard limit): the sandbox forbids changing it later. A unit's
/// LimitNOFILE= sets both limits, and then nothing needs raising.
fn raise_open_files_limit(workers: usize) {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let needed = server::open_files_needed(workers);
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return;
    };
    let target = needed.min(hard);
    if target > soft {
        if let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, target, hard) {
            eprintln!(
                "darkstat-webd: cannot raise the open files limit from {soft} to {target}: {e}"
            );
        }
    }
    if target < needed {
        eprintln!(
            "darkstat-webd: the open files limit ({hard}) is below the {needed} that {workers} workers with {} connections each need: connections past it wait (LimitNOFILE= in the unit, or ulimit -n)",
            server::MAX_CONNECTIONS_PER_WORKER
        );
    }
}
