//! The iteration order of QEMU's `QDict`: a 512-bucket hash table keyed by `tdb_hash`, each
//! bucket a list with the newest entry first, walked bucket by bucket. It is the order QEMU
//! writes object members in (see the monitor's JSON writer) and the order its input visitor
//! sees them (see [`crate::ghash`]).

const BUCKETS: u32 = 512;

/// QEMU's `tdb_hash()` of a key as QEMU stores it (modified UTF-8: U+0000 is `C0 80`).
fn tdb_hash(key: &str) -> u32 {
    let nul_count = key.bytes().filter(|&b| b == 0).count();
    let len = (key.len() + nul_count) as u32;
    let bytes = key.bytes().flat_map(|b| match b {
        0 => [0xC0, 0x80].into_iter().take(2),
        b => [b, 0].into_iter().take(1),
    });
    let mut value = 0x238F_13AFu32.wrapping_mul(len);
    for (i, b) in bytes.enumerate() {
        value = value.wrapping_add(u32::from(b) << ((i * 5) % 24));
    }
    1_103_515_243u32.wrapping_mul(value).wrapping_add(12345)
}

/// The hash bucket QEMU files `key` under.
pub fn qdict_bucket(key: &str) -> u32 {
    tdb_hash(key) % BUCKETS
}

/// `items` (given in insertion order, each keyed by `key`) in QDict iteration order: bucket
/// ascending, within a bucket the newest first.
pub fn qdict_order_by<T>(items: impl IntoIterator<Item = T>, key: impl Fn(&T) -> &str) -> Vec<T> {
    let mut keyed: Vec<(u32, usize, T)> = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| (qdict_bucket(key(&item)), i, item))
        .collect();
    keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    keyed.into_iter().map(|(_, _, item)| item).collect()
}
