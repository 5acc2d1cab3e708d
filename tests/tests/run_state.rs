//! Guest-driven run-state changes seen from outside: reset, power-off, -no-reboot,
//! -no-shutdown, triple faults, internal errors and host signals.

use std::time::Duration;

use tests::guest_abi::{BANNER, READY};
use tests::process::VmmProcess;

const BOOT: Duration = Duration::from_secs(60);

fn boot(extra: &[&str]) -> VmmProcess {
    let mut args = vec!["-display", "none", "-serial", "stdio"];
    args.extend_from_slice(extra);
    let vm = VmmProcess::spawn(&args);
    vm.wait_for(READY, BOOT);
    vm
}

fn banner_count(vm: &VmmProcess) -> usize {
    vm.output().matches(BANNER).count()
}

#[test]
fn guest_reset_reboots_the_guest() {
    let mut vm = boot(&["-smp", "2"]);
    let mark = vm.send_line("reset");
    vm.wait_for_from(mark, "resetting", BOOT);
    let after = vm.wait_for_from(mark, BANNER, BOOT);
    // The second boot also brings up both CPUs again.
    vm.wait_for_from(after, "cpus: 2", BOOT);
    vm.wait_for_from(after, READY, BOOT);
    let mark = vm.send_line("ping");
    vm.wait_for_from(mark, "pong", BOOT);
}

#[test]
fn guest_reset_with_no_reboot_exits() {
    let mut vm = boot(&["-no-reboot"]);
    vm.send_line("reset");
    let status = vm
        .wait_exit(BOOT)
        .expect("exits on guest reset under -no-reboot");
    assert!(status.success(), "{status:?}");
    assert_eq!(banner_count(&vm), 1);
}

#[test]
fn guest_power_off_ends_the_process() {
    let mut vm = boot(&[]);
    let mark = vm.send_line("poweroff");
    vm.wait_for_from(mark, "powering off", BOOT);
    let status = vm.wait_exit(BOOT).expect("exits on ACPI power-off");
    assert!(status.success(), "{status:?}");
}

#[test]
fn guest_power_off_with_no_shutdown_keeps_the_process() {
    let mut vm = boot(&["-no-shutdown"]);
    let mark = vm.send_line("poweroff");
    vm.wait_for_from(mark, "powering off", BOOT);
    assert!(
        vm.wait_exit(Duration::from_secs(2)).is_none(),
        "must stay alive (paused in 'shutdown')"
    );
    // The guest is stopped: it no longer answers.
    let mark = vm.send_line("ping");
    std::thread::sleep(Duration::from_millis(500));
    assert!(!vm.output()[mark..].contains("pong"));
    vm.signal(libc::SIGTERM);
    let status = vm.wait_exit(BOOT).expect("SIGTERM still quits");
    assert!(status.success());
}

#[test]
fn triple_fault_resets_the_guest_with_a_message() {
    let mut vm = boot(&[]);
    let mark = vm.send_line("triplefault");
    vm.wait_for_from(mark, "triple faulting", BOOT);
    vm.wait_for_from(mark, BANNER, BOOT);
    vm.wait_for_from(mark, READY, BOOT);
    assert!(vm.stderr().contains("triple fault"), "{}", vm.stderr());
}

#[test]
fn invalid_instruction_without_handler_resets_or_exits_under_no_reboot() {
    let mut vm = boot(&["-no-reboot"]);
    let mark = vm.send_line("ud2");
    vm.wait_for_from(mark, "executing ud2", BOOT);
    let status = vm
        .wait_exit(BOOT)
        .expect("triple fault under -no-reboot exits");
    assert!(status.success(), "{status:?}");
    assert!(
        vm.stderr().contains("CPU 0 triple fault"),
        "{}",
        vm.stderr()
    );
}

#[test]
fn kvm_internal_error_stops_the_vm_and_reports_it() {
    let mut vm = boot(&[]);
    let mark = vm.send_line("mmio-exec");
    vm.wait_for_from(mark, "jumping to 0xd0000000", BOOT);
    let deadline = std::time::Instant::now() + BOOT;
    while !vm.stderr().contains("KVM internal error. Suberror:") {
        assert!(
            std::time::Instant::now() < deadline,
            "stderr: {}",
            vm.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let err = vm.stderr();
    // QEMU's report: suberror, then the register dump.
    assert!(err.contains("RIP="), "{err}");
    assert!(err.contains("CR0="), "{err}");
    // The process stays, with the VM stopped in 'internal-error'.
    assert!(vm.wait_exit(Duration::from_secs(1)).is_none());
    vm.signal(libc::SIGTERM);
    assert!(vm.wait_exit(BOOT).is_some());
}

#[test]
fn sigterm_exits_cleanly_with_qemus_message() {
    let mut vm = boot(&[]);
    vm.signal(libc::SIGTERM);
    let status = vm.wait_exit(BOOT).expect("exits on SIGTERM");
    assert!(status.success(), "{status:?}");
    let err = vm.stderr();
    assert!(
        err.contains("vmm: terminating on signal 15 from pid"),
        "{err}"
    );
}
