//! The open-addressing index of the host table and of the flow table: a
//! power-of-two array of 8-byte slots, each `tag << 32 | (position + 1)`
//! (0 is empty), probed linearly and kept at most half full by its owner.
//! The tag is the hash's high half and the start slot comes from its low
//! bits, so a tag match on a probed slot is almost always the entry, and
//! a slot's address follows from the hash alone (it can be prefetched).

/// The slot where the search for `h` starts.
#[inline]
pub fn start(slots: &[u64], h: u64) -> &u64 {
    &slots[h as usize & (slots.len() - 1)]
}

/// Positions whose tag matches `h`, in probe order, until an empty slot.
#[inline]
pub fn probe(slots: &[u64], h: u64) -> impl Iterator<Item = u32> + '_ {
    let mask = slots.len() - 1;
    let tag = h >> 32;
    let start = h as usize & mask;
    (0..slots.len())
        .map(move |n| slots[(start + n) & mask])
        .take_while(|&s| s != 0)
        .filter(move |&s| s >> 32 == tag)
        .map(|s| s as u32 - 1)
}

/// Puts `pos` in the first empty slot from `h`'s start slot; the owner
/// keeps the array at most half full, so there is one.
#[inline]
pub fn insert(slots: &mut [u64], h: u64, pos: u32) {
    let mask = slots.len() - 1;
    let mut i = h as usize & mask;
    while slots[i] != 0 {
        i = (i + 1) & mask;
    }
    slots[i] = (h >> 32) << 32 | (u64::from(pos) + 1);
}

/// Empties the slot that holds `pos` (found from `h`'s start slot); the
/// caller empties every slot in use, so a chain it breaks is never
/// probed again.
pub fn remove(slots: &mut [u64], h: u64, pos: u32) {
    let mask = slots.len() - 1;
    let mut i = h as usize & mask;
    while slots[i] as u32 != pos + 1 {
        i = (i + 1) & mask;
    }
    slots[i] = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries whose hashes collide on the start slot (and some on the
    /// tag) are all found, each once, in insertion order; removing them
    /// all empties the array.
    #[test]
    fn colliding_entries_are_all_found() {
        let mut slots = vec![0u64; 16];
        let hashes = [
            0x1_0000_0003u64,
            0x2_0000_0003,
            0x1_0000_0013,
            0x3_0000_000f,
        ];
        for (pos, &h) in hashes.iter().enumerate() {
            insert(&mut slots, h, pos as u32);
        }
        assert_eq!(probe(&slots, 0x1_0000_0003).collect::<Vec<_>>(), vec![0, 2]);
        assert_eq!(probe(&slots, 0x2_0000_0003).collect::<Vec<_>>(), vec![1]);
        assert_eq!(probe(&slots, 0x3_0000_000f).collect::<Vec<_>>(), vec![3]);
        assert_eq!(probe(&slots, 0x4_0000_0003).count(), 0);
        // the last slot wraps around to the first
        assert_eq!(slots[15] >> 32, 3);
        for (pos, &h) in hashes.iter().enumerate() {
            remove(&mut slots, h, pos as u32);
        }
        assert!(slots.iter().all(|&s| s == 0));
        assert_eq!(*start(&slots, 0x5), 0);
    }
}
