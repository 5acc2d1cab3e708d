//! The option table: every option QEMU 10.0's `qemu-system-x86_64` knows (from `qemu-options.hx`),
//! whether it takes an argument, and whether this VMM implements it.
//!
//! Options QEMU knows but this VMM does not implement fail with QEMU's own message for an option
//! compiled out of a build, "Option not supported in this build"; options QEMU rejects on x86
//! fail with "Option not supported for this target", as in QEMU.

/// How this VMM treats an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// Implemented (handled in `parser::dispatch`).
    Yes,
    /// Known to QEMU, not implemented here.
    NotInBuild,
    /// QEMU rejects it for x86 targets.
    NotForTarget,
}

#[derive(Debug, Clone, Copy)]
pub struct OptionDef {
    pub name: &'static str,
    pub has_arg: bool,
    pub support: Support,
}

const fn yes(name: &'static str, has_arg: bool) -> OptionDef {
    OptionDef {
        name,
        has_arg,
        support: Support::Yes,
    }
}

const fn no(name: &'static str, has_arg: bool) -> OptionDef {
    OptionDef {
        name,
        has_arg,
        support: Support::NotInBuild,
    }
}

const fn not_x86(name: &'static str, has_arg: bool) -> OptionDef {
    OptionDef {
        name,
        has_arg,
        support: Support::NotForTarget,
    }
}

/// All options, in `qemu-options.hx` order.
pub const OPTIONS: &[OptionDef] = &[
    yes("h", false),
    yes("help", false),
    yes("version", false),
    yes("machine", true),
    yes("M", true),
    yes("cpu", true),
    yes("accel", true),
    yes("smp", true),
    no("numa", true),
    no("add-fd", true),
    no("set", true),
    yes("global", true),
    yes("boot", true),
    yes("m", true),
    no("mem-path", true),
    yes("mem-prealloc", false),
    no("k", true),
    no("audio", true),
    yes("audiodev", true),
    yes("device", true),
    yes("name", true),
    yes("uuid", true),
    yes("fda", true),
    yes("fdb", true),
    yes("hda", true),
    yes("hdb", true),
    yes("hdc", true),
    yes("hdd", true),
    yes("cdrom", true),
    yes("blockdev", true),
    no("drive", true),
    no("mtdblock", true),
    no("sd", true),
    yes("snapshot", false),
    no("fsdev", true),
    no("virtfs", true),
    no("iscsi", true),
    yes("usb", false),
    no("usbdevice", true),
    yes("display", true),
    yes("nographic", false),
    no("spice", true),
    yes("vga", true),
    no("full-screen", false),
    not_x86("g", true),
    no("vnc", true),
    no("win2k-hack", false),
    yes("no-fd-bootchk", false),
    no("acpitable", true),
    no("smbios", true),
    no("netdev", true),
    yes("nic", true),
    yes("net", true),
    yes("chardev", true),
    no("tpmdev", true),
    no("bios", true),
    no("pflash", true),
    yes("kernel", true),
    yes("shim", true),
    yes("append", true),
    yes("initrd", true),
    yes("dtb", true),
    no("compat", true),
    no("fw_cfg", true),
    yes("serial", true),
    yes("parallel", true),
    yes("monitor", true),
    yes("qmp", true),
    yes("qmp-pretty", true),
    yes("mon", true),
    no("debugcon", true),
    yes("pidfile", true),
    no("preconfig", false),
    yes("S", false),
    yes("overcommit", true),
    no("gdb", true),
    no("s", false),
    no("d", true),
    no("D", true),
    no("dfilter", true),
    no("seed", true),
    no("L", true),
    yes("enable-kvm", false),
    yes("xen-domid", true),
    not_x86("xen-attach", false),
    not_x86("xen-domid-restrict", false),
    yes("no-reboot", false),
    yes("no-shutdown", false),
    yes("action", true),
    no("loadvm", true),
    yes("daemonize", false),
    no("option-rom", true),
    yes("rtc", true),
    no("icount", true),
    yes("watchdog-action", true),
    no("echr", true),
    no("incoming", true),
    no("only-migratable", false),
    yes("nodefaults", false),
    yes("sandbox", true),
    no("readconfig", true),
    yes("no-user-config", false),
    no("trace", true),
    no("plugin", true),
    no("run-with", true),
    no("qtest", true),
    no("qtest-log", true),
    yes("msg", true),
    no("dump-vmstate", true),
    no("enable-sync-profile", false),
    no("perfmap", false),
    no("jitdump", false),
    yes("object", true),
    not_x86("semihosting", false),
    not_x86("semihosting-config", true),
    not_x86("old-param", false),
    not_x86("prom-env", true),
];

/// Looks an option up by its name without dashes.
pub fn lookup(name: &str) -> Option<&'static OptionDef> {
    OPTIONS.iter().find(|o| o.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        for (i, a) in OPTIONS.iter().enumerate() {
            assert!(
                OPTIONS[i + 1..].iter().all(|b| b.name != a.name),
                "duplicate {}",
                a.name
            );
        }
    }

    #[test]
    fn removed_options_are_unknown() {
        for name in [
            "no-acpi", "no-hpet", "soundhw", "watchdog", "chroot", "runas", "sdl",
        ] {
            assert!(lookup(name).is_none(), "{name}");
        }
    }
}
