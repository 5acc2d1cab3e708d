//! What QEMU does after reading the whole command line, step by step in its order (`qemu_init()`
//! from `qemu_validate_options()` to `qemu_create_cli_devices()`): the first error stops it, as
//! in QEMU. Each step is done by its option group's module; the result is the configuration.

use crate::config::VmConfig;
use crate::options::error::ErrorKind;
use crate::options::machine;

use super::chardev_backends::Frontends;
use super::machine_options::{dict_str, MachineSettings};
use super::report::{plain, Step};
use super::vm_config::Resolved;
use super::Parser;

impl Parser {
    /// Everything QEMU does after reading the command line, in its order.
    pub(super) fn finish(&mut self) -> Step<VmConfig> {
        // qemu_validate_options()
        self.validate_kernel_options()?;

        // qemu_process_early_options(): -sandbox, -action
        self.check_sandboxes()?;
        let actions = self.check_actions()?;

        // qemu_process_help_options()
        self.cpu_help()?;

        // configure_rtc()
        self.configure_rtc()?;

        // parse_memory_options()
        self.memory_into_machine_dict()?;

        // qemu_create_machine(): select_machine()
        let (machine, type_given) = self.select_machine()?;

        // qemu_disable_default_devices(), qemu_create_default_devices()
        self.create_default_devices(&machine)?;
        self.check_vga()?;

        // qemu_create_early_backends()
        self.check_display()?;
        let mut seen_objects = self.create_early_objects()?;
        let mut chardevs = self.create_chardevs()?;
        self.check_drives()?;

        // qemu_apply_legacy_machine_options()
        let legacy = self.apply_legacy_machine_options()?;

        // qemu_apply_machine_options(): properties in QDict order, with their setters' checks.
        let MachineSettings {
            smp,
            mut memory,
            props,
        } = self.apply_machine_options(&machine)?;

        // configure_accelerators()
        self.configure_accelerators(legacy.accel.as_deref())?;

        self.warn_if_deprecated(&machine);

        // qemu_create_late_backends(): memory backends, monitors, serial ports.
        self.create_memory_backends(&mut seen_objects)?;
        let mut frontends = Frontends::default();
        let mut monitors = self.monitors(&chardevs.configs, &mut frontends)?;
        let serial_ports = self.board_serial_ports(&machine);
        let serial_ids =
            self.serial_ports(&mut chardevs, &mut monitors, &mut frontends, serial_ports)?;

        // CPU model (parse_cpu_option())
        let cpu_model = self.cpu_model()?;

        // qemu_resolve_machine_memdev()
        self.resolve_machine_memdev(&mut memory, legacy.custom_ram_size)?;

        // Board initialisation (pc_memory_init())
        machine::check_board_memory(&machine, &memory).map_err(plain)?;
        // machine_none_init(): a CPU only if -cpu asks (which fails on x86), no loader.
        if machine.family == machine::Family::None {
            if cpu_model.is_some() {
                return Err(plain(ErrorKind::CpuOnEmptyMachine));
            }
            if dict_str(&self.machine_dict, "kernel").is_some() {
                return Err(plain(ErrorKind::KernelOnEmptyMachine));
            }
        }

        // qemu_create_cli_devices()
        let devices = self.check_devices()?;

        Ok(self.vm_config(Resolved {
            type_given,
            props,
            memory,
            smp,
            cpu_model,
            actions,
            chardevs: chardevs.configs,
            serials: serial_ids.into_iter().take(serial_ports).collect(),
            monitors,
            devices,
        }))
    }
}
