//! error: what a request can fail with, and the page or document the
//! client gets. The client sees a short, escaped explanation; internal
//! details (template errors) go to the log only.

use actix_web::http::header::{self, ContentType};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::templates::{self, Ctx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Json,
    Text,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal,
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The error as an HTML page for a request at depth `root`.
    pub fn page(self, root: &'static str, asset_v: &str) -> Failure {
        Failure {
            err: self,
            format: Format::Html,
            root,
            asset_v: asset_v.to_string(),
        }
    }

    pub fn json(self) -> Failure {
        Failure {
            err: self,
            format: Format::Json,
            root: "./",
            asset_v: String::new(),
        }
    }

    pub fn text(self) -> Failure {
        Failure {
            err: self,
            format: Format::Text,
            root: "./",
            asset_v: String::new(),
        }
    }
}

impl From<crate::query::QueryError> for WebError {
    fn from(e: crate::query::QueryError) -> Self {
        WebError::BadRequest(e.0)
    }
}

impl From<templates::TemplateError> for WebError {
    fn from(e: templates::TemplateError) -> Self {
        eprintln!("darkstat-webd: {e}");
        WebError::Internal
    }
}

/// A [`WebError`] together with how to present it.
#[derive(Debug, thiserror::Error)]
#[error("{err}")]
pub struct Failure {
    pub err: WebError,
    pub format: Format,
    pub root: &'static str,
    pub asset_v: String,
}

impl ResponseError for Failure {
    fn status_code(&self) -> StatusCode {
        self.err.status()
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.err.status();
        let reason = status.canonical_reason().unwrap_or("Error");
        let message = self.err.to_string();
        let mut b = HttpResponse::build(status);
        b.insert_header((header::CACHE_CONTROL, "no-store"));
        match self.format {
            Format::Json => b
                .content_type(ContentType::json())
                .body(serde_json::json!({ "error": message }).to_string()),
            Format::Text => b
                .content_type(ContentType::plaintext())
                .body(format!("{message}\n")),
            Format::Html => {
                let mut c = Ctx::new();
                c.put("status", &status.as_u16())
                    .put("title", reason)
                    .put("message", &message)
                    .put("root", self.root)
                    .put("asset_v", &self.asset_v);
                match templates::render("error.html", &c) {
                    Ok(html) => b.content_type(ContentType::html()).body(html),
                    // The plain-text fallback when even the error page
                    // cannot be rendered.
                    Err(e) => {
                        eprintln!("darkstat-webd: {e}");
                        b.content_type(ContentType::plaintext())
                            .body(format!("{} {reason}: {message}\n", status.as_u16()))
                    }
                }
            }
        }
    }
}
