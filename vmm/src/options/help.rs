//! `-help`, `-version` and the listings printed by `-cpu help`, `-display help`, `-accel help`,
//! `-vga help`: QEMU's layout, describing this VMM.

/// The QEMU release whose command line and monitor this VMM implements.
pub const QEMU_COMPAT_VERSION: &str = "10.0.2";

/// `-version`.
pub fn version_text() -> String {
    format!(
        "QEMU emulator version {QEMU_COMPAT_VERSION} (vmm {})\n\
         Copyright (c) 2025 the vmm developers\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// `-help` / `-h`.
pub fn help_text() -> String {
    let mut s = version_text();
    s.push_str(HELP_BODY);
    s
}

const HELP_BODY: &str = "\
usage: vmm [options] [disk_image]

'disk_image' is a raw hard disk image for IDE hard disk 0 (this VMM has no disk
controller: such an argument is rejected)

Standard options:
-h or -help     print this help and exit
-version        print version information and exit
-machine [type=]name[,prop[=value][,...]]
                choose the board ('-machine help' lists them): pc, q35, their
                versioned names such as pc-i440fx-10.0 or pc-q35-10.0, microvm, none
                property accel=kvm selects the accelerator (KVM is the only one)
                the board properties of QEMU are accepted, e.g. usb=off,
                dump-guest-core=off, mem-merge=off, vmport=off, smm=off, acpi=on,
                memory-backend='id' (RAM from a memory-backend object)
-cpu cpu        choose the vCPU model: host, max or qemu64 ('-cpu help' lists them)
-accel [accel=]accelerator[,prop[=value][,...]]
                choose the accelerator: kvm ('-accel help' lists it)
                kernel-irqchip=on|off|split, kvm-shadow-mem=size, dirty-ring-size=n
-smp [[cpus=]n][,maxcpus=maxcpus][,sockets=sockets][,dies=dies][,modules=modules]
               [,cores=cores][,threads=threads]
                number of vCPUs at start (default 1) and their topology; omitted
                values are computed from the given ones as QEMU 10 does
-global driver.property=value
-global driver=driver,property=property,value=value
                default value for a device property
-boot [order=drives][,once=drives][,menu=on|off][,splash=sp_name]
      [,splash-time=sp_time][,reboot-timeout=rb_time][,strict=on|off]
                boot order for the firmware
-m [size=]megs[,slots=n,maxmem=size]
                guest RAM: size (MiB without a suffix; k, M, G, T, P, E accepted),
                hotplug slots and maximum size (accepted, no memory hotplug)
-mem-prealloc   fault all guest RAM in before the guest starts
-audiodev none,id=id
                an audio backend that discards everything (there is no sound device)
-device driver[,prop[=value][,...]]
                add a device; also accepted as JSON
-name string1[,process=string2][,debug-threads=on|off]
                guest name; process name; name the vCPU threads
-uuid %08x-%04x-%04x-%04x-%012x
                machine UUID

Block device options:
-blockdev [driver=]driver[,node-name=N][,...]
                accepted for compatibility (also as JSON); this VMM has no block layer

Display options:
-display none   no display (the only one: this VMM has no graphical output)
-nographic      no display; the first serial port and the monitor share stdio
                (press ctrl-a h for the multiplexer's help)
-vga none       no graphics card

Character device options:
-chardev null,id=id[,mux=on|off]
-chardev stdio,id=id[,mux=on|off][,signal=on|off]
-chardev file,id=id,path=path[,append=on|off][,mux=on|off]
-chardev socket,id=id,path=path[,server=on|off][,wait=on|off][,mux=on|off] (unix)
-chardev socket,id=id,host=host,port=port[,server=on|off][,wait=on|off][,mux=on|off] (tcp)
-chardev socket,id=id,fd=N[,server=on|off][,wait=on|off][,mux=on|off]
                an inherited socket: listening (server=on) or connected

Boot Image or Kernel specific:
-kernel bzImage boot this Linux kernel (bzImage, ELF vmlinux or PVH ELF)
-append cmdline the kernel command line
-initrd file    the initial ram disk

Debug/Expert options:
-serial dev     connect the next COM port to 'dev': stdio, null, none, file:path,
                unix:path[,server=on|off][,wait=on|off], tcp:[host]:port[,...],
                mon:dev (with the monitor muxed), chardev:id
-parallel none  no parallel port
-monitor dev    a human monitor (HMP) on 'dev' (same syntax as -serial), or none
-qmp dev        a QMP monitor on 'dev'
-qmp-pretty dev like -qmp, with pretty-printed JSON
-mon [chardev=]name[,mode=readline|control][,pretty[=on|off]]
                a monitor on a -chardev
-pidfile file   write the process id to 'file'
-S              do not start the vCPUs (start with the monitor's 'cont')
-overcommit [mem-lock=on|off|on-fault][,cpu-pm=on|off]
                lock guest and VMM memory in RAM
-enable-kvm     use KVM (always the case)
-no-reboot      exit instead of rebooting
-no-shutdown    pause instead of exiting when the guest powers off
-action reboot=reset|shutdown,shutdown=poweroff|pause,panic=...,watchdog=...
                what guest reboot, shutdown, panic and watchdog expiry do
-watchdog-action reset|shutdown|poweroff|inject-nmi|pause|debug|none
-daemonize      detach from the terminal once started
-rtc [base=utc|localtime|<datetime>][,clock=host|rt|vm][,driftfix=none|slew]
                the real time clock
-nodefaults     create no default devices (serial port, monitor)
-sandbox on[,obsolete=allow|deny][,elevateprivileges=allow|deny|children]
          [,spawn=allow|deny][,resourcecontrol=allow|deny]
                accepted for compatibility
-no-user-config do not read a user configuration file (there is none)
-msg [timestamp[=on|off]][,guest-name=[on|off]]
                format of error messages

Generic object creation:
-object TYPENAME[,PROP1=VALUE1,...]
                create an object ('-object help' lists the types); also JSON

During emulation, with -nographic or mon:stdio, press 'ctrl-a h' for the
multiplexer's keys.

Options of QEMU not listed here are rejected with \"Option not supported in this build\".
";

/// `-cpu help`.
pub fn cpu_list() -> String {
    let mut s = String::from("Available CPUs:\n");
    for (name, desc) in CPU_MODELS_HELP {
        s.push_str(&format!("  {name:<20}  {desc}\n"));
    }
    s
}

const CPU_MODELS_HELP: &[(&str, &str)] = &[
    ("qemu64", "(alias configured by machine type)"),
    ("qemu64-v1", "QEMU Virtual CPU version 2.5+"),
    ("host", "processor with all supported host features "),
    (
        "max",
        "Enables all features supported by the accelerator in the current host",
    ),
];

/// CPU models `-cpu` accepts.
pub fn cpu_model_known(name: &str) -> bool {
    CPU_MODELS_HELP.iter().any(|(n, _)| *n == name)
}

/// `-display help`.
pub fn display_help() -> String {
    "Available display backend types:\n\
     none\n\
     \n\
     Some display backends support suboptions, which can be set with\n   \
     -display backend,option=value,option=value...\n\
     For a short list of the suboptions for each display, see the top-level -help output; more \
     detail is in the documentation.\n"
        .to_string()
}

/// `-accel help`.
pub fn accel_help() -> String {
    "Accelerators supported in QEMU binary:\nkvm\n".to_string()
}

/// `-vga help`.
pub fn vga_help() -> String {
    format!("{:<20} {}\n", "none", "no graphic card")
}
