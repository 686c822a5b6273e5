use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;
use crate::dns::fake_server::{flags, ptr_rr, qname_wire, response, wire_name, Rr, QPTR};

const ID: u16 = 0x4d2e;

fn qname() -> WireName {
    WireName::reverse(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)))
}

fn q() -> Vec<u8> {
    qname_wire(&qname())
}

fn ptr_to(labels: &[&[u8]], ttl: u32) -> Vec<u8> {
    response(
        ID,
        flags(0),
        Some(&q()),
        &[ptr_rr(QPTR.to_vec(), wire_name(labels), ttl)],
    )
}

fn ptr_labels(a: Answer) -> (Vec<Vec<u8>>, u32) {
    match a {
        Answer::Ptr { name, ttl } => (name.labels().map(<[u8]>::to_vec).collect(), ttl),
        other => panic!("expected a PTR, got {other:?}"),
    }
}

#[test]
fn reverse_names() {
    let text = |ip: IpAddr| {
        let n = WireName::reverse(ip);
        let l: Vec<String> = n
            .labels()
            .map(|l| String::from_utf8(l.to_vec()).unwrap())
            .collect();
        l.join(".")
    };
    assert_eq!(
        text(Ipv4Addr::new(192, 0, 2, 7).into()),
        "7.2.0.192.in-addr.arpa"
    );
    assert_eq!(
        text(Ipv4Addr::new(10, 200, 0, 255).into()),
        "255.0.200.10.in-addr.arpa"
    );
    let v6: Ipv6Addr = "2001:db8::567:89ab".parse().unwrap();
    assert_eq!(
        text(v6.into()),
        "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
    );
    let mapped: Ipv6Addr = "::ffff:198.51.100.4".parse().unwrap();
    assert_eq!(text(mapped.into()), "4.100.51.198.in-addr.arpa");
}

#[test]
fn query_layout() {
    let m = build_query(0xbeef, &qname());
    assert_eq!(&m[..12], &[0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    assert_eq!(&m[12..m.len() - 4], q().as_slice());
    assert_eq!(&m[m.len() - 4..], &[0, 12, 0, 1]);
}

#[test]
fn simple_ptr() {
    let m = ptr_to(&[b"Host", b"example"], 3600);
    let (labels, ttl) = ptr_labels(parse_answer(&m, ID, &qname()).unwrap());
    assert_eq!(labels, vec![b"Host".to_vec(), b"example".to_vec()]);
    assert_eq!(ttl, 3600);
}

#[test]
fn hostile_bytes_pass_the_parser_unjudged() {
    let m = ptr_to(
        &[b"<img src=x onerror=alert(1)>", b"a.b", b"\x1b[31m\0\n"],
        60,
    );
    let (labels, _) = ptr_labels(parse_answer(&m, ID, &qname()).unwrap());
    assert_eq!(labels.len(), 3, "a dot inside a label does not split it");
    assert_eq!(labels[0], b"<img src=x onerror=alert(1)>");
    assert_eq!(labels[1], b"a.b");
    assert_eq!(labels[2], b"\x1b[31m\0\n");
}

#[test]
fn uncompressed_owner_and_mixed_case_question() {
    let upper = q().to_ascii_uppercase();
    let rr = ptr_rr(upper.clone(), wire_name(&[b"h", b"example"]), 5);
    let m = response(ID, flags(0), Some(&upper), &[rr]);
    assert_eq!(ptr_labels(parse_answer(&m, ID, &qname()).unwrap()).1, 5);
}

#[test]
fn ttl_with_top_bit_reads_as_zero() {
    let m = ptr_to(&[b"h", b"example"], 0x8000_0001);
    assert_eq!(ptr_labels(parse_answer(&m, ID, &qname()).unwrap()).1, 0);
}

#[test]
fn not_ours_is_a_mismatch() {
    let m = ptr_to(&[b"h", b"example"], 60);
    assert_eq!(parse_answer(&m, ID ^ 1, &qname()), Err(WireError::Mismatch));
    let mut query_not_response = m.clone();
    query_not_response[2] &= 0x7f;
    assert_eq!(
        parse_answer(&query_not_response, ID, &qname()),
        Err(WireError::Mismatch)
    );
    let other = WireName::reverse(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 8)));
    assert_eq!(parse_answer(&m, ID, &other), Err(WireError::Mismatch));
    let mut a_query = m.clone();
    let t = 12 + q().len();
    a_query[t + 1] = 1; // QTYPE A
    assert_eq!(
        parse_answer(&a_query, ID, &qname()),
        Err(WireError::Mismatch)
    );
    assert_eq!(
        parse_answer(&m[..3], ID, &qname()),
        Err(WireError::Mismatch)
    );
    assert_eq!(parse_answer(&[], ID, &qname()), Err(WireError::Mismatch));
}

#[test]
fn response_codes() {
    let nx = response(ID, flags(3), Some(&q()), &[]);
    assert_eq!(parse_answer(&nx, ID, &qname()), Ok(Answer::NxDomain));
    let servfail = response(ID, flags(2), Some(&q()), &[]);
    assert_eq!(
        parse_answer(&servfail, ID, &qname()),
        Ok(Answer::ServerError(2))
    );
    let refused_bare = response(ID, flags(5), None, &[]);
    assert_eq!(
        parse_answer(&refused_bare, ID, &qname()),
        Ok(Answer::ServerError(5))
    );
    // A negative answer gets cached, so it must name the question.
    let nx_bare = response(ID, flags(3), None, &[]);
    assert!(matches!(
        parse_answer(&nx_bare, ID, &qname()),
        Err(WireError::Malformed(_))
    ));
    let ok_bare = response(ID, flags(0), None, &[]);
    assert!(matches!(
        parse_answer(&ok_bare, ID, &qname()),
        Err(WireError::Malformed(_))
    ));
    let mut update = response(ID, flags(0), Some(&q()), &[]);
    update[2] |= 5 << 3; // opcode UPDATE
    assert!(matches!(
        parse_answer(&update, ID, &qname()),
        Err(WireError::Malformed(_))
    ));
}

#[test]
fn truncated_flag() {
    let mut m = ptr_to(&[b"h", b"example"], 60);
    m[2] |= 0x02;
    assert_eq!(parse_answer(&m, ID, &qname()), Ok(Answer::Truncated));
}

#[test]
fn no_data() {
    let empty = response(ID, flags(0), Some(&q()), &[]);
    assert_eq!(parse_answer(&empty, ID, &qname()), Ok(Answer::NoData));
    let other_owner = wire_name(&[b"8", b"2", b"0", b"192", b"in-addr", b"arpa"]);
    let rr = ptr_rr(other_owner, wire_name(&[b"h", b"example"]), 60);
    let m = response(ID, flags(0), Some(&q()), &[rr]);
    assert_eq!(parse_answer(&m, ID, &qname()), Ok(Answer::NoData));
    let chaos = Rr {
        owner: QPTR.to_vec(),
        rtype: TYPE_PTR,
        class: 3,
        ttl: 60,
        rdata: wire_name(&[b"h", b"example"]),
    };
    let m = response(ID, flags(0), Some(&q()), &[chaos]);
    assert_eq!(parse_answer(&m, ID, &qname()), Ok(Answer::NoData));
}

#[test]
fn other_records_are_skipped_and_the_first_ptr_wins() {
    let a = Rr {
        owner: QPTR.to_vec(),
        rtype: 1,
        class: CLASS_IN,
        ttl: 60,
        rdata: vec![192, 0, 2, 1],
    };
    let p1 = ptr_rr(QPTR.to_vec(), wire_name(&[b"first", b"example"]), 60);
    let p2 = ptr_rr(QPTR.to_vec(), wire_name(&[b"second", b"example"]), 60);
    let m = response(ID, flags(0), Some(&q()), &[a, p1, p2]);
    assert_eq!(
        ptr_labels(parse_answer(&m, ID, &qname()).unwrap()).0[0],
        b"first"
    );
}

#[test]
fn cname_chain_takes_the_smallest_ttl() {
    let alias = wire_name(&[b"7", b"0/25", b"2", b"0", b"192", b"in-addr", b"arpa"]);
    let cname = Rr {
        owner: QPTR.to_vec(),
        rtype: TYPE_CNAME,
        class: CLASS_IN,
        ttl: 300,
        rdata: alias.clone(),
    };
    let ptr = ptr_rr(alias, wire_name(&[b"h", b"example"]), 7200);
    let m = response(ID, flags(0), Some(&q()), &[cname, ptr]);
    let (labels, ttl) = ptr_labels(parse_answer(&m, ID, &qname()).unwrap());
    assert_eq!(labels[0], b"h");
    assert_eq!(ttl, 300);
}

#[test]
fn cname_loops_end() {
    let b = wire_name(&[b"b", b"example"]);
    let to_b = Rr {
        owner: QPTR.to_vec(),
        rtype: TYPE_CNAME,
        class: CLASS_IN,
        ttl: 60,
        rdata: b.clone(),
    };
    let b_to_q = Rr {
        owner: b,
        rtype: TYPE_CNAME,
        class: CLASS_IN,
        ttl: 60,
        rdata: q(),
    };
    let m = response(ID, flags(0), Some(&q()), &[to_b, b_to_q]);
    assert_eq!(parse_answer(&m, ID, &qname()), Ok(Answer::NoData));
}

#[test]
fn compressed_target_pointing_into_the_question() {
    // "host" + pointer to "in-addr.arpa" inside the question.
    let qn = q();
    let in_addr = 12 + qn.iter().position(|&b| b == 7).unwrap();
    let mut target = vec![4];
    target.extend_from_slice(b"host");
    target.extend_from_slice(&[0xc0, in_addr as u8]);
    let m = response(
        ID,
        flags(0),
        Some(&qn),
        &[ptr_rr(QPTR.to_vec(), target, 60)],
    );
    let (labels, _) = ptr_labels(parse_answer(&m, ID, &qname()).unwrap());
    let want: Vec<Vec<u8>> = vec![b"host".to_vec(), b"in-addr".to_vec(), b"arpa".to_vec()];
    assert_eq!(labels, want);
}

fn malformed(m: &[u8]) {
    match parse_answer(m, ID, &qname()) {
        Err(WireError::Malformed(_)) => {}
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn pointer_loops_and_forward_pointers() {
    let base = response(ID, flags(0), Some(&q()), &[]);
    let owner_at = base.len();
    let rr = |rdata: Vec<u8>| {
        let mut m = base.clone();
        m[7] = 1; // ANCOUNT
        m.extend_from_slice(&QPTR);
        m.extend_from_slice(&[0, 12, 0, 1, 0, 0, 0, 60]);
        m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        m.extend_from_slice(&rdata);
        m
    };
    let rdata_at = owner_at + 12;
    // Points at itself.
    malformed(&rr(vec![0xc0 | (rdata_at >> 8) as u8, rdata_at as u8]));
    // Label then a pointer back to that label: a loop.
    malformed(&rr(vec![
        1,
        b'a',
        0xc0 | (rdata_at >> 8) as u8,
        rdata_at as u8,
    ]));
    // Forward pointer.
    malformed(&rr(vec![0xc0, 0xff]));
    // Into the header.
    malformed(&rr(vec![0xc0, 2]));
    // Extended label types 0x40 and 0x80.
    malformed(&rr(vec![0x41, b'a', 0]));
    malformed(&rr(vec![0x81, b'a', 0]));
    // A pointer cut short by the end of the message.
    malformed(&rr(vec![1, b'a', 0xc0]));
}

#[test]
fn two_pointer_hops_that_go_backwards_are_fine() {
    // rdata: "x" + pointer to the owner of a previous PTR target, which
    // itself ends in a pointer into the question.
    let qn = q();
    let arpa = 12 + qn.len() - 6; // "\x04arpa\0"
    let first_target = vec![4, b'z', b'o', b'n', b'e', 0xc0, arpa as u8];
    let base = response(
        ID,
        flags(0),
        Some(&qn),
        &[ptr_rr(QPTR.to_vec(), first_target, 60)],
    );
    let first_target_at = base.len() - 7;
    let second = [vec![1, b'x'], vec![0xc0, first_target_at as u8]].concat();
    let m = response(
        ID,
        flags(0),
        Some(&qn),
        &[
            ptr_rr(
                QPTR.to_vec(),
                vec![4, b'z', b'o', b'n', b'e', 0xc0, arpa as u8],
                60,
            ),
            ptr_rr(vec![0xc0, first_target_at as u8], second, 60),
        ],
    );
    // Both parse; the first PTR is the one for the question.
    let (labels, _) = ptr_labels(parse_answer(&m, ID, &qname()).unwrap());
    assert_eq!(labels, vec![b"zone".to_vec(), b"arpa".to_vec()]);
}

#[test]
fn names_over_255_bytes() {
    let l63 = [b'a'; 63];
    // 4 * 64 + 1 = 257 bytes.
    let long = wire_name(&[&l63, &l63, &l63, &l63]);
    malformed(&ptr_to_raw(long));
    // 3 * 64 + 62 + 1 = 255: the longest legal name.
    let l61 = [b'a'; 61];
    let ok = wire_name(&[&l63, &l63, &l63, &l61]);
    assert_eq!(ok.len(), 255);
    assert!(parse_answer(&ptr_to_raw(ok), ID, &qname()).is_ok());
}

fn ptr_to_raw(target: Vec<u8>) -> Vec<u8> {
    response(
        ID,
        flags(0),
        Some(&q()),
        &[ptr_rr(QPTR.to_vec(), target, 60)],
    )
}

#[test]
fn record_data_length_must_match() {
    let mut m = ptr_to(&[b"h", b"example"], 60);
    // RDLENGTH is the two bytes before the rdata (11 bytes at the end).
    let rdlen_at = m.len() - 11 - 2;
    m[rdlen_at + 1] += 1;
    malformed(&m);
    m[rdlen_at + 1] -= 2;
    malformed(&m);
    m[rdlen_at] = 0xff;
    malformed(&m);
}

#[test]
fn every_prefix_of_an_answer_is_refused_without_panic() {
    let alias = wire_name(&[b"7", b"0/25", b"2", b"0", b"192", b"in-addr", b"arpa"]);
    let cname = Rr {
        owner: QPTR.to_vec(),
        rtype: TYPE_CNAME,
        class: CLASS_IN,
        ttl: 300,
        rdata: alias.clone(),
    };
    let m = response(
        ID,
        flags(0),
        Some(&q()),
        &[cname, ptr_rr(alias, wire_name(&[b"h", b"example"]), 60)],
    );
    assert!(parse_answer(&m, ID, &qname()).is_ok());
    for n in 0..m.len() {
        assert!(parse_answer(&m[..n], ID, &qname()).is_err(), "prefix {n}");
    }
}

#[test]
fn random_mutations_never_panic() {
    let base = ptr_to(&[b"host", b"example"], 60);
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..50_000 {
        let mut m = base.clone();
        for _ in 0..(next() % 6 + 1) {
            let r = next();
            let i = (r as usize >> 8) % m.len();
            match r % 4 {
                0 => m[i] = (r as u8) >> 1,
                1 => m[i] = 0xc0 | ((r >> 16) as u8 & 0x3f),
                2 => m.truncate(i + 1),
                _ => m.insert(i, (r >> 24) as u8),
            }
        }
        if let Ok(Answer::Ptr { name, .. }) = parse_answer(&m, ID, &qname()) {
            assert!(name.labels().map(|l| l.len() + 1).sum::<usize>() < MAX_WIRE_NAME);
        }
    }
}
