//! Reader for darkstat 3.0.719's `--export` database (darkstat.md §9.1), so
//! that `--import FILE` can bring a darkstat user's history into darkstat-rs.
//!
//! Pure: bytes in, values out; reading the file is someone else's job. The
//! bytes are untrusted, so this module must never panic, never recurse, and
//! never reserve memory for a count before checking that the bytes left can
//! hold that many entries. It does not write darkstat's format.
//!
//! # Format
//!
//! All integers big-endian, no lengths, no checksum:
//!
//! ```text
//! DA 31 41 59                       file magic
//! DA 'H' 'S' 01   u32 host_count    host record × host_count
//! DA 'G' 'R' 01   u64 last_time     graph × 4 (seconds, minutes, hours, days)
//! graph  := u8 n_bars (60, 60, 24, 31)  u8 pos (< n_bars)  (u64 in, u64 out) × n_bars
//! host   := 'H' 'S' 'T' v
//!           v1, v2: addr[4] (IPv4)        v3, v4: u8 family (4|6) addr[4|16]
//!           v2..v4: u64 last_seen
//!           mac[6]  u8 name_len name  u64 in  u64 out
//!           'P' u8 n  (u8 proto, u64 in, u64 out) × n
//!           'T' u16 n (u16 port, u64 syn, u64 in, u64 out) × n    local TCP ports
//!           'U' u16 n (u16 port, u64 in, u64 out) × n             local UDP ports
//!           v4: 't' (as 'T', remote TCP ports)  'u' (as 'U', remote UDP ports)
//! ```
//!
//! The order within a host record (last_seen before the MAC) is the one
//! darkstat's code reads and writes; its `export-format.txt` shows the MAC
//! first, which is wrong.
//!
//! # Strictness
//!
//! Anything darkstat's own import rejects is an error here too (it then
//! resets everything): bad magic or section tag, an unknown host record
//! version or address family, a wrong table tag, a wrong `n_bars`, a `pos`
//! out of range, and any record cut short, **including a graph section that
//! is present but truncated**. darkstat does not notice a short read inside
//! a multi-byte integer (`read16`/`read32`/`read64` only fail on a 0-byte
//! read); this reader does. It is stricter than darkstat in three ways that a
//! file darkstat wrote never trips: bytes after the graph section, the same
//! address in two host records, and the same key twice in one table are
//! errors. One case is accepted that darkstat rejects: a file that ends
//! exactly after the last host record (no graph section at all) gives
//! `graphs: None`; the host records are complete and self-delimiting.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use thiserror::Error;

mod cursor;
mod graphs;

use cursor::{KeySet, Reader};
use graphs::graph_section;

/// File magic: "DA 3.14159".
const FILE_MAGIC: [u8; 4] = [0xDA, 0x31, 0x41, 0x59];
const HOSTS_TAG: [u8; 4] = [0xDA, b'H', b'S', 0x01];
const GRAPH_TAG: [u8; 4] = [0xDA, b'G', b'R', 0x01];

/// Smallest possible host record (v1: header, IPv4, MAC, empty name, in,
/// out, three empty tables); bounds how many records the bytes left can
/// hold.
const MIN_HOST_RECORD: usize = 4 + 4 + 6 + 1 + 16 + 2 + 3 + 3;

/// Bars per graph in file order, with each bar's length in seconds.
const GRAPHS: [(&str, u8, u64); 4] = [
    ("seconds", 60, 1),
    ("minutes", 60, 60),
    ("hours", 24, 3600),
    ("days", 31, 86_400),
];

/// darkstat's names for a failed or pointless reverse lookup (its
/// `dns.c`); they are stored and exported like names but are not names.
const PLACEHOLDER_NAMES: [&str; 4] = ["(none)", "(link-local)", "(site-local)", "(multicast)"];

/// A whole darkstat export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DarkstatExport {
    /// In file order (darkstat's hash-table order); addresses are unique.
    pub hosts: Vec<ImportedHost>,
    /// `None` only when the file ends right after the last host record.
    pub graphs: Option<ImportedGraphs>,
}

/// One host record. Tables are in file order; keys are unique per table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedHost {
    pub ip: IpAddr,
    /// The last MAC seen (for off-link hosts, the router's). `None` when
    /// all-zero, which is what darkstat stores on non-Ethernet links.
    pub mac: Option<[u8; 6]>,
    /// The reverse-DNS name darkstat had stored: printable ASCII, at most
    /// 255 bytes. `None` when there was none, when it holds other bytes, or
    /// when it is one of darkstat's placeholders (`(none)`, `(link-local)`,
    /// `(site-local)`, `(multicast)`): darkstat never retries those, so
    /// importing them as names would pin a failed lookup forever.
    pub hostname: Option<String>,
    /// Wall-clock time (`time_t`) the host last *sent* a packet. `None` for
    /// v1 records (no field), for 0, and for hosts that never sent
    /// (`bytes_out == 0`): darkstat 3.0.719 writes "never" as
    /// `mono_to_real(0)`, i.e. the exporting machine's boot time, and the
    /// older darkstat that kept last_seen as a `time_t` wrote 0. darkstat
    /// only ever sets last_seen together with `bytes_out += len` (and `len`
    /// ≥ 20), so `bytes_out == 0` means never.
    pub last_seen: Option<u64>,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// (IP protocol, bytes in, bytes out).
    pub protocols: Vec<(u8, u64, u64)>,
    /// This host's TCP ports: (port, SYNs received, bytes in, bytes out).
    pub tcp_local: Vec<(u16, u64, u64, u64)>,
    /// This host's UDP ports: (port, bytes in, bytes out).
    pub udp_local: Vec<(u16, u64, u64)>,
    /// Peers' TCP ports (v4 only, else empty): (port, SYNs this host sent to
    /// it, bytes sent to it, bytes received from it).
    pub tcp_remote: Vec<(u16, u64, u64, u64)>,
    /// Peers' UDP ports (v4 only, else empty): (port, bytes sent to it,
    /// bytes received from it).
    pub udp_remote: Vec<(u16, u64, u64)>,
}

/// darkstat's four graph rings, in file order: seconds (60), minutes (60),
/// hours (24), days (31).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedGraphs {
    /// Wall-clock `time_t` of darkstat's last graph rotation; 0 when it
    /// never rotated (`-r` mode), and then the bars cannot be dated.
    pub last_time: u64,
    pub series: [ImportedSeries; 4],
}

/// One ring: `bars[i]` is the bar with absolute index `i` (second of the
/// minute, minute of the hour, hour of the day, day of the month − 1, all in
/// darkstat's local time), not the i-th oldest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportedSeries {
    /// Index of the bar that was current at `last_time`.
    pub pos: u8,
    /// (bytes in, bytes out) per bar.
    pub bars: Vec<(u64, u64)>,
}

/// Why an export was rejected; `offset` is where the offending item starts.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ImportError {
    #[error("offset {offset}: bad file magic {found:02x?}, expected [da, 31, 41, 59]")]
    BadMagic { offset: usize, found: [u8; 4] },
    #[error("offset {offset}: unknown section tag {found:02x?}, expected the {expected}")]
    UnknownSection {
        offset: usize,
        found: [u8; 4],
        expected: &'static str,
    },
    #[error(
        "offset {offset}: unknown host record header {found:02x?}, expected 'H' 'S' 'T' and version 1 to 4"
    )]
    UnknownHostVersion { offset: usize, found: [u8; 4] },
    #[error("offset {offset}: unknown address family {found}, expected 4 or 6")]
    BadFamily { offset: usize, found: u8 },
    #[error("offset {offset}: table tag {found:#04x}, expected '{}'", char::from(*expected))]
    BadTableTag {
        offset: usize,
        expected: u8,
        found: u8,
    },
    #[error("offset {offset}: truncated {what}: needs {needed} bytes, {available} left")]
    Truncated {
        offset: usize,
        what: &'static str,
        needed: usize,
        available: usize,
    },
    #[error(
        "offset {offset}: {what} count {count} needs at least {needed} bytes, {available} left"
    )]
    CountTooLarge {
        offset: usize,
        what: &'static str,
        count: u64,
        needed: u64,
        available: usize,
    },
    #[error("offset {offset}: {graph} graph has {found} bars, expected {expected}")]
    BadBarCount {
        offset: usize,
        graph: &'static str,
        found: u8,
        expected: u8,
    },
    #[error("offset {offset}: {graph} graph position {pos} is not below its {n_bars} bars")]
    BadPosition {
        offset: usize,
        graph: &'static str,
        pos: u8,
        n_bars: u8,
    },
    #[error("offset {offset}: host {ip} appears a second time")]
    DuplicateHost { offset: usize, ip: IpAddr },
    #[error("offset {offset}: {table} key {key} appears a second time")]
    DuplicateKey {
        offset: usize,
        table: &'static str,
        key: u16,
    },
    #[error("offset {offset}: {count} trailing bytes after the graph section")]
    TrailingBytes { offset: usize, count: usize },
}

/// Parses a whole darkstat export (any of host record versions 1 to 4,
/// mixed freely as darkstat's import allows).
///
/// Errors on everything darkstat's import rejects, including a graph section
/// that starts but is cut short (darkstat then fails and resets); see the
/// module documentation for the exact rules.
pub fn parse(bytes: &[u8]) -> Result<DarkstatExport, ImportError> {
    let mut r = Reader { buf: bytes, pos: 0 };

    let offset = r.pos;
    let magic = r.array::<4>("file magic")?;
    if magic != FILE_MAGIC {
        return Err(ImportError::BadMagic {
            offset,
            found: magic,
        });
    }
    section_tag(
        &mut r,
        HOSTS_TAG,
        "hosts section tag",
        "hosts section DA 'H' 'S' 01",
    )?;

    let offset = r.pos;
    let count = r.u32("host count")?;
    r.check_count(offset, "host", u64::from(count), MIN_HOST_RECORD)?;
    // the check bounds count by bytes / MIN_HOST_RECORD
    let mut hosts = Vec::with_capacity(count as usize);
    let mut seen = std::collections::HashSet::with_capacity(count as usize);
    let mut keys = KeySet::new();
    for _ in 0..count {
        let offset = r.pos;
        let host = host_record(&mut r, &mut keys)?;
        if !seen.insert(host.ip) {
            return Err(ImportError::DuplicateHost {
                offset,
                ip: host.ip,
            });
        }
        hosts.push(host);
    }

    if r.remaining() == 0 {
        return Ok(DarkstatExport {
            hosts,
            graphs: None,
        });
    }
    section_tag(
        &mut r,
        GRAPH_TAG,
        "graph section tag",
        "graph section DA 'G' 'R' 01",
    )?;
    let graphs = graph_section(&mut r)?;
    if r.remaining() != 0 {
        return Err(ImportError::TrailingBytes {
            offset: r.pos,
            count: r.remaining(),
        });
    }
    Ok(DarkstatExport {
        hosts,
        graphs: Some(graphs),
    })
}

fn host_record(r: &mut Reader<'_>, keys: &mut KeySet) -> Result<ImportedHost, ImportError> {
    let offset = r.pos;
    let header = r.array::<4>("host record header")?;
    let version = match header {
        [b'H', b'S', b'T', v @ 1..=4] => v,
        _ => {
            return Err(ImportError::UnknownHostVersion {
                offset,
                found: header,
            })
        }
    };

    let ip = if version >= 3 {
        let offset = r.pos;
        match r.u8("address family")? {
            4 => IpAddr::V4(Ipv4Addr::from(r.array::<4>("IPv4 address")?)),
            6 => IpAddr::V6(Ipv6Addr::from(r.array::<16>("IPv6 address")?)),
            found => return Err(ImportError::BadFamily { offset, found }),
        }
    } else {
        IpAddr::V4(Ipv4Addr::from(r.array::<4>("IPv4 address")?))
    };
    let last_seen = if version >= 2 {
        Some(r.u64("last_seen")?)
    } else {
        None
    };
    let mac = r.array::<6>("MAC address")?;
    let name_len = r.u8("hostname length")?;
    let name = r.take(usize::from(name_len), "hostname")?;
    let bytes_in = r.u64("host bytes in")?;
    let bytes_out = r.u64("host bytes out")?;

    let protocols = proto_table(r, keys)?;
    let tcp_local = tcp_table(r, b'T', "local TCP port", keys)?;
    let udp_local = udp_table(r, b'U', "local UDP port", keys)?;
    let (tcp_remote, udp_remote) = if version == 4 {
        (
            tcp_table(r, b't', "remote TCP port", keys)?,
            udp_table(r, b'u', "remote UDP port", keys)?,
        )
    } else {
        (Vec::new(), Vec::new())
    };

    Ok(ImportedHost {
        ip,
        mac: (mac != [0; 6]).then_some(mac),
        hostname: hostname(name),
        last_seen: last_seen.filter(|&t| t != 0 && bytes_out != 0),
        bytes_in,
        bytes_out,
        protocols,
        tcp_local,
        udp_local,
        tcp_remote,
        udp_remote,
    })
}

fn hostname(raw: &[u8]) -> Option<String> {
    let name = std::str::from_utf8(raw).ok()?;
    let printable = !name.is_empty() && name.bytes().all(|b| (0x20..=0x7e).contains(&b));
    (printable && !PLACEHOLDER_NAMES.contains(&name)).then(|| name.to_owned())
}

/// The four bytes that open a section: `tag`, or the section is one this
/// reader does not know (`what` names the read, `expected` the section).
fn section_tag(
    r: &mut Reader<'_>,
    tag: [u8; 4],
    what: &'static str,
    expected: &'static str,
) -> Result<(), ImportError> {
    let offset = r.pos;
    let found = r.array::<4>(what)?;
    if found != tag {
        return Err(ImportError::UnknownSection {
            offset,
            found,
            expected,
        });
    }
    Ok(())
}

fn table_tag(r: &mut Reader<'_>, expected: u8) -> Result<(), ImportError> {
    let offset = r.pos;
    let found = r.u8("table tag")?;
    if found != expected {
        return Err(ImportError::BadTableTag {
            offset,
            expected,
            found,
        });
    }
    Ok(())
}

/// How one of a host's tables is stored: its tag, a count, then entries
/// of a key and `N` counters. Ports (`wide`) have 16-bit counts and keys,
/// protocols 8-bit ones.
struct TableFormat {
    tag: u8,
    /// Names the table in errors about its count and its keys.
    what: &'static str,
    count: &'static str,
    entry: &'static str,
    wide: bool,
}

const PROTOCOLS: TableFormat = TableFormat {
    tag: b'P',
    what: "IP protocol",
    count: "IP protocol count",
    entry: "IP protocol entry",
    wide: false,
};

/// A TCP (`tcp`) or UDP port table with this tag and name.
const fn ports(tag: u8, what: &'static str, tcp: bool) -> TableFormat {
    TableFormat {
        tag,
        what,
        count: if tcp {
            "TCP port count"
        } else {
            "UDP port count"
        },
        entry: if tcp {
            "TCP port entry"
        } else {
            "UDP port entry"
        },
        wide: true,
    }
}

fn table<const N: usize>(
    r: &mut Reader<'_>,
    t: &TableFormat,
    keys: &mut KeySet,
) -> Result<Vec<(u16, [u64; N])>, ImportError> {
    table_tag(r, t.tag)?;
    let number = |r: &mut Reader<'_>, what| -> Result<u16, ImportError> {
        if t.wide {
            r.u16(what)
        } else {
            r.u8(what).map(u16::from)
        }
    };
    let offset = r.pos;
    let count = number(r, t.count)?;
    let entry_size = if t.wide { 2 } else { 1 } + 8 * N;
    r.check_count(offset, t.what, u64::from(count), entry_size)?;
    let mut out = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let offset = r.pos;
        let key = number(r, t.entry)?;
        let mut counters = [0; N];
        for c in &mut counters {
            *c = r.u64(t.entry)?;
        }
        keys.insert(offset, t.what, key)?;
        out.push((key, counters));
    }
    keys.clear(out.iter().map(|e| e.0));
    Ok(out)
}

fn proto_table(r: &mut Reader<'_>, keys: &mut KeySet) -> Result<Vec<(u8, u64, u64)>, ImportError> {
    let rows = table::<2>(r, &PROTOCOLS, keys)?;
    // protocol keys are read from one byte
    Ok(rows
        .into_iter()
        .map(|(p, [i, o])| (p as u8, i, o))
        .collect())
}

fn tcp_table(
    r: &mut Reader<'_>,
    tag: u8,
    what: &'static str,
    keys: &mut KeySet,
) -> Result<Vec<(u16, u64, u64, u64)>, ImportError> {
    let rows = table::<3>(r, &ports(tag, what, true), keys)?;
    Ok(rows
        .into_iter()
        .map(|(p, [s, i, o])| (p, s, i, o))
        .collect())
}

fn udp_table(
    r: &mut Reader<'_>,
    tag: u8,
    what: &'static str,
    keys: &mut KeySet,
) -> Result<Vec<(u16, u64, u64)>, ImportError> {
    let rows = table::<2>(r, &ports(tag, what, false), keys)?;
    Ok(rows.into_iter().map(|(p, [i, o])| (p, i, o)).collect())
}

#[cfg(test)]
mod tests;
