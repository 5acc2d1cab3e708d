//! `/machine`: the machine object, with the properties QEMU 10.0.2 lists for the board and the
//! values this machine's configuration and state give them.

use std::any::Any;
use std::time::UNIX_EPOCH;

use serde_json::{json, Map, Value};

use super::context::QomContext;
use super::data::machine_lists;
use super::error::QomError;
use super::machine_types::Board;
use super::object::{PropInfo, QomObject};
use super::value::{read, read_enum, Props, Written, ON_OFF_AUTO};
use crate::config::{SmpConfig, VmConfig};

/// Link properties: (name, writable). Their targets are kept apart from other values.
const LINKS: &[(&str, bool)] = &[
    ("memory-backend", true),
    ("confidential-guest-support", true),
    ("acpi-device", true),
    ("smram", false),
];

pub struct MachineObject {
    type_name: String,
    board: Board,
    ram_size: u64,
    maxmem: Option<u64>,
    slots: Option<u64>,
    smp: SmpConfig,
    kernel: String,
    initrd: String,
    append: String,
    /// `-machine` properties as given (`usb=on`, `boot.strict=on`, …).
    props: Vec<(String, String)>,
    memory_backend: Option<String>,
    acpi_device: Option<String>,
    written: Written,
}

impl MachineObject {
    /// The machine for `config`; `memory_backend` is the path of its RAM backend object.
    pub fn new(
        config: &VmConfig,
        name: &str,
        board: Board,
        memory_backend: Option<String>,
    ) -> Self {
        let path = |p: &Option<std::path::PathBuf>| {
            p.as_ref()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        MachineObject {
            type_name: format!("{name}-machine"),
            board,
            ram_size: config.memory.size,
            maxmem: config.memory.maxmem,
            slots: config.memory.slots,
            smp: config.smp,
            kernel: path(&config.kernel),
            initrd: path(&config.initrd),
            append: config.append.clone().unwrap_or_default(),
            props: config.machine.props.clone(),
            memory_backend,
            acpi_device: None,
            written: Written::default(),
        }
    }

    fn list(&self) -> &'static [(&'static str, &'static str)] {
        match self.board {
            Board::I440fx => machine_lists::PC,
            Board::Q35 => machine_lists::Q35,
            Board::Microvm => machine_lists::MICROVM,
            Board::None => machine_lists::NONE,
        }
    }

    fn pc(&self) -> bool {
        matches!(self.board, Board::I440fx | Board::Q35)
    }

    fn link_target(&self, name: &str) -> Option<String> {
        match name {
            "memory-backend" => self.memory_backend.clone(),
            "acpi-device" => self.acpi_device.clone(),
            _ => None,
        }
    }

    /// A property's value from the configuration, or QEMU's default for this board.
    fn configured(&self, name: &str, ctx: &dyn QomContext) -> Option<Value> {
        let props = Props(&self.props);
        let string = |default: &str| Value::from(props.str(name).unwrap_or(default));
        let boolean = |default: bool| Value::from(props.bool(name).unwrap_or(default));
        let on_off_auto = || string("auto");
        Some(match name {
            "kernel" => Value::from(self.kernel.as_str()),
            "initrd" => Value::from(self.initrd.as_str()),
            "append" => Value::from(self.append.as_str()),
            "dt-compatible" | "dtb" | "dumpdtb" | "shim" | "memory-encryption"
            | "nvdimm-persistence" | "pcspk-audiodev" => string(""),
            "firmware" => string(if self.pc() { "bios-256k.bin" } else { "" }),
            "boot" => self.boot(),
            "memory" => self.memory(ctx),
            "smp" => self.smp(),
            "smp-cache" => Value::Array(
                ["l1d", "l1i", "l2", "l3"]
                    .iter()
                    .map(|c| json!({"cache": c, "topology": "default"}))
                    .collect(),
            ),
            "aux-ram-share"
            | "suppress-vmdesc"
            | "default-bus-bypass-iommu"
            | "nvdimm"
            | "cxl"
            | "hmat" => boolean(false),
            "graphics"
            | "dump-guest-core"
            | "mem-merge"
            | "sata"
            | "i8042"
            | "hpet"
            | "fd-bootchk"
            | "smbus"
            | "auto-kernel-cmdline"
            | "x-option-roms"
            | "isa-serial" => boolean(true),
            "usb" => boolean(false),
            "phandle-start" => Value::from(props.i64(name).unwrap_or(0)),
            "smm" | "acpi" | "pit" | "pic" | "ioapic2" | "rtc" | "pcie" => on_off_auto(),
            // With KVM, QEMU resolves vmport=auto to on.
            "vmport" => string("on"),
            "x-oem-table-id" => string("BXPC    "),
            "x-oem-id" => string("BOCHS "),
            "bus-lock-ratelimit" => Value::from(props.u64(name).unwrap_or(0)),
            "sgx-epc" | "cxl-fmw" => Value::Array(Vec::new()),
            "max-fw-size" => Value::from(props.u64(name).unwrap_or(8 << 20)),
            "max-ram-below-4g" => {
                Value::from(props.u64(name).unwrap_or(if self.board == Board::Q35 {
                    4 << 30
                } else {
                    0xe000_0000
                }))
            }
            "smbios-entry-point-type" => string("auto"),
            "x-south-bridge" => Value::from("PIIX3"),
            "rtc-time" => rtc_time(ctx),
            _ => return None,
        })
    }

    fn boot(&self) -> Value {
        let props = Props(&self.props);
        let mut m = Map::new();
        // BootConfiguration's members in schema order; pc boards default the order to "cad".
        let order = props.str("boot.order").or(self.pc().then_some("cad"));
        if let Some(order) = order {
            m.insert("order".into(), Value::from(order));
        }
        for key in [
            "once",
            "menu",
            "splash",
            "splash-time",
            "reboot-timeout",
            "strict",
        ] {
            let full = format!("boot.{key}");
            let Some(text) = props.str(&full) else {
                continue;
            };
            let v = match key {
                "menu" | "strict" => props.bool(&full).map(Value::from),
                "splash-time" | "reboot-timeout" => props.i64(&full).map(Value::from),
                _ => Some(Value::from(text)),
            };
            if let Some(v) = v {
                m.insert(key.into(), v);
            }
        }
        Value::Object(m)
    }

    fn memory(&self, ctx: &dyn QomContext) -> Value {
        let mut m = Map::new();
        m.insert(
            "size".into(),
            Value::from(ctx.ram_size().unwrap_or(self.ram_size)),
        );
        if let Some(max) = self.maxmem {
            m.insert("max-size".into(), Value::from(max));
            m.insert("slots".into(), Value::from(self.slots.unwrap_or(0)));
        }
        Value::Object(m)
    }

    fn smp(&self) -> Value {
        let s = &self.smp;
        // SMPConfiguration's members in schema order; this VMM has no drawers, books,
        // clusters or modules.
        json!({
            "cpus": s.cpus,
            "drawers": 1,
            "books": 1,
            "sockets": s.sockets,
            "dies": s.dies,
            "clusters": 1,
            "modules": 1,
            "cores": s.cores,
            "threads": s.threads,
            "maxcpus": s.maxcpus,
        })
    }
}

/// `rtc-time`: the RTC's date as a C `struct tm` (UTC, as QEMU's default `-rtc base=utc`).
fn rtc_time(ctx: &dyn QomContext) -> Value {
    let secs = ctx
        .wall_clock()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    json!({
        "tm_year": y - 1900,
        "tm_mon": m - 1,
        "tm_mday": d,
        "tm_hour": rem / 3600,
        "tm_min": rem / 60 % 60,
        "tm_sec": rem % 60,
    })
}

/// Days since 1970-01-01 → (year, month 1-12, day 1-31), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

impl QomObject for MachineObject {
    fn type_name(&self) -> &str {
        &self.type_name
    }

    fn properties(&self) -> Vec<PropInfo> {
        self.list()
            .iter()
            .map(|&(name, ty)| {
                if ty.starts_with("child<") {
                    PropInfo::child(name)
                } else if let Some(&(_, writable)) = LINKS.iter().find(|(n, _)| *n == name) {
                    PropInfo::link(name, ty, self.link_target(name), writable)
                } else {
                    PropInfo::value(name, ty)
                }
            })
            .collect()
    }

    fn get(&self, name: &str, ctx: &dyn QomContext) -> Result<Value, QomError> {
        if let Some(v) = self.written.get(name) {
            return Ok(v);
        }
        self.configured(name, ctx)
            .ok_or_else(|| QomError::not_found(&self.type_name, name))
    }

    fn set(&mut self, name: &str, value: &Value, _ctx: &dyn QomContext) -> Result<(), QomError> {
        let stored = match name {
            "kernel" | "initrd" | "append" | "dt-compatible" | "dtb" | "dumpdtb" | "shim"
            | "firmware" => Value::from(read::<String>(name, value)?),
            "x-oem-id" | "x-oem-table-id" => {
                let s: String = read(name, value)?;
                let max = if name == "x-oem-id" { 6 } else { 8 };
                if s.len() > max {
                    return Err(QomError::Generic(format!(
                        "User specified {name} value is bigger than {max} bytes in size"
                    )));
                }
                Value::from(s)
            }
            "memory-encryption" => {
                // No memory-encryption object types exist here.
                let s: String = read(name, value)?;
                return Err(QomError::Generic(format!(
                    "No such memory encryption object '{s}'"
                )));
            }
            "nvdimm-persistence" => {
                let s: String = read(name, value)?;
                if s != "cpu" && s != "mem-ctrl" {
                    return Err(QomError::Generic(format!(
                        "-machine nvdimm-persistence={s}: unsupported option"
                    )));
                }
                Value::from(s)
            }
            "aux-ram-share"
            | "graphics"
            | "usb"
            | "dump-guest-core"
            | "mem-merge"
            | "suppress-vmdesc"
            | "default-bus-bypass-iommu"
            | "sata"
            | "i8042"
            | "hpet"
            | "fd-bootchk"
            | "smbus"
            | "nvdimm"
            | "cxl"
            | "hmat"
            | "auto-kernel-cmdline"
            | "x-option-roms"
            | "isa-serial" => Value::from(read::<bool>(name, value)?),
            "phandle-start" => Value::from(read::<i64>(name, value)?),
            "bus-lock-ratelimit" | "max-ram-below-4g" => Value::from(read::<u64>(name, value)?),
            "max-fw-size" => {
                let size: u64 = read(name, value)?;
                if size > 16 << 20 {
                    return Err(QomError::Generic(format!(
                        "User specified max allowed firmware size {size} is greater than \
                         16MiB. If combined firmware size exceeds 16MiB the system may not \
                         boot, or experience intermittentstability issues."
                    )));
                }
                Value::from(size)
            }
            "smm" | "acpi" | "pit" | "pic" | "vmport" | "ioapic2" | "rtc" | "pcie" => {
                Value::from(read_enum(name, value, ON_OFF_AUTO)?)
            }
            "smbios-entry-point-type" => {
                Value::from(read_enum(name, value, &["32", "64", "auto"])?)
            }
            // QEMU 10.0.2 takes none of the values it could be given after machine creation.
            "x-south-bridge" => Value::from(read_enum(name, value, &[])?),
            "rtc-time" => {
                return Err(QomError::Generic(
                    "Property 'mc146818rtc.date' is not writable".into(),
                ))
            }
            "pcspk-audiodev" => {
                return Err(QomError::after_realize("audiodev", None, "isa-pcspk"));
            }
            // The topology, memory and boot structs (and lists) describe how this machine
            // was built; it cannot be rebuilt at run time.
            _ => return Err(QomError::not_writable(&self.type_name, name)),
        };
        self.written.put(name, stored);
        Ok(())
    }

    fn set_link(&mut self, name: &str, target: Option<String>) -> Result<(), QomError> {
        match name {
            "memory-backend" => self.memory_backend = target,
            "acpi-device" => self.acpi_device = target,
            // confidential-guest-support: no object can be its target, so only "" gets here.
            "confidential-guest-support" => {}
            _ => return Err(QomError::not_writable(&self.type_name, name)),
        }
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::civil_from_days;

    #[test]
    fn calendar() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }
}
