//! `--dump-json`, written by hand: the same bytes as
//! `serde_json::to_writer` of the `common::model::Snapshot` of the same
//! tables (unit tests compare them), in about half the time. Most of a document is the hosts'
//! port rows, and serde_json escapes every key of every row character by
//! character (a quarter of a whole `-r` run on 50k hosts, by cachegrind).
//! Here keys are constants and numbers go through `itoa`. The small parts
//! of the document (totals, global tables, graphs) still go through serde.
//!
//! The hosts are rendered in chunks, every other chunk on a second thread,
//! and written in table order.

use std::io::{self, Write};
use std::net::IpAddr;
use std::sync::mpsc;
use std::thread;

use common::net::key_ip;

use super::entries::Kind;
use super::hosts::Host;
use super::view::SnapshotView;

/// Hosts per chunk: small enough to bound the text held in memory, large
/// enough to make handing it over cheap.
const CHUNK: usize = 256;

/// The tables of a host in the document's order, with the key of their
/// number field and whether rows carry SYNs.
const TABLES: [(Kind, &str, &[u8], bool); 5] = [
    (Kind::TcpLocal, "tcp_local", b"{\"port\":", true),
    (Kind::TcpRemote, "tcp_remote", b"{\"port\":", true),
    (Kind::UdpLocal, "udp_local", b"{\"port\":", false),
    (Kind::UdpRemote, "udp_remote", b"{\"port\":", false),
    (Kind::Proto, "protocols", b"{\"proto\":", false),
];

/// `n` in decimal. Most of a document is numbers: the digits go straight
/// into `out` (a copy of a length known only at run time is a call to
/// memcpy; a dump of 50k hosts spent a quarter of its time in it).
#[inline]
fn num(out: &mut Vec<u8>, mut n: u64) {
    let digits = n.checked_ilog10().map_or(1, |l| l as usize + 1);
    let at = out.len();
    // u64::MAX has 20 digits: room for any, then cut to size
    out.extend_from_slice(&[b'0'; 20]);
    for d in out[at..at + digits].iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.truncate(at + digits);
}

/// Two lowercase hex digits.
#[inline]
fn hex(out: &mut Vec<u8>, b: u8) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(&[DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]]);
}

/// A MAC as `MacAddr` displays it (`aa:bb:cc:dd:ee:ff`), quoted.
fn mac(out: &mut Vec<u8>, m: [u8; 6]) {
    out.push(b'"');
    for (i, &b) in m.iter().enumerate() {
        if i > 0 {
            out.push(b':');
        }
        hex(out, b);
    }
    out.push(b'"');
}

/// A host's address as `IpAddr` displays it, quoted: IPv4 by hand (nine
/// hosts in ten on a typical table), IPv6 through `Display` (its zero
/// compression is not worth repeating).
fn address(out: &mut Vec<u8>, key: u128) {
    out.push(b'"');
    match key_ip(key) {
        IpAddr::V4(a) => {
            for (i, &o) in a.octets().iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                num(out, u64::from(o));
            }
        }
        v6 => {
            let _ = write!(out, "{v6}");
        }
    }
    out.push(b'"');
}

/// `"key":n`, after a comma unless `first`. Inlined so that `key` is a
/// constant where it is called, and its copy a few moves.
#[inline(always)]
fn field(out: &mut Vec<u8>, first: bool, key: &str, n: u64) {
    if !first {
        out.push(b',');
    }
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
    num(out, n);
}

/// A port or protocol row: at most 166 bytes (a TCP row with the comma
/// before it, 71 bytes of keys and punctuation, a 5-digit port, four
/// 20-digit counters and a 10-digit SYN count), so 256 bytes always hold
/// it (a test writes the longest).
/// Written into a fixed buffer and appended at once: one capacity check per
/// row instead of one per piece (they were a quarter of the dump's
/// instructions, by callgrind).
struct Row {
    b: [u8; 256],
    n: usize,
}

impl Row {
    #[inline(always)]
    fn put(&mut self, s: &[u8]) {
        self.b[self.n..self.n + s.len()].copy_from_slice(s);
        self.n += s.len();
    }

    /// `n` in decimal, as [`num`].
    #[inline(always)]
    fn num(&mut self, mut n: u64) {
        let digits = n.checked_ilog10().map_or(1, |l| l as usize + 1);
        let end = self.n + digits;
        for d in self.b[self.n..end].iter_mut().rev() {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
        }
        self.n = end;
    }

    /// `,"key":n` (the key with its quotes, colon and comma given whole).
    #[inline(always)]
    fn field(&mut self, key: &[u8], n: u64) {
        self.put(key);
        self.num(n);
    }
}

/// Renders hosts; keeps its row buffers from one host to the next.
#[derive(Default)]
struct HostWriter {
    /// One buffer of rows per table, in [`TABLES`] order.
    rows: [Vec<u8>; 5],
    /// The row being written (kept, so that it is not zeroed per row).
    row: Row,
}

impl Default for Row {
    fn default() -> Self {
        Row { b: [0; 256], n: 0 }
    }
}

impl HostWriter {
    /// Appends `h` as one JSON object, as serde_json writes its
    /// `HostStats`.
    fn host(&mut self, h: &Host, out: &mut Vec<u8>) {
        for r in &mut self.rows {
            r.clear();
        }
        // one pass over the entries: a busy host's large table has tens of
        // thousands of slots
        for (kind, number, e) in h.entries.iter() {
            let Some(&(_, _, key, syn)) = TABLES.get(usize::from(kind)) else {
                continue;
            };
            let r = &mut self.rows[usize::from(kind)];
            let row = &mut self.row;
            row.n = 0;
            if !r.is_empty() {
                row.put(b",");
            }
            row.field(key, u64::from(number));
            row.field(b",\"bytes_in\":", e.bytes_in);
            row.field(b",\"bytes_out\":", e.bytes_out);
            row.field(b",\"packets_in\":", e.packets_in);
            row.field(b",\"packets_out\":", e.packets_out);
            if syn {
                row.field(b",\"syn\":", u64::from(e.syn));
            }
            row.put(b"}");
            r.extend_from_slice(&row.b[..row.n]);
        }
        // an address or a MAC never needs escaping
        out.extend_from_slice(b"{\"ip\":");
        address(out, h.key);
        out.extend_from_slice(b",\"mac\":");
        match h.mac {
            Some(m) => mac(out, m),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"hostname\":null");
        field(out, false, "bytes_in", h.bytes_in);
        field(out, false, "bytes_out", h.bytes_out);
        field(out, false, "packets_in", h.packets_in);
        field(out, false, "packets_out", h.packets_out);
        match super::snapshot::last_seen(h) {
            Some(t) => field(out, false, "last_seen", t),
            None => out.extend_from_slice(b",\"last_seen\":null"),
        }
        for (i, (_, name, _, _)) in TABLES.iter().enumerate() {
            out.extend_from_slice(b",\"");
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":[");
            out.extend_from_slice(&self.rows[i]);
            out.push(b']');
        }
        out.push(b'}');
    }
}

/// A piece of rendered hosts, and whether it ends its chunk.
type Piece = (Vec<u8>, bool);

/// Bytes of rendered hosts the second thread gathers before handing them
/// over: bounds the memory the text takes (a host's own text can be
/// larger: a busy host with tens of thousands of ports is a few MB).
/// Tiny in tests, so that they hand chunks over in several pieces.
const PIECE: usize = if cfg!(test) { 512 } else { 256 * 1024 };

/// Writes the hosts' array contents (without the brackets) to `w`.
fn write_hosts(hosts: &[Host], w: &mut dyn Write) -> io::Result<()> {
    let mut mine = HostWriter::default();
    let mut buf = Vec::new();
    let mut first = true;
    let mut write_chunk = |chunk: &[Host], w: &mut dyn Write| -> io::Result<()> {
        for h in chunk {
            buf.clear();
            if !first {
                buf.push(b',');
            }
            first = false;
            mine.host(h, &mut buf);
            w.write_all(&buf)?;
        }
        Ok(())
    };
    if hosts.len() <= CHUNK {
        return write_chunk(hosts, w);
    }
    thread::scope(|sc| {
        let (tx, rx) = mpsc::sync_channel::<Piece>(2);
        let (back_tx, back_rx) = mpsc::sync_channel::<Vec<u8>>(4);
        let renderer = thread::Builder::new()
            .name("dump".into())
            .spawn_scoped(sc, move || {
                let mut theirs = HostWriter::default();
                let mut text = Vec::new();
                for chunk in hosts.chunks(CHUNK).skip(1).step_by(2) {
                    for (i, h) in chunk.iter().enumerate() {
                        // every odd chunk follows an even one
                        text.push(b',');
                        theirs.host(h, &mut text);
                        let done = i + 1 == chunk.len();
                        if text.len() >= PIECE || done {
                            let next = back_rx.try_recv().unwrap_or_default();
                            // fails once the writer gave up: stop too
                            if tx.send((std::mem::replace(&mut text, next), done)).is_err() {
                                return;
                            }
                            text.clear();
                        }
                    }
                }
            });
        for (i, chunk) in hosts.chunks(CHUNK).enumerate() {
            if i % 2 == 0 || renderer.is_err() {
                // even chunks here; all of them if no second thread
                write_chunk(chunk, w)?;
                continue;
            }
            loop {
                let (text, done) = rx
                    .recv()
                    .map_err(|_| io::Error::other("the dump thread stopped"))?;
                w.write_all(&text)?;
                let _ = back_tx.try_send(text);
                if done {
                    break;
                }
            }
        }
        Ok(())
    })
}

/// `,"key":` and `value` as serde_json writes it (the small parts).
fn member<T: serde::Serialize + ?Sized>(w: &mut dyn Write, key: &str, value: &T) -> io::Result<()> {
    write!(w, ",\"{key}\":")?;
    serde_json::to_writer(&mut *w, value).map_err(io::Error::other)
}

impl SnapshotView<'_> {
    /// Writes the document as compact JSON: the bytes serde_json writes
    /// for the `Snapshot` of the same tables.
    pub fn write_json(&self, w: &mut dyn Write) -> io::Result<()> {
        let mut head = Vec::new();
        head.push(b'{');
        field(&mut head, true, "version", u64::from(self.version));
        field(&mut head, false, "since", self.since);
        field(&mut head, false, "now", self.now);
        w.write_all(&head)?;
        member(w, "totals", &self.totals)?;
        w.write_all(b",\"hosts\":[")?;
        write_hosts(self.hosts.as_slice(), w)?;
        w.write_all(b"]")?;
        member(w, "ports", &self.ports)?;
        member(w, "protocols", &self.protocols)?;
        member(w, "graphs", &self.graphs)?;
        member(w, "interfaces", &self.interfaces)?;
        member(w, "local_networks", &self.local_networks)?;
        member(w, "evictions", &self.evictions)?;
        w.write_all(b"}")
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_frames::frame;
    use super::super::{Accounts, Limits};
    use crate::decode::{self, LinkType};
    use common::model::{CaptureCounts, InterfaceStats};
    use common::net::LocalNets;

    /// Tables of every shape: no host, one chunk, several and an odd
    /// number of chunks; hosts with and without MAC, sent or only
    /// received, IPv4 and IPv6, small and large port tables, TCP (SYN
    /// counts), UDP and ICMP. The text must be serde_json's, byte for byte.
    #[test]
    fn writes_the_bytes_serde_json_writes() {
        let limits = Limits {
            hosts_max: 10_000,
            hosts_keep: 5000,
            ports_max: 500,
            ports_keep: 100,
            highest_port: 65535,
        };
        let local = LocalNets::new(vec!["192.168.0.0/16".parse().unwrap()]);
        let ifs = [InterfaceStats {
            name: "eth0 \"quoted\"".into(),
            linktype: 1,
            capture: CaptureCounts {
                received: 7,
                dropped: 1,
                if_dropped: 0,
            },
        }];
        for n in [0u32, 1, 300, 700, 1500] {
            let mut a = Accounts::new(limits, local.clone());
            for i in 0..n {
                let proto = [6u8, 17, 1][(i % 3) as usize];
                // a new source host per packet: 192.168.(i / 256).(i % 256)
                let mut f = frame(i as u8, (i % 7) as u8, proto, (i % 1000) as u16, 443);
                f[28] = (i / 256) as u8;
                let d = decode::frame(LinkType::Ethernet, &f, 60);
                a.apply(&d, 1_700_000_000 + u64::from(i), 60 + i);
            }
            // IPv6, no MAC (raw IP link)
            let mut v6 = vec![0x60, 0, 0, 0, 0, 8, 17, 64];
            v6.extend_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
            v6.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
            v6.extend_from_slice(&[0, 53, 0, 53, 0, 8, 0, 0]);
            let d = decode::frame(LinkType::Raw, &v6, 48);
            a.apply(&d, 1_700_000_999, 48);
            let expected = serde_json::to_vec(&a.snapshot(&ifs)).unwrap();
            let mut got = Vec::new();
            a.view(&ifs).write_json(&mut got).unwrap();
            assert!(
                expected == got,
                "{n} packets:\nserde: {}\nours:  {}",
                String::from_utf8_lossy(&expected[..expected.len().min(600)]),
                String::from_utf8_lossy(&got[..got.len().min(600)])
            );
            let doc: serde_json::Value = serde_json::from_slice(&got).unwrap();
            assert!(doc["hosts"].as_array().unwrap().len() > n as usize);
        }
    }

    /// Numbers, MACs and addresses are written by hand: the text must be
    /// what `Display` writes, at every digit count and edge.
    /// The longest rows there can be: every counter at its largest.
    #[test]
    fn the_largest_counters_are_written_as_serde_json_writes_them() {
        let limits = Limits {
            hosts_max: 10,
            hosts_keep: 5,
            ports_max: 60,
            ports_keep: 30,
            highest_port: 65535,
        };
        let mut a = Accounts::new(limits, LocalNets::new(vec![]));
        let h = a.hosts.get_or_insert(u128::MAX - 1).unwrap();
        for (kind, number) in [
            (super::Kind::TcpLocal, 65535),
            (super::Kind::TcpRemote, 0),
            (super::Kind::UdpLocal, 65535),
            (super::Kind::UdpRemote, 65535),
            (super::Kind::Proto, 255),
        ] {
            for n in [number, 1, number / 2] {
                let (e, _) = h.entries.get(kind, n, 60, 30);
                e.bytes_in = u64::MAX;
                e.bytes_out = u64::MAX - 1;
                e.packets_in = u64::MAX;
                e.packets_out = 10_000_000_000_000_000_000;
                e.syn = u32::MAX;
            }
        }
        let expected = serde_json::to_vec(&a.snapshot(&[])).unwrap();
        let mut got = Vec::new();
        a.view(&[]).write_json(&mut got).unwrap();
        let at = expected.iter().zip(&got).position(|(e, g)| e != g);
        assert!(expected == got, "first difference at byte {at:?}");
        assert!(got.windows(20).any(|w| w == b"18446744073709551615"));
    }

    #[test]
    fn numbers_macs_and_addresses_are_written_as_display_writes_them() {
        let mut edges = vec![0u64, u64::MAX, u64::MAX - 1];
        for d in 1..20 {
            let p = 10u64.pow(d);
            edges.extend([p - 1, p, p + 1]);
        }
        for n in edges {
            let mut out = b"x".to_vec();
            super::num(&mut out, n);
            assert_eq!(out, format!("x{n}").into_bytes());
        }
        for m in [[0u8; 6], [0xff; 6], [0x02, 0x0a, 0xb0, 0x1f, 0xf0, 0x9c]] {
            let mut out = Vec::new();
            super::mac(&mut out, m);
            assert_eq!(out, format!("\"{}\"", common::net::MacAddr(m)).into_bytes());
        }
        for a in [
            "0.0.0.0",
            "255.255.255.255",
            "10.0.100.9",
            "::",
            "::1",
            "2001:db8::1",
            "::ffff:1.2.3.4",
        ] {
            let ip: std::net::IpAddr = a.parse().unwrap();
            let key = common::net::ip_key(ip);
            let mut out = Vec::new();
            super::address(&mut out, key);
            assert_eq!(
                out,
                format!("\"{}\"", common::net::key_ip(key)).into_bytes(),
                "{a}"
            );
        }
    }

    /// A writer that fails partway (a full disk): the error comes back,
    /// and the second thread does not hang on a reader that left.
    #[test]
    fn a_failing_writer_ends_the_dump_with_its_error() {
        struct Full(usize);
        impl std::io::Write for Full {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                if self.0 < b.len() {
                    return Err(std::io::Error::other("disk full"));
                }
                self.0 -= b.len();
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let limits = Limits {
            hosts_max: 10_000,
            hosts_keep: 5000,
            ports_max: 60,
            ports_keep: 30,
            highest_port: 65535,
        };
        let mut a = Accounts::new(limits, LocalNets::new(vec![]));
        for i in 0..3000u32 {
            let mut f = frame(i as u8, 1, 17, 1000, 53);
            f[28] = (i / 256) as u8;
            let d = decode::frame(LinkType::Ethernet, &f, 60);
            a.apply(&d, 1_700_000_000, 60);
        }
        for room in [0, 100, 50_000, 400_000] {
            let err = a.view(&[]).write_json(&mut Full(room)).unwrap_err();
            assert_eq!(err.to_string(), "disk full");
        }
    }
}
