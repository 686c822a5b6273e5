//! The capd → webd frame decoder (`common::ipc`) on arbitrary bytes, fed in
//! pieces as a socket would deliver them, through the update grammar and
//! into a replica, as webd's feed does. Input: one byte giving the piece
//! size, then the stream. Nothing may panic, and every message that decodes
//! must encode again to a frame that decodes to the same message.
#![no_main]

use common::ipc::{encode_frame, FrameDecoder, Replica, UpdateBuilder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&piece, stream)) = data.split_first() else {
        return;
    };
    let mut dec = FrameDecoder::new();
    let mut session = UpdateBuilder::new();
    let mut replica = Replica::new();
    for chunk in stream.chunks(usize::from(piece).max(1)) {
        if dec.feed(chunk).is_err() {
            return;
        }
        loop {
            let msg = match dec.next_message() {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(_) => return,
            };
            let mut again = Vec::new();
            encode_frame(&msg, &mut again).expect("a decoded message encodes");
            let mut check = FrameDecoder::new();
            check.feed(&again).expect("re-encoded header");
            let back = check.next_message().expect("re-encoded payload");
            assert_eq!(back.as_ref(), Some(&msg), "decode(encode(m)) != m");
            match session.push(msg) {
                Ok(Some(update)) => {
                    if replica.apply_owned(update).is_err() {
                        return;
                    }
                }
                Ok(None) => {}
                Err(_) => return,
            }
        }
    }
});
