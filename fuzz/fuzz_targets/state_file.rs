//! `capd::persist::state::decode` and `persist::import::decode` (the state
//! file and `--import`) on arbitrary bytes: nothing may panic. The input is
//! tried twice: as it is (exercising the header checks), and wrapped in a
//! valid header with the right length and checksum (exercising the frame
//! payload and the rebuilt snapshot), whose restore into an `Accounts`
//! must not panic either.
#![no_main]

use capd::account::{Accounts, Limits};
use capd::persist::{import, state};
use common::net::LocalNets;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = state::decode(data);
    let _ = import::decode(data, 1_700_000_000);
    if let Ok(snap) = state::decode(&state::encode(data)) {
        let limits = Limits {
            hosts_max: 1000,
            hosts_keep: 500,
            ports_max: 60,
            ports_keep: 30,
            highest_port: 65535,
        };
        let mut acct = Accounts::new(limits, LocalNets::default());
        acct.restore(&snap);
        assert!(acct.host_count() <= 1000);
    }
});
