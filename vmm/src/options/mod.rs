//! QEMU's command line, parsed into a [`crate::config::VmConfig`].
//!
//! The program is `vmm`, the command line is `qemu-system-x86_64`'s (QEMU 10.0): the same
//! options, the same syntaxes (single or double dash, QemuOpts `key=value` lists, keyval, JSON),
//! and the same errors, reported at the same point. Like QEMU, the parser runs in phases:
//!
//! 1. every argument is looked up in the option table ("invalid option", "requires an argument"),
//! 2. every option is processed in order (syntax errors, reported with the option as location),
//! 3. what QEMU checks after reading the whole command line, in QEMU's order: `-append` without
//!    `-kernel`, `-rtc`, the machine type, default devices, chardevs, machine properties (memory,
//!    `-smp`), the accelerator, monitors, serial ports, the CPU model, devices.
//!
//! [`parse`] is what `main` calls; [`parse_args`] is the side-effect free form that returns
//! warnings and listings instead of printing them.
//!
//! This module is the public face. The syntaxes are in `qemuopts`, `keyval`, `json`, `value`
//! and `strtox`; what QEMU knows is in `table` (the options), [`machine`], `chardev`, `objects`
//! and `help`; the messages are in `error`; `parser` runs the phases.

mod chardev;
mod error;
mod help;
mod json;
mod keyval;
pub mod machine;
mod objects;
mod parser;
mod qemuopts;
mod strtox;
mod table;
pub(crate) mod value;

#[cfg(test)]
mod tests;

use crate::config::VmConfig;

pub use error::{Diagnostic, ErrorKind, OptionsError};
pub use help::{help_text, version_text, QEMU_COMPAT_VERSION};

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    Run(Box<VmConfig>),
    Help,
    Version,
    /// A listing (`-machine help`, `-cpu help`, `-m 1,help` ...) that QEMU prints to stdout
    /// before it exits with `exit_code`. Only [`parse`] returns it; [`parse_args`] returns
    /// [`Outcome::Info`].
    Info {
        text: String,
        exit_code: u8,
    },
}

/// The result of parsing: a command, or a listing QEMU prints and exits with (`-machine help`,
/// `-cpu help`, `-m 1,help` ...).
#[derive(Debug)]
pub enum Outcome {
    Command(Command),
    Info { text: String, exit_code: u8 },
}

/// Everything parsing produced: the messages QEMU would have printed on the way (warnings and
/// non-fatal error lines, each to be printed as `vmm: {diagnostic}`), then the result.
#[derive(Debug)]
pub struct Parsed {
    pub diagnostics: Vec<Diagnostic>,
    pub result: Result<Outcome, OptionsError>,
}

/// Parses the arguments (without argv\[0\]) as QEMU would, printing warnings to stderr.
///
/// Listings (`-machine help`, `-cpu help`, ...) come back as [`Command::Info`], for the caller
/// to print to stdout and exit with its status, as QEMU does; `-help` and `-version` come back
/// as [`Command::Help`] and [`Command::Version`].
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, OptionsError> {
    let parsed = parse_args(args);
    for d in &parsed.diagnostics {
        eprintln!("vmm: {d}");
    }
    match parsed.result {
        Ok(Outcome::Command(c)) => Ok(c),
        Ok(Outcome::Info { text, exit_code }) => Ok(Command::Info { text, exit_code }),
        Err(e) => Err(e),
    }
}

/// Parses the arguments (without argv\[0\]) without printing anything.
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Parsed {
    let args: Vec<String> = args.into_iter().collect();
    let (diagnostics, result) = parser::run(&args);
    Parsed {
        diagnostics,
        result,
    }
}
