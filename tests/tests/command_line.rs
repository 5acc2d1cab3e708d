//! The command line, end to end: run the `vmm` binary with bad options and compare its stderr
//! and exit status with what QEMU 10.0.2 prints (`qemu-system-x86_64` replaced by `vmm`).
//!
//! The expected texts are recorded here; when the reference QEMU 10.0 is installed, each case
//! that QEMU shares is also run through it, which checks the recorded text is still QEMU's.

use std::time::Duration;

use tests::command_line_support::{
    as_vmm, reference_qemu, run_with_input, run_with_timeout, RunResult,
};
use tests::vmm_binary;

const DEADLINE: Duration = Duration::from_secs(20);

/// Whether QEMU itself prints the same thing for a case.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Qemu {
    /// Same text and status in QEMU 10.0.2.
    Same,
    /// This VMM differs on purpose (a feature it does not have); the text is the one QEMU gives
    /// when that feature is compiled out.
    Differs,
}

struct Case {
    args: &'static [&'static str],
    stderr: &'static str,
    qemu: Qemu,
}

const fn same(args: &'static [&'static str], stderr: &'static str) -> Case {
    Case {
        args,
        stderr,
        qemu: Qemu::Same,
    }
}

const fn ours(args: &'static [&'static str], stderr: &'static str) -> Case {
    Case {
        args,
        stderr,
        qemu: Qemu::Differs,
    }
}

const SIZE_HINT: &str = "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, \
                         peta-\nand exabytes, respectively.\n";

/// Every case exits with status 1.
const CASES: &[Case] = &[
    same(&["-foo"], "vmm: -foo: invalid option\n"),
    same(&["--foo"], "vmm: --foo: invalid option\n"),
    same(&["-m"], "vmm: -m: requires an argument\n"),
    same(&["-m=512"], "vmm: -m=512: invalid option\n"),
    same(&["-m", "foo", "-bar"], "vmm: -bar: invalid option\n"),
    same(&["-no-acpi"], "vmm: -no-acpi: invalid option\n"),
    same(
        &["-prom-env", "x"],
        "vmm: -prom-env x: Option not supported for this target\n",
    ),
    ours(
        &["-vnc", ":0"],
        "vmm: -vnc :0: Option not supported in this build\n",
    ),
    same(
        &["-m", "-1"],
        "vmm: -m -1: Value '-1' is out of range for parameter 'size'\n",
    ),
    same(
        &["-m", "16E"],
        "vmm: -m 16E: Value '16E' is out of range for parameter 'size'\n",
    ),
    same(
        &["-m", "0x10"],
        "vmm: Parameter 'memory.size' expects size\n",
    ),
    same(
        &["-m", "size=1G,foo=1"],
        "vmm: -m size=1G,foo=1: Invalid parameter 'foo'\n",
    ),
    same(
        &["-m", "1G,slots=x"],
        "vmm: -m 1G,slots=x: Parameter 'slots' expects a number\n",
    ),
    same(
        &["-m", "5,6"],
        "vmm: -m 5,6: warning: short-form boolean option '6' deprecated\n\
         Please use 6=on instead\nvmm: -m 5,6: Invalid parameter '6'\n",
    ),
    same(
        &["-m", "1G,slots=2"],
        "vmm: slots specified but no max-size\n",
    ),
    same(
        &["-m", "1G,maxmem=512M"],
        "vmm: invalid value of maxmem: maximum memory size (0x20000000) must be at least the \
         initial memory size (0x40000000)\n",
    ),
    same(
        &["-m", "1G,slots=300,maxmem=2G"],
        "vmm: unsupported amount of memory slots: 300\n",
    ),
    same(
        &["-smp", "foo"],
        "vmm: Parameter 'smp.cpus' expects integer\n",
    ),
    same(
        &["-smp", "0"],
        "vmm: Invalid CPU topology: CPU topology parameters must be greater than zero\n",
    ),
    same(
        &["-smp", "1000"],
        "vmm: Invalid SMP CPUs 1000. The max CPUs supported by machine 'pc-i440fx-10.0' is 255\n",
    ),
    same(
        &["-M", "q35", "-smp", "5000"],
        "vmm: Invalid SMP CPUs 5000. The max CPUs supported by machine 'pc-q35-10.0' is 4096\n",
    ),
    same(
        &["-smp", "2,foo=1"],
        "vmm: Parameter 'smp.foo' is unexpected\n",
    ),
    same(&["-smp", "2,,3"], "vmm: -smp 2,,3: Invalid parameter ''\n"),
    same(
        &["-smp", "4,maxcpus=2"],
        "vmm: Invalid CPU topology: maxcpus must be equal to or greater than smp: sockets (1) * \
         dies (1) * modules (1) * cores (2) * threads (1) == maxcpus (2) < smp_cpus (4)\n",
    ),
    same(
        &["-smp", "4,sockets=3"],
        "vmm: Invalid CPU topology: product of the hierarchy must match maxcpus: sockets (3) * \
         dies (1) * modules (1) * cores (1) * threads (1) != maxcpus (4)\n",
    ),
    same(
        &["-machine", "foo"],
        "vmm: unsupported machine type: \"foo\"\nUse -machine help to list supported machines\n",
    ),
    ours(
        &["-machine", "isapc"],
        "vmm: unsupported machine type: \"isapc\"\nUse -machine help to list supported machines\n",
    ),
    same(
        &["-machine", "pc,foo=bar"],
        "vmm: Property 'pc-i440fx-10.0-machine.foo' not found\n",
    ),
    same(
        &["-machine", "pc,usb=maybe"],
        "vmm: Parameter 'usb' expects 'on' or 'off'\n",
    ),
    same(
        &["-machine", "pc,acpi=maybe"],
        "vmm: Parameter 'acpi' does not accept value 'maybe'\n",
    ),
    same(
        &["-machine", "pc,usb"],
        "vmm: -machine pc,usb: Expected '=' after parameter 'usb'\n",
    ),
    same(
        &["-machine", "pc,memory-backend=pc.ram"],
        "vmm: Memory backend 'pc.ram' not found\n",
    ),
    ours(
        &["-accel", "tcg"],
        "vmm: -accel tcg: invalid accelerator tcg\n",
    ),
    same(
        &["-accel", "foo"],
        "vmm: -accel foo: invalid accelerator foo\n",
    ),
    same(&["-machine", "accel="], "vmm: no accelerator found\n"),
    same(
        &["-machine", "accel=foo:bar"],
        "vmm: invalid accelerator foo\nvmm: invalid accelerator bar\n",
    ),
    same(
        &["-accel", "xen"],
        "vmm: -accel xen: invalid accelerator xen\n",
    ),
    same(
        &[
            "-machine",
            "none",
            "-cpu",
            "qemu64",
            "-kernel",
            "/nonexistent",
        ],
        "vmm: apic-id property was not initialized properly\n",
    ),
    same(
        &["-machine", "none", "-cpu", "max"],
        "vmm: apic-id property was not initialized properly\n",
    ),
    same(
        &["-machine", "none", "-kernel", "/nonexistent"],
        "vmm: The -kernel parameter is not supported (use the generic 'loader' device \
         instead).\n",
    ),
    // TCG is known (so `kvm:tcg` is silent while KVM works) but not built in.
    ours(&["-machine", "accel=tcg"], "vmm: invalid accelerator tcg\n"),
    ours(
        &["-enable-kvm", "-machine", "accel=tcg"],
        "vmm: invalid accelerator tcg\n",
    ),
    same(
        &["-machine", "accel=kvm", "-accel", "kvm"],
        "vmm: The -accel and \"-machine accel=\" options are incompatible\n",
    ),
    same(
        &["-accel", "kvm,foo=bar"],
        "vmm: -accel kvm,foo=bar: Property 'kvm-accel.foo' not found\n",
    ),
    same(&["-cpu", "foo"], "vmm: unable to find CPU model 'foo'\n"),
    same(&["-cpu", ""], "vmm: -cpu option cannot be empty\n"),
    same(
        &["-append", "x"],
        "vmm: -append only allowed with -kernel option\n",
    ),
    same(
        &["-initrd", "x"],
        "vmm: -initrd only allowed with -kernel option\n",
    ),
    same(
        &["-name", "foo,foo=bar"],
        "vmm: -name foo,foo=bar: Invalid parameter 'foo'\n",
    ),
    same(
        &["-uuid", "foo"],
        "vmm: -uuid foo: failed to parse UUID string: wrong format\n",
    ),
    same(
        &["-display", "foo"],
        "vmm: -display foo: Parameter 'type' does not accept value 'foo'\n",
    ),
    ours(
        &["-display", "gtk"],
        "vmm: -display gtk: Parameter 'type' does not accept value 'gtk'\n",
    ),
    same(
        &["-display", "none,gl=on"],
        "vmm: OpenGL is not supported by display backend 'none'\n",
    ),
    same(
        &["-nographic", "-daemonize"],
        "vmm: -nographic cannot be used with -daemonize\n",
    ),
    same(
        &["-chardev", "foo"],
        "vmm: -chardev foo: chardev: no id specified\n",
    ),
    same(
        &["-chardev", "foo,id=x"],
        "vmm: -chardev foo,id=x: 'foo' is not a valid char driver name\n",
    ),
    ours(
        &["-chardev", "pty,id=x"],
        "vmm: -chardev pty,id=x: 'pty' is not a valid char driver name\n",
    ),
    same(
        &["-chardev", "null,id=x", "-chardev", "null,id=x"],
        "vmm: -chardev null,id=x: Duplicate ID 'x' for chardev\n",
    ),
    same(
        &["-chardev", "socket,id=x,host=localhost"],
        "vmm: -chardev socket,id=x,host=localhost: chardev: socket: no port given\n",
    ),
    same(
        &["-chardev", "stdio,id=x", "-daemonize"],
        "vmm: -chardev stdio,id=x: cannot use stdio with -daemonize\n",
    ),
    same(
        &["-serial", "foo"],
        "vmm: -serial foo: 'foo' is not a valid char driver\n\
         vmm: -serial foo: could not connect serial device to character backend 'foo'\n",
    ),
    same(
        &["-serial", "chardev:nope"],
        "vmm: -serial chardev:nope: could not connect serial device to character backend \
         'chardev:nope'\n",
    ),
    same(
        &["-qmp", "none"],
        "vmm: -qmp none: 'none' is not a valid char driver\nvmm: -qmp none: parse error: none\n",
    ),
    same(
        &["-mon", "foo"],
        "vmm: -mon foo: chardev \"foo\" not found\n",
    ),
    same(
        &["-chardev", "null,id=c", "-mon", "c,mode=readline,pretty=on"],
        "vmm: -mon c,mode=readline,pretty=on: 'pretty' is not compatible with HMP monitors\n",
    ),
    same(
        &["-object", "{qom-type:1}"],
        "vmm: -object {qom-type:1}: JSON parse error, stray '-t'\n",
    ),
    same(
        &["-object", "secret,id=s0"],
        "vmm: Either 'file' or 'data' must be provided\n",
    ),
    same(
        &["-object", "memory-backend-ram,id=m,size=xx"],
        "vmm: -object memory-backend-ram,id=m,size=xx: Parameter 'size' expects a size value\n",
    ),
    same(
        &["-device", ""],
        "vmm: -device : Parameter 'driver' is missing\n",
    ),
    same(
        &["-global", "driver=foo"],
        "vmm: -global driver=foo: options 'driver', 'property', and 'value' are required\n",
    ),
    same(
        &["-rtc", "base=foo"],
        "vmm: invalid datetime format\nvalid formats: '2006-06-17T16:01:21' or '2006-06-17'\n",
    ),
    same(
        &["-boot", "strict=maybe"],
        "vmm: Parameter 'boot.strict' expects 'on' or 'off'\n",
    ),
    same(
        &["-sandbox", "on,obsolete=foo"],
        "vmm: -sandbox on,obsolete=foo: invalid argument for obsolete\n",
    ),
    same(
        &["-overcommit", "mem-lock=foo"],
        "vmm: -overcommit mem-lock=foo: parameter 'mem-lock' expects one of 'on', 'off', \
         'on-fault'\n",
    ),
    same(
        &["-watchdog-action", "foo"],
        "vmm: -watchdog-action foo: Parameter 'watchdog' does not accept value 'foo'\n",
    ),
    same(
        &["/nonexistent/disk.img"],
        "vmm: /nonexistent/disk.img: Could not open '/nonexistent/disk.img': No such file or \
         directory\n",
    ),
];

fn run_vmm(args: &[&str]) -> RunResult {
    let r = run_with_timeout(&vmm_binary(), args, DEADLINE);
    assert!(!r.timed_out, "vmm {args:?} did not exit: {r:?}");
    r
}

#[test]
fn bad_options_fail_like_qemu() {
    let qemu = reference_qemu();
    if let Err(why) = &qemu {
        println!("note: not comparing with QEMU: {why}");
    }
    let mut failures = Vec::new();
    for case in CASES {
        let got = run_vmm(case.args);
        if got.stderr != case.stderr || got.code != Some(1) {
            failures.push(format!(
                "vmm {:?}\n  want (1): {:?}\n  got ({:?}): {:?}",
                case.args, case.stderr, got.code, got.stderr
            ));
        }
        if let (Ok(qemu), Qemu::Same) = (&qemu, case.qemu) {
            let q = run_with_timeout(qemu, case.args, DEADLINE);
            if q.timed_out || q.code != Some(1) || as_vmm(&q.stderr) != case.stderr {
                failures.push(format!(
                    "qemu {:?}\n  recorded: {:?}\n  qemu ({:?}): {:?}",
                    case.args,
                    case.stderr,
                    q.code,
                    as_vmm(&q.stderr)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Accelerator choices that start a VM: QEMU tries them in order and stops at the first that
/// works, saying nothing more when it is the first. The VM is `-machine none` (no vCPU, so no
/// CPUID warnings) and quits from `-monitor stdio`.
#[test]
fn working_accelerators_are_chosen_like_qemu() {
    const FALLBACK: &str = "vmm: falling back to KVM\n";
    let cases: &[(&[&str], String, Qemu)] = &[
        (&["-accel", "kvm"], String::new(), Qemu::Same),
        (&["-enable-kvm"], String::new(), Qemu::Same),
        (&["-machine", "accel=kvm:tcg"], String::new(), Qemu::Same),
        (&["-machine", "accel=kvm:kvm"], String::new(), Qemu::Same),
        (
            &["-accel", "kvm", "-accel", "tcg"],
            String::new(),
            Qemu::Same,
        ),
        (
            &["-machine", "accel=tcg", "-enable-kvm"],
            String::new(),
            Qemu::Same,
        ),
        (
            &["-machine", "accel=foo:kvm"],
            format!("vmm: invalid accelerator foo\n{FALLBACK}"),
            Qemu::Same,
        ),
        (
            &["-machine", "accel=kvm:foo"],
            format!("vmm: invalid accelerator foo\n{FALLBACK}"),
            Qemu::Same,
        ),
        (
            &["-machine", "accel=:kvm"],
            format!("vmm: invalid accelerator \n{FALLBACK}"),
            Qemu::Same,
        ),
        (
            &["-accel", "foo", "-accel", "kvm"],
            format!("vmm: -accel foo: invalid accelerator foo\n{FALLBACK}"),
            Qemu::Same,
        ),
        // QEMU runs TCG here; this VMM has none and says so, as QEMU built without it would.
        (
            &["-machine", "accel=tcg:kvm"],
            format!("vmm: invalid accelerator tcg\n{FALLBACK}"),
            Qemu::Differs,
        ),
        (
            &["-accel", "tcg", "-accel", "kvm"],
            format!("vmm: -accel tcg: invalid accelerator tcg\n{FALLBACK}"),
            Qemu::Differs,
        ),
    ];
    let qemu = reference_qemu().ok();
    let base = ["-machine", "none", "-nodefaults", "-display", "none", "-S"];
    let mut failures = Vec::new();
    for (extra, want, same) in cases {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        args.extend_from_slice(&["-monitor", "stdio"]);
        let got = run_with_input(&vmm_binary(), &args, Some("quit\n"), DEADLINE);
        if (got.code, &got.stderr) != (Some(0), want) {
            failures.push(format!("vmm {extra:?}: want {want:?}, got {got:?}"));
        }
        if let (Some(q), Qemu::Same) = (&qemu, same) {
            let r = run_with_input(q, &args, Some("quit\n"), DEADLINE);
            if (r.code, as_vmm(&r.stderr)) != (Some(0), want.clone()) {
                failures.push(format!("qemu {extra:?}: recorded {want:?}, qemu {r:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn size_errors_carry_qemus_hint() {
    let want = format!(
        "vmm: -m foo: Parameter 'size' expects a non-negative number below 2^64\n{SIZE_HINT}"
    );
    let got = run_vmm(&["-m", "foo"]);
    assert_eq!((got.code, got.stderr.as_str()), (Some(1), want.as_str()));
    if let Ok(qemu) = reference_qemu() {
        let q = run_with_timeout(&qemu, &["-m", "foo"], DEADLINE);
        assert_eq!((q.code, as_vmm(&q.stderr)), (Some(1), want));
    }
}

#[test]
fn help_and_version_exit_zero() {
    let v = run_vmm(&["-version"]);
    assert_eq!(v.code, Some(0), "{v:?}");
    assert!(
        v.stdout.starts_with("QEMU emulator version 10.0.2 (vmm "),
        "{}",
        v.stdout
    );
    assert!(v.stderr.is_empty(), "{}", v.stderr);
    for flag in ["-h", "-help", "--help"] {
        let h = run_vmm(&[flag]);
        assert_eq!(h.code, Some(0), "{flag}: {h:?}");
        assert!(
            h.stdout.contains("\nusage: vmm [options] [disk_image]\n"),
            "{flag}"
        );
        assert!(h
            .stdout
            .contains("\n-machine [type=]name[,prop[=value][,...]]\n"));
    }
    // Help is acted on where it appears: an error before it wins, one after it does not.
    assert_eq!(run_vmm(&["-h", "-m", "foo"]).code, Some(0));
    assert_eq!(run_vmm(&["-m", "foo", "-h"]).code, Some(1));
}

#[test]
fn listings_match_qemu_where_they_can() {
    let qemu = reference_qemu().ok();
    // Identical text and status in QEMU.
    for args in [
        &["-m", "1,help"][..],
        &["-smp", "help"],
        &["-boot", "help"],
        &["-name", "a,help"],
        &["-rtc", "help"],
        &["-action", "help"],
        &["-mon", "chardev=x,help"],
        &["-global", "help"],
        &["-msg", "help"],
        &["-overcommit", "help"],
    ] {
        let got = run_vmm(args);
        assert!(!got.stdout.is_empty(), "{args:?}");
        if let Some(qemu) = &qemu {
            let q = run_with_timeout(qemu, args, DEADLINE);
            assert_eq!((got.code, &got.stdout), (q.code, &q.stdout), "{args:?}");
        }
    }
    // Ours lists what this VMM has, in QEMU's format.
    let m = run_vmm(&["-machine", "help"]);
    assert_eq!(m.code, Some(0));
    assert!(m.stdout.starts_with("Supported machines are:\n"));
    for line in [
        "pc                   Standard PC (i440FX + PIIX, 1996) (alias of pc-i440fx-10.0)\n",
        "pc-i440fx-10.0       Standard PC (i440FX + PIIX, 1996) (default)\n",
        "q35                  Standard PC (Q35 + ICH9, 2009) (alias of pc-q35-10.0)\n",
        "microvm              microvm (i386)\n",
        "none                 empty machine\n",
    ] {
        assert!(m.stdout.contains(line), "{line}");
        if let Some(qemu) = &qemu {
            let q = run_with_timeout(qemu, &["-machine", "help"], DEADLINE);
            assert!(q.stdout.contains(line), "QEMU lacks {line}");
        }
    }
    let c = run_vmm(&["-cpu", "help"]);
    assert_eq!(c.code, Some(0));
    assert!(c.stdout.starts_with("Available CPUs:\n"));
    assert!(c.stdout.contains("\n  max  "));
    let a = run_vmm(&["-accel", "help"]);
    assert_eq!(
        (a.code, a.stdout.as_str()),
        (Some(0), "Accelerators supported in QEMU binary:\nkvm\n")
    );
}
