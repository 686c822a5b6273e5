//! Address value types: MAC addresses and local networks (`-l NET/MASK`).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An Ethernet MAC address; text form is lowercase `aa:bb:cc:dd:ee:ff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct MacAddr(pub [u8; 6]);

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid MAC address {0:?}: expected six hex bytes separated by ':'")]
pub struct MacParseError(String);

impl FromStr for MacAddr {
    type Err = MacParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 6];
        let mut parts = s.split(':');
        for b in out.iter_mut() {
            let p = parts.next().ok_or_else(|| MacParseError(s.into()))?;
            if p.len() != 2 {
                return Err(MacParseError(s.into()));
            }
            *b = u8::from_str_radix(p, 16).map_err(|_| MacParseError(s.into()))?;
        }
        if parts.next().is_some() {
            return Err(MacParseError(s.into()));
        }
        Ok(MacAddr(out))
    }
}

// Text in human-readable formats (JSON), six raw bytes in binary ones (IPC).
impl Serialize for MacAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            self.0.serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for MacAddr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            s.parse().map_err(serde::de::Error::custom)
        } else {
            Ok(MacAddr(<[u8; 6]>::deserialize(d)?))
        }
    }
}

/// A local network: an address and a mask, stored as 128-bit values in the
/// IPv4-mapped IPv6 space so that one comparison serves both families.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalNet {
    net: u128,
    mask: u128,
    prefix: u8,
    v4: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NetParseError {
    #[error("expecting network/netmask or network/prefix-length, got {0:?}")]
    Syntax(String),
    #[error("invalid network address {0:?}")]
    Address(String),
    #[error("invalid network prefix length {0:?} (IPv4: 0-32, IPv6: 0-128)")]
    Prefix(String),
    #[error("invalid netmask {0:?}: the mask must be contiguous ones followed by zeros")]
    Mask(String),
    #[error("family mismatch between network and mask in {0:?}")]
    Family(String),
}

const V4_MAPPED: u128 = 0xffff_0000_0000;

/// The 128-bit key of an address: IPv6 as is, IPv4 as `::ffff:a.b.c.d`.
/// An IPv4-mapped IPv6 address therefore is the same key as its IPv4 form,
/// which is what `spec/counting.md` §3 asks for.
pub fn ip_key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => V4_MAPPED | u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// The canonical address of a key (IPv4-mapped keys become IPv4).
pub fn key_ip(key: u128) -> IpAddr {
    if key >> 32 == V4_MAPPED >> 32 {
        IpAddr::V4(Ipv4Addr::from(key as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(key))
    }
}

impl LocalNet {
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Self, NetParseError> {
        let (v4, width) = match addr {
            IpAddr::V4(_) => (true, 32u8),
            IpAddr::V6(a) => (a.to_ipv4_mapped().is_some(), 128u8),
        };
        if prefix > width {
            return Err(NetParseError::Prefix(prefix.to_string()));
        }
        let bits = if v4 && width == 32 {
            u32::from(96 + prefix)
        } else {
            u32::from(prefix)
        };
        let mask = if bits == 0 {
            0
        } else {
            u128::MAX << (128 - bits)
        };
        Ok(LocalNet {
            net: ip_key(addr) & mask,
            mask,
            prefix,
            v4: matches!(addr, IpAddr::V4(_)),
        })
    }

    /// Whether a host key (see [`ip_key`]) lies in this network.
    #[inline]
    pub fn contains_key(&self, key: u128) -> bool {
        key & self.mask == self.net
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.contains_key(ip_key(ip))
    }
}

impl fmt::Display for LocalNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ip = if self.v4 {
            key_ip(self.net)
        } else {
            IpAddr::V6(Ipv6Addr::from(self.net))
        };
        write!(f, "{}/{}", ip, self.prefix)
    }
}

fn mask_prefix(mask: IpAddr) -> Option<u8> {
    let (bits, width) = match mask {
        IpAddr::V4(m) => (u128::from(u32::from(m)) << 96, 32),
        IpAddr::V6(m) => (u128::from(m), 128),
    };
    let ones = bits.leading_ones();
    if bits.checked_shl(ones).unwrap_or(0) != 0 || ones > width {
        return None;
    }
    u8::try_from(ones).ok()
}

impl FromStr for LocalNet {
    type Err = NetParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (net, mask) = s
            .split_once('/')
            .ok_or_else(|| NetParseError::Syntax(s.into()))?;
        let addr: IpAddr = net
            .parse()
            .map_err(|_| NetParseError::Address(net.into()))?;
        let prefix = if mask.bytes().all(|b| b.is_ascii_digit()) && !mask.is_empty() {
            mask.parse::<u8>()
                .map_err(|_| NetParseError::Prefix(mask.into()))?
        } else {
            let m: IpAddr = mask.parse().map_err(|_| NetParseError::Mask(mask.into()))?;
            if m.is_ipv4() != addr.is_ipv4() {
                return Err(NetParseError::Family(s.into()));
            }
            mask_prefix(m).ok_or_else(|| NetParseError::Mask(mask.into()))?
        };
        LocalNet::new(addr, prefix)
    }
}

impl Serialize for LocalNet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            // the same address Display shows: an IPv4-mapped IPv6 network
            // (prefix up to 128) must stay IPv6 to round-trip
            let ip = if self.v4 {
                key_ip(self.net)
            } else {
                IpAddr::V6(Ipv6Addr::from(self.net))
            };
            (self.v4, ip, self.prefix).serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for LocalNet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            s.parse().map_err(serde::de::Error::custom)
        } else {
            let (_v4, ip, prefix) = <(bool, IpAddr, u8)>::deserialize(d)?;
            LocalNet::new(ip, prefix).map_err(serde::de::Error::custom)
        }
    }
}

/// A set of local networks; "local" decides graph direction and the
/// in/out/other split of the protocols table.
#[derive(Clone, Debug, Default)]
pub struct LocalNets {
    nets: Vec<LocalNet>,
}

impl LocalNets {
    pub fn new(nets: Vec<LocalNet>) -> Self {
        LocalNets { nets }
    }
    #[inline]
    pub fn is_local(&self, key: u128) -> bool {
        self.nets.iter().any(|n| n.contains_key(key))
    }
    pub fn nets(&self) -> &[LocalNet] {
        &self.nets
    }
    pub fn push(&mut self, n: LocalNet) {
        if !self.nets.contains(&n) {
            self.nets.push(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prefix_and_mask_forms() {
        let a: LocalNet = "192.168.1.77/24".parse().unwrap();
        let b: LocalNet = "192.168.1.0/255.255.255.0".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "192.168.1.0/24");
        assert!(a.contains("192.168.1.200".parse().unwrap()));
        assert!(!a.contains("192.168.2.1".parse().unwrap()));
        assert!(a.contains("::ffff:192.168.1.9".parse().unwrap()));
        let c: LocalNet = "2001:db8::/32".parse().unwrap();
        assert!(c.contains("2001:db8:1::5".parse().unwrap()));
        assert!(!c.contains("2001:db9::5".parse().unwrap()));
        assert_eq!(c.to_string(), "2001:db8::/32");
        let all: LocalNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        assert!(!all.contains("::1".parse().unwrap()));
    }

    #[test]
    fn rejects_bad_networks() {
        assert!(matches!(
            "10.0.0.0".parse::<LocalNet>(),
            Err(NetParseError::Syntax(_))
        ));
        assert!(matches!(
            "10.0.0.0/33".parse::<LocalNet>(),
            Err(NetParseError::Prefix(_))
        ));
        assert!(matches!(
            "::/129".parse::<LocalNet>(),
            Err(NetParseError::Prefix(_))
        ));
        assert!(matches!(
            "10.0.0.0/255.0.255.0".parse::<LocalNet>(),
            Err(NetParseError::Mask(_))
        ));
        assert!(matches!(
            "10.0.0.0/ffff::".parse::<LocalNet>(),
            Err(NetParseError::Family(_))
        ));
        assert!(matches!(
            "x/8".parse::<LocalNet>(),
            Err(NetParseError::Address(_))
        ));
        assert!(matches!(
            "10.0.0.0/999".parse::<LocalNet>(),
            Err(NetParseError::Prefix(_))
        ));
    }

    #[test]
    fn keys_map_ipv4_into_ipv6() {
        let v4: IpAddr = "1.2.3.4".parse().unwrap();
        let mapped: IpAddr = "::ffff:1.2.3.4".parse().unwrap();
        assert_eq!(ip_key(v4), ip_key(mapped));
        assert_eq!(key_ip(ip_key(mapped)), v4);
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(key_ip(ip_key(v6)), v6);
    }

    #[test]
    fn mapped_networks_survive_a_binary_round_trip() {
        for text in [
            "::ffff:10.0.0.0/104",
            "10.0.0.0/8",
            "2001:db8::/32",
            "0.0.0.0/0",
        ] {
            let n: LocalNet = text.parse().unwrap();
            let bytes = bincode::serde::encode_to_vec(n, bincode::config::standard()).unwrap();
            let (back, _): (LocalNet, usize) =
                bincode::serde::decode_from_slice(&bytes, bincode::config::standard()).unwrap();
            assert_eq!(back, n, "{text}");
        }
    }

    #[test]
    fn mac_text_round_trip() {
        let m: MacAddr = "02:00:0A:ff:00:01".parse().unwrap();
        assert_eq!(m.to_string(), "02:00:0a:ff:00:01");
        assert!("02:00:0a:ff:00".parse::<MacAddr>().is_err());
        assert!("02:00:0a:ff:00:01:02".parse::<MacAddr>().is_err());
        assert!("02:00:0a:ff:00:zz".parse::<MacAddr>().is_err());
    }
}
