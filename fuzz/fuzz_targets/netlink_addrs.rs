//! capd's rtnetlink address reader (`capd::localaddrs`): the message
//! iterator and the address table, on arbitrary datagrams. Input: one
//! byte of options (bit 0: the `any` scope, else interfaces 1 and 2; bit
//! 1: a dump with sequence 1 from port 0x1234 is running), one byte of
//! datagram size (0 = one datagram), then the bytes. Nothing may panic;
//! the iterator must advance; the table's addresses stay sorted and
//! distinct.
#![no_main]

use capd::localaddrs::netlink::{messages, Body, NLMSG_HDRLEN};
use capd::localaddrs::table::{AddrTable, Scope};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [opts, size, bytes @ ..] = data else {
        return;
    };
    let scope = if opts & 1 != 0 {
        Scope::All
    } else {
        Scope::Indexes(vec![1, 2])
    };
    let mut table = AddrTable::new(scope);
    if opts & 2 != 0 {
        table.begin_dump(1, 0x1234);
    }
    let size = if *size == 0 {
        bytes.len().max(1)
    } else {
        usize::from(*size)
    };
    for datagram in bytes.chunks(size) {
        let mut n = 0;
        for m in messages(datagram) {
            n += 1;
            if let Ok((h, body)) = m {
                assert!(h.len as usize >= NLMSG_HDRLEN && h.len as usize <= datagram.len());
                if let Body::NewAddr(a) | Body::DelAddr(a) = body {
                    let _ = a.addr;
                }
            }
        }
        // every message but an error that ends the datagram takes at
        // least a header's worth of bytes
        assert!(n <= datagram.len() / NLMSG_HDRLEN + 1, "{n} messages");
        let before = table.addresses();
        let h = table.handle(datagram, &mut |_: &str| {});
        let after = table.addresses();
        assert!(after.windows(2).all(|w| w[0] < w[1]), "sorted, distinct");
        if !h.changed {
            assert_eq!(before, after, "unchanged without a change reported");
        }
        if h.dump.is_some() {
            assert!(!table.dumping());
        }
    }
});
