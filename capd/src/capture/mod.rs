//! capture: where frames come from. `file` reads pcap and pcapng capture
//! files itself (see its docs for why not libpcap); `filter` compiles BPF
//! filters with libpcap and applies them to file records.

pub mod file;
pub mod filter;
pub mod live;

/// One captured frame, borrowed from the reader's buffer until the next
/// call.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    /// Interface index (pcapng); 0 for classic pcap.
    pub iface: u32,
    /// The interface's pcap link-type number.
    pub dlt: u32,
    /// Capture time, Unix seconds.
    pub ts: u64,
    /// Length of the frame on the wire.
    pub wire_len: u32,
    /// The captured bytes.
    pub data: &'a [u8],
}
