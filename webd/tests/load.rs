//! The real HTTP server on loopback under idle connections and slowly
//! dribbled request heads (slowloris): it keeps answering normal requests
//! quickly and closes the connections that never finish a request. And
//! keep-alive answers leave at once (TCP_NODELAY).

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use actix_web::web;
use webd::config::Config;
use webd::server;
use webd::state::AppState;

use support::{connected, fixture};

/// One GET on a fresh connection; returns the status line and the time.
fn get(addr: SocketAddr, path: &str) -> (String, Duration) {
    let t = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    (text.lines().next().unwrap_or("").to_string(), t.elapsed())
}

/// webd on an ephemeral loopback port, serving a fixture; keep the
/// sender alive while it serves, and stop it with the handle.
fn serve() -> (
    tokio::sync::watch::Sender<std::sync::Arc<webd::feed::FeedState>>,
    SocketAddr,
    actix_web::dev::ServerHandle,
) {
    let (tx, rx) =
        tokio::sync::watch::channel(std::sync::Arc::new(connected(fixture("dhcp_flood"))));
    let state = web::Data::new(AppState::new(Config::default(), rx).unwrap());
    let listener = server::open_listener("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let srv = server::build(state, vec![listener]).unwrap();
    let handle = srv.handle();
    actix_web::rt::spawn(srv);
    (tx, addr, handle)
}

#[actix_web::test]
async fn idle_and_slow_clients_do_not_block_others() {
    let (tx, addr, handle) = serve();

    let result = actix_web::rt::task::spawn_blocking(move || {
        let idle: Vec<TcpStream> = (0..1000)
            .map(|_| TcpStream::connect(addr).unwrap())
            .collect();
        let mut slow: Vec<TcpStream> = (0..100)
            .map(|_| {
                let mut s = TcpStream::connect(addr).unwrap();
                s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                    .unwrap();
                s
            })
            .collect();
        let start = Instant::now();
        let mut worst = Duration::ZERO;
        // Longer than the server's 5 s allowance for a request head.
        while start.elapsed() < Duration::from_secs(7) {
            for s in &mut slow {
                let _ = s.write_all(b"a");
            }
            let (status, took) = get(addr, "/hosts/");
            assert!(status.starts_with("HTTP/1.1 200"), "{status}");
            worst = worst.max(took);
            std::thread::sleep(Duration::from_millis(250));
        }
        // The dribblers were cut off: reading gives EOF or an error.
        let mut closed = 0;
        for s in &mut slow {
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mut b = [0u8; 512];
            let mut ended = false;
            for _ in 0..4 {
                match s.read(&mut b) {
                    Ok(0) | Err(_) => {
                        ended = true;
                        break;
                    }
                    Ok(_) => continue,
                }
            }
            if ended {
                closed += 1;
            }
        }
        drop(idle);
        (worst, closed)
    })
    .await
    .unwrap();
    handle.stop(false).await;
    drop(tx);
    let (worst, closed) = result;
    assert!(worst < Duration::from_secs(2), "slowest answer {worst:?}");
    assert_eq!(closed, 100, "slow clients still connected");
}

/// Reads one HTTP/1.1 response (Content-Length or chunked) from a
/// keep-alive connection; returns its status line.
fn read_response(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap().to_ascii_lowercase();
    let read_exact = |s: &mut TcpStream, n: usize| {
        let mut v = vec![0u8; n];
        s.read_exact(&mut v).unwrap();
        v
    };
    if let Some(len) = head.lines().find_map(|l| l.strip_prefix("content-length:")) {
        read_exact(s, len.trim().parse().unwrap());
    } else {
        assert!(head.contains("transfer-encoding: chunked"), "{head}");
        loop {
            let mut line = Vec::new();
            while !line.ends_with(b"\r\n") {
                let mut b = [0u8; 1];
                s.read_exact(&mut b).unwrap();
                line.push(b[0]);
            }
            let n = usize::from_str_radix(String::from_utf8(line).unwrap().trim(), 16).unwrap();
            read_exact(s, n + 2);
            if n == 0 {
                break;
            }
        }
    }
    head.lines().next().unwrap_or("").to_string()
}

/// Responses leave in several writes; with Nagle's algorithm on, a later
/// write waits for the client's delayed ACK (~40 ms) on a keep-alive
/// connection. webd sets TCP_NODELAY, so gzipped pages come back at once.
#[actix_web::test]
async fn keep_alive_answers_do_not_wait_for_delayed_acks() {
    let (tx, addr, handle) = serve();

    let times = actix_web::rt::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_nodelay(true).unwrap();
        let mut times = Vec::new();
        for i in 0..40 {
            let path = ["/", "/hosts/"][i % 2];
            let t = Instant::now();
            // one write, like curl or a browser (the client's own Nagle
            // would delay a second one)
            let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n");
            s.write_all(req.as_bytes()).unwrap();
            let status = read_response(&mut s);
            assert!(status.starts_with("http/1.1 200"), "{status}");
            times.push(t.elapsed());
        }
        times
    })
    .await
    .unwrap();
    handle.stop(false).await;
    drop(tx);
    let mut sorted = times.clone();
    sorted.sort();
    // 40 ms is the delayed ACK; a page of this fixture takes well under 5 ms
    let slow = times
        .iter()
        .filter(|t| **t >= Duration::from_millis(35))
        .count();
    assert!(slow <= 2, "{slow} of 40 answers took ≥ 35 ms: {sorted:?}");
}
