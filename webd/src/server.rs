//! server: the actix application (shared by `main` and the tests) and the
//! HTTP server around it, with its connection limits and timeouts. Also the
//! warmer, which sorts a new snapshot's hosts ahead of the first request.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::KeepAlive;
use actix_web::middleware::{from_fn, Compress};
use actix_web::{web, App, HttpServer};
use socket2::{Domain, Protocol, Socket, Type};

use crate::index::SortKey;
use crate::policy;
use crate::routes;
use crate::state::AppState;

/// Connections per worker thread; more wait in the listen backlog.
pub const MAX_CONNECTIONS_PER_WORKER: usize = 4096;
/// A client must send its whole request head within this time (slowloris).
pub const REQUEST_HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle keep-alive connections are closed after this time.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Time a client gets to acknowledge a connection shutdown.
pub const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Worker threads actix starts: one per CPU webd may use.
pub fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

/// Descriptors webd may hold at its connection limit: every worker's
/// connections, plus room for the listeners, the feed, DNS sockets and
/// the runtime's own (epoll, eventfds, signal pipe).
pub fn open_files_needed(workers: usize) -> u64 {
    (workers * MAX_CONNECTIONS_PER_WORKER + 256) as u64
}

/// The application: routes (under `/` and, if set, the `--base` prefix),
/// gzip when accepted, security headers, and the method/size policy.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let base = state.config.base.clone();
    let mut app = App::new().app_data(state);
    if !base.is_empty() {
        app = app.service(web::scope(&base).configure(routes::configure));
    }
    app.configure(routes::configure)
        .default_service(web::to(routes::not_found))
        .wrap(from_fn(policy::enforce))
        .wrap(policy::security_headers())
        .wrap(Compress::default())
}

/// Opens a listening socket. IPv6 sockets are IPv6-only, so that
/// `-b 0.0.0.0 -b ::` can both be served on one port.
pub fn open_listener(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let domain = Domain::for_address(addr);
    let sock = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        sock.set_only_v6(true)?;
    }
    sock.set_reuse_address(true)?;
    sock.bind(&addr.into())?;
    sock.listen(1024)?;
    Ok(sock.into())
}

/// The HTTP server over `listeners`, with webd's limits: connections per
/// worker, time to send a request head (slowloris), keep-alive and
/// disconnect timeouts. Not started yet.
pub fn build(
    state: web::Data<AppState>,
    listeners: Vec<std::net::TcpListener>,
) -> io::Result<actix_web::dev::Server> {
    let mut server = HttpServer::new(move || app(state.clone()))
        .workers(workers())
        .max_connections(MAX_CONNECTIONS_PER_WORKER)
        .client_request_timeout(REQUEST_HEAD_TIMEOUT)
        .client_disconnect_timeout(DISCONNECT_TIMEOUT)
        .keep_alive(KeepAlive::Timeout(KEEP_ALIVE))
        // A response goes out in several writes (head, body chunks, the
        // last chunk); with Nagle's algorithm a later small write waits
        // for the client's delayed ACK of the earlier one, about 40 ms on
        // a keep-alive connection (seen with gzipped pages).
        .tcp_nodelay(true)
        .shutdown_timeout(5);
    for l in listeners {
        server = server.listen(l)?;
    }
    Ok(server.run())
}

/// Serves on the sockets systemd passed or on every configured address
/// that can be opened (see [`crate::listeners::open`]) until
/// SIGINT/SIGTERM, without any sandbox (darkstat-webd's `main` drops
/// privileges between opening and serving).
pub async fn serve(state: web::Data<AppState>) -> io::Result<()> {
    let listening = crate::listeners::open(&state.config).map_err(io::Error::other)?;
    build(state, listening.listeners)?.await
}

/// Selects each new snapshot's busiest hosts in the background (the
/// default order of /hosts/ and the front page), but only while pages are
/// being looked at, so an idle dashboard costs no CPU.
pub fn spawn_warmer(state: web::Data<AppState>) {
    let mut rx = state.subscribe();
    actix_web::rt::spawn(async move {
        while rx.changed().await.is_ok() {
            let feed = rx.borrow_and_update().clone();
            let Some(snap) = feed.snapshot.clone() else {
                continue;
            };
            if state.seconds_since_view() > 120 {
                continue;
            }
            let idx = state.index.get(&snap);
            let _ = web::block(move || {
                idx.prefix(SortKey::Total, 1);
            })
            .await;
        }
    });
}
