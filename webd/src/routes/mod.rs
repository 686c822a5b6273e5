//! routes: the URL map on one screen. Handlers are thin: they read the
//! feed's current state, call `views`, and render. Paths with a trailing
//! slash are the pages (all their links are relative); the same path
//! without the slash redirects there.

mod api;
mod assets;
mod pages;

use actix_web::web::{self, ServiceConfig};

pub use pages::not_found;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.route("/", web::to(pages::overview))
        .route("/hosts/", web::to(pages::hosts))
        .route("/hosts/{ip}/", web::to(pages::host))
        .route("/hosts/{ip}", web::to(pages::host_add_slash))
        .route("/ports/", web::to(pages::ports))
        .route("/protocols/", web::to(pages::protocols))
        .route("/graphs/", web::to(pages::graphs))
        .route("/hosts", web::to(pages::add_slash))
        .route("/ports", web::to(pages::add_slash))
        .route("/protocols", web::to(pages::add_slash))
        .route("/graphs", web::to(pages::add_slash))
        .route("/api/v1/stats", web::to(api::stats))
        .route("/api/v1/hosts/{ip}", web::to(api::host))
        .route("/metrics", web::to(api::metrics))
        .route("/graphs.xml", web::to(api::graphs_xml))
        .route("/static/{name}", web::to(assets::file))
        .route("/favicon.ico", web::to(assets::favicon));
}
