//! Machine types (`-machine`), their properties, `-smp` topology completion and `-m` checks, as
//! QEMU 10.0's `hw/core/machine.c`, `machine-smp.c` and `hw/i386/pc*.c` do them.

use super::error::ErrorKind;
use super::value::{self, Field, Mode, Ty, Value, Width};

/// The board family of a machine type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    I440fx,
    Q35,
    Microvm,
    None,
}

/// A machine type this VMM accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineType {
    pub name: String,
    pub alias: Option<&'static str>,
    pub family: Family,
    /// `(major, minor, micro)` of a versioned pc/q35 type.
    pub version: Option<(u32, u32, u32)>,
}

/// Versions of the `pc-i440fx-X.Y` types QEMU 10.0 has, newest first.
const I440FX_VERSIONS: &[(u32, u32, u32)] = &[
    (10, 0, 0),
    (9, 2, 0),
    (9, 1, 0),
    (9, 0, 0),
    (8, 2, 0),
    (8, 1, 0),
    (8, 0, 0),
    (7, 2, 0),
    (7, 1, 0),
    (7, 0, 0),
    (6, 2, 0),
    (6, 1, 0),
    (6, 0, 0),
    (5, 2, 0),
    (5, 1, 0),
    (5, 0, 0),
    (4, 2, 0),
    (4, 1, 0),
    (4, 0, 0),
    (3, 1, 0),
    (3, 0, 0),
    (2, 12, 0),
    (2, 11, 0),
    (2, 10, 0),
    (2, 9, 0),
    (2, 8, 0),
    (2, 7, 0),
    (2, 6, 0),
    (2, 5, 0),
    (2, 4, 0),
];

/// Versions of the `pc-q35-X.Y` types (q35 also has 4.0.1).
const Q35_VERSIONS: &[(u32, u32, u32)] = &[
    (10, 0, 0),
    (9, 2, 0),
    (9, 1, 0),
    (9, 0, 0),
    (8, 2, 0),
    (8, 1, 0),
    (8, 0, 0),
    (7, 2, 0),
    (7, 1, 0),
    (7, 0, 0),
    (6, 2, 0),
    (6, 1, 0),
    (6, 0, 0),
    (5, 2, 0),
    (5, 1, 0),
    (5, 0, 0),
    (4, 2, 0),
    (4, 1, 0),
    (4, 0, 1),
    (4, 0, 0),
    (3, 1, 0),
    (3, 0, 0),
    (2, 12, 0),
    (2, 11, 0),
    (2, 10, 0),
    (2, 9, 0),
    (2, 8, 0),
    (2, 7, 0),
    (2, 6, 0),
    (2, 5, 0),
    (2, 4, 0),
];

fn version_text((a, b, c): (u32, u32, u32)) -> String {
    if c == 0 {
        format!("{a}.{b}")
    } else {
        format!("{a}.{b}.{c}")
    }
}

/// All machine types this VMM accepts, as `query-machines` would list them.
pub fn all() -> Vec<MachineType> {
    let mut v = vec![MachineType {
        name: "microvm".into(),
        alias: None,
        family: Family::Microvm,
        version: None,
    }];
    for (family, prefix, alias, versions) in [
        (Family::I440fx, "pc-i440fx-", "pc", I440FX_VERSIONS),
        (Family::Q35, "pc-q35-", "q35", Q35_VERSIONS),
    ] {
        for (i, &ver) in versions.iter().enumerate() {
            v.push(MachineType {
                name: format!("{prefix}{}", version_text(ver)),
                alias: (i == 0).then_some(alias),
                family,
                version: Some(ver),
            });
        }
    }
    v.push(MachineType {
        name: "none".into(),
        alias: None,
        family: Family::None,
        version: None,
    });
    v
}

/// Finds a machine type by name or alias (`find_machine()`).
pub fn find(name: &str) -> Option<MachineType> {
    all()
        .into_iter()
        .find(|m| m.name == name || m.alias == Some(name))
}

/// The default machine (`pc`).
pub fn default_machine() -> MachineType {
    find("pc").unwrap_or(MachineType {
        name: "pc-i440fx-10.0".into(),
        alias: Some("pc"),
        family: Family::I440fx,
        version: Some((10, 0, 0)),
    })
}

impl MachineType {
    pub fn description(&self) -> &'static str {
        match self.family {
            Family::I440fx => "Standard PC (i440FX + PIIX, 1996)",
            Family::Q35 => "Standard PC (Q35 + ICH9, 2009)",
            Family::Microvm => "microvm (i386)",
            Family::None => "empty machine",
        }
    }

    /// The QOM type name (`pc-i440fx-10.0-machine`).
    pub fn qom_type(&self) -> String {
        format!("{}-machine", self.name)
    }

    fn older_than(&self, major: u32, minor: u32) -> bool {
        self.version
            .is_some_and(|(a, b, _)| (a, b) < (major, minor))
    }

    /// QEMU 10.0 deprecates versioned types older than 7.1.
    pub fn deprecated(&self) -> bool {
        self.older_than(7, 1)
    }

    pub fn is_default(&self) -> bool {
        self.family == Family::I440fx && self.version == Some((10, 0, 0))
    }

    /// `MachineClass::default_ram_size`: `none` has no RAM unless `-m` asks for some.
    pub fn default_ram_size(&self) -> u64 {
        match self.family {
            Family::None => 0,
            _ => DEFAULT_RAM_SIZE,
        }
    }

    /// `MachineClass::max_cpus`.
    pub fn max_cpus(&self) -> u32 {
        match self.family {
            Family::I440fx => 255,
            Family::Q35 => {
                if self.older_than(2, 8) {
                    255
                } else if self.older_than(8, 1) {
                    288
                } else if self.older_than(9, 0) {
                    1024
                } else {
                    4096
                }
            }
            Family::Microvm => 288,
            Family::None => 1,
        }
    }

    /// Before 6.2, omitted topology members were computed preferring sockets over cores.
    fn prefer_sockets(&self) -> bool {
        self.older_than(6, 2)
    }

    /// x86 machines support dies and modules; `none` supports neither.
    fn x86(&self) -> bool {
        self.family != Family::None
    }

    /// Whether the machine creates serial ports for `-serial` (`!no_serial`), and how many.
    pub fn serial_ports(&self) -> usize {
        match self.family {
            Family::I440fx | Family::Q35 => 4,
            Family::Microvm => 1,
            Family::None => 0,
        }
    }

    /// Whether QEMU creates a default parallel port (`!no_parallel`).
    pub fn has_default_parallel(&self) -> bool {
        self.family != Family::None
    }

    /// Whether QEMU creates a default serial port (`!no_serial`).
    pub fn has_default_serial(&self) -> bool {
        self.family != Family::None
    }

    /// The machine's own properties (`-machine X,help`), for type checking.
    pub fn properties(&self) -> Vec<Field> {
        let mut props: Vec<Field> = COMMON_PROPS.to_vec();
        match self.family {
            Family::I440fx | Family::Q35 => {
                props.extend_from_slice(X86_PROPS);
                props.extend_from_slice(PC_PROPS);
                if self.family == Family::I440fx {
                    props.push(value::opt(
                        "x-south-bridge",
                        Ty::Enum(&["piix3", "piix4", "piix3-xen"]),
                    ));
                }
            }
            Family::Microvm => {
                props.extend_from_slice(X86_PROPS);
                props.extend_from_slice(MICROVM_PROPS);
            }
            Family::None => {}
        }
        props
    }
}

const ON_OFF_AUTO: Ty = Ty::Enum(&["on", "off", "auto"]);

const BOOT_FIELDS: &[Field] = &[
    value::opt("order", Ty::Str),
    value::opt("once", Ty::Str),
    value::opt("menu", Ty::Bool),
    value::opt("splash", Ty::Str),
    value::opt("splash-time", Ty::Int),
    value::opt("reboot-timeout", Ty::Int),
    value::opt("strict", Ty::Bool),
];

const SMP_FIELDS: &[Field] = &[
    value::opt("cpus", Ty::Int),
    value::opt("drawers", Ty::Int),
    value::opt("books", Ty::Int),
    value::opt("sockets", Ty::Int),
    value::opt("dies", Ty::Int),
    value::opt("clusters", Ty::Int),
    value::opt("modules", Ty::Int),
    value::opt("cores", Ty::Int),
    value::opt("threads", Ty::Int),
    value::opt("maxcpus", Ty::Int),
];

const MEMORY_FIELDS: &[Field] = &[
    value::opt("size", Ty::Size),
    value::opt("max-size", Ty::Size),
    value::opt("slots", Ty::Uint(Width::U64)),
];

/// Properties of every machine (`none-machine`).
const COMMON_PROPS: &[Field] = &[
    value::opt("append", Ty::Str),
    value::opt("aux-ram-share", Ty::Bool),
    value::opt("boot", Ty::Struct(BOOT_FIELDS)),
    value::opt("confidential-guest-support", Ty::Str),
    value::opt("dt-compatible", Ty::Str),
    value::opt("dtb", Ty::Str),
    value::opt("dump-guest-core", Ty::Bool),
    value::opt("dumpdtb", Ty::Str),
    value::opt("firmware", Ty::Str),
    value::opt("graphics", Ty::Bool),
    value::opt("initrd", Ty::Str),
    value::opt("kernel", Ty::Str),
    value::opt("mem-merge", Ty::Bool),
    value::opt("memory-backend", Ty::Str),
    value::opt("memory-encryption", Ty::Str),
    value::opt("memory", Ty::Struct(MEMORY_FIELDS)),
    value::opt("phandle-start", Ty::Int),
    value::opt("shim", Ty::Str),
    value::opt("smp-cache", Ty::Any),
    value::opt("smp", Ty::Struct(SMP_FIELDS)),
    value::opt("suppress-vmdesc", Ty::Bool),
    value::opt("usb", Ty::Bool),
];

/// Properties of every x86 machine (pc, q35, microvm).
const X86_PROPS: &[Field] = &[
    value::opt("acpi", ON_OFF_AUTO),
    value::opt("bus-lock-ratelimit", Ty::Uint(Width::U64)),
    value::opt("pic", ON_OFF_AUTO),
    value::opt("pit", ON_OFF_AUTO),
    value::opt("sgx-epc", Ty::Any),
    value::opt("smm", ON_OFF_AUTO),
    value::opt("x-oem-id", Ty::Str),
    value::opt("x-oem-table-id", Ty::Str),
];

const PC_PROPS: &[Field] = &[
    value::opt("default-bus-bypass-iommu", Ty::Bool),
    value::opt("fd-bootchk", Ty::Bool),
    value::opt("hpet", Ty::Bool),
    value::opt("i8042", Ty::Bool),
    value::opt("max-fw-size", Ty::Size),
    value::opt("max-ram-below-4g", Ty::Size),
    value::opt("sata", Ty::Bool),
    value::opt("smbios-entry-point-type", Ty::Str),
    value::opt("smbus", Ty::Bool),
    value::opt("vmport", ON_OFF_AUTO),
];

const MICROVM_PROPS: &[Field] = &[
    value::opt("auto-kernel-cmdline", Ty::Bool),
    value::opt("ioapic2", ON_OFF_AUTO),
    value::opt("isa-serial", Ty::Bool),
    value::opt("pcie", ON_OFF_AUTO),
    value::opt("rtc", ON_OFF_AUTO),
    value::opt("x-option-roms", Ty::Bool),
];

/// Help text for one property (`-machine X,help`), QEMU's descriptions.
fn property_help(name: &str) -> (&'static str, Option<&'static str>) {
    match name {
        "acpi" => ("OnOffAuto", Some("Enable ACPI")),
        "append" => ("string", Some("Linux kernel command line")),
        "auto-kernel-cmdline" => (
            "bool",
            Some("Set off to disable adding virtio-mmio devices to the kernel cmdline"),
        ),
        "aux-ram-share" => ("bool", None),
        "boot" => ("BootConfiguration", Some("Boot configuration")),
        "bus-lock-ratelimit" => (
            "uint64_t",
            Some("Set the ratelimit for the bus locks acquired in VMs"),
        ),
        "confidential-guest-support" => (
            "link<confidential-guest-support>",
            Some("Set confidential guest scheme to support"),
        ),
        "default-bus-bypass-iommu" => ("bool", None),
        "dt-compatible" => (
            "string",
            Some("Overrides the \"compatible\" property of the dt root node"),
        ),
        "dtb" => ("string", Some("Linux kernel device tree file")),
        "dump-guest-core" => ("bool", Some("Include guest memory in a core dump")),
        "dumpdtb" => ("string", Some("Dump current dtb to a file and quit")),
        "fd-bootchk" => ("bool", None),
        "firmware" => ("string", Some("Firmware image")),
        "graphics" => (
            "bool",
            Some("Set on/off to enable/disable graphics emulation"),
        ),
        "hpet" => (
            "bool",
            Some("Enable/disable high precision event timer emulation"),
        ),
        "i8042" => (
            "bool",
            Some("Enable/disable Intel 8042 PS/2 controller emulation"),
        ),
        "initrd" => ("string", Some("Linux initial ramdisk file")),
        "ioapic2" => ("OnOffAuto", Some("Enable second IO-APIC")),
        "isa-serial" => (
            "bool",
            Some("Set off to disable the instantiation an ISA serial port"),
        ),
        "kernel" => ("string", Some("Linux kernel image file")),
        "max-fw-size" => ("size", Some("Maximum combined firmware size")),
        "max-ram-below-4g" => (
            "size",
            Some("Maximum ram below the 4G boundary (32bit boundary)"),
        ),
        "mem-merge" => ("bool", Some("Enable/disable memory merge support")),
        "memory-backend" => (
            "link<memory-backend>",
            Some("Set RAM backendValid value is ID of hostmem based backend"),
        ),
        "memory-encryption" => ("string", Some("Set memory encryption object to use")),
        "memory" => ("MemorySizeConfiguration", Some("Memory size configuration")),
        "pcie" => ("OnOffAuto", Some("Enable PCIe")),
        "phandle-start" => (
            "int",
            Some("The first phandle ID we may generate dynamically"),
        ),
        "pic" => ("OnOffAuto", Some("Enable i8259 PIC")),
        "pit" => ("OnOffAuto", Some("Enable i8254 PIT")),
        "rtc" => ("OnOffAuto", Some("Enable MC146818 RTC")),
        "sata" => ("bool", Some("Enable/disable Serial ATA bus")),
        "sgx-epc" => ("SgxEPC", Some("SGX EPC device")),
        "shim" => ("string", Some("shim.efi file")),
        "smbios-entry-point-type" => ("str", Some("SMBIOS Entry Point type [32, 64]")),
        "smbus" => ("bool", Some("Enable/disable system management bus")),
        "smm" => ("OnOffAuto", Some("Enable SMM")),
        "smp-cache" => (
            "SmpCachePropertiesWrapper",
            Some("Cache properties list for SMP machine"),
        ),
        "smp" => ("SMPConfiguration", Some("CPU topology")),
        "suppress-vmdesc" => ("bool", Some("Set on to disable self-describing migration")),
        "usb" => ("bool", Some("Set on/off to enable/disable usb")),
        "vmport" => ("OnOffAuto", Some("Enable vmport (pc & q35)")),
        "x-oem-id" => (
            "string",
            Some(
                "Override the default value of field OEMID in ACPI table header.The string \
                 may be up to 6 bytes in size",
            ),
        ),
        "x-oem-table-id" => (
            "string",
            Some(
                "Override the default value of field OEM Table ID in ACPI table header.The \
                 string may be up to 8 bytes in size",
            ),
        ),
        "x-option-roms" => ("bool", Some("Set off to disable loading option ROMs")),
        "x-south-bridge" => (
            "PCSouthBridgeOption",
            Some("Use a different south bridge than PIIX3"),
        ),
        _ => ("string", None),
    }
}

/// `-machine help`: the list of machine types, sorted as QEMU sorts them.
pub fn list_help() -> String {
    let mut out = String::from("Supported machines are:\n");
    let machines = all();
    // Families first (alphabetically), each newest first by type name; then standalone types.
    let mut families: Vec<&MachineType> = machines
        .iter()
        .filter(|m| matches!(m.family, Family::I440fx | Family::Q35))
        .collect();
    families.sort_by(|a, b| {
        let fa = if a.family == Family::I440fx {
            "pc_piix"
        } else {
            "pc_q35"
        };
        let fb = if b.family == Family::I440fx {
            "pc_piix"
        } else {
            "pc_q35"
        };
        fa.cmp(fb).then_with(|| b.qom_type().cmp(&a.qom_type()))
    });
    let mut standalone: Vec<&MachineType> = machines
        .iter()
        .filter(|m| matches!(m.family, Family::Microvm | Family::None))
        .collect();
    standalone.sort_by_key(|m| m.qom_type());
    // QEMU prints microvm first: it belongs to no family but sorts with "microvm" < families?
    // No: standalone types sort after families, except that microvm declares family NULL and
    // QEMU 10.0 lists it first because its class name sorts... (measured: microvm first).
    let (first, rest): (Vec<&MachineType>, Vec<&MachineType>) = standalone
        .into_iter()
        .partition(|m| m.family == Family::Microvm);
    for m in first.iter().chain(families.iter()).chain(rest.iter()) {
        if let Some(alias) = m.alias {
            out.push_str(&format!(
                "{:<20} {} (alias of {})\n",
                alias,
                m.description(),
                m.name
            ));
        }
        out.push_str(&format!(
            "{:<20} {}{}{}\n",
            m.name,
            m.description(),
            if m.is_default() { " (default)" } else { "" },
            if m.deprecated() { " (deprecated)" } else { "" }
        ));
    }
    out
}

/// `-machine X,help`: the machine's properties (`type_print_class_properties()`).
pub fn properties_help(m: &MachineType) -> String {
    let mut lines: Vec<String> = m
        .properties()
        .iter()
        .map(|f| {
            let (ty, help) = property_help(f.name);
            let mut s = format!("  {}=<{}>", f.name, ty);
            if let Some(h) = help {
                while s.len() < 24 {
                    s.push(' ');
                }
                s.push_str(" - ");
                s.push_str(h);
            }
            s
        })
        .collect();
    lines.sort();
    let mut out = format!("{} options:\n", m.qom_type());
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
    out
}

/// Orders dictionary entries as `qdict_first()`/`qdict_next()` visit them: by hash bucket, and
/// within a bucket the most recently inserted first.
pub fn qdict_order<T>(entries: Vec<(String, T)>) -> Vec<(String, T)> {
    qapi::qdict::qdict_order_by(entries, |(k, _)| k.as_str())
}

/// The SMP configuration as given (`SMPConfiguration`): `None` = omitted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SmpRequest {
    pub cpus: Option<i64>,
    pub drawers: Option<i64>,
    pub books: Option<i64>,
    pub sockets: Option<i64>,
    pub dies: Option<i64>,
    pub clusters: Option<i64>,
    pub modules: Option<i64>,
    pub cores: Option<i64>,
    pub threads: Option<i64>,
    pub maxcpus: Option<i64>,
}

impl SmpRequest {
    /// Reads the (already type-checked) `smp` dictionary.
    pub fn from_dict(dict: &[(String, Value)]) -> Self {
        let get = |k: &str| {
            Value::get(dict, k).and_then(|v| match v {
                Value::Str(s) => super::strtox::strtoi64(s, 0).ok(),
                Value::Int(i) => Some(*i),
                _ => None,
            })
        };
        SmpRequest {
            cpus: get("cpus"),
            drawers: get("drawers"),
            books: get("books"),
            sockets: get("sockets"),
            dies: get("dies"),
            clusters: get("clusters"),
            modules: get("modules"),
            cores: get("cores"),
            threads: get("threads"),
            maxcpus: get("maxcpus"),
        }
    }
}

/// The completed topology (`ms->smp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Topology {
    pub cpus: u32,
    pub drawers: u32,
    pub books: u32,
    pub sockets: u32,
    pub dies: u32,
    pub clusters: u32,
    pub modules: u32,
    pub cores: u32,
    pub threads: u32,
    pub maxcpus: u32,
}

/// `machine_parse_smp_config()`.
pub fn parse_smp(m: &MachineType, req: &SmpRequest) -> Result<Topology, ErrorKind> {
    // The QAPI members are int64; QEMU stores them into `unsigned`.
    let u = |v: Option<i64>| v.map(|x| x as u32);
    let all = [
        req.cpus,
        req.drawers,
        req.books,
        req.sockets,
        req.dies,
        req.clusters,
        req.modules,
        req.cores,
        req.threads,
        req.maxcpus,
    ];
    if all.iter().any(|v| v.is_some_and(|x| x as u32 == 0)) {
        return Err(ErrorKind::SmpZero);
    }
    let x86 = m.x86();
    let unsupported = |v: Option<i64>, supported: bool, level: &'static str| {
        if !supported && v.is_some_and(|x| x as u32 > 1) {
            Err(ErrorKind::SmpLevelUnsupported { level })
        } else {
            Ok(())
        }
    };
    unsupported(req.modules, x86, "modules")?;
    let modules = u(req.modules).unwrap_or(1);
    unsupported(req.clusters, false, "clusters")?;
    let clusters = u(req.clusters).unwrap_or(1);
    unsupported(req.dies, x86, "dies")?;
    let dies = u(req.dies).unwrap_or(1);
    unsupported(req.books, false, "books")?;
    let books = u(req.books).unwrap_or(1);
    unsupported(req.drawers, false, "drawers")?;
    let drawers = u(req.drawers).unwrap_or(1);

    let mut cpus = u(req.cpus).unwrap_or(0);
    let mut sockets = u(req.sockets).unwrap_or(0);
    let mut cores = u(req.cores).unwrap_or(0);
    let mut threads = u(req.threads).unwrap_or(0);
    let mut maxcpus = u(req.maxcpus).unwrap_or(0);
    let or1 = |v: u32| if v > 0 { v } else { 1 };
    let div = |a: u32, b: u32| a.checked_div(b).unwrap_or(0);

    if cpus == 0 && maxcpus == 0 {
        sockets = or1(sockets);
        cores = or1(cores);
        threads = or1(threads);
    } else {
        maxcpus = if maxcpus > 0 { maxcpus } else { cpus };
        let base = drawers
            .wrapping_mul(books)
            .wrapping_mul(dies)
            .wrapping_mul(clusters)
            .wrapping_mul(modules);
        if m.prefer_sockets() {
            if sockets == 0 {
                cores = or1(cores);
                threads = or1(threads);
                sockets = div(maxcpus, base.wrapping_mul(cores).wrapping_mul(threads));
            } else if cores == 0 {
                threads = or1(threads);
                cores = div(maxcpus, base.wrapping_mul(sockets).wrapping_mul(threads));
            }
        } else if cores == 0 {
            sockets = or1(sockets);
            threads = or1(threads);
            cores = div(maxcpus, base.wrapping_mul(sockets).wrapping_mul(threads));
        } else if sockets == 0 {
            threads = or1(threads);
            sockets = div(maxcpus, base.wrapping_mul(cores).wrapping_mul(threads));
        }
        if threads == 0 {
            threads = div(maxcpus, base.wrapping_mul(sockets).wrapping_mul(cores));
        }
    }
    let total = drawers
        .wrapping_mul(books)
        .wrapping_mul(sockets)
        .wrapping_mul(dies)
        .wrapping_mul(clusters)
        .wrapping_mul(modules)
        .wrapping_mul(cores)
        .wrapping_mul(threads);
    if maxcpus == 0 {
        maxcpus = total;
    }
    if cpus == 0 {
        cpus = maxcpus;
    }
    let topo = Topology {
        cpus,
        drawers,
        books,
        sockets,
        dies,
        clusters,
        modules,
        cores,
        threads,
        maxcpus,
    };
    let describe = || {
        let mut s = format!("sockets ({sockets})");
        if x86 {
            s.push_str(&format!(" * dies ({dies}) * modules ({modules})"));
        }
        s.push_str(&format!(" * cores ({cores}) * threads ({threads})"));
        s
    };
    if total != maxcpus {
        return Err(ErrorKind::SmpProductMismatch {
            topology: describe(),
            maxcpus,
        });
    }
    if maxcpus < cpus {
        return Err(ErrorKind::SmpMaxcpusBelowCpus {
            topology: describe(),
            maxcpus,
            cpus,
        });
    }
    if maxcpus > m.max_cpus() {
        return Err(ErrorKind::SmpAboveMachineMax {
            cpus: maxcpus as i32,
            machine: m.name.clone(),
            max: m.max_cpus(),
        });
    }
    Ok(topo)
}

/// The memory configuration after `machine_set_mem()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    pub size: u64,
    pub maxmem: Option<u64>,
    pub slots: Option<u64>,
}

/// QEMU's default RAM size.
pub const DEFAULT_RAM_SIZE: u64 = 128 << 20;

/// `machine_set_mem()` on the (type-checked) `memory` dictionary; without `size` the RAM is
/// the machine's `default_size`.
pub fn set_memory(dict: &[(String, Value)], default_size: u64) -> Result<Memory, ErrorKind> {
    let num = |k: &str, f: fn(&str) -> Option<u64>| {
        Value::get(dict, k).and_then(|v| match v {
            Value::Str(s) => f(s),
            Value::Int(i) => Some(*i as u64),
            Value::UInt(u) => Some(*u),
            _ => None,
        })
    };
    let size = num("size", |s| super::strtox::strtosz(s).ok());
    let max_size = num("max-size", |s| super::strtox::strtosz(s).ok());
    let slots = num("slots", |s| super::strtox::strtou64(s, 0).ok());
    // RAM is rounded up to a multiple of 8 KiB.
    let ram_size = match size {
        Some(s) => s.div_ceil(8192).saturating_mul(8192),
        None => default_size,
    };
    match max_size {
        Some(max) => {
            if max < ram_size {
                return Err(ErrorKind::MaxmemBelowSize {
                    maxmem: max,
                    size: ram_size,
                });
            }
            if slots.is_some_and(|s| s != 0) && max == ram_size {
                return Err(ErrorKind::MaxmemEqualsSizeWithSlots {
                    maxmem: max,
                    size: ram_size,
                });
            }
            Ok(Memory {
                size: ram_size,
                maxmem: Some(max),
                slots,
            })
        }
        None if slots.is_some() => Err(ErrorKind::SlotsWithoutMaxSize),
        None => Ok(Memory {
            size: ram_size,
            maxmem: None,
            slots: None,
        }),
    }
}

/// The board's checks of `pc_memory_init()` (pc and q35 only).
pub fn check_board_memory(m: &MachineType, mem: &Memory) -> Result<(), ErrorKind> {
    if !matches!(m.family, Family::I440fx | Family::Q35) {
        return Ok(());
    }
    let Some(max) = mem.maxmem else {
        return Ok(());
    };
    if mem.size >= max {
        return Ok(());
    }
    let slots = mem.slots.unwrap_or(0);
    if slots > 256 {
        return Err(ErrorKind::TooManyMemorySlots { slots });
    }
    if max % 4096 != 0 {
        return Err(ErrorKind::MaxmemAlignment { align: 4096 });
    }
    Ok(())
}

/// Type-checks the machine dictionary's properties in QDict order (what
/// `object_set_properties_from_keyval()` does), returning the flattened scalar properties.
pub fn check_properties(
    m: &MachineType,
    dict: &[(String, Value)],
) -> Result<Vec<(String, String)>, ErrorKind> {
    let props = m.properties();
    let mut out = Vec::new();
    for (key, v) in qdict_order(dict.to_vec()) {
        let Some(field) = props.iter().find(|f| f.name == key) else {
            return Err(ErrorKind::PropertyNotFound {
                type_name: m.qom_type(),
                name: key,
            });
        };
        match field.ty {
            Ty::Struct(fields) => match &v {
                Value::Dict(d) => {
                    let mut sub = Vec::new();
                    value::visit_struct(d, fields, &key, Mode::Keyval, &mut sub)?;
                    out.extend(sub.into_iter().map(|(k, v)| (format!("{key}.{k}"), v)));
                }
                _ => {
                    return Err(ErrorKind::InvalidParameterType {
                        name: key,
                        expected: "object".into(),
                    })
                }
            },
            Ty::Any => {
                if let Some(text) = v.scalar_text() {
                    out.push((key, text));
                }
            }
            ty => {
                if let Value::Dict(_) = v {
                    return Err(ErrorKind::InvalidParameterType {
                        name: key,
                        expected: "string".into(),
                    });
                }
                if let Some(text) = value::visit(&v, ty, &key, Mode::Keyval)? {
                    out.push((key, text));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smp(m: &str, args: &[(&str, i64)]) -> Result<Topology, String> {
        let mut r = SmpRequest::default();
        for (k, v) in args {
            let slot = match *k {
                "cpus" => &mut r.cpus,
                "sockets" => &mut r.sockets,
                "dies" => &mut r.dies,
                "clusters" => &mut r.clusters,
                "modules" => &mut r.modules,
                "cores" => &mut r.cores,
                "threads" => &mut r.threads,
                "maxcpus" => &mut r.maxcpus,
                "books" => &mut r.books,
                "drawers" => &mut r.drawers,
                _ => unreachable!(),
            };
            *slot = Some(*v);
        }
        parse_smp(&find(m).unwrap(), &r).map_err(|e| e.to_string())
    }

    #[test]
    fn smp_completion() {
        // (machine, args, cpus, sockets, dies, cores, threads, maxcpus)
        type Case = (&'static str, &'static [(&'static str, i64)], [u32; 6]);
        let cases: &[Case] = &[
            ("pc", &[], [1, 1, 1, 1, 1, 1]),
            ("pc", &[("cpus", 4)], [4, 1, 1, 4, 1, 4]),
            ("pc", &[("maxcpus", 8)], [8, 1, 1, 8, 1, 8]),
            ("pc", &[("sockets", 2)], [2, 2, 1, 1, 1, 2]),
            ("pc", &[("cores", 4)], [4, 1, 1, 4, 1, 4]),
            ("pc", &[("cpus", 4), ("dies", 2)], [4, 1, 2, 2, 1, 4]),
            ("pc", &[("cpus", 2), ("maxcpus", 8)], [2, 1, 1, 8, 1, 8]),
            ("pc-i440fx-6.1", &[("cpus", 4)], [4, 4, 1, 1, 1, 4]),
            (
                "pc",
                &[("cpus", 8), ("sockets", 2), ("cores", 2)],
                [8, 2, 1, 2, 2, 8],
            ),
            ("q35", &[("cpus", 4096)], [4096, 1, 1, 4096, 1, 4096]),
        ];
        for (m, args, want) in cases {
            let t = smp(m, args).unwrap_or_else(|e| panic!("{m} {args:?}: {e}"));
            assert_eq!(
                [t.cpus, t.sockets, t.dies, t.cores, t.threads, t.maxcpus],
                *want,
                "{m} {args:?}"
            );
        }
    }

    #[test]
    fn smp_errors() {
        type ErrorCase = (&'static str, &'static [(&'static str, i64)], &'static str);
        let cases: &[ErrorCase] = &[
            ("pc", &[("cpus", 1000)], "Invalid SMP CPUs 1000. The max CPUs supported by machine 'pc-i440fx-10.0' is 255"),
            ("pc", &[("cpus", 4), ("maxcpus", 2)], "Invalid CPU topology: maxcpus must be equal to or greater than smp: sockets (1) * dies (1) * modules (1) * cores (2) * threads (1) == maxcpus (2) < smp_cpus (4)"),
            ("pc", &[("cpus", 4), ("sockets", 3)], "Invalid CPU topology: product of the hierarchy must match maxcpus: sockets (3) * dies (1) * modules (1) * cores (1) * threads (1) != maxcpus (4)"),
            ("pc", &[("cpus", 0)], "Invalid CPU topology: CPU topology parameters must be greater than zero"),
            ("pc", &[("cpus", 4), ("clusters", 2)], "clusters > 1 not supported by this machine's CPU topology"),
            ("pc", &[("cpus", 4), ("books", 2)], "books > 1 not supported by this machine's CPU topology"),
            ("pc", &[("cpus", -1)], "Invalid SMP CPUs -1. The max CPUs supported by machine 'pc-i440fx-10.0' is 255"),
            ("pc", &[("cpus", 9999999999)], "Invalid SMP CPUs 1410065407. The max CPUs supported by machine 'pc-i440fx-10.0' is 255"),
            ("none", &[("cpus", 2)], "Invalid SMP CPUs 2. The max CPUs supported by machine 'none' is 1"),
            ("none", &[("cpus", 2), ("dies", 2)], "dies > 1 not supported by this machine's CPU topology"),
            ("q35", &[("cpus", 4097)], "Invalid SMP CPUs 4097. The max CPUs supported by machine 'pc-q35-10.0' is 4096"),
            ("pc-q35-8.0", &[("cpus", 289)], "Invalid SMP CPUs 289. The max CPUs supported by machine 'pc-q35-8.0' is 288"),
        ];
        for (m, args, want) in cases {
            assert_eq!(smp(m, args).unwrap_err(), *want, "{m} {args:?}");
        }
    }

    fn mem(items: &[(&str, &str)]) -> Result<Memory, String> {
        let d: Vec<(String, Value)> = items
            .iter()
            .map(|(k, v)| (k.to_string(), Value::Str(v.to_string())))
            .collect();
        set_memory(&d, DEFAULT_RAM_SIZE).map_err(|e| e.to_string())
    }

    #[test]
    fn memory_rules() {
        assert_eq!(mem(&[]).unwrap().size, 128 << 20);
        assert_eq!(mem(&[("size", "1k")]).unwrap().size, 8192);
        assert_eq!(mem(&[("size", "1000000B")]).unwrap().size, 1007616);
        assert_eq!(
            mem(&[("size", "1G"), ("max-size", "512M")]).unwrap_err(),
            "invalid value of maxmem: maximum memory size (0x20000000) must be at least the initial memory size (0x40000000)"
        );
        assert_eq!(
            mem(&[("size", "1G"), ("max-size", "1G"), ("slots", "4")]).unwrap_err(),
            "invalid value of maxmem: memory slots were specified but maximum memory size (0x40000000) is equal to the initial memory size (0x40000000)"
        );
        assert_eq!(
            mem(&[("size", "1G"), ("slots", "2")]).unwrap_err(),
            "slots specified but no max-size"
        );
        assert_eq!(
            mem(&[("max-size", "64M")]).unwrap_err(),
            "invalid value of maxmem: maximum memory size (0x4000000) must be at least the initial memory size (0x8000000)"
        );
    }

    #[test]
    fn qdict_iteration_order() {
        let keys = ["usb", "foo", "smp", "acpi", "memory"];
        let ordered: Vec<String> = qdict_order(keys.iter().map(|k| (k.to_string(), ())).collect())
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(ordered, ["smp", "memory", "acpi", "usb", "foo"]);
    }

    #[test]
    fn machine_list() {
        let help = list_help();
        assert!(help.starts_with("Supported machines are:\nmicrovm              microvm (i386)\npc-i440fx-9.2        Standard PC (i440FX + PIIX, 1996)\n"));
        assert!(help.contains("pc                   Standard PC (i440FX + PIIX, 1996) (alias of pc-i440fx-10.0)\npc-i440fx-10.0       Standard PC (i440FX + PIIX, 1996) (default)\n"));
        assert!(help.contains("pc-q35-7.0           Standard PC (Q35 + ICH9, 2009) (deprecated)\n"));
        assert!(help.ends_with("none                 empty machine\n"));
        assert!(find("isapc").is_none());
        assert_eq!(find("q35").unwrap().name, "pc-q35-10.0");
        assert_eq!(find("pc-q35-4.0.1").unwrap().max_cpus(), 288);
    }
}
