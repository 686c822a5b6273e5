//! views::protocols: the global IP protocols table (number, name, in, out,
//! other, total), by protocol number.

use common::model::Snapshot;
use serde::Serialize;

use crate::iana;

#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct ProtoRow {
    pub proto: u8,
    pub name: &'static str,
    pub description: &'static str,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub bytes_other: u64,
    pub bytes_total: u64,
    pub packets_total: u64,
}

pub fn rows(snap: &Snapshot) -> Vec<ProtoRow> {
    let mut v: Vec<ProtoRow> = snap
        .protocols
        .iter()
        .map(|p| ProtoRow {
            proto: p.proto,
            name: iana::protocol(p.proto).unwrap_or(""),
            description: iana::protocol_description(p.proto).unwrap_or(""),
            bytes_in: p.bytes_in,
            bytes_out: p.bytes_out,
            bytes_other: p.bytes_other,
            bytes_total: p
                .bytes_in
                .saturating_add(p.bytes_out)
                .saturating_add(p.bytes_other),
            packets_total: p
                .packets_in
                .saturating_add(p.packets_out)
                .saturating_add(p.packets_other),
        })
        .collect();
    v.sort_unstable_by_key(|r| r.proto);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::model::ProtoStats;

    #[test]
    fn totals_include_other_and_names_are_iana() {
        let s = Snapshot {
            protocols: vec![
                ProtoStats {
                    proto: 17,
                    bytes_in: 1,
                    bytes_out: 2,
                    bytes_other: 4,
                    packets_in: 1,
                    packets_out: 1,
                    packets_other: 1,
                },
                ProtoStats {
                    proto: 253,
                    ..Default::default()
                },
                ProtoStats {
                    proto: 1,
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let r = rows(&s);
        assert_eq!(r.iter().map(|r| r.proto).collect::<Vec<_>>(), [1, 17, 253]);
        assert_eq!(r[1].bytes_total, 7);
        assert_eq!(r[1].packets_total, 3);
        assert_eq!(r[1].name, "UDP");
        assert_eq!(r[2].name, "");
    }
}
