//! Page frame numbers from inflate/deflate buffers, and their coalescing into ranges.

/// Linux's VIRTIO_BALLOON_ARRAY_PFNS_MAX: a driver never puts more PFNs in one buffer, so a
/// bigger descriptor is a driver bug and is skipped (Cloud Hypervisor cfec1307).
pub const MAX_PFNS_PER_DESCRIPTOR: usize = 256;
/// Upper bound on PFNs taken from one descriptor chain (a queue's worth of full
/// descriptors); the rest of a longer chain (indirect tables can be long) is ignored.
pub const MAX_PFNS_PER_CHAIN: usize = 128 * MAX_PFNS_PER_DESCRIPTOR;
/// The balloon's page size is fixed at 4 KiB whatever the guest's (virtio 1.x 5.5.6).
pub const PFN_SHIFT: u32 = 12;
pub const PAGE_SIZE: u64 = 1 << PFN_SHIFT;

/// Appends the little-endian u32 PFNs in `bytes` (a multiple of 4 long) to `out`.
pub fn parse_pfns(bytes: &[u8], out: &mut Vec<u32>) {
    out.extend(
        bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
    );
}

/// Sorts and de-duplicates `pfns`, then merges runs of consecutive frames into
/// guest-physical (address, length) ranges. Shifts happen in u64 so frames above 4 GiB keep
/// their address (Cloud Hypervisor 50da100a).
pub fn coalesce(pfns: &mut [u32]) -> Vec<(u64, u64)> {
    pfns.sort_unstable();
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    let mut prev: Option<u32> = None;
    for &pfn in pfns.iter() {
        if prev == Some(pfn) {
            continue;
        }
        let addr = u64::from(pfn) << PFN_SHIFT;
        match ranges.last_mut() {
            Some((start, len)) if *start + *len == addr => *len += PAGE_SIZE,
            _ => ranges.push((addr, PAGE_SIZE)),
        }
        prev = Some(pfn);
    }
    ranges
}

/// The whole 4 KiB pages inside a reported free range `[addr, addr + len)`, if any.
pub fn whole_pages(addr: u64, len: u64) -> Option<(u64, u64)> {
    let end = addr.checked_add(len)? & !(PAGE_SIZE - 1);
    let start = addr.checked_add(PAGE_SIZE - 1)? & !(PAGE_SIZE - 1);
    (start < end).then_some((start, end - start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coalesces_unsorted_duplicates_and_high_frames() {
        let mut pfns = vec![5, 3, 4, 4, 10, 0x10_0000, 0x10_0001, 9, u32::MAX];
        assert_eq!(
            coalesce(&mut pfns),
            vec![
                (0x3000, 0x3000),
                (0x9000, 0x2000),
                (0x1_0000_0000, 0x2000),
                (0xfff_ffff_f000, 0x1000)
            ]
        );
        assert!(coalesce(&mut []).is_empty());
    }

    #[test]
    fn parses_little_endian() {
        let mut out = Vec::new();
        parse_pfns(&[1, 0, 0, 0, 0, 1, 0, 0, 9], &mut out);
        assert_eq!(out, vec![1, 256]);
    }

    #[test]
    fn whole_pages_inside_ranges() {
        assert_eq!(whole_pages(0x1000, 0x2000), Some((0x1000, 0x2000)));
        assert_eq!(whole_pages(0x1001, 0x2000), Some((0x2000, 0x1000)));
        assert_eq!(whole_pages(0x1001, 0x1000), None);
        assert_eq!(whole_pages(u64::MAX - 10, 100), None);
    }
}
