//! `CaptureReader` on arbitrary bytes as a capture file: open, read every
//! record (each decoded and checked), and read again in small chunks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    capd_fuzz::checks::fuzz_capture(data);
});
