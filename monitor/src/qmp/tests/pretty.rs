//! `pretty=on` monitors: bytes measured on QEMU 10.0.2, and the re-indenter against the JSON
//! writer's own pretty mode.

use super::harness::{version, zero_timestamps, Client, Rng};
use crate::json::{to_qmp_pretty_string, to_qmp_string};
use crate::qmp::pretty::pretty_into;
use crate::qmp::{QmpSession, SessionConfig};
use serde_json::{json, Map, Value};

const PRETTY: SessionConfig = SessionConfig {
    pretty: true,
    oob_offered: true,
};

#[test]
fn measured_pretty_output() {
    assert_eq!(
        String::from_utf8(QmpSession::new(PRETTY).greeting(&version())).unwrap_or_default(),
        "{\r\n    \"QMP\": {\r\n        \"version\": {\r\n            \"qemu\": {\r\n                \"micro\": 2,\r\n                \"minor\": 0,\r\n                \"major\": 10\r\n            },\r\n            \"package\": \"Debian 1:10.0.2+ds-2+deb13u1~bpo12+1\"\r\n        },\r\n        \"capabilities\": [\r\n            \"oob\"\r\n        ]\r\n    }\r\n}\r\n"
    );
    let mut c = Client::new(PRETTY);
    let cases: [(&[u8], &str); 6] = [
        (
            b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]}}",
            "{\r\n    \"return\": {\r\n    }\r\n}\r\n",
        ),
        (
            b"{\"execute\":\"qmp_capabilities\",\"id\":[1,{\"b\":[],\"a\":{}},[]]}",
            "{\r\n    \"id\": [\r\n        1,\r\n        {\r\n            \"a\": {\r\n            },\r\n            \"b\": [\r\n            ]\r\n        },\r\n        [\r\n        ]\r\n    ],\r\n    \"error\": {\r\n        \"class\": \"CommandNotFound\",\r\n        \"desc\": \"Capabilities negotiation is already complete, command ignored\"\r\n    }\r\n}\r\n",
        ),
        (
            b"{\"execute\":\"query-version\",\"id\":\"a\\u00e9\"}",
            "{\r\n    \"return\": {\r\n        \"qemu\": {\r\n            \"micro\": 2,\r\n            \"minor\": 0,\r\n            \"major\": 10\r\n        },\r\n        \"package\": \"Debian 1:10.0.2+ds-2+deb13u1~bpo12+1\"\r\n    },\r\n    \"id\": \"a\\u00E9\"\r\n}\r\n",
        ),
        (
            b"{\"execute\":\"query-name\",\"id\":{}}",
            "{\r\n    \"return\": {\r\n    },\r\n    \"id\": {\r\n    }\r\n}\r\n",
        ),
        (
            b"{\"execute\":\"stop\"}",
            "{\r\n    \"timestamp\": {\r\n        \"seconds\": 0,\r\n        \"microseconds\": 0\r\n    },\r\n    \"event\": \"STOP\"\r\n}\r\n{\r\n    \"return\": {\r\n    }\r\n}\r\n",
        ),
        (
            b"{]",
            "{\r\n    \"error\": {\r\n        \"class\": \"GenericError\",\r\n        \"desc\": \"JSON parse error, expecting value\"\r\n    }\r\n}\r\n",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(zero_timestamps(&c.send(input)), expected);
    }
}

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    let leaves = [
        json!(null),
        json!(true),
        json!(-17),
        json!(1.5),
        json!(18446744073709551615u64),
        json!(""),
        json!("a, b: {c} [d]"),
        json!("quote \" backslash \\ end\\"),
        json!("\u{e9}\n\t,"),
    ];
    match if depth > 3 { 0 } else { rng.below(4) } {
        0 | 1 => rng.pick(&leaves).clone(),
        2 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let keys = [
                "a", "b", "id", "return", ",", "{\"", "micro", "minor", "major",
            ];
            let mut map = Map::new();
            for _ in 0..rng.below(5) {
                map.insert(rng.pick(&keys).to_string(), random_value(rng, depth + 1));
            }
            Value::Object(map)
        }
    }
}

#[test]
fn reindenting_matches_the_pretty_writer() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for _ in 0..2000 {
        let value = random_value(&mut rng, 0);
        let mut got = Vec::new();
        pretty_into(&to_qmp_string(&value), &mut got);
        let want = to_qmp_pretty_string(&value).replace('\n', "\r\n");
        assert_eq!(String::from_utf8_lossy(&got), want, "{value}");
    }
}
