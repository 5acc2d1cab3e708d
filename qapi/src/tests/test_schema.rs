//! The generator on the test schema: every integer width, numbers,
//! null, any, alternates, struct bases, a union with a named base,
//! recursion, boxed arguments and features.

use serde_json::{json, Value};

use super::obj;
use crate::test_schema::commands::{parse_command, Command, COMMANDS};
use crate::test_schema::events::{Event, EVENTS};
use crate::test_schema::types::*;

fn desc(name: &str, args: Value) -> String {
    match parse_command(name, &obj(args)) {
        Ok(_) => "ok".to_string(),
        Err(e) => e.desc,
    }
}

fn ints(member: &str, v: Value) -> String {
    desc("test-ints", json!({ member: v }))
}

#[test]
fn integer_ranges() {
    // In range at both ends.
    for (m, lo, hi) in [
        ("i8", json!(-128), json!(127)),
        ("i16", json!(-32768), json!(32767)),
        ("i32", json!(-2147483648i64), json!(2147483647)),
        ("i64", json!(i64::MIN), json!(i64::MAX)),
        ("u8", json!(0), json!(255)),
        ("u16", json!(0), json!(65535)),
        ("u32", json!(0), json!(4294967295u64)),
        ("u64", json!(0), json!(u64::MAX)),
        ("sz", json!(0), json!(u64::MAX)),
    ] {
        assert_eq!(ints(m, lo), "ok", "{m}");
        assert_eq!(ints(m, hi), "ok", "{m}");
    }
    // Signed: read as int64, then "expects intN_t" with the bare name.
    assert_eq!(ints("i8", json!(128)), "Parameter 'i8' expects int8_t");
    assert_eq!(
        ints("i16", json!(-32769)),
        "Parameter 'i16' expects int16_t"
    );
    assert_eq!(
        ints("i32", json!(2147483648u64)),
        "Parameter 'i32' expects int32_t"
    );
    assert_eq!(
        ints("i8", json!(1.5)),
        "Invalid parameter type for 'i8', expected: integer"
    );
    assert_eq!(
        ints("i64", json!(u64::MAX)),
        "Invalid parameter type for 'i64', expected: integer"
    );
    assert_eq!(
        ints("int", json!("1")),
        "Invalid parameter type for 'int', expected: integer"
    );
    // Unsigned: read as uint64 (negative values wrap), then checked.
    assert_eq!(ints("u8", json!(256)), "Parameter 'u8' expects uint8_t");
    assert_eq!(ints("u8", json!(-1)), "Parameter 'u8' expects uint8_t");
    assert_eq!(
        ints("u16", json!(65536)),
        "Parameter 'u16' expects uint16_t"
    );
    assert_eq!(ints("u32", json!(-1)), "Parameter 'u32' expects uint32_t");
    assert_eq!(ints("u8", json!("x")), "Parameter 'u8' expects uint64");
    assert_eq!(ints("u64", json!(1.5)), "Parameter 'u64' expects uint64");
    assert_eq!(ints("sz", json!(true)), "Parameter 'sz' expects uint64");
    match parse_command("test-ints", &obj(json!({"u64": -1, "sz": -2}))).unwrap() {
        Command::TestInts(t) => {
            assert_eq!(t.u64, Some(u64::MAX));
            assert_eq!(t.sz, Some(u64::MAX - 1));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn numbers_and_bools() {
    assert_eq!(ints("num", json!(1)), "ok");
    assert_eq!(ints("num", json!(u64::MAX)), "ok");
    assert_eq!(ints("num", json!(-2.5e10)), "ok");
    assert_eq!(
        ints("num", json!("1")),
        "Invalid parameter type for 'num', expected: number"
    );
    assert_eq!(
        ints("b", json!(0)),
        "Invalid parameter type for 'b', expected: boolean"
    );
    match parse_command("test-ints", &obj(json!({"num": 3}))).unwrap() {
        Command::TestInts(t) => assert_eq!(t.num, Some(3.0)),
        other => panic!("{other:?}"),
    }
}

fn nest(extra: Value) -> String {
    let mut args = json!({"child": {"base-a": "a", "child-b": 1}});
    if let (Some(a), Value::Object(e)) = (args.as_object_mut(), extra) {
        a.extend(e);
    }
    desc("test-nest", args)
}

#[test]
fn struct_bases_and_nesting() {
    assert_eq!(nest(json!({})), "ok");
    assert_eq!(
        desc("test-nest", json!({"child": {}})),
        "Parameter 'child.base-a' is missing"
    );
    assert_eq!(
        desc("test-nest", json!({"child": {"base-a": "a"}})),
        "Parameter 'child.child-b' is missing"
    );
    assert_eq!(
        desc(
            "test-nest",
            json!({"child": {"base-a": "a", "child-b": 1, "nested": {"leaf": 1}}})
        ),
        "Invalid parameter type for 'child.nested.leaf', expected: boolean"
    );
    let leaf = |extra: Value| {
        let mut nested = json!({"leaf": true});
        if let (Some(n), Value::Object(e)) = (nested.as_object_mut(), extra) {
            n.extend(e);
        }
        desc(
            "test-nest",
            json!({"child": {"base-a": "a", "child-b": 1, "nested": nested}}),
        )
    };
    assert_eq!(
        leaf(json!({"list": [1, 300]})),
        "Parameter 'null' expects int8_t"
    );
    assert_eq!(
        leaf(json!({"list": [1, "x"]})),
        "Invalid parameter type for 'child.nested.list[1]', expected: integer"
    );
    assert_eq!(
        leaf(json!({"enums": ["one", "three"]})),
        "Parameter 'null' does not accept value 'three'"
    );
    assert_eq!(
        leaf(json!({"type": 5})),
        "Invalid parameter type for 'child.nested.type', expected: string"
    );
    assert_eq!(
        leaf(json!({"zz": 5})),
        "Parameter 'child.nested.zz' is unexpected"
    );
    match parse_command(
        "test-nest",
        &obj(
            json!({"child": {"base-a": "a", "child-b": 1, "nested": {"leaf": true, "type": "t"}}}),
        ),
    )
    .unwrap()
    {
        Command::TestNest(a) => {
            assert_eq!(a.child.base_a, "a");
            assert_eq!(
                a.child.nested.as_ref().and_then(|n| n.r#type.as_deref()),
                Some("t")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unions_with_named_base() {
    let u = |v: Value| nest(json!({ "unions": [v] }));
    assert_eq!(u(json!({"kind": "one", "x": 1})), "ok");
    assert_eq!(u(json!({"kind": "two"})), "ok");
    assert_eq!(
        u(json!({"kind": "one"})),
        "Parameter 'unions[0].x' is missing"
    );
    assert_eq!(
        u(json!({"kind": "two", "x": 1})),
        "Parameter 'unions[0].x' is unexpected"
    );
    assert_eq!(
        u(json!({"kind": "nine"})),
        "Parameter 'kind' does not accept value 'nine'"
    );
    assert_eq!(u(json!({"x": 1})), "Parameter 'unions[0].kind' is missing");
    // Base members (common) are read before the branch (x).
    assert_eq!(
        u(json!({"kind": "one", "common": 5})),
        "Invalid parameter type for 'unions[0].common', expected: string"
    );
    // Boxed: the union's members are the arguments.
    assert_eq!(desc("test-union-args", json!({"kind": "x86_64"})), "ok");
    assert_eq!(
        desc("test-union-args", json!({"kind": "one"})),
        "Parameter 'x' is missing"
    );
    match parse_command(
        "test-union-args",
        &obj(json!({"kind": "one", "x": 7, "common": "c"})),
    )
    .unwrap()
    {
        Command::TestUnionArgs(TestUnion {
            common,
            kind: TestUnionVariant::One(b),
        }) => {
            assert_eq!(common.as_deref(), Some("c"));
            assert_eq!(b.x, 7);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn alternates() {
    let alt = |v: Value| nest(json!({ "alt": v }));
    for ok in [
        json!("s"),
        json!(null),
        json!(5),
        json!(true),
        json!({"x": 1}),
    ] {
        assert_eq!(alt(ok.clone()), "ok", "{ok}");
    }
    assert_eq!(
        alt(json!([])),
        "Invalid parameter type for 'alt', expected: TestAlt"
    );
    assert_eq!(
        alt(json!(1.5)),
        "Invalid parameter type for 'alt', expected: integer"
    );
    assert_eq!(alt(json!({})), "Parameter 'alt.x' is missing");
    assert_eq!(
        alt(json!({"x": 1, "y": 2})),
        "Parameter 'alt.y' is unexpected"
    );
    let alt_enum = |v: Value| nest(json!({ "alt-enum": v }));
    assert_eq!(alt_enum(json!("two")), "ok");
    assert_eq!(alt_enum(json!(2.5)), "ok");
    assert_eq!(
        alt_enum(json!("zz")),
        "Parameter 'alt-enum' does not accept value 'zz'"
    );
    assert_eq!(
        alt_enum(json!(true)),
        "Invalid parameter type for 'alt-enum', expected: TestAltEnum"
    );
    match parse_command(
        "test-nest",
        &obj(
            json!({"child": {"base-a": "a", "child-b": 1}, "alt": null, "null": null, "any": [1]}),
        ),
    )
    .unwrap()
    {
        Command::TestNest(a) => {
            assert_eq!(a.alt, Some(TestAlt::N(crate::Null)));
            assert_eq!(a.null, Some(crate::Null));
            assert_eq!(a.any, Some(json!([1])));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        nest(json!({"null": 0})),
        "Invalid parameter type for 'null', expected: null"
    );
    // serde: untagged alternates, null included.
    assert_eq!(crate::to_json(&TestAlt::N(crate::Null)), Value::Null);
    assert_eq!(
        crate::to_json(&TestAlt::O(TestBranchOne { x: 2 })),
        json!({"x": 2})
    );
    assert_eq!(
        serde_json::from_value::<TestAlt>(json!(3)).ok(),
        Some(TestAlt::I(3))
    );
}

#[test]
fn recursion_and_tables() {
    let r = TestRecursive {
        name: "a".into(),
        next: Some(Box::new(TestRecursive {
            name: "b".into(),
            next: None,
            children: None,
        })),
        children: Some(vec![]),
    };
    assert_eq!(
        crate::to_json(&r),
        json!({"name": "a", "next": {"name": "b"}, "children": []})
    );
    let flags = COMMANDS.iter().find(|c| c.name == "test-flags").unwrap();
    assert!(flags.allow_oob && flags.allow_preconfig);
    assert_eq!(flags.features, &["unstable"]);
    assert_eq!(flags.ret_type, Some("[size]"));
    let no_reply = COMMANDS.iter().find(|c| c.name == "test-no-reply").unwrap();
    assert!(!no_reply.success_response);
    assert_eq!(
        EVENTS
            .iter()
            .find(|e| e.name == "TEST_NAMED")
            .unwrap()
            .features,
        &["deprecated"]
    );
    assert_eq!(
        Event::TestNamed(TestBranchOne { x: 1 }).data(),
        Some(json!({"x": 1}))
    );
    assert_eq!(Event::TestEmpty.data(), None);
    assert_eq!(TestEnum::X86_64.as_str(), "x86_64");
}

#[test]
fn introspection() {
    let schema: Value = serde_json::from_str(crate::test_schema::SCHEMA_JSON).unwrap();
    let commands: Vec<&str> = COMMANDS.iter().map(|c| c.name).collect();
    let events: Vec<&str> = EVENTS.iter().map(|e| e.name).collect();
    super::introspection::check_consistent(&schema, &commands, &events);
    let list = schema.as_array().unwrap();
    let find = |name: &str| list.iter().find(|e| e["name"] == name).unwrap();
    // Arrays of any integer type are "[int]"; features everywhere.
    assert_eq!(find("test-nest")["ret-type"], "[int]");
    assert_eq!(find("test-flags")["ret-type"], "[int]");
    assert_eq!(find("test-flags")["allow-oob"], true);
    assert_eq!(find("test-flags")["features"], json!(["unstable"]));
    assert_eq!(find("TEST_NAMED")["features"], json!(["deprecated"]));
    let args = find(find("test-ints")["arg-type"].as_str().unwrap());
    let types: Vec<&str> = args["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "int", "int", "int", "int", "int", "int", "int", "int", "int", "int", "number", "bool",
            "str"
        ]
    );
    let nest_args = find(find("test-nest")["arg-type"].as_str().unwrap());
    let member = |n: &str| {
        nest_args["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == n)
            .unwrap()
            .clone()
    };
    let alt = find(member("alt")["type"].as_str().unwrap());
    assert_eq!(alt["meta-type"], "alternate");
    assert_eq!(alt["members"].as_array().unwrap().len(), 5);
    assert_eq!(
        find(member("alt-enum")["type"].as_str().unwrap())["features"],
        json!(["unstable"])
    );
    let union = find(
        find(member("unions")["type"].as_str().unwrap())["element-type"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(union["tag"], "kind");
    let cases: Vec<&str> = union["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["case"].as_str().unwrap())
        .collect();
    assert_eq!(cases, ["one", "two", "old", "x86_64"]);
    let kind = find(union["members"][0]["type"].as_str().unwrap());
    assert_eq!(
        kind["members"][2],
        json!({"name": "old", "features": ["deprecated"]})
    );
    // Child's members: its base's first.
    let child = find(member("child")["type"].as_str().unwrap());
    assert_eq!(child["members"][0]["name"], "base-a");
    let nested = find(child["members"][2]["type"].as_str().unwrap());
    assert_eq!(
        nested["members"][3],
        json!({"name": "type", "type": "str", "default": null, "features": ["unstable"]})
    );
}
