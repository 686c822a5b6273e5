//! ipc: the one-way statistics channel from darkstat-capd to darkstat-webd.
//!
//! capd writes, webd reads; nothing ever travels the other way. The stream
//! is a sequence of frames (`frame`): an 8-byte header (magic, protocol
//! version, payload length) and a bincode payload holding one [`Message`]
//! (`message`). The payload length is checked against [`MAX_FRAME_LEN`]
//! before a byte of it is buffered, and every decode runs under a bincode
//! size limit, so a hostile or broken stream costs at most a bounded amount
//! of memory and never panics.
//!
//! What the messages mean is in `message`; `replica` turns them back into
//! the [`Snapshot`](crate::model::Snapshot) capd had at the same tick. All
//! of it is sans-IO: the caller moves the bytes. This module must never
//! carry free-form text that came off the wire of the captured network:
//! host records are numbers only.

mod frame;
mod message;
mod replica;

pub use frame::{
    encode_frame, encode_host_record, encode_host_view, EncodeError, FrameDecoder, FrameError,
    HostsFrameBuilder, DECODE_LIMIT, HEADER_LEN, HOSTS_BATCH_BYTES, MAGIC, MAX_FRAME_LEN,
};
pub use message::{Hello, HostRecord, Message, PortRows, Tick};
pub use replica::{Replica, ReplicaError, SessionError, Update, UpdateBuilder, MAX_UPDATE_ITEMS};

/// Version of the frame layout and of [`Message`]. Every frame header
/// carries it; a reader refuses any other value. Bump it on any change to
/// the messages (variants are appended, never reordered).
pub const PROTOCOL_VERSION: u16 = 1;
