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

fn graph_section(r: &mut Reader<'_>) -> Result<ImportedGraphs, ImportError> {
    let last_time = r.u64("graph last_time")?;
    let mut series: [ImportedSeries; 4] = Default::default();
    for (slot, &(graph, expected, _)) in series.iter_mut().zip(GRAPHS.iter()) {
        let offset = r.pos;
        let n_bars = r.u8("graph bar count")?;
        if n_bars != expected {
            return Err(ImportError::BadBarCount {
                offset,
                graph,
                found: n_bars,
                expected,
            });
        }
        let offset = r.pos;
        let pos = r.u8("graph position")?;
        if pos >= n_bars {
            return Err(ImportError::BadPosition {
                offset,
                graph,
                pos,
                n_bars,
            });
        }
        // n_bars ≤ 60 here, so this allocation is fixed-size
        let mut bars = Vec::with_capacity(usize::from(n_bars));
        for _ in 0..n_bars {
            bars.push((r.u64("graph bar")?, r.u64("graph bar")?));
        }
        *slot = ImportedSeries { pos, bars };
    }
    Ok(ImportedGraphs { last_time, series })
}

/// Latest `last_time` that is dated (about year 36812); keeps the
/// arithmetic below far from overflow.
const MAX_DATED_TIME: u64 = 1 << 40;
/// Widest UTC offset considered when inferring one (real zones span
/// −12:00 to +14:00).
const MAX_UTC_OFFSET: i64 = 15 * 3600;
const DAY: i64 = 86_400;

/// Dating darkstat's rings.
///
/// darkstat indexes its rings by *local* wall-clock fields of `localtime()`:
/// second `tm_sec`, minute `tm_min`, hour `tm_hour`, day `tm_mday − 1`.
/// `pos` is the bar of `last_time`, and each rotation walks `pos` forward to
/// the new index, zeroing every bar it enters (`graph_db.c: advance`). So:
///
/// * seconds, minutes, hours (bar length `p`): the bar at age
///   `a = (pos − i) mod n` holds the local period `a` periods before the one
///   containing `last_time`. Its start in UTC is
///   `floor((last_time + off) / p) · p − off − a · p`.
/// * days: bar `i` holds day-of-month `i + 1`. Walking back from the local
///   date of `last_time`, bar `i` holds the most recent date whose
///   day-of-month is `i + 1`, unless a later month end skipped over it: going
///   from day 28/29/30 of a short month to the 1st, darkstat's advance
///   zeroes the bars for the missing days (and after a 30-day month the bar
///   of the 31st) and they are left empty. Those bars have no date and are
///   left out, so the days series has 28 to 31 bars. A bar starts at local
///   midnight, `days_since_epoch(local date) · 86400 − off` in UTC.
///
/// `off` is one fixed offset, the one at `last_time`. Across a DST change
/// the bars before it are off by the DST step (darkstat's own ring cannot
/// tell them apart either; its fall-back even zeroes the hours ring). The
/// days mapping also assumes darkstat advanced day by day: a darkstat
/// stopped before a month end and restarted exactly a lap of indices later
/// keeps a stale day bar (its `advance()` sees no movement), which is then
/// dated as the current day.
impl ImportedGraphs {
    /// The UTC offset (seconds east) darkstat's zone had at `last_time`, read
    /// from where the four rings stand: the time of day of the
    /// seconds/minutes/hours positions gives it modulo one day, and the
    /// day-of-month position picks the one candidate within ±15 h (whole
    /// minutes, as every zone since 1972). `None`
    /// when the graphs never rotated (`last_time` 0, the `-r` case), or
    /// when no offset fits all four positions (an inconsistent file).
    pub fn utc_offset(&self) -> Option<i32> {
        let t = self.dated_time()?;
        let [s, m, h, _] = self.positions();
        let time_of_day = h * 3600 + m * 60 + s;
        let off = (time_of_day - t).rem_euclid(DAY);
        [off, off - DAY]
            .into_iter()
            .filter(|c| c.abs() <= MAX_UTC_OFFSET && c % 60 == 0)
            .find(|&c| self.fits(t, c))
            .and_then(|c| i32::try_from(c).ok())
    }

    /// The bars with their start times, oldest first, as
    /// `(UTC start time, bytes in, bytes out)`: 60 seconds, 60 minutes, 24
    /// hours and 28 to 31 days (see the mapping above). `utc_offset` is
    /// darkstat's zone's offset, seconds east (normally
    /// [`ImportedGraphs::utc_offset`]). `None` when the graphs never rotated
    /// or the positions do not match `last_time` in that offset. Bars that
    /// would start before 1970 are left out.
    pub fn dated_bars(&self, utc_offset: i32) -> Option<[Vec<(u64, u64, u64)>; 4]> {
        let t = self.dated_time()?;
        let off = i64::from(utc_offset);
        if off.abs() > MAX_UTC_OFFSET || !self.fits(t, off) {
            return None;
        }
        let local = t + off;
        let mut out: [Vec<(u64, u64, u64)>; 4] = Default::default();
        for ((dated, series), &(_, n, secs)) in out.iter_mut().zip(&self.series).zip(&GRAPHS[..3]) {
            let (n, p) = (i64::from(n), secs as i64);
            let current = local.div_euclid(p) * p - off;
            for age in (0..n).rev() {
                let i = (i64::from(series.pos) - age).rem_euclid(n);
                push_dated(dated, current - age * p, series.bars.get(i as usize));
            }
        }
        let days = &self.series[3];
        for (day, i) in day_owners(local.div_euclid(DAY)) {
            push_dated(&mut out[3], day * DAY - off, days.bars.get(i));
        }
        Some(out)
    }

    fn dated_time(&self) -> Option<i64> {
        (self.last_time != 0 && self.last_time <= MAX_DATED_TIME).then_some(self.last_time as i64)
    }

    fn positions(&self) -> [i64; 4] {
        self.series.each_ref().map(|s| i64::from(s.pos))
    }

    /// Whether darkstat, at `t` in a zone `off` seconds east, would stand
    /// where the four rings stand.
    fn fits(&self, t: i64, off: i64) -> bool {
        let local = t + off;
        let expected = [
            local.rem_euclid(60),
            local.div_euclid(60).rem_euclid(60),
            local.div_euclid(3600).rem_euclid(24),
            day_of_month(local.div_euclid(DAY)) - 1,
        ];
        expected == self.positions()
    }
}

fn push_dated(out: &mut Vec<(u64, u64, u64)>, start: i64, bar: Option<&(u64, u64)>) {
    if let (Ok(start), Some(&(bytes_in, bytes_out))) = (u64::try_from(start), bar) {
        out.push((start, bytes_in, bytes_out));
    }
}

/// The local day (days since 1970-01-01) each day bar holds, oldest first,
/// as `(day, bar index)`, replaying darkstat's day-by-day advance backwards
/// from `today`: the most recent event on a bar decides what it holds.
fn day_owners(today: i64) -> Vec<(i64, usize)> {
    // None: not decided yet; Some(None): zeroed in passing at a month end
    let mut owner: [Option<Option<i64>>; 31] = [None; 31];
    let index = |day: i64| (day_of_month(day) - 1) as usize;
    let mut claim = |i: usize, what: Option<i64>| {
        if let Some(slot @ None) = owner.get_mut(i) {
            *slot = Some(what);
        }
    };
    claim(index(today), Some(today));
    // two laps always settle every bar; the bound only guards the loop
    for day in (today - 62..today).rev() {
        // going from `day` to `day + 1` zeroed the bars strictly between
        // their indices; bar index(day + 1) was decided one step earlier
        let (from, to) = (index(day), index(day + 1));
        let mut i = (from + 1) % 31;
        while i != to {
            claim(i, None);
            i = (i + 1) % 31;
        }
        claim(from, Some(day));
    }
    let mut days: Vec<(i64, usize)> = owner
        .iter()
        .enumerate()
        .filter_map(|(i, o)| Some(((*o)??, i)))
        .collect();
    days.sort_unstable();
    days
}

/// Day of the month (1–31) of a day counted from 1970-01-01 (proleptic
/// Gregorian; H. Hinnant's `civil_from_days`).
fn day_of_month(days: i64) -> i64 {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    doy - (153 * mp + 2) / 5 + 1
}

/// Keys seen in the table being read: 65536 bits, cleared entry by entry
/// after each table so that a host costs what its tables hold, not 8 KiB.
struct KeySet {
    bits: Vec<u64>,
}

impl KeySet {
    fn new() -> Self {
        KeySet {
            bits: vec![0; 1024],
        }
    }

    fn insert(&mut self, offset: usize, table: &'static str, key: u16) -> Result<(), ImportError> {
        let (word, bit) = (usize::from(key >> 6), 1u64 << (key & 63));
        let Some(w) = self.bits.get_mut(word) else {
            return Ok(());
        };
        if *w & bit != 0 {
            // leave the set dirty: parsing stops here and drops it
            return Err(ImportError::DuplicateKey { offset, table, key });
        }
        *w |= bit;
        Ok(())
    }

    fn clear(&mut self, keys: impl Iterator<Item = u16>) {
        for key in keys {
            if let Some(w) = self.bits.get_mut(usize::from(key >> 6)) {
                *w = 0;
            }
        }
    }
}

/// A cursor over the input whose reads fail, never panic, at the end.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ImportError> {
        let truncated = ImportError::Truncated {
            offset: self.pos,
            what,
            needed: n,
            available: self.remaining(),
        };
        let end = self.pos.checked_add(n).ok_or(truncated.clone())?;
        let bytes = self.buf.get(self.pos..end).ok_or(truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], ImportError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, ImportError> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, ImportError> {
        self.array(what).map(u16::from_be_bytes)
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, ImportError> {
        self.array(what).map(u32::from_be_bytes)
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, ImportError> {
        self.array(what).map(u64::from_be_bytes)
    }

    /// Rejects a count whose entries cannot fit in the bytes left, before
    /// anything is reserved for them. `offset` is where the count was read.
    fn check_count(
        &self,
        offset: usize,
        what: &'static str,
        count: u64,
        entry_size: usize,
    ) -> Result<(), ImportError> {
        let needed = count.saturating_mul(entry_size as u64);
        if needed > self.remaining() as u64 {
            return Err(ImportError::CountTooLarge {
                offset,
                what,
                count,
                needed,
                available: self.remaining(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    /// Bytes per table entry: key, then counters.
    const PROTO_ENTRY: usize = 1 + 8 + 8;
    const TCP_ENTRY: usize = 2 + 8 + 8 + 8;
    const UDP_ENTRY: usize = 2 + 8 + 8;

    use super::*;

    /// A host record as darkstat lays it out, with raw field values.
    #[derive(Clone)]
    struct Rec {
        version: u8,
        ip: IpAddr,
        last_seen: u64,
        mac: [u8; 6],
        name: Vec<u8>,
        bytes_in: u64,
        bytes_out: u64,
        protocols: Vec<(u8, u64, u64)>,
        tcp: Vec<(u16, u64, u64, u64)>,
        udp: Vec<(u16, u64, u64)>,
        tcp_remote: Vec<(u16, u64, u64, u64)>,
        udp_remote: Vec<(u16, u64, u64)>,
    }

    fn rec(version: u8, ip: &str) -> Rec {
        Rec {
            version,
            ip: ip.parse().unwrap(),
            last_seen: 1_700_000_000,
            mac: [0x02, 0, 0, 0xaa, 0xbb, 0xcc],
            name: b"host.example".to_vec(),
            bytes_in: 1000,
            bytes_out: 2000,
            protocols: vec![(6, 900, 1800), (17, 100, 200)],
            tcp: vec![(80, 3, 500, 1000), (22, 0, 400, 800)],
            udp: vec![(53, 100, 200)],
            tcp_remote: vec![(443, 2, 300, 600)],
            udp_remote: vec![(123, 10, 20)],
        }
    }

    impl Rec {
        fn bytes(&self) -> Vec<u8> {
            let mut b = vec![b'H', b'S', b'T', self.version];
            match self.ip {
                IpAddr::V4(a) if self.version < 3 => b.extend(a.octets()),
                IpAddr::V4(a) => {
                    b.push(4);
                    b.extend(a.octets());
                }
                IpAddr::V6(a) => {
                    b.push(6);
                    b.extend(a.octets());
                }
            }
            if self.version >= 2 {
                b.extend(self.last_seen.to_be_bytes());
            }
            b.extend(self.mac);
            b.push(self.name.len() as u8);
            b.extend(&self.name);
            b.extend(self.bytes_in.to_be_bytes());
            b.extend(self.bytes_out.to_be_bytes());
            b.push(b'P');
            b.push(self.protocols.len() as u8);
            for &(p, i, o) in &self.protocols {
                b.push(p);
                b.extend(i.to_be_bytes());
                b.extend(o.to_be_bytes());
            }
            let tcp = |b: &mut Vec<u8>, tag: u8, t: &[(u16, u64, u64, u64)]| {
                b.push(tag);
                b.extend((t.len() as u16).to_be_bytes());
                for &(p, s, i, o) in t {
                    b.extend(p.to_be_bytes());
                    b.extend(s.to_be_bytes());
                    b.extend(i.to_be_bytes());
                    b.extend(o.to_be_bytes());
                }
            };
            let udp = |b: &mut Vec<u8>, tag: u8, t: &[(u16, u64, u64)]| {
                b.push(tag);
                b.extend((t.len() as u16).to_be_bytes());
                for &(p, i, o) in t {
                    b.extend(p.to_be_bytes());
                    b.extend(i.to_be_bytes());
                    b.extend(o.to_be_bytes());
                }
            };
            tcp(&mut b, b'T', &self.tcp);
            udp(&mut b, b'U', &self.udp);
            if self.version == 4 {
                tcp(&mut b, b't', &self.tcp_remote);
                udp(&mut b, b'u', &self.udp_remote);
            }
            b
        }

        /// What parse() must make of this record.
        fn expected(&self) -> ImportedHost {
            ImportedHost {
                ip: self.ip,
                mac: Some(self.mac).filter(|m| *m != [0; 6]),
                hostname: Some(String::from_utf8(self.name.clone()).unwrap())
                    .filter(|n| !n.is_empty()),
                last_seen: (self.version >= 2).then_some(self.last_seen),
                bytes_in: self.bytes_in,
                bytes_out: self.bytes_out,
                protocols: self.protocols.clone(),
                tcp_local: self.tcp.clone(),
                udp_local: self.udp.clone(),
                tcp_remote: if self.version == 4 {
                    self.tcp_remote.clone()
                } else {
                    vec![]
                },
                udp_remote: if self.version == 4 {
                    self.udp_remote.clone()
                } else {
                    vec![]
                },
            }
        }
    }

    /// Graph section with bar i of graph g = (1000 g + i, 2000 g + i).
    fn graph_section(last_time: u64, pos: [u8; 4]) -> Vec<u8> {
        let mut b = GRAPH_TAG.to_vec();
        b.extend(last_time.to_be_bytes());
        for (g, (&(_, n, _), p)) in GRAPHS.iter().zip(pos).enumerate() {
            b.push(n);
            b.push(p);
            for i in 0..u64::from(n) {
                b.extend((1000 * g as u64 + i).to_be_bytes());
                b.extend((2000 * g as u64 + i).to_be_bytes());
            }
        }
        b
    }

    fn file(records: &[Vec<u8>], graphs: Option<Vec<u8>>) -> Vec<u8> {
        let mut b = FILE_MAGIC.to_vec();
        b.extend(HOSTS_TAG);
        b.extend((records.len() as u32).to_be_bytes());
        for r in records {
            b.extend(r);
        }
        b.extend(graphs.unwrap_or_default());
        b
    }

    fn one(r: &Rec) -> ImportedHost {
        let x = parse(&file(&[r.bytes()], Some(graph_section(0, [0; 4])))).unwrap();
        assert_eq!(x.hosts.len(), 1);
        x.hosts.into_iter().next().unwrap()
    }

    #[test]
    fn every_record_version_parses() {
        for version in 1..=4u8 {
            let r = rec(version, "192.0.2.7");
            let h = one(&r);
            assert_eq!(h, r.expected(), "v{version}");
        }
        // v1 has neither last_seen nor remote tables; v4 has both
        let v1 = one(&rec(1, "192.0.2.7"));
        assert_eq!(v1.last_seen, None);
        assert!(v1.tcp_remote.is_empty() && v1.udp_remote.is_empty());
        let v4 = one(&rec(4, "192.0.2.7"));
        assert_eq!(v4.last_seen, Some(1_700_000_000));
        assert_eq!(v4.tcp_remote, vec![(443, 2, 300, 600)]);
        assert_eq!(v4.udp_remote, vec![(123, 10, 20)]);
        assert_eq!(v4.mac, Some([0x02, 0, 0, 0xaa, 0xbb, 0xcc]));
        assert_eq!(v4.hostname.as_deref(), Some("host.example"));
    }

    #[test]
    fn ipv6_records_from_v3_on() {
        for version in 3..=4u8 {
            let r = rec(version, "2001:db8::1");
            assert_eq!(one(&r), r.expected());
        }
        // v1/v2 have no family byte: the address is 4 bytes of IPv4
        let v2 = rec(2, "198.51.100.1").bytes();
        assert_eq!(&v2[4..8], &[198, 51, 100, 1]);
        assert_eq!(&v2[8..16], &1_700_000_000u64.to_be_bytes());
    }

    #[test]
    fn versions_mix_in_one_file() {
        let recs = [
            rec(1, "10.0.0.1"),
            rec(4, "2001:db8::2"),
            rec(2, "10.0.0.3"),
            rec(3, "2001:db8::4"),
            rec(4, "10.0.0.5"),
        ];
        let bytes: Vec<Vec<u8>> = recs.iter().map(Rec::bytes).collect();
        let x = parse(&file(&bytes, Some(graph_section(0, [0; 4])))).unwrap();
        let want: Vec<ImportedHost> = recs.iter().map(Rec::expected).collect();
        assert_eq!(x.hosts, want);
    }

    #[test]
    fn empty_tables_and_zero_hosts() {
        let mut r = rec(4, "10.0.0.1");
        r.protocols.clear();
        r.tcp.clear();
        r.udp.clear();
        r.tcp_remote.clear();
        r.udp_remote.clear();
        assert_eq!(one(&r), r.expected());
        let mut v1 = rec(1, "10.0.0.1");
        v1.protocols.clear();
        v1.tcp.clear();
        v1.udp.clear();
        v1.name.clear();
        assert_eq!(v1.bytes().len(), MIN_HOST_RECORD);
        let x = parse(&file(&[], Some(graph_section(5, [5, 0, 0, 0])))).unwrap();
        assert!(x.hosts.is_empty());
        assert_eq!(x.graphs.unwrap().last_time, 5);
    }

    #[test]
    fn all_zero_mac_is_none() {
        let mut r = rec(4, "10.0.0.1");
        r.mac = [0; 6];
        assert_eq!(one(&r).mac, None);
        r.mac = [0, 0, 0, 0, 0, 1];
        assert_eq!(one(&r).mac, Some([0, 0, 0, 0, 0, 1]));
    }

    #[test]
    fn hostnames_are_validated() {
        let mut r = rec(4, "10.0.0.1");
        let cases: [(&[u8], Option<&str>); 12] = [
            (b"", None),
            (b"(none)", None),
            (b"(link-local)", None),
            (b"(site-local)", None),
            (b"(multicast)", None),
            (b"ok.example", Some("ok.example")),
            (b"(nonesuch)", Some("(nonesuch)")),
            (b"a b", Some("a b")),
            (b"bad\x1b[31m", None),
            (b"tab\there", None),
            (b"del\x7f", None),
            ("caf\u{e9}.example".as_bytes(), None),
        ];
        for (raw, want) in cases {
            r.name = raw.to_vec();
            assert_eq!(one(&r).hostname.as_deref(), want, "{raw:?}");
        }
        r.name = vec![b'x'; 255];
        assert_eq!(one(&r).hostname.map(|n| n.len()), Some(255));
    }

    #[test]
    fn never_seen_is_none() {
        let mut r = rec(4, "10.0.0.1");
        // darkstat 3.0.719 writes "never" as the boot time; such a host sent nothing
        r.bytes_out = 0;
        r.last_seen = 1_795_777_091;
        assert_eq!(one(&r).last_seen, None);
        r.bytes_out = 40;
        assert_eq!(one(&r).last_seen, Some(1_795_777_091));
        r.last_seen = 0;
        assert_eq!(one(&r).last_seen, None);
        r.version = 2;
        r.last_seen = 7;
        assert_eq!(one(&r).last_seen, Some(7));
    }

    #[test]
    fn file_ending_after_the_hosts_has_no_graphs() {
        let x = parse(&file(&[rec(4, "10.0.0.1").bytes()], None)).unwrap();
        assert_eq!(x.hosts.len(), 1);
        assert_eq!(x.graphs, None);
    }

    #[test]
    fn graph_section_is_read_by_absolute_index() {
        let x = parse(&file(&[], Some(graph_section(1234, [3, 59, 23, 30])))).unwrap();
        let g = x.graphs.unwrap();
        assert_eq!(g.last_time, 1234);
        for (k, s) in g.series.iter().enumerate() {
            assert_eq!(s.bars.len(), usize::from(GRAPHS[k].1));
            for (i, &bar) in s.bars.iter().enumerate() {
                assert_eq!(
                    bar,
                    (1000 * k as u64 + i as u64, 2000 * k as u64 + i as u64)
                );
            }
        }
        assert_eq!(g.series.each_ref().map(|s| s.pos), [3, 59, 23, 30]);
    }

    fn err(bytes: &[u8]) -> ImportError {
        parse(bytes).unwrap_err()
    }

    #[test]
    fn bad_magic() {
        let mut b = file(&[], Some(graph_section(0, [0; 4])));
        b[3] = 0x58;
        assert_eq!(
            err(&b),
            ImportError::BadMagic {
                offset: 0,
                found: [0xDA, 0x31, 0x41, 0x58]
            }
        );
        assert!(matches!(
            err(&[]),
            ImportError::Truncated {
                offset: 0,
                needed: 4,
                available: 0,
                ..
            }
        ));
        assert!(matches!(
            err(&[0xDA, 0x31]),
            ImportError::Truncated {
                offset: 0,
                available: 2,
                ..
            }
        ));
    }

    #[test]
    fn unknown_sections() {
        let mut b = file(&[], Some(graph_section(0, [0; 4])));
        b[7] = 0x02; // hosts section v2
        assert!(matches!(
            err(&b),
            ImportError::UnknownSection {
                offset: 4,
                found: [0xDA, b'H', b'S', 2],
                ..
            }
        ));
        // the graph section where the hosts section belongs
        let mut b = FILE_MAGIC.to_vec();
        b.extend(graph_section(0, [0; 4]));
        assert!(matches!(
            err(&b),
            ImportError::UnknownSection { offset: 4, .. }
        ));
        // something else where the graph section belongs
        let host = rec(4, "10.0.0.1").bytes();
        let mut b = file(std::slice::from_ref(&host), Some(graph_section(0, [0; 4])));
        let at = 12 + host.len();
        b[at + 1] = b'X';
        match err(&b) {
            ImportError::UnknownSection {
                offset,
                found,
                expected,
            } => {
                assert_eq!(offset, at);
                assert_eq!(found, [0xDA, b'X', b'R', 1]);
                assert!(expected.contains("graph"));
            }
            e => panic!("{e}"),
        }
    }

    #[test]
    fn unknown_host_record_versions() {
        for bad in [
            [b'H', b'S', b'T', 0],
            [b'H', b'S', b'T', 5],
            [b'H', b'S', b'X', 4],
            [0; 4],
        ] {
            let mut r = rec(4, "10.0.0.1").bytes();
            r[..4].copy_from_slice(&bad);
            let e = err(&file(&[r], Some(graph_section(0, [0; 4]))));
            assert_eq!(
                e,
                ImportError::UnknownHostVersion {
                    offset: 12,
                    found: bad
                }
            );
        }
    }

    #[test]
    fn bad_address_family() {
        let mut r = rec(3, "10.0.0.1").bytes();
        r[4] = 5;
        assert_eq!(
            err(&file(&[r], None)),
            ImportError::BadFamily {
                offset: 16,
                found: 5
            }
        );
    }

    #[test]
    fn bad_table_tags() {
        let r = rec(4, "10.0.0.1");
        let raw = r.bytes();
        // offsets of the five tags in this record
        let p = 4 + 5 + 8 + 6 + 1 + r.name.len() + 16;
        let t = p + 2 + 2 * PROTO_ENTRY;
        let u = t + 3 + 2 * TCP_ENTRY;
        let tr = u + 3 + UDP_ENTRY;
        let ur = tr + 3 + TCP_ENTRY;
        for (at, tag) in [(p, b'P'), (t, b'T'), (u, b'U'), (tr, b't'), (ur, b'u')] {
            assert_eq!(raw[at], tag);
            let mut bad = raw.clone();
            bad[at] = b'Q';
            assert_eq!(
                err(&file(&[bad], None)),
                ImportError::BadTableTag {
                    offset: 12 + at,
                    expected: tag,
                    found: b'Q'
                }
            );
        }
        // a v3 record has no remote tables: the next record follows 'U' directly
        let v3 = rec(3, "10.0.0.2").bytes();
        let mut b = file(&[v3], None);
        b[11] = 2; // claims a second host: what follows must be a record header
        b.extend(raw);
        assert_eq!(parse(&b).unwrap().hosts.len(), 2);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let recs = [
            rec(4, "10.0.0.1").bytes(),
            rec(1, "10.0.0.2").bytes(),
            rec(3, "2001:db8::3").bytes(),
        ];
        let full = file(&recs, Some(graph_section(1_795_780_079, [59, 32, 17, 26])));
        let hosts_end = 12 + recs.iter().map(Vec::len).sum::<usize>();
        assert_eq!(full.len(), hosts_end + 2820);
        for len in 0..full.len() {
            let got = parse(&full[..len]);
            if len == hosts_end {
                assert_eq!(got.unwrap().graphs, None);
                continue;
            }
            match got {
                Err(ImportError::Truncated {
                    offset,
                    needed,
                    available,
                    ..
                }) => {
                    assert!(offset <= len, "len {len}: offset {offset}");
                    assert_eq!(available, len - offset, "len {len}");
                    assert!(needed > available, "len {len}");
                }
                Err(ImportError::CountTooLarge { offset, .. }) => assert!(offset < len),
                other => panic!("prefix of {len} bytes: {other:?}"),
            }
        }
        assert!(parse(&full).is_ok());
    }

    #[test]
    fn truncated_graph_section_is_an_error() {
        // darkstat's import fails on it and resets everything
        let mut b = file(
            &[rec(4, "10.0.0.1").bytes()],
            Some(graph_section(0, [0; 4])),
        );
        b.truncate(b.len() - 1);
        assert!(matches!(
            err(&b),
            ImportError::Truncated {
                what: "graph bar",
                needed: 8,
                available: 7,
                ..
            }
        ));
        let end_of_hosts = b.len() + 1 - 2820;
        b.truncate(end_of_hosts + 2);
        assert!(matches!(
            err(&b),
            ImportError::Truncated {
                what: "graph section tag",
                ..
            }
        ));
    }

    #[test]
    fn counts_too_large_for_the_bytes_left() {
        let e = err(&file(&[], None)[..8]
            .iter()
            .copied()
            .chain(u32::MAX.to_be_bytes())
            .collect::<Vec<_>>());
        assert_eq!(
            e,
            ImportError::CountTooLarge {
                offset: 8,
                what: "host",
                count: u64::from(u32::MAX),
                needed: u64::from(u32::MAX) * MIN_HOST_RECORD as u64,
                available: 0
            }
        );
        // one host claimed, 37 bytes follow: not even a v1 record fits
        let mut b = file(&[], None);
        b[11] = 1;
        b.extend([0u8; MIN_HOST_RECORD - 1]);
        assert!(matches!(
            err(&b),
            ImportError::CountTooLarge {
                offset: 8,
                count: 1,
                ..
            }
        ));

        let r = rec(4, "10.0.0.1");
        let raw = r.bytes();
        let p = 4 + 5 + 8 + 6 + 1 + r.name.len() + 16;
        let t = p + 2 + 2 * PROTO_ENTRY;
        let u = t + 3 + 2 * TCP_ENTRY;
        let tr = u + 3 + UDP_ENTRY;
        let ur = tr + 3 + TCP_ENTRY;
        for (count_at, what, wide) in [
            (p + 1, "IP protocol", false),
            (t + 1, "local TCP port", true),
            (u + 1, "local UDP port", true),
            (tr + 1, "remote TCP port", true),
            (ur + 1, "remote UDP port", true),
        ] {
            let mut bad = raw.clone();
            if wide {
                bad[count_at..count_at + 2].copy_from_slice(&u16::MAX.to_be_bytes());
            } else {
                bad[count_at] = u8::MAX;
            }
            match err(&file(&[bad], Some(graph_section(0, [0; 4])))) {
                ImportError::CountTooLarge {
                    offset,
                    what: w,
                    needed,
                    available,
                    ..
                } => {
                    assert_eq!((offset, w), (12 + count_at, what));
                    assert!(needed > available as u64);
                }
                e => panic!("{what}: {e}"),
            }
        }
    }

    #[test]
    fn bad_graph_shapes() {
        let hosts_end = 12;
        let mut b = file(&[], Some(graph_section(0, [0; 4])));
        let minutes = hosts_end + 4 + 8 + 2 + 60 * 16;
        b[minutes] = 59;
        assert_eq!(
            err(&b),
            ImportError::BadBarCount {
                offset: minutes,
                graph: "minutes",
                found: 59,
                expected: 60
            }
        );
        let days = hosts_end + 4 + 8 + 2 * (2 + 60 * 16) + 2 + 24 * 16;
        let mut b = file(&[], Some(graph_section(0, [0, 0, 0, 31])));
        assert_eq!(
            err(&b),
            ImportError::BadPosition {
                offset: days + 1,
                graph: "days",
                pos: 31,
                n_bars: 31
            }
        );
        b[days + 1] = 30;
        assert!(parse(&b).is_ok());
        let b = file(&[], Some(graph_section(0, [60, 0, 0, 0])));
        assert!(matches!(
            err(&b),
            ImportError::BadPosition {
                graph: "seconds",
                pos: 60,
                ..
            }
        ));
    }

    #[test]
    fn trailing_garbage() {
        let mut b = file(
            &[rec(2, "10.0.0.1").bytes()],
            Some(graph_section(0, [0; 4])),
        );
        let len = b.len();
        b.extend([0, 0, 0]);
        assert_eq!(
            err(&b),
            ImportError::TrailingBytes {
                offset: len,
                count: 3
            }
        );
    }

    #[test]
    fn duplicates_are_rejected() {
        let a = rec(4, "10.0.0.1").bytes();
        let b = rec(1, "10.0.0.1").bytes();
        assert_eq!(
            err(&file(&[a.clone(), b], None)),
            ImportError::DuplicateHost {
                offset: 12 + a.len(),
                ip: "10.0.0.1".parse().unwrap()
            }
        );
        // the same address as IPv4 and as IPv4-mapped IPv6 are two hosts to darkstat
        let c = rec(4, "::ffff:10.0.0.1").bytes();
        assert_eq!(parse(&file(&[a, c], None)).unwrap().hosts.len(), 2);

        let mut r = rec(4, "10.0.0.1");
        r.udp_remote = vec![(123, 1, 1), (5353, 1, 1), (123, 2, 2)];
        assert!(matches!(
            err(&file(&[r.bytes()], None)),
            ImportError::DuplicateKey {
                table: "remote UDP port",
                key: 123,
                ..
            }
        ));
        let mut r = rec(4, "10.0.0.1");
        r.protocols = vec![(6, 1, 1), (6, 1, 1)];
        assert!(matches!(
            err(&file(&[r.bytes()], None)),
            ImportError::DuplicateKey {
                table: "IP protocol",
                key: 6,
                ..
            }
        ));
        // the same port in different tables, or in the next host, is fine
        let mut r = rec(4, "10.0.0.1");
        r.tcp = vec![(80, 0, 1, 1)];
        r.udp = vec![(80, 1, 1)];
        r.tcp_remote = vec![(80, 0, 1, 1)];
        r.udp_remote = vec![(80, 1, 1)];
        let mut s = r.clone();
        s.ip = "10.0.0.2".parse().unwrap();
        assert_eq!(
            parse(&file(&[r.bytes(), s.bytes()], None))
                .unwrap()
                .hosts
                .len(),
            2
        );
    }

    #[test]
    fn no_panic_on_corrupted_bytes() {
        let recs = [
            rec(4, "10.0.0.1").bytes(),
            rec(2, "10.0.0.2").bytes(),
            rec(3, "::1").bytes(),
        ];
        let full = file(&recs, Some(graph_section(1_795_780_079, [59, 32, 17, 26])));
        for i in 0..full.len() {
            for v in [0x00, 0x01, 0x7f, 0xff] {
                let mut b = full.clone();
                b[i] = v;
                if let Ok(x) = parse(&b) {
                    if let Some(g) = x.graphs {
                        if let Some(off) = g.utc_offset() {
                            assert!(g.dated_bars(off).is_some());
                        }
                    }
                }
            }
        }
    }

    // ---- dating the graphs ----

    /// Days from 1970-01-01 of a proleptic Gregorian date, by counting (an
    /// independent check of `day_of_month`).
    fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
        let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let month_len = |y: i64, m: i64| match m {
            2 if leap(y) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let mut days = 0;
        for yy in 1970..y {
            days += if leap(yy) { 366 } else { 365 };
        }
        for mm in 1..m {
            days += month_len(y, mm);
        }
        days + d - 1
    }

    /// Graphs as darkstat would leave them at UTC time `t` in a zone `off`
    /// seconds east.
    fn graphs_at(t: u64, off: i64) -> ImportedGraphs {
        let local = t as i64 + off;
        let pos = [
            local.rem_euclid(60),
            local.div_euclid(60).rem_euclid(60),
            local.div_euclid(3600).rem_euclid(24),
            day_of_month(local.div_euclid(DAY)) - 1,
        ];
        let bytes = file(&[], Some(graph_section(t, pos.map(|p| p as u8))));
        parse(&bytes).unwrap().graphs.unwrap()
    }

    fn utc(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> u64 {
        (days_from_civil(y, mo, d) * DAY + h * 3600 + mi * 60 + s) as u64
    }

    #[test]
    fn day_of_month_matches_counting() {
        for (y, m, d) in [
            (1970, 1, 1),
            (2000, 2, 29),
            (2026, 2, 28),
            (2026, 3, 1),
            (2026, 12, 31),
            (2100, 3, 1),
        ] {
            assert_eq!(day_of_month(days_from_civil(y, m, d)), d, "{y}-{m}-{d}");
        }
        assert_eq!(days_from_civil(2026, 11, 27) * DAY, 1_795_737_600);
    }

    #[test]
    fn utc_offset_is_read_from_the_positions() {
        let t = utc(2026, 11, 27, 11, 47, 59);
        for off in [
            0, 20_700, -36_000, 46_800, -39_600, 19_800, -12_600, 50_400, -43_200, 45_900,
        ] {
            assert_eq!(
                graphs_at(t, off).utc_offset(),
                Some(off as i32),
                "offset {off}"
            );
        }
        // never rotated (-r mode): positions all 0, last_time 0
        assert_eq!(graphs_at(0, 0).last_time, 0);
        assert_eq!(graphs_at(0, 0).utc_offset(), None);
        // a seconds position that no whole-minute zone gives
        let mut g = graphs_at(t, 0);
        g.series[0].pos = 58;
        assert_eq!(g.utc_offset(), None);
        // a day position that fits neither candidate day
        let mut g = graphs_at(t, 0);
        g.series[3].pos = 3;
        assert_eq!(g.utc_offset(), None);
    }

    #[test]
    fn seconds_minutes_hours_dating() {
        // 2026-11-27 17:32:59 at +05:45, as in the live fixture
        let t = 1_795_780_079;
        let off = 20_700;
        let g = graphs_at(t, off);
        assert_eq!(g.series.each_ref().map(|s| s.pos), [59, 32, 17, 26]);
        let d = g.dated_bars(off as i32).unwrap();
        for (k, (series, &(_, n, p))) in d.iter().zip(&GRAPHS).take(3).enumerate() {
            assert_eq!(series.len(), usize::from(n));
            let pos = u64::from(g.series[k].pos);
            for (age_rev, &(start, bytes_in, bytes_out)) in series.iter().enumerate() {
                // oldest first: the bar after pos, ..., pos itself
                let i = (pos + 1 + age_rev as u64) % u64::from(n);
                assert_eq!(
                    (bytes_in, bytes_out),
                    (1000 * k as u64 + i, 2000 * k as u64 + i)
                );
                let age = u64::from(n) - 1 - age_rev as u64;
                assert!(start <= t && t - start < (age + 1) * p);
            }
        }
        // the current bars: this second, 17:32 and 17:00 local
        assert_eq!(d[0].last().unwrap().0, t);
        assert_eq!(d[1].last().unwrap().0, t - 59);
        assert_eq!(d[2].last().unwrap().0, 1_795_778_100); // 11:15 UTC
        assert_eq!(d[2].first().unwrap().0, 1_795_778_100 - 23 * 3600);
        assert_eq!(d[1].first().unwrap().0, t - 59 - 59 * 60);
        // the wrong zone does not fit the positions
        assert_eq!(g.dated_bars(0), None);
        assert_eq!(g.dated_bars(20_760), None);
        assert_eq!(graphs_at(0, 0).dated_bars(0), None);
    }

    fn day_starts(t: u64, off: i64) -> Vec<u64> {
        let g = graphs_at(t, off);
        let d = g.dated_bars(off as i32).unwrap();
        let days = &d[3];
        // bar index = day of month - 1, so its bytes tell which bar it was
        for &(start, bytes_in, _) in days {
            let local_day = (start as i64 + off) / DAY;
            assert_eq!((start as i64 + off) % DAY, 0, "starts at local midnight");
            assert_eq!(bytes_in, 3000 + day_of_month(local_day) as u64 - 1);
        }
        days.iter().map(|b| b.0).collect()
    }

    fn consecutive_days(first: (i64, i64, i64), n: usize, off: i64) -> Vec<u64> {
        let d0 = days_from_civil(first.0, first.1, first.2);
        (0..n as i64)
            .map(|k| ((d0 + k) * DAY - off) as u64)
            .collect()
    }

    #[test]
    fn days_after_a_31_day_month() {
        let t = utc(2026, 11, 27, 11, 47, 59);
        assert_eq!(day_starts(t, 0), consecutive_days((2026, 10, 28), 31, 0));
        // +05:45: local midnight is 18:15 UTC the day before
        assert_eq!(
            day_starts(t, 20_700),
            consecutive_days((2026, 10, 28), 31, 20_700)
        );
        // 2026-11-27 02:00 UTC is still the 26th at -10:00
        let t = utc(2026, 11, 27, 2, 0, 0);
        assert_eq!(
            day_starts(t, -36_000),
            consecutive_days((2026, 10, 27), 31, -36_000)
        );
    }

    #[test]
    fn days_after_a_30_day_month() {
        // going from Nov 30 to Dec 1 zeroed the bar of the 31st
        let t = utc(2026, 12, 5, 8, 0, 0);
        assert_eq!(day_starts(t, 0), consecutive_days((2026, 11, 6), 30, 0));
    }

    #[test]
    fn days_after_february() {
        // Feb 28 -> Mar 1 zeroed the bars of the 29th, 30th and 31st
        let t = utc(2026, 3, 2, 12, 0, 0);
        assert_eq!(day_starts(t, 0), consecutive_days((2026, 2, 3), 28, 0));
        // leap year: Feb 29 -> Mar 1 zeroed the 30th and 31st
        let t = utc(2028, 3, 2, 12, 0, 0);
        assert_eq!(day_starts(t, 0), consecutive_days((2028, 2, 3), 29, 0));
        // on Mar 30 the bar of the 31st is still the one zeroed on Mar 1
        let t = utc(2026, 3, 30, 12, 0, 0);
        assert_eq!(day_starts(t, 0), consecutive_days((2026, 3, 1), 30, 0));
        let t = utc(2026, 3, 31, 12, 0, 0);
        assert_eq!(day_starts(t, 0), consecutive_days((2026, 3, 1), 31, 0));
    }

    #[test]
    fn days_match_a_replay_of_darkstats_advance() {
        // graph_db.c: advance() walks pos forward, zeroing each bar it
        // enters; that day's traffic then lands on bar pos. Stamp each bar
        // with the day it was written on and check every dating against it.
        let first = days_from_civil(2023, 1, 1);
        let mut ring = [(0u64, 0u64); 31];
        let mut pos = (day_of_month(first) - 1) as usize;
        ring[pos] = (first as u64 + 1, 0);
        for today in first + 1..days_from_civil(2030, 1, 1) {
            let to = (day_of_month(today) - 1) as usize;
            while pos != to {
                pos = (pos + 1) % 31;
                ring[pos] = (0, 0);
            }
            ring[pos] = (today as u64 + 1, 0);
            if today - first < 62 {
                continue; // let the replay fill the ring first
            }
            let t = (today * DAY + 43_200) as u64;
            let mut g = graphs_at(t, 0);
            g.series[3].bars = ring.to_vec();
            let d = g.dated_bars(0).unwrap();
            let nonzero = ring.iter().filter(|b| b.0 != 0).count();
            assert_eq!(d[3].len(), nonzero, "day {today}");
            for &(start, stamp, _) in &d[3] {
                assert_eq!(stamp, start / DAY as u64 + 1, "day {today}");
            }
            assert_eq!(d[3].last().unwrap().0, (today * DAY) as u64);
        }
    }

    #[test]
    fn bars_before_1970_are_left_out() {
        let g = graphs_at(30, 0);
        let d = g.dated_bars(0).unwrap();
        assert_eq!(d[0].len(), 31);
        assert_eq!(d[0].first().unwrap().0, 0);
        assert_eq!(d[1].len(), 1);
        assert_eq!(d[3], vec![(0, 3000, 6000)]);
    }
}
