//! query: the query string of a request, decoded and validated. Every
//! value a page accepts is parsed here into a typed value or rejected with
//! a [`QueryError`] (a 400 page), and links back to the same page are
//! built from the typed values, never by echoing the raw query.

use std::borrow::Cow;

/// Longest query string accepted.
pub const MAX_QUERY_LEN: usize = 2048;
/// Longest filter text (`q=`) accepted, in characters: small enough that
/// every link the hosts page writes back (the filter percent-encoded, up
/// to 12 bytes a character) is itself accepted, see
/// [`LONGEST_HOSTS_LINK`].
pub const MAX_FILTER_LEN: usize = 160;

/// The longest query a link of the hosts page can carry: `sort=lastseen`,
/// a 20-digit `start`, the longest filter with every character 4 UTF-8
/// bytes, each written `%XX`, and a 5-digit `refresh`.
pub const LONGEST_HOSTS_LINK: usize = "sort=lastseen".len()
    + "&start=18446744073709551615".len()
    + "&q=".len()
    + 12 * MAX_FILTER_LEN
    + "&refresh=86400".len();
const _: () = assert!(LONGEST_HOSTS_LINK <= MAX_QUERY_LEN);

/// Why a query string was refused. The message is shown to the user
/// (escaped) and must not contain more than a short excerpt of the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

fn excerpt(s: &str) -> String {
    let mut out: String = s.chars().take(40).filter(|c| !c.is_control()).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

/// The decoded `key=value` pairs of a query string.
#[derive(Debug, Default)]
pub struct RawQuery {
    pairs: Vec<(String, String)>,
}

impl RawQuery {
    /// Decodes `application/x-www-form-urlencoded` text (`+` is a space).
    pub fn parse(qs: &str) -> Result<Self, QueryError> {
        if qs.len() > MAX_QUERY_LEN {
            return Err(QueryError(format!(
                "The query string is longer than {MAX_QUERY_LEN} bytes."
            )));
        }
        let mut pairs = Vec::new();
        for part in qs.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            pairs.push((decode(k)?.into_owned(), decode(v)?.into_owned()));
        }
        Ok(RawQuery { pairs })
    }

    /// The value of `key`; a key given twice is an error (which one would
    /// win is not obvious to whoever wrote the link).
    pub fn get(&self, key: &str) -> Result<Option<&str>, QueryError> {
        let mut found = None;
        for (k, v) in &self.pairs {
            if k == key {
                if found.is_some() {
                    return Err(QueryError(format!("\"{key}\" is given more than once.")));
                }
                found = Some(v.as_str());
            }
        }
        Ok(found)
    }

    /// A non-negative integer no larger than `max`.
    pub fn number(&self, key: &str, max: u64) -> Result<Option<u64>, QueryError> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        if v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(QueryError(format!(
                "\"{key}\" must be a whole number of 0 or more, not \"{}\".",
                excerpt(v)
            )));
        }
        match v.parse::<u64>() {
            Ok(n) if n <= max => Ok(Some(n)),
            _ => Err(QueryError(format!(
                "\"{key}\" is out of range (at most {max}): \"{}\".",
                excerpt(v)
            ))),
        }
    }

    /// A yes/no switch: `yes`, `on`, `1`, `true` or `no`, `off`, `0`, `false`.
    pub fn switch(&self, key: &str) -> Result<Option<bool>, QueryError> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        match v.to_ascii_lowercase().as_str() {
            "yes" | "on" | "1" | "true" => Ok(Some(true)),
            "no" | "off" | "0" | "false" => Ok(Some(false)),
            _ => Err(QueryError(format!(
                "\"{key}\" must be yes or no, not \"{}\".",
                excerpt(v)
            ))),
        }
    }

    /// One of a fixed set of words.
    pub fn choice<T: Copy>(
        &self,
        key: &str,
        choices: &[(&str, T)],
    ) -> Result<Option<T>, QueryError> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        choices
            .iter()
            .find(|(name, _)| *name == v)
            .map(|(_, t)| Some(*t))
            .ok_or_else(|| {
                let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
                QueryError(format!(
                    "\"{key}\" must be one of {}, not \"{}\".",
                    names.join(", "),
                    excerpt(v)
                ))
            })
    }

    /// Free text of bounded length without control characters.
    pub fn text(&self, key: &str, max_len: usize) -> Result<Option<&str>, QueryError> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        if v.chars().count() > max_len {
            return Err(QueryError(format!(
                "\"{key}\" is longer than {max_len} characters."
            )));
        }
        if v.chars().any(char::is_control) {
            return Err(QueryError(format!(
                "\"{key}\" contains control characters."
            )));
        }
        Ok(Some(v))
    }

    /// The page refresh interval (`refresh=SECS`, 0 = off).
    pub fn refresh(&self) -> Result<Option<u32>, QueryError> {
        Ok(self
            .number("refresh", u64::from(crate::config::MAX_REFRESH_SECS))?
            .map(|n| n as u32))
    }
}

fn decode(s: &str) -> Result<Cow<'_, str>, QueryError> {
    if !s.bytes().any(|b| b == b'%' || b == b'+') {
        return Ok(Cow::Borrowed(s));
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                // Exactly two hex digits: `from_str_radix` alone would also
                // take a sign ("%+5").
                let hex = b
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => {
                        return Err(QueryError(
                            "The query string has a malformed %-escape.".into(),
                        ))
                    }
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| QueryError("The query string is not valid UTF-8.".into()))
}

/// Appends `s` percent-encoded for a query value (unreserved characters
/// stay, everything else is `%XX`).
pub fn push_encoded(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
    }
}

/// The order parameters appear in links, whatever order they were set in,
/// so that the same page always has the same URL.
const KEY_ORDER: [&str; 7] = ["sort", "start", "full", "proto", "q", "refresh", "v"];

fn key_rank(k: &str) -> usize {
    KEY_ORDER
        .iter()
        .position(|o| *o == k)
        .unwrap_or(KEY_ORDER.len())
}

/// The canonical parameters of the page being shown, from which links to
/// the same page with one parameter changed are built. Parameters equal to
/// their default are left out, so links stay short.
#[derive(Debug, Clone, Default)]
pub struct SelfLink {
    params: Vec<(&'static str, String)>,
}

impl SelfLink {
    pub fn new() -> Self {
        SelfLink::default()
    }

    /// Sets (or with `None` removes) a parameter.
    pub fn set(&mut self, key: &'static str, value: Option<String>) -> &mut Self {
        self.params.retain(|(k, _)| *k != key);
        if let Some(v) = value {
            self.params.push((key, v));
            self.params.sort_by_key(|(k, _)| key_rank(k));
        }
        self
    }

    /// A copy with `changes` applied.
    pub fn with(&self, changes: &[(&'static str, Option<String>)]) -> SelfLink {
        let mut l = self.clone();
        for (k, v) in changes {
            l.set(k, v.clone());
        }
        l
    }

    /// The query part (`?a=b&c=d`), or `./` for none: a relative link to
    /// the same directory-style page.
    pub fn href(&self) -> String {
        if self.params.is_empty() {
            return "./".into();
        }
        let mut s = String::from("?");
        for (i, (k, v)) in self.params.iter().enumerate() {
            if i > 0 {
                s.push('&');
            }
            s.push_str(k);
            s.push('=');
            push_encoded(&mut s, v);
        }
        s
    }

    /// `"?refresh=N"` style suffix holding only the given keys (for links
    /// to other pages that keep the refresh choice).
    pub fn only(&self, keys: &[&str]) -> String {
        let mut l = self.clone();
        l.params.retain(|(k, _)| keys.contains(k));
        if l.params.is_empty() {
            String::new()
        } else {
            l.href()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_form_encoding() {
        let q = RawQuery::parse("a=1&b=x+y&c=%3Cimg%3E&d&=e").unwrap();
        assert_eq!(q.get("a").unwrap(), Some("1"));
        assert_eq!(q.get("b").unwrap(), Some("x y"));
        assert_eq!(q.get("c").unwrap(), Some("<img>"));
        assert_eq!(q.get("d").unwrap(), Some(""));
        assert_eq!(q.get("zz").unwrap(), None);
    }

    #[test]
    fn rejects_malformed_text() {
        assert!(RawQuery::parse("a=%").is_err());
        assert!(RawQuery::parse("a=%4").is_err());
        assert!(RawQuery::parse("a=%zz").is_err());
        assert!(RawQuery::parse("a=%ff").is_err()); // not UTF-8
                                                    // A sign is not a hex digit (u8::from_str_radix would take "+5").
        assert!(RawQuery::parse("a=%+5").is_err());
        assert!(RawQuery::parse("%+0").is_err());
        assert!(RawQuery::parse("a=%-5").is_err());
        assert!(RawQuery::parse(&"a".repeat(MAX_QUERY_LEN + 1)).is_err());
        let q = RawQuery::parse("a=1&a=2").unwrap();
        assert!(q.get("a").is_err());
    }

    #[test]
    fn numbers_are_strict() {
        let q = RawQuery::parse(
            "a=-1&b=99999999999999999999&c=+5&d=0x10&e=&f=42&g=18446744073709551615",
        )
        .unwrap();
        for k in ["a", "b", "c", "d", "e"] {
            assert!(q.number(k, u64::MAX).is_err(), "{k}");
        }
        assert_eq!(q.number("f", 100).unwrap(), Some(42));
        assert!(q.number("f", 41).is_err());
        assert_eq!(q.number("g", u64::MAX).unwrap(), Some(u64::MAX));
        assert_eq!(q.number("missing", 1).unwrap(), None);
    }

    #[test]
    fn switches_and_choices() {
        let q = RawQuery::parse("a=yes&b=NO&c=maybe&s=in&t=bogus").unwrap();
        assert_eq!(q.switch("a").unwrap(), Some(true));
        assert_eq!(q.switch("b").unwrap(), Some(false));
        assert!(q.switch("c").is_err());
        let choices = [("in", 1), ("out", 2)];
        assert_eq!(q.choice("s", &choices).unwrap(), Some(1));
        let e = q.choice("t", &choices).unwrap_err();
        assert!(e.0.contains("in, out"));
    }

    #[test]
    fn text_is_bounded() {
        let q = RawQuery::parse("q=abc&r=%01&l=xxxxxxxxxx").unwrap();
        assert_eq!(q.text("q", 10).unwrap(), Some("abc"));
        assert!(q.text("r", 10).is_err());
        assert!(q.text("l", 9).is_err());
    }

    #[test]
    fn error_messages_quote_a_short_excerpt_only() {
        let long = "x".repeat(500);
        let q = RawQuery::parse(&format!("sort={long}")).unwrap();
        let e = q.choice("sort", &[("in", ())]).unwrap_err();
        assert!(e.0.len() < 120, "{}", e.0);
    }

    #[test]
    fn self_links_encode_values() {
        let mut l = SelfLink::new();
        assert_eq!(l.href(), "./");
        l.set("sort", Some("in".into()));
        l.set("q", Some("a b&<".into()));
        assert_eq!(l.href(), "?sort=in&q=a%20b%26%3C");
        let m = l.with(&[("sort", None), ("start", Some("30".into()))]);
        assert_eq!(m.href(), "?start=30&q=a%20b%26%3C");
        let n = m.with(&[("sort", Some("ip".into()))]);
        assert_eq!(n.href(), "?sort=ip&start=30&q=a%20b%26%3C");
        assert_eq!(l.only(&["sort"]), "?sort=in");
        assert_eq!(l.only(&["zzz"]), "");
    }
}
