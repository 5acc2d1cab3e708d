//! The iteration order of QEMU's `QDict`, which is the order QEMU writes object members in
//! and checks them in (e.g. which of several unexpected members an error names).
//!
//! A QDict is a 512-bucket hash table keyed by `tdb_hash`; each bucket is a list with the
//! newest entry first, and iteration walks the buckets in index order. So members come out
//! sorted by bucket, and members sharing a bucket in reverse insertion order. That is why
//! QEMU answers `{"return": {}, "id": 1}` but `{"id": 1, "error": {...}}`.

use serde_json::{Map, Value};

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

/// The members of `map` in the order QEMU would iterate an equal QDict built by inserting
/// them in `map`'s order (serde_json's `preserve_order` keeps insertion order).
pub fn qdict_order(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut members: Vec<(u32, usize, (&String, &Value))> = map
        .iter()
        .enumerate()
        .map(|(index, member)| (qdict_bucket(member.0), index, member))
        .collect();
    // Bucket ascending; within a bucket the newest first.
    members.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    members.into_iter().map(|(_, _, member)| member).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(v: &Value) -> Vec<&str> {
        let map = v.as_object().expect("object");
        qdict_order(map)
            .into_iter()
            .map(|(k, _)| k.as_str())
            .collect()
    }

    /// Orders measured on QEMU 10.0.2 (replies, greeting, and echoed `id` objects).
    #[test]
    fn matches_measured_orders() {
        assert_eq!(keys(&json!({"id": 1, "return": {}})), ["return", "id"]);
        assert_eq!(keys(&json!({"error": {}, "id": 1})), ["id", "error"]);
        assert_eq!(keys(&json!({"desc": "", "class": ""})), ["class", "desc"]);
        // "micro" and "minor" share a bucket; QEMU inserts major, minor, micro.
        assert_eq!(
            keys(&json!({"major": 10, "minor": 0, "micro": 2})),
            ["micro", "minor", "major"]
        );
        assert_eq!(
            keys(&json!({"event": "", "data": {}, "timestamp": {}})),
            ["timestamp", "event", "data"]
        );
        assert_eq!(
            keys(&json!({"b": 1, "a": 2, "c": 3, "id": 4, "return": 5, "error": 6})),
            ["a", "b", "return", "c", "id", "error"]
        );
        assert_eq!(
            keys(&json!({"z": 1, "y": 2, "x": 3, "w": 4, "v": 5, "u": 6, "t": 7, "s": 8})),
            ["w", "s", "x", "t", "y", "u", "z", "v"]
        );
    }

    /// QEMU checks request members in this order: `{"execute":"query-name","zzz":1,
    /// "aaa":2,"bbb":3}` got "QMP input member 'bbb' is unexpected", and without `bbb`,
    /// "... 'aaa' ...".
    #[test]
    fn first_unexpected_member() {
        let first_extra = |v: Value| {
            let map = v.as_object().cloned().unwrap_or_default();
            let order = qdict_order(&map);
            order
                .iter()
                .map(|(k, _)| k.to_string())
                .find(|k| k != "execute")
        };
        let v = json!({"execute": "query-name", "zzz": 1, "aaa": 2, "bbb": 3});
        assert_eq!(first_extra(v).as_deref(), Some("bbb"));
        let v = json!({"execute": "query-name", "zzz": 1, "aaa": 2});
        assert_eq!(first_extra(v).as_deref(), Some("aaa"));
    }
}
