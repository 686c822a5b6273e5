//! rows: the HTML rows of the host and port tables, which can have a
//! million lines and are therefore written by hand rather than by the
//! template engine. Every piece of text that is not a number or an IP
//! address goes through [`push_escaped`]; nothing here ever marks data as
//! safe HTML.

use std::sync::Arc;

use common::model::{HostStats, PortStats, Snapshot, TcpPortStats};

use crate::body::Chunks;
use crate::hostname::Hostnames;
use crate::iana::{self, Transport};
use crate::units::{push_duration, push_ip, push_mac, push_thousands};

/// Appends `s` with `& < > " '` escaped, which makes it safe in element
/// content and in quoted attribute values.
pub fn push_escaped(out: &mut String, s: &str) {
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&s[last..i]);
        out.push_str(rep);
        last = i + 1;
    }
    out.push_str(&s[last..]);
}

/// How host rows are written.
#[derive(Clone, Debug)]
pub struct HostRowStyle {
    /// Relative link prefix to a host page (`"./"` on /hosts/, `"hosts/"`
    /// on /).
    pub href_prefix: &'static str,
    pub show_macs: bool,
    pub show_last_seen: bool,
    /// "Now" for "last seen" (the snapshot's time).
    pub now: u64,
}

/// Writes one `<tr>` of the hosts table.
pub fn push_host_row(out: &mut String, h: &HostStats, names: &Hostnames, style: &HostRowStyle) {
    out.push_str("<tr><td><a href=\"");
    out.push_str(style.href_prefix);
    let mark = out.len();
    // An address's text is only hex digits, '.' and ':'.
    push_ip(out, h.ip);
    let ip_end = out.len();
    out.push_str("/\">");
    out.extend_from_within(mark..ip_end);
    out.push_str("</a><td");
    let name = names.shown(h);
    if let Some(c) = name.class() {
        out.push_str(" class=\"");
        out.push_str(c);
        out.push('"');
    }
    out.push('>');
    push_escaped(out, name.text());
    if style.show_macs {
        out.push_str("<td><code>");
        if let Some(m) = h.mac {
            push_mac(out, &m.0);
        }
        out.push_str("</code>");
    }
    for v in [
        h.bytes_in,
        h.bytes_out,
        h.bytes_total(),
        h.packets_in,
        h.packets_out,
        h.packets_total(),
    ] {
        out.push_str("<td>");
        push_thousands(out, v);
    }
    if style.show_last_seen {
        out.push_str("<td>");
        push_last_seen(out, h.last_seen, style.now);
    }
    out.push_str("</tr>\n");
}

/// "4 mins, 2 secs", "(never)" or "(in the future)".
pub fn push_last_seen(out: &mut String, last_seen: Option<u64>, now: u64) {
    match last_seen {
        None => out.push_str("(never)"),
        Some(t) if t > now => out.push_str("(in the future)"),
        Some(t) => push_duration(out, now - t),
    }
}

/// Streams host rows of a snapshot in a given order.
pub struct HostRows {
    pub snap: Arc<Snapshot>,
    pub order: Arc<[u32]>,
    pub pos: usize,
    pub end: usize,
    pub names: Hostnames,
    pub style: HostRowStyle,
}

impl Chunks for HostRows {
    fn write(&mut self, out: &mut String, budget: usize) -> bool {
        let start = out.len();
        let end = self.end.min(self.order.len());
        while self.pos < end && out.len() - start < budget {
            let i = self.order[self.pos] as usize;
            if let Some(h) = self.snap.hosts.get(i) {
                push_host_row(out, h, &self.names, &self.style);
            }
            self.pos += 1;
        }
        self.pos < end
    }
}

/// One line of a port table, whichever table it comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PortLine {
    pub port: u16,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub packets_in: u64,
    pub packets_out: u64,
    /// SYN count for TCP tables of a host.
    pub syn: Option<u64>,
}

impl From<&PortStats> for PortLine {
    fn from(p: &PortStats) -> Self {
        PortLine {
            port: p.port,
            bytes_in: p.bytes_in,
            bytes_out: p.bytes_out,
            packets_in: p.packets_in,
            packets_out: p.packets_out,
            syn: None,
        }
    }
}

impl From<&TcpPortStats> for PortLine {
    fn from(p: &TcpPortStats) -> Self {
        PortLine {
            port: p.port,
            bytes_in: p.bytes_in,
            bytes_out: p.bytes_out,
            packets_in: p.packets_in,
            packets_out: p.packets_out,
            syn: Some(p.syn),
        }
    }
}

impl PortLine {
    pub fn bytes_total(&self) -> u64 {
        self.bytes_in.saturating_add(self.bytes_out)
    }
}

/// Writes one `<tr>` of a port table: port, service, bytes in/out/total,
/// packets, and SYNs for a host's TCP tables.
pub fn push_port_row(out: &mut String, p: &PortLine, transport: Transport) {
    out.push_str("<tr><td>");
    push_plain(out, u64::from(p.port));
    out.push_str("<td>");
    if let Some(s) = iana::service(transport, p.port) {
        push_escaped(out, s);
    }
    for v in [
        p.bytes_in,
        p.bytes_out,
        p.bytes_total(),
        p.packets_in.saturating_add(p.packets_out),
    ] {
        out.push_str("<td>");
        push_thousands(out, v);
    }
    if let Some(syn) = p.syn {
        out.push_str("<td>");
        push_thousands(out, syn);
    }
    out.push_str("</tr>\n");
}

fn push_plain(out: &mut String, v: u64) {
    use std::fmt::Write;
    let _ = write!(out, "{v}");
}

/// Streams rows of any port table: `lines` already in display order.
pub struct PortRows {
    pub lines: Arc<[PortLine]>,
    pub pos: usize,
    pub end: usize,
    pub transport: Transport,
}

impl Chunks for PortRows {
    fn write(&mut self, out: &mut String, budget: usize) -> bool {
        let start = out.len();
        let end = self.end.min(self.lines.len());
        while self.pos < end && out.len() - start < budget {
            push_port_row(out, &self.lines[self.pos], self.transport);
            self.pos += 1;
        }
        self.pos < end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        let mut s = String::new();
        push_escaped(&mut s, "<img src=x onerror=alert(1)>&\"'");
        assert_eq!(s, "&lt;img src=x onerror=alert(1)&gt;&amp;&quot;&#39;");
        let mut t = String::new();
        push_escaped(&mut t, "plain.example.org");
        assert_eq!(t, "plain.example.org");
    }

    fn host() -> HostStats {
        HostStats {
            mac: Some("02:00:00:00:00:0a".parse().unwrap()),
            hostname: Some("<b>evil</b>".into()),
            bytes_in: 1234,
            bytes_out: 5,
            packets_in: 2,
            packets_out: 1000,
            last_seen: Some(40),
            ..HostStats::new("2001:db8::1".parse().unwrap())
        }
    }

    #[test]
    fn host_row_has_every_column() {
        let mut s = String::new();
        let style = HostRowStyle {
            href_prefix: "./",
            show_macs: true,
            show_last_seen: true,
            now: 100,
        };
        push_host_row(&mut s, &host(), &Hostnames::without_dns(), &style);
        assert_eq!(
            s,
            "<tr><td><a href=\"./2001:db8::1/\">2001:db8::1</a><td>&lt;b&gt;evil&lt;/b&gt;\
             <td><code>02:00:00:00:00:0a</code><td>1,234<td>5<td>1,239<td>2<td>1,000<td>1,002\
             <td>1 min, 0 secs</tr>\n"
        );
        let mut t = String::new();
        let style = HostRowStyle {
            show_macs: false,
            show_last_seen: false,
            ..style
        };
        push_host_row(&mut t, &host(), &Hostnames::without_dns(), &style);
        assert!(!t.contains("02:00"));
        assert!(!t.contains("min"));
    }

    #[test]
    fn last_seen_edge_cases() {
        let mut s = String::new();
        push_last_seen(&mut s, None, 5);
        push_last_seen(&mut s, Some(6), 5);
        push_last_seen(&mut s, Some(5), 5);
        assert_eq!(s, "(never)(in the future)0 secs");
    }

    #[test]
    fn port_row_names_services() {
        let mut s = String::new();
        let p = PortLine {
            port: 443,
            bytes_in: 1000,
            bytes_out: 24,
            packets_in: 3,
            packets_out: 4,
            syn: Some(2),
        };
        push_port_row(&mut s, &p, Transport::Tcp);
        assert_eq!(
            s,
            "<tr><td>443<td>https<td>1,000<td>24<td>1,024<td>7<td>2</tr>\n"
        );
    }
}
