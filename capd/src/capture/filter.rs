//! BPF filters (`-f`/`-e`): compiled by libpcap, one program per link type,
//! and run on capture-file records with their true wire length.
//!
//! The `pcap` crate's `BpfProgram::filter` passes the captured length as the
//! wire length, which makes `len`/`greater`/`less` wrong on records cut by a
//! snapshot length; so the program's instructions are handed to libpcap's
//! `bpf_filter()` here with both lengths.

use std::os::raw::{c_uint, c_ushort};

use pcap::{BpfProgram, Capture, Linktype};

#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("invalid filter {filter:?} for link type {dlt}: {reason}")]
    Compile {
        filter: String,
        dlt: u32,
        reason: String,
    },
}

/// Layout of libpcap's `struct bpf_insn`.
#[repr(C)]
struct BpfInsn {
    code: c_ushort,
    jt: u8,
    jf: u8,
    k: u32,
}

extern "C" {
    // libpcap: u_int bpf_filter(const struct bpf_insn *, const u_char *,
    //                           u_int wirelen, u_int buflen)
    fn bpf_filter(pc: *const BpfInsn, p: *const u8, wirelen: c_uint, buflen: c_uint) -> c_uint;
}

/// One filter expression, compiled lazily for each link type met.
pub struct Filter {
    expr: String,
    /// A loopback frame with its address family rewritten (`loopback`).
    scratch: Vec<u8>,
    /// `None`: the expression cannot be compiled for that link type (a
    /// pcapng file may mix link types, and libpcap knows some expressions
    /// only for some of them).
    programs: Vec<(u32, Option<BpfProgram>)>,
}

impl Filter {
    /// Checks the expression once against `dlt` so that a syntax error (or
    /// an expression meaningless for the capture's link type) is reported
    /// at start.
    pub fn new(expr: &str, dlt: u32) -> Result<Self, FilterError> {
        let mut f = Filter {
            expr: expr.to_owned(),
            scratch: Vec::new(),
            programs: Vec::new(),
        };
        let prog = f.compile(dlt)?;
        f.programs.push((dlt, Some(prog)));
        Ok(f)
    }

    fn compile(&self, dlt: u32) -> Result<BpfProgram, FilterError> {
        let err = |reason: String| FilterError::Compile {
            filter: self.expr.clone(),
            dlt,
            reason,
        };
        let lt = Linktype(i32::try_from(compile_dlt(dlt)).map_err(|e| err(e.to_string()))?);
        let dead = Capture::dead(lt).map_err(|e| err(e.to_string()))?;
        dead.compile(&self.expr, true)
            .map_err(|e| err(e.to_string()))
    }

    /// Whether the frame passes the filter. The first frame of a link type
    /// the expression cannot be compiled for gives the error (for one
    /// warning); that frame and every later one of its link type do not
    /// pass, since no frame of it can be what the expression asks for.
    pub fn matches(&mut self, dlt: u32, data: &[u8], wire_len: u32) -> Result<bool, FilterError> {
        let at = match self.programs.iter().position(|(d, _)| *d == dlt) {
            Some(i) => i,
            None => match self.compile(dlt) {
                Ok(prog) => {
                    self.programs.push((dlt, Some(prog)));
                    self.programs.len() - 1
                }
                Err(e) => {
                    self.programs.push((dlt, None));
                    return Err(e);
                }
            },
        };
        let Some(prog) = &self.programs[at].1 else {
            return Ok(false);
        };
        let data = match compile_dlt(dlt) {
            DLT_NULL | DLT_LOOP => loopback(dlt, data, &mut self.scratch),
            _ => data,
        };
        let insns = prog.get_instructions();
        if insns.is_empty() {
            return Ok(true);
        }
        let buflen = c_uint::try_from(data.len()).unwrap_or(c_uint::MAX);
        // SAFETY: `BpfInstruction` is `repr(transparent)` over libpcap's
        // `struct bpf_insn`, which `BpfInsn` mirrors field by field; the
        // program was produced by `pcap_compile` (so it is valid and ends in
        // a return), and `bpf_filter` reads at most `buflen` bytes of `data`,
        // which is exactly the slice's length.
        let verdict = unsafe {
            bpf_filter(
                insns.as_ptr().cast::<BpfInsn>(),
                data.as_ptr(),
                wire_len,
                buflen,
            )
        };
        Ok(verdict != 0)
    }
}

const DLT_NULL: u32 = 0;
const DLT_LOOP: u32 = 108;

/// A loopback frame as the compiled program expects it. The 4-byte address
/// family comes in either byte order and with AF_INET6 as any system
/// numbers it (10, 24, 28, 30; `counting.md` §1 decodes them all), but a
/// program compiled without a file checks this system's AF_INET/AF_INET6
/// (2 and 10), in host order for NULL and network order for LOOP. So the
/// family is rewritten, in a copy, to those; any other family stays.
fn loopback<'a>(dlt: u32, data: &'a [u8], scratch: &'a mut Vec<u8>) -> &'a [u8] {
    let Some(v6) = crate::decode::null_family(data) else {
        return data;
    };
    let family: u32 = if v6 { 10 } else { 2 };
    let bytes = if dlt == DLT_LOOP {
        family.to_be_bytes()
    } else {
        family.to_ne_bytes()
    };
    scratch.clear();
    scratch.extend_from_slice(&bytes);
    scratch.extend_from_slice(&data[4..]);
    scratch
}

/// The DLT libpcap compiles for, of a link type as a capture file records
/// it. Files carry LINKTYPE_ values, `pcap_compile` wants DLT_ values, and
/// the two differ for a few old types (libpcap's `linktype_to_dlt`, which
/// it does not export); with Linux's DLT values. Raw IP is the one that
/// matters here: files say 101 (or 12 or 14, as `counting.md` allows),
/// DLT_RAW is 12, and libpcap knows no DLT 101 at all.
fn compile_dlt(linktype: u32) -> u32 {
    match linktype {
        12 | 14 | 101 => 12, // RAW
        100 => 11,           // ATM_RFC1483
        102 => 15,           // SLIP_BSDOS
        103 => 16,           // PPP_BSDOS
        106 => 19,           // ATM_CLIP
        other => other,
    }
}

/// libpcap's name of a link type, for messages ("EN10MB", "IEEE802_11").
pub fn link_type_name(dlt: u32) -> String {
    i32::try_from(compile_dlt(dlt))
        .ok()
        .and_then(|d| Linktype(d).get_name().ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn udp_frame(dport: u16) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&[
            0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ]);
        f.extend_from_slice(&1000u16.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        f.extend_from_slice(&[0, 8, 0, 0]);
        f
    }

    #[test]
    fn filters_by_port() {
        let mut f = Filter::new("udp port 53", 1).unwrap();
        assert!(f.matches(1, &udp_frame(53), 42).unwrap());
        assert!(!f.matches(1, &udp_frame(54), 42).unwrap());
    }

    #[test]
    fn length_primitives_use_the_wire_length() {
        let mut f = Filter::new("greater 1000", 1).unwrap();
        let frame = udp_frame(53);
        assert!(f.matches(1, &frame, 1500).unwrap());
        assert!(!f.matches(1, &frame, 42).unwrap());
    }

    /// Raw-IP captures say LINKTYPE_RAW (101), or 12 or 14; libpcap
    /// compiles for DLT_RAW.
    #[test]
    fn raw_ip_link_types_filter_from_the_ip_header() {
        let raw = &udp_frame(53)[14..];
        for lt in [101, 12, 14] {
            let mut f = Filter::new("udp port 53", lt).unwrap();
            assert!(f.matches(lt, raw, 28).unwrap(), "{lt}");
            assert!(!f.matches(lt, &udp_frame(54)[14..], 28).unwrap(), "{lt}");
        }
    }

    /// A pcapng file may hold a link type the expression means nothing
    /// for: its frames are told once, then simply never pass.
    #[test]
    fn a_link_type_the_expression_cannot_apply_to_passes_nothing() {
        let mut f = Filter::new("ether host 02:00:00:00:00:01", 1).unwrap();
        // LINKTYPE_RAW (101): no Ethernet header to look at
        let raw = &udp_frame(53)[14..];
        let e = f.matches(101, raw, 28).unwrap_err();
        assert!(e.to_string().contains("link type 101"), "{e}");
        assert!(e.to_string().contains("ether"), "{e}");
        assert!(!f.matches(101, raw, 28).unwrap(), "told only once");
        let mut eth = udp_frame(53);
        eth[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
        assert!(
            f.matches(1, &eth, 42).unwrap(),
            "other link types still filter"
        );
    }

    /// `ip6` on loopback captures: every IPv6 family number, in either
    /// byte order, for NULL and LOOP alike; `ip` stays IPv4 only.
    #[test]
    fn loopback_families_of_every_system_and_byte_order() {
        let v6: Vec<u8> = [0x60, 0, 0, 0, 0, 8, 17, 64]
            .into_iter()
            .chain([0; 32])
            .chain([0, 1, 0, 53, 0, 8, 0, 0])
            .collect();
        let v4 = udp_frame(53)[14..].to_vec();
        for dlt in [0, 108] {
            let mut ip6 = Filter::new("ip6", dlt).unwrap();
            let mut ip = Filter::new("ip", dlt).unwrap();
            let mut udp = Filter::new("udp port 53", dlt).unwrap();
            for (fam, payload, is_v6) in [
                (2u32, &v4, false),
                (10, &v6, true),
                (24, &v6, true),
                (28, &v6, true),
                (30, &v6, true),
            ] {
                for header in [fam.to_le_bytes(), fam.to_be_bytes()] {
                    let frame: Vec<u8> = header.iter().chain(payload.iter()).copied().collect();
                    let n = frame.len() as u32;
                    assert_eq!(
                        ip6.matches(dlt, &frame, n).unwrap(),
                        is_v6,
                        "{dlt} {fam} {header:?}"
                    );
                    assert_eq!(
                        ip.matches(dlt, &frame, n).unwrap(),
                        !is_v6,
                        "{dlt} {fam} {header:?}"
                    );
                    assert!(
                        udp.matches(dlt, &frame, n).unwrap(),
                        "{dlt} {fam} {header:?}"
                    );
                }
            }
            let other: Vec<u8> = 7u32
                .to_le_bytes()
                .iter()
                .chain(v4.iter())
                .copied()
                .collect();
            assert!(!ip.matches(dlt, &other, 32).unwrap());
            assert!(!ip6.matches(dlt, &other, 32).unwrap());
        }
    }

    #[test]
    fn bad_expression_is_an_error() {
        assert!(Filter::new("port port", 1).is_err());
    }

    #[test]
    fn names_link_types() {
        assert_eq!(link_type_name(1), "EN10MB");
        assert_eq!(link_type_name(105), "IEEE802_11");
        assert_eq!(link_type_name(101), "RAW");
    }
}
