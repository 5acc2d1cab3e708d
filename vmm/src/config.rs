//! The machine configuration the command line produces and the VM is built from.
//!
//! `options` parses QEMU's command line into this; nothing else in the VMM looks at argv.

use std::path::PathBuf;

use crate::options::machine::Family;

/// Guest RAM (`-m`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryConfig {
    /// Bytes of RAM (`-m size=`, default 128 MiB as in QEMU).
    pub size: u64,
    /// `-m slots=` (accepted; there is no memory hotplug).
    pub slots: Option<u64>,
    /// `-m maxmem=`.
    pub maxmem: Option<u64>,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig {
            size: 128 << 20,
            slots: None,
            maxmem: None,
        }
    }
}

/// vCPU topology (`-smp`), already completed and validated as QEMU does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmpConfig {
    pub cpus: u32,
    pub sockets: u32,
    pub dies: u32,
    pub cores: u32,
    pub threads: u32,
    pub maxcpus: u32,
}

impl Default for SmpConfig {
    fn default() -> Self {
        SmpConfig {
            cpus: 1,
            sockets: 1,
            dies: 1,
            cores: 1,
            threads: 1,
            maxcpus: 1,
        }
    }
}

/// `-name`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameConfig {
    pub guest: Option<String>,
    pub process: Option<String>,
    pub debug_threads: bool,
}

pub use monitor::config::{ChardevBackend, ChardevConfig, MonitorConfig, MonitorMode};

/// A `-device` option, kept as QEMU's driver name plus its remaining properties in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceConfig {
    pub driver: String,
    pub id: Option<String>,
    pub props: Vec<(String, String)>,
}

/// A `-object` option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectConfig {
    pub qom_type: String,
    pub id: String,
    pub props: Vec<(String, String)>,
}

/// `-machine`/`-M`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineConfig {
    /// The machine type as given (`pc`, `q35`, `pc-i440fx-10.0`, `microvm`, `none`, …).
    pub type_name: String,
    /// Any other `-machine` properties, kept for the object tree (`/machine`).
    pub props: Vec<(String, String)>,
}

impl MachineConfig {
    /// The machine type's family (the parser has checked the type; pc's if unknown).
    pub fn family(&self) -> Family {
        crate::options::machine::find(&self.type_name).map_or(Family::I440fx, |m| m.family)
    }
}

impl Default for MachineConfig {
    fn default() -> Self {
        MachineConfig {
            type_name: "pc".to_string(),
            props: Vec::new(),
        }
    }
}

/// Everything the command line configures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VmConfig {
    pub memory: MemoryConfig,
    pub smp: SmpConfig,
    pub machine: MachineConfig,
    /// `-cpu` model name (`host`, `max`, `qemu64`); `None` = the machine default.
    pub cpu_model: Option<String>,
    pub kernel: Option<PathBuf>,
    pub initrd: Option<PathBuf>,
    pub append: Option<String>,
    pub name: NameConfig,
    /// `-uuid`, canonical lower-case text form.
    pub uuid: Option<String>,
    /// `-S`: stay in `prelaunch` until `cont`.
    pub start_paused: bool,
    pub no_reboot: bool,
    pub no_shutdown: bool,
    pub nographic: bool,
    /// `-display none` (or any `-display` we accept).
    pub display_none: bool,
    pub nodefaults: bool,
    pub no_user_config: bool,
    pub pidfile: Option<PathBuf>,
    pub daemonize: bool,
    pub mem_prealloc: bool,
    pub mem_lock: bool,
    /// All chardevs, explicit (`-chardev`) and implied (`-serial`, `-qmp`, `-monitor`, `-nographic`),
    /// with the ids QEMU gives implied ones (`serial0`, `compat_monitor0`, …).
    pub chardevs: Vec<ChardevConfig>,
    /// COM1..COM4 in order: the chardev id each serial port is connected to (`None` = no port).
    pub serials: Vec<Option<String>>,
    pub monitors: Vec<MonitorConfig>,
    pub devices: Vec<DeviceConfig>,
    pub objects: Vec<ObjectConfig>,
}
