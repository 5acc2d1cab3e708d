//! The tree against QEMU 10's for the same command line, when `qemu-system-x86_64` (and KVM)
//! is there: listings (names, types, order), values, errors, qom-set, and the type commands.
//! Skipped with a note otherwise.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{config, BASE};
use crate::qom::{
    device_list_properties, list_properties, list_types, NoMachine, ObjectTree, QomContext,
};

pub(super) type Reply = Result<Value, (String, String)>;

/// A QEMU process with a QMP connection; killed when dropped (the QOM and balloon tests').
pub(super) struct Qemu {
    child: Child,
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    socket: PathBuf,
}

fn socket_path() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "vmm-qom-{}-{}.sock",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

impl Qemu {
    /// Starts QEMU with `args` and a QMP socket; `None` (with a note) if it cannot run here.
    pub(super) fn start(args: &[&str]) -> Option<Qemu> {
        if !std::path::Path::new("/dev/kvm").exists() {
            eprintln!("note: no /dev/kvm, QEMU comparison skipped");
            return None;
        }
        let socket = socket_path();
        let qmp = format!("unix:{},server=on,wait=off", socket.display());
        let child = Command::new("qemu-system-x86_64")
            .args(args)
            .args(["-qmp", &qmp])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                eprintln!("note: qemu-system-x86_64 not runnable ({e}), QEMU comparison skipped");
                return None;
            }
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        let stream = loop {
            if let Ok(s) = UnixStream::connect(&socket) {
                break s;
            }
            if Instant::now() > deadline || matches!(child.try_wait(), Ok(Some(_))) {
                let _ = child.kill();
                let _ = child.wait();
                eprintln!("note: QEMU did not start, QEMU comparison skipped");
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        let writer = stream.try_clone().expect("clone");
        let mut q = Qemu {
            child,
            reader: BufReader::new(stream),
            writer,
            socket,
        };
        q.line();
        q.cmd("qmp_capabilities", json!({}))
            .expect("qmp_capabilities");
        Some(q)
    }

    fn line(&mut self) -> Value {
        let mut s = String::new();
        self.reader.read_line(&mut s).expect("QMP read");
        serde_json::from_str(&s).unwrap_or_else(|e| panic!("bad QMP line {s:?}: {e}"))
    }

    pub(super) fn cmd(&mut self, execute: &str, arguments: Value) -> Reply {
        let msg = json!({"execute": execute, "arguments": arguments});
        writeln!(self.writer, "{msg}").expect("QMP write");
        loop {
            let r = self.line();
            if let Some(v) = r.get("return") {
                return Ok(v.clone());
            }
            if let Some(e) = r.get("error") {
                let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
                return Err((s("class"), s("desc")));
            }
        }
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.socket);
    }
}

fn ours<T: serde::Serialize>(r: Result<T, qapi::QapiError>) -> Reply {
    r.map(|v| super::printed_order(&serde_json::to_value(v).unwrap_or(Value::Null)))
        .map_err(|e| (format!("{:?}", e.class), e.desc))
}

/// The QMP monitor's chardev is connected (to this test) on QEMU's side too.
struct Connected;

impl QomContext for Connected {
    fn chardev_connected(&self, _id: &str) -> Option<bool> {
        Some(true)
    }
}

/// Properties whose values depend on the host (QEMU filters the model by what KVM offers) or
/// on objects this machine does not have.
fn host_dependent(path: &str, prop: &str) -> bool {
    if path.starts_with("/machine/unattached/device[") && !path.ends_with("lapic") {
        return crate::qom::cpu::is_feature(prop)
            || matches!(
                prop,
                "feature-words"
                    | "filtered-features"
                    | "unavailable-features"
                    | "tsc-frequency"
                    | "memory"
            );
    }
    matches!(
        (path, prop),
        ("/machine", "smram" | "acpi-device" | "rtc-time")
    )
}

fn names_of(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|p| {
                    let s = |k: &str| p[k].as_str().unwrap_or_default().to_string();
                    (s("name"), s("type"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Compares the listing and the values of `path`; returns the mismatches.
fn compare_path(q: &mut Qemu, tree: &ObjectTree, path: &str, ctx: &dyn QomContext) -> Vec<String> {
    let mut bad = Vec::new();
    let theirs = match q.cmd("qom-list", json!({ "path": path })) {
        Ok(v) => names_of(&v),
        Err(e) => return vec![format!("{path}: QEMU: {e:?}")],
    };
    let mine = match ours(tree.list(path, ctx)) {
        Ok(v) => names_of(&v),
        Err(e) => return vec![format!("{path}: ours: {e:?}")],
    };
    for p in &mine {
        if !theirs.contains(p) {
            bad.push(format!("{path}: {p:?} is not QEMU's"));
        }
    }
    let shared: Vec<_> = theirs
        .iter()
        .filter(|p| mine.contains(p))
        .cloned()
        .collect();
    if shared != mine {
        bad.push(format!("{path}: order {mine:?}\n  QEMU's {shared:?}"));
    }
    for (name, ty) in &mine {
        if ty.starts_with("child<") || host_dependent(path, name) {
            continue;
        }
        let a = ours(tree.get(path, name, ctx));
        let b = q.cmd("qom-get", json!({"path": path, "property": name}));
        let text = |r: &Reply| match r {
            // Socket paths differ between the two command lines.
            Ok(v) => v.to_string().replace(&q_socket_marker(), "SOCKET"),
            Err(e) => format!("{e:?}"),
        };
        if text(&a) != text(&b) {
            bad.push(format!(
                "{path} {name}: ours {} QEMU {}",
                text(&a),
                text(&b)
            ));
        }
    }
    bad
}

thread_local! {
    static SOCKET: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

fn q_socket_marker() -> String {
    SOCKET.with(|s| s.borrow().clone())
}

/// Runs QEMU and builds our tree for `args`; compares `paths`.
fn compare(args: &[&str], paths: &[&str]) -> Option<Vec<String>> {
    let mut q = Qemu::start(args)?;
    let socket = q.socket.display().to_string();
    SOCKET.with(|s| *s.borrow_mut() = socket.clone());
    // Our side gets the same -qmp, so /chardevs matches; the path itself is masked.
    let mut ours_args = args.to_vec();
    let qmp = format!("unix:{socket},server=on,wait=off");
    ours_args.extend(["-qmp", &qmp]);
    let tree = ObjectTree::new(&config(&ours_args));
    let mut bad = Vec::new();
    for path in paths {
        bad.extend(compare_path(&mut q, &tree, path, &Connected));
    }
    Some(bad)
}

#[test]
fn tree_matches_qemu() {
    let paths = [
        "/",
        "/machine",
        "/machine/peripheral",
        "/machine/peripheral-anon",
        "/objects",
        "/objects/pc.ram",
        "/chardevs",
        "/chardevs/compat_monitor0",
        "/backend",
        "/machine/unattached/device[0]",
        "/machine/unattached/device[2]",
        "/machine/unattached/device[2]/lapic",
    ];
    let Some(bad) = compare(BASE, &paths) else {
        return;
    };
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn other_boards_match_qemu() {
    let mut bad = Vec::new();
    let extra = [
        "-object",
        "secret,id=sec0,data=abc",
        "-object",
        "iothread,id=io0",
        "-object",
        "memory-backend-memfd,id=mem1,size=16M",
        "-chardev",
        "null,id=n0",
    ];
    for m in ["q35,accel=kvm", "microvm,accel=kvm", "none,accel=kvm"] {
        let mut args: Vec<&str> = BASE.to_vec();
        args[1] = m;
        if m.starts_with("none") {
            // QEMU's none machine takes no -cpu and one vCPU.
            args.drain(2..4);
            args[7] = "1";
        }
        args.extend(extra);
        let paths = [
            "/",
            "/machine",
            "/objects",
            "/objects/sec0",
            "/objects/io0",
            "/objects/mem1",
            "/chardevs",
        ];
        match compare(&args, &paths) {
            Some(b) => bad.extend(b.into_iter().map(|s| format!("[{m}] {s}"))),
            None => return,
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn errors_and_writes_match_qemu() {
    let Some(mut q) = Qemu::start(BASE) else {
        return;
    };
    let qmp = format!("unix:{},server=on,wait=off", q.socket.display());
    let mut args = BASE.to_vec();
    args.extend(["-qmp", &qmp]);
    let mut tree = ObjectTree::new(&config(&args));
    let ctx = NoMachine;
    let cpu = "/machine/unattached/device[0]";
    let gets: &[(&str, &str)] = &[
        ("/machine", "nosuch"),
        ("/machine/nosuch", "type"),
        ("lapic", "type"),
        ("", "type"),
        ("//machine//peripheral/", "type"),
        ("machine/peripheral", "type"),
        ("memory-backend", "type"),
        ("/machine/memory-backend", "size"),
        (cpu, "legacy-memory"),
        (cpu, "crash-information"),
        ("/chardevs", "type"),
    ];
    let mut bad = Vec::new();
    for (path, prop) in gets {
        let a = ours(tree.get(path, prop, &ctx));
        let b = q.cmd("qom-get", json!({"path": path, "property": prop}));
        if a != b {
            bad.push(format!("get {path} {prop}: ours {a:?} QEMU {b:?}"));
        }
    }
    for path in ["lapic", "", "/machine/nosuch", "machine"] {
        let a = ours(tree.list(path, &ctx)).map(|v| json!(names_of(&v)));
        let b = q
            .cmd("qom-list", json!({ "path": path }))
            .map(|v| json!(names_of(&v)));
        if a.is_err() != b.is_err() || a.as_ref().err() != b.as_ref().err() {
            bad.push(format!("list {path}: ours {a:?} QEMU {b:?}"));
        }
    }
    let sets: &[(&str, &str, Value)] = &[
        ("/machine", "type", json!("x")),
        ("/machine", "nosuch", json!(1)),
        ("/machine/nosuch", "type", json!(1)),
        ("/machine", "usb", json!("on")),
        ("/machine", "usb", json!(true)),
        ("/machine", "kernel", json!(1)),
        ("/machine", "kernel", json!("/x")),
        ("/machine", "acpi", json!("bogus")),
        ("/machine", "acpi", json!("off")),
        ("/machine", "phandle-start", json!(1.5)),
        ("/machine", "bus-lock-ratelimit", json!(-1)),
        ("/machine", "max-fw-size", json!(4096)),
        ("/machine", "max-fw-size", json!(-1)),
        ("/machine", "x-oem-table-id", json!("123456789")),
        ("/machine", "smbios-entry-point-type", json!("64")),
        ("/machine", "memory-backend", json!("lapic")),
        ("/machine", "memory-backend", json!("/nosuch")),
        ("/machine", "memory-backend", json!("")),
        ("/machine", "memory-backend", json!("pc.ram")),
        ("/machine", "confidential-guest-support", json!("pc.ram")),
        ("/machine", "nvdimm-persistence", json!("cpu")),
        ("/machine", "peripheral", json!("x")),
        (cpu, "avx2", json!(true)),
        (cpu, "lahf_lm", json!(true)),
        (cpu, "apic-id", json!(3)),
        (cpu, "hotpluggable", json!(false)),
        (cpu, "stepping", json!(99)),
        (cpu, "model-id", json!("hello")),
        (cpu, "vendor", json!("GenuineIntel")),
        (cpu, "realized", json!(true)),
        ("/machine/unattached/device[0]/lapic", "id", json!(3)),
        ("/objects/pc.ram", "size", json!(1)),
        ("/objects/pc.ram", "prealloc-threads", json!(4)),
        ("/objects/pc.ram", "policy", json!("bind")),
        ("/chardevs/compat_monitor0", "addr", json!({})),
        ("/", "machine", json!("x")),
    ];
    for (path, prop, value) in sets {
        let a = ours(
            tree.set(path, prop, value.clone(), &ctx)
                .map(|()| json!({})),
        );
        let b = q.cmd(
            "qom-set",
            json!({"path": path, "property": prop, "value": value}),
        );
        if a != b {
            bad.push(format!("set {path} {prop} {value}: ours {a:?} QEMU {b:?}"));
        }
        if a.is_ok() && !path.contains("nosuch") {
            let a = ours(tree.get(path, prop, &ctx));
            let b = q.cmd("qom-get", json!({"path": path, "property": prop}));
            if a != b {
                bad.push(format!(
                    "get after set {path} {prop}: ours {a:?} QEMU {b:?}"
                ));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn types_match_qemu() {
    let mut args = BASE.to_vec();
    args.extend(["-device", "virtio-balloon-pci,id=balloon0"]);
    let Some(mut q) = Qemu::start(&args) else {
        return;
    };
    let mut bad = Vec::new();
    let all = q
        .cmd("qom-list-types", json!({"abstract": true}))
        .expect("types");
    let theirs: Vec<Value> = all.as_array().cloned().unwrap_or_default();
    let mine = list_types(None, true);
    for t in &mine {
        let mine_json = serde_json::to_value(t).unwrap_or_default();
        match theirs.iter().find(|x| x["name"] == json!(t.name)) {
            Some(x) if *x == mine_json => {}
            other => bad.push(format!("type {}: ours {mine_json} QEMU {other:?}", t.name)),
        }
    }
    for implements in [
        "machine",
        "device",
        "cpu",
        "chardev",
        "user-creatable",
        "memory-backend",
        "interface",
    ] {
        for abs in [false, true] {
            let b = q
                .cmd(
                    "qom-list-types",
                    json!({"implements": implements, "abstract": abs}),
                )
                .expect("types");
            let mut theirs: Vec<String> = b
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t["name"].as_str().map(str::to_string))
                .filter(|n| mine.iter().any(|m| &m.name == n))
                .collect();
            let mut ours: Vec<String> = list_types(Some(implements), abs)
                .into_iter()
                .map(|t| t.name)
                .collect();
            theirs.sort();
            ours.sort();
            if theirs != ours {
                bad.push(format!(
                    "implements {implements} abstract {abs}: ours {ours:?} QEMU {theirs:?}"
                ));
            }
        }
    }
    let mut names: Vec<String> = mine
        .iter()
        .map(|t| t.name.clone())
        .filter(|n| {
            !n.starts_with("pc-")
                || n.starts_with("pc-i440fx-10.0")
                || n.starts_with("pc-q35-10.0")
                || n == "pc-i440fx-2.4-machine"
        })
        .collect();
    names.push("nosuch".into());
    for n in &names {
        let a = ours(list_properties(n));
        let b = q.cmd("qom-list-properties", json!({ "typename": n }));
        if a != b {
            bad.push(format!(
                "qom-list-properties {n}: differs\n  ours {a:?}\n  QEMU {b:?}"
            ));
        }
        let a = ours(device_list_properties(n));
        let b = q.cmd("device-list-properties", json!({ "typename": n }));
        if a != b {
            bad.push(format!(
                "device-list-properties {n}: differs\n  ours {a:?}\n  QEMU {b:?}"
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn libvirt_command_line_matches_qemu() {
    // The shape of libvirt 11.3's i440fx domain command line (docs §4b).
    let args = [
        "-name",
        "guest=probe1,debug-threads=on",
        "-S",
        "-object",
        r#"{"qom-type":"secret","id":"masterKey0","format":"raw","data":"abc"}"#,
        "-machine",
        "pc-i440fx-10.0,usb=off,dump-guest-core=off,memory-backend=pc.ram,acpi=on",
        "-accel",
        "kvm",
        "-cpu",
        "qemu64",
        "-m",
        "size=262144k",
        "-object",
        r#"{"qom-type":"memory-backend-ram","id":"pc.ram","size":268435456}"#,
        "-overcommit",
        "mem-lock=off",
        "-smp",
        "1,sockets=1,cores=1,threads=1",
        "-display",
        "none",
        "-no-user-config",
        "-nodefaults",
        "-no-shutdown",
        "-boot",
        "strict=on",
    ];
    let paths = [
        "/",
        "/machine",
        "/objects",
        "/objects/pc.ram",
        "/objects/masterKey0",
        "/chardevs",
        "/machine/unattached/device[0]",
    ];
    let Some(bad) = compare(&args, &paths) else {
        return;
    };
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
