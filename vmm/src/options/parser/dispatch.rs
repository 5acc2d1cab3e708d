//! The option table at work: QEMU's first pass over the arguments (every option looked up
//! before any is acted on), then each option, in order, handed to its group's handler (the big
//! `switch` in `qemu_init()`). Options that only set a flag or a value are recorded here.

use std::path::PathBuf;

use crate::options::chardev;
use crate::options::error::ErrorKind;
use crate::options::table::{self, Support};
use crate::options::{Command, Outcome};

use super::machine_options::put_str;
use super::option_syntax::Store;
use super::report::{at, Step, Stop};
use super::Parser;

/// Finds an option by its command line spelling (`-m`, `--m`).
fn lookup(arg: &str) -> Option<&'static table::OptionDef> {
    let name = arg.strip_prefix('-')?;
    let name = name.strip_prefix('-').unwrap_or(name);
    table::lookup(name)
}

/// The first pass: every option is in the table and has its argument.
pub(super) fn check_table(args: &[String]) -> Step {
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if !a.starts_with('-') {
            i += 1;
            continue;
        }
        let def = lookup(a).ok_or_else(|| at(a, ErrorKind::InvalidOption))?;
        if def.has_arg {
            if i + 1 >= args.len() {
                return Err(at(a, ErrorKind::RequiresArgument));
            }
            i += 1;
        }
        i += 1;
    }
    Ok(())
}

impl Parser {
    /// The second pass: acts on each option in order; `-help` and `-version` end it.
    pub(super) fn read_options(&mut self, args: &[String]) -> Step {
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            if !a.starts_with('-') {
                self.disk_image(a);
                i += 1;
                continue;
            }
            let def = lookup(a).ok_or_else(|| at(a, ErrorKind::InvalidOption))?;
            let (arg, location) = if def.has_arg {
                let arg = args[i + 1].as_str();
                i += 2;
                (arg, format!("{a} {arg}"))
            } else {
                i += 1;
                ("", a.clone())
            };
            match def.support {
                Support::NotForTarget => {
                    return Err(at(&location, ErrorKind::NotSupportedForTarget))
                }
                Support::NotInBuild => return Err(at(&location, ErrorKind::NotSupportedInBuild)),
                Support::Yes => {}
            }
            if let Some(command) = self.option(def.name, arg, &location)? {
                return Err(Stop::Outcome(Outcome::Command(command)));
            }
        }
        Ok(())
    }

    /// Processes one option (QEMU's big `switch` in `qemu_init()`).
    fn option(&mut self, name: &str, arg: &str, loc: &str) -> Step<Option<Command>> {
        match name {
            "h" | "help" => return Ok(Some(Command::Help)),
            "version" => return Ok(Some(Command::Version)),
            "machine" | "M" => self.machine_option(arg, loc)?,
            "cpu" => self.cpu_option = Some(arg.to_string()),
            "accel" => self.accel_option(arg, loc)?,
            "smp" => self.smp_option(arg, loc)?,
            "boot" => self.boot_option(arg, loc)?,
            "m" => self.memory_option(arg, loc)?,
            "mem-prealloc" => self.mem_prealloc = true,
            "audiodev" => self.audiodev_option(arg, loc)?,
            "device" => self.device_option(arg, loc)?,
            "name" => self.name_option(arg, loc)?,
            "uuid" => self.uuid_option(arg, loc)?,
            "hda" | "hdb" | "hdc" | "hdd" | "cdrom" | "fda" | "fdb" => {
                self.drive_option(name, arg, loc)
            }
            "blockdev" => self.blockdev_option(arg, loc)?,
            "snapshot" => {}
            "usb" => put_str(&mut self.machine_dict, "usb", "on"),
            "display" => self.display_option(arg, loc)?,
            "nographic" => {
                put_str(&mut self.machine_dict, "graphics", "off");
                self.nographic = true;
            }
            "vga" => self.vga = Some(arg.to_string()),
            "no-fd-bootchk" => put_str(&mut self.machine_dict, "fd-bootchk", "off"),
            "nic" | "net" => {
                if arg != "none" {
                    return Err(at(loc, ErrorKind::NotSupportedInBuild));
                }
            }
            "chardev" => self.qemuopts(&chardev::CHARDEV_OPTS, Store::Chardev, arg, true, loc)?,
            "kernel" | "shim" | "append" | "initrd" | "dtb" => self.kernel_option(name, arg),
            "serial" => self.serial_option(arg, loc),
            "parallel" => self.parallel_option(arg, loc)?,
            "monitor" => self.monitor_option(arg, loc)?,
            "qmp" | "qmp-pretty" => self.qmp_option(arg, name == "qmp-pretty", loc)?,
            "mon" => self.mon_option(arg, loc)?,
            "pidfile" => self.pidfile = Some(PathBuf::from(arg)),
            "S" => self.start_paused = true,
            "overcommit" => self.overcommit_option(arg, loc)?,
            "enable-kvm" => put_str(&mut self.machine_dict, "accel", "kvm"),
            "xen-domid" => {}
            "no-reboot" => self.action("reboot", "shutdown", loc),
            "no-shutdown" => self.action("shutdown", "pause", loc),
            "action" => self.action_option(arg, loc)?,
            "watchdog-action" => self.action("watchdog", arg, loc),
            "daemonize" => self.daemonize = true,
            "rtc" => self.rtc_option(arg, loc)?,
            "nodefaults" => self.no_defaults = true,
            "sandbox" => self.sandbox_option(arg, loc)?,
            "no-user-config" => self.no_user_config = true,
            "msg" => self.msg_option(arg, loc)?,
            "object" => self.object_option(arg, loc)?,
            "global" => self.global_option(arg, loc)?,
            _ => return Err(at(loc, ErrorKind::NotSupportedInBuild)),
        }
        Ok(None)
    }
}
