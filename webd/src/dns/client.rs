//! client: one PTR lookup over UDP against the configured servers.
//!
//! Each try uses a fresh socket connected to the server (so the kernel
//! drops datagrams from anyone else and picks a new random source port)
//! and a random query ID; datagrams that are not a response to the query
//! are ignored until the timeout. It never retries over TCP, never follows
//! referrals (the servers recurse), and never waits past its deadline.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::time::{timeout_at, Instant};

use super::wire::{build_query, parse_answer, Answer, WireError, WireName};

/// Room for any UDP answer a server sends without EDNS (512 bytes) and
/// some that ignore that limit; longer datagrams arrive cut and fail to
/// parse.
const RECV_BUF: usize = 4096;
/// Stray datagrams tolerated on one socket before giving up on it.
const MAX_STRAYS: usize = 16;

/// How one lookup ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A PTR target (not yet validated) and its TTL in seconds.
    Ptr(WireName, u32),
    /// The servers say there is no name.
    NoName,
    /// No usable answer from any server.
    Failed(Failure),
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    Timeout,
    ServerError(u8),
    Truncated,
    Malformed(WireError),
    TooManyStrays,
    Io(io::ErrorKind),
}

/// Asks each server in turn, `attempts` rounds, until one gives a
/// definite answer (a PTR, NXDOMAIN or no PTR).
pub(crate) async fn lookup(
    servers: &[SocketAddr],
    qname: &WireName,
    timeout: Duration,
    attempts: u32,
) -> Outcome {
    let mut last = Failure::Timeout;
    for _ in 0..attempts {
        for &server in servers {
            match exchange(server, qname, timeout).await {
                Ok(Answer::Ptr { name, ttl }) => return Outcome::Ptr(name, ttl),
                Ok(Answer::NxDomain | Answer::NoData) => return Outcome::NoName,
                Ok(Answer::ServerError(rcode)) => last = Failure::ServerError(rcode),
                Ok(Answer::Truncated) => last = Failure::Truncated,
                Err(f) => last = f,
            }
        }
    }
    Outcome::Failed(last)
}

async fn exchange(
    server: SocketAddr,
    qname: &WireName,
    timeout: Duration,
) -> Result<Answer, Failure> {
    let deadline = Instant::now() + timeout;
    let io = |e: io::Error| Failure::Io(e.kind());
    let id = getrandom::u32().map_err(|_| Failure::Io(io::ErrorKind::Other))? as u16;
    let local: SocketAddr = match server {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let sock = UdpSocket::bind(local).await.map_err(io)?;
    sock.connect(server).await.map_err(io)?;
    let talk = async {
        sock.send(&build_query(id, qname)).await.map_err(io)?;
        let mut buf = vec![0u8; RECV_BUF];
        for _ in 0..MAX_STRAYS {
            let n = sock.recv(&mut buf).await.map_err(io)?;
            match parse_answer(buf.get(..n).unwrap_or_default(), id, qname) {
                Ok(answer) => return Ok(answer),
                Err(WireError::Mismatch) => continue,
                Err(e) => return Err(Failure::Malformed(e)),
            }
        }
        Err(Failure::TooManyStrays)
    };
    timeout_at(deadline, talk)
        .await
        .unwrap_or(Err(Failure::Timeout))
}
