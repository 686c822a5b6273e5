//! `--dump-json`: the statistics document written to a file or stdout.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::account::SnapshotView;

#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error("cannot write {path}: {source}")]
    Io { path: String, source: io::Error },
}

/// Writes `snap` to `path`, or to standard output for "-". A file is written
/// beside its final name and renamed over it, so a reader never sees half a
/// document. A path that is not a regular file (`/dev/null`, a FIFO) is
/// written in place.
pub fn write(path: &Path, snap: &SnapshotView<'_>) -> Result<(), DumpError> {
    let io_err = |source| DumpError::Io {
        path: path.display().to_string(),
        source,
    };
    if path.as_os_str() == "-" {
        return document(io::stdout().lock(), snap)
            .map(drop)
            .map_err(io_err);
    }
    if fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        // a device or a pipe (/dev/null, a FIFO): write straight into it
        let f = fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(io_err)?;
        return document(f, snap).map(drop).map_err(io_err);
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = Path::new(&tmp);
    let f = fs::File::create(tmp).map_err(io_err)?;
    let f = document(f, snap).map_err(io_err)?;
    f.sync_all().map_err(io_err)?;
    fs::rename(tmp, path).map_err(io_err)
}

/// The document and a newline, through a buffer; returns `out` flushed.
fn document<W: Write>(out: W, snap: &SnapshotView<'_>) -> io::Result<W> {
    let mut w = BufWriter::with_capacity(1 << 16, out);
    snap.write_json(&mut w)?;
    w.write_all(b"\n")?;
    w.into_inner().map_err(|e| e.into_error())
}
