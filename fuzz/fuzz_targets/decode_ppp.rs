//! `decode::frame` on link type `LinkType::Ppp`: input = mode byte, u32
//! wire-length value, frame (see `capd_fuzz::checks::split_frame_input`).
#![no_main]

use capd::decode::LinkType;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    capd_fuzz::checks::fuzz_frame(LinkType::Ppp, data);
});
