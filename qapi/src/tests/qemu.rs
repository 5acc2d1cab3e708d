//! Comparison with a live QEMU (`qemu-system-x86_64`), when installed:
//! the introspection structure of every command and event we define,
//! and the exact errors for bad arguments, exec-oob and preconfig.
//! Without QEMU these tests print a note and pass.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use crate::{parse_command, preflight, QapiError, COMMANDS, EVENTS};

const QEMU: &str = "qemu-system-x86_64";

struct Qmp {
    child: Child,
    dir: PathBuf,
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Drop for Qmp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Qmp {
    /// Start QEMU with a QMP socket and negotiate (with OOB).  None,
    /// after a note, when QEMU is not installed.
    fn start(extra: &[&str]) -> Option<Qmp> {
        if Command::new(QEMU).arg("--version").output().is_err() {
            println!("note: {QEMU} not found; skipping the comparison with QEMU");
            return None;
        }
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "qapi-qemu-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let sock = dir.join("qmp.sock");
        let child = Command::new(QEMU)
            .args([
                "-nodefaults",
                "-machine",
                "none",
                "-display",
                "none",
                "-qmp",
            ])
            .arg(format!("unix:{},server=on,wait=off", sock.display()))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start QEMU");
        let deadline = Instant::now() + Duration::from_secs(20);
        let stream = loop {
            match UnixStream::connect(&sock) {
                Ok(s) => break s,
                Err(e) if Instant::now() > deadline => panic!("QEMU's QMP socket: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        stream
            .set_write_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let writer = stream.try_clone().expect("clone socket");
        let mut q = Qmp {
            child,
            dir,
            reader: BufReader::new(stream),
            writer,
        };
        let greeting = q.line();
        let version = &greeting["QMP"]["version"]["qemu"];
        // The schema copies QEMU 10.0; other versions differ on purpose
        // (10.1 added members), so comparing with them proves nothing.
        if (version["major"].as_u64(), version["minor"].as_u64()) != (Some(10), Some(0)) {
            println!("note: {QEMU} is not version 10.0 ({version}); skipping the comparison");
            return None;
        }
        let r = q.call(&json!({"execute": "qmp_capabilities", "arguments": {"enable": ["oob"]}}));
        assert_eq!(r, json!({"return": {}}));
        Some(q)
    }

    fn line(&mut self) -> Value {
        let mut text = String::new();
        self.reader.read_line(&mut text).expect("read from QEMU");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text:?}"))
    }

    /// Send a request; return the reply, skipping events.
    fn call(&mut self, request: &Value) -> Value {
        let mut text = request.to_string();
        text.push('\n');
        self.writer
            .write_all(text.as_bytes())
            .expect("write to QEMU");
        loop {
            let v = self.line();
            if v.get("event").is_none() {
                return v;
            }
        }
    }
}

/// A type's structure with the masked names resolved.
fn shape(by: &HashMap<String, Value>, name: &str, stack: &mut Vec<String>) -> Value {
    if stack.iter().any(|s| s == name) {
        return json!(["recursive"]);
    }
    let Some(e) = by.get(name) else {
        return json!(["undefined", name]);
    };
    stack.push(name.to_string());
    let features = e.get("features").cloned().unwrap_or(json!([]));
    let list = |key: &str| {
        e.get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let out = match e["meta-type"].as_str().unwrap_or_default() {
        "builtin" => json!(["builtin", name, e["json-type"]]),
        "array" => json!([
            "array",
            shape(by, e["element-type"].as_str().unwrap_or_default(), stack)
        ]),
        "enum" => json!(["enum", e["members"], e["values"], features]),
        "alternate" => {
            let members: Vec<Value> = list("members")
                .iter()
                .map(|m| shape(by, m["type"].as_str().unwrap_or_default(), stack))
                .collect();
            json!(["alternate", members, features])
        }
        "object" => {
            let members: Vec<Value> = list("members")
                .iter()
                .map(|m| {
                    json!([
                        m["name"],
                        m.get("default").is_some(),
                        m.get("features").cloned().unwrap_or(json!([])),
                        shape(by, m["type"].as_str().unwrap_or_default(), stack)
                    ])
                })
                .collect();
            let variants: Vec<Value> = list("variants")
                .iter()
                .map(|v| {
                    json!([
                        v["case"],
                        shape(by, v["type"].as_str().unwrap_or_default(), stack)
                    ])
                })
                .collect();
            json!(["object", members, e.get("tag"), variants, features])
        }
        other => json!(["unknown", other]),
    };
    stack.pop();
    out
}

fn index(schema: &Value) -> HashMap<String, Value> {
    schema
        .as_array()
        .expect("schema list")
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap_or_default().to_string(),
                e.clone(),
            )
        })
        .collect()
}

#[test]
fn schema_matches_qemu() {
    let Some(mut q) = Qmp::start(&[]) else { return };
    let reply = q.call(&json!({"execute": "query-qmp-schema"}));
    let theirs = index(&reply["return"]);
    let ours = index(crate::schema_json());
    let names = COMMANDS
        .iter()
        .map(|c| c.name)
        .chain(EVENTS.iter().map(|e| e.name));
    for name in names {
        let (o, t) = (
            &ours[name],
            theirs
                .get(name)
                .unwrap_or_else(|| panic!("QEMU lacks {name}")),
        );
        for key in ["meta-type", "allow-oob", "features"] {
            assert_eq!(o.get(key), t.get(key), "{name}: {key}");
        }
        for key in ["arg-type", "ret-type"] {
            let (a, b) = (o.get(key), t.get(key));
            assert_eq!(a.is_some(), b.is_some(), "{name}: {key}");
            if let (Some(Value::String(a)), Some(Value::String(b))) = (a, b) {
                assert_eq!(
                    shape(&ours, a, &mut Vec::new()),
                    shape(&theirs, b, &mut Vec::new()),
                    "{name}: {key}"
                );
            }
        }
    }
    // QEMU 10 dropped query-events; we must not offer it either.
    assert!(!theirs.contains_key("query-events") && !ours.contains_key("query-events"));
}

/// What our code answers, as QEMU would put it in an error reply.
fn ours(name: &str, args: &Map<String, Value>, oob: bool, ready: bool) -> Result<(), QapiError> {
    preflight(name, oob, ready)?;
    parse_command(name, args.clone()).map(|_| ())
}

fn compare(q: &mut Qmp, name: &str, args: Value, oob: bool, ready: bool) {
    let Value::Object(map) = args else {
        panic!("args must be an object")
    };
    let Err(want) = ours(name, &map, oob, ready) else {
        // We accept it; QEMU then runs the command, which we do not
        // compare here.  The cases are chosen to fail.
        panic!("{name} {map:?} unexpectedly valid");
    };
    let verb = if oob { "exec-oob" } else { "execute" };
    let reply = q.call(&json!({ verb: name, "arguments": map }));
    assert_eq!(
        reply.get("error"),
        Some(&want.to_json()),
        "{verb} {name} {map:?}: QEMU said {reply}"
    );
}

/// A small deterministic generator for key names (no rand crate).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }

    fn key(&mut self) -> String {
        let alphabet: Vec<char> = "abcdefghijklmnopqrstuvwxyz-_0123456789é".chars().collect();
        let len = 1 + self.next(8);
        (0..len)
            .map(|_| alphabet[self.next(alphabet.len() as u64) as usize])
            .collect()
    }
}

#[test]
fn argument_errors_match_qemu() {
    let Some(mut q) = Qmp::start(&[]) else { return };
    // Every command with a bogus argument, in band and out of band.
    for c in COMMANDS {
        compare(&mut q, c.name, json!({"zzbogus": 1}), false, true);
        compare(&mut q, c.name, json!({"zzbogus": 1}), true, true);
    }
    let cases = [
        ("qmp_capabilities", json!({"enable": ["foo"]})),
        ("qmp_capabilities", json!({"enable": [5]})),
        ("qmp_capabilities", json!({"enable": "oob"})),
        ("yank", json!({"instances": [5]})),
        ("yank", json!({"instances": [{}]})),
        ("yank", json!({"instances": [{"type": "foo"}]})),
        (
            "yank",
            json!({"instances": [{"type": "chardev", "id": "x"}, {"type": "chardev", "id": 5}]}),
        ),
        ("yank", json!({"instances": [{"type": "block-node"}]})),
        ("human-monitor-command", json!({"command-line": 5})),
        (
            "human-monitor-command",
            json!({"command-line": "x", "cpu-index": 9223372036854775808u64}),
        ),
        (
            "human-monitor-command",
            json!({"command-line": "x", "cpu-index": 1.0}),
        ),
        ("memsave", json!({"val": "x", "size": 1, "filename": "f"})),
        ("memsave", json!({"val": -1, "size": 1.5, "filename": "f"})),
        ("memsave", json!({"val": 1, "size": 1, "filename": null})),
        ("pmemsave", json!({"val": 1, "size": 1})),
        ("balloon", json!({"value": 1e3})),
        (
            "qom-set",
            json!({"path": "/machine", "property": "rtc-time"}),
        ),
        ("qom-list-types", json!({"abstract": "yes"})),
        ("qom-list-types", json!({"implements": null})),
        ("add-fd", json!({"fdset-id": "x"})),
        ("remove-fd", json!({"fd": 1})),
        ("query-machines", json!({"compat-props": 1})),
        ("migrate-recover", json!({"uri": ["x"]})),
        ("device-list-properties", json!({})),
    ];
    for (name, args) in cases {
        compare(&mut q, name, args, false, true);
    }
    // Several leftover keys: QEMU reports one in its hash-table order.
    let mut rng = Lcg(42);
    for round in 0..60 {
        let mut args = Map::new();
        for _ in 0..(2 + rng.next(if round % 3 == 0 { 30 } else { 6 })) {
            args.insert(rng.key(), json!(1));
        }
        if args.contains_key("command-line") || args.contains_key("cpu-index") {
            continue;
        }
        let mut top = args.clone();
        top.insert("command-line".into(), json!("info name"));
        compare(
            &mut q,
            "human-monitor-command",
            Value::Object(top),
            false,
            true,
        );
        let mut inner = args;
        inner.insert("type".into(), json!("chardev"));
        inner.insert("id".into(), json!("x"));
        compare(&mut q, "yank", json!({"instances": [inner]}), false, true);
    }
}

#[test]
fn preconfig_errors_match_qemu() {
    let Some(mut q) = Qmp::start(&["--preconfig"]) else {
        return;
    };
    for c in COMMANDS {
        compare(&mut q, c.name, json!({"zzbogus": 1}), false, false);
    }
}
