//! The state file: everything the pages show, so that a restart, a reboot
//! or an upgrade loses nothing but the time the process was down.
//!
//! Layout (all integers little-endian):
//!
//! ```text
//! offset size
//!  0      8   magic "DSRSSTAT"
//!  8      4   format version (1)
//! 12      2   IPC protocol version of the payload's frames
//! 14      2   reserved (0)
//! 16      8   payload length
//! 24      4   CRC-32 (IEEE) of the payload
//! 28      4   reserved (0)
//! 32      …   payload: a full resync as capd publishes it to webd
//!             (common::ipc frames: Reset, Hosts…, Ports, Tick)
//! ```
//!
//! The payload is the publisher's resync stream, so the file is written by
//! the publisher's thread from its own copy of the statistics and the
//! capture thread never waits for a checkpoint. Writing goes to a
//! temporary file that is fsynced, renamed over the old one, and the
//! directory fsynced: a crash leaves the old file or the new one, never
//! half of either. Reading checks every field before trusting the next.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::ipc::{FrameDecoder, Hello, Replica, UpdateBuilder, PROTOCOL_VERSION};
use common::model::Snapshot;

pub const MAGIC: [u8; 8] = *b"DSRSSTAT";
/// Name of the state file in the state directory.
pub const FILE_NAME: &str = "darkstat-rs.state";
pub const FORMAT_VERSION: u32 = 1;
const HEADER: usize = 32;
/// A state file larger than this is refused rather than read into memory
/// (a million hosts with full port tables stay far below it).
pub const MAX_STATE_BYTES: u64 = 4 << 30;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: io::Error },
    #[error("not a darkstat-rs state file (bad magic)")]
    Magic,
    #[error("state file format version {0} is not known to this darkstat-rs (it reads version {FORMAT_VERSION})")]
    Version(u32),
    #[error(
        "state file written with IPC protocol {0}, this darkstat-rs speaks {PROTOCOL_VERSION}"
    )]
    Protocol(u16),
    #[error("state file truncated: {have} of {want} bytes")]
    Truncated { have: u64, want: u64 },
    #[error("state file too large ({0} bytes)")]
    TooLarge(u64),
    #[error("state file checksum mismatch (stored {stored:08x}, computed {computed:08x})")]
    Checksum { stored: u32, computed: u32 },
    #[error("state file payload is damaged: {0}")]
    Payload(String),
}

/// Wraps a resync stream into a complete state file image.
pub fn encode(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&PROTOCOL_VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Decodes a state file image into the statistics it holds.
pub fn decode(bytes: &[u8]) -> Result<Snapshot, StateError> {
    if bytes.len() < 8 || bytes[..8] != MAGIC {
        return Err(StateError::Magic);
    }
    if bytes.len() < HEADER {
        return Err(StateError::Truncated {
            have: bytes.len() as u64,
            want: HEADER as u64,
        });
    }
    let u32_at =
        |o: usize| u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
    let version = u32_at(8);
    if version != FORMAT_VERSION {
        return Err(StateError::Version(version));
    }
    let proto = u16::from_le_bytes([bytes[12], bytes[13]]);
    if proto != PROTOCOL_VERSION {
        return Err(StateError::Protocol(proto));
    }
    let mut len8 = [0u8; 8];
    len8.copy_from_slice(&bytes[16..24]);
    let len = u64::from_le_bytes(len8);
    let have = (bytes.len() - HEADER) as u64;
    if len != have {
        return Err(StateError::Truncated { have, want: len });
    }
    let payload = &bytes[HEADER..];
    let stored = u32_at(24);
    let computed = crc32fast::hash(payload);
    if stored != computed {
        return Err(StateError::Checksum { stored, computed });
    }
    let bad = |e: &dyn std::fmt::Display| StateError::Payload(e.to_string());
    let mut frames = FrameDecoder::new();
    frames.feed(payload).map_err(|e| bad(&e))?;
    let mut updates = UpdateBuilder::new();
    updates
        .push(common::ipc::Message::Hello(Hello {
            protocol_version: PROTOCOL_VERSION,
            pid: 0,
            session: 0,
        }))
        .map_err(|e| bad(&e))?;
    let mut replica = Replica::new();
    let mut complete = false;
    while let Some(msg) = frames.next_message().map_err(|e| bad(&e))? {
        if complete {
            return Err(StateError::Payload("data after the complete update".into()));
        }
        if let Some(u) = updates.push(msg).map_err(|e| bad(&e))? {
            if !u.reset {
                return Err(StateError::Payload(
                    "the update is not a full resync".into(),
                ));
            }
            replica.apply_owned(u).map_err(|e| bad(&e))?;
            complete = true;
        }
    }
    if !complete {
        return Err(StateError::Payload("no complete update in the file".into()));
    }
    Ok(Arc::unwrap_or_clone(Arc::clone(replica.snapshot())))
}

/// Reads the state file at `path`; `Ok(None)` when there is none.
pub fn load(path: &Path) -> Result<Option<Snapshot>, StateError> {
    let read_err = |source| StateError::Read {
        path: path.display().to_string(),
        source,
    };
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(read_err(e)),
    };
    let size = f.metadata().map_err(read_err)?.len();
    if size > MAX_STATE_BYTES {
        return Err(StateError::TooLarge(size));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    f.read_to_end(&mut bytes).map_err(read_err)?;
    decode(&bytes).map(Some)
}

/// Moves a state file that could not be read out of the way (never
/// deleting it) and returns its new name.
pub fn set_aside(path: &Path, now: u64) -> io::Result<PathBuf> {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".corrupt-{now}"));
    let aside = PathBuf::from(name);
    fs::rename(path, &aside)?;
    Ok(aside)
}

/// Writes `image` to `path` atomically and durably.
pub fn write_atomic(path: &Path, image: &[u8]) -> Result<(), StateError> {
    let write_err = |source| StateError::Write {
        path: path.display().to_string(),
        source,
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)?;
        f.write_all(image)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if let Err(e) = result {
        // a full disk: keep the old file, drop the partial new one
        let _ = fs::remove_file(&tmp);
        return Err(write_err(e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_errors_are_named() {
        assert!(matches!(decode(b"hello"), Err(StateError::Magic)));
        let img = encode(b"");
        assert!(matches!(
            decode(&img[..20]),
            Err(StateError::Truncated { .. })
        ));
        let mut v = img.clone();
        v[8] = 9;
        assert!(matches!(decode(&v), Err(StateError::Version(9))));
        let mut v = encode(b"abcd");
        *v.last_mut().unwrap() ^= 1;
        assert!(matches!(decode(&v), Err(StateError::Checksum { .. })));
        let v = encode(b"abcd");
        assert!(matches!(
            decode(&v[..v.len() - 1]),
            Err(StateError::Truncated { .. })
        ));
        assert!(matches!(decode(&encode(b"")), Err(StateError::Payload(_))));
        assert!(matches!(
            decode(&encode(b"not frames at all")),
            Err(StateError::Payload(_))
        ));
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("capd-state-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("darkstat-rs.state");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert!(!dir.join("darkstat-rs.state.tmp").exists());
        let aside = set_aside(&p, 7).unwrap();
        assert!(aside.ends_with("darkstat-rs.state.corrupt-7"));
        assert!(!p.exists());
        assert!(load(&p).unwrap().is_none());
    }
}
