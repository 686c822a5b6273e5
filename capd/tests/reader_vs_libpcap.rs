//! Our capture-file reader against libpcap's: on every corpus capture libpcap
//! opens, both must give the same records (seconds, wire length, captured
//! bytes) in the same order, and stop at the same place. capd reads files
//! itself only because libpcap stops at a pcapng interface whose link type
//! differs from the first (`capture/file.rs`): there, and only in pcapng
//! files, ours may read on.

use std::fs::File;
use std::path::Path;

use capd::capture::file::CaptureReader;

mod support;

/// (seconds, wire length, captured bytes) of each record read, and whether
/// reading went to the end without an error.
type Records = (Vec<(u64, u32, Vec<u8>)>, bool);

/// What libpcap reads; `None` if it does not open the file at all.
fn libpcap(path: &Path) -> Option<Records> {
    let mut cap = pcap::Capture::from_file(path).ok()?;
    let mut out = Vec::new();
    loop {
        match cap.next_packet() {
            // pcap's seconds field is unsigned 32-bit (the IETF pcap
            // draft); libpcap sign-extends it, we do not (one fuzzed
            // corpus file has a second past 2038)
            Ok(p) => out.push((
                u64::from(p.header.ts.tv_sec as u32),
                p.header.len,
                p.data.to_vec(),
            )),
            Err(pcap::Error::NoMorePackets) => return Some((out, true)),
            Err(_) => return Some((out, false)),
        }
    }
}

/// The same from our reader, and whether the file is pcapng; `Err` if it
/// refuses the file.
fn ours(path: &Path) -> Result<(Records, bool), String> {
    let mut r = CaptureReader::open(File::open(path).unwrap()).map_err(|e| e.to_string())?;
    let pcapng = r.is_pcapng();
    let mut out = Vec::new();
    loop {
        match r.next_record() {
            Ok(Some(rec)) => out.push((rec.ts, rec.wire_len, rec.data.to_vec())),
            Ok(None) => return Ok(((out, true), pcapng)),
            Err(stop) if stop.refuse => return Err(stop.to_string()),
            Err(_) => return Ok(((out, false), pcapng)),
        }
    }
}

#[test]
fn records_are_the_ones_libpcap_reads() {
    let files = support::corpus::all();
    let (mut compared, mut failures) = (0, Vec::new());
    for file in &files {
        let Some((want, want_end)) = libpcap(file) else {
            continue;
        };
        let name = file.file_name().unwrap().to_string_lossy();
        let ((got, got_end), pcapng) = match ours(file) {
            Ok(g) => g,
            Err(e) => {
                failures.push(format!("{name}: libpcap reads it, we refuse it: {e}"));
                continue;
            }
        };
        compared += 1;
        // The same records, to the same end; except that where libpcap
        // stops early in a pcapng file (at an interface of another link
        // type: the reason we read files ourselves), we read on.
        let n = want.len();
        let read_on = pcapng && !want_end && got.len() >= n;
        if !read_on && (got.len() != n || got_end != want_end) {
            failures.push(format!(
                "{name}: libpcap {n} records (to the end: {want_end}), we {} (to the end: {got_end})",
                got.len()
            ));
            continue;
        }
        if let Some(i) = (0..n).find(|&i| got[i] != want[i]) {
            let (w, g) = (&want[i], &got[i]);
            failures.push(format!(
                "{name}: record {i}: libpcap ({}, {}, {} bytes), we ({}, {}, {} bytes)",
                w.0,
                w.1,
                w.2.len(),
                g.0,
                g.1,
                g.2.len()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(compared > 250, "only {compared} captures compared");
}
