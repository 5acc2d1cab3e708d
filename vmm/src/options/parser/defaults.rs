//! Default devices: which of the default serial port, parallel port and monitor QEMU keeps
//! (`qemu_disable_default_devices()`: not when the user gave one, a device replaces it,
//! `-nodefaults`, or the board has none), and creating them (`qemu_create_default_devices()`;
//! with `-nographic` they go to stdio, a serial port and monitor sharing it as `mon:stdio`).

use crate::config::MonitorMode;
use crate::options::error::ErrorKind;
use crate::options::machine::MachineType;

use super::report::{plain, Step};
use super::Parser;

impl Parser {
    /// `qemu_disable_default_devices()` then `qemu_create_default_devices()` (without `-vga`).
    pub(super) fn create_default_devices(&mut self, machine: &MachineType) -> Step {
        // qemu_disable_default_devices()
        let mut default_serial = !self.user_serial;
        let mut default_parallel = !self.user_parallel;
        let mut default_monitor = !self.user_monitor;
        let device_drivers: Vec<String> = self
            .devices
            .iter()
            .filter_map(|d| d.driver.clone())
            .chain(
                self.global
                    .groups
                    .iter()
                    .filter_map(|g| g.get("driver").map(str::to_string)),
            )
            .collect();
        for drv in &device_drivers {
            match drv.as_str() {
                "isa-serial" | "xen-console" => default_serial = false,
                "isa-parallel" => default_parallel = false,
                _ => {}
            }
        }
        if self.no_defaults || !machine.has_default_serial() {
            default_serial = false;
        }
        if self.no_defaults || !machine.has_default_parallel() {
            default_parallel = false;
        }
        if self.no_defaults {
            default_monitor = false;
        }

        // qemu_create_default_devices()
        if self.daemonize
            && self.nographic
            && (default_parallel || default_serial || default_monitor)
        {
            return Err(plain(ErrorKind::NographicWithDaemonize));
        }
        if self.nographic {
            if default_serial && default_monitor {
                self.serials.push(("mon:stdio".into(), String::new()));
            } else {
                if default_serial {
                    self.serials.push(("stdio".into(), String::new()));
                }
                if default_monitor {
                    self.monitor_parse("stdio", MonitorMode::Readline, false, "")?;
                }
            }
        } else if default_serial {
            // A build without a graphical console: the default serial port is a null sink, and
            // there is no default monitor (QEMU's `vc` is NULL without pixman).
            self.serials.push(("null".into(), String::new()));
        }
        Ok(())
    }
}
