//! TCP and UDP: the two ports and, for TCP, whether the segment opens a
//! connection (SYN set, ACK clear).

use super::{be16, Ports};

const TCP: u8 = 6;
const UDP: u8 = 17;
const TCP_FLAGS: usize = 13;
const TCP_SYN: u8 = 0x02;
const TCP_ACK: u8 = 0x10;

/// Ports of the transport header at `at` (offset from the IP header), when
/// every byte read was captured and lies within the datagram's `len`.
pub(super) fn ports(ip: &[u8], at: usize, proto: u8, len: u64) -> Option<Ports> {
    let need = match proto {
        TCP => at + TCP_FLAGS + 1,
        UDP => at + 4,
        _ => return None,
    };
    if need as u64 > len {
        return None;
    }
    let src = be16(ip, at)?;
    let dst = be16(ip, at + 2)?;
    let syn = if proto == TCP {
        let flags = *ip.get(at + TCP_FLAGS)?;
        flags & TCP_SYN != 0 && flags & TCP_ACK == 0
    } else {
        false
    };
    Some(Ports { src, dst, syn })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(flags: u8) -> Vec<u8> {
        let mut t = vec![0u8; 20];
        t[0..2].copy_from_slice(&40000u16.to_be_bytes());
        t[2..4].copy_from_slice(&443u16.to_be_bytes());
        t[13] = flags;
        t
    }

    #[test]
    fn syn_means_syn_without_ack() {
        assert!(ports(&tcp(0x02), 0, TCP, 20).unwrap().syn);
        assert!(ports(&tcp(0x02 | 0x08), 0, TCP, 20).unwrap().syn); // SYN+PSH
        assert!(!ports(&tcp(0x12), 0, TCP, 20).unwrap().syn); // SYN+ACK
        assert!(!ports(&tcp(0x10), 0, TCP, 20).unwrap().syn);
    }

    #[test]
    fn tcp_needs_flags_byte_captured_and_within_len() {
        let t = tcp(0x02);
        assert_eq!(ports(&t[..13], 0, TCP, 20), None);
        assert_eq!(ports(&t, 0, TCP, 13), None);
        let p = ports(&t[..14], 0, TCP, 14).unwrap();
        assert_eq!((p.src, p.dst), (40000, 443));
    }

    #[test]
    fn udp_needs_four_bytes() {
        let u = [0, 53, 0x30, 0x39];
        assert_eq!(
            ports(&u, 0, UDP, 4).map(|p| (p.src, p.dst)),
            Some((53, 12345))
        );
        assert_eq!(ports(&u[..3], 0, UDP, 4), None);
        assert_eq!(ports(&u, 0, UDP, 3), None);
        assert_eq!(ports(&u, 0, 1, 4), None);
    }
}
