//! `system_powerdown` presses the ACPI power button: the machine's DSDT has a Generic Event
//! Device whose `_EVT` notifies `PWRB`, and the guest (the built-in one acts as an OSPM with a
//! "power off" policy) powers off through ACPI S5. The same guest under QEMU 10's microvm
//! (whose GED is the same device) shows the same events.

use std::time::Duration;

use serde_json::Value;
use tests::guest_abi::READY;
use tests::qmp_client::{event_name, QmpClient};
use tests::qmp_harness::{qemu_or_skip, start_qemu, start_vmm, Server};

const BOOT: Duration = Duration::from_secs(120);

fn json(msg: &[u8]) -> Value {
    serde_json::from_slice(msg).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(msg)))
}

/// `system_powerdown` on a running guest: POWERDOWN before the reply, then the guest's
/// own shutdown; returns the event names and the SHUTDOWN event's data.
fn press_and_watch(server: &mut Server) -> (Vec<String>, Value) {
    server.proc.wait_for(READY, BOOT);
    let mut c = server.client();
    let transcript = c.command_transcript(br#"{"execute":"system_powerdown"}"#);
    let mut names: Vec<String> = transcript
        .iter()
        .map(|m| event_name(m).unwrap_or_else(|| "<reply>".into()))
        .collect();
    let shutdown = c.wait_event("SHUTDOWN");
    names.push("SHUTDOWN".into());
    let status = server.proc.wait_exit(BOOT).expect("the guest powered off");
    assert!(status.success(), "{status:?}");
    server.proc.wait_for("ACPI power button pressed", BOOT);
    (names, json(&shutdown)["data"].clone())
}

#[test]
fn system_powerdown_makes_the_guest_power_off() {
    let mut vm = start_vmm("pwrbtn", &["-serial", "stdio"]);
    let (names, data) = press_and_watch(&mut vm);
    assert_eq!(names, ["POWERDOWN", "<reply>", "SHUTDOWN"]);
    assert_eq!(
        data,
        serde_json::json!({"guest": true, "reason": "guest-shutdown"})
    );
}

#[test]
fn qemu_microvm_runs_the_same_guest_to_the_same_events() {
    let Some(q) = qemu_or_skip("qemu_microvm_runs_the_same_guest_to_the_same_events") else {
        return;
    };
    let guest = tests::builtin_guest_file();
    let guest = guest.to_str().expect("utf-8 path");
    let mut qemu = start_qemu(
        &q,
        "pwrbtnq",
        &[
            "-machine",
            "microvm,accel=kvm",
            "-cpu",
            "qemu64",
            "-m",
            "128",
            "-nodefaults",
            "-serial",
            "stdio",
            "-kernel",
            guest,
        ],
    );
    let (names, data) = press_and_watch(&mut qemu);
    assert_eq!(names, ["POWERDOWN", "<reply>", "SHUTDOWN"]);
    assert_eq!(
        data,
        serde_json::json!({"guest": true, "reason": "guest-shutdown"})
    );
}

/// Pressed while paused, the button waits for the guest: nothing happens until `cont`.
#[test]
fn a_press_while_paused_is_handled_after_cont() {
    let vm = start_vmm("pwrbtnpause", &["-serial", "stdio", "-no-shutdown"]);
    vm.proc.wait_for(READY, BOOT);
    let mut c: QmpClient = vm.client();
    c.command(br#"{"execute":"stop"}"#);
    c.wait_event("STOP");
    let t = c.command_transcript(br#"{"execute":"system_powerdown"}"#);
    assert_eq!(event_name(&t[0]).as_deref(), Some("POWERDOWN"));
    let quiet = c.read_for(Duration::from_millis(300));
    assert!(quiet.is_empty(), "{}", String::from_utf8_lossy(&quiet));
    assert!(!vm.proc.output().contains("ACPI power button pressed"));
    c.command(br#"{"execute":"cont"}"#);
    c.wait_event("RESUME");
    let shutdown = c.wait_event("SHUTDOWN");
    assert_eq!(json(&shutdown)["data"]["reason"], "guest-shutdown");
    c.wait_event("STOP");
    let status = json(&c.command(br#"{"execute":"query-status"}"#));
    assert_eq!(status["return"]["status"], "shutdown");
    // (The serial output is read by another thread: wait for it rather than peek.)
    vm.proc.wait_for("ACPI power button pressed", BOOT);
}
