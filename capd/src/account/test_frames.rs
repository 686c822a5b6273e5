//! Frames for the accounting tests: Ethernet + IPv4 + a TCP or UDP header,
//! 40 bytes of IP, from 192.168.0.`src` to 10.0.0.`dst` (MACs 02:…:`src`
//! and 02:…:`dst`). The TCP flags byte is a lone SYN.

pub fn frame(src: u8, dst: u8, proto: u8, sport: u16, dport: u16) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, dst, 2, 0, 0, 0, 0, src, 0x08, 0x00];
    f.extend_from_slice(&[0x45, 0, 0, 40, 0, 0, 0, 0, 64, proto, 0, 0]);
    f.extend_from_slice(&[192, 168, 0, src, 10, 0, 0, dst]);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0]);
    f
}
