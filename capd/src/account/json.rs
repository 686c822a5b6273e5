//! `--dump-json`, written by hand: the same bytes as
//! `serde_json::to_writer` of the `common::model::Snapshot` of the same
//! tables (unit tests compare them), in about half the time. Most of a
//! document is the hosts' port rows, and serde_json escapes every key of
//! every row character by character (a quarter of a whole `-r` run on 50k
//! hosts, by cachegrind). Here keys are constants, numbers are written two
//! digits at a time, and rows go straight into the output buffer. The
//! small parts of the document (totals, global tables, graphs) still go
//! through serde.
//!
//! The hosts are rendered in chunks of about the same size by two threads,
//! each taking the next chunk when it is done with one, and written in
//! table order: writing the document is the one part of a `-r` run that
//! the counting does not overlap (BENCHMARKS.md).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::mem::MaybeUninit;
use std::net::IpAddr;
use std::ops::Range;
use std::sync::{mpsc, Mutex, PoisonError};
use std::thread;

use common::net::key_ip;

use super::entries::Kind;
use super::hosts::Host;
use super::view::{GlobalPortsView, SnapshotView};

/// The tables of a host in the document's order, with the key of their
/// number field and whether rows carry SYNs.
const TABLES: [(Kind, &str, &[u8], bool); 5] = [
    (Kind::TcpLocal, "tcp_local", b"{\"port\":", true),
    (Kind::TcpRemote, "tcp_remote", b"{\"port\":", true),
    (Kind::UdpLocal, "udp_local", b"{\"port\":", false),
    (Kind::UdpRemote, "udp_remote", b"{\"port\":", false),
    (Kind::Proto, "protocols", b"{\"proto\":", false),
];

/// "00" to "99": numbers are written two digits at a time.
const PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Writes `n` in decimal into `out`, which must be exactly as long as its
/// digits (`digits(n)`).
#[inline(always)]
fn decimal(out: &mut [MaybeUninit<u8>], mut n: u64) {
    let mut at = out.len();
    while n >= 100 && at >= 2 {
        let r = (n % 100) as usize * 2;
        n /= 100;
        at -= 2;
        out[at..at + 2].write_copy_of_slice(&PAIRS[r..r + 2]);
    }
    if n >= 10 && at >= 2 {
        let r = n as usize * 2;
        out[at - 2..at].write_copy_of_slice(&PAIRS[r..r + 2]);
    } else if at >= 1 {
        out[at - 1].write(b'0' + n as u8);
    }
}

/// Decimal digits of `n`.
#[inline(always)]
fn digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |l| l as usize + 1)
}

/// `n` in decimal.
#[inline]
fn num(out: &mut Vec<u8>, n: u64) {
    append(out, 20, |t| t.num(n));
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

/// Appends to `out` the text `write` writes, at most `room` bytes,
/// straight into the spare capacity reserved for it: one capacity check
/// per row instead of one per piece (they were a quarter of the dump's
/// instructions, by callgrind), and no copy (a row rendered aside and
/// appended cost a call to memcpy per row). Most of a document is port
/// rows.
#[inline(always)]
fn append(out: &mut Vec<u8>, room: usize, write: impl FnOnce(&mut Text<'_>)) {
    out.reserve(room);
    let len = out.len();
    let mut t = Text {
        b: &mut out.spare_capacity_mut()[..room],
        n: 0,
    };
    write(&mut t);
    let n = t.n;
    // SAFETY: the first `n` bytes of the spare capacity were written:
    // `Text` only moves `n` past bytes it has just written (a write past
    // `room` panics instead).
    unsafe { out.set_len(len + n) };
}

/// Text written into spare capacity (see [`append`]).
struct Text<'a> {
    b: &'a mut [MaybeUninit<u8>],
    /// Bytes written.
    n: usize,
}

impl Text<'_> {
    #[inline(always)]
    fn put(&mut self, s: &[u8]) {
        let at = self.n;
        self.b[at..at + s.len()].write_copy_of_slice(s);
        self.n += s.len();
    }

    #[inline(always)]
    fn num(&mut self, n: u64) {
        let (at, d) = (self.n, digits(n));
        decimal(&mut self.b[at..at + d], n);
        self.n += d;
    }

    /// `,"key":n` (the key with its quotes, colon and comma given whole).
    #[inline(always)]
    fn field(&mut self, key: &[u8], n: u64) {
        self.put(key);
        self.num(n);
    }
}

/// A port or protocol row's longest text: 166 bytes (a TCP row with the
/// comma before it, 71 bytes of keys and punctuation, a 5-digit port,
/// four 20-digit counters and a 10-digit SYN count; a test writes it).
const ROW_MAX: usize = 256;

/// The counters of a port or protocol row, in the document's order.
const COUNTERS: [&[u8]; 4] = [
    b",\"bytes_in\":",
    b",\"bytes_out\":",
    b",\"packets_in\":",
    b",\"packets_out\":",
];

/// A port or protocol row, after a comma unless `first`: `key` (with its
/// brace, quotes and colon) and `number`, the [`COUNTERS`], and the SYN
/// count when given.
#[inline(always)]
fn row(
    out: &mut Vec<u8>,
    first: bool,
    key: &[u8],
    number: u16,
    counts: [u64; 4],
    syn: Option<u32>,
) {
    append(out, ROW_MAX, |t| {
        if !first {
            t.put(b",");
        }
        t.field(key, u64::from(number));
        for (name, n) in COUNTERS.iter().zip(counts) {
            t.field(name, n);
        }
        if let Some(syn) = syn {
            t.field(b",\"syn\":", u64::from(syn));
        }
        t.put(b"}");
    });
}

/// Renders hosts; keeps its buffers from one host to the next.
#[derive(Default)]
struct HostWriter {
    /// A host's entries' slots, by table (indexed by [`Kind`]).
    slots: [Vec<u32>; 5],
}

impl HostWriter {
    /// Appends `h` as one JSON object, as serde_json writes its
    /// `HostStats`.
    fn host(&mut self, h: &Host, out: &mut Vec<u8>) {
        // one pass over the entries (a busy host's large table has tens of
        // thousands of slots), then each table's rows in that order
        h.entries.slots_by_kind(&mut self.slots);
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
        for (kind, name, key, syn) in TABLES {
            out.extend_from_slice(b",\"");
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":[");
            for (i, &slot) in self.slots[kind as usize].iter().enumerate() {
                let (number, e) = h.entries.slot(slot);
                let counts = [e.bytes_in, e.bytes_out, e.packets_in, e.packets_out];
                row(out, i == 0, key, number, counts, syn.then_some(e.syn));
            }
            out.push(b']');
        }
        out.push(b'}');
    }
}

/// Port and protocol rows per chunk of hosts rendered at once (a host
/// counts as one more): about 200 KiB of text, so that chunks cost about
/// the same to render however their hosts are spread (a busy host with
/// tens of thousands of ports is a chunk of its own).
const CHUNK_ROWS: usize = if cfg!(test) { 40 } else { 2048 };
/// Rendered chunks each thread holds at most before the writer takes
/// them: bounds the text in memory to a few chunks.
const AHEAD: usize = 4;

/// Hands out the hosts in chunks of about [`CHUNK_ROWS`] rows, in table
/// order, numbered from 0, to whichever thread asks next: the busy hosts
/// (early in the table) are then not all rendered by one thread while the
/// other waits.
struct Chunks<'a> {
    hosts: &'a [Host],
    /// The next chunk's first host and number.
    next: Mutex<(usize, usize)>,
}

impl Chunks<'_> {
    /// The next chunk and its number, until every host is claimed.
    fn claim(&self) -> Option<(usize, Range<usize>)> {
        // the lock is held only to read the hosts' row counts, which the
        // claiming thread is about to read anyway
        let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
        let (start, number) = *next;
        if start == self.hosts.len() {
            return None;
        }
        let mut end = start;
        let mut rows = 0;
        while end < self.hosts.len() && rows < CHUNK_ROWS {
            rows += 1 + self.hosts[end].entries.len();
            end += 1;
        }
        *next = (end, number + 1);
        Some((number, start..end))
    }

    /// Chunks claimed so far (all of them, once a claim came back empty).
    fn count(&self) -> usize {
        self.next.lock().unwrap_or_else(PoisonError::into_inner).1
    }

    /// Whether every host was claimed.
    fn all_claimed(&self) -> bool {
        self.next.lock().unwrap_or_else(PoisonError::into_inner).0 == self.hosts.len()
    }
}

/// Renders `range` of `hosts` into `text`, each host after a comma but
/// the table's first.
fn render(w: &mut HostWriter, hosts: &[Host], range: Range<usize>, text: &mut Vec<u8>) {
    text.clear();
    for i in range {
        if i > 0 {
            text.push(b',');
        }
        w.host(&hosts[i], text);
    }
}

/// Writes the hosts' array contents (without the brackets) to `w`,
/// rendered by this thread and a second one, written in table order.
fn write_hosts(hosts: &[Host], w: &mut dyn Write) -> io::Result<()> {
    let chunks = Chunks {
        hosts,
        next: Mutex::new((0, 0)),
    };
    let mut mine = HostWriter::default();
    let mut text = Vec::new();
    let Some((_, first)) = chunks.claim() else {
        return Ok(());
    };
    if chunks.all_claimed() {
        // one chunk: not worth a thread
        render(&mut mine, hosts, first, &mut text);
        return w.write_all(&text);
    }
    thread::scope(|sc| {
        let (tx, rx) = mpsc::sync_channel::<(usize, Vec<u8>)>(AHEAD);
        let (back_tx, back_rx) = mpsc::sync_channel::<Vec<u8>>(AHEAD + 1);
        let chunks = &chunks;
        let helper = thread::Builder::new()
            .name("dump".into())
            .spawn_scoped(sc, move || {
                let mut theirs = HostWriter::default();
                while let Some((number, range)) = chunks.claim() {
                    let mut text = back_rx.try_recv().unwrap_or_default();
                    render(&mut theirs, hosts, range, &mut text);
                    // fails once the writer gave up: stop too
                    if tx.send((number, text)).is_err() {
                        return;
                    }
                }
            });
        // chunk 0 here while the other thread starts on the next (the
        // first host alone, the busiest, can be a chunk of many rows)
        render(&mut mine, hosts, first, &mut text);
        w.write_all(&text)?;
        if helper.is_err() {
            // no second thread: every chunk here, in order
            while let Some((_, range)) = chunks.claim() {
                render(&mut mine, hosts, range, &mut text);
                w.write_all(&text)?;
            }
            return Ok(());
        }
        // Chunks rendered here wait in `held` for their turn; those of the
        // other thread come through the channel in the order it claimed
        // them. Chunk 0 is written.
        let mut held: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
        let mut spare: Vec<Vec<u8>> = Vec::new();
        let mut turn = 1;
        let mut claimed_all = false;
        loop {
            if claimed_all && turn == chunks.count() {
                return Ok(());
            }
            if let Some(text) = held.remove(&turn) {
                w.write_all(&text)?;
                spare.push(text);
                turn += 1;
                continue;
            }
            if !claimed_all && held.len() < AHEAD {
                match chunks.claim() {
                    Some((number, range)) => {
                        let mut text = spare.pop().unwrap_or_default();
                        render(&mut mine, hosts, range, &mut text);
                        held.insert(number, text);
                        continue;
                    }
                    None => {
                        claimed_all = true;
                        continue;
                    }
                }
            }
            // the chunk whose turn it is was claimed by the other thread
            // (every chunk before it is written, and it is not held here)
            match rx.recv() {
                Ok((number, text)) if number == turn => {
                    w.write_all(&text)?;
                    let _ = back_tx.try_send(text);
                    turn += 1;
                }
                Ok((number, text)) => {
                    held.insert(number, text);
                }
                Err(_) => return Err(io::Error::other("the dump thread stopped")),
            }
        }
    })
}

/// Text of the global port tables written at a time.
const PIECE: usize = 64 * 1024;

/// `,"ports":{"tcp":[…],"udp":[…]}` as serde_json writes the document's
/// `GlobalPorts`, by hand like the hosts' rows: through serde, a table
/// of tens of thousands of ports took longer than the rest of the end of
/// the document did.
fn write_global_ports(ports: &GlobalPortsView<'_>, w: &mut dyn Write) -> io::Result<()> {
    let mut out = Vec::with_capacity(PIECE + ROW_MAX);
    out.extend_from_slice(b",\"ports\":{");
    for (i, (name, table)) in [("tcp", ports.tcp), ("udp", ports.udp)]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":[");
        for (j, p) in super::snapshot::global_port_rows(table).enumerate() {
            let counts = [p.bytes_in, p.bytes_out, p.packets_in, p.packets_out];
            row(&mut out, j == 0, b"{\"port\":", p.port, counts, None);
            if out.len() >= PIECE {
                w.write_all(&out)?;
                out.clear();
            }
        }
        out.push(b']');
    }
    out.push(b'}');
    w.write_all(&out)
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
        write_global_ports(&self.ports, w)?;
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

    /// Busy hosts (a chunk each, in tests: more rows than a chunk holds)
    /// among many small ones, rendered by both threads, each taking the
    /// next chunk as it is done: the hosts come out in table order, byte
    /// for byte, however the threads happen to run.
    #[test]
    fn chunks_of_any_size_come_out_in_table_order() {
        let limits = Limits {
            hosts_max: 10_000,
            hosts_keep: 5000,
            ports_max: 5000,
            ports_keep: 100,
            highest_port: 65535,
        };
        let mut a = Accounts::new(limits, LocalNets::new(vec![]));
        for i in 0..1200u32 {
            let ports = match i % 97 {
                3 => 300,
                50 => 45,
                _ => 1,
            };
            for port in 0..ports {
                let mut f = frame(i as u8, 1, [6, 17][(i % 2) as usize], 1000 + port, 53);
                f[28] = (i / 256) as u8;
                let d = decode::frame(LinkType::Ethernet, &f, 60);
                a.apply(&d, 1_700_000_000, 60);
            }
        }
        let expected = serde_json::to_vec(&a.snapshot(&[])).unwrap();
        for _ in 0..20 {
            let mut got = Vec::new();
            a.view(&[]).write_json(&mut got).unwrap();
            let at = expected.iter().zip(&got).position(|(e, g)| e != g);
            assert!(expected == got, "first difference at byte {at:?}");
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
