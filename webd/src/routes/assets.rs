//! routes::assets: `/static/<name>` and `/favicon.ico` from the embedded
//! files, with conditional GET.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::{Failure, WebError};
use crate::state::AppState;

pub async fn file(
    req: HttpRequest,
    name: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    match state.assets.get(&name) {
        Some(a) => Ok(state.assets.respond(a, &req)),
        None => Err(WebError::NotFound("No such file.".into()).text()),
    }
}

pub async fn favicon(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match state.assets.get("favicon.svg") {
        Some(a) => state.assets.respond(a, &req),
        None => HttpResponse::NotFound().finish(),
    }
}
