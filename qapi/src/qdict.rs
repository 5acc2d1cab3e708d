//! The key order of QEMU's QDict, which is the order QEMU writes JSON
//! objects in (a 512-bucket hash table, walked bucket by bucket, the
//! newest key first within a bucket).  It decides, for example, that
//! a success reply reads `{"return": {}, "id": 1}` while an error
//! reads `{"id": 1, "error": ...}`.  QMP clients must not depend on
//! key order, but a byte-for-byte copy of QEMU's output needs it.

use serde_json::{Map, Value};

const BUCKETS: u32 = 512;

/// QDict's string hash (tdb_hash, from gdbm via tdb).
pub fn tdb_hash(key: &str) -> u32 {
    let bytes = key.as_bytes();
    let mut value = 0x238F_13AFu32.wrapping_mul(bytes.len() as u32);
    for (i, &b) in bytes.iter().enumerate() {
        value = value.wrapping_add(u32::from(b) << ((i * 5) % 24));
    }
    1_103_515_243u32.wrapping_mul(value).wrapping_add(12345)
}

/// The order QEMU iterates keys that were inserted in `inserted`
/// order: by bucket, and within a bucket the last inserted first.
pub fn qdict_order<'a>(inserted: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut keyed: Vec<(u32, usize, &str)> = inserted
        .into_iter()
        .enumerate()
        .map(|(i, k)| (tdb_hash(k) % BUCKETS, i, k))
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    keyed.into_iter().map(|(_, _, k)| k).collect()
}

/// Reorder every object in `value`, recursively, as QEMU would print
/// it if the keys had been inserted in their current order.
pub fn reorder(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(reorder),
        Value::Object(map) => {
            let mut old = std::mem::take(map);
            let order: Vec<String> = qdict_order(old.keys().map(String::as_str))
                .into_iter()
                .map(str::to_string)
                .collect();
            let mut new = Map::new();
            for key in order {
                if let Some(mut v) = old.remove(&key) {
                    reorder(&mut v);
                    new.insert(key, v);
                }
            }
            *map = new;
        }
        _ => {}
    }
}
