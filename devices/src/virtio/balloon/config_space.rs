//! The balloon's configuration space: `num_pages` (host's target, read-only to the guest)
//! and `actual` (the guest's current size), le32 each.
//!
//! Accesses of any width inside the 8 bytes work as in QEMU; bytes beyond read as all-ones
//! and ignore writes. (QEMU's page-poison default adds `free_page_hint_cmd_id` and
//! `poison_val`; this device does not offer PAGE_POISON or FREE_PAGE_HINT, so its space
//! ends at 8, as QEMU's does without them.)

pub const CONFIG_SIZE: u64 = 8;
const ACTUAL_OFFSET: u64 = 4;

/// Fills `data` from the config bytes at `offset`.
pub fn read(num_pages: u32, actual: u32, offset: u64, data: &mut [u8]) {
    let mut bytes = [0u8; CONFIG_SIZE as usize];
    bytes[..4].copy_from_slice(&num_pages.to_le_bytes());
    bytes[4..].copy_from_slice(&actual.to_le_bytes());
    for (i, b) in data.iter_mut().enumerate() {
        *b = offset
            .checked_add(i as u64)
            .and_then(|o| bytes.get(usize::try_from(o).ok()?))
            .copied()
            .unwrap_or(0xff);
    }
}

/// The new `actual` after a guest write of `data` at `offset`, or None if the write does
/// not reach `actual` (or runs past the end, which QEMU drops whole).
pub fn write_actual(actual: u32, offset: u64, data: &[u8]) -> Option<u32> {
    let end = offset.checked_add(data.len() as u64)?;
    if end > CONFIG_SIZE || end <= ACTUAL_OFFSET {
        return None;
    }
    let mut bytes = actual.to_le_bytes();
    for (i, &b) in data.iter().enumerate() {
        let at = offset + i as u64;
        if at >= ACTUAL_OFFSET {
            bytes[(at - ACTUAL_OFFSET) as usize] = b;
        }
    }
    Some(u32::from_le_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_in_bounds() {
        let mut d = [0u8; 4];
        read(0x1234, 7, 0, &mut d);
        assert_eq!(u32::from_le_bytes(d), 0x1234);
        read(0x1234, 7, 4, &mut d);
        assert_eq!(u32::from_le_bytes(d), 7);
        read(0x1234, 7, 6, &mut d);
        assert_eq!(d, [0, 0, 0xff, 0xff]);
        read(0, 0, u64::MAX, &mut d);
        assert_eq!(d, [0xff; 4]);
        assert_eq!(write_actual(7, 4, &9u32.to_le_bytes()), Some(9));
        assert_eq!(write_actual(0x0102_0304, 5, &[0xff]), Some(0x0102_ff04));
        assert_eq!(
            write_actual(7, 0, &[1, 2, 3, 4]),
            None,
            "num_pages is read-only"
        );
        assert_eq!(write_actual(7, 6, &[1, 2, 3, 4]), None);
        assert_eq!(write_actual(7, u64::MAX, &[1]), None);
    }
}
