//! Capture files: classic pcap and pcapng, read without libpcap.
//!
//! libpcap's offline reader stops at the first pcapng interface whose link
//! type differs from the first one's, and `spec/counting.md` §1 requires
//! such files to be read; so this is our own streaming reader. It follows
//! libpcap's acceptance rules otherwise (pcap versions 2.0–2.4, swapped
//! length fields of old versions, pcapng 1.0/1.2, records cut to the
//! snapshot length), reads from any `Read` (a file or standard input)
//! through one reused buffer, and never allocates per record.
//!
//! Errors come in two kinds. [`OpenError`]: the input is not a capture file
//! we can read at all (refused). A [`Stop`] in the middle of a file (a
//! record cut short, an impossible length): what was read before stands,
//! and the caller warns.

use std::fmt;
use std::io::{self, Read};

use super::Record;

/// libpcap's largest snapshot length for the link types we decode.
pub const MAX_SNAPLEN: u32 = 262_144;
/// Largest pcapng block accepted (libpcap's limit is of the same order).
const MAX_BLOCK: usize = 16 * 1024 * 1024;
/// Read buffer (grown for a larger block). Small enough to stay in the L2
/// cache next to the tables being counted into: a 1 MiB buffer pushed host
/// lines out of it on every refill.
const INITIAL_BUFFER: usize = 1 << 17;

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot read capture: {0}")]
    Io(#[from] io::Error),
    #[error("cannot open capture: {0}")]
    Format(String),
}

/// Why reading stopped before the end of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    /// Byte offset in the input where the bad record starts.
    pub offset: u64,
    pub reason: String,
    /// The file must be refused as a whole (libpcap would not have opened
    /// it): e.g. a packet block before any interface description block.
    pub refuse: bool,
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte offset {}: {}", self.offset, self.reason)
    }
}

#[derive(Clone, Copy, Debug)]
enum Swap {
    No,
    Yes,
    Maybe,
}

#[derive(Clone, Copy, Debug)]
struct PcapFormat {
    big_endian: bool,
    nanos: bool,
    record_header: usize,
    swap: Swap,
    snaplen: u32,
    dlt: u32,
}

#[derive(Clone, Copy, Debug)]
struct Interface {
    dlt: u32,
    snaplen: u32,
    /// Timestamp units per second (if_tsresol), and whether it is a power
    /// of two rather than of ten.
    units_per_sec: u64,
    ts_offset: i64,
}

#[derive(Debug)]
struct PcapngState {
    big_endian: bool,
    interfaces: Vec<Interface>,
    /// Link types of every interface seen in the whole file.
    seen_dlts: Vec<u32>,
}

#[derive(Debug)]
enum Format {
    Pcap(PcapFormat),
    Pcapng(PcapngState),
}

/// Streaming capture-file reader.
pub struct CaptureReader<R> {
    src: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// Input offset of `buf[start]`.
    offset: u64,
    format: Format,
    records: u64,
}

fn adjust_snaplen(s: u32) -> u32 {
    if s == 0 || s > MAX_SNAPLEN {
        MAX_SNAPLEN
    } else {
        s
    }
}

fn u16_at(b: &[u8], big: bool) -> u16 {
    let a = [b[0], b[1]];
    if big {
        u16::from_be_bytes(a)
    } else {
        u16::from_le_bytes(a)
    }
}

fn u32_at(b: &[u8], big: bool) -> u32 {
    let a = [b[0], b[1], b[2], b[3]];
    if big {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    }
}

const PCAPNG_SHB: u32 = 0x0a0d_0d0a;
const PCAPNG_IDB: u32 = 1;
const PCAPNG_PB: u32 = 2;
const PCAPNG_SPB: u32 = 3;
const PCAPNG_EPB: u32 = 6;
const BOM_BIG: [u8; 4] = [0x1a, 0x2b, 0x3c, 0x4d];
const BOM_LITTLE: [u8; 4] = [0x4d, 0x3c, 0x2b, 0x1a];

impl<R: Read> CaptureReader<R> {
    /// Reads the file header; refuses input that is not a capture file we
    /// can read.
    pub fn open(src: R) -> Result<Self, OpenError> {
        let mut r = CaptureReader {
            src,
            buf: vec![0; INITIAL_BUFFER],
            start: 0,
            end: 0,
            eof: false,
            offset: 0,
            format: Format::Pcapng(PcapngState {
                big_endian: false,
                interfaces: Vec::new(),
                seen_dlts: Vec::new(),
            }),
            records: 0,
        };
        if !r.fill(4)? {
            return Err(OpenError::Format("file too short to be a capture".into()));
        }
        let magic: [u8; 4] = r.buf[r.start..r.start + 4].try_into().unwrap_or_default();
        let pcap_magic = |m: [u8; 4]| -> Option<(bool, bool, usize)> {
            let le = u32::from_le_bytes(m);
            let be = u32::from_be_bytes(m);
            for (v, big) in [(le, false), (be, true)] {
                match v {
                    0xa1b2_c3d4 => return Some((big, false, 16)),
                    0xa1b2_3c4d => return Some((big, true, 16)),
                    0xa1b2_cd34 => return Some((big, false, 24)),
                    _ => {}
                }
            }
            None
        };
        if let Some((big, nanos, record_header)) = pcap_magic(magic) {
            r.open_pcap(big, nanos, record_header)?;
        } else if u32::from_le_bytes(magic) == PCAPNG_SHB {
            r.open_pcapng()?;
        } else {
            return Err(OpenError::Format(
                "unknown file format (neither pcap nor pcapng)".into(),
            ));
        }
        Ok(r)
    }

    fn open_pcap(&mut self, big: bool, nanos: bool, record_header: usize) -> Result<(), OpenError> {
        if !self.fill(24)? {
            return Err(OpenError::Format("truncated pcap file header".into()));
        }
        let h = &self.buf[self.start..self.start + 24];
        let vmaj = u16_at(&h[4..], big);
        let vmin = u16_at(&h[6..], big);
        let snaplen = u32_at(&h[16..], big);
        let network = u32_at(&h[20..], big);
        if vmaj < 2 {
            return Err(OpenError::Format(format!(
                "archaic pcap savefile format {vmaj}.{vmin}"
            )));
        }
        if !((vmaj == 2 && vmin <= 4) || (vmaj == 543 && vmin == 0)) {
            return Err(OpenError::Format(format!(
                "unsupported pcap savefile version {vmaj}.{vmin}"
            )));
        }
        if network & 0x03ff_0000 != 0 {
            return Err(OpenError::Format(format!(
                "pcap link-type field has reserved bits set (0x{network:08x})"
            )));
        }
        let swap = if vmaj == 543 || (vmaj == 2 && vmin < 3) {
            Swap::Yes
        } else if vmaj == 2 && vmin == 3 {
            Swap::Maybe
        } else {
            Swap::No
        };
        self.format = Format::Pcap(PcapFormat {
            big_endian: big,
            nanos,
            record_header,
            swap,
            snaplen: adjust_snaplen(snaplen),
            dlt: network & 0xffff,
        });
        self.consume(24);
        Ok(())
    }

    fn open_pcapng(&mut self) -> Result<(), OpenError> {
        if !self.fill(12)? {
            return Err(OpenError::Format("truncated section header block".into()));
        }
        match self.read_pcapng_block(true) {
            Ok(None) => Ok(()),
            Ok(Some(_)) => Err(OpenError::Format("not a pcapng file".into())),
            Err(BlockError::Open(e)) => Err(e),
            Err(BlockError::Stop(s)) => Err(OpenError::Format(s.reason)),
        }
    }

    /// The link types of the capture's interfaces seen so far (pcapng: all
    /// interface description blocks read up to now).
    pub fn link_types(&self) -> Vec<u32> {
        match &self.format {
            Format::Pcap(p) => vec![p.dlt],
            Format::Pcapng(s) => s.seen_dlts.clone(),
        }
    }

    /// Whether this is a pcapng file (whose interfaces may appear later).
    pub fn is_pcapng(&self) -> bool {
        matches!(self.format, Format::Pcapng(_))
    }

    /// Records returned so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Makes `need` bytes available at `buf[start..]`; false at end of
    /// input. Called twice per record, and nearly always the bytes are
    /// already there: that test stays in the caller, the reading does not.
    #[inline(always)]
    fn fill(&mut self, need: usize) -> io::Result<bool> {
        if self.end - self.start >= need {
            return Ok(true);
        }
        self.refill(need)
    }

    #[inline(never)]
    fn refill(&mut self, need: usize) -> io::Result<bool> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if need > self.buf.len() {
            self.buf.resize(need.next_power_of_two(), 0);
        }
        while self.end < need && !self.eof {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end - self.start >= need)
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.offset += n as u64;
    }

    fn stop(&self, reason: impl Into<String>) -> Stop {
        Stop {
            offset: self.offset,
            reason: reason.into(),
            refuse: false,
        }
    }

    /// The next record, `Ok(None)` at the end of the input, `Err` when the
    /// input stops making sense (everything returned before stands).
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, Stop> {
        match self.format {
            Format::Pcap(p) => self.next_pcap(p),
            Format::Pcapng(_) => loop {
                match self.read_pcapng_block(false) {
                    Ok(Some(loc)) => {
                        self.records += 1;
                        return Ok(Some(Record {
                            data: &self.buf[loc.data.0..loc.data.1],
                            ..loc.record
                        }));
                    }
                    Ok(None) => {
                        if self.at_end() {
                            return Ok(None);
                        }
                    }
                    Err(BlockError::Stop(s)) => return Err(s),
                    Err(BlockError::Open(e)) => {
                        let mut s = self.stop(e.to_string());
                        s.refuse = true;
                        return Err(s);
                    }
                }
            },
        }
    }

    fn at_end(&mut self) -> bool {
        matches!(self.fill(1), Ok(false))
    }

    fn next_pcap(&mut self, p: PcapFormat) -> Result<Option<Record<'_>>, Stop> {
        let io_stop = |s: &Self, e: io::Error| s.stop(format!("read error: {e}"));
        let hl = p.record_header;
        match self.fill(hl) {
            Ok(true) => {}
            Ok(false) if self.end == self.start => return Ok(None),
            Ok(false) => {
                let have = self.end - self.start;
                return Err(self.stop(format!(
                    "capture cut short inside a record header ({have} of {hl} bytes)"
                )));
            }
            Err(e) => return Err(io_stop(self, e)),
        }
        let h = &self.buf[self.start..self.start + 16];
        let big = p.big_endian;
        let sec = u64::from(u32_at(h, big));
        let frac = u64::from(u32_at(&h[4..], big));
        let mut caplen = u32_at(&h[8..], big);
        let mut wire_len = u32_at(&h[12..], big);
        let swap = match p.swap {
            Swap::Yes => true,
            Swap::Maybe => caplen > wire_len,
            Swap::No => false,
        };
        if swap {
            std::mem::swap(&mut caplen, &mut wire_len);
        }
        if caplen > MAX_SNAPLEN {
            return Err(self.stop(format!(
                "record capture length {caplen} is larger than {MAX_SNAPLEN}"
            )));
        }
        let total = hl + caplen as usize;
        match self.fill(total) {
            Ok(true) => {}
            Ok(false) => {
                let have = self.end - self.start - hl;
                return Err(self.stop(format!(
                    "capture cut short inside a record ({have} of {caplen} captured bytes)"
                )));
            }
            Err(e) => return Err(io_stop(self, e)),
        }
        // libpcap hands over at most the file's snapshot length
        let keep = caplen.min(p.snaplen) as usize;
        let data_at = self.start + hl;
        self.consume(total);
        self.records += 1;
        let _ = p.nanos; // seconds are all the graphs need
        let _ = frac;
        Ok(Some(Record {
            iface: 0,
            dlt: p.dlt,
            ts: sec,
            wire_len,
            data: &self.buf[data_at..data_at + keep],
        }))
    }

    /// Reads one pcapng block. `Some` for a packet block (its location in
    /// the buffer), `None` for any other block or the end of input.
    fn read_pcapng_block(&mut self, first: bool) -> Result<Option<PacketAt>, BlockError> {
        let open = |m: String| BlockError::Open(OpenError::Format(m));
        match self.fill(12) {
            Ok(true) => {}
            Ok(false) if self.end == self.start && !first => return Ok(None),
            Ok(false) => {
                if first {
                    return Err(open("truncated section header block".into()));
                }
                return Err(BlockError::Stop(
                    self.stop("capture cut short inside a block header"),
                ));
            }
            Err(e) => return Err(BlockError::Open(OpenError::Io(e))),
        }
        let Format::Pcapng(state) = &mut self.format else {
            return Err(open("not a pcapng file".into()));
        };
        let head = &self.buf[self.start..self.start + 12];
        let is_shb = head[0..4] == [0x0a, 0x0d, 0x0d, 0x0a];
        if is_shb {
            let bom: [u8; 4] = head[8..12].try_into().unwrap_or_default();
            state.big_endian = if bom == BOM_BIG {
                true
            } else if bom == BOM_LITTLE {
                false
            } else if first {
                return Err(open("bad byte-order magic in section header block".into()));
            } else {
                let s = self.stop("section header block with a bad byte-order magic");
                return Err(BlockError::Stop(s));
            };
        } else if first {
            return Err(open("not a pcapng file".into()));
        }
        let big = state.big_endian;
        let btype = u32_at(head, big);
        let blen = u32_at(&head[4..], big) as usize;
        if blen < 12 || !blen.is_multiple_of(4) || blen > MAX_BLOCK {
            if first {
                return Err(open(format!("invalid section header block length {blen}")));
            }
            let s = self.stop(format!("block has an invalid length {blen}"));
            return Err(BlockError::Stop(s));
        }
        let seen_idb = !state.seen_dlts.is_empty();
        match self.fill(blen) {
            Ok(true) => {}
            Ok(false) => {
                if first {
                    return Err(open("truncated section header block".into()));
                }
                let have = self.end - self.start;
                let s = self.stop(format!(
                    "capture cut short inside a block ({have} of {blen} bytes)"
                ));
                return Err(BlockError::Stop(s));
            }
            Err(e) => return Err(BlockError::Open(OpenError::Io(e))),
        }
        let block = &self.buf[self.start..self.start + blen];
        let trailer = u32_at(&block[blen - 4..], big) as usize;
        if trailer != blen {
            let m = format!("block total length in header ({blen}) and trailer ({trailer}) differ");
            if first || !seen_idb {
                return Err(open(m));
            }
            return Err(BlockError::Stop(self.stop(m)));
        }
        let body_at = self.start + 8;
        let body = &block[8..blen - 4];
        let Format::Pcapng(state) = &mut self.format else {
            return Err(open("not a pcapng file".into()));
        };
        let mut packet = None;
        match btype {
            PCAPNG_SHB => {
                if body.len() < 16 {
                    return Err(open("short section header block".into()));
                }
                let (vmaj, vmin) = (u16_at(&body[4..], big), u16_at(&body[6..], big));
                if first && !(vmaj == 1 && (vmin == 0 || vmin == 2)) {
                    return Err(open(format!(
                        "unsupported pcapng savefile version {vmaj}.{vmin}"
                    )));
                }
                if !first && vmaj != 1 {
                    let s = format!("section with unsupported major version {vmaj}");
                    return Err(BlockError::Stop(self.stop(s)));
                }
                state.interfaces.clear();
            }
            PCAPNG_IDB => {
                if body.len() < 8 {
                    let s = self.stop("short interface description block");
                    return Err(BlockError::Stop(s));
                }
                let dlt = u32::from(u16_at(body, big));
                let snaplen = adjust_snaplen(u32_at(&body[4..], big));
                let (units_per_sec, ts_offset) = idb_time_options(&body[8..], big);
                state.interfaces.push(Interface {
                    dlt,
                    snaplen,
                    units_per_sec,
                    ts_offset,
                });
                state.seen_dlts.push(dlt);
            }
            PCAPNG_EPB | PCAPNG_PB | PCAPNG_SPB => {
                if !seen_idb {
                    return Err(open(
                        "packet block before any interface description block".into(),
                    ));
                }
                let (iface, ts_raw, caplen, wire_len, data_off) = match btype {
                    PCAPNG_EPB | PCAPNG_PB if body.len() < 20 => {
                        let s = self.stop("short packet block");
                        return Err(BlockError::Stop(s));
                    }
                    PCAPNG_EPB => (
                        u32_at(body, big),
                        Some((u32_at(&body[4..], big), u32_at(&body[8..], big))),
                        u32_at(&body[12..], big),
                        u32_at(&body[16..], big),
                        20,
                    ),
                    PCAPNG_PB => (
                        u32::from(u16_at(body, big)),
                        Some((u32_at(&body[4..], big), u32_at(&body[8..], big))),
                        u32_at(&body[12..], big),
                        u32_at(&body[16..], big),
                        20,
                    ),
                    _ => {
                        if body.len() < 4 {
                            let s = self.stop("short simple packet block");
                            return Err(BlockError::Stop(s));
                        }
                        let wire = u32_at(body, big);
                        let snap = state.interfaces.first().map_or(wire, |i| i.snaplen);
                        let avail = (body.len() - 4) as u32;
                        (0, None, wire.min(snap).min(avail), wire, 4)
                    }
                };
                let Some(ifc) = state.interfaces.get(iface as usize).copied() else {
                    let s = format!("packet on interface {iface}, which has no description block");
                    return Err(BlockError::Stop(self.stop(s)));
                };
                if caplen as usize > body.len() - data_off {
                    let s = self.stop("packet block shorter than its capture length");
                    return Err(BlockError::Stop(s));
                }
                let ts = ts_raw.map_or(0, |(hi, lo)| {
                    let raw = (u64::from(hi) << 32) | u64::from(lo);
                    let secs = raw / ifc.units_per_sec.max(1);
                    secs.saturating_add_signed(ifc.ts_offset)
                });
                let from = body_at + data_off;
                // as libpcap does: at most the interface's snapshot length
                let caplen = caplen.min(ifc.snaplen);
                packet = Some(PacketAt {
                    record: Record {
                        iface,
                        dlt: ifc.dlt,
                        ts,
                        wire_len,
                        data: &[],
                    },
                    data: (from, from + caplen as usize),
                });
            }
            _ => {}
        }
        self.consume(blen);
        Ok(packet)
    }
}

/// A packet block's record, with its bytes as a range of the buffer (so the
/// borrow starts only when the block is done).
struct PacketAt {
    record: Record<'static>,
    data: (usize, usize),
}

enum BlockError {
    Open(OpenError),
    Stop(Stop),
}

/// if_tsresol (option 9) and if_tsoffset (option 14) of an interface
/// description block; defaults: microseconds, no offset.
fn idb_time_options(mut opts: &[u8], big: bool) -> (u64, i64) {
    let mut units = 1_000_000u64;
    let mut offset = 0i64;
    while opts.len() >= 4 {
        let code = u16_at(opts, big);
        let len = usize::from(u16_at(&opts[2..], big));
        let padded = (len + 3) & !3;
        let Some(value) = opts.get(4..4 + len) else {
            break;
        };
        match (code, len) {
            (0, _) => break,
            (9, 1) => {
                let r = value[0];
                let exp = u32::from(r & 0x7f);
                units = if r & 0x80 != 0 {
                    2u64.checked_pow(exp).unwrap_or(u64::MAX)
                } else {
                    10u64.checked_pow(exp).unwrap_or(u64::MAX)
                };
            }
            (14, 8) => {
                let b: [u8; 8] = value.try_into().unwrap_or_default();
                offset = if big {
                    i64::from_be_bytes(b)
                } else {
                    i64::from_le_bytes(b)
                };
            }
            _ => {}
        }
        opts = opts.get(4 + padded..).unwrap_or(&[]);
    }
    (units, offset)
}

#[cfg(test)]
mod tests;
