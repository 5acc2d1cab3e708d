//! Booting Debian's stock kernel: the boot protocol is checked by what the kernel itself prints
//! on its early console. (A full boot to user space needs hardware virtualization.)

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use tests::process::VmmProcess;

/// Kernel text emulated at CPL0 is slow on hosts without VMX/SVM; the early console comes
/// within seconds, the rest within minutes.
const EARLY_CONSOLE: Duration = Duration::from_secs(120);

fn debian_vmlinux() -> PathBuf {
    // Tests run in parallel; fetch once.
    static FETCHED: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _once = FETCHED.lock().unwrap_or_else(|e| e.into_inner());
    let dest = tests::workspace_root().join("target/debian-kernel/vmlinux");
    if !dest.exists() {
        let script = tests::workspace_root().join("tests/scripts/fetch-debian-kernel.sh");
        let status = Command::new(script)
            .arg(&dest)
            .status()
            .expect("run fetch-debian-kernel.sh");
        assert!(status.success(), "fetching the Debian kernel failed");
    }
    dest
}

fn has_hardware_virtualization() -> bool {
    std::fs::read_to_string("/proc/cpuinfo")
        .map(|c| {
            c.lines()
                .filter(|l| l.starts_with("flags"))
                .any(|l| l.split_whitespace().any(|f| f == "vmx" || f == "svm"))
        })
        .unwrap_or(false)
}

const CMDLINE: &str = "console=ttyS0 earlycon=uart8250,io,0x3f8 nokaslr panic=-1 vmm.test=linux";
/// The bzImage decompressor has its own early console, enabled by `earlyprintk=ttyS0`.
const BZIMAGE_CMDLINE: &str = "console=ttyS0 earlyprintk=ttyS0 nokaslr panic=-1";

#[test]
fn debian_kernel_pvh_boot_prints_version_cmdline_and_our_e820() {
    let vmlinux = debian_vmlinux();
    let vm = VmmProcess::spawn(&[
        "-m",
        "256",
        "-kernel",
        vmlinux.to_str().unwrap(),
        "-append",
        CMDLINE,
        "-display",
        "none",
        "-serial",
        "stdio",
    ]);
    vm.wait_for("Linux version 6.", EARLY_CONSOLE);
    vm.wait_for(&format!("Command line: {CMDLINE}"), EARLY_CONSOLE);
    // The e820 map we built (Linux prints it as the "BIOS-provided physical RAM map").
    vm.wait_for(
        "BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable",
        EARLY_CONSOLE,
    );
    vm.wait_for(
        "BIOS-e820: [mem 0x0000000000100000-0x000000000fffffff] usable",
        EARLY_CONSOLE,
    );
    // It found the MP table we wrote where it scans for one.
    vm.wait_for(
        "found SMP MP-table at [mem 0x0009fc00-0x0009fc0f]",
        EARLY_CONSOLE,
    );
}

#[test]
fn debian_bzimage_64bit_boot_reaches_the_decompressor() {
    let vmlinux = debian_vmlinux();
    let bzimage = vmlinux.with_extension("bzImage");
    let vm = VmmProcess::spawn(&[
        "-m",
        "256",
        "-kernel",
        bzimage.to_str().unwrap(),
        "-append",
        BZIMAGE_CMDLINE,
        "-display",
        "none",
        "-serial",
        "stdio",
    ]);
    // The in-guest decompressor parses our command line from the zero page and says so.
    vm.wait_for("KASLR disabled: 'nokaslr' on cmdline.", EARLY_CONSOLE);
}

#[test]
fn debian_kernel_boots_to_user_space_with_an_initramfs() {
    if !has_hardware_virtualization() {
        eprintln!(
            "SKIPPED: booting Linux to user space needs hardware virtualization (vmx/svm in \
             /proc/cpuinfo); this host's KVM emulates kernel code and cannot (see host-kvm.md)"
        );
        return;
    }
    let vmlinux = debian_vmlinux();
    let dir = std::env::temp_dir().join(format!("vmm-initramfs-{}", std::process::id()));
    let initrd = build_initramfs(&dir);
    let vm = VmmProcess::spawn(&[
        "-m",
        "512",
        "-smp",
        "2",
        "-kernel",
        vmlinux.to_str().unwrap(),
        "-initrd",
        initrd.to_str().unwrap(),
        "-append",
        "console=ttyS0 panic=-1 rdinit=/init",
        "-display",
        "none",
        "-serial",
        "stdio",
    ]);
    vm.wait_for(
        "vmm-initramfs: user space reached",
        Duration::from_secs(300),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A minimal initramfs: a static /init that prints a marker and powers off.
fn build_initramfs(dir: &std::path::Path) -> PathBuf {
    std::fs::create_dir_all(dir.join("root")).unwrap();
    let init_c = dir.join("init.c");
    std::fs::write(
        &init_c,
        "#include <stdio.h>\n#include <unistd.h>\n#include <sys/reboot.h>\n\
         int main(void){printf(\"vmm-initramfs: user space reached\\n\");fflush(stdout);\
         sync();reboot(RB_POWER_OFF);return 0;}\n",
    )
    .unwrap();
    let status = Command::new("cc")
        .args(["-static", "-O2", "-o"])
        .arg(dir.join("root/init"))
        .arg(&init_c)
        .status()
        .expect("cc");
    assert!(status.success());
    let cpio = dir.join("initramfs.cpio");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "cd {} && echo init | cpio -o -H newc > {}",
            dir.join("root").display(),
            cpio.display()
        ))
        .status()
        .expect("cpio");
    assert!(status.success());
    cpio
}
