//! routes::pages: the HTML pages. Each handler validates its query (400 on
//! a malformed value), takes the current snapshot (a 503 page if there is
//! none yet), builds its view and renders it, streaming big tables.

use std::sync::Arc;

use actix_web::http::header::{self, ContentType};
use actix_web::{web, HttpRequest, HttpResponse};
use common::model::Snapshot;

use crate::body::{Piece, Pieces};
use crate::error::{Failure, WebError};
use crate::feed::FeedState;
use crate::iana::Transport;
use crate::index::{PortSort, PortTable, SnapshotIndex, SortKey};
use crate::query::{RawQuery, SelfLink};
use crate::rows::{HostRowStyle, HostRows, PortLine, PortRows};
use crate::state::AppState;
use crate::templates::{render, render_split, Ctx};
use crate::views::hosts::{self as hosts_view, parse_host_ip, HostsParams};
use crate::views::ports::{self as ports_view, PortsParams};
use crate::views::{self, banner, host as host_view, overview, protocols, root_for_path};
use crate::views::{unix_now, PageKind, Refresh};

/// A request's common parts: state, feed, query.
struct Page {
    state: web::Data<AppState>,
    feed: Arc<FeedState>,
    raw: RawQuery,
    kind: PageKind,
}

impl Page {
    fn new(req: &HttpRequest, state: web::Data<AppState>, kind: PageKind) -> Result<Self, Failure> {
        let feed = state.feed();
        let raw = RawQuery::parse(req.query_string())
            .map_err(|e| WebError::from(e).page(kind.root(), &state.assets.version))?;
        Ok(Page {
            state,
            feed,
            raw,
            kind,
        })
    }

    fn fail(&self, e: impl Into<WebError>) -> Failure {
        e.into().page(self.kind.root(), &self.state.assets.version)
    }

    fn refresh(&self) -> Result<Refresh, Failure> {
        Ok(Refresh {
            explicit: self.raw.refresh().map_err(|e| self.fail(e))?,
            default: self.state.config.refresh_secs,
        })
    }

    /// The snapshot to show, or a 503 page saying why there is none.
    fn snapshot(&self) -> Result<Arc<Snapshot>, Failure> {
        match &self.feed.snapshot {
            Some(s) => Ok(s.clone()),
            None => {
                let b = banner(&self.feed, unix_now());
                let msg = if b.down {
                    format!("{} {}", b.text, b.detail)
                } else {
                    "No statistics have been received from the capture daemon yet; \
                     this page will work as soon as the first update arrives."
                        .into()
                };
                Err(self.fail(WebError::Unavailable(msg)))
            }
        }
    }

    fn frame(&self, title: impl Into<String>, link: &SelfLink, refresh: Refresh) -> views::Frame {
        views::frame(
            self.kind,
            title,
            link,
            refresh,
            &self.feed,
            &self.state.assets.version,
        )
    }

    /// The four graphs as HTML, rendered once per snapshot.
    fn graphs_html(&self, idx: &SnapshotIndex) -> Result<Arc<str>, Failure> {
        if let Some(h) = idx.graphs_html.get() {
            return Ok(h.clone());
        }
        let mut c = Ctx::new();
        c.put("graphs", &views::graphs::graphs(idx.snapshot()));
        let html: Arc<str> = render("graphs_block.html", &c)
            .map_err(|e| self.fail(e))?
            .into();
        Ok(idx.graphs_html.get_or_init(|| html).clone())
    }

    fn host_style(&self, href_prefix: &'static str, snap: &Snapshot) -> HostRowStyle {
        HostRowStyle {
            href_prefix,
            show_macs: self.state.config.show_macs,
            show_last_seen: self.state.config.show_last_seen,
            now: snap.now,
        }
    }
}

fn html(p: Pieces) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(p.into_body())
}

pub async fn overview(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let pg = Page::new(&req, state, PageKind::Overview)?;
    let refresh = pg.refresh()?;
    let snap = pg.snapshot()?;
    pg.state.viewed();
    let idx = pg.state.index.get(&snap);
    let mut link = SelfLink::new();
    link.set("refresh", refresh.param());
    let mut c = Ctx::new();
    c.put("frame", &pg.frame("Overview", &link, refresh))
        .put("v", &overview::view(&snap, idx.visible().len()))
        .put("protocols", &protocols::rows(&snap))
        .put("show_macs", &pg.state.config.show_macs)
        .put("show_last_seen", &pg.state.config.show_last_seen)
        .put("keep", &link.only(&["refresh"]))
        .put("port_tables", &["TCP ports", "UDP ports"]);
    let parts = render_split("overview.html", &c, 4).map_err(|e| pg.fail(e))?;
    let graphs = pg.graphs_html(&idx)?;
    let top = overview::TOP_ROWS;
    let mut fills = vec![
        Piece::Text(graphs.to_string()),
        Piece::rows(HostRows {
            snap: snap.clone(),
            order: idx.prefix(SortKey::Total, overview::TOP_ROWS),
            pos: 0,
            end: top,
            names: pg.state.names.clone(),
            style: pg.host_style("hosts/", &snap),
        }),
    ];
    for (table, transport) in [
        (PortTable::Tcp, Transport::Tcp),
        (PortTable::Udp, Transport::Udp),
    ] {
        let params = PortsParams {
            sort: PortSort::Total,
            full: false,
            which: ports_view::Which::Both,
            refresh,
        };
        fills.push(Piece::rows(PortRows {
            lines: ports_view::lines(&idx, table, &params),
            pos: 0,
            end: top,
            transport,
        }));
    }
    Ok(html(Pieces::between(parts, fills)))
}

pub async fn hosts(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Failure> {
    let pg = Page::new(&req, state, PageKind::Hosts)?;
    let params =
        HostsParams::parse(&pg.raw, pg.state.config.refresh_secs).map_err(|e| pg.fail(e))?;
    let snap = pg.snapshot()?;
    pg.state.viewed();
    let idx = pg.state.index.get(&snap);
    let sel = hosts_view::select(&idx, &params, &pg.state.names);
    let v = hosts_view::view(
        &params,
        &sel,
        pg.state.config.show_macs,
        pg.state.config.show_last_seen,
    );
    let mut c = Ctx::new();
    c.put("frame", &pg.frame("Hosts", &params.link(), params.refresh))
        .put("v", &v);
    let parts = render_split("hosts.html", &c, 1).map_err(|e| pg.fail(e))?;
    let rows = HostRows {
        snap: snap.clone(),
        order: sel.order,
        pos: sel.range.start,
        end: sel.range.end,
        names: pg.state.names.clone(),
        style: pg.host_style("./", &snap),
    };
    Ok(html(Pieces::between(parts, [Piece::rows(rows)])))
}

pub async fn host(
    req: HttpRequest,
    ip: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let pg = Page::new(&req, state, PageKind::Host)?;
    let refresh = pg.refresh()?;
    let Some(addr) = parse_host_ip(&ip) else {
        return Err(pg.fail(WebError::BadRequest(
            "This is not an IPv4 or IPv6 address.".into(),
        )));
    };
    let snap = pg.snapshot()?;
    let idx = pg.state.index.get(&snap);
    let Some(h) = idx.find(addr) else {
        return Err(pg.fail(WebError::NotFound(format!(
            "{addr} is not in the host table: it was never seen, was evicted from a full table, or is outside the local networks shown."
        ))));
    };
    let tables = host_view::port_tables(h);
    let v = host_view::view(
        h,
        &ip,
        &pg.state.names,
        &tables,
        &host_view::HostOptions {
            show_mac: pg.state.config.show_macs,
            show_last_seen: pg.state.config.show_last_seen,
            now: snap.now,
        },
    );
    let mut link = SelfLink::new();
    link.set("refresh", refresh.param());
    let mut c = Ctx::new();
    c.put("frame", &pg.frame(v.ip.clone(), &link, refresh))
        .put("v", &v);
    let parts = render_split("host.html", &c, tables.tables.len()).map_err(|e| pg.fail(e))?;
    let fills = tables
        .tables
        .into_iter()
        .map(|(lines, transport)| port_rows(lines, transport));
    Ok(html(Pieces::between(parts, fills)))
}

/// A whole port table's rows.
fn port_rows(lines: Arc<[PortLine]>, transport: Transport) -> Piece {
    let end = lines.len();
    Piece::rows(PortRows {
        lines,
        pos: 0,
        end,
        transport,
    })
}

pub async fn ports(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Failure> {
    let pg = Page::new(&req, state, PageKind::Ports)?;
    let params =
        PortsParams::parse(&pg.raw, pg.state.config.refresh_secs).map_err(|e| pg.fail(e))?;
    let snap = pg.snapshot()?;
    let idx = pg.state.index.get(&snap);
    let shown: Vec<_> = ports_view::tables(&params)
        .into_iter()
        .map(|(t, transport)| (t, transport, ports_view::lines(&idx, t, &params)))
        .collect();
    let counts: Vec<(PortTable, usize)> = shown.iter().map(|(t, _, l)| (*t, l.len())).collect();
    let mut c = Ctx::new();
    c.put("frame", &pg.frame("Ports", &params.link(), params.refresh))
        .put("v", &ports_view::view(&idx, &params, &counts));
    let parts = render_split("ports.html", &c, shown.len()).map_err(|e| pg.fail(e))?;
    let fills = shown
        .into_iter()
        .map(|(_, transport, lines)| port_rows(lines, transport));
    Ok(html(Pieces::between(parts, fills)))
}

pub async fn protocols(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let pg = Page::new(&req, state, PageKind::Protocols)?;
    let refresh = pg.refresh()?;
    let snap = pg.snapshot()?;
    let mut link = SelfLink::new();
    link.set("refresh", refresh.param());
    let mut c = Ctx::new();
    c.put("frame", &pg.frame("Protocols", &link, refresh))
        .put("protocols", &protocols::rows(&snap));
    let s = render("protocols.html", &c).map_err(|e| pg.fail(e))?;
    let mut p = Pieces::new();
    p.text(s);
    Ok(html(p))
}

pub async fn graphs(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Failure> {
    let pg = Page::new(&req, state, PageKind::Graphs)?;
    let refresh = pg.refresh()?;
    let snap = pg.snapshot()?;
    let mut link = SelfLink::new();
    link.set("refresh", refresh.param());
    let nets: Vec<String> = snap.local_networks.iter().map(|n| n.to_string()).collect();
    let idx = pg.state.index.get(&snap);
    let mut c = Ctx::new();
    c.put("frame", &pg.frame("Graphs", &link, refresh))
        .put("local_networks", &nets);
    let parts = render_split("graphs.html", &c, 1).map_err(|e| pg.fail(e))?;
    let graphs = pg.graphs_html(&idx)?;
    Ok(html(Pieces::between(
        parts,
        [Piece::Text(graphs.to_string())],
    )))
}

fn redirect(location: String) -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// `/hosts` → `hosts/` (relative, so any proxy prefix is kept).
pub async fn add_slash(req: HttpRequest) -> HttpResponse {
    let last = req.path().rsplit('/').next().unwrap_or("");
    let mut loc = format!("{last}/");
    // The query is kept if it decodes; the page validates it.
    let qs = req.query_string();
    if !qs.is_empty() && RawQuery::parse(qs).is_ok() {
        loc.push('?');
        loc.push_str(qs);
    }
    redirect(loc)
}

/// `/hosts/<ip>` → `<ip>/`.
pub async fn host_add_slash(
    ip: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    match parse_host_ip(&ip) {
        Some(addr) => Ok(redirect(format!("./{addr}/"))),
        None => Err(
            WebError::BadRequest("This is not an IPv4 or IPv6 address.".into())
                .page("../", &state.assets.version),
        ),
    }
}

/// Any other path.
pub async fn not_found(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    Err(WebError::NotFound("There is no page here.".into())
        .page(root_for_path(req.path()), &state.assets.version))
}
