//! Output measured on QEMU 10.0.2, compact and with `-mon ...,mode=control,pretty=on`. QEMU
//! sends `\r\n` where these have `\n`, plus a final `\r\n` (added by the caller).

use crate::json::{to_qmp_pretty_string, to_qmp_string};
use serde_json::{json, Value};

const PACKAGE: &str = "Debian 1:10.0.2+ds-2+deb13u1~bpo12+1";

fn greeting() -> Value {
    // Inserted in the order QEMU's code inserts (struct field order), not output order.
    json!({"QMP": {
        "version": {"qemu": {"major": 10, "minor": 0, "micro": 2}, "package": PACKAGE},
        "capabilities": ["oob"]
    }})
}

fn wire(pretty: &str) -> String {
    pretty.replace('\n', "\r\n") + "\r\n"
}

#[test]
fn compact_replies() {
    assert_eq!(
        to_qmp_string(&greeting()),
        format!(
            "{{\"QMP\": {{\"version\": {{\"qemu\": {{\"micro\": 2, \"minor\": 0, \"major\": 10}}, \
             \"package\": \"{PACKAGE}\"}}, \"capabilities\": [\"oob\"]}}}}"
        )
    );
    // Member order is QEMU's hash order whatever order the value was built in.
    assert_eq!(
        to_qmp_string(&json!({"id": 1, "return": {}})),
        r#"{"return": {}, "id": 1}"#
    );
    assert_eq!(
        to_qmp_string(&json!({"error": {"desc": "d", "class": "GenericError"}, "id": 5})),
        r#"{"id": 5, "error": {"class": "GenericError", "desc": "d"}}"#
    );
    assert_eq!(
        to_qmp_string(&json!({"return": {"running": true, "status": "running"}})),
        r#"{"return": {"status": "running", "running": true}}"#
    );
    assert_eq!(
        to_qmp_string(
            &json!({"event": "STOP", "timestamp": {"microseconds": 498374, "seconds": 1795239183}})
        ),
        r#"{"timestamp": {"seconds": 1795239183, "microseconds": 498374}, "event": "STOP"}"#
    );
    assert_eq!(
        to_qmp_string(&json!({"return": "10.0.2Debian\r\n"})),
        r#"{"return": "10.0.2Debian\r\n"}"#
    );
}

#[test]
fn string_escapes() {
    let s = "\"\\/\u{8}\u{c}\n\r\t\u{0}\u{1f}\u{7f}\u{80}é中\u{1F600}\u{10FFFD}\u{FFFF}\u{FDD0}\u{1FFFE}~";
    assert_eq!(
        to_qmp_string(&json!(s)),
        r#""\"\\/\b\f\n\r\t\u0000\u001F\u007F\u0080\u00E9\u4E2D\uD83D\uDE00\uDBFF\uDFFD\uFFFD\uFFFD\uFFFD~""#
    );
    assert_eq!(to_qmp_string(&json!("")), r#""""#);
}

#[test]
fn pretty_greeting_and_replies() {
    let greeting_bytes = "{\r\n    \"QMP\": {\r\n        \"version\": {\r\n            \"qemu\": {\r\n                \
        \"micro\": 2,\r\n                \"minor\": 0,\r\n                \"major\": 10\r\n            },\r\n            \
        \"package\": \"Debian 1:10.0.2+ds-2+deb13u1~bpo12+1\"\r\n        },\r\n        \"capabilities\": [\r\n            \
        \"oob\"\r\n        ]\r\n    }\r\n}\r\n";
    assert_eq!(wire(&to_qmp_pretty_string(&greeting())), greeting_bytes);
    let cases: &[(Value, &str)] = &[
        (json!({"return": {}}), "{\r\n    \"return\": {\r\n    }\r\n}\r\n"),
        (json!({"return": {}, "id": []}), "{\r\n    \"return\": {\r\n    },\r\n    \"id\": [\r\n    ]\r\n}\r\n"),
        (
            json!({"return": {}, "id": [1]}),
            "{\r\n    \"return\": {\r\n    },\r\n    \"id\": [\r\n        1\r\n    ]\r\n}\r\n",
        ),
        (json!({"return": {}, "id": "s"}), "{\r\n    \"return\": {\r\n    },\r\n    \"id\": \"s\"\r\n}\r\n"),
        (
            json!({"id": 1, "error": {"class": "CommandNotFound", "desc": "The command nosuch has not been found"}}),
            "{\r\n    \"id\": 1,\r\n    \"error\": {\r\n        \"class\": \"CommandNotFound\",\r\n        \
             \"desc\": \"The command nosuch has not been found\"\r\n    }\r\n}\r\n",
        ),
        (
            json!({"return": {}, "id": {"a": [1, {"b": []}, {}, [[]], "x"], "c": {"d": {"e": 1.5}}}}),
            "{\r\n    \"return\": {\r\n    },\r\n    \"id\": {\r\n        \"a\": [\r\n            1,\r\n            \
             {\r\n                \"b\": [\r\n                ]\r\n            },\r\n            {\r\n            },\r\n            \
             [\r\n                [\r\n                ]\r\n            ],\r\n            \"x\"\r\n        ],\r\n        \
             \"c\": {\r\n            \"d\": {\r\n                \"e\": 1.5\r\n            }\r\n        }\r\n    }\r\n}\r\n",
        ),
    ];
    for (value, expected) in cases {
        assert_eq!(wire(&to_qmp_pretty_string(value)), *expected);
    }
    // A bare scalar has no line break.
    assert_eq!(to_qmp_pretty_string(&json!("s")), "\"s\"");
}
