//! `webd::dns::wire::parse_answer` on an arbitrary datagram, as the answer
//! to the PTR query for 192.0.2.7 (the expected ID is taken from the input
//! so the header check does not stop the fuzzer), then the name check on
//! whatever PTR target comes out: nothing may panic, and a name that passes
//! must be lowercase LDH of at most 253 bytes.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use libfuzzer_sys::fuzz_target;
use webd::dns::wire::{parse_answer, Answer, WireName, MAX_WIRE_NAME};
use webd::dns::{validate_labels, MAX_NAME_LEN};

fuzz_target!(|data: &[u8]| {
    let qname = WireName::reverse(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)));
    let id = match data {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    };
    if let Ok(Answer::Ptr { name, ttl }) = parse_answer(data, id, &qname) {
        assert!(ttl <= i32::MAX as u32);
        let wire: usize = name.labels().map(|l| l.len() + 1).sum();
        assert!(wire < MAX_WIRE_NAME);
        assert!(name.labels().all(|l| !l.is_empty() && l.len() <= 63));
        if let Ok(shown) = validate_labels(name.labels()) {
            assert!(shown.len() <= MAX_NAME_LEN);
            assert!(shown
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-'));
        }
    }
});
