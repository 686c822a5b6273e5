//! Fuzz reproducers and hand-made hostile inputs for webd's parsers of
//! request input, checked exactly as the `web_query` fuzz target checks
//! them (`fuzz/src/web.rs`, included below).
//!
//! Every file `webd/tests/regressions/web_query-<name>.bin` is run through
//! `fuzz_web`. The directory may hold no reproducer; the hand-made inputs
//! below keep the test meaningful.

#[allow(dead_code)]
#[path = "../../fuzz/src/web.rs"]
mod web;

use std::path::Path;

use web::{check_query, fuzz_web, model_if_none_match, model_query};

#[test]
fn saved_reproducers() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let ran = testkit::reproducers::run_saved(&dir, |target, data| {
        assert_eq!(
            target, "web_query",
            "reproducer names are web_query-<name>.bin"
        );
        fuzz_web(data);
    });
    // four are committed: a missing directory must not pass silently
    assert!(ran >= 4, "only {ran} reproducers in {}", dir.display());
}

#[test]
fn hostile_queries() {
    for q in [
        "",
        "&&&=&=&==",
        "sort=in&start=18446744073709551615&full=no&q=10.0.0.0%2F8&refresh=86400",
        "start=18446744073709551616",
        "q=%3Cscript%3Ealert(1)%3C%2Fscript%3E&sort=%3Cb%3E",
        "sort=%E2%80%AE%00%01%7F&full=%C2%85",
        "q=+++&q=x",
        "q=::ffff:10.0.0.1",
        "q=%F0%9F%98%80%F0%9F%98%80",
        "proto=udp&sort=port&full=1&refresh=0",
        "%",
        "a=%4",
        "a=%C3",
        "a=%C3%28",
    ] {
        fuzz_web(q.as_bytes());
    }
    fuzz_web(&vec![b'a'; 3000]);
    fuzz_web(format!("q={}", "%E2%82%AC".repeat(200)).as_bytes());
}

#[test]
fn the_model_decodes_as_the_form_encoding_standard() {
    // The properties are only as good as the model: pin it.
    let pairs = model_query("a=1&b=x+y&c=%3Cimg%3E&d&=e&&").unwrap();
    let want = [
        ("a", "1"),
        ("b", "x y"),
        ("c", "<img>"),
        ("d", ""),
        ("", "e"),
    ];
    assert_eq!(pairs.len(), want.len());
    for ((k, v), (wk, wv)) in pairs.iter().zip(want) {
        assert_eq!((k.as_str(), v.as_str()), (wk, wv));
    }
    for bad in ["a=%", "a=%4", "a=%zz", "a=%ff", "a=%+1", "a=%-1", "%=1"] {
        assert!(model_query(bad).is_none(), "{bad}");
    }
}

#[test]
fn if_none_match_model() {
    let e = "\"0123456789abcdef\"";
    let m = |v: &str| model_if_none_match(v.as_bytes(), e);
    assert_eq!(m("*"), Some(true));
    assert_eq!(m(" \"0123456789abcdef\" "), Some(true));
    assert_eq!(m("W/\"0123456789abcdef\""), Some(true));
    assert_eq!(m("\"x\", ,W/\"0123456789abcdef\","), Some(true));
    assert_eq!(m("\"a,b\""), Some(false));
    assert_eq!(m(""), Some(false));
    assert_eq!(m("W/W/\"0123456789abcdef\""), None);
    assert_eq!(m("\"x\" \"0123456789abcdef\""), None);
    assert_eq!(m("\"x"), None);
    assert_eq!(m("*, \"x\""), None);
}

#[test]
fn links_of_long_filters_parse_back() {
    check_query("q=caf%C3%A9+au+lait&full=on&sort=packets", true);
}
