//! Argument checking on the real schema, with the texts QEMU 10.0.2
//! gave for the same input.

use serde_json::json;

use super::{desc, obj};
use crate::types::{QMPCapability, ShutdownCause, YankInstanceVariant};
use crate::{parse_command, Command, ErrorClass};

#[test]
fn unknown_command() {
    let e = parse_command("no-such-cmd", obj(json!({}))).unwrap_err();
    assert_eq!(e.class, ErrorClass::CommandNotFound);
    assert_eq!(e.desc, "The command no-such-cmd has not been found");
    assert_eq!(
        e.to_json(),
        json!({"class": "CommandNotFound", "desc": "The command no-such-cmd has not been found"})
    );
}

#[test]
fn commands_without_arguments() {
    assert_eq!(
        parse_command("query-status", obj(json!({}))),
        Ok(Command::QueryStatus)
    );
    assert_eq!(
        desc("query-status", json!({"bogus": 1})),
        "Parameter 'bogus' is unexpected"
    );
    assert_eq!(
        desc("stop", json!({"zzbogus": 1})),
        "Parameter 'zzbogus' is unexpected"
    );
}

#[test]
fn missing() {
    assert_eq!(
        desc("human-monitor-command", json!({})),
        "Parameter 'command-line' is missing"
    );
    // Missing comes before unexpected: members are read first.
    assert_eq!(
        desc("human-monitor-command", json!({"bogus": 1})),
        "Parameter 'command-line' is missing"
    );
    assert_eq!(
        desc(
            "qom-set",
            json!({"path": "/machine", "property": "rtc-time"})
        ),
        "Parameter 'value' is missing"
    );
    assert_eq!(
        desc("memsave", json!({"size": "x"})),
        "Parameter 'val' is missing"
    );
    assert_eq!(
        desc("remove-fd", json!({})),
        "Parameter 'fdset-id' is missing"
    );
    assert_eq!(
        desc("yank", json!({"zz": 1})),
        "Parameter 'instances' is missing"
    );
}

#[test]
fn unexpected() {
    assert_eq!(
        desc(
            "human-monitor-command",
            json!({"command-line": "info version", "bogus": 1})
        ),
        "Parameter 'bogus' is unexpected"
    );
}

#[test]
fn wrong_json_type_for_every_type() {
    let hmp = |v| desc("human-monitor-command", json!({"command-line": v}));
    for v in [
        json!(5),
        json!(1.5),
        json!(true),
        json!(null),
        json!([]),
        json!({}),
    ] {
        assert_eq!(
            hmp(v),
            "Invalid parameter type for 'command-line', expected: string"
        );
    }
    let cpu = |v| {
        desc(
            "human-monitor-command",
            json!({"command-line": "info name", "cpu-index": v}),
        )
    };
    for v in [
        json!("x"),
        json!(1.5),
        json!(1.0),
        json!(true),
        json!(null),
        json!([]),
        json!({}),
    ] {
        assert_eq!(
            cpu(v),
            "Invalid parameter type for 'cpu-index', expected: integer"
        );
    }
    // 2^63 is a uint64 to QEMU's parser, not an int64.
    assert_eq!(
        cpu(json!(9223372036854775808u64)),
        "Invalid parameter type for 'cpu-index', expected: integer"
    );
    assert_eq!(cpu(json!(-9223372036854775808i64)), "ok");
    let abs = |v| desc("qom-list-types", json!({"abstract": v}));
    for v in [json!("x"), json!(1), json!(null)] {
        assert_eq!(
            abs(v),
            "Invalid parameter type for 'abstract', expected: boolean"
        );
    }
    assert_eq!(
        desc("qmp_capabilities", json!({"enable": null})),
        "Invalid parameter type for 'enable', expected: array"
    );
    assert_eq!(
        desc("yank", json!({"instances": {}})),
        "Invalid parameter type for 'instances', expected: array"
    );
    assert_eq!(
        desc("yank", json!({"instances": [5]})),
        "Invalid parameter type for 'instances[0]', expected: object"
    );
    assert_eq!(
        desc("query-machines", json!({"compat-props": 5})),
        "Invalid parameter type for 'compat-props', expected: boolean"
    );
    assert_eq!(
        desc("add-fd", json!({"fdset-id": 1.5})),
        "Invalid parameter type for 'fdset-id', expected: integer"
    );
}

#[test]
fn integers() {
    // balloon's value is 'int': the "expects a size" check for values
    // <= 0 belongs to the command, after the balloon device check.
    assert_eq!(desc("balloon", json!({"value": -5})), "ok");
    assert_eq!(
        desc("balloon", json!({"value": "x"})),
        "Invalid parameter type for 'value', expected: integer"
    );
    assert_eq!(
        desc("balloon", json!({"value": 18446744073709551615u64})),
        "Invalid parameter type for 'value', expected: integer"
    );
    // memsave's val is uint64 and size is size: negative values wrap,
    // other types get a range-style message.
    let m = parse_command(
        "memsave",
        obj(json!({"val": -1, "size": 16, "filename": "f"})),
    )
    .unwrap();
    match m {
        Command::Memsave(a) => {
            assert_eq!(a.val, u64::MAX);
            assert_eq!(a.size, 16);
            assert_eq!(a.cpu_index, None);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        desc(
            "memsave",
            json!({"val": 18446744073709551615u64, "size": 1, "filename": "x"})
        ),
        "ok"
    );
    assert_eq!(
        desc("memsave", json!({"val": "x", "size": 1, "filename": "x"})),
        "Parameter 'val' expects uint64"
    );
    assert_eq!(
        desc("memsave", json!({"val": 1, "size": "x"})),
        "Parameter 'size' expects uint64"
    );
    assert_eq!(
        desc("memsave", json!({"val": 1, "size": 1.5})),
        "Parameter 'size' expects uint64"
    );
    assert_eq!(
        desc("pmemsave", json!({"val": 1, "size": "x"})),
        "Parameter 'size' expects uint64"
    );
    assert_eq!(
        desc("memsave", json!({"val": -1, "size": -1, "filename": 5})),
        "Invalid parameter type for 'filename', expected: string"
    );
}

#[test]
fn enums_and_lists() {
    assert_eq!(
        desc("qmp_capabilities", json!({"enable": ["foo"]})),
        "Parameter 'null' does not accept value 'foo'"
    );
    assert_eq!(
        desc("qmp_capabilities", json!({"enable": ["oob", "bar"]})),
        "Parameter 'null' does not accept value 'bar'"
    );
    assert_eq!(
        desc("qmp_capabilities", json!({"enable": [5]})),
        "Invalid parameter type for 'enable[0]', expected: string"
    );
    assert_eq!(
        desc("qmp_capabilities", json!({"enable": ["oob", 5]})),
        "Invalid parameter type for 'enable[1]', expected: string"
    );
    assert_eq!(
        desc("qmp_capabilities", json!({"enable": "oob"})),
        "Invalid parameter type for 'enable', expected: array"
    );
    match parse_command("qmp_capabilities", obj(json!({"enable": ["oob"]}))).unwrap() {
        Command::QmpCapabilities(a) => assert_eq!(a.enable, Some(vec![QMPCapability::Oob])),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        parse_command("qmp_capabilities", obj(json!({}))),
        Ok(Command::QmpCapabilities(Default::default()))
    );
}

#[test]
fn nested_names() {
    let yank = |v| desc("yank", json!({"instances": v}));
    assert_eq!(
        yank(json!([{}])),
        "Parameter 'instances[0].type' is missing"
    );
    // Enum messages use the bare member name, not the path.
    assert_eq!(
        yank(json!([{"type": "foo"}])),
        "Parameter 'type' does not accept value 'foo'"
    );
    assert_eq!(
        yank(json!([{"type": 5}])),
        "Invalid parameter type for 'instances[0].type', expected: string"
    );
    assert_eq!(
        yank(json!([{"type": "chardev"}])),
        "Parameter 'instances[0].id' is missing"
    );
    assert_eq!(
        yank(json!([{"type": "chardev", "id": "x", "bogus": 1}])),
        "Parameter 'instances[0].bogus' is unexpected"
    );
    assert_eq!(
        yank(json!([{"type": "chardev", "id": "x"}, {"type": "chardev", "id": 5}])),
        "Invalid parameter type for 'instances[1].id', expected: string"
    );
    assert_eq!(
        yank(json!([{"type": "chardev", "id": "x"}, 5])),
        "Invalid parameter type for 'instances[1]', expected: object"
    );
    // An inner object's leftover is found when that object ends, before
    // the outer one is checked.
    assert_eq!(
        desc(
            "yank",
            json!({"instances": [{"type": "chardev", "id": "x", "bogus": 1}], "zz": 1})
        ),
        "Parameter 'instances[0].bogus' is unexpected"
    );
    match parse_command(
        "yank",
        obj(
            json!({"instances": [{"type": "migration"}, {"type": "block-node", "node-name": "n"}]}),
        ),
    )
    .unwrap()
    {
        Command::Yank(a) => {
            assert_eq!(a.instances[0].r#type, YankInstanceVariant::Migration);
            assert!(
                matches!(&a.instances[1].r#type, YankInstanceVariant::BlockNode(b) if b.node_name == "n")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn any_takes_everything() {
    for v in [json!(null), json!([1, {"a": 2}]), json!("s"), json!(1.5)] {
        match parse_command(
            "qom-set",
            obj(json!({"path": "/m", "property": "p", "value": v.clone()})),
        )
        .unwrap()
        {
            Command::QomSet(a) => assert_eq!(a.value, v),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn enum_strings() {
    assert_eq!(ShutdownCause::HostQmpQuit.as_str(), "host-qmp-quit");
    assert_eq!(
        ShutdownCause::parse("guest-reset"),
        Some(ShutdownCause::GuestReset)
    );
    assert_eq!(ShutdownCause::parse("nope"), None);
    assert_eq!(ShutdownCause::ALL.len(), 11);
    assert_eq!(crate::types::SysEmuTarget::X86_64.to_string(), "x86_64");
}
