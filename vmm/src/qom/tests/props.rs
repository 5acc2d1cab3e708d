//! Property listings, values from the configuration and from a live context, and qom-set.

use std::time::{Duration, UNIX_EPOCH};

use serde_json::{json, Value};

use super::{config, names, printed, BASE};
use crate::qom::{CpuidEntry, NoMachine, ObjectTree, QomContext};

/// A context with fixed live state.
struct Live;

impl QomContext for Live {
    fn ram_size(&self) -> Option<u64> {
        Some(512 << 20)
    }

    fn vcpu_cpuid(&self, index: usize) -> Option<Vec<CpuidEntry>> {
        let le = |s: &[u8]| u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
        let mut v = vec![
            CpuidEntry {
                function: 0,
                eax: 0xd,
                ebx: le(b"Genu"),
                edx: le(b"ineI"),
                ecx: le(b"ntel"),
                ..Default::default()
            },
            CpuidEntry {
                function: 1,
                // Family 6, model 0x55, stepping 4; avx2 is in leaf 7.
                eax: 0x0005_0654,
                ecx: 1 << 0 | 1 << 28,
                edx: 1 << 25,
                ..Default::default()
            },
            CpuidEntry {
                function: 7,
                index: 0,
                ebx: 1 << 5,
                ..Default::default()
            },
        ];
        if index == 1 {
            v[1].ecx = 0;
        }
        Some(v)
    }

    fn vcpu_tsc_khz(&self, _index: usize) -> Option<u32> {
        Some(2_000_000)
    }

    fn chardev_connected(&self, id: &str) -> Option<bool> {
        Some(id == "compat_monitor0")
    }

    fn wall_clock(&self) -> std::time::SystemTime {
        // 2024-02-29 13:14:15 UTC.
        UNIX_EPOCH + Duration::from_secs(1_709_212_455)
    }
}

fn get(t: &ObjectTree, path: &str, prop: &str, ctx: &dyn QomContext) -> Value {
    t.get(path, prop, ctx)
        .unwrap_or_else(|e| panic!("{path} {prop}: {e:?}"))
}

fn err(r: Result<impl std::fmt::Debug, qapi::QapiError>) -> String {
    r.unwrap_err().desc
}

#[test]
fn machine_values_from_config() {
    let mut args = BASE.to_vec();
    args.extend([
        "-machine",
        "usb=on,dump-guest-core=off,acpi=off",
        "-boot",
        "strict=on,order=cn",
        "-kernel",
        "/k",
        "-append",
        "console=ttyS0",
        "-m",
        "256,slots=2,maxmem=1G",
        "-smp",
        "2,sockets=2",
    ]);
    let t = ObjectTree::new(&config(&args));
    let c = NoMachine;
    assert_eq!(
        get(&t, "/machine", "type", &c),
        json!("pc-i440fx-10.0-machine")
    );
    assert_eq!(get(&t, "/machine", "usb", &c), json!(true));
    assert_eq!(get(&t, "/machine", "dump-guest-core", &c), json!(false));
    assert_eq!(get(&t, "/machine", "acpi", &c), json!("off"));
    assert_eq!(get(&t, "/machine", "kernel", &c), json!("/k"));
    assert_eq!(get(&t, "/machine", "append", &c), json!("console=ttyS0"));
    assert_eq!(get(&t, "/machine", "initrd", &c), json!(""));
    assert_eq!(
        printed(&get(&t, "/machine", "boot", &c)),
        r#"{"order":"cn","strict":true}"#
    );
    // QEMU's key order.
    assert_eq!(
        printed(&get(&t, "/machine", "memory", &c)),
        r#"{"size":268435456,"slots":2,"max-size":1073741824}"#
    );
    assert_eq!(
        printed(&get(&t, "/machine", "smp", &c)),
        r#"{"modules":1,"cpus":2,"maxcpus":2,"books":1,"threads":1,"cores":1,"dies":1,"sockets":2,"clusters":1,"drawers":1}"#
    );
    assert_eq!(
        get(&t, "/machine", "memory-backend", &c),
        json!("/objects/pc.ram")
    );
    assert_eq!(get(&t, "/objects/pc.ram", "dump", &c), json!(false));
    assert_eq!(get(&t, "/objects/pc.ram", "size", &c), json!(268435456));
    assert_eq!(
        get(&t, "/machine/unattached/device[2]", "socket-id", &c),
        json!(1)
    );
    // Live state wins over the configuration.
    assert_eq!(
        printed(&get(&t, "/machine", "memory", &Live)),
        r#"{"size":536870912,"slots":2,"max-size":1073741824}"#
    );
    assert_eq!(
        printed(&get(&t, "/machine", "rtc-time", &Live)),
        r#"{"tm_year":124,"tm_sec":15,"tm_hour":13,"tm_min":14,"tm_mon":1,"tm_mday":29}"#
    );
}

#[test]
fn machine_listing() {
    let t = ObjectTree::new(&config(BASE));
    let listed = names(&t.list("/machine", &NoMachine).unwrap());
    let n: Vec<&str> = listed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(&n[..4], ["type", "kernel", "dt-compatible", "boot"]);
    // Children this machine lacks are not listed; links to them read as unset.
    assert!(!n.contains(&"fw_cfg") && !n.contains(&"i440fx"));
    assert!(n.contains(&"smram") && n.contains(&"unattached"));
    assert_eq!(get(&t, "/machine", "smram", &NoMachine), json!(""));
    assert_eq!(
        listed.last().unwrap(),
        &("hmat".to_string(), "bool".to_string())
    );
    for m in ["q35", "microvm", "none"] {
        let mut args = BASE.to_vec();
        args[1] = m;
        if m == "none" {
            args.drain(2..4);
            args[7] = "1";
        }
        let t = ObjectTree::new(&config(&args));
        assert!(t.list("/machine", &NoMachine).is_ok(), "{m}");
        let ram = get(&t, "/machine", "memory-backend", &NoMachine);
        let want = match m {
            "microvm" => "/objects/microvm.ram",
            "none" => "/objects/ram",
            _ => "/objects/pc.ram",
        };
        assert_eq!(ram, json!(want), "{m}");
    }
}

#[test]
fn cpu_values() {
    let t = ObjectTree::new(&config(BASE));
    let cpu0 = "/machine/unattached/device[0]";
    let cpu1 = "/machine/unattached/device[2]";
    let c = NoMachine;
    assert_eq!(get(&t, cpu0, "type", &c), json!("qemu64-x86_64-cpu"));
    assert_eq!(get(&t, cpu1, "apic-id", &c), json!(1));
    assert_eq!(get(&t, cpu1, "core-id", &c), json!(1));
    assert_eq!(get(&t, cpu0, "realized", &c), json!(true));
    assert_eq!(get(&t, cpu0, "lapic", &c), json!(format!("{cpu0}/lapic")));
    assert_eq!(get(&t, &format!("{cpu1}/lapic"), "id", &c), json!(1));
    // Without a machine: the model's values.
    assert_eq!(get(&t, cpu0, "vendor", &c), json!("AuthenticAMD"));
    assert_eq!(get(&t, cpu0, "lm", &c), json!(true));
    assert_eq!(get(&t, cpu0, "avx2", &c), json!(false));
    // With one: the vCPU's CPUID.
    assert_eq!(get(&t, cpu0, "vendor", &Live), json!("GenuineIntel"));
    assert_eq!(get(&t, cpu0, "family", &Live), json!(6));
    assert_eq!(get(&t, cpu0, "model", &Live), json!(0x55));
    assert_eq!(get(&t, cpu0, "stepping", &Live), json!(4));
    assert_eq!(get(&t, cpu0, "level", &Live), json!(13));
    assert_eq!(get(&t, cpu0, "avx2", &Live), json!(true));
    assert_eq!(get(&t, cpu0, "pni", &Live), json!(true));
    // Aliases read the same bit.
    assert_eq!(get(&t, cpu0, "sse3", &Live), json!(true));
    assert_eq!(get(&t, cpu1, "sse3", &Live), json!(false));
    assert_eq!(get(&t, cpu0, "lm", &Live), json!(false));
    assert_eq!(
        get(&t, cpu0, "tsc-frequency", &Live),
        json!(2_000_000_000u64)
    );
    assert_eq!(get(&t, cpu0, "ucode-rev", &Live), json!(0x1_0000_0000u64));
    let words = get(&t, cpu0, "feature-words", &Live);
    let leaf1_ecx = words
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["cpuid-input-eax"] == json!(1) && w["cpuid-register"] == json!("ECX"))
        .unwrap();
    assert_eq!(leaf1_ecx["features"], json!(1 | 1 << 28));
    assert_eq!(get(&t, cpu0, "unavailable-features", &Live), json!([]));
    assert_eq!(
        err(t.get(cpu0, "legacy-memory", &c)),
        "Property 'qemu64-x86_64-cpu.legacy-memory' is not readable"
    );
    assert_eq!(
        err(t.get(cpu0, "crash-information", &c)),
        "No crash occurred"
    );
    assert_eq!(
        err(t.get(cpu0, "nosuch", &c)),
        "Property 'qemu64-x86_64-cpu.nosuch' not found"
    );
    // The host model has two more properties.
    let mut args = BASE.to_vec();
    args[3] = "host";
    let t = ObjectTree::new(&config(&args));
    assert_eq!(get(&t, cpu0, "type", &c), json!("host-x86_64-cpu"));
    assert_eq!(get(&t, cpu0, "migratable", &c), json!(true));
}

#[test]
fn chardevs() {
    let mut args = BASE.to_vec();
    args.extend([
        "-chardev",
        "socket,id=s0,path=/tmp/s0.sock,server=on,wait=off",
        "-chardev",
        "socket,id=t0,host=127.0.0.1,port=4444,server=on,wait=off",
        "-serial",
        "mon:stdio",
        "-qmp",
        "unix:/tmp/q.sock,server=on,wait=off",
    ]);
    let t = ObjectTree::new(&config(&args));
    let listed = names(&t.list("/chardevs", &NoMachine).unwrap());
    for (id, ty) in [
        ("s0", "child<chardev-socket>"),
        ("t0", "child<chardev-socket>"),
        ("serial0", "child<chardev-mux>"),
        ("serial0-base", "child<chardev-stdio>"),
        ("compat_monitor0", "child<chardev-socket>"),
    ] {
        assert!(
            listed.contains(&(id.to_string(), ty.to_string())),
            "{id}: {listed:?}"
        );
    }
    assert_eq!(
        printed(&get(&t, "/chardevs/s0", "addr", &NoMachine)),
        r#"{"path":"/tmp/s0.sock","type":"unix"}"#
    );
    assert_eq!(
        printed(&get(&t, "/chardevs/t0", "addr", &NoMachine)),
        r#"{"port":"4444","ipv4":true,"host":"127.0.0.1","type":"inet"}"#
    );
    assert_eq!(
        get(&t, "/chardevs/s0", "connected", &NoMachine),
        json!(false)
    );
    assert_eq!(get(&t, "compat_monitor0", "connected", &Live), json!(true));
    assert_eq!(
        err(t.get("/chardevs/serial0", "addr", &NoMachine)),
        "Property 'chardev-mux.addr' not found"
    );
}

#[test]
fn set_rules() {
    let mut t = ObjectTree::new(&config(BASE));
    let c = NoMachine;
    let cpu = "/machine/unattached/device[0]";
    let cases: &[(&str, &str, Value, &str)] = &[
        ("/machine", "type", json!("x"), "Property 'pc-i440fx-10.0-machine.type' is not writable"),
        ("/machine", "nosuch", json!("x"), "Property 'pc-i440fx-10.0-machine.nosuch' not found"),
        ("/machine", "peripheral", json!("x"), "Property 'pc-i440fx-10.0-machine.peripheral' is not writable"),
        ("/machine", "usb", json!("on"), "Invalid parameter type for 'usb', expected: boolean"),
        ("/machine", "acpi", json!("bogus"), "Parameter 'acpi' does not accept value 'bogus'"),
        ("/machine", "phandle-start", json!("5"), "Invalid parameter type for 'phandle-start', expected: integer"),
        ("/machine", "max-fw-size", json!("4k"), "Parameter 'max-fw-size' expects uint64"),
        ("/machine", "x-oem-id", json!("1234567"), "User specified x-oem-id value is bigger than 6 bytes in size"),
        ("/machine", "memory-encryption", json!("x"), "No such memory encryption object 'x'"),
        ("/machine", "rtc-time", json!({}), "Property 'mc146818rtc.date' is not writable"),
        ("/machine", "memory-backend", json!(1), "Invalid parameter type for 'memory-backend', expected: string"),
        ("/machine", "memory-backend", json!("lapic"), "Invalid parameter type for 'memory-backend', expected: memory-backend"),
        ("/machine", "memory-backend", json!("/nosuch"), "Device '/nosuch' not found"),
        ("/machine", "confidential-guest-support", json!("/objects/pc.ram"), "Invalid parameter type for 'confidential-guest-support', expected: confidential-guest-support"),
        ("/machine", "smram", json!(""), "Property 'pc-i440fx-10.0-machine.smram' is not writable"),
        ("/", "machine", json!("x"), "Property 'container.machine' is not writable"),
        (cpu, "avx2", json!(true), "Attempt to set property 'avx2' on anonymous device (type 'qemu64-x86_64-cpu') after it was realized"),
        (cpu, "sse3", json!(true), "Attempt to set property 'pni' on anonymous device (type 'qemu64-x86_64-cpu') after it was realized"),
        (cpu, "hotpluggable", json!(false), "Property 'qemu64-x86_64-cpu.hotpluggable' is not writable"),
        (cpu, "lapic", json!("x"), "Property 'qemu64-x86_64-cpu.lapic' is not writable"),
        (cpu, "family", json!(9999), "parameter 'family' can be at most 270"),
        (cpu, "family", json!("x"), "Parameter 'family' expects uint64"),
        (cpu, "vendor", json!("x"), "value of property 'vendor' must consist of exactly 12 characters"),
        (cpu, "realized", json!("x"), "Invalid parameter type for 'realized', expected: boolean"),
        ("/objects/pc.ram", "size", json!("x"), "cannot change property size of memory-backend-ram "),
        ("/objects/pc.ram", "share", json!(true), "cannot change property value"),
        ("/objects/pc.ram", "prealloc-threads", json!(-1), "Parameter 'prealloc-threads' expects uint32_t"),
        ("/objects/pc.ram", "host-nodes", json!("x"), "Invalid parameter type for 'host-nodes', expected: array"),
    ];
    for (path, prop, value, want) in cases {
        let got = t.set(path, prop, value.clone(), &c);
        assert_eq!(err(got), *want, "{path} {prop} {value}");
    }
    let memory_backend = |t: &ObjectTree| get(t, "/machine", "memory-backend", &c);
    // Accepted writes read back.
    for (path, prop, value) in [
        ("/machine", "usb", json!(true)),
        ("/machine", "kernel", json!("/x")),
        ("/machine", "acpi", json!("off")),
        ("/machine", "x-oem-id", json!("ab")),
        (cpu, "family", json!(6)),
        (cpu, "vendor", json!("GenuineIntel")),
        ("/objects/pc.ram", "policy", json!("bind")),
    ] {
        t.set(path, prop, value.clone(), &c).unwrap();
        assert_eq!(get(&t, path, prop, &c), value, "{path} {prop}");
    }
    t.set(cpu, "realized", json!(true), &c).unwrap();
    t.set("/machine", "memory-backend", json!(""), &c).unwrap();
    assert_eq!(memory_backend(&t), json!(""));
    t.set("/machine", "memory-backend", json!("pc.ram"), &c)
        .unwrap();
    assert_eq!(memory_backend(&t), json!("/objects/pc.ram"));
}
