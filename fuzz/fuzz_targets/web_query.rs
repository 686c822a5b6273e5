//! webd's parsers of request input on arbitrary bytes, taken as text
//! (lossy UTF-8): the query string and every page's parameters (as given,
//! and percent-encoded into a query actix can deliver), the `/hosts/<ip>/`
//! path segment, error pages' relative root, `If-None-Match` /
//! `If-Modified-Since` of the static files (`@` stands for the ETag or the
//! Last-Modified date), and `parse_resolv_conf`. Nothing may panic, and
//! every property of `capd_fuzz::web` must hold (see there).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    capd_fuzz::web::fuzz_web(data);
});
