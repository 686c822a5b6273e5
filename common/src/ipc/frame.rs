//! Framing: `MAGIC` (2 bytes), protocol version (u16 LE), payload length
//! (u32 LE), then the payload, one bincode-encoded [`Message`] (standard
//! configuration: little endian, variable-length integers).
//!
//! [`FrameDecoder`] checks the header as soon as it is complete, so an
//! oversized length is refused before a byte of its payload is buffered,
//! and decodes the payload under [`DECODE_LIMIT`]. It never panics, whatever
//! it is fed; after the first error it refuses everything (the stream is
//! out of step and the connection must be dropped).

use bincode::config::{self, Config};
use bincode::error::DecodeError;

use super::message::{HostRecord, Message};
use super::PROTOCOL_VERSION;

/// First two bytes of every frame.
pub const MAGIC: [u8; 2] = *b"ds";
/// Bytes before the payload.
pub const HEADER_LEN: usize = 8;
/// Largest payload accepted. The largest message capd sends is one host
/// with full port tables: 4 × 65536 port rows of at most 48 encoded bytes
/// plus 256 protocol rows, about 11.4 MiB (a test checks the bound).
pub const MAX_FRAME_LEN: usize = 16 << 20;
/// bincode's size limit for decoding one payload. bincode counts the
/// in-memory size of every integer it decodes (8 for a u64 that may take
/// a single byte on the wire), so a valid payload claims at most 8 times
/// its length; anything claiming more is refused before it is allocated.
pub const DECODE_LIMIT: usize = 8 * MAX_FRAME_LEN;
/// A hosts frame is closed once its records reach this many bytes, so
/// that a resync of a million hosts goes out in pieces a reader can apply
/// without holding the whole of it twice.
pub const HOSTS_BATCH_BYTES: usize = 256 << 10;

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("frame payload of {0} bytes exceeds the limit of {MAX_FRAME_LEN}")]
    TooLarge(usize),
    #[error("cannot encode message: {0}")]
    Bincode(#[from] bincode::error::EncodeError),
}

/// Why a stream of frames was refused. The texts never contain bytes of
/// the stream.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("not a darkstat-rs frame (bad magic)")]
    BadMagic,
    #[error("protocol version {got}, expected {want}")]
    Version { got: u16, want: u16 },
    #[error("frame of {0} bytes exceeds the limit of {MAX_FRAME_LEN}")]
    TooLarge(u64),
    #[error("undecodable frame payload: {0}")]
    Payload(&'static str),
    #[error("{0} bytes left over after the message")]
    TrailingBytes(usize),
}

impl FrameError {
    fn from_decode(e: &DecodeError) -> Self {
        FrameError::Payload(match e {
            DecodeError::LimitExceeded => "size limit exceeded",
            DecodeError::UnexpectedEnd { .. } => "truncated",
            DecodeError::Utf8 { .. } => "invalid UTF-8",
            DecodeError::InvalidBooleanValue(_) => "invalid boolean",
            DecodeError::OutsideUsizeRange(_) => "length out of range",
            _ => "invalid encoding",
        })
    }
}

fn encode_config() -> impl Config {
    config::standard()
}

fn decode_config() -> impl Config {
    config::standard().with_limit::<DECODE_LIMIT>()
}

/// Fills in the header of the frame that starts at `start` (its payload
/// runs to the end of `out`), or removes the frame if it is too large.
fn finish_frame(out: &mut Vec<u8>, start: usize) -> Result<(), EncodeError> {
    let len = out.len() - start - HEADER_LEN;
    if len > MAX_FRAME_LEN {
        out.truncate(start);
        return Err(EncodeError::TooLarge(len));
    }
    let h = &mut out[start..start + HEADER_LEN];
    h[..2].copy_from_slice(&MAGIC);
    h[2..4].copy_from_slice(&PROTOCOL_VERSION.to_le_bytes());
    h[4..].copy_from_slice(&(len as u32).to_le_bytes());
    Ok(())
}

/// Appends one frame holding `msg` to `out`. On error `out` is unchanged.
pub fn encode_frame(msg: &Message, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER_LEN]);
    if let Err(e) = bincode::serde::encode_into_std_write(msg, out, encode_config()) {
        out.truncate(start);
        return Err(e.into());
    }
    finish_frame(out, start)
}

/// Appends the encoding of one host record, as it appears inside a
/// `Message::Hosts` payload, to `out`. A publisher keeps these bytes and
/// assembles frames from them with [`HostsFrameBuilder`], so a resync does
/// not encode the hosts again.
pub fn encode_host_record(r: &HostRecord, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    bincode::serde::encode_into_std_write(r, out, encode_config())?;
    Ok(())
}

/// [`encode_host_record`] for a borrowed view of a host that serializes
/// exactly as [`HostRecord`] does (same fields, same order, sequences of
/// known length), so that a publisher need not build the record first. The
/// view's owner must test that both give the same bytes.
pub fn encode_host_view<V: serde::Serialize>(
    view: &V,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    bincode::serde::encode_into_std_write(view, out, encode_config())?;
    Ok(())
}

/// Builds `Message::Hosts` frames out of records encoded by
/// [`encode_host_record`]. bincode writes an enum as its variant index and
/// a vector as its length followed by the elements, so a frame is the
/// variant prefix, the count and the records laid end to end (a test checks
/// that this equals [`encode_frame`] of the same message).
#[derive(Debug, Default)]
pub struct HostsFrameBuilder {
    records: Vec<u8>,
    count: u64,
}

impl HostsFrameBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one encoded record; closes the current frame into `out` first
    /// when it has reached [`HOSTS_BATCH_BYTES`].
    pub fn push(&mut self, record: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if self.count > 0 && self.records.len() + record.len() > HOSTS_BATCH_BYTES {
            self.flush(out)?;
        }
        self.records.extend_from_slice(record);
        self.count += 1;
        Ok(())
    }

    /// Writes the records pushed so far as one frame (nothing if none).
    pub fn flush(&mut self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if self.count == 0 {
            return Ok(());
        }
        let start = out.len();
        out.extend_from_slice(&[0; HEADER_LEN]);
        // The encoding of `Hosts(vec![])` is the variant prefix followed by
        // a zero length, which is the single byte 0.
        let empty = bincode::serde::encode_to_vec(Message::Hosts(Vec::new()), encode_config())?;
        out.extend_from_slice(&empty[..empty.len() - 1]);
        bincode::encode_into_std_write(self.count, out, encode_config())?;
        out.extend_from_slice(&self.records);
        self.records.clear();
        self.count = 0;
        finish_frame(out, start)
    }
}

/// Turns a byte stream back into messages; see the module documentation.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    /// Start of the first frame not yet returned.
    pos: usize,
    failed: Option<FrameError>,
}

impl FrameDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes read from the stream. Fails as soon as the header of
    /// the next frame is wrong, before its payload is kept.
    pub fn feed(&mut self, data: &[u8]) -> Result<(), FrameError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        // Nothing is ever reserved from a declared length: the buffer holds
        // what was actually received, at most one frame plus this call's
        // bytes when the caller takes the messages out between calls.
        self.buf.extend_from_slice(data);
        match self.check_header() {
            Ok(_) => Ok(()),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Bytes fed but not yet returned as messages.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The next complete message, `None` if more bytes are needed.
    pub fn next_message(&mut self) -> Result<Option<Message>, FrameError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let len = match self.check_header() {
            Ok(Some(len)) => len,
            Ok(None) => return Ok(None),
            Err(e) => return Err(self.fail(e)),
        };
        let avail = &self.buf[self.pos..];
        if avail.len() < HEADER_LEN + len {
            return Ok(None);
        }
        let payload = &avail[HEADER_LEN..HEADER_LEN + len];
        let decoded = bincode::serde::decode_from_slice::<Message, _>(payload, decode_config());
        let msg = match decoded {
            Ok((msg, used)) if used == len => msg,
            Ok((_, used)) => return Err(self.fail(FrameError::TrailingBytes(len - used))),
            Err(e) => return Err(self.fail(FrameError::from_decode(&e))),
        };
        self.pos += HEADER_LEN + len;
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        Ok(Some(msg))
    }

    /// The payload length of the next frame once its header is complete;
    /// errors on a header that is already wrong in the bytes present.
    fn check_header(&self) -> Result<Option<usize>, FrameError> {
        let h = &self.buf[self.pos..];
        if h.len() >= 2 && h[..2] != MAGIC {
            return Err(FrameError::BadMagic);
        }
        if h.len() >= 4 {
            let got = u16::from_le_bytes([h[2], h[3]]);
            if got != PROTOCOL_VERSION {
                return Err(FrameError::Version {
                    got,
                    want: PROTOCOL_VERSION,
                });
            }
        }
        if h.len() < HEADER_LEN {
            return Ok(None);
        }
        let len = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
        if len as usize > MAX_FRAME_LEN {
            return Err(FrameError::TooLarge(u64::from(len)));
        }
        Ok(Some(len as usize))
    }

    fn fail(&mut self, e: FrameError) -> FrameError {
        self.failed = Some(e.clone());
        self.buf = Vec::new();
        self.pos = 0;
        e
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;
    use crate::ipc::message::{Hello, PortRows, Tick};
    use crate::model::{
        CaptureCounts, Evictions, GraphBar, Graphs, HostProtoStats, InterfaceStats, Malformed,
        MalformedReasons, PortStats, ProtoStats, TcpPortStats, Totals,
    };
    use crate::net::MacAddr;

    fn host(ip: &str, n: u64) -> HostRecord {
        HostRecord {
            mac: Some(MacAddr([2, 0, 0, 0, 0, n as u8])),
            bytes_in: n,
            bytes_out: u64::MAX - n,
            packets_in: 3,
            packets_out: 4,
            last_seen: n.is_multiple_of(2).then_some(1_700_000_000 + n),
            tcp_local: vec![TcpPortStats {
                port: 443,
                bytes_in: 1,
                bytes_out: 2,
                packets_in: 3,
                packets_out: 4,
                syn: n,
            }],
            udp_local: vec![PortStats {
                port: 53,
                bytes_in: 9,
                ..PortStats::default()
            }],
            protocols: vec![HostProtoStats {
                proto: 6,
                bytes_in: 1,
                bytes_out: 1,
                packets_in: 1,
                packets_out: 1,
            }],
            ..HostRecord::new(ip.parse().unwrap())
        }
    }

    fn tick() -> Tick {
        Tick {
            seq: 7,
            since: 1_700_000_000,
            now: 1_700_000_100,
            totals: Totals {
                packets: 10,
                bytes: 1000,
                non_ip: Default::default(),
                malformed: Malformed {
                    packets: 1,
                    by_reason: MalformedReasons {
                        short_ip_header: 1,
                        ..Default::default()
                    },
                },
                capture: CaptureCounts {
                    received: 12,
                    dropped: 1,
                    if_dropped: 0,
                },
            },
            protocols: vec![ProtoStats {
                proto: 17,
                bytes_in: 5,
                ..Default::default()
            }],
            graphs: Graphs {
                seconds: vec![GraphBar {
                    t: 5,
                    bytes_in: 1,
                    ..Default::default()
                }],
                ..Default::default()
            },
            interfaces: vec![InterfaceStats {
                name: "eth0".into(),
                linktype: 1,
                capture: CaptureCounts::default(),
            }],
            local_networks: vec!["10.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()],
            evictions: Evictions { hosts: 3, ports: 4 },
            host_count: 2,
        }
    }

    fn all_messages() -> Vec<Message> {
        vec![
            Message::Hello(Hello {
                protocol_version: PROTOCOL_VERSION,
                pid: 42,
                session: u64::MAX,
            }),
            Message::Reset,
            Message::Removed(vec![
                "10.0.0.1".parse().unwrap(),
                "2001:db8::1".parse().unwrap(),
            ]),
            Message::Hosts(vec![host("10.0.0.2", 2), host("2001:db8::2", 3)]),
            Message::Ports(PortRows {
                tcp: vec![PortStats {
                    port: 80,
                    bytes_in: 1,
                    bytes_out: 2,
                    packets_in: 3,
                    packets_out: 4,
                }],
                udp: vec![],
            }),
            Message::Tick(Box::new(tick())),
            Message::Keepalive,
        ]
    }

    fn decode_all(bytes: &[u8], chunk: usize) -> Result<Vec<Message>, FrameError> {
        let mut d = FrameDecoder::new();
        let mut out = Vec::new();
        for c in bytes.chunks(chunk.max(1)) {
            d.feed(c)?;
            while let Some(m) = d.next_message()? {
                out.push(m);
            }
        }
        assert_eq!(d.buffered(), 0);
        Ok(out)
    }

    #[test]
    fn every_variant_round_trips_whole_and_byte_by_byte() {
        let msgs = all_messages();
        let mut bytes = Vec::new();
        for m in &msgs {
            encode_frame(m, &mut bytes).unwrap();
        }
        for chunk in [1, 3, 7, 64, bytes.len()] {
            assert_eq!(decode_all(&bytes, chunk).unwrap(), msgs, "chunk {chunk}");
        }
    }

    #[test]
    fn header_is_magic_version_length() {
        let mut b = Vec::new();
        encode_frame(&Message::Reset, &mut b).unwrap();
        assert_eq!(&b[..2], b"ds");
        assert_eq!(u16::from_le_bytes([b[2], b[3]]), PROTOCOL_VERSION);
        let len = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
        assert_eq!(len, b.len() - HEADER_LEN);
    }

    #[test]
    fn host_frames_from_preencoded_records_equal_encode_frame() {
        let hosts: Vec<HostRecord> = (0..300)
            .map(|i| host(&format!("10.0.{}.{}", i / 256, i % 256), i))
            .collect();
        let mut built = Vec::new();
        let mut b = HostsFrameBuilder::new();
        for h in &hosts {
            let mut rec = Vec::new();
            encode_host_record(h, &mut rec).unwrap();
            b.push(&rec, &mut built).unwrap();
        }
        b.flush(&mut built).unwrap();
        b.flush(&mut built).unwrap(); // nothing pending: no empty frame
        let mut direct = Vec::new();
        encode_frame(&Message::Hosts(hosts.clone()), &mut direct).unwrap();
        assert_eq!(built, direct);
    }

    #[test]
    fn big_batches_are_split_into_several_frames() {
        let hosts: Vec<HostRecord> = (0..20_000)
            .map(|i| host(&format!("10.{}.{}.1", i / 256, i % 256), i))
            .collect();
        let mut out = Vec::new();
        let mut b = HostsFrameBuilder::new();
        for h in &hosts {
            let mut rec = Vec::new();
            encode_host_record(h, &mut rec).unwrap();
            b.push(&rec, &mut out).unwrap();
        }
        b.flush(&mut out).unwrap();
        let msgs = decode_all(&out, 65536).unwrap();
        assert!(msgs.len() > 1, "one frame for {} bytes", out.len());
        let back: Vec<HostRecord> = msgs
            .into_iter()
            .flat_map(|m| match m {
                Message::Hosts(v) => v,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(back, hosts);
    }

    #[test]
    fn the_largest_possible_host_fits_in_a_frame() {
        let tcp = |port| TcpPortStats {
            port,
            bytes_in: u64::MAX,
            bytes_out: u64::MAX,
            packets_in: u64::MAX,
            packets_out: u64::MAX,
            syn: u64::MAX,
        };
        let udp = |port| PortStats {
            port,
            bytes_in: u64::MAX,
            bytes_out: u64::MAX,
            packets_in: u64::MAX,
            packets_out: u64::MAX,
        };
        let h = HostRecord {
            mac: Some(MacAddr([0xff; 6])),
            bytes_in: u64::MAX,
            bytes_out: u64::MAX,
            packets_in: u64::MAX,
            packets_out: u64::MAX,
            last_seen: Some(u64::MAX),
            tcp_local: (0..=u16::MAX).map(tcp).collect(),
            tcp_remote: (0..=u16::MAX).map(tcp).collect(),
            udp_local: (0..=u16::MAX).map(udp).collect(),
            udp_remote: (0..=u16::MAX).map(udp).collect(),
            protocols: (0..=255u8)
                .map(|proto| HostProtoStats {
                    proto,
                    bytes_in: u64::MAX,
                    bytes_out: u64::MAX,
                    packets_in: u64::MAX,
                    packets_out: u64::MAX,
                })
                .collect(),
            ..HostRecord::new("2001:db8::1".parse().unwrap())
        };
        let msg = Message::Hosts(vec![h]);
        let mut out = Vec::new();
        encode_frame(&msg, &mut out).unwrap();
        assert!(out.len() - HEADER_LEN <= MAX_FRAME_LEN);
        assert_eq!(decode_all(&out, out.len()).unwrap(), vec![msg]);
    }

    #[test]
    fn oversized_length_is_refused_from_the_header_alone() {
        for len in [MAX_FRAME_LEN as u32 + 1, u32::MAX] {
            let mut h = Vec::from(MAGIC);
            h.extend_from_slice(&PROTOCOL_VERSION.to_le_bytes());
            h.extend_from_slice(&len.to_le_bytes());
            let mut d = FrameDecoder::new();
            assert_eq!(d.feed(&h), Err(FrameError::TooLarge(u64::from(len))));
            // nothing of it was kept, and the decoder stays failed
            assert_eq!(d.buffered(), 0);
            assert!(d.feed(&[0; 16]).is_err());
            assert!(d.next_message().is_err());
        }
        // exactly the limit is a legal header (the payload just has not come)
        let mut h = Vec::from(MAGIC);
        h.extend_from_slice(&PROTOCOL_VERSION.to_le_bytes());
        h.extend_from_slice(&(MAX_FRAME_LEN as u32).to_le_bytes());
        let mut d = FrameDecoder::new();
        d.feed(&h).unwrap();
        assert_eq!(d.next_message(), Ok(None));
    }

    #[test]
    fn a_huge_claimed_vector_is_refused_without_allocating_it() {
        // Removed with a claimed length of 2^60 addresses, in a small frame
        let empty = bincode::serde::encode_to_vec(Message::Removed(vec![]), encode_config());
        let empty = empty.unwrap();
        let mut payload = empty[..empty.len() - 1].to_vec();
        bincode::encode_into_std_write(1u64 << 60, &mut payload, encode_config()).unwrap();
        payload.extend_from_slice(&[0, 10, 0, 0, 1]);
        let mut f = Vec::from(MAGIC);
        f.extend_from_slice(&PROTOCOL_VERSION.to_le_bytes());
        f.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        f.extend_from_slice(&payload);
        let mut d = FrameDecoder::new();
        d.feed(&f).unwrap();
        assert!(matches!(d.next_message(), Err(FrameError::Payload(_))));
    }

    #[test]
    fn truncated_frames_wait_and_truncated_payloads_fail() {
        let mut b = Vec::new();
        encode_frame(&all_messages()[3], &mut b).unwrap();
        for cut in 0..b.len() {
            let mut d = FrameDecoder::new();
            d.feed(&b[..cut]).unwrap();
            assert_eq!(d.next_message(), Ok(None), "cut at {cut}");
        }
        // a header that promises less than the message needs
        let mut short = b.clone();
        let len = (b.len() - HEADER_LEN - 5) as u32;
        short[4..8].copy_from_slice(&len.to_le_bytes());
        short.truncate(b.len() - 5);
        let mut d = FrameDecoder::new();
        d.feed(&short).unwrap();
        assert_eq!(d.next_message(), Err(FrameError::Payload("truncated")));
        // and one that promises more: the extra bytes are left over
        let mut long = b.clone();
        let len = (b.len() - HEADER_LEN + 2) as u32;
        long[4..8].copy_from_slice(&len.to_le_bytes());
        long.extend_from_slice(&[0, 0]);
        let mut d = FrameDecoder::new();
        d.feed(&long).unwrap();
        assert_eq!(d.next_message(), Err(FrameError::TrailingBytes(2)));
    }

    #[test]
    fn wrong_version_and_magic_are_refused() {
        let mut b = Vec::new();
        encode_frame(&Message::Keepalive, &mut b).unwrap();
        let mut v = b.clone();
        v[2..4].copy_from_slice(&(PROTOCOL_VERSION + 1).to_le_bytes());
        let mut d = FrameDecoder::new();
        assert_eq!(
            d.feed(&v[..4]),
            Err(FrameError::Version {
                got: PROTOCOL_VERSION + 1,
                want: PROTOCOL_VERSION
            })
        );
        let mut m = b.clone();
        m[0] = b'X';
        let mut d = FrameDecoder::new();
        assert_eq!(d.feed(&m[..1]), Ok(()));
        assert_eq!(d.feed(&m[1..]), Err(FrameError::BadMagic));
        // a good frame followed by a bad one: the good one still comes out
        let mut two = b.clone();
        two.extend_from_slice(&v);
        let mut d = FrameDecoder::new();
        d.feed(&two).unwrap();
        assert_eq!(d.next_message(), Ok(Some(Message::Keepalive)));
        assert!(matches!(d.next_message(), Err(FrameError::Version { .. })));
    }

    #[test]
    fn unknown_variant_is_refused() {
        let mut b = Vec::new();
        encode_frame(&Message::Keepalive, &mut b).unwrap();
        b[HEADER_LEN] = 200;
        let mut d = FrameDecoder::new();
        d.feed(&b).unwrap();
        assert!(matches!(d.next_message(), Err(FrameError::Payload(_))));
    }

    /// xorshift64*: deterministic, no dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    #[test]
    fn garbage_and_mutated_frames_never_panic() {
        let mut valid = Vec::new();
        for m in &all_messages() {
            encode_frame(m, &mut valid).unwrap();
        }
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..5000 {
            let mut bytes = if round % 2 == 0 {
                let n = (rng.next() % 512) as usize;
                let mut v: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                if round % 4 == 0 && v.len() >= 4 {
                    // past the magic and version checks, into the payload
                    v[..2].copy_from_slice(&MAGIC);
                    v[2..4].copy_from_slice(&PROTOCOL_VERSION.to_le_bytes());
                }
                v
            } else {
                valid.clone()
            };
            let flips = 1 + rng.next() % 8;
            for _ in 0..flips {
                let i = (rng.next() as usize) % bytes.len().max(1);
                if let Some(b) = bytes.get_mut(i) {
                    *b = rng.next() as u8;
                }
            }
            let chunk = 1 + (rng.next() % 100) as usize;
            let _ = decode_all_lenient(&bytes, chunk);
        }
    }

    fn decode_all_lenient(bytes: &[u8], chunk: usize) -> Result<usize, FrameError> {
        let mut d = FrameDecoder::new();
        let mut n = 0;
        for c in bytes.chunks(chunk) {
            d.feed(c)?;
            while d.next_message()?.is_some() {
                n += 1;
            }
        }
        Ok(n)
    }

    #[test]
    fn ip_addresses_use_the_compact_binary_form() {
        let v4: IpAddr = "10.0.0.1".parse().unwrap();
        let b = bincode::serde::encode_to_vec(v4, encode_config()).unwrap();
        assert_eq!(b, [0, 10, 0, 0, 1]);
    }
}
