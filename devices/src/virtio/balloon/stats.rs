//! Guest memory statistics from the stats queue, in QEMU's order and units.

/// Tags 0..=15 of virtio 1.x 5.5.6.3 (Linux ≥ 6.12 sends all 16).
pub const STAT_COUNT: usize = 16;
/// QEMU's names for the 16 values (`qom-get ... guest-stats`), indexed by guest tag.
pub const STAT_NAMES: [&str; STAT_COUNT] = [
    "stat-swap-in",
    "stat-swap-out",
    "stat-major-faults",
    "stat-minor-faults",
    "stat-free-memory",
    "stat-total-memory",
    "stat-available-memory",
    "stat-disk-caches",
    "stat-htlb-pgalloc",
    "stat-htlb-pgfail",
    "stat-oom-kills",
    "stat-alloc-stalls",
    "stat-async-scans",
    "stat-direct-scans",
    "stat-async-reclaims",
    "stat-direct-reclaims",
];
/// One record: le16 tag, le64 value, packed.
pub const STAT_RECORD_SIZE: usize = 10;
/// Records read from one buffer at most; a longer buffer is read no further (Firecracker
/// ed96b50d bounds it the same way).
pub const MAX_STAT_RECORDS: usize = 256;
pub const MAX_STATS_BYTES: usize = STAT_RECORD_SIZE * MAX_STAT_RECORDS;

/// The last statistics the guest reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BalloonStats {
    /// By guest tag, in [`STAT_NAMES`] order; None for a stat the last report lacked.
    pub values: [Option<u64>; STAT_COUNT],
    /// Host time of the last report, seconds since the epoch; 0 before the first.
    pub last_update: i64,
}

impl BalloonStats {
    /// The value as QEMU reports it: unreported stats are u64::MAX (18446744073709551615).
    pub fn qemu_value(&self, index: usize) -> u64 {
        self.values
            .get(index)
            .copied()
            .flatten()
            .unwrap_or(u64::MAX)
    }
}

/// Parses a stats buffer. As QEMU does, each report replaces the whole set: tags the guest
/// did not send become unset, unknown tags are ignored, a trailing partial record is ignored.
pub fn parse_stats(bytes: &[u8]) -> [Option<u64>; STAT_COUNT] {
    let mut values = [None; STAT_COUNT];
    for rec in bytes.chunks_exact(STAT_RECORD_SIZE).take(MAX_STAT_RECORDS) {
        let tag = usize::from(u16::from_le_bytes([rec[0], rec[1]]));
        let mut v = [0u8; 8];
        v.copy_from_slice(&rec[2..10]);
        if let Some(slot) = values.get_mut(tag) {
            *slot = Some(u64::from_le_bytes(v));
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(tag: u16, val: u64) -> Vec<u8> {
        let mut r = tag.to_le_bytes().to_vec();
        r.extend_from_slice(&val.to_le_bytes());
        r
    }

    #[test]
    fn parses_known_tags_and_ignores_the_rest() {
        let mut b = rec(4, 4096);
        b.extend(rec(15, 7));
        b.extend(rec(16, 99));
        b.extend(rec(0xffff, 1));
        b.extend([1, 2, 3]);
        let v = parse_stats(&b);
        assert_eq!(v[4], Some(4096));
        assert_eq!(v[15], Some(7));
        assert_eq!(v.iter().filter(|x| x.is_some()).count(), 2);
        let s = BalloonStats {
            values: v,
            last_update: 1,
        };
        assert_eq!(s.qemu_value(0), u64::MAX);
        assert_eq!(s.qemu_value(4), 4096);
        assert_eq!(s.qemu_value(99), u64::MAX);
    }

    #[test]
    fn reads_no_more_than_the_bound() {
        let mut b = Vec::new();
        for _ in 0..MAX_STAT_RECORDS {
            b.extend(rec(20, 0));
        }
        b.extend(rec(1, 5));
        assert_eq!(parse_stats(&b)[1], None);
    }
}
