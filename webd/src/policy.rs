//! policy: rules every request and response passes, whatever the route —
//! only GET and HEAD (405 otherwise), bounded request line and headers
//! (414/431), and the security headers. Never reads a request body.

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::HttpResponse;

/// Longest request target (path and query) accepted.
pub const MAX_URI_BYTES: usize = 4096;
/// Most header bytes (names and values) accepted. actix itself stops
/// reading a head at 128 KiB and 96 headers.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// `default-src 'none'` with only our own stylesheet and images: no
/// script at all, no inline style, no framing.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
    form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CSP))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ))
        .add((
            HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ))
        .add((
            HeaderName::from_static("x-robots-tag"),
            "noindex, noarchive",
        ))
}

/// The refusal for a request that breaks a rule, if it does.
pub fn refuse(req: &ServiceRequest) -> Option<HttpResponse> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Some(
            HttpResponse::MethodNotAllowed()
                .insert_header((header::ALLOW, "GET, HEAD"))
                .content_type("text/plain; charset=utf-8")
                .body("405 Method Not Allowed: only GET and HEAD are served.\n"),
        );
    }
    let uri_len = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if uri_len > MAX_URI_BYTES {
        return Some(
            HttpResponse::build(StatusCode::URI_TOO_LONG)
                .content_type("text/plain; charset=utf-8")
                .body("414 URI Too Long\n"),
        );
    }
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(n, v): (&HeaderName, &HeaderValue)| n.as_str().len() + v.len() + 4)
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return Some(
            HttpResponse::build(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
                .content_type("text/plain; charset=utf-8")
                .body("431 Request Header Fields Too Large\n"),
        );
    }
    None
}

/// The middleware function applying [`refuse`] (for `middleware::from_fn`).
pub async fn enforce(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, BoxBody>>, actix_web::Error> {
    if let Some(resp) = refuse(&req) {
        let (req, _) = req.into_parts();
        return Ok(ServiceResponse::new(req, resp).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}
