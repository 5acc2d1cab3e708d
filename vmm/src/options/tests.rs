//! Whole-command-line tests: each error text was taken from QEMU 10.0.2
//! (`qemu-system-x86_64 ARGS`, with `qemu-system-x86_64:` replaced by `vmm:`).

use super::*;
use crate::config::{ChardevBackend, MonitorMode, VmConfig};

fn args(s: &[&str]) -> Vec<String> {
    s.iter().map(|a| a.to_string()).collect()
}

/// What the `vmm` binary prints on stderr for these arguments (diagnostics, then the error).
fn stderr_of(a: &[&str]) -> (String, Option<Parsed>) {
    let parsed = parse_args(args(a));
    let mut out = String::new();
    for d in &parsed.diagnostics {
        out.push_str(&format!("vmm: {d}\n"));
    }
    if let Err(e) = &parsed.result {
        out.push_str(&format!("vmm: {e}\n"));
    }
    (out, Some(parsed))
}

fn config(a: &[&str]) -> VmConfig {
    let parsed = parse_args(args(a));
    match parsed.result {
        Ok(Outcome::Command(Command::Run(c))) => *c,
        other => panic!("{a:?}: {other:?} {:?}", parsed.diagnostics),
    }
}

/// (arguments, QEMU's stderr with `vmm: ` as program name)
const ERRORS: &[(&[&str], &str)] = &[
    // The option table.
    (&["-foo"], "vmm: -foo: invalid option\n"),
    (&["--foo"], "vmm: --foo: invalid option\n"),
    (&["-"], "vmm: -: invalid option\n"),
    (&["---m"], "vmm: ---m: invalid option\n"),
    (&["-Machine", "none"], "vmm: -Machine: invalid option\n"),
    (&["-m"], "vmm: -m: requires an argument\n"),
    (&["-m=512"], "vmm: -m=512: invalid option\n"),
    (&["-m", "foo", "-bar"], "vmm: -bar: invalid option\n"),
    (&["-no-acpi"], "vmm: -no-acpi: invalid option\n"),
    (&["-prom-env", "x"], "vmm: -prom-env x: Option not supported for this target\n"),
    (&["-vnc", ":0"], "vmm: -vnc :0: Option not supported in this build\n"),
    // -m
    (&["-m", "foo"], "vmm: -m foo: Parameter 'size' expects a non-negative number below 2^64\nOptional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.\n"),
    (&["-m", "-1"], "vmm: -m -1: Value '-1' is out of range for parameter 'size'\n"),
    (&["-m", "16E"], "vmm: -m 16E: Value '16E' is out of range for parameter 'size'\n"),
    (&["-m", "0x10"], "vmm: Parameter 'memory.size' expects size\n"),
    (&["-m", "size=1G,foo=1"], "vmm: -m size=1G,foo=1: Invalid parameter 'foo'\n"),
    (&["-m", "1G,slots=x"], "vmm: -m 1G,slots=x: Parameter 'slots' expects a number\n"),
    (&["-m", "id=x"], "vmm: -m id=x: Invalid parameter 'id'\n"),
    (&["-m", "5,6"], "vmm: -m 5,6: warning: short-form boolean option '6' deprecated\nPlease use 6=on instead\nvmm: -m 5,6: Invalid parameter '6'\n"),
    (&["-m", "1G,slots=2"], "vmm: slots specified but no max-size\n"),
    (&["-m", "1G,maxmem=512M"], "vmm: invalid value of maxmem: maximum memory size (0x20000000) must be at least the initial memory size (0x40000000)\n"),
    (&["-m", "1G,slots=4,maxmem=1G"], "vmm: invalid value of maxmem: memory slots were specified but maximum memory size (0x40000000) is equal to the initial memory size (0x40000000)\n"),
    (&["-m", "1G,slots=300,maxmem=2G"], "vmm: unsupported amount of memory slots: 300\n"),
    (&["-m", "8193b,slots=1,maxmem=8193b"], "vmm: invalid value of maxmem: maximum memory size (0x2001) must be at least the initial memory size (0x4000)\n"),
    // -smp
    (&["-smp", "foo"], "vmm: Parameter 'smp.cpus' expects integer\n"),
    (&["-smp", "0"], "vmm: Invalid CPU topology: CPU topology parameters must be greater than zero\n"),
    (&["-smp", "1000"], "vmm: Invalid SMP CPUs 1000. The max CPUs supported by machine 'pc-i440fx-10.0' is 255\n"),
    (&["-smp", "2,foo=1"], "vmm: Parameter 'smp.foo' is unexpected\n"),
    (&["-smp", "2,,3"], "vmm: -smp 2,,3: Invalid parameter ''\n"),
    (&["-smp", "4,maxcpus=2"], "vmm: Invalid CPU topology: maxcpus must be equal to or greater than smp: sockets (1) * dies (1) * modules (1) * cores (2) * threads (1) == maxcpus (2) < smp_cpus (4)\n"),
    (&["-smp", "4,sockets=3"], "vmm: Invalid CPU topology: product of the hierarchy must match maxcpus: sockets (3) * dies (1) * modules (1) * cores (1) * threads (1) != maxcpus (4)\n"),
    (&["-M", "q35", "-smp", "5000"], "vmm: Invalid SMP CPUs 5000. The max CPUs supported by machine 'pc-q35-10.0' is 4096\n"),
    (&["-m", "1G,slots=2", "-smp", "1000"], "vmm: Invalid SMP CPUs 1000. The max CPUs supported by machine 'pc-i440fx-10.0' is 255\n"),
    // -machine and -accel
    (&["-machine", "foo"], "vmm: unsupported machine type: \"foo\"\nUse -machine help to list supported machines\n"),
    (&["-machine", "isapc"], "vmm: unsupported machine type: \"isapc\"\nUse -machine help to list supported machines\n"),
    (&["-machine", "pc,foo=bar"], "vmm: Property 'pc-i440fx-10.0-machine.foo' not found\n"),
    (&["-machine", "pc,usb=maybe"], "vmm: Parameter 'usb' expects 'on' or 'off'\n"),
    (&["-machine", "pc,acpi=maybe"], "vmm: Parameter 'acpi' does not accept value 'maybe'\n"),
    (&["-machine", "pc,usb"], "vmm: -machine pc,usb: Expected '=' after parameter 'usb'\n"),
    (&["-machine", "pc,foo=bar,usb=maybe"], "vmm: Parameter 'usb' expects 'on' or 'off'\n"),
    (&["-machine", "pc,memory=1G"], "vmm: Parameter 'memory' used inconsistently\n"),
    (&["-machine", "pc,smp=2"], "vmm: Invalid parameter type for 'smp', expected: object\n"),
    (&["-machine", "none,kernel-irqchip=on,kernel_irqchip=off"], "vmm: Conflict between 'kernel_irqchip' and 'kernel-irqchip'\n"),
    (&["-machine", "pc,memory-backend=pc.ram"], "vmm: Memory backend 'pc.ram' not found\n"),
    (&["-accel", "tcg"], "vmm: -accel tcg: invalid accelerator tcg\n"),
    (&["-accel", "foo"], "vmm: -accel foo: invalid accelerator foo\n"),
    (&["-machine", "accel=tcg"], "vmm: invalid accelerator tcg\n"),
    (&["-machine", "accel="], "vmm: no accelerator found\n"),
    (&["-machine", "accel=kvm", "-accel", "kvm"], "vmm: The -accel and \"-machine accel=\" options are incompatible\n"),
    (&["-enable-kvm", "-accel", "tcg"], "vmm: The -accel and \"-machine accel=\" options are incompatible\n"),
    (&["-accel", "kvm,foo=bar"], "vmm: -accel kvm,foo=bar: Property 'kvm-accel.foo' not found\n"),
    (&["-accel", "kvm,kernel-irqchip=foo"], "vmm: -accel kvm,kernel-irqchip=foo: Parameter 'kernel-irqchip' does not accept value 'foo'\n"),
    (&["-accel", "kvm,dirty-ring-size=99999999999"], "vmm: -accel kvm,dirty-ring-size=99999999999: Parameter 'dirty-ring-size' expects uint32_t\n"),
    // -cpu
    (&["-cpu", "foo"], "vmm: unable to find CPU model 'foo'\n"),
    (&["-cpu", ""], "vmm: -cpu option cannot be empty\n"),
    (&["-cpu", "help,foo"], "vmm: unable to find CPU model 'help'\n"),
    // Kernel
    (&["-append", "x"], "vmm: -append only allowed with -kernel option\n"),
    (&["-initrd", "x"], "vmm: -initrd only allowed with -kernel option\n"),
    // -name, -uuid
    (&["-name", "foo,foo=bar"], "vmm: -name foo,foo=bar: Invalid parameter 'foo'\n"),
    (&["-name", "guest=a,debug-threads=maybe"], "vmm: -name guest=a,debug-threads=maybe: Parameter 'debug-threads' expects 'on' or 'off'\n"),
    (&["-uuid", "foo"], "vmm: -uuid foo: failed to parse UUID string: wrong format\n"),
    (&["-uuid", "8b1e2a4c111122223333444455556666"], "vmm: -uuid 8b1e2a4c111122223333444455556666: failed to parse UUID string: wrong format\n"),
    // -display, -vga, -nographic
    (&["-display", "foo"], "vmm: -display foo: Parameter 'type' does not accept value 'foo'\n"),
    (&["-display", "none,foo=bar"], "vmm: -display none,foo=bar: Parameter 'foo' is unexpected\n"),
    (&["-display", ""], "vmm: -display : Parameter 'type' is missing\n"),
    (&["-display", "none,gl=on"], "vmm: OpenGL is not supported by display backend 'none'\n"),
    (&["-display", "none,help"], "vmm: -display none,help: Help is not available for this option\n"),
    (&["-display", "{\"type\":\"none\""], "vmm: -display {\"type\":\"none\": JSON parse error, premature EOI\n"),
    (&["-vga", "foo"], "vmm: unknown vga type: foo\n"),
    (&["-nographic", "-daemonize"], "vmm: -nographic cannot be used with -daemonize\n"),
    // Chardevs
    (&["-chardev", "foo"], "vmm: -chardev foo: chardev: no id specified\n"),
    (&["-chardev", "foo,id=x"], "vmm: -chardev foo,id=x: 'foo' is not a valid char driver name\n"),
    (&["-chardev", "null,id=1x"], "vmm: -chardev null,id=1x: Parameter 'id' expects an identifier\nIdentifiers consist of letters, digits, '-', '.', '_', starting with a letter.\n"),
    (&["-chardev", "null,id=x", "-chardev", "null,id=x"], "vmm: -chardev null,id=x: Duplicate ID 'x' for chardev\n"),
    (&["-chardev", "socket,id=x"], "vmm: -chardev socket,id=x: Unable to parse FD number \n"),
    (&["-chardev", "socket,id=x,host=localhost"], "vmm: -chardev socket,id=x,host=localhost: chardev: socket: no port given\n"),
    (&["-chardev", "socket,id=x,path=/a,wait=off"], "vmm: -chardev socket,id=x,path=/a,wait=off: 'wait' option is incompatible with socket in client connect mode\n"),
    (&["-chardev", "file,id=x"], "vmm: -chardev file,id=x: chardev: file: no filename given\n"),
    (&["-chardev", "stdio,id=x", "-daemonize"], "vmm: -chardev stdio,id=x: cannot use stdio with -daemonize\n"),
    (&["-serial", "foo"], "vmm: -serial foo: 'foo' is not a valid char driver\nvmm: -serial foo: could not connect serial device to character backend 'foo'\n"),
    (&["-serial", "tcp:localhost"], "vmm: -serial tcp:localhost: could not connect serial device to character backend 'tcp:localhost'\n"),
    (&["-serial", "chardev:nope"], "vmm: -serial chardev:nope: could not connect serial device to character backend 'chardev:nope'\n"),
    (&["-serial", "stdio", "-daemonize"], "vmm: -serial stdio: cannot use stdio with -daemonize\nvmm: -serial stdio: could not connect serial device to character backend 'stdio'\n"),
    (&["-serial", "unix:/s,foo=bar"], "vmm: -serial unix:/s,foo=bar: Invalid parameter 'foo'\nvmm: -serial unix:/s,foo=bar: could not connect serial device to character backend 'unix:/s,foo=bar'\n"),
    (&["-qmp", "none"], "vmm: -qmp none: 'none' is not a valid char driver\nvmm: -qmp none: parse error: none\n"),
    (&["-monitor", "stdio", "-daemonize"], "vmm: -monitor stdio: cannot use stdio with -daemonize\n"),
    (&["-mon", "foo"], "vmm: -mon foo: chardev \"foo\" not found\n"),
    (&["-mon", "chardev=foo,mode=bar"], "vmm: -mon chardev=foo,mode=bar: Parameter 'mode' does not accept value 'bar'\n"),
    (&["-chardev", "null,id=c", "-mon", "c,mode=readline,pretty=on"], "vmm: -mon c,mode=readline,pretty=on: 'pretty' is not compatible with HMP monitors\n"),
    (&["-chardev", "null,id=c", "-mon", "mode=control"], "vmm: -mon mode=control: Parameter 'chardev' is missing\n"),
    (&["-chardev", "null,id=compat_monitor0", "-monitor", "stdio"], "vmm: -monitor stdio: Duplicate ID 'compat_monitor0' for chardev\nvmm: -monitor stdio: parse error: stdio\n"),
    // Objects and devices
    (&["-object", "{\"qom-type\":\"secret\",\"id\":\"s0\"} x"], "vmm: -object {\"qom-type\":\"secret\",\"id\":\"s0\"} x: Expecting at most one JSON value\n"),
    (&["-object", "{qom-type:1}"], "vmm: -object {qom-type:1}: JSON parse error, stray '-t'\n"),
    (&["-object", "{\"qom-type\":\"nope\",\"id\":\"s0\"}"], "vmm: -object {\"qom-type\":\"nope\",\"id\":\"s0\"}: Parameter 'qom-type' does not accept value 'nope'\n"),
    (&["-object", "secret,id=s0"], "vmm: Either 'file' or 'data' must be provided\n"),
    (&["-object", "memory-backend-ram,id=m,size=xx"], "vmm: -object memory-backend-ram,id=m,size=xx: Parameter 'size' expects a size value\n"),
    (&["-object", "iothread,id=i,foo=bar"], "vmm: -object iothread,id=i,foo=bar: Invalid parameter 'foo'\n"),
    (&["-m", "128", "-object", "memory-backend-ram,id=r,size=256M", "-machine", "memory-backend=r"], "vmm: Machine memory size does not match the size of the memory backend\n"),
    (&["-device", ""], "vmm: -device : Parameter 'driver' is missing\n"),
    (&["-device", "virtio-balloon-pci,id=b", "-device", "virtio-balloon-pci,id=b"], "vmm: -device virtio-balloon-pci,id=b: Duplicate ID 'b' for device\n"),
    (&["-device", "{\"driver\":\"virtio-balloon-pci\",\"id\":\"b\"}", "-device", "{\"driver\":\"virtio-balloon-pci\",\"id\":\"b\"}"], "vmm: -device {\"driver\":\"virtio-balloon-pci\",\"id\":\"b\"}: Duplicate device ID 'b'\n"),
    (&["-global", "driver=foo"], "vmm: -global driver=foo: options 'driver', 'property', and 'value' are required\n"),
    // Other options
    (&["-rtc", "base=foo"], "vmm: invalid datetime format\nvalid formats: '2006-06-17T16:01:21' or '2006-06-17'\n"),
    (&["-rtc", "clock=foo"], "vmm: invalid option value 'foo'\n"),
    (&["-boot", "strict=maybe"], "vmm: Parameter 'boot.strict' expects 'on' or 'off'\n"),
    (&["-msg", "timestamp=maybe"], "vmm: -msg timestamp=maybe: Parameter 'timestamp' expects 'on' or 'off'\n"),
    (&["-sandbox", "on,obsolete=foo"], "vmm: -sandbox on,obsolete=foo: invalid argument for obsolete\n"),
    (&["-overcommit", "mem-lock=foo"], "vmm: -overcommit mem-lock=foo: parameter 'mem-lock' expects one of 'on', 'off', 'on-fault'\n"),
    (&["-watchdog-action", "foo"], "vmm: -watchdog-action foo: Parameter 'watchdog' does not accept value 'foo'\n"),
    (&["-action", "reboot=foo"], "vmm: -action reboot=foo: Parameter 'reboot' does not accept value 'foo'\n"),
    (&["-audiodev", "none"], "vmm: -audiodev none: Parameter 'id' is missing\n"),
    (&["-blockdev", "{\"driver\":\"file\"}"], "vmm: -blockdev {\"driver\":\"file\"}: Parameter 'filename' is missing\n"),
    (&["/nonexistent/disk.img"], "vmm: /nonexistent/disk.img: Could not open '/nonexistent/disk.img': No such file or directory\n"),
    (&["-hda", "/"], "vmm: -hda /: 'file' driver requires '/' to be a regular file\n"),
];

#[test]
fn errors_match_qemu() {
    for (a, want) in ERRORS {
        let (got, parsed) = stderr_of(a);
        assert_eq!(got, *want, "args {a:?}");
        assert!(parsed.is_some_and(|p| p.result.is_err()), "{a:?} must fail");
    }
}

#[test]
fn double_dash_and_positional_forms() {
    let c = config(&["--m", "256", "--smp", "2"]);
    assert_eq!(c.memory.size, 256 << 20);
    assert_eq!(c.smp.cpus, 2);
}

#[test]
fn memory_sizes() {
    let cases: &[(&str, u64)] = &[
        ("512", 512 << 20),
        ("1G", 1 << 30),
        ("1024k", 1 << 20),
        ("1.5G", 3 << 29),
        ("size=262144k", 256 << 20),
        ("1", 1 << 20),
        ("1b", 8192),
        ("1000000B", 1007616),
        ("0", 128 << 20),
        ("", 128 << 20),
        ("0x1f", 8192),
        ("1.G", 1 << 30),
    ];
    for (m, want) in cases {
        assert_eq!(config(&["-m", m]).memory.size, *want, "-m {m}");
    }
    let c = config(&["-m", "1G", "-m", "slots=2,maxmem=4G"]);
    assert_eq!(
        (c.memory.size, c.memory.slots, c.memory.maxmem),
        (1 << 30, Some(2), Some(4 << 30))
    );
    // The last -m wins.
    assert_eq!(config(&["-m", "1G", "-m", "2G"]).memory.size, 2 << 30);
}

#[test]
fn smp_topologies() {
    let c = config(&["-smp", "1,sockets=1,cores=1,threads=1"]);
    assert_eq!((c.smp.cpus, c.smp.maxcpus), (1, 1));
    let c = config(&["-smp", "8,sockets=2,dies=2,cores=2,threads=1"]);
    assert_eq!(
        (
            c.smp.cpus,
            c.smp.sockets,
            c.smp.dies,
            c.smp.cores,
            c.smp.threads
        ),
        (8, 2, 2, 2, 1)
    );
    let c = config(&["-smp", "2,maxcpus=8"]);
    assert_eq!((c.smp.cpus, c.smp.cores, c.smp.maxcpus), (2, 8, 8));
    // Repeated -smp options merge.
    let c = config(&["-smp", "4", "-smp", "sockets=2"]);
    assert_eq!((c.smp.cpus, c.smp.sockets, c.smp.cores), (4, 2, 2));
}

#[test]
fn machine_types_and_properties() {
    for (m, family_max) in [
        ("pc", 255),
        ("q35", 4096),
        ("microvm", 288),
        ("none", 1),
        ("pc-i440fx-10.0", 255),
        ("pc-q35-10.0", 4096),
        ("pc-i440fx-2.12", 255),
        ("pc-q35-2.12", 288),
    ] {
        let c = config(&["-machine", m]);
        assert_eq!(c.machine.type_name, m);
        assert_eq!(machine::find(m).unwrap().max_cpus(), family_max);
    }
    assert_eq!(config(&[]).machine.type_name, "pc");
    let c = config(&[
        "-machine",
        "pc-i440fx-10.0,usb=off,dump-guest-core=off,mem-merge=off,vmport=off,smm=off,acpi=on",
    ]);
    assert_eq!(
        c.machine.props,
        [
            ("usb", "off"),
            ("dump-guest-core", "off"),
            ("mem-merge", "off"),
            ("vmport", "off"),
            ("smm", "off"),
            ("acpi", "on"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    // Later -machine options win, the type too.
    assert_eq!(config(&["-M", "pc", "-M", "q35"]).machine.type_name, "q35");
    let parsed = parse_args(args(&["-machine", "pc-i440fx-7.0"]));
    assert_eq!(
        parsed.diagnostics[0].to_string(),
        "warning: Machine type 'pc-i440fx-7.0' is deprecated: machines more than 3 years old \
         are subject to deletion after 6 years"
    );
}

#[test]
fn accelerators() {
    for a in [
        &["-accel", "kvm"][..],
        &["-enable-kvm"],
        &["-machine", "accel=kvm"],
        &["-accel", "kvm", "-accel", "tcg"],
        &["-accel", "kvm,kernel-irqchip=split"],
    ] {
        let p = parse_args(args(a));
        assert!(p.result.is_ok(), "{a:?}");
        assert!(p.diagnostics.is_empty(), "{a:?}");
    }
    // KVM works, so the TCG after it is never tried: silent, as QEMU.
    for a in [
        &["-machine", "none,accel=kvm:tcg"][..],
        &["-machine", "accel=kvm:tcg"],
    ] {
        let p = parse_args(args(a));
        assert!(p.result.is_ok(), "{a:?}");
        assert!(p.diagnostics.is_empty(), "{a:?}");
    }
    // TCG tried first: this VMM has none, as a QEMU built without it, and falls back to KVM.
    let diags = |a: &[&str]| -> Vec<String> {
        let p = parse_args(args(a));
        assert!(p.result.is_ok(), "{a:?}");
        p.diagnostics.iter().map(|d| d.to_string()).collect()
    };
    assert_eq!(
        diags(&["-machine", "accel=tcg:kvm"]),
        ["invalid accelerator tcg", "falling back to KVM"]
    );
    assert_eq!(
        diags(&["-accel", "tcg", "-accel", "kvm"]),
        ["-accel tcg: invalid accelerator tcg", "falling back to KVM"]
    );
    // Unknown names are dropped before any is tried, as QEMU's filter does.
    assert_eq!(
        diags(&["-machine", "accel=tcg:foo:kvm"]),
        [
            "invalid accelerator foo",
            "invalid accelerator tcg",
            "falling back to KVM"
        ]
    );
}

#[test]
fn cpu_models() {
    assert_eq!(config(&[]).cpu_model, None);
    for m in ["host", "max", "qemu64"] {
        assert_eq!(config(&["-cpu", m]).cpu_model.as_deref(), Some(m));
    }
    assert_eq!(
        config(&["-cpu", "host,migratable=on"]).cpu_model.as_deref(),
        Some("host")
    );
}

#[test]
fn simple_flags_and_values() {
    let c = config(&[
        "-kernel",
        "/k",
        "-initrd",
        "/i",
        "-append",
        "console=ttyS0 panic=-1",
        "-name",
        "guest=g,process=p,debug-threads=on",
        "-uuid",
        "8B1E2A4C-1111-2222-3333-444455556666",
        "-S",
        "-no-reboot",
        "-no-shutdown",
        "-nodefaults",
        "-no-user-config",
        "-pidfile",
        "/run/p",
        "-mem-prealloc",
        "-overcommit",
        "mem-lock=on",
        "-display",
        "none",
    ]);
    assert_eq!(c.kernel.as_deref(), Some(std::path::Path::new("/k")));
    assert_eq!(c.initrd.as_deref(), Some(std::path::Path::new("/i")));
    assert_eq!(c.append.as_deref(), Some("console=ttyS0 panic=-1"));
    assert_eq!(c.name.guest.as_deref(), Some("g"));
    assert_eq!(c.name.process.as_deref(), Some("p"));
    assert!(c.name.debug_threads);
    assert_eq!(
        c.uuid.as_deref(),
        Some("8b1e2a4c-1111-2222-3333-444455556666")
    );
    assert!(c.start_paused && c.no_reboot && c.no_shutdown && c.nodefaults);
    assert!(c.no_user_config && c.mem_prealloc && c.mem_lock && c.display_none);
    assert_eq!(c.pidfile.as_deref(), Some(std::path::Path::new("/run/p")));
    // -name foo is guest=foo; -action can undo -no-reboot.
    assert_eq!(config(&["-name", "foo"]).name.guest.as_deref(), Some("foo"));
    assert!(!config(&["-no-reboot", "-action", "reboot=reset"]).no_reboot);
}

#[test]
fn default_serial_and_monitor() {
    // No -serial: a null serial port (no graphical console), no monitor.
    let c = config(&[]);
    assert_eq!(c.serials, [Some("serial0".to_string())]);
    assert_eq!(c.chardevs[0].backend, ChardevBackend::Null);
    assert!(c.monitors.is_empty());
    // -nographic: serial0 is stdio with the HMP monitor muxed on it.
    let c = config(&["-nographic"]);
    assert!(c.nographic);
    assert_eq!(c.chardevs.len(), 1);
    assert_eq!(c.chardevs[0].id, "serial0");
    assert_eq!(c.chardevs[0].backend, ChardevBackend::Stdio);
    assert!(c.chardevs[0].mux);
    assert_eq!(c.monitors.len(), 1);
    assert_eq!(c.monitors[0].chardev, "serial0");
    assert_eq!(c.monitors[0].mode, MonitorMode::Readline);
    // -nographic with a QMP monitor: serial0 is plain stdio.
    let c = config(&["-nographic", "-qmp", "unix:/tmp/q.sock,server=on,wait=off"]);
    let ids: Vec<&str> = c.chardevs.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["compat_monitor0", "serial0"]);
    assert!(!c.chardevs[1].mux);
    // -nographic with -serial: the monitor goes to stdio alone.
    let c = config(&["-nographic", "-serial", "null"]);
    let ids: Vec<&str> = c.chardevs.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["compat_monitor0", "serial0"]);
    assert_eq!(c.chardevs[0].backend, ChardevBackend::Stdio);
    // -nodefaults: nothing; the none machine has no serial port either.
    assert!(config(&["-nodefaults"]).chardevs.is_empty());
    assert!(config(&["-machine", "none"]).serials.is_empty());
    // A -device isa-serial replaces the default port.
    assert!(
        config(&["-device", "isa-serial,chardev=c", "-chardev", "null,id=c"])
            .serials
            .is_empty()
    );
}

#[test]
fn serial_ports() {
    let c = config(&[
        "-serial",
        "none",
        "-serial",
        "stdio",
        "-serial",
        "file:/tmp/out",
        "-serial",
        "unix:/tmp/s,server=on,wait=off",
        "-serial",
        "tcp::4444,server=on,wait=off",
    ]);
    assert_eq!(
        c.serials,
        [
            None,
            Some("serial1".to_string()),
            Some("serial2".to_string()),
            Some("serial3".to_string())
        ]
    );
    let backends: Vec<&ChardevBackend> = c.chardevs.iter().map(|c| &c.backend).collect();
    assert_eq!(
        backends,
        [
            &ChardevBackend::Stdio,
            &ChardevBackend::File {
                path: "/tmp/out".into(),
                append: false
            },
            &ChardevBackend::UnixSocket {
                path: "/tmp/s".into(),
                server: true,
                wait: false
            },
            &ChardevBackend::Tcp {
                host: String::new(),
                port: 4444,
                server: true,
                wait: false
            },
        ]
    );
    let c = config(&["-serial", "mon:stdio"]);
    assert!(c.chardevs[0].mux);
    assert_eq!(c.monitors[0].chardev, "serial0");
    let c = config(&["-chardev", "null,id=c", "-serial", "chardev:c"]);
    assert_eq!(c.serials, [Some("c".to_string())]);
}

#[test]
fn monitors_get_qemu_ids() {
    let c = config(&[
        "-qmp",
        "unix:/tmp/a,server=on,wait=off",
        "-monitor",
        "stdio",
        "-qmp-pretty",
        "tcp:127.0.0.1:4445,server=on,wait=off",
    ]);
    let got: Vec<(&str, MonitorMode, bool)> = c
        .monitors
        .iter()
        .map(|m| (m.chardev.as_str(), m.mode, m.pretty))
        .collect();
    assert_eq!(
        got,
        [
            ("compat_monitor0", MonitorMode::Control, false),
            ("compat_monitor1", MonitorMode::Readline, false),
            ("compat_monitor2", MonitorMode::Control, true),
        ]
    );
    // chardev: monitors count too.
    let c = config(&[
        "-chardev",
        "null,id=x",
        "-qmp",
        "chardev:x",
        "-monitor",
        "null",
    ]);
    assert_eq!(c.monitors[1].chardev, "compat_monitor1");
    let c = config(&[
        "-chardev",
        "socket,id=charmonitor,fd=18,server=on,wait=off",
        "-mon",
        "chardev=charmonitor,id=monitor,mode=control",
    ]);
    assert_eq!(
        c.chardevs[0].backend,
        ChardevBackend::SocketFd {
            fd: 18,
            server: true,
            wait: false
        }
    );
    assert_eq!(c.monitors[0].id.as_deref(), Some("monitor"));
    assert_eq!(c.monitors[0].mode, MonitorMode::Control);
    // Short-form booleans work, with QEMU's deprecation warnings.
    let p = parse_args(args(&["-chardev", "socket,id=s,path=/tmp/s,server,nowait"]));
    assert!(p.result.is_ok());
    assert_eq!(p.diagnostics.len(), 2);
}

/// libvirt 11.3's command lines (shared/reference/libvirt-11.3-domain.txt) must parse.
#[test]
fn libvirt_command_lines() {
    let probe = config(&[
        "-S",
        "-no-user-config",
        "-nodefaults",
        "-nographic",
        "-machine",
        "none,accel=kvm:tcg",
        "-qmp",
        "unix:/var/lib/libvirt/qemu/qmp-X/qmp.monitor,server=on,wait=off",
        "-pidfile",
        "/var/lib/libvirt/qemu/qmp-X/qmp.pid",
        "-daemonize",
    ]);
    assert!(probe.daemonize);
    assert_eq!(probe.monitors[0].chardev, "compat_monitor0");
    let i440fx = config(&[
        "-name",
        "guest=probe1,debug-threads=on",
        "-S",
        "-object",
        r#"{"qom-type":"secret","id":"masterKey0","format":"raw","file":"/var/lib/libvirt/qemu/domain-1-probe1/master-key.aes"}"#,
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
        "-uuid",
        "8b1e2a4c-1111-2222-3333-444455556666",
        "-display",
        "none",
        "-no-user-config",
        "-nodefaults",
        "-chardev",
        "socket,id=charmonitor,fd=18,server=on,wait=off",
        "-mon",
        "chardev=charmonitor,id=monitor,mode=control",
        "-rtc",
        "base=utc",
        "-no-shutdown",
        "-boot",
        "strict=on",
        "-blockdev",
        r#"{"driver":"file","filename":"/path/to/loop.img","node-name":"libvirt-1-storage","read-only":false}"#,
        "-device",
        r#"{"driver":"ide-hd","bus":"ide.0","unit":0,"drive":"libvirt-1-storage","id":"ide0-0-0","bootindex":1}"#,
        "-audiodev",
        r#"{"id":"audio1","driver":"none"}"#,
        "-device",
        r#"{"driver":"virtio-balloon-pci","id":"balloon0","bus":"pci.0","addr":"0x2"}"#,
        "-sandbox",
        "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
        "-msg",
        "timestamp=on",
    ]);
    assert_eq!(i440fx.memory.size, 256 << 20);
    assert_eq!(i440fx.machine.type_name, "pc-i440fx-10.0");
    assert_eq!(i440fx.objects.len(), 2);
    assert_eq!(i440fx.devices.len(), 2);
    assert_eq!(i440fx.devices[1].driver, "virtio-balloon-pci");
    assert_eq!(i440fx.devices[1].id.as_deref(), Some("balloon0"));
    assert_eq!(
        i440fx.devices[1].props,
        [("bus", "pci.0"), ("addr", "0x2")].map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert!(i440fx.serials.is_empty());
    // q35 with direct kernel boot, minus the pty serial (an unsupported backend).
    let q35 = config(&[
        "-name", "guest=kern1,debug-threads=on", "-S",
        "-machine", "pc-q35-10.0,usb=off,dump-guest-core=off,memory-backend=pc.ram,acpi=on",
        "-accel", "kvm", "-cpu", "host,migratable=on", "-m", "size=1048576k",
        "-object", r#"{"qom-type":"memory-backend-ram","id":"pc.ram","size":1073741824}"#,
        "-overcommit", "mem-lock=off", "-smp", "2,sockets=2,cores=1,threads=1",
        "-uuid", "8b1e2a4c-1111-2222-3333-444455556667", "-display", "none", "-no-user-config",
        "-nodefaults",
        "-chardev", "socket,id=charmonitor,path=/var/lib/libvirt/qemu/domain--1-kern1/monitor.sock,server=on,wait=off",
        "-mon", "chardev=charmonitor,id=monitor,mode=control", "-rtc", "base=utc", "-no-shutdown",
        "-boot", "strict=on", "-kernel", "/path/to/vmlinuz", "-initrd", "/path/to/initrd.img",
        "-append", "console=ttyS0 panic=-1",
        "-device", r#"{"driver":"pcie-root-port","port":8,"chassis":1,"id":"pci.1","bus":"pcie.0","multifunction":true,"addr":"0x1"}"#,
        "-device", r#"{"driver":"qemu-xhci","id":"usb","bus":"pci.1","addr":"0x0"}"#,
        "-audiodev", r#"{"id":"audio1","driver":"none"}"#,
        "-global", "ICH9-LPC.noreboot=off", "-watchdog-action", "reset",
        "-device", r#"{"driver":"virtio-balloon-pci","id":"balloon0","bus":"pci.2","addr":"0x0"}"#,
        "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
        "-msg", "timestamp=on",
    ]);
    assert_eq!(q35.smp.cpus, 2);
    assert_eq!(q35.smp.sockets, 2);
    assert_eq!(q35.cpu_model.as_deref(), Some("host"));
    assert_eq!(q35.memory.size, 1 << 30);
    assert_eq!(
        q35.devices[0].props[3],
        ("multifunction".into(), "on".into())
    );
    // The pty serial of that command line is refused honestly.
    let (err, _) = stderr_of(&["-chardev", "pty,id=charserial0"]);
    assert_eq!(
        err,
        "vmm: -chardev pty,id=charserial0: 'pty' is not a valid char driver name\n"
    );
}

#[test]
fn listings() {
    let info_of = |a: &[&str]| match parse_args(args(a)).result {
        Ok(Outcome::Info { text, exit_code }) => (text, exit_code),
        other => panic!("{a:?}: {other:?}"),
    };
    let (text, code) = info_of(&["-machine", "help"]);
    assert_eq!(code, 0);
    assert!(text.starts_with("Supported machines are:\n"));
    let (text, code) = info_of(&["-M", "pc,help"]);
    assert_eq!(code, 0);
    assert!(text
        .starts_with("pc-i440fx-10.0-machine options:\n  acpi=<OnOffAuto>       - Enable ACPI\n"));
    let (text, code) = info_of(&["-cpu", "help"]);
    assert_eq!(code, 0);
    assert!(
        text.contains("\n  host                  processor with all supported host features \n")
    );
    assert_eq!(
        info_of(&["-m", "1,help"]),
        (
            "memory options:\n  maxmem=<size>\n  size=<size>\n  slots=<num>\n".into(),
            1
        )
    );
    assert_eq!(info_of(&["-smp", "help"]).1, 0);
    assert_eq!(
        info_of(&["-accel", "help"]),
        ("Accelerators supported in QEMU binary:\nkvm\n".into(), 0)
    );
    assert_eq!(info_of(&["-chardev", "help"]).1, 0);
    assert_eq!(info_of(&["-chardev", "socket,help"]).1, 1);
    assert_eq!(info_of(&["-display", "help"]).1, 0);
    assert!(matches!(
        parse_args(args(&["-h", "-m", "foo"])).result,
        Ok(Outcome::Command(Command::Help))
    ));
    assert!(matches!(
        parse_args(args(&["-version"])).result,
        Ok(Outcome::Command(Command::Version))
    ));
    assert!(matches!(
        parse(args(&["-m", "1,help"])),
        Ok(Command::Info { exit_code: 1, .. })
    ));
    assert!(matches!(
        parse(args(&["-accel", "help"])),
        Ok(Command::Info { exit_code: 0, text }) if text.starts_with("Accelerators supported")
    ));
    assert!(version_text().starts_with("QEMU emulator version 10.0.2 (vmm "));
    assert!(help_text().contains("\nusage: vmm [options] [disk_image]\n"));
}

/// No input makes the parser panic: every option with awkward values.
#[test]
fn awkward_values_never_panic() {
    const VALUES: &[&str] = &[
        "",
        ",",
        ",,",
        "=",
        "==",
        "help",
        "?",
        "id=",
        "id=x,id=y",
        "é",
        "é=é,é",
        "a.b.c=1",
        "a..b=1",
        ".=1",
        "1.",
        "-",
        "0x",
        "0x.8",
        ".",
        "{",
        "}",
        "{}",
        "[]",
        "{\"a\":",
        "{\"a\":[1,{\"b\":null}]}",
        "{'x':'\\u00'}",
        "\"",
        "mon:",
        "mon:mon:stdio",
        "tcp:",
        "tcp::",
        "tcp:ééééééééééééééééééééééééééééééééééééééé:1",
        "unix:",
        "unix:,server",
        "chardev:",
        "file:",
        "vc:80Cx",
        "99999999999999999999999",
        "-99999999999999999999999",
        "1e308",
        "nan",
        "inf",
        "none,gl=on",
        "smp.cpus.x=1",
        "memory.size=1,memory=2",
    ];
    for opt in table::OPTIONS.iter().filter(|o| o.has_arg) {
        let flag = format!("-{}", opt.name);
        for v in VALUES {
            let _ = parse_args(args(&[&flag, v]));
        }
    }
    for v in VALUES {
        let _ = parse_args(args(&[v]));
    }
}
