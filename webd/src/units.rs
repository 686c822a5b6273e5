//! units: how numbers are written on the pages. Counts are exact with `,`
//! thousands separators (never rounded); rates and sizes use binary
//! prefixes (KiB = 1024 B) with at most three significant digits; durations
//! read like darkstat's ("2 mins, 5 secs"). Pure functions, no locale.

/// Appends `n` with `,` between groups of three digits.
pub fn push_thousands(out: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let s = &digits[i..];
    let first = s.len() % 3;
    for (k, d) in s.iter().enumerate() {
        if k != 0 && (k + 3 - first) % 3 == 0 {
            out.push(',');
        }
        out.push(char::from(*d));
    }
}

/// `1234567` → `"1,234,567"`.
pub fn thousands(n: u64) -> String {
    let mut s = String::with_capacity(26);
    push_thousands(&mut s, n);
    s
}

const PREFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

/// A byte quantity with a binary prefix: `1536.0` → `"1.5 KiB"`.
pub fn bytes_binary(v: f64) -> String {
    scaled(v, "B")
}

/// A byte rate: `1536.0` → `"1.5 KiB/s"`.
pub fn rate(bytes_per_sec: f64) -> String {
    scaled(bytes_per_sec, "B/s")
}

fn scaled(v: f64, unit: &str) -> String {
    if !v.is_finite() || v <= 0.0 {
        return format!("0 {unit}");
    }
    let mut x = v;
    let mut p = 0;
    while x >= 1023.95 && p + 1 < PREFIXES.len() {
        x /= 1024.0;
        p += 1;
    }
    let prefix = PREFIXES[p];
    if x >= 99.95 || (p == 0 && x.fract() == 0.0) {
        format!("{x:.0} {prefix}{unit}")
    } else if x >= 9.995 {
        format!("{x:.1} {prefix}{unit}")
    } else {
        format!("{x:.2} {prefix}{unit}")
    }
}

/// `"4 mins, 24 secs"`; leading zero units are left out, singular forms
/// are `day`, `hr`, `min`, `sec` (darkstat's wording).
pub fn duration(secs: u64) -> String {
    let mut out = String::new();
    push_duration(&mut out, secs);
    out
}

/// Appends [`duration`]'s text.
pub fn push_duration(out: &mut String, secs: u64) {
    let parts = [
        (secs / 86_400, "day", "days"),
        (secs / 3600 % 24, "hr", "hrs"),
        (secs / 60 % 60, "min", "mins"),
        (secs % 60, "sec", "secs"),
    ];
    let mut started = false;
    for (i, (n, one, many)) in parts.iter().enumerate() {
        if *n == 0 && !started && i + 1 < parts.len() {
            continue;
        }
        if started {
            out.push_str(", ");
        }
        started = true;
        push_thousands(out, *n);
        out.push(' ');
        out.push_str(if *n == 1 { one } else { many });
    }
}

/// Appends an address in its canonical text form (as `Display` writes
/// it), IPv4 without going through the formatting machinery: the hosts
/// table writes a million of them.
pub fn push_ip(out: &mut String, ip: std::net::IpAddr) {
    use std::fmt::Write;
    match ip {
        std::net::IpAddr::V4(a) => {
            for (i, o) in a.octets().iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                let o = *o;
                if o >= 100 {
                    out.push(char::from(b'0' + o / 100));
                }
                if o >= 10 {
                    out.push(char::from(b'0' + o / 10 % 10));
                }
                out.push(char::from(b'0' + o % 10));
            }
        }
        std::net::IpAddr::V6(a) => {
            let _ = write!(out, "{a}");
        }
    }
}

/// Appends a MAC address as `aa:bb:cc:dd:ee:ff`.
pub fn push_mac(out: &mut String, mac: &[u8; 6]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in mac.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_every_three_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(7), "7");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(12345), "12,345");
        assert_eq!(thousands(123456), "123,456");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn binary_prefixes() {
        assert_eq!(rate(0.0), "0 B/s");
        assert_eq!(rate(f64::NAN), "0 B/s");
        assert_eq!(rate(512.0), "512 B/s");
        assert_eq!(rate(0.5), "0.50 B/s");
        assert_eq!(rate(1536.0), "1.50 KiB/s");
        assert_eq!(rate(10.0 * 1024.0), "10.0 KiB/s");
        assert_eq!(rate(1023.0 * 1024.0), "1023 KiB/s");
        assert_eq!(rate(1024.0 * 1024.0), "1.00 MiB/s");
        assert_eq!(bytes_binary(3.0 * 1024.0 * 1024.0 * 1024.0), "3.00 GiB");
        assert_eq!(bytes_binary(1023.99), "1.00 KiB");
    }

    #[test]
    fn addresses_match_display() {
        for ip in [
            "0.0.0.0",
            "1.2.3.4",
            "10.20.30.40",
            "100.200.250.255",
            "255.255.255.255",
            "2001:db8::1",
            "::ffff:1.2.3.4",
            "fe80::1:2",
        ] {
            let ip: std::net::IpAddr = ip.parse().unwrap();
            let mut s = String::new();
            push_ip(&mut s, ip);
            assert_eq!(s, ip.to_string());
        }
        let mut s = String::new();
        push_mac(&mut s, &[0x02, 0, 0x0a, 0xff, 0x10, 0x9c]);
        assert_eq!(s, "02:00:0a:ff:10:9c");
    }

    #[test]
    fn durations_like_darkstat() {
        assert_eq!(duration(0), "0 secs");
        assert_eq!(duration(1), "1 sec");
        assert_eq!(duration(264), "4 mins, 24 secs");
        assert_eq!(duration(3600), "1 hr, 0 mins, 0 secs");
        assert_eq!(duration(90_061), "1 day, 1 hr, 1 min, 1 sec");
        assert_eq!(duration(86_400 * 2000), "2,000 days, 0 hrs, 0 mins, 0 secs");
    }
}
