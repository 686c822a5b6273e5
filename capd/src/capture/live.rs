//! Live capture through libpcap: open (before privileges are dropped),
//! read in batches without blocking, and keep the kernel's counters.

use std::os::fd::{AsRawFd, RawFd};

use common::model::{CaptureCounts, InterfaceStats};
use pcap::{Active, Capture};

use super::filter::link_type_name;
use crate::account::{Accounts, Pipeline};
use crate::decode::{self, Decoded, LinkType};

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("cannot capture on {iface}: {source}")]
    Open { iface: String, source: pcap::Error },
    #[error("cannot capture on {iface}: unsupported link type {dlt} ({name})")]
    LinkType {
        iface: String,
        dlt: u32,
        name: String,
    },
    #[error("invalid filter {filter:?} on {iface}: {source}")]
    Filter {
        iface: String,
        filter: String,
        source: pcap::Error,
    },
    #[error("cannot lock the socket filter on {iface}: {source}")]
    Lock {
        iface: String,
        source: std::io::Error,
    },
    #[error("capture on {iface} failed: {source}")]
    Read { iface: String, source: pcap::Error },
}

#[derive(Clone, Debug)]
pub struct LiveOptions {
    pub promisc: bool,
    /// Bytes captured per packet; `None` computes it from the link type.
    pub snaplen: Option<u32>,
    pub filter: Option<String>,
}

/// Bytes per packet that cover every header `counting.md` reads in
/// practice: the link header with VLAN tags and PPPoE, an IPv6 header
/// with up to 256 bytes of extension headers (IPv4 with options is
/// shorter), and the TCP flags.
pub fn default_snaplen(link: LinkType) -> u32 {
    (link.header_len() + 40 + 256 + 14) as u32
}

/// The kernel's counters are 32-bit and wrap on a busy link; this keeps
/// 64-bit totals from their differences.
#[derive(Clone, Copy, Debug, Default)]
struct Wrapping {
    last: [u32; 3],
    total: [u64; 3],
}

impl Wrapping {
    fn update(&mut self, now: [u32; 3]) {
        for ((total, last), now) in self.total.iter_mut().zip(&mut self.last).zip(now) {
            *total += u64::from(now.wrapping_sub(*last));
            *last = now;
        }
    }
}

pub struct LiveCapture {
    name: String,
    cap: Capture<Active>,
    dlt: u32,
    link: LinkType,
    counts: Wrapping,
}

impl LiveCapture {
    /// libpcap's read timeout: how long a partly filled kernel buffer
    /// block may wait before it is handed over.
    pub const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(100);

    /// Opens, activates and filters the capture. Needs CAP_NET_RAW: call
    /// before privileges are dropped.
    pub fn open(iface: &str, opts: &LiveOptions) -> Result<Self, LiveError> {
        let open_err = |source| LiveError::Open {
            iface: iface.to_owned(),
            source,
        };
        // Open once to learn the link type, so the snaplen can fit it.
        let inactive = Capture::from_device(iface).map_err(open_err)?;
        let snaplen = opts.snaplen.unwrap_or(default_snaplen(LinkType::Ethernet));
        let cap = inactive
            .promisc(opts.promisc)
            .snaplen(i32::try_from(snaplen).unwrap_or(i32::MAX))
            .immediate_mode(false)
            .timeout(Self::READ_TIMEOUT.as_millis() as i32)
            .buffer_size(8 << 20)
            .open()
            .map_err(open_err)?;
        let dlt = cap.get_datalink().0 as u32;
        let link = LinkType::from_dlt(dlt).ok_or_else(|| LiveError::LinkType {
            iface: iface.to_owned(),
            dlt,
            name: link_type_name(dlt),
        })?;
        let mut cap = cap.setnonblock().map_err(open_err)?;
        if let Some(f) = &opts.filter {
            cap.filter(f, true).map_err(|source| LiveError::Filter {
                iface: iface.to_owned(),
                filter: f.clone(),
                source,
            })?;
        }
        lock_filter(cap.as_raw_fd()).map_err(|source| LiveError::Lock {
            iface: iface.to_owned(),
            source,
        })?;
        Ok(LiveCapture {
            name: iface.to_owned(),
            cap,
            dlt,
            link,
            counts: Wrapping::default(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The capture socket (for poll, and for the sandbox tests).
    pub fn fd(&self) -> RawFd {
        self.cap.as_raw_fd()
    }

    /// Accounts the packets waiting in the capture buffer (at most `max`);
    /// returns how many there were. Never blocks.
    pub fn dispatch(&mut self, acct: &mut Accounts, max: usize) -> Result<usize, LiveError> {
        let link = self.link;
        // the same prefetch pipeline as for files; flushed before returning,
        // so that a tick sees every packet of the batch counted
        let mut pipe = Pipeline::default();
        let (mut global, mut hosts) = acct.split();
        let n = self.cap.dispatch(Some(max), |p| {
            let ts = u64::try_from(p.header.ts.tv_sec).unwrap_or(0);
            let d = decode::frame(link, p.data, p.header.len);
            global.count(&d, ts, p.header.len);
            if let Decoded::Ip(s) = d {
                pipe.push(&mut hosts, s, ts);
            }
        });
        pipe.flush(&mut hosts);
        n.map_err(|source| LiveError::Read {
            iface: self.name.clone(),
            source,
        })
    }

    /// Received / dropped / interface-dropped since the start.
    pub fn stats(&mut self) -> Result<InterfaceStats, LiveError> {
        let s = self.cap.stats().map_err(|source| LiveError::Read {
            iface: self.name.clone(),
            source,
        })?;
        self.counts.update([s.received, s.dropped, s.if_dropped]);
        let [received, dropped, if_dropped] = self.counts.total;
        Ok(InterfaceStats {
            name: self.name.clone(),
            linktype: self.dlt,
            capture: CaptureCounts {
                received,
                dropped,
                if_dropped,
            },
        })
    }
}

/// SO_LOCK_FILTER: from now on the socket filter (the -f expression, or
/// none) cannot be replaced or removed, even by a compromised capd.
fn lock_filter(fd: RawFd) -> std::io::Result<()> {
    let one: libc::c_int = 1;
    // SAFETY: `fd` is the capture's open socket; `one` lives across the
    // call and the length passed is its exact size.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_LOCK_FILTER,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_survive_32_bit_wrap() {
        let mut w = Wrapping::default();
        w.update([u32::MAX - 5, 1, 0]);
        w.update([10, 1, 2]);
        assert_eq!(w.total, [u64::from(u32::MAX) + 11, 1, 2]);
    }

    #[test]
    fn snaplen_covers_link_ip_extensions_and_tcp_flags() {
        assert!(default_snaplen(LinkType::Ethernet) >= 14 + 8 + 8 + 40 + 14);
        assert!(default_snaplen(LinkType::Raw) >= 40 + 14);
    }
}
