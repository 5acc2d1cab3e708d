//! The parser: what the options leave behind ([`Parser`]), and QEMU's phases over them.
//!
//! [`run`] takes the arguments through the option table and then each option in order
//! (`dispatch`), then through what QEMU does once the whole command line is read (`finish`),
//! which ends in the configuration (`vm_config`).
//!
//! Each option group has a module of its own, with its handlers (`Parser::*_option`), its
//! QemuOpts list, and the checks QEMU makes later on what they recorded:
//!
//! - the machine: `machine_options`, `memory_smp`, `kernel_boot`, `accel`, `cpu_model`;
//! - character devices and their users: `chardev_backends`, `monitors`, `serial_ports`, and
//!   `defaults` (the default serial port, parallel port and monitor);
//! - devices and objects: `devices`, `drives`, `user_objects`, `display`;
//! - the rest: `actions`, `rtc`, `identity`, `process`.
//!
//! `option_syntax` reads option arguments (QemuOpts, keyval, JSON); `report` is how parsing
//! stops (an error or a listing) and where errors are located.

mod accel;
mod actions;
mod chardev_backends;
mod cpu_model;
mod defaults;
mod devices;
mod dispatch;
mod display;
mod drives;
mod finish;
mod identity;
mod kernel_boot;
mod machine_options;
mod memory_smp;
mod monitors;
mod option_syntax;
mod process;
mod report;
mod rtc;
mod serial_ports;
mod user_objects;
mod vm_config;

use std::path::PathBuf;

use crate::config::VmConfig;
use crate::options::error::{Diagnostic, OptionsError};
use crate::options::objects::DisplaySpec;
use crate::options::qemuopts::{Opts, OptsStore};
use crate::options::value::Value;
use crate::options::{Command, Outcome};

use actions::ActionEntry;
use devices::DeviceEntry;
use drives::Drive;
use report::{Step, Stop};
use user_objects::ObjectEntry;

/// Parses `args` (without argv\[0\]): the diagnostics printed on the way, then the result.
pub(super) fn run(args: &[String]) -> (Vec<Diagnostic>, Result<Outcome, OptionsError>) {
    let mut parser = Parser::default();
    let result = match parser.phases(args) {
        Ok(config) => Ok(Outcome::Command(Command::Run(Box::new(config)))),
        Err(Stop::Outcome(o)) => Ok(o),
        Err(Stop::Error(e)) => Err(e),
    };
    (parser.diags, result)
}

/// What the options recorded, for the checks QEMU makes after reading the command line.
#[derive(Default)]
struct Parser {
    /// Warnings and non-fatal error lines, in the order QEMU prints them.
    diags: Vec<Diagnostic>,
    /// The machine options (`-machine`, and `-m`, `-smp`, `-boot`, `-kernel` ... merged in).
    machine_dict: Vec<(String, Value)>,
    memory: OptsStore,
    name: OptsStore,
    accel: OptsStore,
    accel_locations: Vec<String>,
    chardev: OptsStore,
    chardev_locations: Vec<String>,
    mon: OptsStore,
    mon_locations: Vec<String>,
    rtc: OptsStore,
    actions: Vec<ActionEntry>,
    sandbox: Vec<(String, Opts)>,
    global: OptsStore,
    devices: Vec<DeviceEntry>,
    device_store: OptsStore,
    objects: Vec<ObjectEntry>,
    object_store: OptsStore,
    drives: Vec<Drive>,
    /// `-serial` arguments with their option (empty for the default ports).
    serials: Vec<(String, String)>,
    display: Option<DisplaySpec>,
    vga: Option<String>,
    cpu_option: Option<String>,
    uuid: Option<String>,
    pidfile: Option<PathBuf>,
    /// The number of the next `compat_monitor<N>` chardev.
    monitor_index: usize,
    nographic: bool,
    daemonize: bool,
    no_defaults: bool,
    user_serial: bool,
    user_parallel: bool,
    user_monitor: bool,
    start_paused: bool,
    mem_prealloc: bool,
    mem_lock: bool,
    no_user_config: bool,
}

impl Parser {
    /// QEMU's phases: the option table, each option in order, then what follows the command
    /// line.
    fn phases(&mut self, args: &[String]) -> Step<VmConfig> {
        dispatch::check_table(args)?;
        self.read_options(args)?;
        self.finish()
    }
}
