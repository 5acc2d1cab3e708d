//! The commands: those acting on the machine through [`HmpTarget`], and those that need
//! hardware or subsystems this VMM does not have, which answer as QEMU does on a machine
//! without them.

use std::fmt::Write;

use crate::args::Args;
use crate::disas;
use crate::format::{self, Paging};
use crate::help;
use crate::monitor::{self, read_virt, unit, HmpState};
use crate::table::Cmd;
use crate::target::{HmpTarget, QomSetValue};

/// Migration capabilities QEMU 10.0 knows, in `info migrate_capabilities` order.
pub const MIGRATION_CAPABILITIES: &[&str] = &[
    "xbzrle",
    "rdma-pin-all",
    "auto-converge",
    "zero-blocks",
    "events",
    "postcopy-ram",
    "x-colo",
    "release-ram",
    "return-path",
    "pause-before-switchover",
    "multifd",
    "dirty-bitmaps",
    "postcopy-blocktime",
    "late-block-activate",
    "x-ignore-shared",
    "validate-uuid",
    "background-snapshot",
    "zero-copy-send",
    "postcopy-preempt",
    "switchover-ack",
    "dirty-limit",
    "mapped-ram",
];

/// `info migrate_parameters` as QEMU 10.0 prints the defaults.
const MIGRATION_PARAMETERS: &str = "announce-initial: 50 ms
announce-max: 550 ms
announce-rounds: 5
announce-step: 100 ms
throttle-trigger-threshold: 50
cpu-throttle-initial: 20
cpu-throttle-increment: 10
cpu-throttle-tailslow: off
max-cpu-throttle: 99
tls-creds: ''
tls-hostname: ''
max-bandwidth: 134217728 bytes/second
avail-switchover-bandwidth: 0 bytes/second
downtime-limit: 300 ms
x-checkpoint-delay: 20000 ms
multifd-channels: 2
multifd-compression: none
zero-page-detection: multifd
xbzrle-cache-size: 67108864 bytes
max-postcopy-bandwidth: 0
tls-authz: ''
x-vcpu-dirty-limit-period: 1000 ms
vcpu-dirty-limit: 1 MB/s
mode: normal
direct-io: off
";

const MIGRATION_PARAMETER_NAMES: &[&str] = &[
    "announce-initial",
    "announce-max",
    "announce-rounds",
    "announce-step",
    "compress-level",
    "compress-threads",
    "compress-wait-thread",
    "decompress-threads",
    "throttle-trigger-threshold",
    "cpu-throttle-initial",
    "cpu-throttle-increment",
    "cpu-throttle-tailslow",
    "max-cpu-throttle",
    "tls-creds",
    "tls-hostname",
    "tls-authz",
    "max-bandwidth",
    "avail-switchover-bandwidth",
    "downtime-limit",
    "x-checkpoint-delay",
    "multifd-channels",
    "multifd-compression",
    "multifd-zlib-level",
    "multifd-qatzip-level",
    "multifd-zstd-level",
    "xbzrle-cache-size",
    "max-postcopy-bandwidth",
    "x-vcpu-dirty-limit-period",
    "vcpu-dirty-limit",
    "mode",
    "zero-page-detection",
    "direct-io",
];

const WATCHDOG_ACTIONS: &[&str] = &[
    "reset",
    "shutdown",
    "poweroff",
    "pause",
    "debug",
    "none",
    "inject-nmi",
];

const NETDEV_TYPES: &[&str] = &[
    "user",
    "tap",
    "l2tpv3",
    "socket",
    "stream",
    "dgram",
    "vde",
    "bridge",
    "hubport",
    "netmap",
    "vhost-user",
    "vhost-vdpa",
];

fn arg<'a>(args: &'a Args, key: &str) -> &'a str {
    args.str(key).unwrap_or("")
}

fn err(desc: impl std::fmt::Display) -> String {
    format!("Error: {desc}\n")
}

/// `x` and `xp`.
fn memory_dump(target: &mut dyn HmpTarget, args: &Args, physical: bool) -> String {
    let (count, format, size) = args.fmt();
    let addr = args.int("addr").unwrap_or(0) as u64;
    let cpu = target.current_cpu();
    if !physical && cpu >= target.cpu_count() {
        return "Can not dump without CPU\n".into();
    }
    if format == b'i' {
        let Some(regs) = target.cpu_regs(cpu) else {
            return "Can not dump without CPU\n".into();
        };
        let mode = regs.code_size();
        let mut out = String::new();
        let mut probe = [0u8; 1];
        let readable = if physical {
            target.read_phys(addr, &mut probe)
        } else {
            read_virt(target, cpu, addr, &mut probe)
        };
        if !readable {
            let _ = writeln!(out, "0x{addr:08x}: unable to read memory");
            return out;
        }
        let mut read = monitor::dump_bytes_reader(target, physical, cpu);
        out.push_str(&disas::disassemble(
            &mut read,
            addr,
            count.max(1) as usize,
            mode,
        ));
        return out;
    }
    let mut read = monitor::dump_bytes_reader(target, physical, cpu);
    // QEMU computes the dump in 32-bit ints.
    format::memory_dump(&mut read, i64::from(count as i32), format, size, addr)
}

/// Top-level commands other than `help` and `info`.
pub fn command(target: &mut dyn HmpTarget, state: &mut HmpState, cmd: &Cmd, args: &Args) -> String {
    let name = cmd.primary();
    match name {
        "x" => memory_dump(target, args, false),
        "xp" => memory_dump(target, args, true),
        "print" => {
            let (_, format, _) = args.fmt();
            format::print_value(format, args.int("val").unwrap_or(0))
        }
        "stop" => unit(target.stop()),
        "cont" => unit(target.cont()),
        "system_reset" => unit(target.system_reset()),
        "system_powerdown" => unit(target.system_powerdown()),
        "quit" => {
            target.quit();
            String::new()
        }
        "nmi" => {
            let cpu = target.current_cpu();
            unit(target.nmi(cpu))
        }
        "cpu" => {
            let index = args.int("index").unwrap_or(-1);
            if index < 0 || index as usize >= target.cpu_count() {
                "invalid CPU index\n".into()
            } else {
                target.set_current_cpu(index as usize);
                String::new()
            }
        }
        "balloon" => unit(target.balloon(args.int("value").unwrap_or(0))),
        "memsave" => {
            let size = u64::from(args.int("size").unwrap_or(0) as u32);
            let cpu = target.current_cpu();
            if cpu >= target.cpu_count() {
                return "No CPU available\n".into();
            }
            unit(target.memsave(
                args.int("val").unwrap_or(0) as u64,
                size,
                arg(args, "filename"),
                cpu,
            ))
        }
        "pmemsave" => {
            let size = u64::from(args.int("size").unwrap_or(0) as u32);
            unit(target.pmemsave(
                args.int("val").unwrap_or(0) as u64,
                size,
                arg(args, "filename"),
            ))
        }
        "gva2gpa" => {
            let addr = args.int("addr").unwrap_or(0) as u64;
            let cpu = target.current_cpu();
            if cpu >= target.cpu_count() {
                return "No cpu\n".into();
            }
            match target.translate(cpu, addr & !0xfff) {
                None => "Unmapped\n".into(),
                Some(gpa) => {
                    let v = gpa + (addr & 0xfff);
                    if v == 0 {
                        "gpa: 0\n".into()
                    } else {
                        format!("gpa: {v:#x}\n")
                    }
                }
            }
        }
        "gpa2hva" => {
            let addr = args.int("addr").unwrap_or(0) as u64;
            match target.gpa2hva(addr) {
                Some((region, hva)) => {
                    format!("Host virtual address for {addr:#x} ({region}) is {hva:#x}\n")
                }
                None => format!("No memory is mapped at address {addr:#x}\n"),
            }
        }
        "gpa2hpa" => {
            let addr = args.int("addr").unwrap_or(0) as u64;
            match target.gpa2hpa(addr) {
                None => format!("No memory is mapped at address {addr:#x}\n"),
                Some((region, hpa)) => match hpa {
                    Ok(hpa) => {
                        format!("Host physical address for {addr:#x} ({region}) is {hpa:#x}\n")
                    }
                    Err(e) => format!("{e}\n"),
                },
            }
        }
        "qom-list" => match args.str("path") {
            None => "/\n".into(),
            Some(path) => match target.qom_list(path) {
                Ok(props) => props.iter().map(|(n, t)| format!("{n} ({t})\n")).collect(),
                Err(e) => err(e),
            },
        },
        "qom-get" => match target.qom_get_pretty(arg(args, "path"), arg(args, "property")) {
            Ok(text) => format!("{text}\n"),
            Err(e) => err(e),
        },
        "qom-set" => {
            let value = arg(args, "value");
            let v = if args.flag("json") {
                match serde_json::from_str(value) {
                    Ok(v) => QomSetValue::Json(v),
                    Err(_) => return err(JSON_PARSE_ERROR),
                }
            } else {
                QomSetValue::Text(value.to_string())
            };
            unit(target.qom_set(arg(args, "path"), arg(args, "property"), v))
        }
        "sum" => {
            let start = args.int("start").unwrap_or(0) as u32 as u64;
            let size = args.int("size").unwrap_or(0) as u32 as u64;
            // A page at a time: the size is the user's (up to 4 GiB).
            let mut chunk = [0u8; 4096];
            let mut sum: u16 = 0;
            let mut addr = start;
            while addr < start + size {
                let len = (start + size - addr).min(chunk.len() as u64) as usize;
                let buf = &mut chunk[..len];
                if !target.read_phys(addr, buf) {
                    // Byte by byte: what is not memory reads as 0.
                    for (i, b) in buf.iter_mut().enumerate() {
                        let mut one = [0u8];
                        *b = if target.read_phys(addr + i as u64, &mut one) {
                            one[0]
                        } else {
                            0
                        };
                    }
                }
                for &b in buf.iter() {
                    sum = sum.rotate_right(1).wrapping_add(u16::from(b));
                }
                addr += len as u64;
            }
            format!("{sum:05}\n")
        }
        "i" => {
            let (_, _, size) = args.fmt();
            let mut addr = args.int("addr").unwrap_or(0) as u32;
            if args.int("index").is_some() {
                addr = addr.wrapping_add(1);
            }
            let addr = addr & 0xffff;
            let (suffix, width, val) = match size {
                2 => ('w', 4, 0xffffu32),
                4 => ('l', 8, 0xffff_ffff),
                _ => ('b', (size.max(1) * 2) as usize, 0xff),
            };
            format!("port{suffix}[0x{addr:04x}] = 0x{val:0width$x}\n")
        }
        "o" => String::new(),
        "dump-guest-memory" => {
            let begin = args.int("begin");
            let length = args.int("length");
            if args.flag("windmp") {
                return err("win-dump: dump format 'win-dmp' is not supported for this guest");
            }
            let compressed = args.flag("zlib") || args.flag("lzo") || args.flag("snappy");
            if compressed && args.flag("paging") {
                return err("kdump-compressed format doesn't support paging or filter");
            }
            let range = match (begin, length) {
                (Some(b), Some(l)) => Some((b as u64, l as u64)),
                (None, None) => None,
                _ => return err("Parameter 'length' is missing"),
            };
            match target.dump_guest_memory(
                arg(args, "filename"),
                args.flag("paging"),
                args.flag("detach"),
                range,
            ) {
                Some(r) => unit(r),
                None => err("dump-guest-memory is not supported"),
            }
        }
        "log" => {
            let items = arg(args, "items");
            let known = items.split(',').all(|i| {
                i == "none"
                    || i.starts_with("trace:")
                    || help::LOG_ITEMS.iter().any(|(n, _)| *n == i)
            });
            if known {
                String::new()
            } else {
                help::log_usage()
            }
        }
        "logfile" => String::new(),
        "sync-profile" => match args.str("op") {
            None => format!(
                "sync-profile is {}\n",
                if state.sync_profile { "on" } else { "off" }
            ),
            Some("on") => {
                state.sync_profile = true;
                String::new()
            }
            Some("off") => {
                state.sync_profile = false;
                String::new()
            }
            Some("reset") => String::new(),
            Some(other) => err(format!("Parameter 'op' does not accept value '{other}'")),
        },
        "chardev-remove" | "chardev-send-break" | "chardev-change" => {
            let id = arg(args, "id");
            let exists = target.chardevs().iter().any(|(label, _)| label == id);
            if !exists {
                err(format!("Chardev '{id}' not found"))
            } else if name == "chardev-send-break" {
                String::new()
            } else {
                err(format!("Chardev '{id}' is busy"))
            }
        }
        "chardev-add" => {
            let a = arg(args, "args");
            if !a.split(',').any(|p| p.starts_with("id=")) {
                err("chardev: no id specified")
            } else {
                err("Character devices cannot be added at run time")
            }
        }
        "ringbuf_read" | "ringbuf_write" => {
            let id = arg(args, "device");
            if target.chardevs().iter().any(|(label, _)| label == id) {
                err(format!("{id} is not a ringbuf device"))
            } else {
                err(format!("Device '{id}' not found"))
            }
        }
        "device_add" => match args.str("device") {
            None => err("Parameter 'driver' is missing"),
            Some(opts) => {
                let driver = opts.split(',').next().unwrap_or("");
                let driver = driver.strip_prefix("driver=").unwrap_or(driver);
                if driver == "help" || driver == "?" {
                    return String::new();
                }
                err("Bus 'pci.0' does not support hotplugging")
            }
        },
        "device_del" => {
            let id = arg(args, "id");
            let path = if id.starts_with('/') {
                id.to_string()
            } else {
                format!("/machine/peripheral/{id}")
            };
            if target.qom_list(&path).is_ok() {
                err("Bus 'pci.0' does not support hotplugging")
            } else {
                err(format!("Device '{id}' not found"))
            }
        }
        _ => no_hardware(name, args),
    }
}

/// QMP's JSON parse error text for `qom-set -j`.
/// `qom-set -j` with a value that is not JSON.
const JSON_PARSE_ERROR: &str = "JSON parse error, invalid keyword";

/// Host physical address of `hva` in this process, from /proc/self/pagemap (QEMU's
/// `vtop`, with its error texts).
pub fn host_physical(hva: u64) -> Result<u64, String> {
    use std::io::{Read, Seek, SeekFrom};
    let page = 4096u64;
    let mut f = std::fs::File::open("/proc/self/pagemap")
        .map_err(|e| format!("Cannot open /proc/self/pagemap: {}", strerror(&e)))?;
    let mut entry = [0u8; 8];
    f.seek(SeekFrom::Start(hva / page * 8))
        .and_then(|_| f.read_exact(&mut entry))
        .map_err(|e| format!("Cannot read pagemap: {}", strerror(&e)))?;
    let pinfo = u64::from_le_bytes(entry);
    if pinfo & (1 << 63) == 0 {
        return Err("Page not present".into());
    }
    let pfn = pinfo & 0x007f_ffff_ffff_ffff;
    Ok((pfn * page) | (hva & (page - 1)))
}

/// `strerror`-style text of an I/O error.
pub fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Commands that need hardware or subsystems this VMM lacks: QEMU's reply on a `pc`
/// machine with `-nodefaults`.
fn no_hardware(name: &str, args: &Args) -> String {
    let device = arg(args, "device");
    match name {
        "announce_self" => String::new(),
        "commit" if device == "all" => String::new(),
        "commit" => format!("Device '{device}' not found\n"),
        "drive_del" => format!("Device '{}' not found\n", arg(args, "id")),
        "block_job_cancel" | "block_job_complete" | "block_job_pause" | "block_job_resume"
        | "block_job_set_speed" => err(format!("Block job '{device}' not found")),
        "block_resize" => err(format!("Cannot find device='{device}' nor node-name=''")),
        "block_set_io_throttle" | "eject" | "change" if !(name == "change" && device == "vnc") => {
            err(format!("Device '{device}' not found"))
        }
        "change" => {
            let target = arg(args, "target");
            if target == "passwd" || target == "password" {
                if args.str("arg").is_some() {
                    err("Could not set password")
                } else {
                    "terminal does not support password prompting\n".into()
                }
            } else {
                err(format!("Device '{device}' not found"))
            }
        }
        "block_stream" | "drive_backup" | "drive_mirror" | "snapshot_blkdev_internal"
        | "snapshot_delete_blkdev_internal" | "nbd_server_add" => {
            err(format!("Cannot find device='{device}' nor node-name='{device}'"))
        }
        "snapshot_blkdev" => match args.str("snapshot-file") {
            None => err("Parameter 'snapshot-file' is missing"),
            Some(_) => err(format!("Cannot find device='{device}' nor node-name=''")),
        },
        "qemu-io" => {
            if args.flag("qdev") {
                err(format!("Cannot find device='{device}' nor node-name=''"))
            } else {
                err(format!("Cannot find device='' nor node-name='{device}'"))
            }
        }
        "drive_add" => {
            let opts = arg(args, "opts");
            let file = opts
                .split(',')
                .find_map(|o| o.strip_prefix("file="))
                .unwrap_or("");
            match std::fs::metadata(file) {
                Err(e) if !file.is_empty() => {
                    format!("Could not open '{file}': {}\n", strerror(&e))
                }
                _ => "Can't hot-add drive to type 0\n".into(),
            }
        }
        "boot_set" => format!("boot device list now set to {}\n", arg(args, "bootdevice")),
        "calc_dirty_rate" => err("Dirty rate measurement is not supported by this machine"),
        "cancel_vcpu_dirty_limit" => {
            "[Please use 'info vcpu_dirty_limit' to query dirty limit for virtual CPU]\n".into()
        }
        "set_vcpu_dirty_limit" => err("dirty page limit feature requires KVM with accelerator property 'dirty-ring-size' set'"),
        "client_migrate_info" => err("SPICE is not in use"),
        "closefd" => err(format!(
            "File descriptor named '{}' not found",
            arg(args, "fdname")
        )),
        "getfd" => err("No file descriptor supplied via SCM_RIGHTS"),
        "delvm" => String::new(),
        "loadvm" | "savevm" => err("no block device can store vmstate for snapshot"),
        "dumpdtb" => "Error: This machine doesn't have an FDT\n(Perhaps it doesn't support FDT at all, or perhaps you need to provide an FDT with the -fdt option?)\n".into(),
        "exit_preconfig" => err("The command is permitted only before machine initialization"),
        "expire_password" => err("Could not set password expire time"),
        "set_password" => err("Could not set password"),
        "gdbserver" => match args.str("device") {
            Some("none") => "Disabled gdbserver\n".into(),
            dev => format!(
                "Could not open gdbserver on device '{}'\n",
                dev.unwrap_or("tcp::1234")
            ),
        },
        "hostfwd_add" | "hostfwd_remove" => "user mode network stack not in use\n".into(),
        "mce" => {
            let status = args.int("status").unwrap_or(0) as u64;
            if status & (1 << 63) == 0 {
                "Invalid MCE status code\n".into()
            } else {
                "Invalid MCE bank number\n".into()
            }
        }
        "migrate" => err("Migration is not supported by this machine"),
        "migrate_cancel" => String::new(),
        "migrate_continue" => err("Migration not in expected state: none"),
        "migrate_incoming" => err("'-incoming' was not specified on the command line"),
        "migrate_pause" => err("migrate-pause is currently only supported during postcopy-active or postcopy-recover state"),
        "migrate_recover" => err("Migrate recover can only be run when postcopy is paused."),
        "migrate_start_postcopy" => {
            err("Enable postcopy with migrate_set_capability before the start of migration")
        }
        "migrate_set_capability" => {
            let c = arg(args, "capability");
            if MIGRATION_CAPABILITIES.contains(&c) {
                String::new()
            } else {
                err(format!("invalid parameter value: {c}"))
            }
        }
        "migrate_set_parameter" => {
            let p = arg(args, "parameter");
            if MIGRATION_PARAMETER_NAMES.contains(&p) {
                String::new()
            } else {
                err(format!("invalid parameter value: {p}"))
            }
        }
        "sendkey" => match crate::keys::first_invalid(arg(args, "keys")) {
            // With valid keys QEMU's keyboard takes them; this machine's i8042 has no
            // keyboard behind it, so they go nowhere, as on a board without one.
            None => String::new(),
            Some(key) => format!("invalid parameter: {key}\n"),
        },
        "mouse_button" | "mouse_move" | "stopcapture" => String::new(),
        "mouse_set" => err(format!(
            "Mouse at index '{}' not found",
            args.int("index").unwrap_or(0)
        )),
        "nbd_server_remove" => err(format!("Export '{}' is not found", arg(args, "name"))),
        "nbd_server_start" => err("NBD export is not supported by this machine"),
        "nbd_server_stop" => err("NBD server not running"),
        "netdev_add" => match args.str("netdev") {
            None => err("Parameter 'id' is missing"),
            Some(opts) => {
                let ty = opts.split(',').next().unwrap_or("");
                let ty = ty.strip_prefix("type=").unwrap_or(ty);
                if !opts.split(',').any(|o| o.starts_with("id=")) {
                    err("Parameter 'id' is missing")
                } else if NETDEV_TYPES.contains(&ty) {
                    err(format!("network backend '{ty}' is not compiled into this binary"))
                } else {
                    err(format!("Parameter 'type' does not accept value '{ty}'"))
                }
            }
        },
        "netdev_del" => err(format!("Device '{}' not found", arg(args, "id"))),
        "object_add" => {
            let spec = arg(args, "object");
            if !spec.split(',').any(|o| o.starts_with("id=")) {
                err("Parameter 'id' is missing")
            } else {
                err("Objects cannot be added at run time")
            }
        }
        "object_del" => err(format!("object '{}' not found", arg(args, "id"))),
        "one-insn-per-tb" => "This accelerator does not support setting one-insn-per-tb\n".into(),
        "pcie_aer_inject_error" => err(format!("device '{}' not found", arg(args, "id"))),
        "replay_break" => "setting the breakpoint is allowed only in play mode\n".into(),
        "replay_delete_break" => "replay breakpoints are allowed only in play mode\n".into(),
        "replay_seek" => "replay must be enabled to seek\n".into(),
        "screendump" => err("There is no console to take a screendump from"),
        "set_link" => err(format!("Device '{}' not found", arg(args, "name"))),
        "system_wakeup" => err("Unable to wake up: guest is not in suspended state"),
        "trace-event" => {
            let n = arg(args, "name");
            if n.contains('*') || n.contains('?') {
                String::new()
            } else {
                format!("unknown event \"{n}\"\n")
            }
        }
        "watchdog_action" => {
            let a = arg(args, "action");
            if WATCHDOG_ACTIONS.contains(&a) {
                String::new()
            } else {
                err(format!("invalid parameter value: {a}"))
            }
        }
        "wavcapture" => format!("audiodev '{}' not found\n", arg(args, "audiodev")),
        "x_colo_lost_heartbeat" => err("VM is not in COLO mode"),
        "xen-event-inject" | "xen-event-list" => {
            err("Xen event channel emulation not enabled")
        }
        _ => String::new(),
    }
}

/// `info` subcommands.
pub fn info(target: &mut dyn HmpTarget, cmd: &Cmd, args: &Args) -> String {
    match cmd.primary() {
        "status" => {
            let s = target.status();
            let mut out = format!("VM status: {}", if s.running { "running" } else { "paused" });
            if !s.running && s.status != "paused" {
                let _ = write!(out, " ({})", s.status);
            }
            out.push('\n');
            out
        }
        "balloon" => match target.query_balloon() {
            Ok(actual) => format!("balloon: actual={}\n", actual >> 20),
            Err(e) => err(e),
        },
        "cpus" => {
            let current = target.current_cpu();
            let mut out = String::new();
            for (i, tid) in target.vcpu_thread_ids().iter().enumerate() {
                let active = if i == current { '*' } else { ' ' };
                let _ = writeln!(out, "{active} CPU #{i}: thread_id={tid}");
            }
            out
        }
        "registers" => {
            let mut out = String::new();
            if args.flag("cpustate_all") {
                for i in 0..target.cpu_count() {
                    let _ = write!(out, "\nCPU#{i}\n");
                    out.push_str(&target.register_dump(i).unwrap_or_default());
                }
                return out;
            }
            let cpu = match args.int("vcpu") {
                Some(v) if v >= 0 => {
                    if v as usize >= target.cpu_count() {
                        return format!("CPU#{v} not available\n");
                    }
                    v as usize
                }
                _ => target.current_cpu(),
            };
            match target.register_dump(cpu) {
                Some(dump) => format!("\nCPU#{cpu}\n{dump}"),
                None => "No CPU available\n".into(),
            }
        }
        "kvm" => "kvm support: enabled\n".into(),
        "name" => target.name().map(|n| format!("{n}\n")).unwrap_or_default(),
        "uuid" => format!("{}\n", target.uuid()),
        "version" => format!("{}\n", target.version()),
        "hotpluggable-cpus" => {
            let cpus = match target.hotpluggable_cpus() {
                Ok(c) => c,
                Err(e) => return err(e),
            };
            let mut out = String::from("Hotpluggable CPUs:\n");
            for c in cpus {
                let _ = writeln!(out, "  type: \"{}\"", c.type_name);
                let _ = writeln!(out, "  vcpus_count: \"{}\"", c.vcpus_count);
                if let Some(p) = &c.qom_path {
                    let _ = writeln!(out, "  qom_path: \"{p}\"");
                }
                out.push_str("  CPUInstance Properties:\n");
                for (k, v) in &c.props {
                    let _ = writeln!(out, "    {k}: \"{v}\"");
                }
            }
            out
        }
        "memory_size_summary" => {
            let (base, plugged) = target.memory_size_summary();
            let mut out = format!("base memory: {base}\n");
            if let Some(p) = plugged {
                let _ = writeln!(out, "plugged memory: {p}");
            }
            out
        }
        "dump" => {
            let (status, completed, total) = target.dump_status();
            let mut out = format!("Status: {status}\n");
            if status == "active" && total != 0 {
                // QEMU keeps the percentage in a float.
                let pct = (100.0 * completed as f64 / total as f64) as f32;
                let _ = writeln!(out, "Finished: {pct:.2} %");
            }
            out
        }
        "history" => target.history(),
        "pci" => target.info_pci(),
        "qtree" => target.info_qtree(args.flag("brief")),
        "mtree" => target.info_mtree(
            args.flag("flatview"),
            args.flag("dispatch_tree"),
            args.flag("owner"),
            args.flag("disabled"),
        ),
        "qom-tree" => qom_tree(target, args.str("path")),
        "chardev" => target
            .chardevs()
            .iter()
            .map(|(l, f)| format!("{l}: filename={f}\n"))
            .collect(),
        "lapic" => {
            let cpu = match args.int("apic-id") {
                Some(id) => {
                    if id < 0 || id as usize >= target.cpu_count() {
                        return "No CPU available\n".into();
                    }
                    id as usize
                }
                None if target.current_cpu() >= target.cpu_count() => {
                    return "No CPU available\n".into();
                }
                None => target.current_cpu(),
            };
            target.info_lapic(cpu)
        }
        "pic" => target.info_pic(),
        "irq" => target.info_irq(),
        "tlb" | "mem" => {
            let cpu = target.current_cpu();
            let Some(r) = target.cpu_regs(cpu) else {
                return "No CPU available\n".into();
            };
            let paging = Paging {
                cr0: r.cr0,
                cr3: r.cr3,
                cr4: r.cr4,
                efer: r.efer,
            };
            let mut read = |a: u64, b: &mut [u8]| target.read_phys(a, b);
            if cmd.primary() == "tlb" {
                format::info_tlb(&mut read, &paging)
            } else {
                format::info_mem(&mut read, &paging)
            }
        }
        "memdev" => {
            let (base, _) = target.memory_size_summary();
            let Some(block) = target.ram_block() else {
                return "\n".into();
            };
            format!(
                "memory backend: {block}\n  size:  {base}\n  merge: true\n  dump: true\n  prealloc: false\n  share: false\n  reserve: true\n  policy: default\n  host nodes: \n\n"
            )
        }
        "ramblock" => {
            let (base, _) = target.memory_size_summary();
            let mut out = format!(
                "{:>24}    PSize              Offset               Used              Total                HVA  RO\n",
                "Block Name"
            );
            if let Some(block) = target.ram_block() {
                let hva = target.gpa2hva(0).map(|(_, h)| h).unwrap_or(0);
                let _ = writeln!(
                    out,
                    "{block:>24}    4 KiB  0x{:016x} 0x{base:016x} 0x{base:016x} 0x{hva:016x}  rw",
                    0
                );
            }
            out
        }
        "virtio" => {
            let mut out = String::new();
            for parent in ["/machine/peripheral", "/machine/peripheral-anon"] {
                for (name, ty) in target.qom_list(parent).unwrap_or_default() {
                    if ty == "child<virtio-balloon-pci>" {
                        let _ = writeln!(out, "{parent}/{name}/virtio-backend [virtio-balloon]");
                    }
                }
            }
            if out.is_empty() {
                err("No virtio devices found")
            } else {
                out
            }
        }
        "virtio-status" | "virtio-queue-status" | "virtio-vhost-queue-status"
        | "virtio-queue-element" => {
            err(format!("Path '{}' is not a VirtIODevice", arg(args, "path")))
        }
        "migrate" => "globals:\nstore-global-state: on\nonly-migratable: off\nsend-configuration: on\nsend-section-footer: on\nsend-switchover-start: on\nclear-bitmap-shift: 18\n".into(),
        "migrate_capabilities" => MIGRATION_CAPABILITIES
            .iter()
            .map(|c| format!("{c}: off\n"))
            .collect(),
        "migrate_parameters" => MIGRATION_PARAMETERS.into(),
        "block-jobs" => "No active jobs\n".into(),
        "dirty_rate" => "Status: unstarted\nStart Time: 0 (ms)\nSample Pages: 0 (per GB)\nPeriod: 0 (sec)\nMode: page-sampling\nDirty rate: (not ready)\n".into(),
        "jit" => err("JIT information is only available with accel=tcg"),
        "opcount" => err("Opcode count information is only available with accel=tcg"),
        "mice" => "No mouse devices connected\n".into(),
        "numa" => "0 nodes\n".into(),
        "replay" => "Record/replay is not active\n".into(),
        "sev" => "SEV is not enabled\n".into(),
        "sgx" => "No EPC regions defined, SGX not available\n".into(),
        "snapshots" => "no block device can store vmstate for snapshot\n".into(),
        "spice" => "Server: disabled\n".into(),
        "usb" => err("USB support not enabled"),
        "vcpu_dirty_limit" => "Dirty page limit not enabled!\n".into(),
        "vm-generation-id" => err("VM Generation ID device not found"),
        "vnc" => "None\n".into(),
        "sync-profile" => "Type               Object  Call site  Wait Time (s)         Count  Average (us)\n-------------------------------------------------------------------------------\n-------------------------------------------------------------------------------\n".into(),
        "rocker" | "rocker-ports" | "rocker-of-dpa-flows" | "rocker-of-dpa-groups" => {
            err(format!("rocker {} not found", arg(args, "name")))
        }
        "trace-events" => match args.str("name") {
            Some(n) if !n.contains('*') && !n.contains('?') => format!("unknown event \"{n}\"\n"),
            _ => String::new(),
        },
        "qdm" => "Misc devices:\nname \"virtio-balloon-pci\", bus PCI, alias \"virtio-balloon\"\n".into(),
        // block, blockstats, capture, cryptodev, iothreads, memory-devices, network, roms,
        // stats, tpm, usernet: nothing to list on this machine.
        _ => String::new(),
    }
}

/// `info qom-tree [path]`, from `qom-list` and each object's `type`.
fn qom_tree(target: &mut dyn HmpTarget, path: Option<&str>) -> String {
    let start = path.unwrap_or("/machine");
    if let Err(e) = target.qom_get(start, "type") {
        if e.contains("ambiguous") {
            return format!("Warning: Path '{start}' is ambiguous.\n");
        }
        return format!("Path '{start}' could not be resolved.\n");
    }
    let mut out = String::new();
    qom_node(target, start, 0, &mut out);
    out
}

fn qom_node(target: &mut dyn HmpTarget, path: &str, indent: usize, out: &mut String) {
    let ty = target
        .qom_get(path, "type")
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let name = if path == "/" {
        ""
    } else {
        path.rsplit('/').next().unwrap_or("")
    };
    let _ = writeln!(out, "{:indent$}/{name} ({ty})", "");
    let mut children: Vec<String> = target
        .qom_list(path)
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, t)| t.starts_with("child<"))
        .map(|(n, _)| n)
        .collect();
    children.sort();
    for c in children {
        let child = if path == "/" {
            format!("/{c}")
        } else {
            format!("{path}/{c}")
        };
        qom_node(target, &child, indent + 2, out);
    }
}
