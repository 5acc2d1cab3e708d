//! `query-qmp-schema` as clients use it (libvirt derives all its feature detection from it):
//! it must be self-consistent, list every command and event the monitor really has, describe
//! the replies and events the monitor really sends, and, for what both have, describe the
//! same shapes as QEMU 10.0.2's schema (compared structurally, since type names are numbered
//! differently).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use tests::qmp_client::{show, QmpClient};
use tests::qmp_harness::{qemu_or_skip, start_protocol, start_vmm, Impl, Server};

fn call(c: &mut QmpClient, cmd: &str) -> Value {
    let r = c.command(cmd.as_bytes());
    serde_json::from_slice(&r).unwrap_or_else(|e| panic!("{e}: {}", show(&r)))
}

fn ret(c: &mut QmpClient, cmd: &str) -> Value {
    let v = call(c, cmd);
    v.get("return")
        .cloned()
        .unwrap_or_else(|| panic!("{cmd}: {v}"))
}

/// A schema indexed by entity name.
struct Schema {
    by_name: BTreeMap<String, Value>,
    list: Vec<Value>,
}

impl Schema {
    fn fetch(c: &mut QmpClient) -> Schema {
        let list = ret(c, r#"{"execute":"query-qmp-schema"}"#)
            .as_array()
            .expect("a list")
            .clone();
        let mut by_name = BTreeMap::new();
        for e in &list {
            let name = e["name"]
                .as_str()
                .expect("every entity has a name")
                .to_string();
            assert!(
                by_name.insert(name.clone(), e.clone()).is_none(),
                "entity {name} defined twice"
            );
        }
        Schema { by_name, list }
    }

    fn get(&self, name: &str) -> &Value {
        self.by_name
            .get(name)
            .unwrap_or_else(|| panic!("type {name} is not defined"))
    }

    fn of_meta(&self, meta: &str) -> BTreeMap<String, Value> {
        self.list
            .iter()
            .filter(|e| e["meta-type"] == json!(meta))
            .map(|e| (e["name"].as_str().unwrap().to_string(), e.clone()))
            .collect()
    }

    /// Every type name an entity refers to.
    fn references(e: &Value) -> Vec<String> {
        let mut out = vec![];
        let s = |v: &Value| v.as_str().map(str::to_string);
        for key in ["arg-type", "ret-type", "element-type"] {
            if let Some(t) = e.get(key).and_then(s) {
                out.push(t);
            }
        }
        for key in ["members", "variants"] {
            if let Some(list) = e.get(key).and_then(Value::as_array) {
                for m in list {
                    if let Some(t) = m.get("type").and_then(s) {
                        out.push(t);
                    }
                }
            }
        }
        out
    }

    /// The structure of type `name` with the type names dropped: what a client can rely on.
    fn shape(&self, name: &str, stack: &mut Vec<String>) -> Value {
        if let Some(depth) = stack.iter().position(|n| n == name) {
            return json!({ "recursive": stack.len() - depth });
        }
        let e = self.get(name).clone();
        stack.push(name.to_string());
        let features = e.get("features").cloned().unwrap_or(json!([]));
        let shape = match e["meta-type"].as_str().unwrap() {
            "builtin" => json!({ "builtin": e["json-type"] }),
            "enum" => json!({ "enum": e["values"], "features": features }),
            "array" => json!({ "array": self.shape(e["element-type"].as_str().unwrap(), stack) }),
            "alternate" => {
                let mut ms: Vec<Value> = e["members"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| self.shape(m["type"].as_str().unwrap(), stack))
                    .collect();
                ms.sort_by_key(|v| v.to_string());
                json!({ "alternate": ms })
            }
            "object" => {
                let mut members = BTreeMap::new();
                for m in e["members"].as_array().unwrap() {
                    members.insert(
                        m["name"].as_str().unwrap().to_string(),
                        json!({
                            "optional": m.get("default").is_some(),
                            "type": self.shape(m["type"].as_str().unwrap(), stack),
                            "features": m.get("features").cloned().unwrap_or(json!([])),
                        }),
                    );
                }
                let mut variants = BTreeMap::new();
                if let Some(vs) = e.get("variants").and_then(Value::as_array) {
                    for v in vs {
                        variants.insert(
                            v["case"].as_str().unwrap().to_string(),
                            self.shape(v["type"].as_str().unwrap(), stack),
                        );
                    }
                }
                json!({
                    "object": members,
                    "tag": e.get("tag").cloned().unwrap_or(Value::Null),
                    "variants": variants,
                    "features": features,
                })
            }
            other => panic!("{name}: meta-type {other} is not a type"),
        };
        stack.pop();
        shape
    }

    /// Whether `v` is a valid value of type `name`; the error says where it is not.
    fn validate(&self, v: &Value, name: &str, at: &str) -> Result<(), String> {
        let e = self.get(name);
        let bad = |why: &str| Err(format!("{at}: {why} (type {name}: {e}); value {v}"));
        match e["meta-type"].as_str().unwrap() {
            "builtin" => {
                let ok = match e["json-type"].as_str().unwrap() {
                    "string" => v.is_string(),
                    "int" => v.is_i64() || v.is_u64(),
                    "number" => v.is_number(),
                    "boolean" => v.is_boolean(),
                    "null" => v.is_null(),
                    "value" => true,
                    other => return bad(&format!("unknown json-type {other}")),
                };
                if ok {
                    Ok(())
                } else {
                    bad("wrong JSON type")
                }
            }
            "enum" => match v.as_str() {
                Some(s) if e["values"].as_array().unwrap().contains(&json!(s)) => Ok(()),
                _ => bad("not one of the enum's values"),
            },
            "array" => match v.as_array() {
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.validate(
                            item,
                            e["element-type"].as_str().unwrap(),
                            &format!("{at}[{i}]"),
                        )?;
                    }
                    Ok(())
                }
                None => bad("not an array"),
            },
            "alternate" => {
                for m in e["members"].as_array().unwrap() {
                    if self.validate(v, m["type"].as_str().unwrap(), at).is_ok() {
                        return Ok(());
                    }
                }
                bad("matches no alternative")
            }
            "object" => {
                let Some(obj) = v.as_object() else {
                    return bad("not an object");
                };
                let mut members: Vec<Value> = e["members"].as_array().unwrap().clone();
                if let (Some(tag), Some(vs)) = (e.get("tag"), e.get("variants")) {
                    let tag_value = obj
                        .get(tag.as_str().unwrap())
                        .cloned()
                        .unwrap_or(Value::Null);
                    if let Some(var) = vs
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|x| x["case"] == tag_value)
                    {
                        let vt = self.get(var["type"].as_str().unwrap());
                        members.extend(vt["members"].as_array().unwrap().iter().cloned());
                    }
                }
                for m in &members {
                    let key = m["name"].as_str().unwrap();
                    match obj.get(key) {
                        Some(val) => {
                            self.validate(val, m["type"].as_str().unwrap(), &format!("{at}.{key}"))?
                        }
                        None if m.get("default").is_some() => {}
                        None => return bad(&format!("member {key} missing")),
                    }
                }
                for key in obj.keys() {
                    if !members.iter().any(|m| m["name"] == json!(key)) {
                        return bad(&format!("member {key} not in the schema"));
                    }
                }
                Ok(())
            }
            other => bad(&format!("meta-type {other} is not a type")),
        }
    }

    /// Whether a command can be called with no arguments.
    fn takes_no_required_args(&self, cmd: &Value) -> bool {
        let args = self.get(cmd["arg-type"].as_str().unwrap());
        args["members"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m.get("default").is_some())
            && args.get("variants").is_none()
    }
}

fn vmm_client(tag: &str, extra: &[&str]) -> (Server, QmpClient) {
    let s = start_vmm(tag, extra);
    let c = s.client();
    (s, c)
}

#[test]
fn schema_is_self_consistent_and_lists_every_command() {
    let (_s, mut c) = vmm_client("schema", &["-S", "-serial", "null"]);
    let schema = Schema::fetch(&mut c);
    // Every reference resolves, and to a type.
    for e in &schema.list {
        for t in Schema::references(e) {
            let target = schema.get(&t);
            let meta = target["meta-type"].as_str().unwrap();
            assert!(
                !matches!(meta, "command" | "event"),
                "{} refers to {t}, a {meta}",
                e["name"]
            );
        }
        let meta = e["meta-type"].as_str().expect("meta-type");
        assert!(
            matches!(
                meta,
                "builtin" | "enum" | "array" | "object" | "alternate" | "command" | "event"
            ),
            "{e}"
        );
        match meta {
            "command" => {
                assert!(
                    e["arg-type"].is_string() && e["ret-type"].is_string(),
                    "{e}"
                );
                assert_eq!(
                    schema.get(e["arg-type"].as_str().unwrap())["meta-type"],
                    json!("object")
                );
            }
            "event" => assert!(e["arg-type"].is_string(), "{e}"),
            "enum" => {
                let values = e["values"].as_array().expect("enum values");
                let members: Vec<&Value> = e["members"]
                    .as_array()
                    .expect("enum members")
                    .iter()
                    .map(|m| &m["name"])
                    .collect();
                assert_eq!(values.iter().collect::<Vec<_>>(), members, "{e}");
            }
            _ => {}
        }
    }
    // query-commands and the schema agree exactly.
    let listed: BTreeSet<String> = ret(&mut c, r#"{"execute":"query-commands"}"#)
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect();
    let in_schema: BTreeSet<String> = schema.of_meta("command").keys().cloned().collect();
    assert_eq!(listed, in_schema, "query-commands vs query-qmp-schema");
    // OOB: the commands QEMU allows out of band say so, and only they.
    for (name, e) in schema.of_meta("command") {
        let oob = e.get("allow-oob") == Some(&json!(true));
        let want = matches!(
            name.as_str(),
            "migrate-recover" | "migrate-pause" | "yank" | "query-yank"
        );
        assert_eq!(oob, want, "allow-oob of {name}");
    }
}

/// Every event the monitor emits in these tests is in the schema, and its data matches it.
#[test]
fn emitted_events_are_in_the_schema_and_match_it() {
    let (s, mut c) = vmm_client("events", &["-S", "-serial", "null", "-no-shutdown"]);
    let schema = Schema::fetch(&mut c);
    let events = schema.of_meta("event");
    let mut seen = vec![];
    for cmd in [
        r#"{"execute":"cont"}"#,
        r#"{"execute":"stop"}"#,
        r#"{"execute":"cont"}"#,
        r#"{"execute":"system_reset"}"#,
        // Paused, so the guest does not act on the power button before `quit`.
        r#"{"execute":"stop"}"#,
        r#"{"execute":"system_powerdown"}"#,
        r#"{"execute":"quit"}"#,
    ] {
        for m in c.command_transcript(cmd.as_bytes()) {
            let v: Value = serde_json::from_slice(&m).unwrap();
            if v.get("event").is_some() {
                seen.push(v);
            }
        }
    }
    drop(s);
    let names: Vec<&str> = seen.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "RESUME",
            "STOP",
            "RESUME",
            "RESET",
            "STOP",
            "POWERDOWN",
            "SHUTDOWN"
        ]
    );
    for e in &seen {
        let name = e["event"].as_str().unwrap();
        let decl = events
            .get(name)
            .unwrap_or_else(|| panic!("event {name} is not in the schema"));
        let data = e.get("data").cloned().unwrap_or(json!({}));
        schema
            .validate(&data, decl["arg-type"].as_str().unwrap(), name)
            .unwrap();
        let ts = &e["timestamp"];
        assert!(ts["seconds"].is_i64() && ts["microseconds"].is_i64(), "{e}");
        let keys: Vec<&String> = e.as_object().unwrap().keys().collect();
        let expect_keys: &[&str] = if e.get("data").is_some() {
            &["timestamp", "event", "data"]
        } else {
            &["timestamp", "event"]
        };
        assert_eq!(keys, expect_keys, "{e}");
    }
}

/// Every command that needs no arguments and only reads (the query-* ones) answers with a
/// value of its declared return type (qmp-cmd-test.c does the same for QEMU).
#[test]
fn every_query_command_returns_its_declared_type() {
    let (_s, mut c) = vmm_client("queries", &["-serial", "null", "-smp", "2,maxcpus=4"]);
    let schema = Schema::fetch(&mut c);
    let mut problems = vec![];
    let mut called = 0;
    for (name, cmd) in schema.of_meta("command") {
        if !name.starts_with("query-") || !schema.takes_no_required_args(&cmd) {
            continue;
        }
        let reply = call(&mut c, &format!("{{\"execute\":\"{name}\"}}"));
        called += 1;
        if let Some(r) = reply.get("return") {
            if let Err(e) = schema.validate(r, cmd["ret-type"].as_str().unwrap(), &name) {
                problems.push(e);
            }
        } else {
            // Allowed failures are those QEMU has too (no balloon device here).
            let class = &reply["error"]["class"];
            if !(name == "query-balloon" && *class == json!("DeviceNotActive")) {
                problems.push(format!("{name}: {reply}"));
            }
        }
    }
    assert!(called >= 15, "only {called} query commands");
    assert!(problems.is_empty(), "{problems:#?}");
}

fn qemu_schema(q: &Path) -> Schema {
    let s = start_protocol(Impl::Qemu, Some(q), "schemaq");
    let mut c = s.client();
    c.timeout = Duration::from_secs(30);
    Schema::fetch(&mut c)
}

/// The commands and events both have take the same arguments, return the same types, carry
/// the same features and OOB flag as in QEMU's schema.
#[test]
fn shapes_match_qemus_schema_for_common_commands_and_events() {
    let Some(q) = qemu_or_skip("shapes_match_qemus_schema_for_common_commands_and_events") else {
        return;
    };
    let (_s, mut c) = vmm_client("shapes", &["-S", "-serial", "null"]);
    let ours = Schema::fetch(&mut c);
    let theirs = qemu_schema(&q);
    let mut report = String::new();
    let mut compared = 0;
    for meta in ["command", "event"] {
        let (o, t) = (ours.of_meta(meta), theirs.of_meta(meta));
        for name in o.keys() {
            if !t.contains_key(name) {
                report.push_str(&format!("{meta} {name} is not in QEMU's schema\n"));
            }
        }
        for (name, te) in &t {
            let Some(oe) = o.get(name) else { continue };
            compared += 1;
            let keys = if meta == "command" {
                &["arg-type", "ret-type"][..]
            } else {
                &["arg-type"][..]
            };
            for key in keys {
                let a = ours.shape(oe[*key].as_str().unwrap(), &mut vec![]);
                let b = theirs.shape(te[*key].as_str().unwrap(), &mut vec![]);
                if a != b {
                    report.push_str(&format!("{meta} {name} {key}:\n  vmm  {a}\n  qemu {b}\n"));
                }
            }
            for key in ["features", "allow-oob"] {
                if oe.get(key) != te.get(key) {
                    report.push_str(&format!(
                        "{meta} {name} {key}: vmm {:?} qemu {:?}\n",
                        oe.get(key),
                        te.get(key)
                    ));
                }
            }
        }
    }
    assert!(compared >= 40, "only {compared} entities in common");
    assert!(report.is_empty(), "schema differences:\n{report}");
}

/// query-commands lists the commands in QEMU's order (hash order, but the bytes are what a
/// byte-compatible monitor is judged by): QEMU's list restricted to our commands.
#[test]
fn query_commands_order_follows_qemus() {
    let Some(q) = qemu_or_skip("query_commands_order_follows_qemus") else {
        return;
    };
    let (_s, mut c) = vmm_client("cmdorder", &["-S", "-serial", "null"]);
    let names = |v: Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect()
    };
    let ours = names(ret(&mut c, r#"{"execute":"query-commands"}"#));
    let qs = start_protocol(Impl::Qemu, Some(&q), "cmdorderq");
    let mut qc = qs.client();
    let theirs: Vec<String> = names(ret(&mut qc, r#"{"execute":"query-commands"}"#))
        .into_iter()
        .filter(|n| ours.contains(n))
        .collect();
    assert_eq!(ours, theirs);
}
