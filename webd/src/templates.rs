//! templates: the Tera templates, embedded in the binary and built once.
//! Autoescaping is on for every template (all are `.html`); no template
//! applies `| safe` to data. Pages with big tables contain
//! [`ROWS_MARKER`] where `rows` streams the table body: the rendered page
//! is split there. Data can never produce the marker, because escaped text
//! contains no `<`.

use std::sync::LazyLock;

use serde::Serialize;
use tera::{Context, Kwargs, State, Tera, Value};

use crate::units;

/// Where a streamed table body goes.
pub const ROWS_MARKER: &str = "<!--rows-->";

const SOURCES: [(&str, &str); 11] = [
    ("base.html", include_str!("../templates/base.html")),
    ("overview.html", include_str!("../templates/overview.html")),
    ("hosts.html", include_str!("../templates/hosts.html")),
    ("host.html", include_str!("../templates/host.html")),
    ("ports.html", include_str!("../templates/ports.html")),
    (
        "protocols.html",
        include_str!("../templates/protocols.html"),
    ),
    ("graphs.html", include_str!("../templates/graphs.html")),
    ("graph.html", include_str!("../templates/graph.html")),
    (
        "graphs_block.html",
        include_str!("../templates/graphs_block.html"),
    ),
    ("error.html", include_str!("../templates/error.html")),
    (
        "protocols_table.html",
        include_str!("../templates/protocols_table.html"),
    ),
];

#[derive(Debug, Clone, thiserror::Error)]
#[error("template {name}: {message}")]
pub struct TemplateError {
    pub name: String,
    pub message: String,
}

static TERA: LazyLock<Result<Tera, TemplateError>> = LazyLock::new(build);

fn build() -> Result<Tera, TemplateError> {
    let mut tera = Tera::default();
    tera.autoescape_on(vec![".html"]);
    tera.register_filter("num", |v: u64, _: Kwargs, _: &State| units::thousands(v));
    tera.register_filter("rate", |v: f64, _: Kwargs, _: &State| units::rate(v));
    tera.add_raw_templates(SOURCES.to_vec())
        .map_err(|e| TemplateError {
            name: "(all)".into(),
            message: e.to_string(),
        })?;
    Ok(tera)
}

/// Builds the templates now (at startup), so that a broken template stops
/// the server instead of failing requests.
pub fn check() -> Result<(), TemplateError> {
    TERA.as_ref().map(|_| ()).map_err(Clone::clone)
}

/// A template context from named serializable values.
#[derive(Default)]
pub struct Ctx {
    ctx: Context,
    error: Option<String>,
}

impl Ctx {
    pub fn new() -> Self {
        Ctx::default()
    }
    pub fn put<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> &mut Self {
        match Value::try_from_serializable(v) {
            Ok(v) => self.ctx.insert_value(key, v),
            Err(e) => self.error = Some(format!("{key}: {e}")),
        }
        self
    }
}

/// Renders a template to a string.
pub fn render(name: &str, ctx: &Ctx) -> Result<String, TemplateError> {
    let err = |message: String| TemplateError {
        name: name.into(),
        message,
    };
    if let Some(e) = &ctx.error {
        return Err(err(e.clone()));
    }
    let tera = TERA.as_ref().map_err(Clone::clone)?;
    tera.render(name, &ctx.ctx).map_err(|e| {
        let mut m = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            m.push_str(": ");
            m.push_str(&s.to_string());
            src = s.source();
        }
        err(m)
    })
}

/// Renders a template and splits it at each [`ROWS_MARKER`]; the result
/// has `markers + 1` parts.
pub fn render_split(name: &str, ctx: &Ctx, markers: usize) -> Result<Vec<String>, TemplateError> {
    let s = render(name, ctx)?;
    let parts: Vec<String> = s.split(ROWS_MARKER).map(String::from).collect();
    if parts.len() != markers + 1 {
        return Err(TemplateError {
            name: name.into(),
            message: format!(
                "expected {markers} table markers, found {}",
                parts.len() - 1
            ),
        });
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_build() {
        check().unwrap();
    }

    #[test]
    fn filters_format_numbers() {
        let tera = TERA.as_ref().unwrap();
        let mut c = Context::new();
        c.insert("n", &1234567u64);
        c.insert("r", &1536.0f64);
        let out = tera
            .render_str("{{ n | num }} {{ r | rate }}", &c, true)
            .unwrap();
        assert_eq!(out, "1,234,567 1.50 KiB/s");
    }

    #[test]
    fn autoescape_is_on_for_html() {
        let mut c = Ctx::new();
        c.put("message", "<img src=x onerror=alert(1)>")
            .put("status", &400u16)
            .put("title", "Bad request")
            .put("root", "./")
            .put("asset_v", "x");
        let out = render("error.html", &c).unwrap();
        assert!(!out.contains("<img"));
        assert!(out.contains("&lt;img src=x onerror=alert(1)&gt;"));
    }
}
