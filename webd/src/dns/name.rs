//! name: decides whether bytes from a PTR answer may be shown as a host name.
//!
//! A PTR target is chosen by whoever controls the reverse zone, so it is
//! attacker input (security.md §4.2). This is the only path by which such
//! bytes become a displayed name: RFC 1123 LDH labels (`xn--` A-labels
//! included, never decoded to Unicode, against homographs), lowercased.
//! It must never pass a byte outside `[a-z0-9.-]` and never "repair" a name.

use thiserror::Error;

/// Longest name in presentation form, without the trailing dot (RFC 1035's
/// 255-byte wire limit minus the length byte and the root label).
pub const MAX_NAME_LEN: usize = 253;
/// Longest label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// Why a name was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum InvalidName {
    #[error("empty name")]
    Empty,
    #[error("longer than {MAX_NAME_LEN} bytes")]
    TooLong,
    #[error("empty label")]
    EmptyLabel,
    #[error("label longer than {MAX_LABEL_LEN} bytes")]
    LabelTooLong,
    #[error("byte 0x{0:02x} is not a letter, digit or hyphen")]
    BadByte(u8),
    #[error("label starts or ends with a hyphen")]
    EdgeHyphen,
    /// No top-level domain is all digits (RFC 3696 §2); refusing these stops
    /// a PTR such as `10.0.0.1` from passing itself off as another address.
    #[error("all-numeric top-level label")]
    NumericTld,
}

/// Validates a name given label by label (as decoded from the wire, where a
/// label may contain any byte, even `.`) and returns it lowercased and
/// joined with dots.
pub fn validate_labels<'a, I>(labels: I) -> Result<String, InvalidName>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let mut out = String::new();
    let mut last: &[u8] = &[];
    for label in labels {
        check_label(label)?;
        let dot = usize::from(!out.is_empty());
        if out.len() + dot + label.len() > MAX_NAME_LEN {
            return Err(InvalidName::TooLong);
        }
        if dot == 1 {
            out.push('.');
        }
        // check_label admitted only ASCII letters, digits and '-'.
        out.extend(label.iter().map(|b| char::from(b.to_ascii_lowercase())));
        last = label;
    }
    if out.is_empty() {
        return Err(InvalidName::Empty);
    }
    if last.iter().all(u8::is_ascii_digit) {
        return Err(InvalidName::NumericTld);
    }
    Ok(out)
}

/// Validates a name in presentation form (`host.example` or
/// `host.example.`), e.g. a `HOSTNAME` from an imported darkstat database.
/// One trailing dot is accepted and dropped; no escapes are interpreted.
pub fn validate_name(text: &[u8]) -> Result<String, InvalidName> {
    let text = text.strip_suffix(b".").unwrap_or(text);
    if text.is_empty() {
        return Err(InvalidName::Empty);
    }
    validate_labels(text.split(|&b| b == b'.'))
}

fn check_label(label: &[u8]) -> Result<(), InvalidName> {
    if label.is_empty() {
        return Err(InvalidName::EmptyLabel);
    }
    if label.len() > MAX_LABEL_LEN {
        return Err(InvalidName::LabelTooLong);
    }
    if let Some(&b) = label
        .iter()
        .find(|b| !(b.is_ascii_alphanumeric() || **b == b'-'))
    {
        return Err(InvalidName::BadByte(b));
    }
    if label.first() == Some(&b'-') || label.last() == Some(&b'-') {
        return Err(InvalidName::EdgeHyphen);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> String {
        validate_name(s.as_bytes()).unwrap_or_else(|e| panic!("{s:?} refused: {e}"))
    }

    fn bad(s: &[u8]) -> InvalidName {
        match validate_name(s) {
            Ok(n) => panic!("{:?} accepted as {n:?}", s.escape_ascii().to_string()),
            Err(e) => e,
        }
    }

    #[test]
    fn good_names_are_lowercased() {
        assert_eq!(ok("router"), "router");
        assert_eq!(ok("Host-1.Example.COM"), "host-1.example.com");
        assert_eq!(ok("host.example."), "host.example");
        assert_eq!(ok("a.b.c.d.e.f"), "a.b.c.d.e.f");
        assert_eq!(ok("3com.example"), "3com.example");
        assert_eq!(ok("1-2-3-4.dsl.example.net"), "1-2-3-4.dsl.example.net");
        assert_eq!(ok("a--b.example"), "a--b.example");
    }

    #[test]
    fn punycode_labels_stay_in_a_label_form() {
        assert_eq!(ok("xn--bcher-kva.example"), "xn--bcher-kva.example");
        assert_eq!(ok("XN--80AK6AA92E.com"), "xn--80ak6aa92e.com");
        assert_eq!(ok("www.xn--p1ai"), "www.xn--p1ai");
    }

    #[test]
    fn label_length_limit() {
        let l63 = "a".repeat(63);
        let l64 = "a".repeat(64);
        assert_eq!(ok(&format!("{l63}.example")), format!("{l63}.example"));
        assert_eq!(
            bad(format!("{l64}.example").as_bytes()),
            InvalidName::LabelTooLong
        );
        assert_eq!(
            bad(format!("host.{l64}").as_bytes()),
            InvalidName::LabelTooLong
        );
    }

    #[test]
    fn name_length_limit() {
        // 3 * 63 + 61 + 3 dots = 253.
        let l63 = "b".repeat(63);
        let n253 = format!("{l63}.{l63}.{l63}.{}", "c".repeat(61));
        assert_eq!(n253.len(), 253);
        assert_eq!(ok(&n253), n253);
        assert_eq!(ok(&format!("{n253}.")), n253, "trailing dot is not counted");
        let n254 = format!("{l63}.{l63}.{l63}.{}", "c".repeat(62));
        assert_eq!(n254.len(), 254);
        assert_eq!(bad(n254.as_bytes()), InvalidName::TooLong);
        let many = "a.".repeat(200) + "com";
        assert_eq!(bad(many.as_bytes()), InvalidName::TooLong);
    }

    #[test]
    fn control_bytes_are_refused() {
        assert_eq!(bad(b"\x1b[31mred.example"), InvalidName::BadByte(0x1b));
        assert_eq!(bad(b"host\n.example"), InvalidName::BadByte(b'\n'));
        assert_eq!(bad(b"ho\0st.example"), InvalidName::BadByte(0));
        assert_eq!(bad(b"host\r\nX-Injected: 1"), InvalidName::BadByte(b'\r'));
        assert_eq!(bad(b"host\x7f.example"), InvalidName::BadByte(0x7f));
        assert_eq!(bad(b"host\t.example"), InvalidName::BadByte(b'\t'));
    }

    #[test]
    fn markup_is_refused() {
        assert_eq!(
            bad(b"<img src=x onerror=alert(1)>"),
            InvalidName::BadByte(b'<')
        );
        assert_eq!(
            bad(b"<img src=x onerror=alert(1)>.evil."),
            InvalidName::BadByte(b'<')
        );
        assert_eq!(
            bad(b"x\"><script>alert(1)</script>.evil"),
            InvalidName::BadByte(b'"')
        );
        assert_eq!(bad(b"a&amp;b.example"), InvalidName::BadByte(b'&'));
        assert_eq!(bad(b"host'.example"), InvalidName::BadByte(b'\''));
        assert_eq!(bad(b"under_score.example"), InvalidName::BadByte(b'_'));
        assert_eq!(bad(b"sp ace.example"), InvalidName::BadByte(b' '));
    }

    #[test]
    fn utf8_is_refused() {
        assert_eq!(
            bad("bücher.example".as_bytes()),
            InvalidName::BadByte("ü".as_bytes()[0])
        );
        // A Cyrillic "а" homograph of "apple".
        assert!(matches!(
            bad("аpple.com".as_bytes()),
            InvalidName::BadByte(_)
        ));
        assert!(matches!(
            bad(b"\xff\xfe.example"),
            InvalidName::BadByte(0xff)
        ));
    }

    #[test]
    fn empty_names_and_labels() {
        assert_eq!(bad(b""), InvalidName::Empty);
        assert_eq!(bad(b"."), InvalidName::Empty);
        assert_eq!(bad(b".."), InvalidName::EmptyLabel);
        assert_eq!(bad(b"a..b"), InvalidName::EmptyLabel);
        assert_eq!(bad(b".example"), InvalidName::EmptyLabel);
        assert_eq!(bad(b"host.example.."), InvalidName::EmptyLabel);
        assert_eq!(validate_labels(std::iter::empty()), Err(InvalidName::Empty));
    }

    #[test]
    fn hyphens_at_label_ends() {
        assert_eq!(bad(b"-host.example"), InvalidName::EdgeHyphen);
        assert_eq!(bad(b"host-.example"), InvalidName::EdgeHyphen);
        assert_eq!(bad(b"host.-example"), InvalidName::EdgeHyphen);
        assert_eq!(bad(b"host.example-"), InvalidName::EdgeHyphen);
        assert_eq!(bad(b"-"), InvalidName::EdgeHyphen);
    }

    #[test]
    fn numeric_tld_is_refused() {
        assert_eq!(bad(b"10.0.0.1"), InvalidName::NumericTld);
        assert_eq!(bad(b"1234"), InvalidName::NumericTld);
        assert_eq!(ok("10.0.0.1.example"), "10.0.0.1.example");
    }

    #[test]
    fn wire_labels_may_hide_a_dot() {
        // One label "a.b" must not pass as the two labels "a" and "b".
        let labels: [&[u8]; 2] = [b"a.b", b"example"];
        assert_eq!(validate_labels(labels), Err(InvalidName::BadByte(b'.')));
        let labels: [&[u8]; 2] = [b"Mixed-Case", b"Example"];
        assert_eq!(validate_labels(labels).as_deref(), Ok("mixed-case.example"));
    }

    #[test]
    fn output_alphabet_is_closed() {
        // Whatever passes consists of [a-z0-9.-] only.
        for s in ["Host-1.Example.COM", "XN--80AK6AA92E.com", "a.b.c"] {
            let n = ok(s);
            assert!(n
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-'));
        }
    }
}
