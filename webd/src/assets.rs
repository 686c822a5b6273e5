//! assets: the embedded static files (stylesheet, icon) with validators
//! for conditional GET: a strong hash of the content as ETag and the
//! server's start as Last-Modified. Links carry `?v=<hash>` so browsers
//! may cache for a day and still see a new version at once.

use std::time::SystemTime;

use actix_web::http::header::{self, HeaderValue, HttpDate};
use actix_web::{HttpRequest, HttpResponse};

pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
    pub etag: String,
}

pub struct Assets {
    pub items: Vec<Asset>,
    /// Short hash over all assets, for `?v=` in links.
    pub version: String,
    pub last_modified: HttpDate,
}

/// Whether an `If-None-Match` value (`*` or a comma-separated list of
/// `[W/]"opaque"` entity-tags, RFC 9110 8.8.3) weakly matches `etag`.
/// Commas and `*` inside a tag's quotes are part of the tag; the list is
/// read up to the first thing that is not an entity-tag.
fn none_match(v: &str, etag: &str) -> bool {
    const OWS: [char; 2] = [' ', '\t'];
    let v = v.trim_matches(OWS);
    if v == "*" {
        return true;
    }
    let mut rest = v;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        let tag = rest.strip_prefix("W/").unwrap_or(rest);
        let Some(end) = tag.strip_prefix('"').and_then(|b| b.find('"')) else {
            return false;
        };
        if tag[..end + 2] == *etag {
            return true;
        }
        rest = tag[end + 2..].trim_start_matches(OWS);
        if !(rest.is_empty() || rest.starts_with(',')) {
            return false;
        }
    }
}

/// FNV-1a, 64 bit: stable across builds and platforms, which a cache
/// validator needs (std's hasher makes no such promise).
fn fnv1a(data: &[u8], mut h: u64) -> u64 {
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

impl Assets {
    pub fn new(started: SystemTime) -> Self {
        let files: [(&str, &str, &[u8]); 2] = [
            (
                "style.css",
                "text/css; charset=utf-8",
                include_bytes!("../static/style.css"),
            ),
            (
                "favicon.svg",
                "image/svg+xml",
                include_bytes!("../static/favicon.svg"),
            ),
        ];
        let mut all = FNV_OFFSET;
        let items = files
            .into_iter()
            .map(|(name, content_type, body)| {
                let h = fnv1a(body, FNV_OFFSET);
                all = fnv1a(&h.to_le_bytes(), all);
                Asset {
                    name,
                    content_type,
                    body,
                    etag: format!("\"{h:016x}\""),
                }
            })
            .collect();
        Assets {
            items,
            version: format!("{all:016x}")[..10].to_string(),
            // HTTP dates have whole seconds; a validator with a fraction
            // would never compare equal to what the client sends back.
            last_modified: HttpDate::from(
                std::time::UNIX_EPOCH
                    + std::time::Duration::from_secs(
                        started
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.as_secs()),
                    ),
            ),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Asset> {
        self.items.iter().find(|a| a.name == name)
    }

    /// Whether a GET of `a` with these request headers is answered 304:
    /// `If-None-Match` (weak comparison, as for any GET; `*` alone
    /// matches, see [`none_match`]) wins
    /// over `If-Modified-Since` (RFC 9110 13.2.2), which counts only when
    /// it is a valid HTTP date no earlier than [`Assets::last_modified`].
    /// A header that is not visible ASCII never matches. Pure, for the
    /// `web_query` fuzz target.
    pub fn not_modified(
        &self,
        a: &Asset,
        if_none_match: Option<&HeaderValue>,
        if_modified_since: Option<&HeaderValue>,
    ) -> bool {
        if let Some(inm) = if_none_match {
            inm.to_str().is_ok_and(|v| none_match(v, &a.etag))
        } else if let Some(ims) = if_modified_since {
            ims.to_str()
                .ok()
                .and_then(|v| v.parse::<HttpDate>().ok())
                .is_some_and(|d| SystemTime::from(d) >= SystemTime::from(self.last_modified))
        } else {
            false
        }
    }

    /// 200 with the asset, or 304 when the client's copy is current.
    pub fn respond(&self, a: &Asset, req: &HttpRequest) -> HttpResponse {
        let headers = req.headers();
        let not_modified = self.not_modified(
            a,
            headers.get(header::IF_NONE_MATCH),
            headers.get(header::IF_MODIFIED_SINCE),
        );
        let mut b = if not_modified {
            HttpResponse::NotModified()
        } else {
            HttpResponse::Ok()
        };
        b.insert_header((header::ETAG, a.etag.clone()))
            .insert_header((header::LAST_MODIFIED, self.last_modified.to_string()))
            .insert_header((header::CACHE_CONTROL, "public, max-age=86400"));
        if not_modified {
            b.finish()
        } else {
            b.content_type(a.content_type).body(a.body)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::none_match;

    #[test]
    fn if_none_match_lists() {
        let e = "\"0123456789abcdef\"";
        for yes in [
            "*",
            " * ",
            e,
            "W/\"0123456789abcdef\"",
            "\"x\", ,\tW/\"0123456789abcdef\" ,",
            "\"a,b\", \"0123456789abcdef\"",
        ] {
            assert!(none_match(yes, e), "{yes}");
        }
        for no in [
            "",
            "\"other\"",
            // `*` and commas inside a tag belong to the tag.
            "\"0b201ebccf0cfff0\",,\"da9,*,%j+,*,,,ea\",",
            "\"x,*\"",
            "*, \"x\"",
            "W/W/\"0123456789abcdef\"",
            "\"x\" \"0123456789abcdef\"",
            "\"0123456789abcdef",
        ] {
            assert!(!none_match(no, e), "{no}");
        }
    }
}
