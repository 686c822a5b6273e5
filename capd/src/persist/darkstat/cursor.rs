//! Reading untrusted bytes: a cursor whose reads fail at the end instead
//! of panicking, and the set that finds a key given twice in one table.

use super::ImportError;

/// Keys seen in the table being read: 65536 bits, cleared entry by entry
/// after each table so that a host costs what its tables hold, not 8 KiB.
pub(super) struct KeySet {
    bits: Vec<u64>,
}

impl KeySet {
    pub(super) fn new() -> Self {
        KeySet {
            bits: vec![0; 1024],
        }
    }

    pub(super) fn insert(
        &mut self,
        offset: usize,
        table: &'static str,
        key: u16,
    ) -> Result<(), ImportError> {
        let (word, bit) = (usize::from(key >> 6), 1u64 << (key & 63));
        let Some(w) = self.bits.get_mut(word) else {
            return Ok(());
        };
        if *w & bit != 0 {
            // leave the set dirty: parsing stops here and drops it
            return Err(ImportError::DuplicateKey { offset, table, key });
        }
        *w |= bit;
        Ok(())
    }

    pub(super) fn clear(&mut self, keys: impl Iterator<Item = u16>) {
        for key in keys {
            if let Some(w) = self.bits.get_mut(usize::from(key >> 6)) {
                *w = 0;
            }
        }
    }
}

/// A cursor over the input whose reads fail, never panic, at the end.
pub(super) struct Reader<'a> {
    pub(super) buf: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub(super) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ImportError> {
        let truncated = ImportError::Truncated {
            offset: self.pos,
            what,
            needed: n,
            available: self.remaining(),
        };
        let end = self.pos.checked_add(n).ok_or(truncated.clone())?;
        let bytes = self.buf.get(self.pos..end).ok_or(truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    pub(super) fn array<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<[u8; N], ImportError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    pub(super) fn u8(&mut self, what: &'static str) -> Result<u8, ImportError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(super) fn u16(&mut self, what: &'static str) -> Result<u16, ImportError> {
        self.array(what).map(u16::from_be_bytes)
    }

    pub(super) fn u32(&mut self, what: &'static str) -> Result<u32, ImportError> {
        self.array(what).map(u32::from_be_bytes)
    }

    pub(super) fn u64(&mut self, what: &'static str) -> Result<u64, ImportError> {
        self.array(what).map(u64::from_be_bytes)
    }

    /// Rejects a count whose entries cannot fit in the bytes left, before
    /// anything is reserved for them. `offset` is where the count was read.
    pub(super) fn check_count(
        &self,
        offset: usize,
        what: &'static str,
        count: u64,
        entry_size: usize,
    ) -> Result<(), ImportError> {
        let needed = count.saturating_mul(entry_size as u64);
        if needed > self.remaining() as u64 {
            return Err(ImportError::CountTooLarge {
                offset,
                what,
                count,
                needed,
                available: self.remaining(),
            });
        }
        Ok(())
    }
}
