//! Shared helpers of the web tests: fixtures, an in-process app, requests,
//! and a small parser for the tables webd writes.

#![allow(dead_code)]

pub mod netns;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::http::StatusCode;
use actix_web::{test, web};
use common::model::Snapshot;
use webd::config::Config;
use webd::feed::FeedState;
use webd::server;
use webd::state::AppState;

pub fn fixture(name: &str) -> Snapshot {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn connected(snap: Snapshot) -> FeedState {
    FeedState {
        snapshot: Some(Arc::new(snap)),
        connected: true,
        updated_at: Some(SystemTime::now()),
        down_since: None,
        last_error: None,
    }
}

pub fn disconnected(snap: Option<Snapshot>) -> FeedState {
    let now = SystemTime::now();
    FeedState {
        snapshot: snap.map(Arc::new),
        connected: false,
        updated_at: Some(now - Duration::from_secs(125)),
        down_since: Some(now - Duration::from_secs(120)),
        last_error: Some("connect: No such file or directory".into()),
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }
}

/// An app over `feed` with `config`, answering requests in process.
pub struct TestApp<S> {
    svc: S,
}

pub async fn app(
    feed: FeedState,
    config: Config,
) -> TestApp<
    impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
    >,
> {
    let (tx, rx) = tokio::sync::watch::channel(Arc::new(feed));
    // The sender is leaked for the test's lifetime so the channel stays open.
    std::mem::forget(tx);
    let state = web::Data::new(AppState::new(config, rx).unwrap());
    TestApp {
        svc: test::init_service(server::app(state)).await,
    }
}

impl<S, B> TestApp<S>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    pub async fn send(&self, req: test::TestRequest) -> Reply {
        let resp = test::call_service(&self.svc, req.to_request()).await;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = test::read_body(resp).await.to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.send(test::TestRequest::get().uri(uri)).await
    }

    /// GET with one request header.
    pub async fn get_with(&self, uri: &str, header: (&str, impl AsRef<str>)) -> Reply {
        let (name, value) = header;
        self.send(
            test::TestRequest::get()
                .uri(uri)
                .insert_header((name, value.as_ref())),
        )
        .await
    }

    /// GET that must answer 200 with HTML; returns the page.
    pub async fn page(&self, uri: &str) -> String {
        let r = self.get(uri).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text());
        assert!(
            r.header("content-type").unwrap().starts_with("text/html"),
            "{uri}"
        );
        r.text()
    }
}

/// The rows of the `n`-th table body of a page, each a list of cell texts
/// (tags stripped, entities decoded).
pub fn table(html: &str, n: usize) -> Vec<Vec<String>> {
    let body = html
        .split("<tbody>")
        .nth(n + 1)
        .unwrap_or_else(|| panic!("no table {n}"));
    let body = &body[..body.find("</tbody>").expect("</tbody>")];
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            let row = row.split("</tr>").next().unwrap();
            row.split("<td")
                .skip(1)
                .map(|cell| {
                    let cell = &cell[cell.find('>').unwrap() + 1..];
                    decode(&strip_tags(cell))
                })
                .collect()
        })
        .collect()
}

/// Index of the table whose section title is `title` (`<h2>title</h2>`
/// or `<h3>`), counted in table bodies.
pub fn table_after(html: &str, title: &str) -> Vec<Vec<String>> {
    let at = html.find(title).unwrap_or_else(|| panic!("no {title}"));
    let n = html[..at].matches("<tbody>").count();
    table(html, n)
}

pub fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_string()
}

pub fn decode(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// `"1,234"` → 1234.
pub fn num(s: &str) -> u64 {
    s.replace(',', "")
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {s:?}"))
}

/// darkstat's thousands format, written independently of webd's.
pub fn commas(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
