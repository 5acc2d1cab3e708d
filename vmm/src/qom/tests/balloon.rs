//! The objects of `-device virtio-balloon-pci`: listings, values read live from a
//! `BalloonHandle`, writes and their errors; and the same against QEMU 10 when it is there.

use std::sync::Arc;

use devices::pci::PciDevfn;
use devices::virtio::balloon::{
    Balloon, BalloonConfig, BalloonEvents, BalloonHandle, BalloonStats,
};
use serde_json::{json, Value};
use vm_memory::{GuestAddress, GuestMemoryMmap};

use super::{config, printed_order, BASE};
use crate::qom::balloon::guest_stats_value;
use crate::qom::{
    add_balloon_objects, BalloonQomConfig, NoMachine, ObjectTree, QomError,
    BALLOON_DIFFERS_FROM_QEMU,
};

struct NoEvents;

impl BalloonEvents for NoEvents {
    fn actual_changed(&self, _actual_pages: u32) {}
}

/// A balloon over 1 MiB of guest memory (no KVM needed); its handle.
fn handle(config: BalloonConfig) -> BalloonHandle {
    let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 1 << 20)]).expect("memory");
    Balloon::new(config, mem, Arc::new(NoEvents))
        .expect("balloon")
        .handle()
}

/// The tree for `BASE` (with `machine` for `-machine`) plus a balloon as `-device device`
/// would give it (`device` without the driver name), at `devfn`.
fn tree_with(machine: Option<&str>, device: &str, devfn: (u8, u8)) -> (ObjectTree, String) {
    let line = format!("virtio-balloon-pci{device}");
    let mut args: Vec<&str> = BASE.to_vec();
    if let Some(m) = machine {
        args[1] = m;
    }
    let args_with_device: Vec<&str> = args.iter().copied().chain(["-device", &line]).collect();
    let d = config(&args_with_device).devices[0].clone();
    let bool_prop = |k: &str| {
        d.props
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v == "on")
    };
    let bc = BalloonConfig {
        deflate_on_oom: bool_prop("deflate-on-oom").unwrap_or(false),
        free_page_reporting: bool_prop("free-page-reporting").unwrap_or(false),
        stats_polling_interval: d
            .props
            .iter()
            .find(|(k, _)| k == "guest-stats-polling-interval")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0),
    };
    let mut tree = ObjectTree::new(&config(&args));
    let devfn = PciDevfn::new(devfn.0, devfn.1).expect("devfn");
    let path = add_balloon_objects(
        &mut tree,
        d.id.as_deref(),
        devfn,
        BalloonQomConfig::new(&bc, &d.props),
        handle(bc),
    )
    .expect("add");
    (tree, path)
}

fn err(r: Result<impl std::fmt::Debug, qapi::QapiError>) -> String {
    r.unwrap_err().desc
}

/// QEMU 10.0.2's `qom-list /machine/peripheral/balloon0` for
/// `-device virtio-balloon-pci,id=balloon0,disable-legacy=on`, less the memory regions.
const QEMU_PROXY_LIST: &[(&str, &str)] = &[
    ("type", "string"),
    ("parent_bus", "link<bus>"),
    ("realized", "bool"),
    ("hotplugged", "bool"),
    ("hotpluggable", "bool"),
    ("failover_pair_id", "str"),
    ("romfile", "str"),
    ("x-pcie-ext-tag", "bool"),
    ("addr", "str"),
    ("romsize", "uint32"),
    ("x-pcie-lnksta-dllla", "bool"),
    ("rombar", "int32"),
    ("x-max-bounce-buffer-size", "size"),
    ("x-pcie-ari-nextfn-1", "bool"),
    ("x-pcie-err-unc-mask", "bool"),
    ("x-pcie-extcap-init", "bool"),
    ("busnr", "busnr"),
    ("acpi-index", "uint32"),
    ("multifunction", "bool"),
    ("legacy-addr", "str"),
    ("aer", "bool"),
    ("migrate-extra", "bool"),
    ("ats", "bool"),
    ("x-ignore-backend-features", "bool"),
    ("x-pcie-pm-init", "bool"),
    ("x-pcie-pm-no-soft-reset", "bool"),
    ("x-pcie-flr-init", "bool"),
    ("x-pcie-lnkctl-init", "bool"),
    ("x-ats-page-aligned", "bool"),
    ("page-per-vq", "bool"),
    ("x-pcie-deverr-init", "bool"),
    ("virtio-pci-bus-master-bug-migration", "bool"),
    ("modern-pio-notify", "bool"),
    ("x-disable-pcie", "bool"),
    ("vectors", "uint32"),
    ("ioeventfd", "bool"),
    ("disable-legacy", "OnOffAuto"),
    ("disable-modern", "bool"),
    ("notify_on_empty", "bool"),
    ("page-poison", "bool"),
    ("legacy-iothread", "str"),
    ("iothread", "link<iothread>"),
    ("qemu-4-0-config-size", "bool"),
    ("virtio-bus", "child<virtio-pci-bus>"),
    ("in_order", "bool"),
    ("virtio-backend", "child<virtio-balloon-device>"),
    ("packed", "bool"),
    ("guest-stats-polling-interval", "int"),
    ("guest-stats", "guest statistics"),
    ("use-started", "bool"),
    ("use-disabled-flag", "bool"),
    ("iommu_platform", "bool"),
    ("any_layout", "bool"),
    ("x-disable-legacy-check", "bool"),
    ("free-page-hint", "bool"),
    ("free-page-reporting", "bool"),
    ("queue_reset", "bool"),
    ("deflate-on-oom", "bool"),
    ("event_idx", "bool"),
    ("indirect_desc", "bool"),
];

/// QEMU 10.0.2's `qom-get … guest-stats` before any guest report, as the monitor prints it.
const QEMU_NO_STATS: &str = r#"{"stats": {"stat-htlb-pgalloc": 18446744073709551615, "stat-swap-out": 18446744073709551615, "stat-alloc-stalls": 18446744073709551615, "stat-available-memory": 18446744073709551615, "stat-direct-reclaims": 18446744073709551615, "stat-direct-scans": 18446744073709551615, "stat-htlb-pgfail": 18446744073709551615, "stat-free-memory": 18446744073709551615, "stat-minor-faults": 18446744073709551615, "stat-major-faults": 18446744073709551615, "stat-total-memory": 18446744073709551615, "stat-oom-kills": 18446744073709551615, "stat-async-reclaims": 18446744073709551615, "stat-swap-in": 18446744073709551615, "stat-async-scans": 18446744073709551615, "stat-disk-caches": 18446744073709551615}, "last-update": 0}"#;

fn listing(tree: &ObjectTree, path: &str) -> Vec<(String, String)> {
    super::names(&tree.list(path, &NoMachine).expect("list"))
}

#[test]
fn listings_follow_qemu() {
    let (tree, path) = tree_with(None, ",id=balloon0", (2, 0));
    assert_eq!(path, "/machine/peripheral/balloon0");
    let want: Vec<(String, String)> = QEMU_PROXY_LIST
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    assert_eq!(listing(&tree, &path), want);

    let backend = listing(&tree, "/machine/peripheral/balloon0/virtio-backend");
    let names: Vec<&str> = backend.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "type",
            "parent_bus",
            "realized",
            "hotplugged",
            "hotpluggable",
            "use-disabled-flag",
            "queue_reset",
            "packed",
            "in_order",
            "iommu_platform",
            "event_idx",
            "x-disable-legacy-check",
            "notify_on_empty",
            "any_layout",
            "use-started",
            "indirect_desc",
            "legacy-iothread",
            "iothread",
            "deflate-on-oom",
            "free-page-hint",
            "page-poison",
            "qemu-4-0-config-size",
            "free-page-reporting",
            "guest-stats-polling-interval",
            "guest-stats"
        ]
    );
    assert_eq!(backend[1].1, "link<bus>");
    assert_eq!(backend[17].1, "link<iothread>");
    assert_eq!(backend[24].1, "guest statistics");

    assert_eq!(
        listing(&tree, "/machine/peripheral/balloon0/virtio-bus"),
        [
            ("type", "string"),
            ("realized", "bool"),
            ("child[0]", "link<virtio-balloon-device>"),
            ("hotplug-handler", "link<hotplug-handler>"),
        ]
        .map(|(n, t)| (n.to_string(), t.to_string()))
    );

    let peripheral = listing(&tree, "/machine/peripheral");
    assert_eq!(
        peripheral[1],
        ("balloon0".into(), "child<virtio-balloon-pci>".into())
    );
    // Every property QEMU registers for the type is there (the table has no virtio-bus).
    let mut from_table: Vec<&str> = crate::qom::types::properties_of("virtio-balloon-pci")
        .iter()
        .map(|p| p.name)
        .collect();
    from_table.sort_unstable();
    let mut listed: Vec<&str> = QEMU_PROXY_LIST
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| *n != "virtio-bus")
        .collect();
    listed.sort_unstable();
    assert_eq!(listed, from_table);
}

#[test]
fn values_describe_the_device() {
    let (tree, path) = tree_with(None, ",id=balloon0", (2, 0));
    let get = |p: &str, prop: &str| tree.get(p, prop, &NoMachine).expect(prop);
    let backend = format!("{path}/virtio-backend");
    let bus = format!("{path}/virtio-bus");
    for (prop, want) in [
        ("type", json!("virtio-balloon-pci")),
        ("parent_bus", json!("/machine/i440fx/pci.0")),
        ("realized", json!(true)),
        ("hotplugged", json!(false)),
        ("hotpluggable", json!(true)),
        ("addr", json!(16)),
        ("legacy-addr", json!("02.0")),
        ("busnr", json!(0)),
        ("romfile", json!("")),
        ("failover_pair_id", json!("")),
        ("romsize", json!(4294967295u64)),
        ("rombar", json!(-1)),
        ("x-max-bounce-buffer-size", json!(4096)),
        ("acpi-index", json!(0)),
        ("migrate-extra", json!(true)),
        ("vectors", json!(4)),
        ("ioeventfd", json!(true)),
        ("disable-legacy", json!("on")),
        ("disable-modern", json!(false)),
        ("iothread", json!("")),
        ("virtio-bus", json!(bus)),
        ("virtio-backend", json!(backend)),
        ("deflate-on-oom", json!(false)),
        ("free-page-reporting", json!(false)),
        ("free-page-hint", json!(false)),
        ("page-poison", json!(false)),
        ("event_idx", json!(false)),
        ("queue_reset", json!(false)),
        ("indirect_desc", json!(true)),
        ("notify_on_empty", json!(true)),
        ("use-started", json!(true)),
        ("guest-stats-polling-interval", json!(0)),
    ] {
        assert_eq!(get(&path, prop), want, "{prop}");
    }
    assert_eq!(get(&backend, "parent_bus"), json!(bus));
    assert_eq!(get(&backend, "hotpluggable"), json!(false));
    assert_eq!(get(&backend, "type"), json!("virtio-balloon-device"));
    assert_eq!(get(&bus, "child[0]"), json!(backend));
    assert_eq!(get(&bus, "hotplug-handler"), json!(""));
    assert_eq!(get(&bus, "type"), json!("virtio-pci-bus"));
    // Every listed value reads, as in QEMU, except the write-only legacy-iothread.
    for p in [&path, &backend, &bus] {
        for (name, ty) in listing(&tree, p) {
            let r = tree.get(p, &name, &NoMachine);
            if name == "legacy-iothread" {
                assert_eq!(
                    err(r),
                    "Property 'virtio-balloon-device.legacy-iothread' is not readable"
                );
            } else {
                assert!(r.is_ok(), "{p} {name} ({ty}): {r:?}");
            }
        }
    }
    // Partial paths, and links followed in absolute paths.
    assert_eq!(get("balloon0", "type"), json!("virtio-balloon-pci"));
    assert_eq!(
        get("virtio-backend", "type"),
        json!("virtio-balloon-device")
    );
    assert_eq!(
        get(&format!("{backend}/parent_bus/child[0]"), "type"),
        json!("virtio-balloon-device")
    );
}

#[test]
fn guest_stats_print_as_qemu_does() {
    let (tree, path) = tree_with(None, ",id=balloon0", (2, 0));
    for p in [path.clone(), format!("{path}/virtio-backend")] {
        let v = tree
            .get(&p, "guest-stats", &NoMachine)
            .expect("guest-stats");
        assert_eq!(monitor::json::to_qmp_string(&v), QEMU_NO_STATS);
    }
    // With values: the reply's member order is that of the QEMU reply in the reference
    // (a Linux 6.1 guest), whatever the values.
    let mut stats = BalloonStats {
        last_update: 1795239101,
        ..Default::default()
    };
    for (i, v) in stats.values.iter_mut().enumerate().take(10) {
        *v = Some(i as u64 * 4096);
    }
    let v = guest_stats_value(&stats);
    let keys = |v: &Value| -> Vec<String> {
        let map = v.as_object().cloned().unwrap_or_default();
        monitor::json::qdict_order(&map)
            .into_iter()
            .map(|(k, _)| k.clone())
            .collect()
    };
    assert_eq!(keys(&v), ["stats", "last-update"]);
    let inner = keys(&v["stats"]);
    assert_eq!(
        &inner[..4],
        [
            "stat-htlb-pgalloc",
            "stat-swap-out",
            "stat-alloc-stalls",
            "stat-available-memory"
        ]
    );
    assert_eq!(inner.len(), 16);
    assert_eq!(v["stats"]["stat-free-memory"], json!(4 * 4096));
    assert_eq!(v["stats"]["stat-oom-kills"], json!(u64::MAX));
    assert_eq!(v["last-update"], json!(1795239101));
}

#[test]
fn polling_interval_is_live_on_both_objects() {
    let bc = BalloonConfig {
        stats_polling_interval: 3,
        ..Default::default()
    };
    let h = handle(bc);
    let mut tree = ObjectTree::new(&config(BASE));
    let devfn = PciDevfn::new(2, 0).unwrap();
    let path = add_balloon_objects(
        &mut tree,
        Some("b"),
        devfn,
        BalloonQomConfig::new(&bc, &[]),
        h.clone(),
    )
    .unwrap();
    let backend = format!("{path}/virtio-backend");
    let ctx = NoMachine;
    assert_eq!(
        tree.get(&path, "guest-stats-polling-interval", &ctx)
            .unwrap(),
        json!(3)
    );
    tree.set(&path, "guest-stats-polling-interval", json!(10), &ctx)
        .unwrap();
    assert_eq!(h.polling_interval(), 10);
    assert_eq!(
        tree.get(&backend, "guest-stats-polling-interval", &ctx)
            .unwrap(),
        json!(10)
    );
    tree.set(
        &backend,
        "guest-stats-polling-interval",
        json!(4294967295u64),
        &ctx,
    )
    .unwrap();
    assert_eq!(h.polling_interval(), u32::MAX);
    h.set_polling_interval(0);
    assert_eq!(
        tree.get(&path, "guest-stats-polling-interval", &ctx)
            .unwrap(),
        json!(0)
    );

    let wrong = "Invalid parameter type for 'guest-stats-polling-interval', expected: integer";
    for p in [&path, &backend] {
        let mut set = |v: Value| err(tree.set(p, "guest-stats-polling-interval", v, &ctx));
        assert_eq!(set(json!(-1)), "timer value must be greater than zero");
        assert_eq!(
            set(json!(i64::MIN)),
            "timer value must be greater than zero"
        );
        assert_eq!(set(json!(4294967296u64)), "timer value is too big");
        assert_eq!(set(json!(i64::MAX)), "timer value is too big");
        for v in [
            json!(u64::MAX),
            json!(1.5),
            json!(1.0),
            json!("5"),
            json!(true),
            json!(null),
            json!({}),
            json!([]),
        ] {
            assert_eq!(set(v.clone()), wrong, "{v}");
        }
    }
    assert_eq!(h.polling_interval(), 0);
}

#[test]
fn writes_after_realize_fail_as_in_qemu() {
    let (mut tree, path) = tree_with(None, ",id=balloon0", (2, 0));
    let ctx = NoMachine;
    let backend = format!("{path}/virtio-backend");
    let bus = format!("{path}/virtio-bus");
    let mut set = |p: &str, prop: &str, v: Value| tree.set(p, prop, v, &ctx).map_err(|e| e.desc);
    let after = |name: &str, dev: &str, ty: &str| {
        Err(format!(
            "Attempt to set property '{name}' on {dev} (type '{ty}') after it was realized"
        ))
    };
    assert_eq!(
        set(&path, "rombar", json!(0)),
        after("rombar", "device 'balloon0'", "virtio-balloon-pci")
    );
    assert_eq!(
        set(&path, "addr", json!([1])),
        after("addr", "device 'balloon0'", "virtio-balloon-pci")
    );
    assert_eq!(
        set(&path, "disable-legacy", json!("off")),
        after("disable-legacy", "device 'balloon0'", "virtio-balloon-pci")
    );
    // The aliases fail as the backend's properties.
    assert_eq!(
        set(&path, "deflate-on-oom", json!(true)),
        after(
            "deflate-on-oom",
            "anonymous device",
            "virtio-balloon-device"
        )
    );
    assert_eq!(
        set(&backend, "page-poison", json!(true)),
        after("page-poison", "anonymous device", "virtio-balloon-device")
    );
    let nw = |t: &str, n: &str| Err(format!("Property '{t}.{n}' is not writable"));
    for n in [
        "type",
        "parent_bus",
        "hotplugged",
        "hotpluggable",
        "busnr",
        "legacy-addr",
        "virtio-bus",
        "virtio-backend",
    ] {
        assert_eq!(set(&path, n, json!(1)), nw("virtio-balloon-pci", n), "{n}");
    }
    assert_eq!(
        set(&path, "guest-stats", json!({})),
        nw("virtio-balloon-device", "guest-stats")
    );
    assert_eq!(
        set(&path, "legacy-iothread", json!("")),
        nw("virtio-balloon-device", "legacy-iothread")
    );
    assert_eq!(
        set(&backend, "hotpluggable", json!(true)),
        nw("virtio-balloon-device", "hotpluggable")
    );
    assert_eq!(
        set(&bus, "child[0]", json!("")),
        nw("virtio-pci-bus", "child[0]")
    );
    assert_eq!(
        set(&path, "nosuch", json!(1)),
        Err("Property 'virtio-balloon-pci.nosuch' not found".into())
    );

    // iothread: the target is checked first, then the realized device refuses.
    let link_after = Err("Attempt to set link property 'iothread' on device '(null)' (type 'virtio-balloon-device') after it was realized".to_string());
    for p in [&path, &backend] {
        assert_eq!(set(p, "iothread", json!("")), link_after);
        assert_eq!(
            set(p, "iothread", json!([1])),
            Err("Invalid parameter type for 'iothread', expected: string".into())
        );
        assert_eq!(
            set(p, "iothread", json!("/machine")),
            Err("Invalid parameter type for 'iothread', expected: iothread".into())
        );
        assert_eq!(
            set(p, "iothread", json!("/objects/nosuch")),
            Err("Device '/objects/nosuch' not found".into())
        );
    }
    // The bus's hotplug handler may be changed at any time.
    assert_eq!(set(&bus, "hotplug-handler", json!("/machine")), Ok(()));
    assert_eq!(
        set(&bus, "hotplug-handler", json!("/objects")),
        Err("Invalid parameter type for 'hotplug-handler', expected: hotplug-handler".into())
    );

    // realized: true is accepted; false would unplug, which this machine cannot do.
    for p in [&path, &backend, &bus] {
        assert_eq!(set(p, "realized", json!(true)), Ok(()));
        assert_eq!(
            set(p, "realized", json!("x")),
            Err("Invalid parameter type for 'realized', expected: boolean".into())
        );
    }
    assert_eq!(
        set(&path, "realized", json!(false)),
        Err("Device 'virtio-balloon-pci' does not support hotplugging".into())
    );
    assert_eq!(
        set(&backend, "realized", json!(false)),
        Err("Bus 'virtio-bus' does not support hotplugging".into())
    );
    assert_eq!(
        tree.get(&bus, "hotplug-handler", &ctx).unwrap(),
        json!("/machine")
    );
    assert_eq!(tree.get(&path, "realized", &ctx).unwrap(), json!(true));
}

#[test]
fn anonymous_q35_and_command_line_values() {
    let line = ",deflate-on-oom=on,free-page-reporting=on,romfile=x.rom,rombar=0,romsize=0x800,\
                x-max-bounce-buffer-size=8k,use-started=off,migrate-extra=off,event_idx=on,\
                disable-legacy=off,vectors=9,multifunction=on";
    let (mut tree, path) = tree_with(Some("q35,accel=kvm"), line, (1, 0));
    assert_eq!(path, "/machine/peripheral-anon/device[0]");
    let ctx = NoMachine;
    let get = |t: &ObjectTree, prop: &str| t.get(&path, prop, &ctx).expect(prop);
    for (prop, want) in [
        ("parent_bus", json!("/machine/q35/pcie.0")),
        ("hotpluggable", json!(false)),
        ("addr", json!(8)),
        ("legacy-addr", json!("01.0")),
        ("deflate-on-oom", json!(true)),
        ("free-page-reporting", json!(true)),
        // As given: these change nothing here.
        ("romfile", json!("x.rom")),
        ("rombar", json!(0)),
        ("romsize", json!(2048)),
        ("x-max-bounce-buffer-size", json!(8192)),
        ("use-started", json!(false)),
        ("migrate-extra", json!(false)),
        // What the device is, whatever was asked.
        ("event_idx", json!(false)),
        ("disable-legacy", json!("on")),
        ("vectors", json!(5)),
        ("multifunction", json!(false)),
    ] {
        assert_eq!(get(&tree, prop), want, "{prop}");
    }
    assert_eq!(
        tree.get(&format!("{path}/virtio-backend"), "use-started", &ctx)
            .unwrap(),
        json!(false)
    );
    assert_eq!(
        err(tree.set(&path, "rombar", json!(1), &ctx)),
        "Attempt to set property 'rombar' on anonymous device (type 'virtio-balloon-pci') after it was realized"
    );
    assert_eq!(
        err(tree.set(&path, "realized", json!(false), &ctx)),
        "Bus 'pcie.0' does not support hotplugging"
    );

    // A second anonymous one takes the next index; a duplicate id leaves nothing behind.
    let h = handle(BalloonConfig::default());
    let devfn = PciDevfn::new(3, 0).unwrap();
    let cfg = BalloonQomConfig::default();
    assert_eq!(
        add_balloon_objects(&mut tree, None, devfn, cfg.clone(), h.clone()).unwrap(),
        "/machine/peripheral-anon/device[1]"
    );
    add_balloon_objects(&mut tree, Some("b"), devfn, cfg.clone(), h.clone()).unwrap();
    assert_eq!(
        add_balloon_objects(&mut tree, Some("b"), devfn, cfg, h).unwrap_err(),
        QomError::Duplicate {
            name: "b".into(),
            type_name: "container".into()
        }
    );
    assert!(tree
        .resolve("/machine/peripheral/b/virtio-backend")
        .is_some());
    assert_eq!(listing(&tree, "/machine/peripheral").len(), 2);
}

// ---- against QEMU ----

use super::qemu::{Qemu, Reply};

/// Our reply with its members in the order the monitor prints them, as QEMU's parsed reply is.
fn ours(r: Result<Value, qapi::QapiError>) -> Reply {
    r.map(|v| printed_order(&v))
        .map_err(|e| (format!("{:?}", e.class), e.desc))
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

/// Compares listings, values, and writes (the current value, a wrong type, and the polling
/// interval's edge cases) of the balloon's objects at `path` in both; returns the mismatches.
fn compare(q: &mut Qemu, tree: &mut ObjectTree, path: &str) -> Vec<String> {
    let mut bad = Vec::new();
    let ctx = NoMachine;
    for p in [
        path.to_string(),
        format!("{path}/virtio-backend"),
        format!("{path}/virtio-bus"),
    ] {
        let theirs = match q.cmd("qom-list", json!({ "path": p })) {
            Ok(v) => names_of(&v),
            Err(e) => return vec![format!("{p}: QEMU: {e:?}")],
        };
        let mine = super::names(&tree.list(&p, &ctx).expect("list"));
        // Ours is QEMU's less the memory regions, in QEMU's order.
        let expected: Vec<_> = theirs
            .iter()
            .filter(|(_, t)| t != "child<memory-region>")
            .cloned()
            .collect();
        if mine != expected {
            bad.push(format!("{p}: listing {mine:?}\n  QEMU's {expected:?}"));
        }
        for (name, ty) in &mine {
            let a = ours(tree.get(&p, name, &ctx));
            let b = q.cmd("qom-get", json!({"path": p, "property": name}));
            // As text, so that object members must come in QEMU's order too.
            let text = |r: &Reply| match r {
                Ok(v) => v.to_string(),
                Err(e) => format!("{e:?}"),
            };
            if text(&a) != text(&b) && !BALLOON_DIFFERS_FROM_QEMU.contains(&name.as_str()) {
                bad.push(format!("{p} {name}: get ours {a:?} QEMU {b:?}"));
            }
            let current = b.clone().unwrap_or(json!(""));
            let mut values = vec![current, json!([1])];
            if name == "guest-stats-polling-interval" {
                values.extend([
                    json!(-1),
                    json!(4294967295u64),
                    json!(4294967296u64),
                    json!(u64::MAX),
                    json!(1.5),
                    json!("5"),
                    json!(0),
                ]);
            }
            if ty.starts_with("link<") {
                values.extend([json!("/machine"), json!("/objects/nosuch"), json!("")]);
            }
            for v in values {
                // Unrealizing is not something this machine does.
                if name == "realized" && v == json!(false) {
                    continue;
                }
                let a = ours(tree.set(&p, name, v.clone(), &ctx).map(|()| json!({})));
                let b = q.cmd("qom-set", json!({"path": p, "property": name, "value": v}));
                if a != b {
                    bad.push(format!("{p} {name} := {v}: ours {a:?} QEMU {b:?}"));
                }
            }
        }
    }
    bad
}

#[test]
fn balloon_matches_qemu() {
    let mut bad = Vec::new();
    for (machine, device, devfn, path) in [
        ("pc,accel=kvm", ",id=balloon0", (2, 0), "/machine/peripheral/balloon0"),
        (
            "pc,accel=kvm",
            ",deflate-on-oom=on,free-page-reporting=on,guest-stats-polling-interval=3,addr=05.0,romfile=,use-started=off",
            (5, 0),
            "/machine/peripheral-anon/device[0]",
        ),
        ("q35,accel=kvm", ",id=b", (1, 0), "/machine/peripheral/b"),
    ] {
        // QEMU's device as this one is: modern only.
        let line = format!("virtio-balloon-pci{device},disable-legacy=on");
        let mut args: Vec<&str> = BASE.to_vec();
        args[1] = machine;
        args.extend(["-device", &line]);
        let Some(mut q) = Qemu::start(&args) else {
            return;
        };
        let (mut tree, ours_path) = tree_with(Some(machine), device, devfn);
        assert_eq!(ours_path, path);
        bad.extend(
            compare(&mut q, &mut tree, path)
                .into_iter()
                .map(|s| format!("[{machine} {device}] {s}")),
        );
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
