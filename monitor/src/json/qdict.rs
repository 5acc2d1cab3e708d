//! The iteration order of QEMU's `QDict`, which is the order QEMU writes object members in
//! and checks them in (e.g. which of several unexpected members an error names).
//!
//! A QDict is a 512-bucket hash table keyed by `tdb_hash`; each bucket is a list with the
//! newest entry first, and iteration walks the buckets in index order. So members come out
//! sorted by bucket, and members sharing a bucket in reverse insertion order. That is why
//! QEMU answers `{"return": {}, "id": 1}` but `{"id": 1, "error": {...}}`.

use serde_json::{Map, Value};

pub use qapi::qdict::qdict_bucket;

/// The members of `map` in the order QEMU would iterate an equal QDict built by inserting
/// them in `map`'s order (serde_json's `preserve_order` keeps insertion order).
pub fn qdict_order(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
    qapi::qdict::qdict_order_by(map.iter(), |(k, _)| k.as_str())
}

/// A copy of `value` with every object's members stored in QDict order, for printers that
/// write members as stored (HMP's `qom-get`). Not for [`to_qmp_string`](super::to_qmp_string),
/// which orders them itself.
pub fn in_qdict_order(value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(in_qdict_order).collect()),
        Value::Object(map) => Value::Object(
            qdict_order(map)
                .into_iter()
                .map(|(k, v)| (k.clone(), in_qdict_order(v)))
                .collect(),
        ),
        other => other.clone(),
    }
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
        assert_eq!(
            keys(&json!({"running": true, "status": ""})),
            ["status", "running"]
        );
        assert_eq!(
            keys(&json!({"name": 0, "meta-type": 0, "arg-type": 0, "ret-type": 0})),
            ["name", "ret-type", "meta-type", "arg-type"]
        );
    }

    /// Nested objects, also inside arrays, are stored in QDict order.
    #[test]
    fn copy_in_qdict_order() {
        let v = json!([{"id": 1, "error": {"desc": "d", "class": "GenericError"}}]);
        assert_eq!(
            serde_json::to_string(&in_qdict_order(&v)).unwrap_or_default(),
            r#"[{"id":1,"error":{"class":"GenericError","desc":"d"}}]"#
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
