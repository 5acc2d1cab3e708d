//! The machine options: `-machine` (keyval, `help` lists the machines or a machine's
//! properties), options merged into them (`machine_parse_property_opt()` for `-smp` and
//! `-boot`), and what QEMU does with them once the command line is read: the machine type
//! (`select_machine()`), the legacy options taken out (`qemu_apply_legacy_machine_options()`),
//! the properties set with their setters' checks (`qemu_apply_machine_options()`), and the
//! warning for a deprecated machine type.

use crate::options::error::{Diagnostic, ErrorKind};
use crate::options::keyval;
use crate::options::machine::{self, MachineType};
use crate::options::value::Value;

use super::kernel_boot::validate_boot_devices;
use super::report::{at, info, plain, Step};
use super::Parser;

/// The string at `key` of a dictionary.
pub(super) fn dict_str(dict: &[(String, Value)], key: &str) -> Option<String> {
    match Value::get(dict, key) {
        Some(Value::Str(s)) => Some(s.clone()),
        _ => None,
    }
}

/// Sets `key` of a dictionary to a string, in place if it is there.
pub(super) fn put_str(dict: &mut Vec<(String, Value)>, key: &str, value: &str) {
    match dict.iter_mut().find(|(k, _)| k == key) {
        Some((_, v)) => *v = Value::Str(value.to_string()),
        None => dict.push((key.to_string(), Value::Str(value.to_string()))),
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

/// What `qemu_apply_legacy_machine_options()` took out of the machine options.
pub(super) struct LegacyOptions {
    /// `-machine accel=` (and `-enable-kvm`).
    pub(super) accel: Option<String>,
    /// Whether the memory size was given (`-m` or `-machine memory.size=`).
    pub(super) custom_ram_size: bool,
}

/// The machine's settings after `qemu_apply_machine_options()`.
pub(super) struct MachineSettings {
    pub(super) smp: machine::Topology,
    pub(super) memory: machine::Memory,
    /// The other properties, flattened, in the user's order.
    pub(super) props: Vec<(String, String)>,
}

impl Parser {
    /// `-machine`, `-M`: keyval with `type` implied; `help` lists machines or properties.
    pub(super) fn machine_option(&mut self, arg: &str, loc: &str) -> Step {
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
        Ok(())
    }

    /// An option merged into the machine options as property `prop`
    /// (`machine_parse_property_opt()`): keyval with `implied`; `help` prints `help()`.
    pub(super) fn machine_property_opt(
        &mut self,
        arg: &str,
        implied: &str,
        prop: &str,
        help: fn() -> String,
        loc: &str,
    ) -> Step {
        let (dict, wants_help) = keyval::parse(arg, Some(implied), true).map_err(|e| at(loc, e))?;
        if wants_help {
            return Err(info(help(), 0));
        }
        keyval::merge(
            &mut self.machine_dict,
            vec![(prop.to_string(), Value::Dict(dict))],
            "",
        )
        .map_err(|e| at(loc, e))
    }

    /// `select_machine()`: the machine type and the name it was given by; `type` leaves the
    /// machine options.
    pub(super) fn select_machine(&mut self) -> Step<(MachineType, Option<String>)> {
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
        Ok((machine, type_given))
    }

    /// `qemu_apply_legacy_machine_options()`.
    pub(super) fn apply_legacy_machine_options(&mut self) -> Step<LegacyOptions> {
        dashify(&mut self.machine_dict).map_err(plain)?;
        let accel = dict_str(&self.machine_dict, "accel");
        for k in ["accel", "igd-passthru", "kvm-shadow-mem", "kernel-irqchip"] {
            // TODO(config): kernel-irqchip/kvm-shadow-mem have no VmConfig field.
            self.machine_dict.retain(|(key, _)| key != k);
        }
        let custom_ram_size = matches!(
            Value::get(&self.machine_dict, "memory"),
            Some(Value::Dict(d)) if Value::get(d, "size").is_some()
        );
        Ok(LegacyOptions {
            accel,
            custom_ram_size,
        })
    }

    /// `qemu_apply_machine_options()`: properties in QDict order, with their setters' checks.
    pub(super) fn apply_machine_options(&self, machine: &MachineType) -> Step<MachineSettings> {
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
            size: machine.default_ram_size(),
            maxmem: None,
            slots: None,
        };
        let mut props = Vec::new();
        for (key, v) in machine::qdict_order(self.machine_dict.clone()) {
            let one = vec![(key.clone(), v.clone())];
            let checked = machine::check_properties(machine, &one).map_err(plain)?;
            match (key.as_str(), &v) {
                ("smp", Value::Dict(d)) => {
                    smp = machine::parse_smp(machine, &machine::SmpRequest::from_dict(d))
                        .map_err(plain)?;
                }
                ("memory", Value::Dict(d)) => {
                    memory = machine::set_memory(d, machine.default_ram_size()).map_err(plain)?;
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
        Ok(MachineSettings { smp, memory, props })
    }

    /// The warning QEMU prints for a deprecated machine type.
    pub(super) fn warn_if_deprecated(&mut self, machine: &MachineType) {
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
    }
}
