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

mod chardev;
mod error;
mod help;
mod json;
mod keyval;
pub mod machine;
mod objects;
mod qemuopts;
mod strtox;
mod table;
mod value;

#[cfg(test)]
mod tests;

use std::io::Write;
use std::path::PathBuf;

use crate::config::{
    ChardevConfig, DeviceConfig, MachineConfig, MemoryConfig, MonitorConfig, MonitorMode,
    NameConfig, ObjectConfig, SmpConfig, VmConfig,
};

pub use error::{Diagnostic, ErrorKind, OptionsError};
pub use help::{help_text, version_text, QEMU_COMPAT_VERSION};

use machine::Family;
use qemuopts::{d, dh, OptType, Opts, OptsList, OptsStore, ParseFlags, Parsed as OptsParsed};
use table::Support;
use value::{Mode, Value};

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    Run(Box<VmConfig>),
    Help,
    Version,
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
/// Listings (`-machine help`, `-cpu help`, ...) are printed to stdout and end the process with
/// QEMU's exit status, as in QEMU; `-help` and `-version` are returned to the caller.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, OptionsError> {
    let parsed = parse_args(args);
    for d in &parsed.diagnostics {
        eprintln!("vmm: {d}");
    }
    match parsed.result {
        Ok(Outcome::Command(c)) => Ok(c),
        Ok(Outcome::Info { text, exit_code }) => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
            std::process::exit(exit_code.into());
        }
        Err(e) => Err(e),
    }
}

/// Parses the arguments (without argv\[0\]) without printing anything.
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Parsed {
    let args: Vec<String> = args.into_iter().collect();
    let mut p = Parser::new();
    let result = p.run(&args);
    Parsed {
        diagnostics: p.diags,
        result,
    }
}

/// Ends parsing early: an error or a listing.
enum Stop {
    Error(OptionsError),
    Outcome(Outcome),
}

impl From<OptionsError> for Stop {
    fn from(e: OptionsError) -> Self {
        Stop::Error(e)
    }
}

type Step<T = ()> = Result<T, Stop>;

/// An error at `location`; without a location (QEMU's defaults) a plain error.
fn at(location: &str, kind: ErrorKind) -> Stop {
    if location.is_empty() {
        return plain(kind);
    }
    Stop::Error(OptionsError::at(location, kind))
}

fn located(location: &str) -> Option<&str> {
    (!location.is_empty()).then_some(location)
}

fn plain(kind: ErrorKind) -> Stop {
    Stop::Error(OptionsError::Plain(kind))
}

fn info(text: String, exit_code: u8) -> Stop {
    Stop::Outcome(Outcome::Info { text, exit_code })
}

const S: OptType = OptType::Str;
const BOOL: OptType = OptType::Bool;

static MEMORY_OPTS: OptsList = OptsList {
    name: "memory",
    implied: Some("size"),
    merge: true,
    desc: Some(&[
        d("size", OptType::Size),
        d("slots", OptType::Number),
        d("maxmem", OptType::Size),
    ]),
};

static NAME_OPTS: OptsList = OptsList {
    name: "name",
    implied: Some("guest"),
    merge: true,
    desc: Some(&[
        dh(
            "guest",
            S,
            "Sets the name of the guest.\nThis name will be displayed in the SDL window \
             caption.\nThe name will also be used for the VNC server",
        ),
        dh(
            "process",
            S,
            "Sets the name of the QEMU process, as shown in top etc",
        ),
        dh(
            "debug-threads",
            BOOL,
            "When enabled, name the individual threads; defaults off.\nNOTE: The thread names \
             are for debugging and not a\nstable API.",
        ),
    ]),
};

static ACCEL_OPTS: OptsList = OptsList {
    name: "accel",
    implied: Some("accel"),
    merge: false,
    desc: None,
};

static MON_OPTS: OptsList = OptsList {
    name: "mon",
    implied: Some("chardev"),
    merge: false,
    desc: Some(&[d("mode", S), d("chardev", S), d("pretty", BOOL)]),
};

static RTC_OPTS: OptsList = OptsList {
    name: "rtc",
    implied: None,
    merge: true,
    desc: Some(&[d("base", S), d("clock", S), d("driftfix", S)]),
};

static ACTION_OPTS: OptsList = OptsList {
    name: "action",
    implied: None,
    merge: true,
    desc: Some(&[
        d("shutdown", S),
        d("reboot", S),
        d("panic", S),
        d("watchdog", S),
    ]),
};

static OVERCOMMIT_OPTS: OptsList = OptsList {
    name: "overcommit",
    implied: None,
    merge: false,
    desc: Some(&[d("mem-lock", S), d("cpu-pm", BOOL)]),
};

static MSG_OPTS: OptsList = OptsList {
    name: "msg",
    implied: None,
    merge: false,
    desc: Some(&[
        d("timestamp", BOOL),
        dh(
            "guest-name",
            BOOL,
            "Prepends guest name for error messages but only if -name guest is set otherwise \
             option is ignored\n",
        ),
    ]),
};

static SANDBOX_OPTS: OptsList = OptsList {
    name: "sandbox",
    implied: Some("enable"),
    merge: true,
    desc: Some(&[
        d("enable", BOOL),
        d("obsolete", S),
        d("elevateprivileges", S),
        d("spawn", S),
        d("resourcecontrol", S),
    ]),
};

static GLOBAL_OPTS: OptsList = OptsList {
    name: "global",
    implied: None,
    merge: false,
    desc: Some(&[d("driver", S), d("property", S), d("value", S)]),
};

static DEVICE_OPTS: OptsList = OptsList {
    name: "device",
    implied: Some("driver"),
    merge: false,
    desc: None,
};

static OBJECT_OPTS: OptsList = OptsList {
    name: "object",
    implied: Some("qom-type"),
    merge: false,
    desc: None,
};

/// QemuOpts parse with the flags of `qemu_opts_parse_noisily()`.
fn noisily(permit_abbrev: bool) -> ParseFlags {
    ParseFlags {
        permit_abbrev,
        warn_on_flag: true,
        help: true,
    }
}

/// A drive given as `disk_image`, `-hda` ... `-cdrom`, `-fda`: rejected (no disk controller),
/// after QEMU's own checks of the file.
struct Drive {
    location: String,
    file: String,
    interface: &'static str,
    bus: u32,
    unit: u32,
}

/// A `-device`: QemuOpts form or JSON.
struct DeviceEntry {
    location: String,
    json: bool,
    driver: Option<String>,
    id: Option<String>,
    props: Vec<(String, String)>,
}

struct ObjectEntry {
    spec: objects::ObjectSpec,
}

/// One item of a merged QemuOpts list, remembered with its option for error locations.
struct Located {
    location: String,
    name: String,
    value: String,
}

#[derive(Default)]
struct Parser {
    diags: Vec<Diagnostic>,
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
    actions: Vec<Located>,
    sandbox: Vec<(String, Opts)>,
    global: OptsStore,
    devices: Vec<DeviceEntry>,
    device_store: OptsStore,
    objects: Vec<ObjectEntry>,
    object_store: OptsStore,
    drives: Vec<Drive>,
    serials: Vec<(String, String)>,
    display: Option<objects::DisplaySpec>,
    vga: Option<String>,
    cpu_option: Option<String>,
    uuid: Option<String>,
    pidfile: Option<PathBuf>,
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
    fn new() -> Self {
        Parser::default()
    }

    fn run(&mut self, args: &[String]) -> Result<Outcome, OptionsError> {
        match self.run_inner(args) {
            Ok(config) => Ok(Outcome::Command(Command::Run(Box::new(config)))),
            Err(Stop::Outcome(o)) => Ok(o),
            Err(Stop::Error(e)) => Err(e),
        }
    }

    fn run_inner(&mut self, args: &[String]) -> Step<VmConfig> {
        // First pass: the option table (QEMU looks every option up before acting on any).
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

        // Second pass: act on each option in order.
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            if !a.starts_with('-') {
                self.drives.push(Drive {
                    location: a.clone(),
                    file: a.clone(),
                    interface: "ide",
                    bus: 0,
                    unit: 0,
                });
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

        self.finish()
    }

    /// Processes one option (QEMU's big `switch` in `qemu_init()`).
    fn option(&mut self, name: &str, arg: &str, loc: &str) -> Step<Option<Command>> {
        match name {
            "h" | "help" => return Ok(Some(Command::Help)),
            "version" => return Ok(Some(Command::Version)),
            "machine" | "M" => {
                let help = keyval::parse_into(&mut self.machine_dict, arg, Some("type"))
                    .map_err(|e| at(loc, e))?;
                if help {
                    let m = match Value::get(&self.machine_dict, "type") {
                        Some(Value::Str(t)) => machine::find(t),
                        _ => None,
                    };
                    let text = match m {
                        Some(m) => machine::properties_help(&m),
                        None => machine::list_help(),
                    };
                    return Err(info(text, 0));
                }
            }
            "cpu" => self.cpu_option = Some(arg.to_string()),
            "accel" => {
                let parsed = qemuopts::parse(
                    &ACCEL_OPTS,
                    &mut self.accel,
                    arg,
                    noisily(true),
                    loc,
                    &mut self.diags,
                )
                .map_err(|e| at(loc, e))?;
                let OptsParsed::Group(g) = parsed else {
                    return Err(info(help::accel_help(), 0));
                };
                self.accel_locations.push(loc.to_string());
                match self.accel.groups[g].get("accel") {
                    None | Some("help") | Some("?") => return Err(info(help::accel_help(), 0)),
                    Some(_) => {}
                }
            }
            "smp" => self.machine_property_opt(arg, "cpus", "smp", loc)?,
            "boot" => self.machine_property_opt(arg, "order", "boot", loc)?,
            "m" => self.qemuopts(&MEMORY_OPTS, Store::Memory, arg, true, loc)?,
            "mem-prealloc" => self.mem_prealloc = true,
            "audiodev" => {
                let dict = self.json_or_keyval(arg, "driver", loc)?;
                let mode = if arg.starts_with('{') {
                    Mode::Json
                } else {
                    Mode::Keyval
                };
                objects::visit_audiodev(&dict, mode).map_err(|e| at(loc, e))?;
            }
            "device" => self.device(arg, loc)?,
            "name" => self.qemuopts(&NAME_OPTS, Store::Name, arg, true, loc)?,
            "uuid" => {
                self.uuid = Some(parse_uuid(arg).ok_or_else(|| at(loc, ErrorKind::UuidFormat))?)
            }
            "hda" | "hdb" | "hdc" | "hdd" | "cdrom" | "fda" | "fdb" => {
                let (interface, bus, unit) = match name {
                    "hda" => ("ide", 0, 0),
                    "hdb" => ("ide", 0, 1),
                    "hdc" | "cdrom" => ("ide", 1, 0),
                    "hdd" => ("ide", 1, 1),
                    "fda" => ("floppy", 0, 0),
                    _ => ("floppy", 0, 1),
                };
                self.drives.push(Drive {
                    location: loc.to_string(),
                    file: arg.to_string(),
                    interface,
                    bus,
                    unit,
                });
            }
            "blockdev" => {
                let dict = self.json_or_keyval(arg, "driver", loc)?;
                let mode = if arg.starts_with('{') {
                    Mode::Json
                } else {
                    Mode::Keyval
                };
                // TODO(config): VmConfig has no block devices; -blockdev is checked and dropped.
                objects::visit_blockdev(&dict, mode).map_err(|e| at(loc, e))?;
            }
            "snapshot" => {}
            "usb" => put_str(&mut self.machine_dict, "usb", "on"),
            "display" => {
                if arg == "help" || arg == "?" {
                    return Err(info(help::display_help(), 0));
                }
                let (dict, mode) = if arg.starts_with('{') {
                    match json::parse(arg).map_err(|e| at(loc, e))? {
                        Value::Dict(d) => (d, Mode::Json),
                        _ => {
                            return Err(at(
                                loc,
                                ErrorKind::InvalidParameterType {
                                    name: "<anonymous>".into(),
                                    expected: "object".into(),
                                },
                            ))
                        }
                    }
                } else {
                    let (dict, _) =
                        keyval::parse(arg, Some("type"), false).map_err(|e| at(loc, e))?;
                    (dict, Mode::Keyval)
                };
                self.display = Some(objects::visit_display(&dict, mode).map_err(|e| at(loc, e))?);
            }
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
            "kernel" | "shim" | "append" | "initrd" | "dtb" => {
                put_str(&mut self.machine_dict, name, arg)
            }
            "serial" => {
                self.serials.push((arg.to_string(), loc.to_string()));
                self.user_serial = true;
                if arg.starts_with("mon:") {
                    self.user_monitor = true;
                }
            }
            "parallel" => {
                self.user_parallel = true;
                if arg.starts_with("mon:") {
                    self.user_monitor = true;
                }
                if arg != "none" {
                    // There is no parallel port in this VMM.
                    return Err(at(loc, ErrorKind::NotSupportedInBuild));
                }
            }
            "monitor" => {
                self.user_monitor = true;
                if !arg.starts_with("none") {
                    self.monitor_parse(arg, MonitorMode::Readline, false, loc)?;
                }
            }
            "qmp" | "qmp-pretty" => {
                self.monitor_parse(arg, MonitorMode::Control, name == "qmp-pretty", loc)?;
                self.user_monitor = true;
            }
            "mon" => {
                self.qemuopts(&MON_OPTS, Store::Mon, arg, true, loc)?;
                self.user_monitor = true;
            }
            "pidfile" => self.pidfile = Some(PathBuf::from(arg)),
            "S" => self.start_paused = true,
            "overcommit" => {
                let mut store = OptsStore::default();
                let parsed = qemuopts::parse(
                    &OVERCOMMIT_OPTS,
                    &mut store,
                    arg,
                    noisily(false),
                    loc,
                    &mut self.diags,
                )
                .map_err(|e| at(loc, e))?;
                let OptsParsed::Group(g) = parsed else {
                    return Err(info(qemuopts::help_text(&OVERCOMMIT_OPTS), 1));
                };
                match store.groups[g].get("mem-lock") {
                    None => {}
                    Some("off") => self.mem_lock = false,
                    // TODO(config): on-fault (MCL_ONFAULT) is recorded as plain mem-lock.
                    Some("on") | Some("on-fault") => self.mem_lock = true,
                    Some(_) => return Err(at(loc, ErrorKind::MemLockValue)),
                }
                // TODO(config): cpu-pm=on has no VmConfig field.
            }
            "enable-kvm" => put_str(&mut self.machine_dict, "accel", "kvm"),
            "xen-domid" => {}
            "no-reboot" => self.action("reboot", "shutdown", loc),
            "no-shutdown" => self.action("shutdown", "pause", loc),
            "action" => {
                let mut store = OptsStore::default();
                let parsed = qemuopts::parse(
                    &ACTION_OPTS,
                    &mut store,
                    arg,
                    noisily(false),
                    loc,
                    &mut self.diags,
                )
                .map_err(|e| at(loc, e))?;
                let OptsParsed::Group(g) = parsed else {
                    return Err(info(qemuopts::help_text(&ACTION_OPTS), 1));
                };
                for (k, v) in store.groups[g].items.clone() {
                    self.action(&k, &v, loc);
                }
            }
            "watchdog-action" => self.action("watchdog", arg, loc),
            "daemonize" => self.daemonize = true,
            "rtc" => self.qemuopts(&RTC_OPTS, Store::Rtc, arg, false, loc)?,
            "nodefaults" => self.no_defaults = true,
            "sandbox" => {
                let mut store = OptsStore::default();
                let parsed = qemuopts::parse(
                    &SANDBOX_OPTS,
                    &mut store,
                    arg,
                    noisily(true),
                    loc,
                    &mut self.diags,
                )
                .map_err(|e| at(loc, e))?;
                let OptsParsed::Group(g) = parsed else {
                    return Err(info(qemuopts::help_text(&SANDBOX_OPTS), 1));
                };
                // TODO(config): no seccomp sandbox; the options are checked and dropped.
                self.sandbox
                    .push((loc.to_string(), store.groups[g].clone()));
            }
            "no-user-config" => self.no_user_config = true,
            "msg" => {
                let mut store = OptsStore::default();
                let parsed = qemuopts::parse(
                    &MSG_OPTS,
                    &mut store,
                    arg,
                    noisily(false),
                    loc,
                    &mut self.diags,
                )
                .map_err(|e| at(loc, e))?;
                if let OptsParsed::Help = parsed {
                    return Err(info(qemuopts::help_text(&MSG_OPTS), 1));
                }
                // TODO(config): -msg timestamp/guest-name have no VmConfig field.
            }
            "object" => self.object(arg, loc)?,
            "global" => self.global(arg, loc)?,
            _ => return Err(at(loc, ErrorKind::NotSupportedInBuild)),
        }
        Ok(None)
    }

    fn action(&mut self, name: &str, value: &str, loc: &str) {
        self.actions.push(Located {
            location: loc.to_string(),
            name: name.to_string(),
            value: value.to_string(),
        });
    }

    /// A QemuOpts option parsed "noisily": help prints the list and exits 1.
    fn qemuopts(
        &mut self,
        list: &'static OptsList,
        which: Store,
        arg: &str,
        permit_abbrev: bool,
        loc: &str,
    ) -> Step {
        let store = match which {
            Store::Memory => &mut self.memory,
            Store::Name => &mut self.name,
            Store::Chardev => &mut self.chardev,
            Store::Mon => &mut self.mon,
            Store::Rtc => &mut self.rtc,
        };
        let before = store.groups.len();
        let parsed = qemuopts::parse(
            list,
            store,
            arg,
            noisily(permit_abbrev),
            loc,
            &mut self.diags,
        )
        .map_err(|e| at(loc, e))?;
        match parsed {
            OptsParsed::Help => Err(info(qemuopts::help_text(list), 1)),
            OptsParsed::Group(_) => {
                let created = store.groups.len() > before;
                match which {
                    Store::Chardev if created => self.chardev_locations.push(loc.to_string()),
                    Store::Mon if created => self.mon_locations.push(loc.to_string()),
                    _ => {}
                }
                Ok(())
            }
        }
    }

    /// `-smp`, `-boot`: keyval merged into the machine options (`machine_parse_property_opt()`).
    fn machine_property_opt(&mut self, arg: &str, implied: &str, prop: &str, loc: &str) -> Step {
        let (dict, help) = keyval::parse(arg, Some(implied), true).map_err(|e| at(loc, e))?;
        if help {
            let text = match prop {
                "smp" => smp_help(),
                _ => boot_help(),
            };
            return Err(info(text, 0));
        }
        keyval::merge(
            &mut self.machine_dict,
            vec![(prop.to_string(), Value::Dict(dict))],
            "",
        )
        .map_err(|e| at(loc, e))
    }

    /// `qobject_input_visitor_new_str()`: JSON if it starts with '{', else keyval.
    fn json_or_keyval(&self, arg: &str, implied: &str, loc: &str) -> Step<Vec<(String, Value)>> {
        if arg.starts_with('{') {
            match json::parse(arg).map_err(|e| at(loc, e))? {
                Value::Dict(d) => Ok(d),
                _ => Err(at(
                    loc,
                    ErrorKind::InvalidParameterType {
                        name: "<anonymous>".into(),
                        expected: "object".into(),
                    },
                )),
            }
        } else {
            keyval::parse(arg, Some(implied), false)
                .map(|(d, _)| d)
                .map_err(|e| at(loc, e))
        }
    }

    /// `monitor_parse()`: `-monitor`, `-qmp`, `-qmp-pretty`.
    fn monitor_parse(&mut self, arg: &str, mode: MonitorMode, pretty: bool, loc: &str) -> Step {
        let label = if let Some(id) = arg.strip_prefix("chardev:") {
            id.chars().take(31).collect::<String>()
        } else {
            let label = format!("compat_monitor{}", self.monitor_index);
            let opts = match chardev::parse_compat(&label, arg, true) {
                Ok(o) => o,
                Err(kind) => {
                    if let Some(k) = kind {
                        self.diags.push(Diagnostic::error(located(loc), &k));
                    }
                    return Err(at(
                        loc,
                        ErrorKind::MonitorParse {
                            text: arg.to_string(),
                        },
                    ));
                }
            };
            if self.chardev.find(Some(&label)).is_some() {
                self.diags.push(Diagnostic::error(
                    located(loc),
                    &ErrorKind::DuplicateId {
                        id: label.clone(),
                        list: "chardev".into(),
                    },
                ));
                return Err(at(
                    loc,
                    ErrorKind::MonitorParse {
                        text: arg.to_string(),
                    },
                ));
            }
            self.chardev.groups.push(opts);
            self.chardev_locations.push(loc.to_string());
            label
        };
        let index =
            qemuopts::create(&MON_OPTS, &mut self.mon, Some(&label)).map_err(|e| at(loc, e))?;
        let group = &mut self.mon.groups[index];
        group.set(
            "mode",
            match mode {
                MonitorMode::Control => "control",
                MonitorMode::Readline => "readline",
            },
        );
        group.set("chardev", &label);
        if mode == MonitorMode::Control {
            group.set("pretty", if pretty { "on" } else { "off" });
        }
        self.mon_locations.push(loc.to_string());
        self.monitor_index += 1;
        Ok(())
    }

    fn device(&mut self, arg: &str, loc: &str) -> Step {
        if arg.starts_with('{') {
            let Value::Dict(dict) = json::parse(arg).map_err(|e| at(loc, e))? else {
                return Err(at(
                    loc,
                    ErrorKind::InvalidParameterType {
                        name: "<anonymous>".into(),
                        expected: "object".into(),
                    },
                ));
            };
            let text = |k: &str| Value::get(&dict, k).and_then(Value::scalar_text);
            let props = dict
                .iter()
                .filter(|(k, _)| k != "driver" && k != "id")
                .map(|(k, v)| (k.clone(), v.scalar_text().unwrap_or_else(|| json_text(v))))
                .collect();
            self.devices.push(DeviceEntry {
                location: loc.to_string(),
                json: true,
                driver: text("driver"),
                id: text("id"),
                props,
            });
            return Ok(());
        }
        let parsed = qemuopts::parse(
            &DEVICE_OPTS,
            &mut self.device_store,
            arg,
            noisily(true),
            loc,
            &mut self.diags,
        )
        .map_err(|e| at(loc, e))?;
        let OptsParsed::Group(g) = parsed else {
            return Ok(());
        };
        let opts = self.device_store.groups[g].clone();
        if matches!(opts.get("driver"), Some("help") | Some("?")) || opts.has("help") {
            // TODO(devices): `-device help` lists nothing until the device model registry exists.
            return Err(info(String::new(), 0));
        }
        self.devices.push(DeviceEntry {
            location: loc.to_string(),
            json: false,
            driver: opts.get("driver").map(str::to_string),
            id: opts.id.clone(),
            props: opts
                .items
                .iter()
                .filter(|(k, _)| k != "driver")
                .cloned()
                .collect(),
        });
        Ok(())
    }

    /// `object_option_parse()`.
    fn object(&mut self, arg: &str, loc: &str) -> Step {
        let (dict, mode) = if arg.starts_with('{') {
            match json::parse(arg).map_err(|e| at(loc, e))? {
                Value::Dict(d) => (d, Mode::Json),
                other => {
                    // A JSON list or scalar is not an object: QEMU's visitor wants a string type.
                    let _ = other;
                    return Err(at(
                        loc,
                        ErrorKind::InvalidParameterType {
                            name: "<anonymous>".into(),
                            expected: "object".into(),
                        },
                    ));
                }
            }
        } else {
            let parsed = qemuopts::parse(
                &OBJECT_OPTS,
                &mut self.object_store,
                arg,
                noisily(true),
                loc,
                &mut self.diags,
            )
            .map_err(|e| at(loc, e))?;
            let OptsParsed::Group(g) = parsed else {
                return Ok(());
            };
            let opts = self.object_store.groups[g].clone();
            let Some(qom_type) = opts.get("qom-type") else {
                return Err(at(
                    loc,
                    ErrorKind::ParameterMissing {
                        name: "qom-type".into(),
                    },
                ));
            };
            if qom_type == "help" || qom_type == "?" {
                return Err(info(objects::list_help(), 0));
            }
            if opts.has("help") {
                if let Some(text) = objects::type_help(qom_type) {
                    return Err(info(text, 0));
                }
            }
            let mut d: Vec<(String, Value)> = Vec::new();
            if let Some(id) = &opts.id {
                d.push(("id".into(), Value::Str(id.clone())));
            }
            for (k, v) in &opts.items {
                match d.iter_mut().find(|(dk, _)| dk == k) {
                    Some((_, old)) => *old = Value::Str(v.clone()),
                    None => d.push((k.clone(), Value::Str(v.clone()))),
                }
            }
            (d, Mode::Opts)
        };
        let spec = objects::visit_object(&dict, mode).map_err(|e| at(loc, e))?;
        self.objects.push(ObjectEntry { spec });
        Ok(())
    }

    /// `qemu_global_option()`.
    fn global(&mut self, arg: &str, loc: &str) -> Step {
        // sscanf(str, "%63[^.=].%63[^=]%n", driver, property, &offset) == 2 && str[offset] == '='
        if let Some(dot) = arg.find(['.', '=']) {
            if arg.as_bytes()[dot] == b'.' && dot > 0 && dot <= 63 {
                let rest = &arg[dot + 1..];
                if let Some(eq) = rest.find('=') {
                    if eq > 0 && eq <= 63 {
                        let mut opts = Opts::default();
                        opts.set("driver", &arg[..dot]);
                        opts.set("property", &rest[..eq]);
                        opts.set("value", &rest[eq + 1..]);
                        self.global.groups.push(opts);
                        return Ok(());
                    }
                }
            }
        }
        let parsed = qemuopts::parse(
            &GLOBAL_OPTS,
            &mut self.global,
            arg,
            noisily(false),
            loc,
            &mut self.diags,
        )
        .map_err(|e| at(loc, e))?;
        let OptsParsed::Group(g) = parsed else {
            return Err(info(qemuopts::help_text(&GLOBAL_OPTS), 1));
        };
        let o = &self.global.groups[g];
        if !(o.has("driver") && o.has("property") && o.has("value")) {
            return Err(at(loc, ErrorKind::GlobalRequired));
        }
        Ok(())
    }

    /// Everything QEMU does after reading the command line, in its order.
    fn finish(&mut self) -> Step<VmConfig> {
        // qemu_validate_options()
        let kernel = dict_str(&self.machine_dict, "kernel");
        if kernel.is_none() {
            if dict_str(&self.machine_dict, "append").is_some() {
                return Err(plain(ErrorKind::AppendWithoutKernel));
            }
            if dict_str(&self.machine_dict, "shim").is_some() {
                return Err(plain(ErrorKind::ShimWithoutKernel));
            }
            if dict_str(&self.machine_dict, "initrd").is_some() {
                return Err(plain(ErrorKind::InitrdWithoutKernel));
            }
        }

        // qemu_process_early_options(): -sandbox, -action
        for (loc, opts) in &self.sandbox {
            check_sandbox(opts).map_err(|e| at(loc, e))?;
        }
        let mut no_reboot = false;
        let mut no_shutdown = false;
        for a in &self.actions {
            let allowed: &[&str] = match a.name.as_str() {
                "shutdown" => &["poweroff", "pause"],
                "reboot" => &["reset", "shutdown"],
                "panic" => &["pause", "shutdown", "exit-failure", "none"],
                _ => &[
                    "reset",
                    "shutdown",
                    "poweroff",
                    "inject-nmi",
                    "pause",
                    "debug",
                    "none",
                ],
            };
            if !allowed.contains(&a.value.as_str()) {
                return Err(at(
                    &a.location,
                    ErrorKind::DoesNotAcceptValue {
                        name: a.name.clone(),
                        value: a.value.clone(),
                    },
                ));
            }
            match a.name.as_str() {
                "reboot" => no_reboot = a.value == "shutdown",
                "shutdown" => no_shutdown = a.value == "pause",
                // TODO(config): panic and watchdog actions have no VmConfig field.
                _ => {}
            }
        }

        // qemu_process_help_options()
        if matches!(self.cpu_option.as_deref(), Some("help") | Some("?")) {
            return Err(info(help::cpu_list(), 0));
        }

        // configure_rtc()
        if let Some(rtc) = self.rtc.merged() {
            check_rtc(rtc).map_err(plain)?;
        }

        // parse_memory_options()
        self.memory_into_machine_dict()?;

        // qemu_create_machine(): select_machine()
        let machine = match Value::get(&self.machine_dict, "type") {
            Some(Value::Str(t)) => machine::find(t)
                .ok_or_else(|| plain(ErrorKind::UnsupportedMachine { name: t.clone() }))?,
            Some(_) => {
                return Err(plain(ErrorKind::InvalidParameterType {
                    name: "type".into(),
                    expected: "string".into(),
                }))
            }
            None => machine::default_machine(),
        };
        let type_given = dict_str(&self.machine_dict, "type");
        self.machine_dict.retain(|(k, _)| k != "type");

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
        if let Some(model) = self.vga.clone() {
            select_vga(&model).map_err(|e| match e {
                Ok(text) => info(text, 0),
                Err(kind) => plain(kind),
            })?;
        }

        // qemu_create_early_backends()
        if let Some(display) = &self.display {
            if display.window_close {
                self.diags
                    .push(Diagnostic::error(None, &ErrorKind::WindowCloseIgnored));
            }
            if display.gl {
                return Err(plain(ErrorKind::OpenGlUnsupported {
                    backend: "none".into(),
                }));
            }
        }
        for o in self.objects.iter().filter(|o| !o.spec.is_memory_backend()) {
            objects::check_creation(&o.spec).map_err(plain)?;
        }
        let mut seen_objects: Vec<String> = Vec::new();
        for o in self.objects.iter().filter(|o| !o.spec.is_memory_backend()) {
            if seen_objects.contains(&o.spec.id) {
                return Err(plain(ErrorKind::DuplicateObject {
                    id: o.spec.id.clone(),
                }));
            }
            seen_objects.push(o.spec.id.clone());
        }
        let mut chardevs: Vec<ChardevConfig> = Vec::new();
        let mut stdio_in_use = false;
        for (i, opts) in self.chardev.groups.iter().enumerate() {
            let loc = self.chardev_locations.get(i).cloned().unwrap_or_default();
            if matches!(opts.get("backend"), Some("help") | Some("?")) {
                return Err(info(chardev::help_text(), 0));
            }
            let chr = chardev::from_opts(opts, self.daemonize).map_err(|e| at(&loc, e))?;
            claim_stdio(&chr, &mut stdio_in_use).map_err(|e| at(&loc, e))?;
            chardevs.push(chr);
        }
        for drive in &self.drives {
            check_drive(drive).map_err(|e| at(&drive.location, e))?;
        }

        // qemu_apply_legacy_machine_options()
        dashify(&mut self.machine_dict).map_err(plain)?;
        let accel_machine = dict_str(&self.machine_dict, "accel");
        for k in ["accel", "igd-passthru", "kvm-shadow-mem", "kernel-irqchip"] {
            // TODO(config): kernel-irqchip/kvm-shadow-mem have no VmConfig field.
            self.machine_dict.retain(|(key, _)| key != k);
        }
        let have_custom_ram_size = matches!(
            Value::get(&self.machine_dict, "memory"),
            Some(Value::Dict(d)) if Value::get(d, "size").is_some()
        );

        // qemu_apply_machine_options(): properties in QDict order, with their setters' checks.
        let mut smp = machine::Topology {
            cpus: 1,
            drawers: 1,
            books: 1,
            sockets: 1,
            dies: 1,
            clusters: 1,
            modules: 1,
            cores: 1,
            threads: 1,
            maxcpus: 1,
        };
        let mut memory = machine::Memory {
            size: machine::DEFAULT_RAM_SIZE,
            maxmem: None,
            slots: None,
        };
        let mut props = Vec::new();
        for (key, v) in machine::qdict_order(self.machine_dict.clone()) {
            let one = vec![(key.clone(), v.clone())];
            let checked = machine::check_properties(&machine, &one).map_err(plain)?;
            match (key.as_str(), &v) {
                ("smp", Value::Dict(d)) => {
                    smp = machine::parse_smp(&machine, &machine::SmpRequest::from_dict(d))
                        .map_err(plain)?;
                }
                ("memory", Value::Dict(d)) => {
                    memory = machine::set_memory(d).map_err(plain)?;
                }
                ("boot", Value::Dict(d)) => {
                    for k in ["order", "once"] {
                        if let Some(Value::Str(devices)) = Value::get(d, k) {
                            validate_boot_devices(devices).map_err(plain)?;
                        }
                    }
                    props.extend(checked);
                }
                ("kernel" | "initrd" | "append", _) => {}
                _ => props.extend(checked),
            }
        }
        // Keep the user's order for the machine properties.
        let order: Vec<&String> = self.machine_dict.iter().map(|(k, _)| k).collect();
        props.sort_by_key(|(k, _)| {
            let base = k.split('.').next().unwrap_or(k);
            order.iter().position(|o| *o == base).unwrap_or(usize::MAX)
        });

        // configure_accelerators()
        self.configure_accelerators(accel_machine.as_deref())?;

        if machine.deprecated() {
            self.diags.push(Diagnostic::warning(
                None,
                format!(
                    "Machine type '{}' is deprecated: machines more than 3 years old are \
                     subject to deletion after 6 years",
                    machine.name
                ),
            ));
        }

        // qemu_create_late_backends(): memory backends, monitors, serial ports.
        for o in self.objects.iter().filter(|o| o.spec.is_memory_backend()) {
            objects::check_creation(&o.spec).map_err(plain)?;
            if seen_objects.contains(&o.spec.id) {
                return Err(plain(ErrorKind::DuplicateObject {
                    id: o.spec.id.clone(),
                }));
            }
            seen_objects.push(o.spec.id.clone());
        }
        let mut frontends = Frontends::default();
        let mut monitors = self.monitors(&chardevs, &mut frontends)?;
        let isa_serial_off = machine.family == Family::Microvm
            && matches!(
                Value::get(&self.machine_dict, "isa-serial"),
                Some(Value::Str(v)) if value::parse_bool(v) == Some(false)
            );
        let serial_ports = if isa_serial_off {
            0
        } else {
            machine.serial_ports()
        };
        let serial_ids = self.serial_ports(
            &mut chardevs,
            &mut monitors,
            &mut stdio_in_use,
            &mut frontends,
            serial_ports,
        )?;

        // CPU model (parse_cpu_option())
        let cpu_model = match &self.cpu_option {
            None => None,
            Some(opt) => {
                let model = opt.split(',').next().unwrap_or("");
                if model.is_empty() {
                    return Err(plain(ErrorKind::EmptyCpuOption));
                }
                if !help::cpu_model_known(model) {
                    return Err(plain(ErrorKind::UnknownCpuModel {
                        model: model.to_string(),
                    }));
                }
                // TODO(config): CPU features after the model (",+x,pmu=off") are not kept.
                Some(model.to_string())
            }
        };

        // qemu_resolve_machine_memdev()
        if let Some(Value::Str(id)) = Value::get(&self.machine_dict, "memory-backend") {
            let backend = self
                .objects
                .iter()
                .find(|o| o.spec.id == *id && o.spec.is_memory_backend())
                .ok_or_else(|| plain(ErrorKind::MemoryBackendNotFound { id: id.clone() }))?;
            let backend_size = backend
                .spec
                .props
                .iter()
                .find(|(k, _)| k == "size")
                .and_then(|(_, v)| v.parse::<u64>().ok())
                .unwrap_or(0);
            if !have_custom_ram_size {
                memory.size = backend_size;
            } else if backend_size != memory.size {
                return Err(plain(ErrorKind::MemorySizeMismatch));
            }
        }

        // Board initialisation (pc_memory_init())
        machine::check_board_memory(&machine, &memory).map_err(plain)?;

        // qemu_create_cli_devices()
        let devices = self.check_devices()?;

        // The configuration.
        let serials: Vec<Option<String>> = serial_ids.into_iter().take(serial_ports).collect();
        let name = self.name.merged().cloned().unwrap_or_default();
        let kernel = dict_str(&self.machine_dict, "kernel");
        Ok(VmConfig {
            memory: MemoryConfig {
                size: memory.size,
                slots: memory.slots,
                maxmem: memory.maxmem,
            },
            smp: SmpConfig {
                cpus: smp.cpus,
                sockets: smp.sockets,
                dies: smp.dies,
                // TODO(config): SmpConfig has no `modules`; cores are per module.
                cores: smp.cores,
                threads: smp.threads,
                maxcpus: smp.maxcpus,
            },
            machine: MachineConfig {
                type_name: type_given.unwrap_or_else(|| "pc".to_string()),
                props,
            },
            cpu_model,
            kernel: kernel.map(PathBuf::from),
            initrd: dict_str(&self.machine_dict, "initrd").map(PathBuf::from),
            append: dict_str(&self.machine_dict, "append"),
            name: NameConfig {
                guest: name.get("guest").map(str::to_string),
                process: name.get("process").map(str::to_string),
                debug_threads: name.get_bool("debug-threads", false),
            },
            uuid: self.uuid.clone(),
            start_paused: self.start_paused,
            no_reboot,
            no_shutdown,
            nographic: self.nographic,
            display_none: self.display.is_some(),
            nodefaults: self.no_defaults,
            no_user_config: self.no_user_config,
            pidfile: self.pidfile.clone(),
            daemonize: self.daemonize,
            mem_prealloc: self.mem_prealloc,
            mem_lock: self.mem_lock,
            chardevs,
            serials,
            monitors,
            devices,
            objects: self
                .objects
                .iter()
                .map(|o| ObjectConfig {
                    qom_type: o.spec.qom_type.clone(),
                    id: o.spec.id.clone(),
                    props: o.spec.props.clone(),
                })
                .collect(),
        })
    }

    /// `parse_memory_options()`: `-m` into the machine's `memory` property, with the legacy
    /// rule that a size without suffix is in MiB.
    fn memory_into_machine_dict(&mut self) -> Step {
        let opts = self.memory.merged().cloned().unwrap_or_default();
        let mut prop: Vec<(String, Value)> = Vec::new();
        if opts.get_size("size", 0) != 0 {
            let s = opts.get("size").unwrap_or("");
            let v = if s.ends_with(|c: char| c.is_ascii_digit()) {
                format!("{s}M")
            } else {
                s.to_string()
            };
            prop.push(("size".into(), Value::Str(v)));
        }
        if let Some(m) = opts.get("maxmem") {
            prop.push(("max-size".into(), Value::Str(m.to_string())));
        }
        if let Some(s) = opts.get("slots") {
            prop.push(("slots".into(), Value::Str(s.to_string())));
        }
        keyval::merge(
            &mut self.machine_dict,
            vec![("memory".into(), Value::Dict(prop))],
            "",
        )
        .map_err(plain)
    }

    /// `configure_accelerators()`: KVM is the only accelerator of this VMM.
    fn configure_accelerators(&mut self, machine_accel: Option<&str>) -> Step {
        // (location, accel name, properties)
        let mut candidates: Vec<(Option<String>, Opts)> = Vec::new();
        let mut init_failed = false;
        let mut last_failure: Option<(Option<String>, String)> = None;
        if self.accel.groups.is_empty() {
            let list = machine_accel.unwrap_or("kvm");
            if !list.is_empty() {
                for name in list.split(':') {
                    if name == "kvm" {
                        let mut o = Opts::default();
                        o.set("accel", "kvm");
                        candidates.push((None, o));
                    } else {
                        init_failed = true;
                        last_failure = Some((None, name.to_string()));
                        self.diags.push(Diagnostic::error(
                            None,
                            &ErrorKind::InvalidAccelerator {
                                name: name.to_string(),
                            },
                        ));
                    }
                }
            }
        } else {
            if machine_accel.is_some() {
                return Err(plain(ErrorKind::AccelOptionsIncompatible));
            }
            for (i, g) in self.accel.groups.iter().enumerate() {
                candidates.push((self.accel_locations.get(i).cloned(), g.clone()));
            }
        }
        for (loc, opts) in candidates {
            let name = opts.get("accel").unwrap_or("");
            if name != "kvm" {
                init_failed = true;
                last_failure = Some((loc.clone(), name.to_string()));
                self.diags.push(Diagnostic::error(
                    loc.as_deref(),
                    &ErrorKind::InvalidAccelerator {
                        name: name.to_string(),
                    },
                ));
                continue;
            }
            for (k, v) in &opts.items {
                if k == "accel" {
                    continue;
                }
                check_kvm_accel_property(k, v).map_err(|e| match &loc {
                    Some(l) => at(l, e),
                    None => plain(e),
                })?;
            }
            if init_failed {
                self.diags.push(Diagnostic::error(
                    None,
                    &ErrorKind::FallingBack { name: "KVM".into() },
                ));
            }
            return Ok(());
        }
        if !init_failed {
            return Err(plain(ErrorKind::NoAcceleratorFound));
        }
        // QEMU exits after the messages it printed: the last one is the error.
        let (loc, name) = last_failure.unwrap_or_default();
        self.diags.pop();
        let kind = ErrorKind::InvalidAccelerator { name };
        Err(match loc {
            Some(l) => at(&l, kind),
            None => plain(kind),
        })
    }

    /// `mon_init_func()` for every `-mon`, `-qmp`, `-monitor`.
    fn monitors(
        &self,
        chardevs: &[ChardevConfig],
        frontends: &mut Frontends,
    ) -> Step<Vec<MonitorConfig>> {
        let mut out = Vec::new();
        for (i, opts) in self.mon.groups.iter().enumerate() {
            let loc = self.mon_locations.get(i).cloned().unwrap_or_default();
            let mode = match opts.get("mode") {
                None | Some("readline") => MonitorMode::Readline,
                Some("control") => MonitorMode::Control,
                Some(other) => {
                    return Err(at(
                        &loc,
                        ErrorKind::DoesNotAcceptValue {
                            name: "mode".into(),
                            value: other.to_string(),
                        },
                    ))
                }
            };
            let Some(chardev) = opts.get("chardev") else {
                return Err(at(
                    &loc,
                    ErrorKind::ParameterMissing {
                        name: "chardev".into(),
                    },
                ));
            };
            if !chardevs.iter().any(|c| c.id == chardev) {
                return Err(at(
                    &loc,
                    ErrorKind::ChardevNotFound {
                        id: chardev.to_string(),
                    },
                ));
            }
            let pretty = opts.get_bool("pretty", false);
            if mode == MonitorMode::Readline && pretty {
                return Err(at(&loc, ErrorKind::PrettyWithHmp));
            }
            frontends
                .attach(chardevs, chardev)
                .map_err(|e| at(&loc, e))?;
            out.push(MonitorConfig {
                id: opts.id.clone(),
                chardev: chardev.to_string(),
                mode,
                pretty,
            });
        }
        Ok(out)
    }

    /// `serial_parse()` for every serial port; returns the chardev of each port index.
    fn serial_ports(
        &mut self,
        chardevs: &mut Vec<ChardevConfig>,
        monitors: &mut Vec<MonitorConfig>,
        stdio_in_use: &mut bool,
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
                if !chardevs.iter().any(|c| c.id == id) {
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
            if chardevs.iter().any(|c| c.id == label) {
                let k = ErrorKind::DuplicateId {
                    id: label,
                    list: "chardev".into(),
                };
                return Err(fail(self, Some(k)));
            }
            let chr = match chardev::from_opts(&opts, self.daemonize) {
                Ok(c) => c,
                Err(k) => return Err(fail(self, Some(k))),
            };
            if let Err(k) = claim_stdio(&chr, stdio_in_use) {
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
            chardevs.push(chr);
            ports.push(Some(label));
        }
        // The board's serial devices take the chardevs of the ports it has (isa-serial realize).
        for id in ports.iter().take(ports_on_board).flatten() {
            frontends.attach(chardevs, id).map_err(plain)?;
        }
        Ok(ports)
    }

    /// Device checks QEMU makes when it creates them.
    fn check_devices(&self) -> Step<Vec<DeviceConfig>> {
        let mut out: Vec<DeviceConfig> = Vec::new();
        let mut ids: Vec<String> = Vec::new();
        // QemuOpts devices first, then JSON ones (qemu_create_cli_devices()).
        for json in [false, true] {
            for d in self.devices.iter().filter(|d| d.json == json) {
                let Some(driver) = d.driver.clone() else {
                    return Err(at(
                        &d.location,
                        ErrorKind::ParameterMissing {
                            name: "driver".into(),
                        },
                    ));
                };
                if let Some(id) = &d.id {
                    if json && ids.contains(id) {
                        return Err(at(
                            &d.location,
                            ErrorKind::DuplicateDeviceId { id: id.clone() },
                        ));
                    }
                    if json && !qemuopts::id_wellformed(id) {
                        return Err(at(&d.location, ErrorKind::IdExpected));
                    }
                    ids.push(id.clone());
                }
                out.push(DeviceConfig {
                    driver,
                    id: d.id.clone(),
                    props: d.props.clone(),
                });
            }
        }
        Ok(out)
    }
}

/// How many frontends (monitors, serial ports) use each chardev (`qemu_chr_fe_init()`).
#[derive(Default)]
struct Frontends {
    uses: Vec<(String, usize)>,
}

impl Frontends {
    fn attach(&mut self, chardevs: &[ChardevConfig], id: &str) -> Result<(), ErrorKind> {
        let mux = chardevs.iter().any(|c| c.id == id && c.mux);
        let uses = match self.uses.iter_mut().find(|(k, _)| k == id) {
            Some((_, n)) => n,
            None => {
                self.uses.push((id.to_string(), 0));
                &mut self.uses.last_mut().expect("just pushed").1
            }
        };
        if mux && *uses >= 4 {
            return Err(ErrorKind::MuxFull { id: id.to_string() });
        }
        if !mux && *uses >= 1 {
            return Err(ErrorKind::ChardevInUse { id: id.to_string() });
        }
        *uses += 1;
        Ok(())
    }
}

/// Only one chardev may use stdio (`qemu_chr_open_stdio()`).
fn claim_stdio(chr: &ChardevConfig, in_use: &mut bool) -> Result<(), ErrorKind> {
    if chr.backend == crate::config::ChardevBackend::Stdio {
        if *in_use {
            return Err(ErrorKind::StdioInUse);
        }
        *in_use = true;
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Store {
    Memory,
    Name,
    Chardev,
    Mon,
    Rtc,
}

/// Finds an option by its command line spelling (`-m`, `--m`).
fn lookup(arg: &str) -> Option<&'static table::OptionDef> {
    let name = arg.strip_prefix('-')?;
    let name = name.strip_prefix('-').unwrap_or(name);
    table::lookup(name)
}

fn dict_str(dict: &[(String, Value)], key: &str) -> Option<String> {
    match Value::get(dict, key) {
        Some(Value::Str(s)) => Some(s.clone()),
        _ => None,
    }
}

fn put_str(dict: &mut Vec<(String, Value)>, key: &str, value: &str) {
    match dict.iter_mut().find(|(k, _)| k == key) {
        Some((_, v)) => *v = Value::Str(value.to_string()),
        None => dict.push((key.to_string(), Value::Str(value.to_string()))),
    }
}

fn json_text(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::List(l) => format!(
            "[{}]",
            l.iter().map(json_text).collect::<Vec<_>>().join(",")
        ),
        Value::Dict(d) => format!(
            "{{{}}}",
            d.iter()
                .map(|(k, v)| format!("{k:?}:{}", json_text(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => other.scalar_text().unwrap_or_default(),
    }
}

/// `keyval_dashify()` on the machine options: `kernel_irqchip` is `kernel-irqchip`.
fn dashify(dict: &mut [(String, Value)]) -> Result<(), ErrorKind> {
    let keys: Vec<String> = dict.iter().map(|(k, _)| k.clone()).collect();
    for (k, _) in dict.iter_mut() {
        if k.contains('_') {
            let new = k.replace('_', "-");
            if keys.contains(&new) {
                return Err(ErrorKind::DashifyConflict {
                    old: k.clone(),
                    new,
                });
            }
            *k = new;
        }
    }
    Ok(())
}

/// `qemu_uuid_parse()`: `%08x-%04x-%04x-%04x-%012x`, returned in lower case.
fn parse_uuid(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() != 36 {
        return None;
    }
    for (i, &c) in b.iter().enumerate() {
        let ok = if matches!(i, 8 | 13 | 18 | 23) {
            c == b'-'
        } else {
            c.is_ascii_hexdigit()
        };
        if !ok {
            return None;
        }
    }
    Some(s.to_ascii_lowercase())
}

fn smp_help() -> String {
    let mut s = String::from("smp-opts options:\n");
    for n in [
        "books", "clusters", "cores", "cpus", "dies", "drawers", "maxcpus", "modules", "sockets",
        "threads",
    ] {
        s.push_str(&format!("  {n}=<num>\n"));
    }
    s
}

fn boot_help() -> String {
    "boot-opts options:\n  menu=<bool (on/off)>\n  once=<str>\n  order=<str>\n  \
     reboot-timeout=<num>\n  splash-time=<num>\n  splash=<str>\n  strict=<bool (on/off)>\n"
        .to_string()
}

/// `validate_bootdevices()`: drive letters a-p, each once.
fn validate_boot_devices(devices: &str) -> Result<(), ErrorKind> {
    let mut seen = 0u32;
    for c in devices.chars() {
        if !('a'..='p').contains(&c) {
            return Err(ErrorKind::InvalidBootDevice { device: c });
        }
        let bit = 1u32 << (c as u32 - 'a' as u32);
        if seen & bit != 0 {
            return Err(ErrorKind::BootDeviceTwice { device: c });
        }
        seen |= bit;
    }
    Ok(())
}

/// `parse_sandbox()`.
fn check_sandbox(opts: &Opts) -> Result<(), ErrorKind> {
    if !opts.get_bool("enable", false) {
        return Ok(());
    }
    for (name, allowed) in [
        ("obsolete", &["allow", "deny"][..]),
        ("elevateprivileges", &["allow", "deny", "children"][..]),
        ("spawn", &["allow", "deny"][..]),
        ("resourcecontrol", &["allow", "deny"][..]),
    ] {
        if let Some(v) = opts.get(name) {
            if !allowed.contains(&v) {
                return Err(ErrorKind::SandboxInvalidArgument {
                    name: name.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// `configure_rtc()`.
fn check_rtc(opts: &Opts) -> Result<(), ErrorKind> {
    // TODO(config): the RTC base/clock/driftfix have no VmConfig field.
    if let Some(base) = opts.get("base") {
        if base != "utc" && base != "localtime" && !is_rtc_datetime(base) {
            return Err(ErrorKind::RtcDatetimeFormat);
        }
    }
    if let Some(clock) = opts.get("clock") {
        if !matches!(clock, "host" | "rt" | "vm") {
            return Err(ErrorKind::RtcOptionValue {
                value: clock.to_string(),
            });
        }
    }
    if let Some(d) = opts.get("driftfix") {
        if !matches!(d, "slew" | "none") {
            return Err(ErrorKind::RtcOptionValue {
                value: d.to_string(),
            });
        }
    }
    Ok(())
}

/// `%d-%d-%dT%d:%d:%d` or `%d-%d-%d` as `sscanf` reads them: a date is enough (the time and
/// anything after are optional for the second form).
fn is_rtc_datetime(s: &str) -> bool {
    fn number(s: &str) -> Option<&str> {
        let t = s.trim_start();
        let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
        let n = digits.bytes().take_while(u8::is_ascii_digit).count();
        (n > 0).then(|| &digits[n..])
    }
    (|| {
        let r = number(s)?;
        let r = number(r.strip_prefix('-')?)?;
        number(r.strip_prefix('-')?)
    })()
    .is_some()
}

/// `select_vgahw()`: only `none` exists here. `Err(Ok(text))` is a listing.
fn select_vga(model: &str) -> Result<(), Result<String, ErrorKind>> {
    if model == "help" {
        return Err(Ok(help::vga_help()));
    }
    const KNOWN: &[(&str, &str)] = &[
        ("none", ""),
        ("std", "standard VGA"),
        ("cirrus", "Cirrus VGA"),
        ("vmware", "VMWare SVGA"),
        ("virtio", "Virtio VGA"),
        ("qxl", "QXL VGA"),
        ("tcx", "TCX framebuffer"),
        ("cg3", "CG3 framebuffer"),
    ];
    for (name, desc) in KNOWN {
        if let Some(rest) = model.strip_prefix(name) {
            if *name != "none" {
                return Err(Err(ErrorKind::VgaNotAvailable { name: desc }));
            }
            if rest.is_empty() {
                return Ok(());
            }
            // ",retrace=dumb|precise" is the only suffix QEMU knows.
            let mut r = rest;
            while !r.is_empty() {
                let Some(v) = r.strip_prefix(",retrace=") else {
                    return Err(Err(ErrorKind::UnknownVga {
                        name: model.to_string(),
                    }));
                };
                r = if let Some(x) = v.strip_prefix("dumb") {
                    x
                } else if let Some(x) = v.strip_prefix("precise") {
                    x
                } else {
                    return Err(Err(ErrorKind::UnknownVga {
                        name: model.to_string(),
                    }));
                };
            }
            return Ok(());
        }
    }
    Err(Err(ErrorKind::UnknownVga {
        name: model.to_string(),
    }))
}

/// A disk image: QEMU opens the file first, then finds no controller for it.
fn check_drive(drive: &Drive) -> Result<(), ErrorKind> {
    if !drive.file.is_empty() {
        match std::fs::metadata(&drive.file) {
            Err(e) => {
                return Err(ErrorKind::CouldNotOpen {
                    path: drive.file.clone(),
                    reason: io_reason(&e),
                })
            }
            Ok(m) if m.is_dir() => {
                return Err(ErrorKind::NotRegularFile {
                    path: drive.file.clone(),
                })
            }
            Ok(_) => {}
        }
    }
    Err(ErrorKind::NoDiskInterface {
        interface: drive.interface,
        bus: drive.bus,
        unit: drive.unit,
    })
}

/// `strerror()` text of an I/O error.
fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    // Rust appends " (os error N)".
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// The `kvm-accel` properties (`-accel kvm,...`), with the string visitor's messages.
fn check_kvm_accel_property(name: &str, value: &str) -> Result<(), ErrorKind> {
    let expects = |what: &str| ErrorKind::ParameterExpects {
        name: name.to_string(),
        expected: what.to_string(),
    };
    let uint = |max: u64, ty: &str| -> Result<(), ErrorKind> {
        let v = strtox::strtou64(value, 0).map_err(|_| expects("uint64"))?;
        if v > max {
            return Err(expects(ty));
        }
        Ok(())
    };
    match name {
        "kernel-irqchip" => match value {
            "on" | "off" | "split" => Ok(()),
            _ => Err(ErrorKind::DoesNotAcceptValue {
                name: name.into(),
                value: value.into(),
            }),
        },
        "notify-vmexit" => match value {
            "run" | "internal-error" | "disable" => Ok(()),
            _ => Err(ErrorKind::DoesNotAcceptValue {
                name: name.into(),
                value: value.into(),
            }),
        },
        "kvm-shadow-mem" => strtox::strtoi64(value, 0)
            .map(|_| ())
            .map_err(|_| expects("int64")),
        "dirty-ring-size" | "notify-window" | "xen-version" => uint(u32::MAX as u64, "uint32_t"),
        "xen-gnttab-max-frames" | "xen-evtchn-max-pirq" => uint(u16::MAX as u64, "uint16_t"),
        "rapl" => value::parse_bool(value)
            .map(|_| ())
            .ok_or_else(|| expects("'on' or 'off'")),
        "device" | "rapl-helper-socket" => Ok(()),
        _ => Err(ErrorKind::PropertyNotFound {
            type_name: "kvm-accel".into(),
            name: name.to_string(),
        }),
    }
}
