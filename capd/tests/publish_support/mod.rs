//! Shared by the publisher's tests and benchmark: generated traffic, and a
//! blocking reader that rebuilds capd's snapshot from the socket with
//! `common::ipc` exactly as webd does.
#![allow(dead_code)]

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use capd::account::{Accounts, Limits};
use capd::decode::{self, LinkType};
use common::ipc::{FrameDecoder, Hello, Replica, UpdateBuilder};
use common::model::{CaptureCounts, InterfaceStats, Snapshot};
use common::net::{ip_key, LocalNets};

pub fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("capd-publish-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn accounts(hosts_max: usize, ports_max: usize) -> Accounts {
    let limits = Limits {
        hosts_max,
        hosts_keep: hosts_max / 2,
        ports_max,
        ports_keep: ports_max / 2,
        highest_port: 65535,
    };
    Accounts::new(limits, LocalNets::new(vec!["10.0.0.0/8".parse().unwrap()]))
}

/// Ethernet + IPv4 + TCP (SYN or ACK) or UDP, 40 IP bytes; host numbers
/// become 10.x.y.z (local) and 172.16.x.y (remote) addresses.
pub fn frame(src: u32, dst: u32, udp: bool, sport: u16, dport: u16, syn: bool) -> Vec<u8> {
    let mut f = vec![
        2, 0, 0, 0, 0, dst as u8, 2, 0, 0, 0, 0, src as u8, 0x08, 0x00,
    ];
    let proto = if udp { 17 } else { 6 };
    f.extend_from_slice(&[0x45, 0, 0, 40, 0, 0, 0, 0, 64, proto, 0, 0]);
    f.extend_from_slice(&(0x0a00_0000 | (src & 0x00ff_ffff)).to_be_bytes());
    f.extend_from_slice(&(0xac10_0000 | (dst & 0x000f_ffff)).to_be_bytes());
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    let flags = if syn { 0x02 } else { 0x10 };
    f.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, flags, 0, 0, 0, 0, 0, 0]);
    f
}

pub struct Rng(pub u64);

impl Rng {
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// One packet between local host `src` and remote host `dst`.
pub fn packet(a: &mut Accounts, rng: &mut Rng, src: u32, dst: u32, ts: u64) {
    let udp = rng.below(3) == 0;
    let sport = 1024 + rng.below(60) as u16;
    let dport = [53, 80, 443, 22, 25][rng.below(5) as usize];
    let f = frame(src, dst, udp, sport, dport, rng.below(4) == 0);
    let d = decode::frame(LinkType::Ethernet, &f, 60);
    a.apply(&d, ts, 60);
}

/// `packets` packets among `spread` local and `spread` remote hosts.
pub fn traffic(a: &mut Accounts, rng: &mut Rng, ts: u64, packets: usize, spread: u64) {
    for _ in 0..packets {
        let src = rng.below(spread) as u32;
        let dst = rng.below(spread) as u32;
        packet(a, rng, src, dst, ts);
    }
}

pub fn ifaces(n: u64) -> Vec<InterfaceStats> {
    vec![InterfaceStats {
        name: "eth0".into(),
        linktype: 1,
        capture: CaptureCounts {
            received: n,
            dropped: n / 10,
            if_dropped: 0,
        },
    }]
}

/// The host list's order carries no meaning (`spec/json.md`).
pub fn canonical(s: &Snapshot) -> Snapshot {
    let mut s = s.clone();
    s.hosts.sort_by_key(|h| ip_key(h.ip));
    s
}

/// A reader of the publisher's socket, as webd reads it.
pub struct Reader {
    pub stream: UnixStream,
    dec: FrameDecoder,
    builder: UpdateBuilder,
    pub replica: Replica,
    pub seq: u64,
    pub updates: u64,
}

impl Reader {
    pub fn connect(path: &Path) -> Reader {
        let stream = UnixStream::connect(path).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        Reader {
            stream,
            dec: FrameDecoder::new(),
            builder: UpdateBuilder::new(),
            replica: Replica::new(),
            seq: 0,
            updates: 0,
        }
    }

    pub fn hello(&self) -> Option<&Hello> {
        self.builder.hello()
    }

    /// Reads until the update of publication `seq` (or a later one) is
    /// applied.
    pub fn until_seq(&mut self, seq: u64) {
        let mut buf = vec![0u8; 1 << 16];
        while self.seq < seq {
            let n = self.stream.read(&mut buf).expect("read from capd");
            assert!(n > 0, "capd closed the connection");
            self.dec.feed(&buf[..n]).unwrap();
            while let Some(m) = self.dec.next_message().unwrap() {
                if let Some(u) = self.builder.push(m).unwrap() {
                    self.seq = u.tick.seq;
                    self.updates += 1;
                    self.replica.apply_owned(u).unwrap();
                }
            }
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        canonical(self.replica.snapshot())
    }
}
