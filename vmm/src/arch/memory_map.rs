//! Where RAM goes, and the e820 map the guest is told about.

use super::layout::*;

/// An e820 entry type, as Linux numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum E820Type {
    Ram = 1,
    Reserved = 2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct E820Entry {
    pub addr: u64,
    pub size: u64,
    pub kind: E820Type,
}

/// The RAM regions (guest address, length) for `size` bytes of RAM: below the PCI hole,
/// then from 4 GiB.
pub fn ram_regions(size: u64) -> Vec<(u64, u64)> {
    let low = size.min(MMIO32_START);
    let mut regions = vec![(0, low)];
    if size > low {
        regions.push((HIGH_RAM_START, size - low));
    }
    regions
}

/// The e820 map for `size` bytes of RAM.
pub fn e820_map(size: u64) -> Vec<E820Entry> {
    let low = size.min(MMIO32_START);
    let mut map = vec![
        E820Entry {
            addr: 0,
            size: EBDA_START.min(low),
            kind: E820Type::Ram,
        },
        E820Entry {
            addr: EBDA_START,
            size: 0xa0000 - EBDA_START,
            kind: E820Type::Reserved,
        },
        E820Entry {
            addr: ACPI_START,
            size: ACPI_END - ACPI_START,
            kind: E820Type::Reserved,
        },
    ];
    if low > HIMEM_START {
        map.push(E820Entry {
            addr: HIMEM_START,
            size: low - HIMEM_START,
            kind: E820Type::Ram,
        });
    }
    if size > low {
        map.push(E820Entry {
            addr: HIGH_RAM_START,
            size: size - low,
            kind: E820Type::Ram,
        });
    }
    map
}

/// The end of RAM below 4 GiB.
pub fn low_ram_end(size: u64) -> u64 {
    size.min(MMIO32_START)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_guest() {
        let map = e820_map(256 << 20);
        assert_eq!(
            map[0],
            E820Entry {
                addr: 0,
                size: 0x9fc00,
                kind: E820Type::Ram
            }
        );
        assert_eq!(map[3].addr, 0x10_0000);
        assert_eq!(map[3].addr + map[3].size, 256 << 20);
        assert_eq!(map.len(), 4);
        assert_eq!(ram_regions(256 << 20), vec![(0, 256 << 20)]);
    }

    #[test]
    fn hole_splits_large_guest() {
        let size = 4u64 << 30;
        assert_eq!(ram_regions(size), vec![(0, 3 << 30), (1 << 32, 1 << 30)]);
        let map = e820_map(size);
        let last = map.last().unwrap();
        assert_eq!((last.addr, last.size), (1 << 32, 1 << 30));
        assert!(map
            .iter()
            .all(|e| e.addr + e.size <= MMIO32_START || e.addr >= 1 << 32));
    }
}
