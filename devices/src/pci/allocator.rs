//! Firmware-style placement of memory BARs: each at the next address aligned to its size.

/// Hands out size-aligned ranges from a window (e.g. 0xC000_0000 up to the IOAPIC).
#[derive(Debug, Clone)]
pub struct BarAllocator {
    next: u64,
    end: u64,
}

impl BarAllocator {
    pub fn new(start: u64, end: u64) -> Self {
        BarAllocator { next: start, end }
    }

    /// A base for a BAR of `size` (a power of two), or None if the window is full.
    pub fn allocate(&mut self, size: u64) -> Option<u64> {
        if !size.is_power_of_two() {
            return None;
        }
        let base = self.next.checked_add(size - 1)? & !(size - 1);
        let end = base.checked_add(size)?;
        if end > self.end {
            return None;
        }
        self.next = end;
        Some(base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_and_fills() {
        let mut a = BarAllocator::new(0xc000_1000, 0xc002_0000);
        assert_eq!(a.allocate(0x8000), Some(0xc000_8000));
        assert_eq!(a.allocate(0x1000), Some(0xc001_0000));
        assert_eq!(a.allocate(0x10000), None);
        assert_eq!(a.allocate(0x3000), None);
        assert_eq!(a.allocate(0x8000), Some(0xc001_8000));
        assert_eq!(a.allocate(0x10), None);
    }
}
