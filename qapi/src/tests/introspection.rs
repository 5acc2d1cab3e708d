//! The query-qmp-schema data: self-consistency, QEMU's masking rules,
//! and a round trip through the generated SchemaInfo type.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};

use crate::types::SchemaInfo;
use crate::visit::{FromQapi, Loc};
use crate::{schema_json, COMMANDS, EVENTS};

fn entries(schema: &Value) -> Vec<&serde_json::Map<String, Value>> {
    schema
        .as_array()
        .expect("the schema is a list")
        .iter()
        .map(|e| e.as_object().expect("entries are objects"))
        .collect()
}

fn str_of<'a>(e: &'a serde_json::Map<String, Value>, key: &str) -> &'a str {
    e.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{key} in {e:?}"))
}

/// Every type name an entry mentions.
fn references(e: &serde_json::Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    for key in ["arg-type", "ret-type", "element-type"] {
        if let Some(Value::String(s)) = e.get(key) {
            out.push(s.clone());
        }
    }
    for list in ["members", "variants"] {
        for m in e.get(list).and_then(Value::as_array).into_iter().flatten() {
            if let Some(Value::String(t)) = m.get("type") {
                out.push(t.clone());
            }
        }
    }
    out
}

pub fn check_consistent(schema: &Value, commands: &[&str], events: &[&str]) {
    let list = entries(schema);
    let mut defined = HashSet::new();
    for e in &list {
        assert!(defined.insert(str_of(e, "name")), "duplicate {e:?}");
    }
    for e in &list {
        for r in references(e) {
            assert!(
                defined.contains(r.as_str()),
                "{r} (used by {}) is not defined",
                str_of(e, "name")
            );
        }
        match str_of(e, "meta-type") {
            "command" => {
                assert!(e.contains_key("arg-type") && e.contains_key("ret-type"));
                assert_ne!(
                    e.get("allow-oob"),
                    Some(&json!(false)),
                    "allow-oob only when true"
                );
            }
            "event" => assert!(e.contains_key("arg-type")),
            "array" => assert_eq!(
                str_of(e, "name"),
                format!("[{}]", str_of(e, "element-type"))
            ),
            "builtin" => {
                assert!(["str", "int", "number", "bool", "null", "any"].contains(&str_of(e, "name")))
            }
            // Type names are masked: numbers only.
            _ => assert!(str_of(e, "name").parse::<u32>().is_ok(), "{e:?}"),
        }
        for m in e
            .get("members")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(d) = m.get("default") {
                assert_eq!(d, &Value::Null);
            }
        }
    }
    // Masks are handed out densely, from 0.
    let numbers: Vec<u32> = list
        .iter()
        .filter_map(|e| str_of(e, "name").parse().ok())
        .collect();
    let max = numbers.iter().max().copied().unwrap_or(0) as usize;
    assert_eq!(numbers.len(), max + 1);
    let by_meta = |meta: &str| -> Vec<&str> {
        list.iter()
            .filter(|e| str_of(e, "meta-type") == meta)
            .map(|e| str_of(e, "name"))
            .collect()
    };
    assert_eq!(by_meta("command"), commands);
    assert_eq!(by_meta("event"), events);
}

#[test]
fn schema_is_self_consistent() {
    let commands: Vec<&str> = COMMANDS.iter().map(|c| c.name).collect();
    let events: Vec<&str> = EVENTS.iter().map(|e| e.name).collect();
    check_consistent(schema_json(), &commands, &events);
    assert_eq!(
        serde_json::from_str::<Value>(crate::schema_json_str())
            .ok()
            .as_ref(),
        Some(schema_json())
    );
}

#[test]
fn numbering_follows_qemu() {
    let list = entries(schema_json());
    let by: HashMap<&str, &serde_json::Map<String, Value>> =
        list.iter().map(|e| (str_of(e, "name"), *e)).collect();
    // The same first entities as QEMU 10.0.2, so the same numbers.
    assert_eq!(
        serde_json::Value::Object(by["query-status"].clone()),
        json!({"name": "query-status", "meta-type": "command", "arg-type": "0", "ret-type": "1"})
    );
    assert_eq!(str_of(by["SHUTDOWN"], "arg-type"), "2");
    assert_eq!(str_of(by["RESET"], "arg-type"), "3");
    assert_eq!(str_of(by["WATCHDOG"], "arg-type"), "4");
    assert_eq!(by["0"].get("members"), Some(&json!([])));
    // Sized integers show as "int".
    let memsave = by[str_of(by["memsave"], "arg-type")];
    let types: Vec<&str> = memsave["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["int", "int", "str", "int"]);
    assert_eq!(by["migrate-pause"].get("allow-oob"), Some(&json!(true)));
    assert_eq!(
        by["x-query-virtio"].get("features"),
        Some(&json!(["unstable"]))
    );
    // The enum's 'values' member carries the 'deprecated' feature.
    let schema_info = by[str_of(by["query-qmp-schema"], "ret-type").trim_matches(['[', ']'])];
    let enum_case = schema_info["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["case"] == "enum")
        .unwrap();
    let enum_info = by[enum_case["type"].as_str().unwrap()];
    assert_eq!(
        enum_info["members"][1],
        json!({"name": "values", "type": "[str]", "features": ["deprecated"]})
    );
}

#[test]
fn entries_read_back_as_schema_info() {
    for e in schema_json().as_array().unwrap() {
        let info = SchemaInfo::from_qapi(e, &Loc::ROOT).unwrap_or_else(|err| panic!("{e}: {err}"));
        assert_eq!(&crate::to_json(&info), e);
        // serde reads it the same way ("default": null included).
        let by_serde: SchemaInfo =
            serde_json::from_value(e.clone()).unwrap_or_else(|err| panic!("{e}: {err}"));
        assert_eq!(by_serde, info);
    }
}
