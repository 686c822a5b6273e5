//! Software prefetching for the capture loop. Accounting a packet is a
//! chain of dependent cache misses (host index, host, its port slots, the
//! global port rows); done one packet at a time the CPU waits for each.
//! The loop therefore decodes a few packets ahead and calls
//! [`Accounts::prefetch`] for each as it arrives, so that by the time a
//! packet is accounted its lines are (mostly) in cache. Prefetching is
//! only a hint: it changes no counter and cannot fault.

use super::entries::Kind;
use super::{kinds, Accounts};
use crate::decode::Decoded;

/// How many packets the loop decodes ahead of the one it accounts.
pub const LOOKAHEAD: usize = 8;

/// Asks the CPU to start loading the cache line at `p`.
#[inline(always)]
pub(super) fn line<T>(p: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 is a hint that never faults and never writes,
    // whatever the address; here it is even a valid reference.
    unsafe {
        core::arch::x86_64::_mm_prefetch(
            (p as *const T).cast::<i8>(),
            core::arch::x86_64::_MM_HINT_T0,
        )
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

impl Accounts {
    /// Starts loading what accounting `d` will touch.
    #[inline]
    pub fn prefetch(&self, d: &Decoded) {
        let Decoded::Ip(p) = d else {
            return;
        };
        let ports = p.ports.filter(|_| p.proto == 6 || p.proto == 17);
        if let Some(pt) = ports {
            let table = if p.proto == 6 {
                &self.tcp_ports
            } else {
                &self.udp_ports
            };
            line(&table[usize::from(pt.src)]);
            line(&table[usize::from(pt.dst)]);
        }
        let (local, remote) = kinds(p.proto);
        if let Some(s) = self.hosts.get(p.src) {
            s.entries.prefetch(Kind::Proto, u16::from(p.proto));
            if let Some(pt) = ports {
                s.entries.prefetch(local, pt.src);
                s.entries.prefetch(remote, pt.dst);
            }
        }
        if let Some(dh) = self.hosts.get(p.dst) {
            dh.entries.prefetch(Kind::Proto, u16::from(p.proto));
            if let Some(pt) = ports {
                dh.entries.prefetch(local, pt.dst);
                dh.entries.prefetch(remote, pt.src);
            }
        }
    }
}
