//! The configuration: what `finish` resolved and what the options recorded, assembled into
//! the [`VmConfig`] the VMM runs.

use std::path::PathBuf;

use crate::config::{
    ChardevConfig, DeviceConfig, MachineConfig, MemoryConfig, MonitorConfig, NameConfig,
    ObjectConfig, SmpConfig, VmConfig,
};
use crate::options::machine;

use super::actions::Actions;
use super::machine_options::dict_str;
use super::Parser;

/// What `finish` resolved after reading the command line.
pub(super) struct Resolved {
    /// The machine type as given, if it was.
    pub(super) type_given: Option<String>,
    pub(super) props: Vec<(String, String)>,
    pub(super) memory: machine::Memory,
    pub(super) smp: machine::Topology,
    pub(super) cpu_model: Option<String>,
    pub(super) actions: Actions,
    pub(super) chardevs: Vec<ChardevConfig>,
    /// The chardev of each of the board's serial ports.
    pub(super) serials: Vec<Option<String>>,
    pub(super) monitors: Vec<MonitorConfig>,
    pub(super) devices: Vec<DeviceConfig>,
}

impl Parser {
    /// The configuration.
    pub(super) fn vm_config(&self, r: Resolved) -> VmConfig {
        let name = self.name.merged().cloned().unwrap_or_default();
        let kernel = dict_str(&self.machine_dict, "kernel");
        VmConfig {
            memory: MemoryConfig {
                size: r.memory.size,
                slots: r.memory.slots,
                maxmem: r.memory.maxmem,
            },
            smp: SmpConfig {
                cpus: r.smp.cpus,
                sockets: r.smp.sockets,
                dies: r.smp.dies,
                // TODO(config): SmpConfig has no `modules`; cores are per module.
                cores: r.smp.cores,
                threads: r.smp.threads,
                maxcpus: r.smp.maxcpus,
            },
            machine: MachineConfig {
                type_name: r.type_given.unwrap_or_else(|| "pc".to_string()),
                props: r.props,
            },
            cpu_model: r.cpu_model,
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
            no_reboot: r.actions.no_reboot,
            no_shutdown: r.actions.no_shutdown,
            nographic: self.nographic,
            display_none: self.display.is_some(),
            nodefaults: self.no_defaults,
            no_user_config: self.no_user_config,
            pidfile: self.pidfile.clone(),
            daemonize: self.daemonize,
            mem_prealloc: self.mem_prealloc,
            mem_lock: self.mem_lock,
            chardevs: r.chardevs,
            serials: r.serials,
            monitors: r.monitors,
            devices: r.devices,
            objects: self
                .objects
                .iter()
                .map(|o| ObjectConfig {
                    qom_type: o.spec.qom_type.clone(),
                    id: o.spec.id.clone(),
                    props: o.spec.props.clone(),
                })
                .collect(),
        }
    }
}
