//! Getters reading a live machine through `QomContext for Machine` (needs /dev/kvm).

use std::sync::Arc;

use serde_json::json;

use super::{config, BASE};
use crate::machine::Machine;
use crate::machine_events::MachineEvents;
use crate::qom::ObjectTree;

#[test]
fn cpu_properties_read_the_vcpus() {
    if std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_err()
    {
        eprintln!("note: /dev/kvm not usable, live QOM test skipped");
        return;
    }
    crate::vcpu::kick::install_kick_handler().expect("kick handler");
    let cfg = config(BASE);
    let (events, _rx) = MachineEvents::new().expect("events");
    let machine =
        Machine::new(&cfg, crate::BUILTIN_GUEST, Vec::new(), Arc::new(events)).expect("machine");
    let tree = ObjectTree::new(&cfg);
    let cpu0 = "/machine/unattached/device[0]";
    let cpu1 = "/machine/unattached/device[2]";
    let get = |path: &str, prop: &str| tree.get(path, prop, &machine).expect(prop);

    // What Machine::new gives the vCPUs: KVM's CPUID with the hypervisor bit, long mode, and
    // the host's vendor.
    assert_eq!(get(cpu0, "hypervisor"), json!(true));
    assert_eq!(get(cpu1, "lm"), json!(true));
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let vendor = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("vendor_id"))
        .and_then(|l| l.split(':').nth(1))
        .map(str::trim)
        .unwrap_or_default();
    assert_eq!(get(cpu0, "vendor"), json!(vendor));
    assert!(get(cpu0, "tsc-frequency").as_u64().unwrap_or(0) > 0);
    assert_eq!(get(cpu1, "apic-id"), json!(1));
    assert_eq!(get("/machine", "memory"), json!({"size": 256u64 << 20}));
    let words = get(cpu0, "feature-words");
    let leaf1_ecx = words
        .as_array()
        .and_then(|w| {
            w.iter()
                .find(|w| w["cpuid-input-eax"] == json!(1) && w["cpuid-register"] == json!("ECX"))
        })
        .and_then(|w| w["features"].as_u64())
        .unwrap_or(0);
    assert_ne!(leaf1_ecx & 1 << 31, 0);
}
