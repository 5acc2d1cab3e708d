//! Serial and parallel ports: `-serial` (`serial_parse()`: a `serial<N>` chardev per port,
//! `mon:` multiplexing a monitor on it, `chardev:<id>` using an existing one, `none` leaving
//! the port empty), `-parallel` (only `none`: there is no parallel port), and the board's
//! serial devices taking their chardevs.

use crate::config::{MonitorConfig, MonitorMode};
use crate::options::chardev;
use crate::options::error::{Diagnostic, ErrorKind};
use crate::options::machine::{Family, MachineType};
use crate::options::value::{self, Value};

use super::chardev_backends::{claim_stdio, Chardevs, Frontends};
use super::report::{at, located, plain, Step};
use super::Parser;

impl Parser {
    /// `-serial`.
    pub(super) fn serial_option(&mut self, arg: &str, loc: &str) {
        self.serials.push((arg.to_string(), loc.to_string()));
        self.user_serial = true;
        if arg.starts_with("mon:") {
            self.user_monitor = true;
        }
    }

    /// `-parallel`.
    pub(super) fn parallel_option(&mut self, arg: &str, loc: &str) -> Step {
        self.user_parallel = true;
        if arg.starts_with("mon:") {
            self.user_monitor = true;
        }
        if arg != "none" {
            // There is no parallel port in this VMM.
            return Err(at(loc, ErrorKind::NotSupportedInBuild));
        }
        Ok(())
    }

    /// How many serial ports the board has (none on a microvm with `isa-serial=off`).
    pub(super) fn board_serial_ports(&self, machine: &MachineType) -> usize {
        let isa_serial_off = machine.family == Family::Microvm
            && matches!(
                Value::get(&self.machine_dict, "isa-serial"),
                Some(Value::Str(v)) if value::parse_bool(v) == Some(false)
            );
        if isa_serial_off {
            0
        } else {
            machine.serial_ports()
        }
    }

    /// `serial_parse()` for every serial port; returns the chardev of each port index.
    pub(super) fn serial_ports(
        &mut self,
        chardevs: &mut Chardevs,
        monitors: &mut Vec<MonitorConfig>,
        frontends: &mut Frontends,
        ports_on_board: usize,
    ) -> Step<Vec<Option<String>>> {
        let mut ports = Vec::new();
        for (index, (arg, loc)) in self.serials.clone().iter().enumerate() {
            if arg == "none" {
                ports.push(None);
                continue;
            }
            let fail = |p: &mut Self, kind: Option<ErrorKind>| {
                if let Some(k) = kind {
                    p.diags.push(Diagnostic::error(located(loc), &k));
                }
                at(
                    loc,
                    ErrorKind::SerialConnect {
                        backend: arg.clone(),
                    },
                )
            };
            if let Some(id) = arg.strip_prefix("chardev:") {
                if !chardevs.configs.iter().any(|c| c.id == id) {
                    return Err(fail(self, None));
                }
                ports.push(Some(id.to_string()));
                continue;
            }
            let label = format!("serial{index}");
            let opts = match chardev::parse_compat(&label, arg, true) {
                Ok(o) => o,
                Err(kind) => return Err(fail(self, kind)),
            };
            if chardevs.configs.iter().any(|c| c.id == label) {
                let k = ErrorKind::DuplicateId {
                    id: label,
                    list: "chardev".into(),
                };
                return Err(fail(self, Some(k)));
            }
            let mut chr = match chardev::from_opts(&opts, self.daemonize) {
                Ok(c) => c,
                Err(k) => return Err(fail(self, Some(k))),
            };
            chr.location = loc.clone();
            if let Err(k) = claim_stdio(&chr, &mut chardevs.stdio_in_use) {
                return Err(fail(self, Some(k)));
            }
            if chr.mux {
                // A monitor multiplexed on the port (`mon:`), QEMU's `monitor_init_hmp()`.
                monitors.push(MonitorConfig {
                    id: None,
                    chardev: label.clone(),
                    mode: MonitorMode::Readline,
                    pretty: false,
                });
            }
            chardevs.configs.push(chr);
            ports.push(Some(label));
        }
        // The board's serial devices take the chardevs of the ports it has (isa-serial realize).
        for id in ports.iter().take(ports_on_board).flatten() {
            frontends.attach(&chardevs.configs, id).map_err(plain)?;
        }
        Ok(ports)
    }
}
