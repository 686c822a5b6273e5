//! routes::api: the machine-readable views — `/api/v1/stats`,
//! `/api/v1/hosts/<ip>`, `/metrics` and `/graphs.xml`. While capd is not
//! reachable they answer 503 rather than serve numbers that stopped
//! moving.

use std::sync::Arc;

use actix_web::http::header::{self, ContentType};
use actix_web::{web, HttpResponse};
use common::model::Snapshot;

use crate::body::Pieces;
use crate::error::{Failure, WebError};
use crate::feed::FeedState;
use crate::json;
use crate::metrics::{self, Metrics};
use crate::state::AppState;
use crate::views::{banner, hosts::parse_host_ip, unix_now};
use crate::{graphs_xml, json::StatsJson};

fn live(feed: &FeedState) -> Result<Arc<Snapshot>, WebError> {
    match (&feed.snapshot, feed.connected) {
        (Some(s), true) => Ok(s.clone()),
        (None, true) => Err(WebError::Unavailable(
            "No statistics have been received from the capture daemon yet.".into(),
        )),
        (_, false) => Err(WebError::Unavailable(banner(feed, unix_now()).text)),
    }
}

fn ok(content_type: impl Into<String>) -> actix_web::HttpResponseBuilder {
    let mut b = HttpResponse::Ok();
    b.content_type(content_type.into())
        .insert_header((header::CACHE_CONTROL, "no-store"));
    b
}

pub async fn stats(state: web::Data<AppState>) -> Result<HttpResponse, Failure> {
    let snap = live(&state.feed()).map_err(WebError::json)?;
    let idx = state.index.get(&snap);
    let mut p = Pieces::new();
    p.rows(StatsJson::new(
        snap,
        idx.visible(),
        state.names.clone(),
        state.config.show_macs,
    ));
    Ok(ok(ContentType::json().to_string()).body(p.into_body()))
}

pub async fn host(
    ip: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let snap = live(&state.feed()).map_err(WebError::json)?;
    let Some(addr) = parse_host_ip(&ip) else {
        return Err(WebError::BadRequest("Not an IP address.".into()).json());
    };
    let idx = state.index.get(&snap);
    let Some(h) = idx.find(addr) else {
        return Err(WebError::NotFound(format!("{addr} is not in the host table.")).json());
    };
    Ok(ok(ContentType::json().to_string()).body(json::host(
        h,
        &state.names,
        state.config.show_macs,
    )))
}

pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, Failure> {
    let snap = live(&state.feed()).map_err(WebError::text)?;
    let idx = state.index.get(&snap);
    let mut p = Pieces::new();
    let resolver = state.names.resolver();
    let dns = resolver.is_enabled().then(|| resolver.stats());
    p.rows(Metrics::new(
        snap,
        idx.visible(),
        state.config.show_macs,
        dns,
    ));
    Ok(ok(metrics::CONTENT_TYPE).body(p.into_body()))
}

pub async fn graphs_xml(state: web::Data<AppState>) -> Result<HttpResponse, Failure> {
    let snap = live(&state.feed()).map_err(WebError::text)?;
    Ok(ok(graphs_xml::CONTENT_TYPE)
        .insert_header((header::PRAGMA, "no-cache"))
        .body(graphs_xml::render(&snap)))
}
